"""Blue-green, shadow and A/B rollouts, and a controller restart, end to end: one real
`turnout serve` on loopback with real client traffic, driven by `turnout rollout`.

One deployment runs the four scenarios in order (each test starts from the state the
one before left: v2 is champion after the blue-green switch). Versions are written
through turnout's own registry client in-process (much faster than one CLI process
each); rollouts are started and inspected with the CLI; waiting reads the control DB.
Analyses are thresholds only with short windows (the sequential judge and the
strategies' rules are covered by tests/router); every answer of the client is kept.

There is no analysis metric of shadow disagreement (see the shadow test), so the
shadow scenario gates on the candidate's errors instead.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from registry.types import NewVersion
from tests.gateway_harness import Gateway, Load, base_env, start_gateway, turnout, wait_for
from tests.onnx_models import (
    failing_model,
    flipped_model,
    picky_model,
    plain_model,
    slow_model,
)
from turnout.services import Services
from turnout.settings import Settings

pytestmark = pytest.mark.mlflow

MODEL = "bc"
INFER = f"/v2/models/{MODEL}/infer"
PREVIEW_HEADER = "x-turnout-preview"
THRESHOLDS = """
analysis:
  metrics:
    - name: error-rate
      kind: error_rate
      max: 0.05
      min_samples: 10
      interval: 1
"""
BLUEGREEN = """
model: bc
candidate: "2"
strategy: bluegreen
bluegreen:
  pre_promotion_s: 5
  post_promotion_s: 3
"""
SHADOW = """
model: bc
candidate: "3"
strategy: shadow
shadow_percent: 100
step_duration_s: 30
promote_on_success: false
"""
DISAGREEING_SHADOW = """
model: bc
candidate: "5"
strategy: shadow
step_duration_s: 30
promote_on_success: false
"""
SLOW_CANARY = """
model: bc
candidate: "6"
step_weights: [50]
step_duration_s: 60
"""
LATENCY = """
analysis:
  metrics:
    - name: latency
      kind: latency
      quantile: 0.5
      relativeMax: 2
      min_samples: 30
      interval: 1
"""
WRONG_CANARY = """
model: bc
candidate: "5"
step_weights: [50]
step_duration_s: 60
"""
ACCURACY = """
analysis:
  metrics:
    - name: accuracy
      kind: accuracy
      min_samples: 30
      sequential: {minEffect: 0.05}
      interval: 1
"""
ABTEST = """
model: bc
candidate: "4"
strategy: abtest
abtest:
  split: 50
  min_duration_s: 5
  max_duration_s: 20
  promote_winner: false
