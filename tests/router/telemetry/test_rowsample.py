"""Raw-row samples: uniform per bucket, merged uniformly over a window, stored with it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from router.telemetry import InputSketcher, Recorder
from router.telemetry.rowsample import RowSample, merge_samples


def test_reservoir_keeps_every_row_with_the_same_chance() -> None:
    # 20 000 reservoirs of 5 out of 50 rows: each row kept ~ 2000 times (binomial sd ~ 42).
    kept: Counter[int] = Counter()
    rng = random.Random(1)
    for _ in range(20_000):
        s = RowSample(5, rng)
        for i in range(50):
            s.offer([i])
        assert s.seen == 50 and len(s.rows) == 5
        kept.update(row[0] for row in s.rows)
    assert len(kept) == 50
    assert all(abs(n - 2000) < 200 for n in kept.values()), kept  # ~4.7 sd


def test_merge_weighs_buckets_by_the_rows_they_stand_for() -> None:
    # Bucket a saw 900 rows, b saw 100; each kept 10. A merged sample of 10 should be
    # about 90% a's rows.
    a = {"v": 1, "seen": 900, "columns": ["x"], "rows": [["a"]] * 10}
    b = {"v": 1, "seen": 100, "columns": ["x"], "rows": [["b"]] * 10}
    from_a = 0
    for seed in range(2000):
        merged = merge_samples([a, b], 10, seed=seed)
        assert merged["seen"] == 1000 and len(merged["rows"]) == 10
        from_a += sum(row == ["a"] for row in merged["rows"])
    assert 0.86 < from_a / 20_000 < 0.94


def test_merge_skips_other_columns_and_versions() -> None:
    a = {"v": 1, "seen": 3, "columns": ["x"], "rows": [[1], [2], [3]]}
    other = {"v": 1, "seen": 2, "columns": ["y"], "rows": [[9], [9]]}
    newer = {"v": 2, "seen": 2, "columns": ["x"], "rows": [[9]]}
    merged = merge_samples([a, other, newer, {}], 10, seed=0)
    assert sorted(r[0] for r in merged["rows"]) == [1, 2, 3]
    assert merged["skipped"] == 2 and merged["columns"] == ["x"]


def test_values_are_json_safe() -> None:
    s = RowSample(3)
    s.offer([float("nan"), float("inf"), 1.5])
    s.offer(["text", None, True])
    doc = s.to_dict(["a", "b", "c"])
    assert doc["rows"] == [[None, None, 1.5], ["text", None, True]]
    with pytest.raises(ValueError, match="capacity"):
        RowSample(0)


def test_the_recorder_keeps_a_sample_per_bucket_when_asked() -> None:
    now = [1_700_000_000.2]
    rec = Recorder("r1", clock=lambda: now[0], sample_rows=4)
    rec.register("m", "1", InputSketcher.from_profile(None, ["a", "b"]), "label")
    for i in range(10):
        rec.record("m", "1", latency_s=0.001, outcome="ok", row=[float(i), 1.0])
    rec.record("m", "1", latency_s=0.001, outcome="ok", matrix=[[5.0, 5.0]] * 20)
    now[0] += 1
    [bucket] = rec.drain()
    assert bucket.samples["seen"] == 30 and bucket.samples["columns"] == ["a", "b"]
    assert len(bucket.samples["rows"]) == 4
    assert bucket.bucket_start == datetime.fromtimestamp(1_700_000_000, UTC)
    # Without sample_rows nothing is kept (the default).
    plain = Recorder("r1", clock=lambda: now[0])
    plain.register("m", "1", InputSketcher.from_profile(None, ["a", "b"]), "label")
    plain.record("m", "1", latency_s=0.001, outcome="ok", row=[1.0, 1.0])
    now[0] += 1
    [bucket] = plain.drain()
    assert bucket.samples == {}
