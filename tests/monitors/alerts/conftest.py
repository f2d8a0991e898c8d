"""Fixtures for alert tests: a migrated control DB per backend, an SMTP mailbox, a clock
(the HTTP `receiver` is in tests/conftest.py, shared with the CLI tests).

Creating and migrating a database per test would cost most of this package's run time,
so each backend's database is created and migrated once per session, and `db_url`
hands each test that database with the alert tables emptied.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from tests.conftest import BACKENDS, pg_database
from tests.monitors.alerts.helpers import Clock, Mailbox, free_port


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('alerts') / 'control.db'}"
        else:
            url = stack.enter_context(pg_database())
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


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
