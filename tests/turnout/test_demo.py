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


def test_demo_registers_two_versions_and_promotes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = _turnout(state, "demo", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["version"] for r in result["registered"]] == ["1", "2"]
    assert all(r["reference_rows"] > 0 for r in result["registered"])
    assert [(p["from_version"], p["to_version"]) for p in result["promotions"]] == [
        (None, "1"),
        ("1", "2"),
    ]
    # Everything lives under the state directory: no ./mlruns, no server.
    assert (state / "mlflow.db").is_file() and (state / "turnout.db").is_file()
    assert any((state / "artifacts").iterdir())
    shown = _turnout(state, "models", "show", "breast-cancer", "@champion", "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["version"] == "2" and doc["reference"]["features"] == 30
    history = json.loads(_turnout(state, "models", "history", "breast-cancer", "--json").stdout)
    assert [e["kind"] for e in history][-2:] == ["alias.promote", "alias.promote"]


def test_user_error_prints_one_line_without_traceback(tmp_path: Path) -> None:
    r = _turnout(tmp_path / "state", "promote", "no-such-model", "1")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: no registered model named 'no-such-model'"
