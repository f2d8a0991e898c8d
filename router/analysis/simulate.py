"""(pure) Synthetic canary traffic and the rollback rules run on it, vectorised over runs.

Each run is one simulated analysis window: requests arrive as a Poisson process, each
goes to the candidate with probability ``share``, and errors, misclassifications and
latencies are drawn per version. Rules are evaluated on cumulative counts at every
check time, exactly as the controller would see them, with the same functions the
judge calls; ``first_alarm_times`` gives each run's time to rollback (inf: never).
Used by the simulation tests and bench/sim_rollback.py, and fit for replaying a spec
against synthetic traffic offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from router.analysis.measurement import LatencyCounts
from router.analysis.sequential import (
    error_rejects,
    latency_test,
    moments_from_sums,
    naive_z_rejects,
)
from router.analysis.spec import SequentialSpec

__all__ = [
    "AlarmSummary",
    "CountPaths",
    "LatencyPaths",
    "Traffic",
    "error_paths",
    "labelled_paths",
    "latency_paths",
    "naive_z_alarms",
    "sequential_error_alarms",
    "sequential_latency_alarms",
    "summarize",
    "threshold_alarms",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

_Z95: Final = 1.959963984540054
_CHUNK_CELLS: Final = 2_000_000  # runs x seconds drawn at once for latency (memory bound)


@dataclass(frozen=True, slots=True)
class Traffic:
    """Requests per second (both versions), the candidate's share, and the window length."""

    rate: float = 100.0
    share: float = 0.1
    seconds: int = 3600


@dataclass(frozen=True, slots=True)
class CountPaths:
    """New counts per run and second, shape (runs, seconds): ``x`` bad out of ``n``."""

    n_c: IntArray
    x_c: IntArray
    n_b: IntArray
    x_b: IntArray

    @property
    def runs(self) -> int:
        return int(self.n_c.shape[0])


@dataclass(frozen=True, slots=True)
class LatencyPaths:
    """Per run and second: count, sum and sum of squares of binned log latencies."""

    n_c: FloatArray
    s1_c: FloatArray
    s2_c: FloatArray
    n_b: FloatArray
    s1_b: FloatArray
    s2_b: FloatArray

    @property
    def runs(self) -> int:
        return int(self.n_c.shape[0])


@dataclass(frozen=True, slots=True)
class AlarmSummary:
    """How many runs raised an alarm (with a 95% Wilson interval) and when."""

    runs: int
    alarms: int
    rate: float
    rate_low: float
    rate_high: float
    median_s: float  # over all runs (inf when at most half alarmed)
    p90_s: float

    def to_dict(self) -> dict[str, float | int | None]:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "runs": self.runs,
            "alarms": self.alarms,
            "rate": self.rate,
            "rate_low": self.rate_low,
            "rate_high": self.rate_high,
            "median_s": finite(self.median_s),
            "p90_s": finite(self.p90_s),
        }


def _split(rng: np.random.Generator, runs: int, traffic: Traffic) -> tuple[IntArray, IntArray]:
    total = rng.poisson(traffic.rate, size=(runs, traffic.seconds))
    n_c = rng.binomial(total, traffic.share)
    return n_c.astype(np.int64), (total - n_c).astype(np.int64)


def error_paths(
    rng: np.random.Generator, runs: int, traffic: Traffic, rate_c: float, rate_b: float
) -> CountPaths:
    """Requests and errors per second; each request errs with its version's rate."""
    n_c, n_b = _split(rng, runs, traffic)
    x_c = rng.binomial(n_c, rate_c).astype(np.int64)
    x_b = rng.binomial(n_b, rate_b).astype(np.int64)
    return CountPaths(n_c, x_c, n_b, x_b)


def labelled_paths(
    rng: np.random.Generator,
    runs: int,
    traffic: Traffic,
    accuracy_c: float,
    accuracy_b: float,
    delay_s: int,
) -> CountPaths:
    """Labelled predictions and misclassifications per second, ground truth arriving
    ``delay_s`` after each request (so nothing is labelled before ``delay_s``)."""
    p = error_paths(rng, runs, traffic, 1.0 - accuracy_c, 1.0 - accuracy_b)

    def late(a: IntArray) -> IntArray:
        out = np.zeros_like(a)
        if delay_s < a.shape[1]:
            out[:, delay_s:] = a[:, : a.shape[1] - delay_s]
        return out

    return CountPaths(late(p.n_c), late(p.x_c), late(p.n_b), late(p.x_b))


