"""`turnout drift check|status|show` and `turnout monitor --once`, in process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitors.store import save_report
from tests.conftest import ModelFiles
from tests.turnout.cli_support import Cli, assert_user_error, make_cli
from turnout.services import Services
from turnout.settings import Settings

pytestmark = pytest.mark.mlflow


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], cli_env: Settings) -> Cli:
    return make_cli(capsys)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drift-tables")
    rng = np.random.default_rng(11)
    n = 4000

    def frame(shift: float = 0.0, share: float = 0.3) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": rng.lognormal(3.0 + shift, 0.5, n),
                "age": rng.normal(40, 10, n),
                "country": rng.choice(["fr", "de", "it"], n, p=[1 - 2 * share, share, share]),
            }
        )

    paths = {
        "ref": root / "ref.parquet",
        "same": root / "same.parquet",
        "shifted": root / "shifted.csv",
        "fewer": root / "fewer.csv",
    }
    frame().to_parquet(paths["ref"])
    frame().to_parquet(paths["same"])
    frame(shift=0.5).to_csv(paths["shifted"], index=False)
    frame().drop(columns=["age"]).to_csv(paths["fewer"], index=False)
    return paths


def test_check_exit_codes_for_ci(cli: Cli, tables: dict[str, Path]) -> None:
    same = cli("drift", "check", "-r", tables["ref"], "-c", tables["same"])
    assert same.code == 0, same.out + same.err
    assert "OK" in same.out and "0 of 3 features drifted" in same.out
    shifted = cli("drift", "check", "-r", tables["ref"], "-c", tables["shifted"], "--json")
    assert shifted.code == 2, shifted.err
    doc = shifted.json()
    assert doc["verdict"] == "DRIFT" and doc["drifted"] == ["amount"]


def test_check_errors_are_one_line(cli: Cli, tables: dict[str, Path], tmp_path: Path) -> None:
    assert_user_error(cli("drift", "check", "-r", tables["ref"], "-c", tables["fewer"]), "age")
    assert_user_error(
        cli("drift", "check", "-r", tables["ref"], "-c", tmp_path / "nope.csv"), "nope.csv"
    )
    assert_user_error(cli("drift", "check", "-c", tables["same"]), "--reference")


def test_check_against_a_registered_models_profile(
    cli: Cli, model_files: ModelFiles, model_name: str, tmp_path: Path
) -> None:
    registered = cli(
        "models", "register", model_name, model_files.onnx, "--reference", model_files.reference
    )
    assert registered.code == 0, registered.err
    assert cli("promote", model_name, "1").code == 0
    features = model_files.features
    features.to_csv(tmp_path / "same.csv", index=False)
    moved = features.copy()
    moved[moved.columns[0]] = moved[moved.columns[0]] * 1.8
    moved.to_csv(tmp_path / "moved.csv", index=False)
    same = cli("drift", "check", "-m", f"{model_name}@champion", "-c", tmp_path / "same.csv")
    assert same.code == 0, same.out
    assert "reference profile" in same.out
    moved_result = cli(
        "drift", "check", "-m", f"{model_name}:1", "-c", tmp_path / "moved.csv", "--json"
    )
    assert moved_result.code == 2, moved_result.out
    assert moved_result.json()["drifted"][0] == features.columns[0]
    assert_user_error(
        cli("drift", "check", "-m", f"{model_name}@nope", "-c", tmp_path / "same.csv"), "nope"
    )


def test_status_and_show(cli: Cli, cli_env: Settings) -> None:
    empty = cli("drift", "status", "fraud")
    assert empty.code == 0 and "no drift reports for fraud" in empty.out
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    services = Services(cli_env)
    try:
        with services.sessions.begin() as s:
            for i, band in enumerate(["OK", "WARN", "DRIFT"]):
                last = save_report(
                    s,
                    model="fraud",
                    version="3",
                    window_start=t0 + timedelta(minutes=5 * i),
                    window_end=t0 + timedelta(minutes=5 * (i + 1)),
                    rows=1000,
                    verdict=band,
                    document={
                        "features": [
                            {"name": "amount", "method": "psi", "band": band, "effect": 0.01 * i}
                        ],
                        "drifted": ["amount"] if band == "DRIFT" else [],
                    },
                )
    finally:
        services.close()
    status = cli("drift", "status", "fraud")
    assert status.code == 0, status.err
    assert "fraud v3" in status.out and "amount" in status.out
    assert status.out.index("OK") < status.out.index("WARN") < status.out.index("DRIFT")
    as_json = cli("drift", "status", "fraud", "--json").json()
    assert [r["verdict"] for r in as_json["3"]] == ["OK", "WARN", "DRIFT"]
    shown = cli("drift", "show", str(last.id))
    assert shown.code == 0 and "DRIFT" in shown.out and "psi" in shown.out
    assert_user_error(cli("drift", "show", "999999"), "no drift report #999999")


def test_monitor_once_with_nothing_to_judge(cli: Cli) -> None:
    r = cli("monitor", "--once")
    assert r.code == 0, r.err
    assert "no complete window to judge" in r.out


def test_report_needs_a_stored_window(cli: Cli, tmp_path: Path) -> None:
    assert_user_error(
        cli("drift", "report", "nobody", "--out", tmp_path / "r.html"), "no drift reports"
    )
    assert_user_error(
        cli("drift", "report", "nobody", "--window", "424242", "--out", tmp_path / "r.html"),
        "no drift report #424242",
    )
