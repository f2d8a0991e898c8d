"""The `turnout` CLI end to end, in process, on real MLflow and real control DBs.

Every user error must exit non-zero with exactly one line on stderr and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ModelFiles, plain_mlflow_run
from tests.turnout.cli_support import Cli, assert_user_error, make_cli
from turnout.settings import Settings

pytestmark = pytest.mark.mlflow


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], cli_env: Settings) -> Cli:
    return make_cli(capsys)


@pytest.fixture
def registered(cli, model_files: ModelFiles, model_name: str) -> str:  # type: ignore[no-untyped-def]
    for _ in range(3):
        r = cli(
            "models", "register", model_name, model_files.onnx, "--reference", model_files.reference
        )
        assert r.code == 0, r.err
    return model_name


def test_register_onnx_with_reference_and_tags(
    cli, model_files: ModelFiles, model_name: str
) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "models",
        "register",
        model_name,
        model_files.onnx,
        "--reference",
        model_files.reference,
        "--tag",
        "team=risk",
        "--description",
        "first",
        "--json",
    )
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["version"] == "1" and doc["reference_rows"] == len(model_files.features)
    assert doc["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}] or doc[
        "inputs"
    ] == [{"name": "input", "datatype": "FP32", "shape": [None, 30]}]
    shown = cli("models", "show", model_name, "1", "--json").json()
    assert shown["tags"]["team"] == "risk" and shown["description"] == "first"
    assert shown["reference"]["rows"] == len(model_files.features)
    assert shown["reference"]["features"] == 30
    listed = cli("models", "list", "--json").json()
    assert model_name in [m["name"] for m in listed]


def test_register_skops_and_trusted_pickle(cli, model_files: ModelFiles, model_name: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "register", model_name, model_files.skops).code == 0
    r = cli("models", "register", model_name, model_files.pickle, "--trust-pickle")
    assert r.code == 0, r.err
    assert "version 2" in r.out
    versions = cli("models", "show", model_name, "--json").json()["versions"]
    assert [v["tags"]["turnout.source_format"] for v in versions] == ["skops", "pickle"]


def test_register_csv_input_example(cli, model_files: ModelFiles, model_name: str) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "models",
        "register",
        model_name,
        model_files.onnx,
        "--input-example",
        model_files.reference_csv,
    )
    assert r.code == 0, r.err


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing", ("model file not found",)),
        ("garbage", ("not a valid ONNX model",)),
        ("pickle", ("--trust-pickle",)),
        ("unknown-ext", ("unknown model file type",)),
        ("reference-columns", ("reference data does not fit the model", "expects 30 columns")),
        ("example-text", ("cannot be cast",)),
        ("reference-missing", ("reference file not found",)),
        ("bad-tag", ("is not KEY=VALUE",)),
        ("reserved-tag", ("reserved",)),
        ("bad-name", ("not a valid model name",)),
    ],
)
def test_register_bad_input_is_one_line_and_writes_nothing(  # type: ignore[no-untyped-def]
    cli,
    model_files: ModelFiles,
    model_name: str,
    tmp_path: Path,
    case: str,
    fragments: tuple[str, ...],
) -> None:
    args: list[str | Path] = ["models", "register", model_name]
    if case == "missing":
        args += [tmp_path / "nope.onnx"]
    elif case == "garbage":
        bad = tmp_path / "bad.onnx"
        bad.write_text("this is not a model")
        args += [bad]
    elif case == "pickle":
        args += [model_files.pickle]
    elif case == "unknown-ext":
        other = tmp_path / "model.h5"
        other.write_bytes(b"\x89HDF")
        args += [other]
    elif case == "reference-columns":
        narrow = tmp_path / "narrow.parquet"
        model_files.features.iloc[:, :29].to_parquet(narrow)
        args += [model_files.onnx, "--reference", narrow]
    elif case == "example-text":
        text = tmp_path / "text.csv"
        frame = model_files.features.head(3).copy()
        first = frame.columns[0]
        frame[first] = ["not-a-number", "1.0", "2.0"]
        frame.to_csv(text, index=False)
        args += [model_files.onnx, "--input-example", text]
    elif case == "reference-missing":
        args += [model_files.onnx, "--reference", tmp_path / "train.parquet"]
    elif case == "bad-tag":
        args += [model_files.onnx, "--tag", "team"]
    elif case == "reserved-tag":
        args += [model_files.onnx, "--tag", "turnout.status=ready"]
    elif case == "bad-name":
        args = ["models", "register", "bad/name", model_files.onnx]
    assert_user_error(cli(*args), *fragments)
    if case != "bad-name":
        assert_user_error(cli("models", "show", model_name), "no registered model")


def test_promote_rollback_history(cli, registered: str) -> None:  # type: ignore[no-untyped-def]
    name = registered
    assert cli("promote", name, "1", "--reason", "first").code == 0
    r = cli("promote", name, "2", "-r", "better")
    assert r.code == 0 and "was 1, now previous" in r.out
    aliases = cli("models", "show", name, "--json").json()["aliases"]
    assert aliases == {"champion": "2", "previous": "1"}
    r = cli("rollback", name, "--reason", "regressed", "--json")
    assert r.code == 0 and r.json()["to_version"] == "1"  # type: ignore[index]
    events = cli("models", "history", name, "--json").json()
    kinds = [(e["kind"], e["to_version"], e["reason"]) for e in events]  # type: ignore[union-attr]
    assert kinds == [
        ("model.register", "1", None),
        ("model.register", "2", None),
        ("model.register", "3", None),
        ("alias.promote", "1", "first"),
        ("alias.promote", "2", "better"),
        ("alias.rollback", "1", "regressed"),
    ]
    assert all(e["actor"] == "tester" for e in events)  # type: ignore[union-attr]
    # "Which version was champion at time T": right after the second promotion.
    at = events[4]["at"]  # type: ignore[index]
    r = cli("models", "history", name, "--at", at, "--json")
    assert r.json()["version"] == "2"  # type: ignore[index]
    assert cli("models", "show", name, "@champion", "--json").json()["version"] == "1"  # type: ignore[index]


def test_promote_and_rollback_errors(cli, registered: str) -> None:  # type: ignore[no-untyped-def]
    assert_user_error(cli("promote", registered, "9"), "has no version 9")
    assert_user_error(cli("promote", "no-such-model", "1"), "no registered model")
    assert_user_error(cli("rollback", registered), "no 'previous' alias")
    assert cli("promote", registered, "1").code == 0
    assert_user_error(cli("rollback", registered), "no 'previous' alias")
    r = cli("promote", registered, "1")
    assert r.code == 0 and "already champion" in r.out


def test_alias_set_and_rm(cli, registered: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "alias", "set", registered, "challenger", "3").code == 0
    assert cli("models", "show", registered, "@challenger", "--json").json()["version"] == "3"  # type: ignore[index]
    assert_user_error(
        cli("models", "alias", "rm", registered, "challenger", "2"), "is on version 3, not 2"
    )
    assert cli("models", "alias", "rm", registered, "challenger", "3").code == 0
    assert_user_error(cli("models", "show", registered, "@challenger"), "no alias 'challenger'")
    assert_user_error(cli("models", "alias", "set", registered, "latest", "1"), "not a valid alias")
    assert_user_error(cli("models", "alias", "set", registered, "x", "99"), "no version 99")


def test_history_at_rejects_a_bad_time(cli, registered: str) -> None:  # type: ignore[no-untyped-def]
    assert_user_error(
        cli("models", "history", registered, "--at", "yesterday"), "is not an ISO time"
    )


def test_unreachable_control_db(cli, registered: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TURNOUT_DATABASE_URL", "postgresql://postgres:s3cret@127.0.0.1:1/turnout")
    r = cli("promote", registered, "1")
    assert_user_error(r)
    assert "s3cret" not in r.err and "127.0.0.1:1" in r.err
    # Nothing moved in MLflow either: the DB is checked before the alias is touched.
    monkeypatch.delenv("TURNOUT_DATABASE_URL")
    assert cli("models", "show", registered, "--json").json()["aliases"] == {}  # type: ignore[index]


def test_unreachable_mlflow(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TURNOUT_MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert_user_error(cli("models", "list"), "MLflow is not reachable")


def test_db_commands_and_schema_out_of_date(
    cli, registered: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TURNOUT_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("TURNOUT_AUTO_UPGRADE", "false")
    assert_user_error(cli("promote", registered, "1"), "turnout db upgrade")
    assert cli("db", "current", "--json").json()["up_to_date"] is False  # type: ignore[index]
    r = cli("db", "upgrade")
    assert r.code == 0 and "upgraded" in r.out
    assert cli("db", "current", "--json").json()["up_to_date"] is True  # type: ignore[index]
    assert cli("promote", registered, "1").code == 0


@pytest.mark.postgres
def test_cli_on_postgres_control_db(
    cli, registered: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TURNOUT_DATABASE_URL", pg_url)
    assert cli("promote", registered, "1").code == 0
    assert cli("promote", registered, "2").code == 0
    assert cli("rollback", registered).code == 0
    events = cli("models", "history", registered, "--json").json()
    assert [e["kind"] for e in events] == ["alias.promote", "alias.promote", "alias.rollback"]  # type: ignore[union-attr,index]
    assert cli("db", "current", "--json").json()["up_to_date"] is True  # type: ignore[index]


def test_usage_errors_do_not_trace(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("models", "register")
    assert r.code == 2 and "Traceback" not in r.err and "Missing argument" in r.err


def test_versions_from_plain_mlflow_work_with_every_command(  # type: ignore[no-untyped-def]
    cli, model_files: ModelFiles, model_name: str, cli_env: Settings
) -> None:
    import mlflow
    import mlflow.onnx
    import onnx

    assert cli("models", "list").code == 0  # points MLflow at the test store
    for _ in range(2):
        with plain_mlflow_run(str(cli_env.mlflow_tracking_uri), cli_env.artifact_location()):
            mlflow.onnx.log_model(
                onnx.load_model_from_string(model_files.onnx.read_bytes()),
                name="model",
                registered_model_name=model_name,
                onnx_execution_providers=["CPUExecutionProvider"],
            )
    shown = cli("models", "show", model_name, "2", "--json").json()
    assert shown["inputs"][0]["datatype"] == "FP32" and shown["reference"] is None  # type: ignore[index]
    assert cli("promote", model_name, "1").code == 0
    assert cli("promote", model_name, "2").code == 0
    assert cli("rollback", model_name).code == 0
    assert cli("models", "alias", "set", model_name, "challenger", "2").code == 0
    aliases = cli("models", "show", model_name, "--json").json()["aliases"]  # type: ignore[index]
    assert aliases == {"champion": "1", "previous": "2", "challenger": "2"}


def test_a_bad_setting_is_a_one_line_error(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TURNOUT_AUTO_UPGRADE", "maybe")
    assert_user_error(cli("models", "list"), "TURNOUT_AUTO_UPGRADE")


def test_models_show_lists_aliases_per_version(cli, registered: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("promote", registered, "2").code == 0
    versions = cli("models", "show", registered, "--json").json()["versions"]  # type: ignore[index]
    assert [v["aliases"] for v in versions] == [[], ["champion"], []]
