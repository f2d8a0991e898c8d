"""Alembic history: upgrade/downgrade round trips, model-vs-DB drift, ensure_schema."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from migrations import (
    VERSION_TABLE,
    MigrationError,
    SchemaOutOfDate,
    current,
    downgrade,
    ensure_schema,
    head,
    is_current,
    upgrade,
)
from migrations.models import Base

TURNOUT_TABLES = set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_head_is_the_newest_revision() -> None:
    assert head() == "0006"


def test_upgrade_to_head_makes_current_head(engine: Engine) -> None:
    assert current(engine) is None
    upgrade(engine)
    assert current(engine) == head()
    assert is_current(engine)
    assert TURNOUT_TABLES <= _tables(engine)


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    assert current(engine) is None
    # Only Alembic's (empty) bookkeeping table may remain.
    assert _tables(engine) <= {VERSION_TABLE}
    upgrade(engine)
    assert current(engine) == head()
    assert TURNOUT_TABLES <= _tables(engine)


def test_url_targets_work_like_engines(db_url: str) -> None:
    upgrade(db_url)
    assert current(db_url) == head()
    downgrade(db_url, "base")
    assert current(db_url) is None


def test_migrated_schema_matches_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        diff: list[Any] = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_upgrade_is_silent_and_leaves_logging_alone(
    engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    handlers = list(logging.getLogger().handlers)
    alembic_disabled = logging.getLogger("alembic").disabled
    upgrade(engine)
    downgrade(engine, "base")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert logging.getLogger().handlers == handlers
    assert logging.getLogger("alembic").disabled == alembic_disabled


def test_ensure_schema_upgrades_an_empty_db_when_allowed(engine: Engine) -> None:
    ensure_schema(engine, auto_upgrade=True)
    assert current(engine) == head()
    ensure_schema(engine, auto_upgrade=False)  # at head: nothing to do, no error


def test_ensure_schema_refuses_when_upgrade_not_allowed(engine: Engine) -> None:
    with pytest.raises(SchemaOutOfDate, match="turnout db upgrade") as info:
        ensure_schema(engine, auto_upgrade=False)
    assert "\n" not in str(info.value)
    assert current(engine) is None


def test_ensure_schema_refuses_a_db_from_a_newer_turnout(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(MigrationError, match="9999"):
        ensure_schema(migrated_engine, auto_upgrade=True)


def test_unknown_target_revision_is_a_migration_error(sqlite_url: str) -> None:
    with pytest.raises(MigrationError, match="nope"):
        upgrade(sqlite_url, "nope")
