"""Errors raised by the control-DB package.

ControlDBError            anything that went wrong reaching or shaping the control DB
├── DatabaseUnavailable   the server or file cannot be reached (refused, timeout, no file)
├── SchemaOutOfDate       the schema is behind this turnout and auto-upgrade is off
└── MigrationError        an upgrade/downgrade failed, or the DB is ahead of this turnout
"""

from __future__ import annotations

__all__ = ["ControlDBError", "DatabaseUnavailable", "MigrationError", "SchemaOutOfDate"]


class ControlDBError(Exception):
    """Base class: callers that only want "the control DB is not usable" catch this."""


class DatabaseUnavailable(ControlDBError):
    """The control DB could not be connected to; the message is one line, password masked."""


class SchemaOutOfDate(ControlDBError):
    """The schema revision is older than this code's head and upgrading was not allowed."""


class MigrationError(ControlDBError):
    """Running Alembic failed for a reason other than reachability."""
