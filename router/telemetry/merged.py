"""Merging metric buckets across replicas and time: what the controller judges.

Pure: buckets in, per-version statistics out; ``store.read_merged`` feeds it rows from
the control DB. Every field adds up (counters) or merges (histograms, summaries,
sketches), so the result does not depend on how traffic was spread over replicas or
in which order the rows come.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from router.telemetry.bucket import Bucket
from router.telemetry.errors import MergeMismatch
from router.telemetry.histogram import LatencyHistogram
from router.telemetry.outputs import OutputSummary
from router.telemetry.rowsample import merge_samples
from router.telemetry.sketch_schema import InputSketch

__all__ = ["MergedStats", "add_buckets", "merge_buckets"]


@dataclass(frozen=True)
class MergedStats:
    """One model version over a window: every replica's buckets added together.

    ``sketches`` is None when they were not asked for. ``first_bucket`` and
    ``last_bucket`` are the starts of the earliest and latest bucket seen.
    """

    model_name: str
    version: str
    requests: int
    errors_client: int
    errors_model: int
    errors_timeout: int
    latency: LatencyHistogram
    outputs: OutputSummary
    sketches: InputSketch | None
    replicas: frozenset[str]
    buckets: int
    first_bucket: datetime
    last_bucket: datetime

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no sketches): what the stats API and CLI show."""
        return {
            "version": self.version,
            "requests": self.requests,
            "errors": self.errors,
            "errors_client": self.errors_client,
            "errors_model": self.errors_model,
            "errors_timeout": self.errors_timeout,
            "error_rate": self.error_rate,
            "client_error_rate": self.client_error_rate,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "outputs": self.outputs.to_dict(),
            "replicas": sorted(self.replicas),
            "buckets": self.buckets,
            "first_bucket": self.first_bucket.isoformat(),
            "last_bucket": self.last_bucket.isoformat(),
        }

    @property
    def errors(self) -> int:
        """Errors the version is to blame for: model errors and timeouts."""
        return self.errors_model + self.errors_timeout

    @property
    def error_rate(self) -> float | None:
        """``errors / requests`` (client errors excluded: bad input is not the model's
        fault); None without requests, since no data is neither pass nor fail."""
        return self.errors / self.requests if self.requests else None

    @property
    def client_error_rate(self) -> float | None:
        return self.errors_client / self.requests if self.requests else None

    @property
    def p50(self) -> float | None:
        return self.latency.quantile(0.5)

    @property
    def p95(self) -> float | None:
        return self.latency.quantile(0.95)

    @property
    def p99(self) -> float | None:
        return self.latency.quantile(0.99)


def add_buckets(a: Bucket, b: Bucket) -> Bucket:
    """Two buckets of the same key added into one (a re-flushed or re-drained bucket)."""
    if a.key != b.key:
        raise MergeMismatch(f"cannot add buckets of different keys: {a.key} and {b.key}")
    if a.width_s != b.width_s:
        raise MergeMismatch(f"cannot add a {b.width_s} s bucket into a {a.width_s} s bucket")
    latency = LatencyHistogram.from_dict(a.latency_hist)
    latency.merge(LatencyHistogram.from_dict(b.latency_hist))
    return replace(
        a,
        requests=a.requests + b.requests,
        errors_client=a.errors_client + b.errors_client,
        errors_model=a.errors_model + b.errors_model,
        errors_timeout=a.errors_timeout + b.errors_timeout,
        latency_hist=latency.to_dict(),
        outputs=_merge_outputs(a.outputs, b.outputs),
        sketches=_merge_sketches(a.sketches, b.sketches),
        samples=_merge_samples(a.samples, b.samples),
    )


def merge_buckets(
    buckets: Iterable[Bucket], *, include_sketches: bool = True
) -> dict[str, MergedStats]:
    """Per version, the sum of ``buckets`` (any models' rows must not be mixed)."""
    acc: dict[str, _Acc] = {}
    for b in buckets:
        a = acc.get(b.version)
        if a is None:
            a = acc[b.version] = _Acc(b, include_sketches)
        a.add(b)
    return {version: a.result() for version, a in acc.items()}


class _Acc:
    def __init__(self, first: Bucket, include_sketches: bool) -> None:
        self.model = first.model_name
        self.version = first.version
        self.counts = [0, 0, 0, 0]
        self.latency = LatencyHistogram()
        self.outputs = OutputSummary()
        self.sketches = InputSketch() if include_sketches else None
        self.replicas: set[str] = set()
        self.n = 0
        self.first = first.bucket_start
        self.last = first.bucket_start

    def add(self, b: Bucket) -> None:
        if b.model_name != self.model:
            raise MergeMismatch(f"buckets of {b.model_name!r} mixed with {self.model!r}")
        c = self.counts
        c[0] += b.requests
        c[1] += b.errors_client
        c[2] += b.errors_model
        c[3] += b.errors_timeout
        self.latency.merge(LatencyHistogram.from_dict(b.latency_hist))
        if b.outputs:
            self.outputs.merge(OutputSummary.from_dict(b.outputs))
        if self.sketches is not None and b.sketches:
            self.sketches.merge(InputSketch.from_dict(b.sketches))
        self.replicas.add(b.replica)
        self.n += 1
        self.first = min(self.first, b.bucket_start)
        self.last = max(self.last, b.bucket_start)

    def result(self) -> MergedStats:
        return MergedStats(
            model_name=self.model,
            version=self.version,
            requests=self.counts[0],
            errors_client=self.counts[1],
            errors_model=self.counts[2],
            errors_timeout=self.counts[3],
            latency=self.latency,
            outputs=self.outputs,
            sketches=self.sketches,
            replicas=frozenset(self.replicas),
            buckets=self.n,
            first_bucket=self.first,
            last_bucket=self.last,
        )


def _merge_outputs(a: dict[str, object], b: dict[str, object]) -> dict[str, object]:
    if not a or not b:
        return dict(a or b)
    out = OutputSummary.from_dict(a)
    out.merge(OutputSummary.from_dict(b))
    return out.to_dict()


def _merge_samples(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if not a or not b:
        return dict(a or b)
    capacity = max(len(a.get("rows") or ()), len(b.get("rows") or ()), 1)
    merged = merge_samples([a, b], capacity)
    merged.pop("skipped", None)
    return merged


def _merge_sketches(a: dict[str, object], b: dict[str, object]) -> dict[str, object]:
    if not a or not b:
        return dict(a or b)
    out = InputSketch.from_dict(a)
    out.merge(InputSketch.from_dict(b))
    return out.to_dict()
