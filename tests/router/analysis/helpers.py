"""Measurements and specs for the analysis tests."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from router.analysis import LatencyCounts, Measurement, MetricSpec, Quality
from router.telemetry.histogram import LATENCY_BOUNDS, bucket_index


def latency(values: list[float] | None = None, *, at: float = 0.05, n: int = 0) -> LatencyCounts:
    """A histogram of ``values``, or of ``n`` latencies all equal to ``at``."""
    counts = [0] * (len(LATENCY_BOUNDS) + 1)
    if values is None:
        counts[bucket_index(at)] = n
    for v in values or ():
        counts[bucket_index(v)] += 1
    return LatencyCounts(tuple(LATENCY_BOUNDS), tuple(counts))


def lognormal_latency(n: int, median: float, sigma: float = 0.5) -> LatencyCounts:
    """``n`` latencies spread over their quantiles (deterministic, no RNG)."""
    qs = (np.arange(n) + 0.5) / n
    values = median * np.exp(sigma * norm.ppf(qs))
    index = np.searchsorted(np.asarray(LATENCY_BOUNDS), values, side="left")
    counts = np.bincount(index, minlength=len(LATENCY_BOUNDS) + 1)
    return LatencyCounts(tuple(LATENCY_BOUNDS), tuple(int(c) for c in counts))


def counts(requests: int, errors: int = 0) -> Measurement:
    return Measurement(requests=requests, errors=errors)


def quality(labelled: int, **numbers: float) -> Measurement:
    return Measurement(requests=labelled, quality=Quality(labelled=labelled, **numbers))


def metric(**kw: object) -> MetricSpec:
    base: dict[str, object] = {"name": "m"}
    base.update(kw)
    return MetricSpec.model_validate(base)
