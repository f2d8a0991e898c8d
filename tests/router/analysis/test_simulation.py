"""Statistical claims, by seeded simulation (P5 of BENCHMARKS.md, smaller than the bench).

A 10% canary at 100 req/s, judged every second on counts cumulative since the step
began. Tolerances: a false-alarm rate must stay under alpha + 2 standard errors of a
rate alpha estimated from that many runs; times are medians over the runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from router.analysis import (
    AnalysisSpec,
    JudgeState,
    LatencyCounts,
    Measurement,
    MetricSpec,
    Phase,
    Quality,
    SequentialSpec,
    default_analysis,
    judge,
)
from router.analysis.simulate import (
    CountPaths,
    LatencyPaths,
    Traffic,
    error_paths,
    labelled_paths,
    latency_paths,
    naive_z_alarms,
    sequential_error_alarms,
    sequential_latency_alarms,
    summarize,
    threshold_alarms,
)
from router.telemetry.histogram import LATENCY_BOUNDS

ALPHA = 0.05
HOUR = Traffic(rate=100.0, share=0.1, seconds=3600)
DEFAULT = SequentialSpec(alpha=ALPHA)
# min_effect this small leaves the likelihood ratio alone to decide: the strict check.
ANY_EFFECT = SequentialSpec(alpha=ALPHA, min_effect=1e-9)


def _ceiling(runs: int) -> float:
    return ALPHA + 2.0 * math.sqrt(ALPHA * (1.0 - ALPHA) / runs)


def test_error_rate_a_a_false_rollbacks_stay_under_alpha_and_naive_z_does_not() -> None:
    runs = 400
    paths = error_paths(np.random.default_rng(20260105), runs, HOUR, 0.01, 0.01)
    strict = summarize(sequential_error_alarms(paths, ANY_EFFECT))
    default = summarize(sequential_error_alarms(paths, DEFAULT))
    naive = summarize(naive_z_alarms(paths, alpha=ALPHA, every_s=10))
    ceiling = _ceiling(runs)
    assert strict.rate <= ceiling, f"sequential (LR alone) false rollbacks {strict.rate:.3f}"
    assert default.rate <= strict.rate
    # The same paths, a z-test at 5% re-run every 10 s: the false alarms pile up.
    assert naive.rate > 0.2, f"naive z-test false alarms only {naive.rate:.3f}"


def test_error_rate_regression_is_rolled_back_within_30_s_median() -> None:
    paths = error_paths(np.random.default_rng(7), 200, Traffic(seconds=300), 0.05, 0.01)
    ours = summarize(sequential_error_alarms(paths, DEFAULT))
    flagger = summarize(threshold_alarms(paths, max_rate=0.02, interval_s=60, threshold=5))
    assert ours.rate >= 0.99
    assert ours.median_s <= 30.0, f"median time to rollback {ours.median_s} s"
    assert flagger.median_s == 300.0  # interval x threshold, the anchor


def test_latency_a_a_false_alarms_stay_under_alpha() -> None:
    runs = 100
    paths = latency_paths(
        np.random.default_rng(11), runs, HOUR, tuple(LATENCY_BOUNDS), 0.05, 0.05, 0.5
    )
    strict = summarize(sequential_latency_alarms(paths, ANY_EFFECT))
    default = summarize(sequential_latency_alarms(paths, DEFAULT))
    assert strict.rate <= _ceiling(runs), f"latency false alarms {strict.rate:.3f}"
    assert default.rate <= strict.rate


def test_latency_regression_of_50_percent_is_detected() -> None:
    paths = latency_paths(
        np.random.default_rng(12),
        100,
        Traffic(seconds=300),
        tuple(LATENCY_BOUNDS),
        0.075,
        0.05,
        0.5,
    )
    found = summarize(sequential_latency_alarms(paths, DEFAULT))
    assert found.rate >= 0.99
    assert found.median_s <= 60.0, f"median time to detect {found.median_s} s"


def test_accuracy_a_a_with_delayed_labels_stays_under_alpha() -> None:
    runs = 200
    paths = labelled_paths(np.random.default_rng(13), runs, HOUR, 0.9, 0.9, delay_s=30)
    strict = summarize(sequential_error_alarms(paths, ANY_EFFECT, kind="accuracy"))
    assert strict.rate <= _ceiling(runs), f"accuracy false alarms {strict.rate:.3f}"


def test_accuracy_drop_is_detected_soon_after_labels_arrive() -> None:
    # Labels come 30 s late and 100 per version are needed first (10 s of a 10% canary),
    # so nothing can be seen before 40 s; the median must stay under 60 s.
    paths = labelled_paths(np.random.default_rng(14), 200, Traffic(seconds=600), 0.8, 0.9, 30)
    found = summarize(sequential_error_alarms(paths, DEFAULT, kind="accuracy"))
    assert found.rate >= 0.99
    assert 40.0 <= found.median_s <= 60.0, f"median time to detect {found.median_s} s"


# --- the simulation's rule is the judge's rule -------------------------------------------------


def _judge_first_failure(
    spec: AnalysisSpec, measurements: list[tuple[Measurement, Measurement]]
) -> float:
    state = JudgeState()
    for t, (c, b) in enumerate(measurements, start=1):
        verdict, state = judge(spec, c, b, state, now=float(t))
        if verdict.phase is Phase.FAILED:
            return float(t)
    return math.inf


def _cumulative(paths: CountPaths, run: int) -> list[tuple[int, int, int, int]]:
    sums = [np.cumsum(a[run]) for a in (paths.n_c, paths.x_c, paths.n_b, paths.x_b)]
    return [tuple(int(s[t]) for s in sums) for t in range(paths.n_c.shape[1])]  # type: ignore[misc]


@pytest.mark.parametrize(("rate_c", "seed"), [(0.05, 1), (0.03, 2), (0.01, 3)])
def test_error_simulation_matches_the_judge(rate_c: float, seed: int) -> None:
    paths = error_paths(np.random.default_rng(seed), 4, Traffic(seconds=120), rate_c, 0.01)
    simulated = sequential_error_alarms(paths, DEFAULT)
    spec = AnalysisSpec(metrics=(MetricSpec(name="e", sequential=DEFAULT, interval_s=1.0),))
    for run in range(paths.runs):
        steps = [
            (Measurement(requests=nc, errors=xc), Measurement(requests=nb, errors=xb))
            for nc, xc, nb, xb in _cumulative(paths, run)
        ]
        assert _judge_first_failure(spec, steps) == simulated[run]
    if rate_c == 0.05:
        assert np.isfinite(simulated).all()


def test_accuracy_simulation_matches_the_judge() -> None:
    paths = labelled_paths(np.random.default_rng(4), 3, Traffic(seconds=90), 0.8, 0.9, 30)
    simulated = sequential_error_alarms(paths, DEFAULT, kind="accuracy")
    spec = AnalysisSpec(
        metrics=(MetricSpec(name="a", kind="accuracy", sequential=DEFAULT, interval_s=1.0),)
    )

    def q(n: int, x: int) -> Measurement:
        return Measurement(quality=Quality(labelled=n, accuracy=1.0 - x / n if n else None))

    for run in range(paths.runs):
        steps = [(q(nc, xc), q(nb, xb)) for nc, xc, nb, xb in _cumulative(paths, run)]
        assert _judge_first_failure(spec, steps) == simulated[run]


def test_latency_simulation_matches_the_judge() -> None:
    rng = np.random.default_rng(5)
    bounds = np.asarray(LATENCY_BOUNDS)
    runs, seconds = 3, 40
    hist_c = np.zeros((runs, seconds, len(bounds) + 1), dtype=np.int64)
    hist_b = np.zeros_like(hist_c)
    for r in range(runs):
        for t in range(seconds):
            for hist, n, median in ((hist_c, 10, 0.075), (hist_b, 90, 0.05)):
                values = rng.lognormal(math.log(median), 0.5, n)
                np.add.at(hist[r, t], np.searchsorted(bounds, values, side="left"), 1)
    mids = np.asarray(
        LatencyCounts(tuple(LATENCY_BOUNDS), (0,) * len(hist_c[0, 0])).log_midpoints()
    )

    def sums(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return h.sum(axis=2).astype(float), h @ mids, h @ (mids * mids)

    paths = LatencyPaths(*sums(hist_c), *sums(hist_b))
    simulated = sequential_latency_alarms(paths, DEFAULT)
    spec = AnalysisSpec(
        metrics=(MetricSpec(name="l", kind="latency", sequential=DEFAULT, interval_s=1.0),)
    )

    def m(h: np.ndarray) -> Measurement:
        return Measurement(latency=LatencyCounts(tuple(LATENCY_BOUNDS), tuple(int(v) for v in h)))

    for r in range(runs):
        cum_c, cum_b = np.cumsum(hist_c[r], axis=0), np.cumsum(hist_b[r], axis=0)
        steps = [(m(cum_c[t]), m(cum_b[t])) for t in range(seconds)]
        assert _judge_first_failure(spec, steps) == simulated[r]
        assert math.isfinite(simulated[r])


def test_default_analysis_a_a_through_the_judge() -> None:
    # The whole default analysis (error rate, p99 and typical latency, output shift) on
    # healthy canaries, judged every 3 s for 15 minutes. The p99 threshold waits for
    # 1000 latencies per version; before that its noise would fail healthy canaries.
    rng = np.random.default_rng(15)
    runs, seconds, every = 30, 900, 3
    bounds = np.asarray(LATENCY_BOUNDS)
    spec = default_analysis()
    failed: list[str] = []
    for _ in range(runs):
        state = JudgeState()
        total = {v: np.zeros(len(bounds) + 1, dtype=np.int64) for v in ("c", "b")}
        n = {"c": 0, "b": 0}
        errors = {"c": 0, "b": 0}
        labels = {"c": np.zeros(2, dtype=np.int64), "b": np.zeros(2, dtype=np.int64)}
        for t in range(1, seconds + 1):
            arrivals = rng.poisson(100)
            to_canary = int(rng.binomial(arrivals, 0.1))
            for v, k in (("c", to_canary), ("b", arrivals - to_canary)):
                n[v] += k
                errors[v] += int(rng.binomial(k, 0.01))
                lat = rng.lognormal(math.log(0.05), 0.5, k)
                np.add.at(total[v], np.searchsorted(bounds, lat, side="left"), 1)
                labels[v] += rng.multinomial(k, [0.7, 0.3])
            if t % every:
                continue
            c, b = (
                Measurement(
                    requests=n[v],
                    errors=errors[v],
                    latency=LatencyCounts(tuple(LATENCY_BOUNDS), tuple(int(x) for x in total[v])),
                    output_labels={"0": int(labels[v][0]), "1": int(labels[v][1])},
                )
                for v in ("c", "b")
            )
            verdict, state = judge(spec, c, b, state, now=float(t))
            if verdict.phase is Phase.FAILED:
                failed.extend(m.name for m in verdict.metrics if m.phase is Phase.FAILED)
                break
    # alpha is 0.05 per sequential metric; thresholds add noise of their own.
    assert len(failed) <= 3, failed
    assert "latency" not in failed and "prediction-shift" not in failed, failed
