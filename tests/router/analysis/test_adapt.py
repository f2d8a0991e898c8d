from __future__ import annotations

from datetime import UTC, datetime

from router.analysis import Quality, measurement_from_merged
from router.quality.stats import VersionQuality
from router.telemetry.histogram import LATENCY_BOUNDS, LatencyHistogram
from router.telemetry.merged import MergedStats
from router.telemetry.outputs import OutputSummary

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _merged() -> MergedStats:
    hist = LatencyHistogram()
    for v in (0.01, 0.02, 0.02):
        hist.observe(v)
    outputs = OutputSummary("label")
    outputs.observe(["a", "b", "a"])
    outputs.observe(0.5)
    return MergedStats(
        model_name="m",
        version="2",
        requests=40,
        errors_client=5,
        errors_model=2,
        errors_timeout=1,
        latency=hist,
        outputs=outputs,
        sketches=None,
        replicas=frozenset({"r1"}),
        buckets=3,
        first_bucket=T0,
        last_bucket=T0,
    )


def test_counts_histogram_and_outputs_are_carried_over() -> None:
    stats = _merged()
    m = measurement_from_merged(stats)
    assert (m.requests, m.errors) == (40, 3)  # client errors are not the model's fault
    assert m.error_rate == stats.error_rate
    assert m.latency is not None
    assert m.latency.bounds == tuple(LATENCY_BOUNDS)
    assert list(m.latency.counts) == stats.latency.counts
    assert m.latency.quantile(0.5) == stats.p50
    assert m.output_labels == {"a": 2, "b": 1}
    assert sum(m.output_values.values()) == 1
    assert m.quality is None


def test_quality_from_router_quality() -> None:
    vq = VersionQuality(version="2", labelled=10, kind="classification", accuracy=0.9)
    m = measurement_from_merged(_merged(), vq)
    assert m.quality == Quality(labelled=10, accuracy=0.9)
    q = Quality(labelled=3, mae=0.1)
    assert measurement_from_merged(_merged(), q).quality is q
