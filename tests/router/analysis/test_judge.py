"""The judge, one test per rule: data, thresholds, limits, pacing, deadline, aggregation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from router.analysis import (
    AnalysisSpec,
    JudgeState,
    Measurement,
    MetricSpec,
    Phase,
    StateError,
    default_analysis,
    judge,
)
from tests.router.analysis.helpers import counts, latency, lognormal_latency, metric, quality


def _spec(*metrics: MetricSpec) -> AnalysisSpec:
    return AnalysisSpec(metrics=metrics)


def _one(
    m: MetricSpec,
    c: Measurement | None,
    b: Measurement | None,
    state: JudgeState | None = None,
    **kw: object,
) -> tuple[Phase, str, JudgeState]:
    verdict, new = judge(_spec(m), c, b, state or JudgeState(), **kw)  # type: ignore[arg-type]
    result = verdict.metrics[0]
    assert verdict.phase is result.phase
    return result.phase, result.message, new


MAX = metric(name="err", max=0.05)


# --- no data is neither pass nor fail ------------------------------------------------------


def test_no_candidate_measurement_is_pending() -> None:
    phase, message, _ = _one(MAX, None, counts(1000), deadline_passed=True)
    assert phase is Phase.PENDING and "no candidate measurement" in message


def test_too_few_samples_is_pending_with_progress() -> None:
    phase, message, _ = _one(MAX, counts(37, 30), counts(500))
    assert phase is Phase.PENDING
    assert message.startswith("waiting for data: candidate 37/100 requests")


def test_no_data_stays_pending_after_the_deadline() -> None:
    phase, message, _ = _one(MAX, counts(10), counts(10), deadline_passed=True)
    assert phase is Phase.PENDING and "no data is neither pass nor fail" in message


def test_zero_min_samples_still_needs_one_request() -> None:
    phase, _, _ = _one(metric(name="e", max=0.05, min_samples=0), counts(0), counts(0))
    assert phase is Phase.PENDING


def test_baseline_is_only_needed_for_comparisons() -> None:
    assert _one(MAX, counts(1000, 10), None, deadline_passed=True)[0] is Phase.SUCCESSFUL
    # A baseline with little traffic does not hold up an absolute threshold either.
    assert _one(MAX, counts(1000, 10), counts(3), deadline_passed=True)[0] is Phase.SUCCESSFUL
    lat = metric(name="lat", kind="latency", max=1.0)
    with_hist = Measurement(latency=latency(n=200, at=0.05))
    assert _one(lat, with_hist, counts(3), deadline_passed=True)[0] is Phase.SUCCESSFUL
    relative = metric(name="e", relative_max=2.0)
    phase, message, _ = _one(relative, counts(1000, 10), None, deadline_passed=True)
    assert phase is Phase.PENDING and "no baseline measurement" in message


# --- passing is decided by the deadline ----------------------------------------------------


def test_passing_is_pending_before_the_deadline_and_successful_after() -> None:
    phase, message, _ = _one(MAX, counts(1000, 10), counts(1000, 10))
    assert phase is Phase.PENDING and message.startswith("fine so far")
    assert (
        _one(MAX, counts(1000, 10), counts(1000, 10), deadline_passed=True)[0] is Phase.SUCCESSFUL
    )


# --- thresholds ----------------------------------------------------------------------------


def test_absolute_max() -> None:
    assert _one(MAX, counts(1000, 60), counts(1000))[0] is Phase.FAILED
    assert _one(MAX, counts(1000, 50), counts(1000), deadline_passed=True)[0] is Phase.SUCCESSFUL


def test_absolute_min() -> None:
    m = metric(name="acc", kind="accuracy", min=0.9)
    assert _one(m, quality(200, accuracy=0.85), None)[0] is Phase.FAILED
    assert _one(m, quality(200, accuracy=0.9), None, deadline_passed=True)[0] is Phase.SUCCESSFUL


def test_relative_max() -> None:
    m = metric(name="e", relative_max=1.5)
    phase, message, _ = _one(m, counts(1000, 31), counts(1000, 20))
    assert phase is Phase.FAILED and "above 1.5 x baseline 2.00% = 3.00%" in message
    assert _one(m, counts(1000, 30), counts(1000, 20), deadline_passed=True)[0] is Phase.SUCCESSFUL


def test_relative_max_against_a_zero_baseline() -> None:
    # Any candidate error is above 1.5 x 0: the rule means what it says.
    m = metric(name="e", relative_max=1.5)
    assert _one(m, counts(1000, 1), counts(1000, 0))[0] is Phase.FAILED


# --- limits --------------------------------------------------------------------------------


def test_failure_limit_counts_breaches_before_failing() -> None:
    m = metric(name="e", max=0.05, failure_limit=2)
    bad = counts(1000, 100)
    state = JudgeState()
    phases = []
    for _ in range(3):
        phase, message, state = _one(m, bad, counts(1000), state)
        phases.append(phase)
    assert phases == [Phase.PENDING, Phase.PENDING, Phase.FAILED]
    assert state.metric("e").failures == 3
    assert "failureLimit 2" in message


def test_failed_stays_failed() -> None:
    _, _, state = _one(MAX, counts(1000, 100), counts(1000))
    phase, _, _ = _one(MAX, counts(2000, 100), counts(2000), state, deadline_passed=True)
    assert phase is Phase.FAILED
    assert _one(MAX, None, None, state)[0] is Phase.FAILED


def test_breaches_are_counted_once_per_interval() -> None:
    m = metric(name="e", max=0.05, failure_limit=1, interval="10s")
    bad = counts(1000, 100)
    state = JudgeState()
    seen = []
    for t in (0.0, 1.0, 5.0, 9.9, 10.0):
        phase, _, state = _one(m, bad, counts(1000), state, now=t)
        seen.append((phase, state.metric("e").failures))
    assert seen == [
        (Phase.PENDING, 1),
        (Phase.PENDING, 1),
        (Phase.PENDING, 1),
        (Phase.PENDING, 1),
        (Phase.FAILED, 2),
    ]


def test_now_may_be_a_datetime() -> None:
    m = metric(name="e", max=0.05, failure_limit=1, interval="1m")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    _, _, state = _one(m, counts(1000, 100), counts(1000), now=t0)
    _, _, state = _one(m, counts(1000, 100), counts(1000), state, now=t0 + timedelta(seconds=30))
    assert state.metric("e").failures == 1
    phase, _, _ = _one(m, counts(1000, 100), counts(1000), state, now=t0 + timedelta(minutes=1))
    assert phase is Phase.FAILED


def test_flagger_interval_times_threshold() -> None:
    # failureLimit 4 at interval 1m: the fifth bad minute fails, as Flagger's threshold 5.
    m = metric(name="e", max=0.02, failure_limit=4, interval="1m")
    state = JudgeState()
    failed_at = None
    for t in range(0, 600):
        phase, _, state = _one(m, counts(600, 30), counts(5400, 54), state, now=float(t))
        if phase is Phase.FAILED:
            failed_at = t
            break
    assert failed_at == 240


# --- provider errors -----------------------------------------------------------------------


def test_provider_errors_are_pending_until_the_limit_then_error() -> None:
    m = metric(name="e", max=0.05, consecutive_error_limit=2)
    state = JudgeState()
    phases = []
    for _ in range(3):
        verdict, state = judge(_spec(m), None, None, state, provider_errors={"e": "HTTP 503"})
        phases.append(verdict.phase)
    assert phases == [Phase.PENDING, Phase.PENDING, Phase.ERROR]
    assert "HTTP 503" in verdict.metrics[0].message


def test_a_measurement_resets_the_error_run() -> None:
    m = metric(name="e", max=0.05, consecutive_error_limit=1)
    _, state = judge(_spec(m), None, None, JudgeState(), provider_errors={"e": "down"})
    _, state = judge(_spec(m), counts(10), counts(10), state)
    assert state.metric("e").consecutive_errors == 0
    verdict, state = judge(_spec(m), None, None, state, provider_errors={"e": "down"})
    assert verdict.phase is Phase.PENDING


def test_errors_are_paced_by_the_interval() -> None:
    m = metric(name="e", max=0.05, consecutive_error_limit=0, interval="10s")
    v, state = judge(_spec(m), None, None, JudgeState(), provider_errors={"e": "x"}, now=0.0)
    assert v.phase is Phase.ERROR and state.metric("e").consecutive_errors == 1
    v, state = judge(_spec(m), None, None, state, provider_errors={"e": "x"}, now=3.0)
    assert state.metric("e").consecutive_errors == 1


# --- sequential tests, ambiguity and the deadline ------------------------------------------

ERR_SEQ = metric(name="err", sequential={"alpha": 0.05, "minEffect": 0.01})


def test_sequential_rejection_fails() -> None:
    phase, message, _ = _one(ERR_SEQ, counts(1000, 50), counts(9000, 90))
    assert phase is Phase.FAILED and "sequential test: log LR" in message


def test_undecided_is_pending_before_the_deadline() -> None:
    phase, message, _ = _one(ERR_SEQ, counts(200, 2), counts(1800, 18))
    assert phase is Phase.PENDING and message.startswith("watching:")


def test_undecided_at_the_deadline_is_inconclusive() -> None:
    phase, message, _ = _one(ERR_SEQ, counts(200, 2), counts(1800, 18), deadline_passed=True)
    assert phase is Phase.INCONCLUSIVE and "not ruled out" in message


def test_inconclusive_limit_waits_for_more_data() -> None:
    m = metric(name="err", sequential={"minEffect": 0.01}, inconclusive_limit=1)
    phase, message, state = _one(m, counts(200, 2), counts(1800, 18), deadline_passed=True)
    assert phase is Phase.PENDING and "waiting for more data" in message
    # More data arrives and rules the regression out: Successful.
    phase, _, state = _one(
        m, counts(20_000, 200), counts(180_000, 1800), state, deadline_passed=True
    )
    assert phase is Phase.SUCCESSFUL
    phase, _, _ = _one(m, counts(300, 3), counts(2700, 27), state, deadline_passed=True)
    assert phase is Phase.INCONCLUSIVE


def test_ruled_out_regression_passes_at_the_deadline() -> None:
    phase, message, _ = _one(
        ERR_SEQ, counts(20_000, 200), counts(180_000, 1800), deadline_passed=True
    )
    assert phase is Phase.SUCCESSFUL and "ruled out" in message


def test_sequential_needs_a_baseline() -> None:
    phase, message, _ = _one(ERR_SEQ, counts(1000, 50), None)
    assert phase is Phase.PENDING and "no baseline" in message


# --- latency -------------------------------------------------------------------------------


def test_latency_tail_quantile_waits_for_its_tail() -> None:
    m = metric(name="lat", kind="latency", quantile=0.99, relative_max=1.5)
    slow = Measurement(latency=lognormal_latency(500, 0.2))
    base = Measurement(latency=lognormal_latency(5000, 0.05))
    phase, message, _ = _one(m, slow, base)
    assert phase is Phase.PENDING
    assert "p99 is judged from 1000 latencies per version (10 beyond it); 500 so far" in message
    slow = Measurement(latency=lognormal_latency(1000, 0.2))
    assert _one(m, slow, base)[0] is Phase.FAILED


def test_latency_absolute_max_on_the_quantile() -> None:
    m = metric(name="lat", kind="latency", quantile=0.5, max=0.1)
    phase, message, _ = _one(m, Measurement(latency=latency(n=200, at=0.3)), None)
    assert phase is Phase.FAILED and "p50" in message
    ok = Measurement(latency=latency(n=200, at=0.05))
    assert _one(m, ok, None, deadline_passed=True)[0] is Phase.SUCCESSFUL


def test_latency_sequential_regression_fails() -> None:
    m = metric(name="lat", kind="latency", sequential={"minEffect": 0.2})
    slow = Measurement(latency=lognormal_latency(300, 0.075))
    base = Measurement(latency=lognormal_latency(2700, 0.05))
    phase, message, _ = _one(m, slow, base)
    assert phase is Phase.FAILED and "typical latency x1.5" in message
    same = Measurement(latency=lognormal_latency(3000, 0.05))
    assert _one(m, same, base, deadline_passed=True)[0] is Phase.SUCCESSFUL


def test_latency_without_histogram_waits() -> None:
    m = metric(name="lat", kind="latency", max=1.0)
    phase, message, _ = _one(m, counts(500), None)
    assert phase is Phase.PENDING and "candidate 0/100 latencies" in message


# --- quality -------------------------------------------------------------------------------


def test_accuracy_min_samples_count_labelled_predictions() -> None:
    m = metric(name="acc", kind="accuracy", min=0.8)
    phase, message, _ = _one(m, quality(40, accuracy=0.5), None)
    assert phase is Phase.PENDING and "candidate 40/100 labelled predictions" in message


def test_accuracy_sequential_on_misclassifications() -> None:
    m = metric(name="acc", kind="accuracy", sequential={"minEffect": 0.02})
    phase, message, _ = _one(m, quality(1000, accuracy=0.8), quality(9000, accuracy=0.9))
    assert phase is Phase.FAILED and "-10.00 pts" in message
    ok = _one(
        m, quality(20_000, accuracy=0.9), quality(180_000, accuracy=0.9), deadline_passed=True
    )
    assert ok[0] is Phase.SUCCESSFUL


@pytest.mark.parametrize("kind", ["log_loss", "mae", "rmse"])
def test_quality_means_by_threshold(kind: str) -> None:
    m = metric(name="q", kind=kind, max=0.5, relative_max=1.2)
    assert _one(m, quality(200, **{kind: 0.6}), quality(200, **{kind: 0.6}))[0] is Phase.FAILED
    assert _one(m, quality(200, **{kind: 0.45}), quality(200, **{kind: 0.3}))[0] is Phase.FAILED
    ok = _one(m, quality(200, **{kind: 0.3}), quality(200, **{kind: 0.3}), deadline_passed=True)
    assert ok[0] is Phase.SUCCESSFUL


def test_unavailable_quality_metric_waits() -> None:
    m = metric(name="q", kind="log_loss", max=0.5)
    phase, message, _ = _one(m, quality(200, accuracy=0.9), None, deadline_passed=True)
    assert phase is Phase.PENDING and "log_loss is not available" in message


# --- prediction shift and custom -----------------------------------------------------------


def test_prediction_shift() -> None:
    m = metric(name="shift", kind="prediction_shift", max=0.1)
    base = Measurement(output_labels={"0": 900, "1": 100})
    moved = Measurement(output_labels={"0": 500, "1": 500})
    phase, message, _ = _one(m, moved, base)
    assert phase is Phase.FAILED and "Jensen-Shannon distance" in message
    same = Measurement(output_labels={"0": 450, "1": 50})
    assert _one(m, same, base, deadline_passed=True)[0] is Phase.SUCCESSFUL
    few = Measurement(output_labels={"0": 50})
    assert _one(m, few, base)[0] is Phase.PENDING


def test_custom_metrics() -> None:
    m = metric(name="c", provider="web", kind="custom", query="http://x/$version", max=10.0)
    assert _one(m, Measurement(value=11.0), None)[0] is Phase.FAILED
    assert _one(m, Measurement(value=9.0), None, deadline_passed=True)[0] is Phase.SUCCESSFUL
    assert _one(m, Measurement(value=None), None)[0] is Phase.PENDING
    rel = metric(
        name="c", provider="web", kind="custom", query="http://x/$version", relative_max=2.0
    )
    assert _one(rel, Measurement(value=3.0), None)[0] is Phase.PENDING
    assert _one(rel, Measurement(value=3.0), Measurement(value=1.0))[0] is Phase.FAILED


# --- aggregation ---------------------------------------------------------------------------

FAIL = metric(name="f", max=0.05)
ERROR = metric(name="x", max=0.05, consecutive_error_limit=0)
INCONCLUSIVE = metric(name="i", sequential={"minEffect": 0.01})
WAIT = metric(name="w", max=0.05, min_samples=10**9)
PASS = metric(name="p", max=0.5)


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ((PASS, WAIT, INCONCLUSIVE, ERROR, FAIL), Phase.FAILED),
        ((PASS, WAIT, INCONCLUSIVE, ERROR), Phase.ERROR),
        ((PASS, WAIT, INCONCLUSIVE), Phase.INCONCLUSIVE),
        ((PASS, WAIT), Phase.PENDING),
        ((PASS,), Phase.SUCCESSFUL),
    ],
)
def test_aggregation_order(metrics: tuple[MetricSpec, ...], expected: Phase) -> None:
    # Candidate: 200 requests, 20 errors (10%); baseline at the same rate.
    verdict, _ = judge(
        _spec(*metrics),
        counts(200, 20),
        counts(1800, 180),
        JudgeState(),
        deadline_passed=True,
        provider_errors={"x": "timeout"},
    )
    assert verdict.phase is expected
    deciding = [m.name for m in verdict.metrics if m.phase is expected]
    assert all(name in verdict.reason for name in deciding)


def test_per_metric_measurements_override_the_shared_pair() -> None:
    spec = _spec(metric(name="a", max=0.05), metric(name="b", max=0.05))
    verdict, _ = judge(
        spec,
        counts(1000, 0),
        counts(1000, 0),
        JudgeState(),
        deadline_passed=True,
        measurements={"b": (counts(1000, 100), counts(1000, 0))},
    )
    assert verdict.metric("a").phase is Phase.SUCCESSFUL
    assert verdict.metric("b").phase is Phase.FAILED


def test_default_analysis_end_to_end() -> None:
    base = Measurement(
        requests=9000,
        errors=90,
        latency=lognormal_latency(9000, 0.05),
        output_labels={"0": 8100, "1": 900},
    )
    good = Measurement(
        requests=1000,
        errors=10,
        latency=lognormal_latency(1000, 0.05),
        output_labels={"0": 900, "1": 100},
    )
    verdict, _ = judge(default_analysis(), good, base, JudgeState(), deadline_passed=True)
    assert verdict.metric("latency").phase is Phase.SUCCESSFUL
    assert verdict.metric("prediction-shift").phase is Phase.SUCCESSFUL
    # 1000 requests cannot rule out +1 point of errors at alpha 0.05: not yet a pass.
    assert verdict.metric("error-rate").phase is Phase.INCONCLUSIVE
    bad = Measurement(
        requests=1000,
        errors=50,
        latency=lognormal_latency(1000, 0.05),
        output_labels={"0": 900, "1": 100},
    )
    verdict, _ = judge(default_analysis(), bad, base, JudgeState())
    assert verdict.phase is Phase.FAILED and verdict.reason.startswith("error-rate failed")


# --- state ---------------------------------------------------------------------------------


def test_state_round_trips_through_json_and_resumes() -> None:
    m = metric(name="e", max=0.05, failure_limit=1)
    _, state = judge(_spec(m), counts(1000, 100), counts(1000), JudgeState(), now=5.0)
    doc = json.loads(json.dumps(state.to_dict()))
    restored = JudgeState.from_dict(doc)
    assert restored == state
    verdict, _ = judge(_spec(m), counts(1000, 100), counts(1000), restored, now=20.0)
    assert verdict.phase is Phase.FAILED


def test_state_keeps_only_the_specs_metrics() -> None:
    old = JudgeState.from_dict({"v": 1, "metrics": {"gone": {"failures": 3}}})
    _, new = judge(_spec(MAX), counts(1000), counts(1000), old)
    assert [s.name for s in new.metrics] == ["err"]


def test_empty_state_document_is_fresh() -> None:
    assert JudgeState.from_dict({}) == JudgeState()


@pytest.mark.parametrize(
    "doc",
    [
        {"v": 2, "metrics": {}},
        {"v": 1},
        {"v": 1, "metrics": {"e": {"failures": -1}}},
        {"v": 1, "metrics": {"e": {"failures": 1.5}}},
        {"v": 1, "metrics": {"e": {"last_error_at": "soon"}}},
        {"v": 1, "metrics": {"e": 3}},
    ],
)
def test_bad_state_documents_are_rejected(doc: dict[str, object]) -> None:
    with pytest.raises(StateError):
        JudgeState.from_dict(doc)
