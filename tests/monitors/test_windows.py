"""Drift windows: which are due, and every replica's buckets merged into one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from monitors.store import latest_reports, prune_reports, report_by_id, save_report
from monitors.windows import (
    Window,
    WindowSpec,
    active_versions,
    due_windows,
    last_window_end,
    merge_window,
    parse_window,
)
from router.telemetry import Bucket, InputSketcher, OutputSummary, write_buckets

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def bucket(
    second: int,
    rows: list[tuple[float, float]],
    *,
    version: str = "1",
    replica: str = "r1",
    model: str = "m",
    labels: tuple[int, ...] = (),
) -> Bucket:
    sketcher = InputSketcher.from_profile(None, ["a", "b"])
    for r in rows:
        sketcher.observe_row(r)
    out = OutputSummary("label")
    out.observe(list(labels))
    return Bucket(
        model_name=model,
        version=version,
        replica=replica,
        bucket_start=T0 + timedelta(seconds=second),
        width_s=1,
        requests=len(rows),
        errors_client=0,
        errors_model=0,
        errors_timeout=0,
        latency_hist={},
        outputs=out.to_dict() if labels else {},
        sketches=sketcher.to_dict() if rows else {},
    )


def test_time_windows_are_aligned_and_complete_only() -> None:
    spec = WindowSpec(kind="time", size=60, grace_s=5)
    # At 12:02:03 the window 12:01-12:02 is not complete yet (5 s of grace)...
    windows, skipped = due_windows(
        None, spec, "m", "1", now=T0 + timedelta(seconds=123), after=None
    )  # type: ignore[arg-type]
    assert windows == [Window(T0, T0 + timedelta(seconds=60))]
    # ... and at 12:02:05 it is.
    windows, skipped = due_windows(
        None, spec, "m", "1", now=T0 + timedelta(seconds=125), after=None
    )  # type: ignore[arg-type]
    assert skipped == 0
    assert windows == [Window(T0 + timedelta(seconds=60), T0 + timedelta(seconds=120))]
    # After the 12:00-12:01 window, the next due one is 12:01-12:02.
    windows, _ = due_windows(
        None,  # type: ignore[arg-type]
        spec,
        "m",
        "1",
        now=T0 + timedelta(seconds=125),
        after=T0 + timedelta(seconds=60),
    )
    assert [w.start for w in windows] == [T0 + timedelta(seconds=60)]
    # Nothing new until the next window's end plus the grace.
    windows, _ = due_windows(
        None,
        spec,
        "m",
        "1",
        now=T0 + timedelta(seconds=184),
        after=T0 + timedelta(seconds=120),  # type: ignore[arg-type]
    )
    assert windows == []


def test_time_windows_catch_up_is_bounded() -> None:
    spec = WindowSpec(kind="time", size=60, grace_s=0, max_catch_up=3)
    windows, skipped = due_windows(
        None,
        spec,
        "m",
        "1",
        now=T0 + timedelta(hours=1),
        after=T0,  # type: ignore[arg-type]
    )
    assert skipped == 57
    assert len(windows) == 3
    assert windows[-1].end == T0 + timedelta(hours=1)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        WindowSpec(kind="days", size=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        WindowSpec(size=0)


def test_row_windows_close_when_enough_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        write_buckets(
            s,
            [
                bucket(0, [(1.0, 2.0)] * 4),
                bucket(0, [(1.0, 2.0)] * 3, replica="r2"),  # same second, another replica
                bucket(1, [(1.0, 2.0)] * 2),
                bucket(2, [(1.0, 2.0)] * 6),
                bucket(3, [(1.0, 2.0)] * 1),
            ],
        )
    spec = WindowSpec(kind="rows", size=8, grace_s=0)
    with sessions() as s:
        windows, skipped = due_windows(s, spec, "m", "1", now=T0 + timedelta(seconds=10), after=T0)
    # 7 rows in second 0, 9 by the end of second 1: the first window closes there;
    # 6 + 1 after it never reach 8.
    assert skipped == 0
    assert windows == [Window(T0, T0 + timedelta(seconds=2))]


def test_merge_window_adds_every_replica(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        write_buckets(
            s,
            [
                bucket(0, [(1.0, 2.0)] * 4, labels=(1, 1, 0, 1)),
                bucket(0, [(5.0, 2.0)] * 3, replica="r2", labels=(0, 0, 0)),
                bucket(30, [(1.0, 2.0)] * 2),
                bucket(61, [(9.0, 9.0)]),  # the next window
                bucket(0, [(1.0, 1.0)], version="2"),  # another version
            ],
        )
    with sessions() as s:
        data = merge_window(s, "m", "1", Window(T0, T0 + timedelta(seconds=60)))
        assert active_versions(s, T0) == [("m", "1"), ("m", "2")]
    assert data.rows == 9
    assert data.requests == 9
    assert data.replicas == frozenset({"r1", "r2"})
    assert data.outputs.labels == {"1": 3, "0": 4}
    assert data.notes == ()


def test_merge_window_skips_a_bucket_it_cannot_read(sessions: sessionmaker[Session]) -> None:
    good = bucket(0, [(1.0, 2.0)] * 4)
    bad = replace(good, replica="r9", sketches={"v": 99})  # a sketch schema it cannot read
    with sessions.begin() as s:
        write_buckets(s, [good, bad])
    with sessions() as s:
        data = merge_window(s, "m", "1", Window(T0, T0 + timedelta(seconds=60)))
    assert data.rows == 4
    assert len(data.notes) == 1 and "r9" in data.notes[0] and "version" in data.notes[0]


def test_reports_round_trip_and_prune(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert last_window_end(s, "m", "1") is None
        for i in range(3):
            save_report(
                s,
                model="m",
                version="1",
                window_start=T0 + timedelta(minutes=i),
                window_end=T0 + timedelta(minutes=i + 1),
                rows=100 + i,
                verdict="OK" if i < 2 else "DRIFT",
                document={"features": [{"name": "a", "band": "OK"}]},
            )
    with sessions() as s:
        assert last_window_end(s, "m", "1") == T0 + timedelta(minutes=3)
        latest = latest_reports(s, "m", "1", limit=2)
        assert [r.verdict for r in latest] == ["DRIFT", "OK"]
        doc = latest[0].to_dict()
        assert doc["rows"] == 102 and doc["features"] == [{"name": "a", "band": "OK"}]
        assert report_by_id(s, latest[0].id) == latest[0]
        assert report_by_id(s, 10**9) is None
    with sessions.begin() as s:
        assert prune_reports(s, T0 + timedelta(minutes=2)) == 1
    with sessions() as s:
        assert len(latest_reports(s, "m")) == 2


@pytest.mark.parametrize(
    ("text", "kind", "size"),
    [
        ("300s", "time", 300),
        ("5m", "time", 300),
        ("1h", "time", 3600),
        ("10000rows", "rows", 10000),
    ],
)
def test_parse_window(text: str, kind: str, size: int) -> None:
    spec = parse_window(text)
    assert (spec.kind, spec.size) == (kind, size)


@pytest.mark.parametrize("text", ["", "5", "5d", "0s", "-5m", "x rows", "1.5h"])
def test_parse_window_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(text)
