"""Buckets for the merge and store tests."""

from __future__ import annotations

from datetime import UTC, datetime

from router.telemetry import Bucket, InputSketcher, LatencyHistogram, OutputSummary

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def make_bucket(
    *,
    version: str = "1",
    replica: str = "r1",
    second: int = 0,
    latencies: tuple[float, ...] = (0.01,),
    errors_model: int = 0,
    errors_client: int = 0,
    errors_timeout: int = 0,
    labels: tuple[object, ...] = (),
    rows: tuple[tuple[float, ...], ...] = (),
    model: str = "m",
) -> Bucket:
    hist = LatencyHistogram()
    for v in latencies:
        hist.observe(v)
    out = OutputSummary("label")
    out.observe(list(labels))
    sketcher = InputSketcher.from_profile(None, ["a", "b"])
    for r in rows:
        sketcher.observe_row(r)
    return Bucket(
        model_name=model,
        version=version,
        replica=replica,
        bucket_start=T0.replace(second=second),
        width_s=1,
        requests=len(latencies),
        errors_client=errors_client,
        errors_model=errors_model,
        errors_timeout=errors_timeout,
        latency_hist=hist.to_dict(),
        outputs=out.to_dict() if labels else {},
        sketches=sketcher.to_dict() if rows else {},
    )
