"""The offline replay: the real judge and state machine on a simulated clock, fed by
synthetic or logged traffic. Statistical claims use fixed seeds and stated tolerances."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.data import read_table
from router.analysis import Phase
from router.controller.replay import (
    ReplayError,
    ReplayResult,
    Routing,
    SyntheticTraffic,
    Tally,
    TrafficLog,
    _latency_buckets,
    replay,
)
from router.rollout import RolloutPhase, RolloutSpec, RolloutStatus
from router.telemetry.histogram import LATENCY_BOUNDS, N_BUCKETS, bucket_index

BAD_ERRORS = "baseline_error=0.01,candidate_error=0.05,rps=100"
SLOW = "baseline_latency_ms=20,candidate_latency_ms=40,rps=100"
# With the default analysis a 60 s step at 10% needs about 1000 req/s: from fewer
# requests a +1 point error regression cannot be ruled out and the step pauses.
HEALTHY = "baseline_error=0.01,rps=1000"

# Absolute thresholds only: no metric needs baseline traffic, so a 100% step can pass.
ABSOLUTE = {
    "metrics": [
        {"name": "error-rate", "kind": "error_rate", "max": 0.05, "minSamples": 200},
        {"name": "latency", "kind": "latency", "quantile": 0.5, "max": 0.05, "minSamples": 200},
    ]
}


def canary(**overrides: Any) -> RolloutSpec:
    doc: dict[str, Any] = {
        "model": "fraud",
        "baseline": "1",
        "candidate": "2",
        "step_weights": [10, 50, 100],
        "step_duration_s": 60,
    }
    return RolloutSpec.from_dict({**doc, **overrides})


def run(spec: RolloutSpec, synthetic: str = "", *, seed: int = 0, **kw: Any) -> ReplayResult:
    return replay(spec, SyntheticTraffic.parse(synthetic), seed=seed, **kw)


def weights(result: ReplayResult) -> list[int]:
    return [e.weight for e in result.timeline if not e.note.startswith("note:")]


# --- decisions -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_bad_canary_is_rolled_back_within_the_first_step(seed: int) -> None:
    result = run(canary(), BAD_ERRORS, seed=seed)
    assert result.final_phase is RolloutPhase.ROLLED_BACK
    assert result.decided_at is not None and result.decided_at <= 60
    assert result.verdict is not None and result.verdict.phase is Phase.FAILED
    assert result.verdict.metric("error-rate").phase is Phase.FAILED
    last = result.timeline[-1]
    assert (last.t, last.phase, last.weight) == (result.decided_at, "RolledBack", 0)
    assert "error-rate failed" in last.note


def test_a_latency_regression_is_rolled_back() -> None:
    result = run(canary(), SLOW, seed=3)
    assert result.final_phase is RolloutPhase.ROLLED_BACK
    assert result.decided_at is not None and result.decided_at <= 60
    assert result.verdict is not None
    assert result.verdict.metric("latency").phase is Phase.FAILED


def test_a_good_canary_succeeds_after_the_sum_of_its_step_durations() -> None:
    result = run(canary(step_weights=[10, 50]), HEALTHY, seed=5)
    assert result.final_phase is RolloutPhase.SUCCEEDED
    assert result.decided_at is not None and 120 <= result.decided_at <= 123
    assert weights(result) == [10, 50, 100]
    assert result.verdict is not None and result.verdict.phase is Phase.SUCCESSFUL


def test_a_good_canary_reaches_100_percent_with_absolute_thresholds() -> None:
    result = run(canary(analysis=ABSOLUTE), HEALTHY, seed=6)
    assert result.final_phase is RolloutPhase.SUCCEEDED
    # 10 and 50% are judged for 60 s each; reaching 100% is the promotion.
    assert result.decided_at is not None and 120 <= result.decided_at <= 123
    assert weights(result) == [10, 50, 100]


def test_a_good_canary_with_a_100_percent_step_succeeds_under_the_default_analysis() -> None:
    result = run(canary(), HEALTHY, seed=5)
    assert result.final_phase is RolloutPhase.SUCCEEDED


def test_the_same_seed_gives_the_same_replay() -> None:
    first = run(canary(), BAD_ERRORS, seed=7)
    again = run(canary(), BAD_ERRORS, seed=7)
    assert first.to_dict() == again.to_dict()


def test_different_seeds_draw_different_traffic() -> None:
    times = {run(canary(), BAD_ERRORS, seed=s).decided_at for s in range(5)}
    assert len(times) > 1


def test_without_analysis_a_canary_is_a_timer() -> None:
    result = run(canary(analysis=None), "rps=10")
    assert result.final_phase is RolloutPhase.SUCCEEDED
    assert result.decided_at == 180
    assert result.verdict is None


def test_a_pause_for_approval_stops_the_replay() -> None:
    spec = canary(step_weights=None, steps=[{"setWeight": 20}, {"pause": {}}], analysis=None)
    result = run(spec, "rps=10")
    assert result.final_phase is RolloutPhase.PAUSED
    assert result.decided_at == 0
    assert "waiting for approval" in result.timeline[-2].note
    assert "the replay stops here" in result.timeline[-1].note


def test_time_runs_out_without_a_decision() -> None:
    result = run(canary(step_duration_s=600, analysis=None), "rps=10", max_seconds=30)
    assert result.final_phase is RolloutPhase.PROGRESSING
    assert result.decided_at is None
    assert result.ended_at == 30
    assert result.timeline[-1].note == "note: no decision: time is up after 30 s"


def test_gates_are_taken_as_passed() -> None:
    hooks = [{"type": "confirm-traffic-increase", "url": "http://gate.example"}]
    result = run(canary(analysis=None, webhooks=hooks), "rps=10")
    assert result.final_phase is RolloutPhase.SUCCEEDED
    asked = [e for e in result.timeline if "gate asked" in e.note]
    assert len(asked) == 3  # once before each weight increase
    assert result.decided_at == 183  # each gate is answered one tick after it is asked


def test_an_unresolved_baseline_is_named_after_the_traffic() -> None:
    result = run(canary(baseline=None, analysis=None), "rps=10")
    assert "canary baseline -> 2" in result.timeline[0].note


def test_the_result_is_json_ready() -> None:
    doc = run(canary(), BAD_ERRORS, seed=1).to_dict()
    assert set(doc) == {"final_phase", "decided_at", "ended_at", "verdict", "timeline"}
    assert doc["final_phase"] == "RolledBack"
    assert doc["verdict"]["phase"] == "Failed"
    assert set(doc["timeline"][0]) == {"t", "phase", "weight", "note"}


# --- the traffic ---------------------------------------------------------------------


def test_routing_follows_the_rollout() -> None:
    status = RolloutStatus(phase=RolloutPhase.PROGRESSING, weight=25)
    assert Routing.of(status, canary()) == Routing(share=0.25)
    assert Routing.of(RolloutStatus(), canary()) == Routing()  # Pending: all to baseline
    shadow = RolloutSpec.from_dict(
        {
            "model": "m",
            "baseline": "1",
            "candidate": "2",
            "strategy": "shadow",
            "shadow_percent": 50,
        }
    )
    assert Routing.of(RolloutStatus(phase=RolloutPhase.PROGRESSING), shadow) == Routing(
        share=0.0, mirror=0.5
    )


def test_a_shadow_candidate_sees_mirrored_copies() -> None:
    traffic = SyntheticTraffic(rps=1000)
    candidate, baseline = Tally(), Tally()
    rng = np.random.default_rng(0)
    for second in range(10):
        traffic.serve(second, Routing(mirror=0.5), rng, candidate, baseline)
    assert 9_000 < baseline.requests < 11_000  # the baseline still answers everyone
    assert abs(candidate.requests / baseline.requests - 0.5) < 0.03


def test_synthetic_counts_errors_latencies_and_outputs() -> None:
    traffic = SyntheticTraffic.parse("rps=2000,candidate_error=0.1,candidate_latency_ms=40")
    candidate, baseline = Tally(), Tally()
    rng = np.random.default_rng(1)
    for second in range(5):
        traffic.serve(second, Routing(share=0.5), rng, candidate, baseline)
    c, b = candidate.measurement(), baseline.measurement()
    assert c is not None and b is not None
    assert abs(c.errors / c.requests - 0.1) < 0.02
    assert abs(b.errors / b.requests - 0.01) < 0.01
    assert c.latency is not None and b.latency is not None
    median_c, median_b = c.latency.quantile(0.5), b.latency.quantile(0.5)
    assert median_c is not None and median_b is not None
    assert 0.035 < median_c < 0.046 and 0.017 < median_b < 0.023
    assert sum(c.output_labels.values()) == c.requests - c.errors


def test_an_empty_tally_is_no_data() -> None:
    assert Tally().measurement() is None


def test_latencies_land_in_the_telemetry_buckets() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate(
        [[0.0], LATENCY_BOUNDS, np.nextafter(LATENCY_BOUNDS, np.inf), rng.lognormal(-4, 2, 500)]
    )
    expected = np.bincount([bucket_index(float(v)) for v in values], minlength=N_BUCKETS)
    assert _latency_buckets(values).tolist() == expected.tolist()


def test_candidate_numbers_default_to_the_baseline() -> None:
    traffic = SyntheticTraffic.parse("baseline_error=0.02, baseline_latency_ms=30")
    assert traffic.candidate_error == 0.02
    assert traffic.candidate_latency_ms == 30
    assert SyntheticTraffic.parse("") == SyntheticTraffic()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo=1", "--synthetic: unknown key 'foo' (known: rps, "),
        ("rps", "--synthetic: expected key=value pairs separated by commas, got 'rps'"),
        ("rps=fast", "--synthetic: 'rps' must be a number, got 'fast'"),
        ("rps=0", "--synthetic: 'rps' must be in (0, 100000], got 0"),
        ("candidate_error=1.5", "--synthetic: 'candidate_error' must be in [0, 1], got 1.5"),
        ("baseline_latency_ms=-3", "--synthetic: 'baseline_latency_ms' must be > 0, got -3"),
        ("rps=nan", "--synthetic: 'rps' must be in (0, 100000], got nan"),
        ("rps=1,rps=2", "--synthetic: 'rps' is given twice"),
    ],
)
def test_a_bad_synthetic_description_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ReplayError) as info:
        SyntheticTraffic.parse(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


# --- traffic logs --------------------------------------------------------------------


def traffic_log(
    seconds: int, rps: int, share: float, errors: tuple[float, float], *, seed: int = 0
) -> pd.DataFrame:
    """Requests over ``seconds``; ``share`` of them served by version 2 (the candidate)."""
    rng = np.random.default_rng(seed)
    n = seconds * rps
    version = np.where(rng.random(n) < share, "2", "1")
    rate = np.where(version == "2", errors[1], errors[0])
    prediction = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "t": rng.uniform(0, seconds, n),  # unsorted: the replay orders rows by time
            "version": version,
            "error": (rng.random(n) < rate).astype(int),
            "latency_ms": rng.lognormal(np.log(20.0), 0.4, n),
            "prediction": prediction,
            "label": np.where(rng.random(n) < 0.9, prediction, 1 - prediction),
        }
    )


def test_a_logged_bad_canary_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    traffic_log(120, 200, 0.2, (0.01, 0.06)).to_parquet(path)
    spec = canary(baseline=None)  # resolved from the log: version 1
    log = TrafficLog.from_frame(read_table(path, what="traffic"), spec, source=str(path))
    result = replay(spec, log, seed=0)
    assert result.final_phase is RolloutPhase.ROLLED_BACK
    assert result.decided_at is not None and result.decided_at <= 60
    assert "canary 1 -> 2" in result.timeline[1].note
    assert "24000 requests over 120 s" in result.timeline[0].note
    assert replay(spec, log, seed=99).to_dict() == result.to_dict()  # no randomness in a log


def test_a_log_that_ends_ends_the_replay() -> None:
    frame = traffic_log(30, 50, 0.5, (0.01, 0.01))
    frame["version"] = frame["version"].map({"1": "baseline", "2": "candidate"})
    result = replay(canary(), TrafficLog.from_frame(frame, canary()), seed=0)
    assert result.decided_at is None
    assert result.ended_at == 30
    assert result.timeline[-1].note == "note: no decision: the traffic log ends after 30 s"


def test_a_log_gives_quality_and_outputs() -> None:
    frame = traffic_log(10, 100, 0.5, (0.0, 0.0))
    log = TrafficLog.from_frame(frame, canary())
    candidate, baseline = Tally(), Tally()
    for second in range(10):
        log.serve(second, Routing(), np.random.default_rng(0), candidate, baseline)
    c = candidate.measurement()
    assert c is not None and c.quality is not None
    assert candidate.requests + baseline.requests == 1000
    assert c.quality.labelled == c.requests
    assert c.quality.accuracy is not None and 0.85 < c.quality.accuracy < 0.95
    assert set(c.output_labels) == {"0", "1"}


def test_numeric_predictions_are_scored_as_regression() -> None:
    frame = pd.DataFrame(
        {
            "t": [0.1, 0.2, 0.3],
            "version": ["2", "2", "1"],
            "error": [0, 0, 0],
            "latency_ms": [10.0, 12.0, 11.0],
            "prediction": [1.5, 2.5, 0.25],
            "label": [1, 3, 0],
        }
    )
    log = TrafficLog.from_frame(frame, canary())
    candidate, baseline = Tally(), Tally()
    log.serve(0, Routing(), np.random.default_rng(0), candidate, baseline)
    c = candidate.measurement()
    assert c is not None and c.quality is not None
    assert c.quality.mae == pytest.approx(0.5)
    assert c.quality.rmse == pytest.approx(0.5)
    assert sum(c.output_values.values()) == 2 and not c.output_labels


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["latency_ms"]), "log: missing column(s) latency_ms"),
        (lambda f: f.assign(t=["x", 1.0, 2.0]), "log: column 't' must be a number of seconds"),
        (lambda f: f.assign(error=[0, 2, 0]), "log: column 'error' must be 0 or 1; row 2 has 2"),
        (
            lambda f: f.assign(version=["1", "2", "9"]),
            "log: row 3: version '9' is neither the baseline nor the candidate",
        ),
        (lambda f: f.iloc[0:0], "log: missing column(s)"),
    ],
)
def test_a_bad_log_is_one_line(change: Any, message: str) -> None:
    frame = pd.DataFrame(
        {"t": [0.0, 1.0, 2.0], "version": ["1", "2", "1"], "error": [0, 0, 1]}
    ).assign(latency_ms=[10.0, 11.0, 12.0])
    changed = change(frame)
    if len(changed) == 0:
        changed = pd.DataFrame({"t": []})
    with pytest.raises(ReplayError) as info:
        TrafficLog.from_frame(changed, canary(), source="log")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_importing_the_replay_loads_no_io_library() -> None:
    code = (
        "import sys, router.controller.replay\n"
        "bad = [m for m in ('sqlalchemy', 'httpx', 'router.telemetry', 'pandas') "
        "if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
