from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.analysis import LatencyCounts, Measurement, Quality
from router.telemetry.histogram import LATENCY_BOUNDS, N_BUCKETS, LatencyHistogram
from tests.router.analysis.helpers import latency

_counts = st.lists(st.integers(0, 50), min_size=N_BUCKETS, max_size=N_BUCKETS)


@given(_counts, st.floats(0.0, 1.0))
def test_quantile_matches_the_telemetry_histogram(counts: list[int], q: float) -> None:
    ours = LatencyCounts(tuple(LATENCY_BOUNDS), tuple(counts)).quantile(q)
    theirs = LatencyHistogram(list(counts)).quantile(q)
    assert ours == theirs


def test_log_midpoints_sit_between_the_bounds() -> None:
    h = latency(n=1)
    mids = h.log_midpoints()
    assert len(mids) == len(h.counts)
    logs = [math.log(b) for b in LATENCY_BOUNDS]
    for i in range(1, len(logs)):
        assert logs[i - 1] < mids[i] < logs[i]
    assert mids[0] < logs[0] < mids[1]
    assert mids[-1] > logs[-1]


@pytest.mark.parametrize(
    ("bounds", "counts", "match"),
    [
        ((1.0,), (0, 0), "at least two bounds"),
        ((1.0, 2.0), (0, 0), "need 3 counts"),
        ((2.0, 1.0), (0, 0, 0), "ascending"),
        ((0.0, 1.0), (0, 0, 0), "> 0"),
        ((1.0, 2.0), (0, -1, 0), ">= 0"),
    ],
)
def test_latency_counts_are_checked(
    bounds: tuple[float, ...], counts: tuple[int, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        LatencyCounts(bounds, counts)


def test_measurement_checks_its_counts() -> None:
    with pytest.raises(ValueError, match="cannot exceed"):
        Measurement(requests=1, errors=2)
    with pytest.raises(ValueError, match=">= 0"):
        Measurement(requests=-1)
    assert Measurement(requests=4, errors=1).error_rate == 0.25
    assert Measurement().error_rate is None


def test_quality_recovers_misclassifications() -> None:
    assert Quality(labelled=300, accuracy=0.9).misclassified == 30
    assert Quality(labelled=300).misclassified is None
    with pytest.raises(ValueError, match="accuracy"):
        Quality(labelled=1, accuracy=1.5)


def test_round_trip_through_json() -> None:
    m = Measurement(
        requests=10,
        errors=1,
        latency=latency([0.01, 0.2, 0.2]),
        output_labels={"a": 3},
        output_values={-3: 1, 40: 2},
        quality=Quality(labelled=5, accuracy=0.8, log_loss=0.3),
        value=float("inf"),
    )
    doc = json.loads(json.dumps(m.to_dict()))
    assert doc["value"] == "inf"
    assert Measurement.from_dict(doc) == m