def latency_paths(
    rng: np.random.Generator,
    runs: int,
    traffic: Traffic,
    bounds: tuple[float, ...],
    median_c: float,
    median_b: float,
    sigma: float,
) -> LatencyPaths:
    """Lognormal latencies (log-sd ``sigma``) binned into the histogram ``bounds``,
    summarised per second by the bucket centres the judge uses."""
    mids = np.asarray(LatencyCounts(bounds, (0,) * (len(bounds) + 1)).log_midpoints())
    edges = np.log(np.asarray(bounds))

    def probs(median: float) -> FloatArray:
        cdf = norm.cdf((edges - math.log(median)) / sigma)
        return np.diff(np.concatenate([[0.0], cdf, [1.0]]))

    pc, pb = probs(median_c), probs(median_b)
    used = (pc > 1e-12) | (pb > 1e-12)  # drop buckets no draw can reach, for speed
    pc, pb, m = pc[used] / pc[used].sum(), pb[used] / pb[used].sum(), mids[used]
    n_c, n_b = _split(rng, runs, traffic)
    out = {k: np.zeros((runs, traffic.seconds)) for k in ("s1c", "s2c", "s1b", "s2b")}
    step = max(1, _CHUNK_CELLS // max(traffic.seconds, 1))
    for lo in range(0, runs, step):
        hi = min(lo + step, runs)
        hc = rng.multinomial(n_c[lo:hi], pc).astype(np.float64)
        hb = rng.multinomial(n_b[lo:hi], pb).astype(np.float64)
        out["s1c"][lo:hi], out["s2c"][lo:hi] = hc @ m, hc @ (m * m)
        out["s1b"][lo:hi], out["s2b"][lo:hi] = hb @ m, hb @ (m * m)
    return LatencyPaths(
        n_c.astype(np.float64),
        out["s1c"],
        out["s2c"],
        n_b.astype(np.float64),
        out["s1b"],
        out["s2b"],
    )


def _checks(seconds: int, every_s: int) -> IntArray:
    """Indexes (0-based seconds) at which a rule looks: every_s, 2 every_s, ..."""
    return np.arange(every_s - 1, seconds, every_s, dtype=np.int64)


def _first(alarm: BoolArray, times: IntArray) -> FloatArray:
    hit = alarm.any(axis=1)
    first = (times + 1).astype(np.float64)[alarm.argmax(axis=1)]
    return np.where(hit, first, np.inf)


def sequential_error_alarms(
    paths: CountPaths,
    seq: SequentialSpec,
    *,
    kind: str = "error_rate",
    min_samples: int = 100,
    every_s: int = 1,
) -> FloatArray:
    """Time of each run's first Failed from the error-count test (the judge's rule)."""
    t = _checks(paths.n_c.shape[1], every_s)
    n_c, x_c, n_b, x_b = (
        np.cumsum(a, axis=1)[:, t] for a in (paths.n_c, paths.x_c, paths.n_b, paths.x_b)
    )
    rejected = error_rejects(
        x_c,
        n_c,
        x_b,
        n_b,
        alpha=seq.alpha,
        min_effect=seq.effect_for(kind),
        prior_strength=seq.prior_strength,
    )
    enough = (n_c >= max(min_samples, 1)) & (n_b >= max(min_samples, 1))
    return _first(rejected & enough, t)


def naive_z_alarms(
    paths: CountPaths, *, alpha: float = 0.05, every_s: int = 10, min_samples: int = 100
) -> FloatArray:
    """Time of each run's first alarm when a one-sided z-test is re-run every ``every_s``."""
    t = _checks(paths.n_c.shape[1], every_s)
    n_c, x_c, n_b, x_b = (
        np.cumsum(a, axis=1)[:, t] for a in (paths.n_c, paths.x_c, paths.n_b, paths.x_b)
    )
    enough = (n_c >= max(min_samples, 1)) & (n_b >= max(min_samples, 1))
    return _first(naive_z_rejects(x_c, n_c, x_b, n_b, alpha=alpha) & enough, t)


def threshold_alarms(
    paths: CountPaths, *, max_rate: float, interval_s: int = 60, threshold: int = 5
) -> FloatArray:
    """Flagger's rule: every ``interval_s`` the candidate's error rate over that interval
    is checked against ``max_rate``; rollback when ``threshold`` checks have failed."""
    runs, seconds = paths.n_c.shape
    k = seconds // interval_s
    n = paths.n_c[:, : k * interval_s].reshape(runs, k, interval_s).sum(axis=2)
    x = paths.x_c[:, : k * interval_s].reshape(runs, k, interval_s).sum(axis=2)
    failed = np.where(n > 0, x / np.maximum(n, 1) > max_rate, False)
    alarm = np.cumsum(failed, axis=1) >= threshold
    return _first(alarm, np.arange(1, k + 1, dtype=np.int64) * interval_s - 1)


def sequential_latency_alarms(
    paths: LatencyPaths, seq: SequentialSpec, *, min_samples: int = 100, every_s: int = 1
) -> FloatArray:
    """Time of each run's first Failed from the log-latency test (the judge's rule)."""
    t = _checks(paths.n_c.shape[1], every_s)
    sums = [
        np.cumsum(a, axis=1)[:, t]
        for a in (paths.n_c, paths.s1_c, paths.s2_c, paths.n_b, paths.s1_b, paths.s2_b)
    ]
    n_c, m_c, v_c = moments_from_sums(*sums[:3])
    n_b, m_b, v_b = moments_from_sums(*sums[3:])
    test = latency_test(
        n_c,
        m_c,
        v_c,
        n_b,
        m_b,
        v_b,
        alpha=seq.alpha,
        min_effect=seq.effect_for("latency"),
        prior_strength=seq.prior_strength,
    )
    enough = (n_c >= max(min_samples, 1)) & (n_b >= max(min_samples, 1))
    return _first(test.rejected & enough, t)


def summarize(first: FloatArray) -> AlarmSummary:
    """Alarm rate with its 95% Wilson interval, and the median / p90 time to alarm."""
    runs = int(first.size)
    alarms = int(np.isfinite(first).sum())
    rate = alarms / runs if runs else 0.0
    low, high = _wilson(alarms, runs)
    ordered = np.sort(first)
    return AlarmSummary(
        runs=runs,
        alarms=alarms,
        rate=rate,
        rate_low=low,
        rate_high=high,
        median_s=_order_stat(ordered, 0.5),
        p90_s=_order_stat(ordered, 0.9),
    )


def _order_stat(ordered: FloatArray, q: float) -> float:
    """The q-quantile of run times, counting runs without alarm as infinitely late."""
    if ordered.size == 0:
        return math.inf
    return float(ordered[min(int(math.ceil(q * ordered.size)) - 1, ordered.size - 1)])


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)
