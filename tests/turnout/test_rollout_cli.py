"""`turnout rollout simulate` and `turnout rollout watch`, in process.

simulate needs no MLflow and no control DB; watch reads a rollout row written straight
into the CLI's control DB. Every user error exits 1 with one line on stderr.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from router.analysis import MetricResult, Phase, Verdict
from router.controller.store import (
    create_rollout,
    get_rollout,
    record_decision,
    record_event,
    save_status,
)
from router.rollout import RolloutPhase, RolloutSpec, RolloutStatus
from tests.turnout.cli_support import Cli, assert_user_error, make_cli
from turnout.cli import _common
from turnout.services import Services
from turnout.settings import Settings

BAD_CANARY = """\
model: fraud
baseline: "1"
candidate: "2"
step_weights: [10, 50, 100]
step_duration_s: 60
"""
BAD_ERRORS = "baseline_error=0.01,candidate_error=0.05,rps=100"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], cli_env: Settings) -> Cli:
    return make_cli(capsys)


@pytest.fixture
def no_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """simulate must not open the registry or the control DB."""

    def refuse(self: object) -> Services:
        raise AssertionError("simulate touched services()")

    monkeypatch.setattr(_common.CliState, "services", refuse)


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(BAD_CANARY, encoding="utf-8")
    return path


# --- simulate --------------------------------------------------------------------------


@pytest.mark.usefixtures("no_services")
def test_simulate_prints_the_timeline_and_the_decisive_verdict(cli: Cli, spec_file: Path) -> None:
    r = cli("rollout", "simulate", "-f", spec_file, "--synthetic", BAD_ERRORS, "--seed", "1")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == (
        "replay of canary fraud v1 -> v2 on synthetic traffic (rps=100, baseline_error=0.01, "
        "candidate_error=0.05, baseline_latency_ms=20, candidate_latency_ms=20, "
        "latency_sigma=0.4, baseline_positive=0.3, candidate_positive=0.3), seed 1"
    )
    assert lines[1].split() == [
        "0", "s", "Progressing", "10%", "started:", "canary", "1", "->", "2;", "step", "1/6:",
        "weight", "10%",
    ]  # fmt: skip
    assert "RolledBack" in lines[2] and "analysis Failed: error-rate failed" in lines[2]
    decided = int(lines[2].split()[0])
    assert decided <= 60
    assert lines[3] == f"final: RolledBack, decided after {decided} s"
    assert lines[4] == "decisive verdict:"
    assert lines[5].startswith("  Failed: error-rate failed: ")
    assert "  error-rate: Failed." in r.out
    assert "statistics: n_candidate=" in r.out


@pytest.mark.usefixtures("no_services")
def test_simulate_is_deterministic_with_the_seed(cli: Cli, spec_file: Path) -> None:
    args = ("rollout", "simulate", "-f", spec_file, "--synthetic", BAD_ERRORS, "--seed", "7")
    first, again = cli(*args), cli(*args)
    assert first.code == again.code == 0
    assert first.out == again.out


@pytest.mark.usefixtures("no_services")
def test_simulate_json(cli: Cli, spec_file: Path) -> None:
    r = cli("rollout", "simulate", "-f", spec_file, "--synthetic", BAD_ERRORS, "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert set(doc) == {
        "model",
        "strategy",
        "baseline",
        "candidate",
        "traffic",
        "seed",
        "final_phase",
        "decided_at",
        "ended_at",
        "verdict",
        "timeline",
    }
    assert (doc["model"], doc["baseline"], doc["candidate"], doc["seed"]) == ("fraud", "1", "2", 0)
    assert doc["final_phase"] == "RolledBack"
    assert doc["decided_at"] <= 60
    assert doc["verdict"]["phase"] == "Failed"
    assert [e["phase"] for e in doc["timeline"]] == ["Progressing", "RolledBack"]
    assert set(doc["timeline"][0]) == {"t", "phase", "weight", "note"}


@pytest.mark.usefixtures("no_services")
def test_simulate_defaults_to_a_healthy_candidate(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "timer.yaml"
    spec.write_text("model: fraud\ncandidate: 2\nstep_weights: [50]\nanalysis: null\n")
    r = cli("rollout", "simulate", "-f", spec, "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert (doc["final_phase"], doc["decided_at"], doc["baseline"]) == ("Succeeded", 60, "baseline")
    assert doc["verdict"] is None


@pytest.mark.usefixtures("no_services")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_simulate_replays_a_traffic_file(cli: Cli, spec_file: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    n = 12_000
    version = np.where(rng.random(n) < 0.2, "2", "1")
    frame = pd.DataFrame(
        {
            "t": np.sort(rng.uniform(0, 60, n)),
            "version": version,
            "error": (rng.random(n) < np.where(version == "2", 0.06, 0.01)).astype(int),
            "latency_ms": rng.lognormal(np.log(20.0), 0.4, n),
        }
    )
    path = spec_file.with_name(f"log{suffix}")
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    r = cli("rollout", "simulate", "-f", spec_file, "--traffic", path)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].startswith(
        f"replay of canary fraud v1 -> v2 on traffic log {path}"
    )
    assert "final: RolledBack, decided after" in r.out


@pytest.mark.usefixtures("no_services")
def test_simulate_user_errors_are_one_line(cli: Cli, spec_file: Path, tmp_path: Path) -> None:
    simulate = ("rollout", "simulate", "-f")
    assert_user_error(cli(*simulate, tmp_path / "nope.yaml"), "spec file not found")
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("model: fraud\ncandidate: 2\nstep_weights: [50, 10]\n")
    assert_user_error(cli(*simulate, bad_spec), "bad.yaml: step_weights[1]: 10 must be above 50")
    assert_user_error(
        cli(*simulate, spec_file, "--synthetic", "foo=1"), "--synthetic: unknown key 'foo'"
    )
    assert_user_error(
        cli(*simulate, spec_file, "--synthetic", "rps=-1"), "--synthetic: 'rps' must be in"
    )
    assert_user_error(
        cli(*simulate, spec_file, "--traffic", tmp_path / "none.parquet"),
        "traffic file not found",
    )
    broken = tmp_path / "broken.csv"
    broken.write_text("t,version,error\n0.5,1,0\n")
    assert_user_error(
        cli(*simulate, spec_file, "--traffic", broken), "missing column(s) latency_ms"
    )
    assert_user_error(
        cli(*simulate, spec_file, "--synthetic", "rps=1", "--traffic", broken),
        "give --synthetic or --traffic, not both",
    )


# --- watch -----------------------------------------------------------------------------

VERDICT = Verdict(
    Phase.PENDING,
    (
        MetricResult(
            "error-rate", Phase.PENDING, 0.012, 0.01, message="watching: not ruled out yet"
        ),
        MetricResult("latency", Phase.SUCCESSFUL, 0.021, 0.02, message="within thresholds"),
    ),
    "error-rate is pending: watching",
)


def start_rollout_row(settings: Settings, *, weight: int = 25) -> int:
    """An active rollout at step 2 with one judged decision and one event."""
    spec = RolloutSpec.from_dict(
        {"model": "fraud", "baseline": "1", "candidate": "2", "step_weights": [25, 50]}
    )
    now = time.time()
    status = RolloutStatus(
        phase=RolloutPhase.PROGRESSING,
        step_index=1,
        weight=weight,
        step_started_at=now - 12,
        started_at=now - 12,
        updated_at=now,
        message="step 1/4: weight 25%",
    )
    svc = Services(settings)
    try:
        with svc.sessions.begin() as session:
            row = create_rollout(session, spec, status, actor="tester")
            record_event(session, row, "rollout.start", actor="tester", reason="try it")
            rollout_id = row.id
        with svc.sessions.begin() as session:
            record_decision(
                session,
                rollout_id,
                at=now,
                step_index=1,
                phase_before="Progressing",
                phase_after="Progressing",
                verdict="Pending",
                measurements={**VERDICT.to_dict(), "actions_done": []},
                reason=VERDICT.reason,
            )
    finally:
        svc.close()
    return rollout_id


def end_rollout(settings: Settings, rollout_id: int) -> None:
    svc = Services(settings)
    try:
        with svc.sessions.begin() as session:
            row = get_rollout(session, rollout_id)
            status = RolloutStatus.from_dict(row.status)
            ended = RolloutStatus(
                phase=RolloutPhase.ROLLED_BACK,
                step_index=status.step_index,
                step_started_at=status.step_started_at,
                updated_at=time.time(),
                rollback_reason="analysis Failed: error-rate failed",
                message="analysis Failed: error-rate failed",
            )
            save_status(session, row, ended, expected_generation=row.generation)
    finally:
        svc.close()


def test_watch_once_prints_one_frame(cli: Cli, cli_env: Settings) -> None:
    rollout_id = start_rollout_row(cli_env)
    r = cli("rollout", "watch", str(rollout_id), "--once")
    assert r.code == 0, r.err
    text = r.out
    assert f"rollout #{rollout_id} fraud: v1 -> v2 (canary)" in text
    assert "phase: Progressing" in text
    assert "step 2/4: canary at 25%, analysis 12/60 s" in text
    assert "█" * 10 + "░" * 30 + "  25% to v2" in text
    assert "last verdict" in text and "Pending" in text
    for cell in ("error-rate", "0.012", "latency", "Successful", "within thresholds"):
        assert cell in text, cell
    assert "recent events" in text and "rollout.start" in text and "try it" in text


def test_watch_stops_when_the_rollout_ends(
    cli: Cli, cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollout_id = start_rollout_row(cli_env)
    naps: list[float] = []

    def nap(seconds: float) -> None:  # the controller rolls it back while we wait
        naps.append(seconds)
        end_rollout(cli_env, rollout_id)

    monkeypatch.setattr(time, "sleep", nap)
    r = cli("rollout", "watch", str(rollout_id), "--interval", "0.5")
    assert r.code == 0, r.err
    assert naps == [0.5]
    assert "rolled back to 1: analysis Failed: error-rate failed" in r.out


def test_watch_a_finished_rollout_prints_once(cli: Cli, cli_env: Settings) -> None:
    rollout_id = start_rollout_row(cli_env)
    end_rollout(cli_env, rollout_id)
    r = cli("rollout", "watch", str(rollout_id))
    assert r.code == 0, r.err
    assert "phase: RolledBack" in r.out
    assert "0% to v2" in r.out


def test_watch_an_unknown_rollout_is_one_line(cli: Cli) -> None:
    assert_user_error(cli("rollout", "watch", "999", "--once"), "no rollout #999")
