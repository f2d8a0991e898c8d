from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from monitors import compute_profile
from router.telemetry import (
    Bucket,
    InputSketch,
    InputSketcher,
    InvalidObservation,
    LatencyHistogram,
    OutputSummary,
    Recorder,
)
from router.telemetry.names import OUTCOMES


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _one(buckets: list[Bucket], version: str = "1") -> Bucket:
    [bucket] = [b for b in buckets if b.version == version]
    return bucket


def test_counts_per_outcome() -> None:
    clock = FakeClock()
    rec = Recorder("r1", clock=clock)
    for outcome, n in zip(OUTCOMES, (5, 3, 2, 1), strict=True):
        for _ in range(n):
            rec.record("m", "1", latency_s=0.01, outcome=outcome)
    b = _one(rec.drain(force=True))
    assert (b.requests, b.errors_client, b.errors_model, b.errors_timeout) == (11, 3, 2, 1)
    [v] = rec.totals().versions
    assert dict(v.outcomes) == {"ok": 5, "client_error": 3, "model_error": 2, "timeout": 1}
    assert v.latency.count == 11 and v.rows == 11


def test_unknown_outcome_and_bad_latency_count_nothing() -> None:
    rec = Recorder("r1", clock=FakeClock())
    with pytest.raises(InvalidObservation):
        rec.record("m", "1", latency_s=0.01, outcome="fine")
    with pytest.raises(InvalidObservation):
        rec.record("m", "1", latency_s=-1.0, outcome="ok")
    with pytest.raises(InvalidObservation):
        rec.record_shadow("m", "1", "2", latency_s=0.01, outcome="nope")
    assert rec.drain(force=True) == []
    assert rec.totals().versions == ()


def test_bucket_width_must_be_a_positive_int() -> None:
    with pytest.raises(ValueError):
        Recorder("r1", bucket_width_s=0)


def test_buckets_follow_the_clock_slots() -> None:
    clock = FakeClock(1_000.2)
    rec = Recorder("r1", bucket_width_s=5, clock=clock)
    rec.record("m", "1", latency_s=0.01, outcome="ok")  # slot [1000, 1005)
    clock.now = 1_004.99
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    clock.now = 1_005.0  # next slot
    rec.record("m", "1", latency_s=0.02, outcome="ok")
    rec.record("m", "2", latency_s=0.02, outcome="ok")
    clock.now = 1_017.0  # skips two empty slots
    rec.record("m", "1", latency_s=0.03, outcome="ok")
    buckets = rec.drain(force=True)
    starts = sorted((b.bucket_start, b.version, b.requests) for b in buckets)

    def t(seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    assert starts == [
        (t(1000), "1", 2),
        (t(1005), "1", 1),
        (t(1005), "2", 1),
        (t(1015), "1", 1),
    ]
    assert all(b.width_s == 5 and b.replica == "r1" for b in buckets)
    assert all(b.bucket_start.tzinfo is UTC for b in buckets)


def test_drain_returns_only_complete_slots_unless_forced() -> None:
    clock = FakeClock(100.0)
    rec = Recorder("r1", clock=clock)
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    assert rec.drain() == []  # slot 100 is still running
    assert rec.drain(now=100.999) == []
    [b] = rec.drain(now=101.0)  # complete once the clock reached its end
    assert b.bucket_start == datetime.fromtimestamp(100, UTC)
    assert rec.drain(now=500.0) == []  # removed
    clock.now = 101.5
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    clock.now = 102.2
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    [done] = rec.drain()
    assert done.bucket_start == datetime.fromtimestamp(101, UTC)
    [forced] = rec.drain(force=True)
    assert forced.bucket_start == datetime.fromtimestamp(102, UTC)
    assert rec.drain(force=True) == []


def test_a_slot_drained_early_and_recorded_again_yields_two_buckets_of_one_key() -> None:
    clock = FakeClock(10.0)
    rec = Recorder("r1", clock=clock)
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    first = rec.drain(force=True)
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    second = rec.drain(force=True)
    assert first[0].key == second[0].key


def test_bucket_carries_latency_outputs_and_sketches() -> None:
    frame = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) * 2})
    sketcher = InputSketcher.from_profile(compute_profile(frame), ["a", "b"])
    rec = Recorder("r1", clock=FakeClock())
    rec.register("m", "1", sketcher, "label")
    rec.record("m", "1", latency_s=0.002, outcome="ok", row=[1.0, 2.0], outputs=[1])
    rec.record("m", "1", latency_s=0.004, outcome="ok", matrix=np.ones((3, 2)), outputs=[0, 1, 1])
    b = _one(rec.drain(force=True))
    hist = LatencyHistogram.from_dict(b.latency_hist)
    assert hist.count == 2 and hist.sum == pytest.approx(0.006)
    out = OutputSummary.from_dict(b.outputs)
    assert out.name == "label" and out.labels == {"0": 1, "1": 3}
    sk = InputSketch.from_dict(b.sketches)
    assert sk.rows == 4 and set(sk.features) == {"a", "b"}
    [v] = rec.totals().versions
    assert v.rows == 4  # rows default to len(matrix)
    assert sketcher.rows == 0  # the registered template is never written to


