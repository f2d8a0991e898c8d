from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.telemetry import LATENCY_BOUNDS, InvalidObservation, LatencyHistogram, bucket_index
from router.telemetry.errors import SchemaVersionError
from router.telemetry.histogram import N_BUCKETS

# The widest bucket: 1.6 / 1.25.
MAX_RATIO = max(b / a for a, b in zip(LATENCY_BOUNDS, LATENCY_BOUNDS[1:], strict=False))


def test_bounds_are_fixed_r10_from_10us_to_100s() -> None:
    assert len(LATENCY_BOUNDS) == 71 and N_BUCKETS == 72
    assert LATENCY_BOUNDS[0] == 1e-5 and LATENCY_BOUNDS[-1] == 100.0
    assert all(a < b for a, b in zip(LATENCY_BOUNDS, LATENCY_BOUNDS[1:], strict=False))
    assert {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0} <= set(LATENCY_BOUNDS)
    assert MAX_RATIO == pytest.approx(1.28)


def test_index_equals_bisect_on_random_values_and_every_edge() -> None:
    rng = np.random.default_rng(7)
    values = [float(v) for v in rng.lognormal(mean=-5.0, sigma=4.0, size=10_000)]
    for b in LATENCY_BOUNDS:
        values += [b, math.nextafter(b, 0.0), math.nextafter(b, math.inf)]
    values += [0.0, 5e-324, 1e-300, 1e300, 99.99, 100.0, 100.0001]
    for v in values:
        assert bucket_index(v) == bisect.bisect_left(LATENCY_BOUNDS, v), v


@given(st.floats(min_value=0.0, max_value=1e308, allow_nan=False))
def test_index_equals_bisect_property(v: float) -> None:
    assert bucket_index(v) == bisect.bisect_left(LATENCY_BOUNDS, v)


@pytest.mark.parametrize("bad", [-1e-9, -1.0, math.nan, math.inf, -math.inf])
def test_negative_or_non_finite_latency_is_refused(bad: float) -> None:
    h = LatencyHistogram()
    with pytest.raises(InvalidObservation):
        h.observe(bad)
    assert h.count == 0


def test_value_on_a_bound_counts_in_that_bucket() -> None:
    h = LatencyHistogram()
    h.observe(0.005)
    assert h.counts[LATENCY_BOUNDS.index(0.005)] == 1


def test_quantile_within_one_bucket_of_numpy_on_lognormal() -> None:
    rng = np.random.default_rng(3)
    samples = rng.lognormal(mean=math.log(0.004), sigma=0.8, size=50_000)
    h = LatencyHistogram()
    for v in samples.tolist():
        h.observe(v)
    assert h.count == samples.size
    assert h.sum == pytest.approx(float(samples.sum()))
    for q in (0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999):
        est = h.quantile(q)
        true = float(np.quantile(samples, q))
        assert est is not None
        assert true / MAX_RATIO <= est <= true * MAX_RATIO, (q, est, true)


def test_quantile_of_empty_is_none_and_q_is_checked() -> None:
    h = LatencyHistogram()
    assert h.quantile(0.5) is None
    h.observe(0.1)
    with pytest.raises(ValueError):
        h.quantile(1.5)


def test_quantile_above_the_top_bound_is_the_top_bound() -> None:
    h = LatencyHistogram()
    h.observe(500.0)
    assert h.quantile(0.99) == 100.0


def test_quantile_extremes_lie_in_the_outer_occupied_buckets() -> None:
    h = LatencyHistogram()
    for v in (0.002, 0.003, 0.2):
        h.observe(v)
    assert h.quantile(0.0) == pytest.approx(0.0016)  # lower bound of 0.002's bucket
    assert h.quantile(1.0) == pytest.approx(0.2)


histograms = st.lists(st.floats(min_value=0.0, max_value=200.0, allow_nan=False), max_size=30).map(
    lambda vs: _hist(vs)
)


def _hist(values: list[float]) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values:
        h.observe(v)
    return h


def _merged(*parts: LatencyHistogram) -> LatencyHistogram:
    out = LatencyHistogram()
    for p in parts:
        out.merge(p)
    return out


@given(histograms, histograms, histograms)
def test_merge_is_associative_and_commutative(
    a: LatencyHistogram, b: LatencyHistogram, c: LatencyHistogram
) -> None:
    ab_c = _merged(_merged(a, b), c)
    a_bc = _merged(a, _merged(b, c))
    cba = _merged(c, b, a)
    assert ab_c.counts == a_bc.counts == cba.counts
    assert ab_c.sum == pytest.approx(a_bc.sum) == pytest.approx(cba.sum)
    assert ab_c.count == a.count + b.count + c.count


@given(histograms)
def test_dict_round_trip(h: LatencyHistogram) -> None:
    doc = h.to_dict()
    assert doc["v"] == 1
    assert all(isinstance(k, str) and n > 0 for k, n in doc["counts"].items())
    assert LatencyHistogram.from_dict(doc) == h


def test_from_dict_accepts_empty_and_refuses_unknown_versions() -> None:
    assert LatencyHistogram.from_dict({}) == LatencyHistogram()
    with pytest.raises(SchemaVersionError):
        LatencyHistogram.from_dict({"v": 2, "counts": {}, "sum": 0.0})
    with pytest.raises(SchemaVersionError):
        LatencyHistogram.from_dict({"v": 1, "counts": {"72": 1}, "sum": 0.0})
    with pytest.raises(SchemaVersionError):
        LatencyHistogram.from_dict({"v": 1, "counts": {"3": -1}, "sum": 0.0})