"""
CANARY = """
model: bc
candidate: "4"
step_weights: [50]
step_duration_s: 8
"""


@dataclass
class Deployment:
    env: dict[str, str]
    root: Path
    services: Services
    gateway: Gateway
    load: Load
    body: dict[str, object]

    # -- the CLI --------------------------------------------------------------------------

    def start(self, spec: str, name: str, analysis: str = THRESHOLDS) -> int:
        path = self.root / f"{name}.yaml"
        path.write_text(spec + analysis)
        r = turnout(self.env, "rollout", "start", "-f", str(path), "--json")
        assert r.returncode == 0, r.stderr
        return int(json.loads(r.stdout)["id"])

    def cli_json(self, *args: str) -> Any:
        r = turnout(self.env, *args, "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    # -- the control DB ---------------------------------------------------------------------

    def row(self, rollout_id: int) -> Any:
        from router.controller.store import get_rollout

        with self.services.sessions() as s:
            row = get_rollout(s, rollout_id)
            s.expunge(row)
            return row

    def phase(self, rollout_id: int) -> str:
        return str(self.row(rollout_id).phase)

    def wait(self, rollout_id: int, phases: set[str], timeout: float = 40) -> str:
        wait_for(lambda: self.phase(rollout_id) in phases, timeout=timeout, interval=0.25)
        return self.phase(rollout_id)

    def moved_at(self, rollout_id: int, phase_after: str) -> float:
        """When the decision that moved the rollout into PHASE_AFTER was taken (epoch s)."""
        from router.controller.store import decisions

        with self.services.sessions() as s:
            for d in decisions(s, rollout_id):
                if d.phase_after == phase_after and d.phase_before != phase_after:
                    return _epoch(d.at)
        raise AssertionError(f"rollout #{rollout_id} never moved to {phase_after}")

    def promotions_to(self, version: str) -> int:
        from migrations.models import Event

        with self.services.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(Event.kind == "alias.promote", Event.to_version == version)
                )
                or 0
            )

    def champion(self) -> str:
        return str(self.services.registry.version_by_alias(MODEL, "champion").version)


def _epoch(at: datetime) -> float:
    return at.timestamp()


def _register(services: Services, raw: bytes) -> str:
    example = {"input": np.zeros((1, 30), dtype=np.float32)}
    new = NewVersion(
        name=MODEL, onnx_bytes=raw, input_example=example, outputs={}, source_format="onnx"
    )
    return str(services.registry.create_version(new).version)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("strategies")
    overrides = {
        "TURNOUT_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "TURNOUT_ARTIFACT_ROOT": str(root / "artifacts"),
        "TURNOUT_CONTROLLER_INTERVAL_S": "0.5",
    }
    env = base_env(root / "state", **overrides)
    services = Services(
        Settings(
            state_dir=root / "state",
            mlflow_tracking_uri=overrides["TURNOUT_MLFLOW_TRACKING_URI"],
            artifact_root=root / "artifacts",
            actor="tester",
        )
    )
    # v1 champion; v2 the blue-green candidate; v3 fails every request (shadow);
    # v4 the A/B and restart candidate; v5 healthy but answers the other class (shadow,
    # then the accuracy canary); v6 answers like v1 but slowly (the latency canary).
    versions = (plain_model(), plain_model(), failing_model(), plain_model(), flipped_model())
    # v7 answers like v1 while the first feature is 23 (the preview traffic below) and
    # fails on the main traffic's 0.2: healthy in preview, broken at 100%.
    for raw in (*versions, slow_model(size=800), picky_model()):
        _register(services, raw)
    services.ledger.promote(MODEL, "1", actor="tester")
    gateway = start_gateway(env, root / "gateway-a.log")
    row = np.zeros(30, dtype=np.float32)
    row[:2] = (0.2, 0.8)
    body: dict[str, object] = {
        "inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", "data": row.tolist()}]
    }
    load = Load(gateway.url, body, INFER).start()
    deployment = Deployment(env, root, services, gateway, load, body)
    try:
        wait_for(lambda: len(load.answers) > 20, timeout=30)
        yield deployment
    finally:
        deployment.load.stop()
        deployment.gateway.stop()
        services.close()


PICKY_BLUEGREEN = """
model: bc
candidate: "7"
strategy: bluegreen
bluegreen:
  pre_promotion_s: 5
  post_promotion_s: 30
