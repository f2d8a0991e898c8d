"""The drift monitor loop: windows evaluated once, reports stored, hysteresis, alerts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from monitors.profile_schema import ReferenceProfile
from monitors.runner import DriftMonitor, MonitorConfig
from monitors.store import StoredReport, latest_reports
from monitors.windows import WindowData, WindowSpec
from router.telemetry import Bucket, InputSketcher, write_buckets

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


class Profiles:
    def __init__(self) -> None:
        self.calls = 0

    def reference_profile(self, name: str, version: str) -> str | None:
        self.calls += 1
        if version == "broken":
            raise ConnectionError("registry unreachable")
        return None


def by_mean(profile: ReferenceProfile | None, data: WindowData) -> tuple[str, dict[str, Any]]:
    """A stand-in policy: DRIFT when the window's first raw bin of 'a' is high."""
    assert data.sketch is not None
    counts = data.sketch.features["a"].raw_bins()
    high = sum(n for k, n in counts.items() if k > 20)
    verdict = "DRIFT" if high > data.rows / 2 else "OK"
    return verdict, {"features": [{"name": "a", "band": verdict}], "notes": []}


def traffic(sessions: sessionmaker[Session], minute: int, value: float, version: str = "1") -> None:
    sketcher = InputSketcher.from_profile(None, ["a"])
    for _ in range(10):
        sketcher.observe_row([value])
    with sessions.begin() as s:
        write_buckets(
            s,
            [
                Bucket(
                    model_name="m",
                    version=version,
                    replica="r1",
                    bucket_start=T0 + timedelta(minutes=minute, seconds=5),
                    width_s=1,
                    requests=10,
                    errors_client=0,
                    errors_model=0,
                    errors_timeout=0,
                    latency_hist={},
                    outputs={},
                    sketches=sketcher.to_dict(),
                )
            ],
        )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def monitor(
    sessions: sessionmaker[Session], clock: Clock, alerts: list[tuple[str, str, str]], k: int = 2
) -> DriftMonitor:
    def alert(
        session: Session, model: str, version: str, doc: Mapping[str, Any], rep: StoredReport
    ) -> str:
        alerts.append((model, version, rep.verdict))
        return "id"

    return DriftMonitor(
        sessions,
        Profiles(),
        by_mean,
        config=MonitorConfig(spec=WindowSpec(kind="time", size=60, grace_s=2), hysteresis=k),
        alert=alert,
        clock=clock,
    )


def test_each_window_is_judged_once_and_alerts_after_k(sessions: sessionmaker[Session]) -> None:
    clock, alerts = Clock(), []  # type: ignore[var-annotated]
    mon = monitor(sessions, clock, alerts)
    values = [1.0, 1.0, 1e6, 1e6, 1e6, 1.0, 1e6, 1e6]
    for minute, value in enumerate(values):
        traffic(sessions, minute, value)
        clock.now = T0 + timedelta(minutes=minute + 1, seconds=3)
        stored = mon.tick()
        assert len(stored) == 1, minute
        assert mon.tick() == []  # nothing new until the next window completes
    with sessions() as s:
        reports = list(reversed(latest_reports(s, "m", "1", limit=50)))
    assert [r.verdict for r in reports] == [
        "OK",
        "OK",
        "DRIFT",
        "DRIFT",
        "DRIFT",
        "OK",
        "DRIFT",
        "DRIFT",
    ]
    assert [r.document["streak"] for r in reports] == [0, 0, 1, 2, 3, 0, 1, 2]
    # One alert per run of drifting windows, when the run reaches K = 2.
    assert alerts == [("m", "1", "DRIFT"), ("m", "1", "DRIFT")]
    assert "no reference profile" in " ".join(reports[0].document["notes"])


def test_a_restarted_monitor_continues_the_streak(sessions: sessionmaker[Session]) -> None:
    clock, alerts = Clock(), []  # type: ignore[var-annotated]
    traffic(sessions, 0, 1e6)
    clock.now = T0 + timedelta(minutes=1, seconds=3)
    monitor(sessions, clock, alerts, k=2).tick()
    assert alerts == []
    traffic(sessions, 1, 1e6)
    clock.now = T0 + timedelta(minutes=2, seconds=3)
    monitor(sessions, clock, alerts, k=2).tick()  # a new process: the count is in the DB
    assert alerts == [("m", "1", "DRIFT")]


def test_quiet_windows_store_nothing(sessions: sessionmaker[Session]) -> None:
    clock, alerts = Clock(), []  # type: ignore[var-annotated]
    mon = monitor(sessions, clock, alerts)
    traffic(sessions, 0, 1.0)
    clock.now = T0 + timedelta(minutes=1, seconds=3)
    assert [r.window_start for r in mon.tick()] == [T0]
    traffic(sessions, 5, 1.0)
    clock.now = T0 + timedelta(minutes=6, seconds=3)  # four quiet minutes, then one
    assert [r.window_start for r in mon.tick()] == [T0 + timedelta(minutes=5)]


def test_one_broken_version_does_not_stop_the_others(sessions: sessionmaker[Session]) -> None:
    clock, alerts = Clock(), []  # type: ignore[var-annotated]
    mon = monitor(sessions, clock, alerts)
    traffic(sessions, 0, 1.0, version="1")
    traffic(sessions, 0, 1.0, version="broken")
    clock.now = T0 + timedelta(minutes=1, seconds=3)
    stored = mon.tick()
    # The registry failure is a note on the report, not a crash: both are judged.
    assert sorted(r.version for r in stored) == ["1", "broken"]
    broken = next(r for r in stored if r.version == "broken")
    assert "not readable now" in " ".join(broken.document["notes"])

    def explode(profile: ReferenceProfile | None, data: WindowData) -> tuple[str, dict[str, Any]]:
        if data.version == "broken":
            raise RuntimeError("boom")
        return by_mean(profile, data)

    mon.evaluate = explode
    traffic(sessions, 1, 1.0, version="1")
    traffic(sessions, 1, 1.0, version="broken")
    clock.now = T0 + timedelta(minutes=2, seconds=3)
    stored = mon.tick()
    assert [r.version for r in stored] == ["1"]
    assert mon.last_errors == {("m", "broken"): "RuntimeError: boom"}


def test_without_the_lease_nothing_is_done(sessions: sessionmaker[Session]) -> None:
    class Taken:
        def acquire(self) -> bool:
            return False

        def release(self) -> None:
            pass

    clock, alerts = Clock(), []  # type: ignore[var-annotated]
    mon = monitor(sessions, clock, alerts)
    mon.lease = Taken()
    traffic(sessions, 0, 1.0)
    clock.now = T0 + timedelta(minutes=1, seconds=3)
    assert mon.tick() == []


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        MonitorConfig(hysteresis=0)
