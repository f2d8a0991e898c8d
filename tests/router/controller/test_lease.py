"""The controller lease on both control-DB backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from router.controller.lease import Lease


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_one_holder_at_a_time_and_takeover_after_expiry(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    a = Lease(sessions, holder="a", ttl_s=10, clock=clock)
    b = Lease(sessions, holder="b", ttl_s=10, clock=clock)
    assert a.acquire() and not b.acquire()
    clock.now += timedelta(seconds=5)
    assert a.acquire()  # renewal pushes expiry to t+15
    clock.now += timedelta(seconds=9)
    assert not b.acquire()
    clock.now += timedelta(seconds=2)  # a stopped renewing: expired
    assert b.acquire() and not a.acquire()
    assert b.holder_now() == "b"


def test_release_hands_over_at_once(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    a = Lease(sessions, holder="a", clock=clock)
    b = Lease(sessions, holder="b", clock=clock)
    assert a.acquire()
    a.release()
    assert b.acquire()


def test_racing_first_acquires_have_one_winner(sessions: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(4)
    won: list[str] = []

    def contend(name: str) -> None:
        lease = Lease(sessions, holder=name)
        barrier.wait()
        try:
            if lease.acquire():
                won.append(name)
        except Exception as exc:  # a locked SQLite file counts as losing, never as winning
            won.append(f"error:{type(exc).__name__}")

    threads = [threading.Thread(target=contend, args=(f"c{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [w for w in won if not w.startswith("error:")]
    assert len(winners) == 1, won