"""


def test_bluegreen_failing_after_the_switch_switches_back(deployment: Deployment) -> None:
    d = deployment
    champion = d.champion()
    inputs = d.body["inputs"]
    row = list(inputs[0]["data"])  # type: ignore[index]
    row[0] = 23.0  # picky_model's healthy value (30 - 7)
    healthy = {"inputs": [{**inputs[0], "data": row}]}  # type: ignore[index]
    preview = Load(
        d.gateway.url, healthy, INFER, headers={PREVIEW_HEADER: "true"}, pause_s=0.02
    ).start()
    try:
        rollout_id = d.start(PICKY_BLUEGREEN, "picky-bluegreen")
        assert d.wait(rollout_id, {"Succeeded", "RolledBack", "Paused"}, 90) == "RolledBack"
    finally:
        preview.stop()
    switched = d.moved_at(rollout_id, "PostPromotion")  # it did switch ...
    back = d.moved_at(rollout_id, "RolledBack")  # ... and switched back by itself
    assert back - switched < 20, back - switched
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert "error-rate" in status["message"]
    # The champion is restored, moved twice (to the candidate and back).
    assert d.champion() == champion and d.promotions_to("7") == 1
    wait_for(
        lambda: {a.version for a in d.load.between(time.time() - 1, time.time())} == {champion},
        timeout=10,
    )
    # The only failed requests were v7's own, in the post-promotion window.
    failed = [a for a in d.load.between(switched - 1, time.time()) if a.status != 200]
    assert failed and {a.version for a in failed} == {"7"}


def test_bluegreen_preview_is_header_matched_then_switches(deployment: Deployment) -> None:
    d = deployment
    preview = Load(
        d.gateway.url, d.body, INFER, headers={PREVIEW_HEADER: "true"}, pause_s=0.03
    ).start()
    try:
        started = time.time()
        rollout_id = d.start(BLUEGREEN, "bluegreen")
        assert d.wait(rollout_id, {"Succeeded", "RolledBack", "Paused"}) == "Succeeded"
    finally:
        preview.stop()
    switched = d.moved_at(rollout_id, "PostPromotion")
    # Before the switch only requests carrying the preview header reached v2 ...
    before = d.load.between(started, switched)
    assert before and {a.version for a in before} == {"1"}, {a.version for a in before}
    previewed = [a for a in preview.between(started, switched) if a.version == "2"]
    assert len(previewed) >= 10, len(previewed)  # enough to judge the preview on
    assert all(a.status == 200 for a in previewed)
    # ... then everyone did: v2 is champion, moved by exactly one promotion.
    assert d.champion() == "2" and d.promotions_to("2") == 1
    wait_for(lambda: any(a.version == "2" for a in d.load.between(switched, time.time())))
    history = d.cli_json("rollout", "history", str(rollout_id))
    kinds = [e["kind"] for e in history]
    assert "rollout.post-rollout" in kinds and "rollout.rollback" not in kinds


def test_failing_shadow_is_rolled_back_and_no_client_request_fails(
    deployment: Deployment,
) -> None:
    """The default shadow analysis: the sequential error-rate test fails v3 at once."""
    d = deployment
    champion = d.champion()
    started = time.time()
    rollout_id = d.start(SHADOW, "shadow")
    assert d.wait(rollout_id, {"RolledBack", "Succeeded", "Paused"}) == "RolledBack"
    ended = d.moved_at(rollout_id, "RolledBack")
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert "error-rate" in status["message"] and "Failed" in status["message"]
    # The mirror ran (and failed) while every client got its answer from the champion.
    metrics = d.gateway.client.get("/metrics").text
    mirrored = re.search(
        r'turnout_shadow_requests_total\{[^}]*outcome="model_error"[^}]*version="3"[^}]*\}'
        r" (\d+)",
        metrics,
    ) or re.search(
        r'turnout_shadow_requests_total\{[^}]*version="3"[^}]*outcome="model_error"[^}]*\}'
        r" (\d+)",
        metrics,
    )
    assert mirrored is not None and int(mirrored.group(1)) >= 10, metrics[-2000:]
    during = d.load.between(started, ended + 1)
    assert during and all(a.status == 200 for a in during), [a for a in during if a.status != 200][
        :5
    ]
    assert {a.version for a in during} == {champion}
    assert d.load.failures_without_version == 0
    assert d.champion() == champion and d.promotions_to("3") == 0


def test_shadow_that_disagrees_is_rolled_back_on_disagreement(deployment: Deployment) -> None:
    """v5 never fails a request, but answers the other class: the default shadow
    analysis fails it on disagreement (more than 5% of 200+ compared answers)."""
    d = deployment
    champion = d.champion()
    started = time.time()
    rollout_id = d.start(DISAGREEING_SHADOW, "shadow", analysis="")  # the default analysis
    phase = d.wait(rollout_id, {"RolledBack", "Succeeded", "Paused"})
    assert phase == "RolledBack", json.dumps(d.cli_json("rollout", "explain", str(rollout_id))[-2:])
    ended = d.moved_at(rollout_id, "RolledBack")
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert "disagreement" in status["message"] and "Failed" in status["message"]
    explain = d.cli_json("rollout", "explain", str(rollout_id))
    judged = [
        m
        for decision in explain
        for m in (decision.get("evidence") or {}).get("metrics", [])
        if m.get("name") == "disagreement" and m.get("value") is not None
    ]
    assert judged and judged[-1]["value"] > 0.9, judged[-1:]
    during = d.load.between(started, ended + 1)
    assert during and all(a.status == 200 and a.version == champion for a in during)
    assert d.champion() == champion and d.promotions_to("5") == 0


def test_slow_canary_is_rolled_back_on_latency(deployment: Deployment) -> None:
    d = deployment
    champion = d.champion()
    started = time.time()
    rollout_id = d.start(SLOW_CANARY, "slow", analysis=LATENCY)
    assert d.wait(rollout_id, {"RolledBack", "Succeeded", "Paused"}) == "RolledBack"
    ended = d.moved_at(rollout_id, "RolledBack")
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert "latency" in status["message"] and "Failed" in status["message"]
    assert ended - started < 30, ended - started
    during = d.load.between(started, ended + 1)
    assert during and all(a.status == 200 for a in during)  # slow, never failed
    assert {a.version for a in during} == {champion, "6"}
    assert d.champion() == champion and d.promotions_to("6") == 0


def test_canary_with_wrong_answers_is_rolled_back_on_accuracy_from_feedback(
    deployment: Deployment,
) -> None:
    """Labels arrive as feedback after each answer; v5 answers the other class."""
    d = deployment
    champion = d.champion()
    made = turnout(d.env, "tokens", "create", "labeller", "--role", "operator", "--json")
    assert made.returncode == 0, made.stderr
    # The fixed request's true class is the one the champion (a plain_model) answers.
    answer = d.gateway.client.post(f"/v2/models/{MODEL}/versions/{champion}/infer", json=d.body)
    assert answer.status_code == 200, answer.text
    truth = int(answer.json()["outputs"][0]["data"][0])
    labelled = Load(
        d.gateway.url,
        d.body,
        INFER,
        feedback=(json.loads(made.stdout)["token"], truth),
        pause_s=0.01,
    ).start()
    try:
        started = time.time()
        rollout_id = d.start(WRONG_CANARY, "wrong", analysis=ACCURACY)
        assert d.wait(rollout_id, {"RolledBack", "Succeeded", "Paused"}) == "RolledBack"
    finally:
        labelled.stop()
    ended = d.moved_at(rollout_id, "RolledBack")
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert "accuracy" in status["message"] and "Failed" in status["message"]
    assert ended - started < 40, ended - started
    assert d.champion() == champion and d.promotions_to("5") == 0


def test_abtest_keeps_users_on_one_side_and_reports_the_winner(deployment: Deployment) -> None:
    d = deployment
    champion = d.champion()
    rollout_id = d.start(ABTEST, "abtest")
    assert d.wait(rollout_id, {"Succeeded", "RolledBack", "Paused"}) == "Succeeded"
    began, ended = d.moved_at(rollout_id, "Progressing"), d.moved_at(rollout_id, "Succeeded")
    # Fixed sticky split: past the gateways' policy poll, each user stays on one side.
    sides: dict[str, set[str]] = defaultdict(set)
    answered = d.load.between(began + 1.5, ended)
    for a in answered:
        sides[a.key].add(a.version)
    assert all(len(v) == 1 for v in sides.values()), {k: v for k, v in sides.items() if len(v) > 1}
    share = sum(a.version == "4" for a in answered) / len(answered)
    assert 0.25 < share < 0.75, share
    # The verdict and the winner, as `turnout rollout status` and `explain` report them.
    status = d.cli_json("rollout", "status", str(rollout_id))
    assert status["phase"] == "Succeeded"
    assert "A/B test: 4 wins" in status["message"], status["message"]
    assert f"{champion} keeps the traffic" in status["message"]
    assert status["last_decision"]["verdict"] == "Successful"
    explain = d.cli_json("rollout", "explain", str(rollout_id))
    final = explain[-1]
    assert final["phase_after"] == "Succeeded" and final["verdict"] == "Successful"
    (metric,) = final["evidence"]["metrics"]
    assert metric["name"] == "error-rate" and metric["phase"] == "Successful"
    assert metric["value"] is not None and metric["value"] <= 0.05
    # promote_winner is off: the champion keeps serving everyone.
    assert d.champion() == champion and d.promotions_to("4") == 0
    wait_for(
        lambda: {a.version for a in d.load.between(time.time() - 1, time.time())} == {champion},
        timeout=10,
    )


def test_a_killed_controller_is_replaced_and_the_rollout_promotes_once(
    deployment: Deployment,
) -> None:
    d = deployment
    assert d.promotions_to("4") == 0
    # A longer step than CANARY's: the "no data" pause comes 2 steps after the step
    # began, and the replacement gateway's start-up (slow on a loaded machine) counts.
    spec = CANARY.replace("step_duration_s: 8", "step_duration_s: 14")
    assert spec != CANARY
    rollout_id = d.start(spec, "canary")
    wait_for(lambda: d.row(rollout_id).weight == 50, timeout=20, interval=0.25)
    wait_for(lambda: any(a.version == "4" for a in d.load.answers[-50:]), timeout=10)
    # SIGKILL mid-step: no clean shutdown, the controller lease stays taken.
    d.load.stop()
    d.gateway.proc.send_signal(signal.SIGKILL)
    d.gateway.proc.wait(timeout=10)
    d.gateway.client.close()
    killed_at = time.time()
    assert d.phase(rollout_id) == "Progressing"

    d.gateway = start_gateway(d.env, d.root / "gateway-b.log")
    d.load = Load(d.gateway.url, d.body, INFER).start()
    phase = d.wait(rollout_id, {"Succeeded", "RolledBack", "Paused"}, timeout=60)
    log = (d.root / "gateway-b.log").read_text()[-2000:]
    assert phase == "Succeeded", (d.row(rollout_id).message, log)
    assert d.moved_at(rollout_id, "Succeeded") > killed_at  # B finished it
    assert d.champion() == "4"
    assert d.promotions_to("4") == 1  # exactly one alias move to the candidate
    history = d.cli_json("rollout", "history", str(rollout_id))
    assert [e["kind"] for e in history].count("rollout.post-rollout") == 1
    wait_for(lambda: any(a.version == "4" for a in d.load.answers[-20:]), timeout=10)
