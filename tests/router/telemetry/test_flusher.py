from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from router.telemetry import Flusher, Recorder, read_buckets
from router.telemetry.names import FLUSH_DROPPED_TOTAL, FLUSH_ERRORS_TOTAL

from .conftest import T0


class Clock:
    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'control.db'}")
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def test_flush_writes_complete_buckets_and_stop_writes_the_rest(engine: Engine) -> None:
    clock = Clock()
    rec = Recorder("r1", clock=clock)
    flusher = Flusher(rec, session_factory(engine), interval_s=60)
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    clock.now += 1
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    assert flusher.flush() == 1  # only the finished second
    assert flusher.last_success is not None and flusher.backlog == 0
    flusher.start()
    flusher.stop()
    with session_factory(engine)() as s:
        assert [b.requests for b in read_buckets(s, "m", since=T0)] == [1, 1]


def test_a_db_outage_keeps_buckets_until_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    rec = Recorder("r1", clock=clock)
    folder = tmp_path / "later"
    url = f"sqlite:///{folder / 'control.db'}"
    down = create_engine(url)  # its folder does not exist yet: every connect fails
    flusher = Flusher(rec, session_factory(down), max_backlog=2)
    try:
        with caplog.at_level(logging.WARNING, logger="router.telemetry.flusher"):
            for version in ("1", "2", "3"):
                rec.record("m", version, latency_s=0.01, outcome="ok")
            assert flusher.flush(force=True) == 0
            assert flusher.flush(force=True) == 0
        assert flusher.errors == 2 and flusher.last_error is not None
        assert flusher.backlog == 2 and flusher.dropped == 1
        assert len([r for r in caplog.records if "cannot write" in r.getMessage()]) == 1
        samples = {s.name: s.value for s in flusher.samples()}
        assert samples == {FLUSH_ERRORS_TOTAL: 2, FLUSH_DROPPED_TOTAL: 1}
        folder.mkdir()
        upgrade(url)  # the DB is back
        assert flusher.flush() == 2
        assert flusher.last_error is None and flusher.backlog == 0
        sessions: sessionmaker[Session] = session_factory(down)
        with sessions() as s:
            assert sorted(b.version for b in read_buckets(s, "m", since=T0)) == ["2", "3"]
    finally:
        down.dispose()


def test_arguments_are_checked(engine: Engine) -> None:
    with pytest.raises(ValueError):
        Flusher(Recorder("r1"), session_factory(engine), interval_s=0)
    flusher = Flusher(Recorder("r1"), session_factory(engine))
    flusher.start()
    try:
        with pytest.raises(RuntimeError):
            flusher.start()
    finally:
        flusher.stop()
