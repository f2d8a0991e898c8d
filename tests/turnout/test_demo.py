"""The README's main job, started the way a user starts it: `turnout demo` in a subprocess,
on embedded defaults (fresh SQLite stores and a local artifact folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mlflow

TURNOUT = Path(sys.executable).with_name("turnout")


def _turnout(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "MLFLOW_"))}
    env["TURNOUT_STATE_DIR"] = str(state)
    return subprocess.run(
        [str(TURNOUT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_demo_plays_its_three_scenes_headless(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = _turnout(state, "demo", "--headless", "--speed", "4", "--port", "0", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert [r["version"] for r in result["registered"]] == ["1", "2", "3"]
    assert all(r["reference_rows"] > 0 for r in result["registered"])
    good, bad, drift = result["scenes"]
    assert (good["scene"], good["phase"]) == ("good canary", "Succeeded"), good
    assert (bad["scene"], bad["phase"]) == ("bad canary", "RolledBack"), bad
    assert "accuracy" in bad["message"]
    assert (drift["scene"], drift["phase"]) == ("drift", "alerted"), drift
    # The retraining trigger as the receiver got it: model, version, drifted features.
    trigger = result["retraining_trigger"]
    assert trigger["kind"] == "drift" and trigger["model"] == "breast-cancer"
    assert trigger["version"] == "2"
    # The pushed features lead (most drifted first). The demo's traffic is the held-out
    # split, whose rows differ a little from the training split by chance, so another
    # feature may drift too, far behind them.
    pushed = {"mean radius", "mean perimeter", "mean area", "worst radius"}
    features = trigger["features"]
    assert features and features[0]["feature"] in pushed, features
    assert len(pushed & {f["feature"] for f in features}) >= 3, features
    # Everything lives under the state directory: no ./mlruns.
    assert (state / "mlflow.db").is_file() and (state / "turnout.db").is_file()
    shown = _turnout(state, "models", "show", "breast-cancer", "@champion", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["version"] == "2"
    status = _turnout(state, "drift", "status", "breast-cancer", "--json")
    assert status.returncode == 0 and "DRIFT" in status.stdout


def test_user_error_prints_one_line_without_traceback(tmp_path: Path) -> None:
    r = _turnout(tmp_path / "state", "promote", "no-such-model", "1")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: no registered model named 'no-such-model'"
