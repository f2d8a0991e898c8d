"""Exceptions raised by router.telemetry.

    TelemetryError           base of everything router.telemetry raises on purpose
    ├── InvalidObservation   a value the recorder cannot count (negative, NaN or
    │                        infinite latency; an unknown request outcome)
    ├── SchemaVersionError   a stored histogram, sketch or output summary has a
    │                        version or shape this build does not read
    ├── MergeMismatch        two sketches or summaries of different layouts were
    │                        merged (other bin edges, kinds or output names)
    └── UnknownMetric        a sample for /metrics names no metric in router.telemetry.names

Each message is one line naming what was wrong and where.
"""

from __future__ import annotations

__all__ = [
    "InvalidObservation",
    "MergeMismatch",
    "SchemaVersionError",
    "TelemetryError",
    "UnknownMetric",
]


class TelemetryError(Exception):
    """Base class of every error raised by router.telemetry."""


class InvalidObservation(TelemetryError, ValueError):
    """A latency or outcome that no counter can hold; the caller has a bug."""


class SchemaVersionError(TelemetryError):
    """A stored document has an unknown schema version or a malformed shape."""


class MergeMismatch(TelemetryError):
    """Two documents of different layouts cannot be added bin by bin."""


class UnknownMetric(TelemetryError):
    """A sample names a metric that is not declared in router.telemetry.names."""
