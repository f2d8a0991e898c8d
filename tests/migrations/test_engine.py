"""Engine construction per backend, sessions, and the reachability check."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from migrations import DatabaseUnavailable, check_reachable, make_engine, session_factory
from migrations.models import RegistryModel


def test_sqlite_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    db = tmp_path / "state" / "deeper" / "control.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            foreign_keys = conn.execute(text("PRAGMA foreign_keys")).scalar()
            journal = conn.execute(text("PRAGMA journal_mode")).scalar()
            busy = conn.execute(text("PRAGMA busy_timeout")).scalar()
    finally:
        engine.dispose()
    assert db.parent.is_dir()
    assert (foreign_keys, journal, busy) == (1, "wal", 5000)


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:pw@db.example/turnout", "postgresql+psycopg://u:pw@db.example/turnout"],
)
def test_postgresql_urls_use_psycopg3_and_pre_ping(url: str) -> None:
    engine = make_engine(url)  # creating an engine does not connect
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping


def test_check_reachable_passes_on_a_live_db(engine: Engine) -> None:
    check_reachable(engine)


def test_check_reachable_on_refused_port_is_one_masked_line() -> None:
    engine = make_engine("postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/x")
    with pytest.raises(DatabaseUnavailable) as info:
        check_reachable(engine)
    message = str(info.value)
    assert "\n" not in message
    assert "s3cret-pw" not in message
    assert "postgres:***@127.0.0.1:1/x" in message
    assert "refused" in message.lower()


def test_check_reachable_on_unopenable_sqlite_file(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()  # a directory where the file should be: SQLite cannot open it
    with pytest.raises(DatabaseUnavailable, match="unable to open"):
        check_reachable(make_engine(f"sqlite:///{folder}"))


def test_sessions_keep_objects_readable_after_commit(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    with sessions.begin() as session:
        row = RegistryModel(model_name="fraud", champion_version="3")
        session.add(row)
    assert row.generation == 0  # no expiry, so no reload after the session closed
    assert row.updated_at.utcoffset() is not None
