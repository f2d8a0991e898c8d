"""Exceptions raised by the monitors package.

    MonitorError              base of everything the monitors raise on purpose
    └── ProfileError          a reference profile cannot be computed, read or trusted
                              (empty frame, bad argument, unknown schema version,
                              malformed document)

Each message is one line meant for the person running the command; the CLI prints it
as is.
"""

from __future__ import annotations

__all__ = ["MonitorError", "ProfileError"]


class MonitorError(Exception):
    """Base class for errors raised by the monitors package."""


class ProfileError(MonitorError):
    """A reference profile could not be computed, read or validated."""
