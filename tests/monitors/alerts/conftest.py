"""Fixtures for alert tests: a migrated control DB per backend, receivers, a clock.

Creating and migrating a database per test would cost most of this package's run time,
so each backend's database is created and migrated once per session, and `db_url`
hands each test that database with the alert tables emptied.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from migrations import make_engine, session_factory, upgrade
from tests.conftest import BACKENDS, PG_ADMIN_URL, PG_DB_PREFIX
from tests.monitors.alerts.helpers import Clock, Mailbox, Receiver, free_port


def _pg_database() -> Iterator[str]:
    admin = create_engine(
        PG_ADMIN_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    name = PG_DB_PREFIX + secrets.token_hex(6)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("alerts") / "control.db"
        urls: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        urls = _pg_database()
    url = next(urls)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    for _ in urls:  # runs the PostgreSQL cleanup
        pass


@pytest.fixture
def db_url(migrated_url: str) -> str:
    """The session's migrated control DB for this backend, with no alerts in it."""
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alert_deliveries"))
            conn.execute(text("DELETE FROM alerts"))
    finally:
        engine.dispose()
    return migrated_url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()
