"""Drift can block a promotion: the `input_drift` metric reads the monitor's verdict."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from monitors.store import save_report
from router.analysis import Measurement
from router.analysis.errors import AnalysisError
from router.analysis.evaluate import Outcome, assess
from router.analysis.spec import MetricSpec, parse_analysis
from router.controller.measure import builtin_reader
from router.telemetry import Bucket, write_buckets

T0 = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
METRIC = MetricSpec(name="inputs", kind="input_drift", max=1)


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def test_assess_waits_passes_and_fails_on_the_band() -> None:
    assert assess(METRIC, Measurement(requests=5), None).outcome is Outcome.WAITING
    assert assess(METRIC, Measurement(requests=5, input_drift=1.0), None).outcome is Outcome.PASS
    failed = assess(METRIC, Measurement(requests=5, input_drift=2.0), None)
    assert failed.outcome is Outcome.BREACH and "DRIFT" in failed.message
    with pytest.raises(AnalysisError, match="use max"):
        parse_analysis({"metrics": [{"name": "i", "kind": "input_drift", "relativeMax": 2}]})


def test_the_builtin_reader_takes_the_newest_window_ending_in_the_analysis(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        write_buckets(
            s,
            [
                Bucket("m", "2", "r1", T0 + timedelta(seconds=5), 1, 10, 0, 0, 0, {}, {}, {}),
            ],
        )
        for start, verdict in ((T0 - timedelta(minutes=5), "DRIFT"), (T0, "OK")):
            save_report(
                s,
                model="m",
                version="2",
                window_start=start,
                window_end=start + timedelta(minutes=5),
                rows=10,
                verdict=verdict,
                document={},
            )
    read = builtin_reader(sessions)
    # A step that began at T0: the window that ended at T0 + 5 min counts (OK) ...
    m = read("m", "2", T0, T0 + timedelta(minutes=6))
    assert m is not None and m.input_drift == 0.0
    # ... and a step that began after every stored window has no drift verdict yet.
    m = read("m", "2", T0 + timedelta(seconds=1), T0 + timedelta(minutes=10))
    assert m is not None and m.input_drift == 0.0
    m = read("m", "2", T0 + timedelta(minutes=5, seconds=1), T0 + timedelta(minutes=10))
    assert m is None or m.input_drift is None
