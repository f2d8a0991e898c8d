"""The control-plane database: ORM models, engines, and the Alembic schema history.

This package imports nothing else from turnout, so every other package can depend on it.
"""

from __future__ import annotations

from migrations.engine import check_reachable, make_engine, masked_url, session_factory
from migrations.errors import (
    ControlDBError,
    DatabaseUnavailable,
    MigrationError,
    SchemaOutOfDate,
)
from migrations.schema import (
    VERSION_TABLE,
    current,
    downgrade,
    ensure_schema,
    head,
    is_current,
    upgrade,
)

__all__ = [
    "VERSION_TABLE",
    "ControlDBError",
    "DatabaseUnavailable",
    "MigrationError",
    "SchemaOutOfDate",
    "check_reachable",
    "current",
    "downgrade",
    "ensure_schema",
    "head",
    "is_current",
    "make_engine",
    "masked_url",
    "session_factory",
    "upgrade",
]
