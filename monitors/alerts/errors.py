"""Exceptions raised by the alerts package.

    MonitorError                  (monitors.errors) base of the monitors package
    └── AlertError                base of everything the alerts package raises on purpose
        ├── AlertConfigError      the alerts config file is missing a part, malformed or
        │   │                     inconsistent (unknown sink type, bad URL, bad port...)
        │   └── UnknownSink       a command or rule names a sink the config does not define
        ├── AlertNotFound         no alert has the given id
        ├── InvalidAlertFilter    a list filter names an unknown kind or severity (also a
        │                         ValueError, as it was before it had its own class)
        └── DeliveryError         one attempt to hand an alert to a sink failed; the worker
                                  records the message as the delivery's last error

Each message is one line meant for the person running the command; the CLI prints it
as is.
"""

from __future__ import annotations

from monitors.errors import MonitorError

__all__ = [
    "AlertConfigError",
    "AlertError",
    "AlertNotFound",
    "DeliveryError",
    "InvalidAlertFilter",
    "UnknownSink",
]


class AlertError(MonitorError):
    """Base class for errors raised by the alerts package."""


class AlertConfigError(AlertError):
    """The alerts configuration cannot be read or is invalid."""


class UnknownSink(AlertConfigError):
    """A sink name that the configuration does not define."""


class AlertNotFound(AlertError):
    """No alert has this id."""


class InvalidAlertFilter(AlertError, ValueError):
    """A list filter names an unknown alert kind or severity."""


class DeliveryError(AlertError):
    """One delivery attempt failed (receiver down, non-2xx answer, SMTP refusal, missing
    secret); the delivery stays in the outbox and is retried."""
