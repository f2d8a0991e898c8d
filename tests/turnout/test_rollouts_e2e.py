"""Rollouts end to end: `turnout serve` (gateway + controller) with real traffic from a
client, driven by `turnout rollout` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ModelFiles
from tests.gateway_harness import Gateway, Load, base_env, start_gateway, turnout, wait_for
from tests.onnx_models import failing_model, plain_model

pytestmark = pytest.mark.mlflow

# Thresholds only, so a healthy candidate passes on modest test traffic; the
# sequential tests are exercised by tests/router/analysis and the controller tests.
SPEC = """
model: bc
candidate: "{candidate}"
strategy: canary
step_weights: [20, 50]
step_duration_s: 4
analysis:
  metrics:
    - name: error-rate
      kind: error_rate
      max: 0.05
      min_samples: 20
"""


@pytest.fixture
def deployment(
    tmp_path: Path, model_files: ModelFiles
) -> Iterator[tuple[dict[str, str], Gateway, Load]]:
    env = base_env(
        tmp_path / "state",
        TURNOUT_MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        TURNOUT_ARTIFACT_ROOT=str(tmp_path / "artifacts"),
    )
    for name, raw in (("good.onnx", plain_model()), ("bad.onnx", failing_model())):
        (tmp_path / name).write_bytes(raw)
    assert turnout(env, "models", "register", "bc", str(model_files.onnx)).returncode == 0
    assert turnout(env, "models", "register", "bc", str(tmp_path / "good.onnx")).returncode == 0
    # The failing model cannot pass registration's trial run; its version comes from
    # plain MLflow, the way a team without turnout's checks would have logged it.
    from tests.turnout.test_serve import _log_plain_mlflow

    _log_plain_mlflow(env, "bc", failing_model())
    assert turnout(env, "promote", "bc", "1").returncode == 0
    gateway = start_gateway(env, tmp_path / "gateway.log")
    rows = model_files.features.to_numpy(dtype=np.float32)[:1]
    body = {
        "inputs": [
            {"name": "input", "shape": [1, 30], "datatype": "FP32", "data": rows.ravel().tolist()}
        ]
    }
    load = Load(gateway.url, body, "/v2/models/bc/infer", users=10_000).start()
    try:
        yield env, gateway, load
    finally:
        load.stop()
        gateway.stop()


def _start(env: dict[str, str], tmp: Path, candidate: str) -> int:
    spec = tmp / f"spec-{candidate}.yaml"
    spec.write_text(SPEC.format(candidate=candidate))
    r = turnout(env, "rollout", "start", "-f", str(spec), "--json")
    assert r.returncode == 0, r.stderr
    return int(json.loads(r.stdout)["id"])


def _status(env: dict[str, str], rollout_id: int) -> dict[str, object]:
    r = turnout(env, "rollout", "status", str(rollout_id), "--json")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_good_canary_is_promoted_and_bad_one_rolled_back(
    deployment: tuple[dict[str, str], Gateway, Load], tmp_path: Path
) -> None:
    env, gateway, load = deployment
    good = _start(env, tmp_path, "2")
    wait_for(lambda: _status(env, good)["phase"] == "Succeeded", timeout=90, interval=1.0)
    aliases = json.loads(turnout(env, "models", "show", "bc", "--json").stdout)["aliases"]
    assert aliases == {"champion": "2", "previous": "1"}
    explain = turnout(env, "rollout", "explain", str(good))
    assert explain.returncode == 0 and "error-rate" in explain.stdout
    wait_for(lambda: load.tally()[("2", 200)] > 0, timeout=10)

    bad = _start(env, tmp_path, "3")
    wait_for(lambda: _status(env, bad)["phase"] == "RolledBack", timeout=90, interval=1.0)
    aliases = json.loads(turnout(env, "models", "show", "bc", "--json").stdout)["aliases"]
    assert aliases["champion"] == "2"
    history = json.loads(turnout(env, "rollout", "history", str(bad), "--json").stdout)
    assert "rollout.rollback" in [e["kind"] for e in history]
    load.stop()
    # No request failed except those the bad version itself failed.
    failed = {k: n for k, n in load.tally().items() if k[1] != 200}
    assert set(failed) <= {("3", 500)}, failed
    assert load.failures_without_version == 0
