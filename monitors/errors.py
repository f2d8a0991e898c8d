"""Exceptions raised by the monitors package.

    MonitorError              base of everything the monitors raise on purpose
    ├── ProfileError          a reference profile cannot be computed, read or trusted
    │                         (empty frame, bad argument, unknown schema version,
    │                         malformed document)
    ├── NotEnoughData         a drift statistic was asked of an empty sample or of
    │                         counts that sum to zero
    ├── PolicyError           a drift policy setting is invalid (unknown method, a
    │                         method that does not fit the feature's kind, bad level)
    ├── SketchMismatch        a live input sketch does not fit the reference profile
    │                         (other bins, unknown sketch version, malformed counts)
    └── DataMismatch          the offline check's two tables cannot be compared
        ├── EmptyData         the reference or the current table has no rows / columns
        ├── ColumnMismatch    columns missing from one side or extra on the other
        └── TypeMismatch      a column is numeric on one side and not on the other

Each message is one line meant for the person running the command; the CLI prints it
as is.
"""

from __future__ import annotations

__all__ = [
    "ColumnMismatch",
    "DataMismatch",
    "EmptyData",
    "MonitorError",
    "NotEnoughData",
    "PolicyError",
    "ProfileError",
    "SketchMismatch",
    "TypeMismatch",
]


class MonitorError(Exception):
    """Base class for errors raised by the monitors package."""


class ProfileError(MonitorError):
    """A reference profile could not be computed, read or validated."""


class NotEnoughData(MonitorError, ValueError):
    """A statistic needs at least one value on each side (an empty window, an all-NaN column)."""


class PolicyError(MonitorError, ValueError):
    """A drift policy setting or per-feature override is invalid."""


class SketchMismatch(MonitorError):
    """A live input sketch cannot be compared with the reference profile it claims to follow."""


class DataMismatch(MonitorError):
    """The reference and current tables of an offline check cannot be compared."""


class EmptyData(DataMismatch):
    """The reference or the current table has no rows or no columns."""


class ColumnMismatch(DataMismatch):
    """Columns are missing from the current table or extra in it."""


class TypeMismatch(DataMismatch):
    """A column is numeric on one side and categorical (text, bool, ...) on the other."""