def test_unregistered_version_is_counted_without_sketches() -> None:
    rec = Recorder("r1", clock=FakeClock())
    rec.record("m", "9", latency_s=0.01, outcome="ok", row=[1.0])
    b = _one(rec.drain(force=True), "9")
    assert b.requests == 1 and b.sketches == {} and b.outputs == {}


def test_shadow_requests_go_to_the_shadow_bucket_and_shadow_totals() -> None:
    rec = Recorder("r1", clock=FakeClock())
    rec.record("m", "1", latency_s=0.01, outcome="ok", outputs=[1])
    rec.record_shadow("m", "1", "2", latency_s=0.02, outcome="ok", agreed=True, outputs=[1])
    rec.record_shadow("m", "1", "2", latency_s=0.02, outcome="ok", agreed=False)
    rec.record_shadow("m", "1", "2", latency_s=0.5, outcome="timeout", agreed=None)
    buckets = rec.drain(force=True)
    shadow = _one(buckets, "2")
    assert shadow.requests == 3 and shadow.errors_timeout == 1
    out = OutputSummary.from_dict(shadow.outputs)
    assert (out.pairs, out.disagreements) == (2, 1)
    totals = rec.totals()
    assert [v.version for v in totals.versions] == ["1"]  # mirrored requests not served
    [s] = totals.shadows
    assert (s.version, s.primary_version, s.comparisons, s.disagreements) == ("2", "1", 2, 1)
    assert s.outcomes["timeout"] == 1


def test_unregister_drops_totals() -> None:
    rec = Recorder("r1", clock=FakeClock())
    rec.record("m", "1", latency_s=0.01, outcome="ok")
    rec.record_shadow("m", "2", "1", latency_s=0.01, outcome="ok")
    rec.unregister("m", "1")
    totals = rec.totals()
    assert totals.versions == () and totals.shadows == ()
    assert len(rec.drain(force=True)) == 1  # what was recorded still drains


def test_concurrent_record_and_drain_lose_no_count() -> None:
    class TickingClock:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self) -> float:
            # record() reads the clock once per call; a new 1 s slot every 1000 calls.
            self.calls += 1
            return 1_000_000.0 + self.calls / 1000.0

    clock = TickingClock()
    rec = Recorder("r1", clock=clock)
    total = 200_000
    drained: list[Bucket] = []
    done = threading.Event()

    busy_drains = 0

    def drainer() -> None:
        nonlocal busy_drains
        while not done.is_set():
            got = rec.drain(now=2_000_000.0)  # every slot counts as complete
            busy_drains += bool(got)
            drained.extend(got)
        drained.extend(rec.drain(now=2_000_000.0, force=True))

    thread = threading.Thread(target=drainer)
    thread.start()
    try:
        for i in range(total):
            rec.record("m", "1" if i % 3 else "2", latency_s=0.001, outcome="ok")
    finally:
        done.set()
        thread.join()
    assert sum(b.requests for b in drained) == total
    assert sum(LatencyHistogram.from_dict(b.latency_hist).count for b in drained) == total
    assert busy_drains >= 2  # the drain really ran alongside the recording
