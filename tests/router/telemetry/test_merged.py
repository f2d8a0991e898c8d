from __future__ import annotations

import itertools

import numpy as np
import pytest

from router.telemetry import MergeMismatch, add_buckets, merge_buckets

from .conftest import T0, make_bucket


def test_merge_adds_counters_across_replicas_and_buckets() -> None:
    rng = np.random.default_rng(0)
    buckets = []
    all_latencies: list[float] = []
    for replica, second in itertools.product(("r1", "r2"), (0, 1, 2)):
        lat = tuple(rng.lognormal(-4, 0.5, 50).tolist())
        all_latencies += lat
        buckets.append(
            make_bucket(
                replica=replica, second=second, latencies=lat, errors_model=1, labels=(1, 0)
            )
        )
    buckets.append(make_bucket(version="2", latencies=(0.2,)))
    merged = merge_buckets(buckets)
    one = merged["1"]
    assert one.requests == 300 and one.errors_model == 6 and one.errors == 6
    assert one.error_rate == pytest.approx(6 / 300)
    assert one.replicas == frozenset({"r1", "r2"}) and one.buckets == 6
    assert one.first_bucket == T0 and one.last_bucket == T0.replace(second=2)
    assert one.outputs.labels == {"0": 6, "1": 6}
    for q, p in ((0.5, one.p50), (0.95, one.p95), (0.99, one.p99)):
        true = float(np.quantile(all_latencies, q))
        assert p is not None and true / 1.28 <= p <= true * 1.28
    assert merged["2"].requests == 1


def test_merge_order_does_not_matter() -> None:
    buckets = [
        make_bucket(replica=r, second=s, latencies=(0.001 * (s + 1),) * 3, rows=((1.0, 2.0),))
        for r in ("a", "b")
        for s in range(3)
    ]
    forward = merge_buckets(buckets)["1"]
    backward = merge_buckets(reversed(buckets))["1"]
    assert forward.latency.counts == backward.latency.counts
    assert forward.sketches is not None and backward.sketches is not None
    assert forward.sketches.to_dict() == backward.sketches.to_dict()
    assert forward.sketches.rows == 6


def test_no_requests_means_no_rate() -> None:
    empty = merge_buckets([make_bucket(latencies=())])["1"]
    assert empty.error_rate is None and empty.client_error_rate is None and empty.p50 is None


def test_sketches_can_be_left_out() -> None:
    stats = merge_buckets([make_bucket(rows=((1.0, 2.0),))], include_sketches=False)["1"]
    assert stats.sketches is None


def test_add_buckets_needs_one_key() -> None:
    a = make_bucket(labels=(1,), rows=((1.0, 2.0),))
    total = add_buckets(a, a)
    assert total.requests == 2 and total.outputs["labels"] == {"1": 2}
    assert total.sketches["rows"] == 2
    with pytest.raises(MergeMismatch):
        add_buckets(a, make_bucket(replica="r2"))


def test_models_must_not_be_mixed() -> None:
    with pytest.raises(MergeMismatch):
        merge_buckets([make_bucket(), make_bucket(model="other", second=1)])
