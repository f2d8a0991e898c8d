"""`turnout alerts`, in process, against a real HTTP receiver and the CLI's control DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitors.alerts import FeatureDrift, NewAlert, load_config, raise_alert
from router.controller.signing import SIGNATURE_HEADER, verify
from tests.monitors.alerts.helpers import Receiver
from tests.turnout.cli_support import Cli, assert_user_error, make_cli
from turnout.services import Services
from turnout.settings import Settings

SECRET = "cli-secret"


@pytest.fixture
def config_file(cli_env: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = Path(cli_env.state_dir) / "alerts.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[sinks.hook]
type = "webhook"
url = "{receiver.url}"
secret_env = "TEST_HOOK_SECRET"
timeout_s = 2

[[routes]]
kinds = ["drift"]
sinks = ["hook", "log"]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], cli_env: Settings) -> Cli:
    return make_cli(capsys)


def raise_drift(settings: Settings, config_path: Path, feature: str = "amount") -> str:
    services = Services(settings)
    try:
        with services.sessions.begin() as s:
            raised = raise_alert(
                s,
                load_config(config_path),
                NewAlert(
                    kind="drift",
                    severity="warn",
                    model="fraud",
                    version="3",
                    feature=feature,
                    title=f"{feature} drifted",
                    features=(FeatureDrift(feature, "psi", 0.3, 0.1),),
                ),
            )
        return raised.alert_id
    finally:
        services.close()


def test_list_show_ack(cli: Cli, cli_env: Settings, config_file: Path) -> None:
    r = cli("alerts", "list")
    assert r.code == 0 and "no alerts" in r.out
    assert cli("alerts", "list", "--json").json() == []
    alert_id = raise_drift(cli_env, config_file)

    listed = cli("alerts", "list", "--json").json()
    assert [a["id"] for a in listed] == [alert_id]
    assert [d["sink"] for d in listed[0]["deliveries"]] == ["hook", "log"]
    table = cli("alerts", "list", "--model", "fraud")
    assert table.code == 0 and "fraud" in table.out and "pending" in table.out

    shown = cli("alerts", "show", alert_id[:8])
    assert shown.code == 0, shown.err
    assert f"alert {alert_id}" in shown.out and "amount: psi 0.3" in shown.out
    assert "open (not acknowledged)" in shown.out

    acked = cli("alerts", "ack", alert_id)
    assert acked.code == 0 and "acked by tester" in acked.out
    doc = cli("alerts", "show", alert_id, "--json").json()
    assert (doc["status"], doc["acked_by"]) == ("acked", "tester")
    assert cli("alerts", "list", "--status", "open", "--json").json() == []


def test_deliver_sends_what_is_due(
    cli: Cli, cli_env: Settings, config_file: Path, receiver: Receiver
) -> None:
    ids = {raise_drift(cli_env, config_file, f) for f in ("a", "b")}
    r = cli("alerts", "deliver")
    assert r.code == 0, r.err
    assert "4 delivered, 0 to retry, 0 failed" in r.out  # 2 alerts x (hook, log)
    assert {b["id"] for b in receiver.bodies()} == ids
    for got in receiver.received:
        assert verify(SECRET, got.body, got.headers[SIGNATURE_HEADER])
    assert cli("alerts", "deliver", "--json").json()["delivered"] == 0


def test_test_sends_one_alert_to_the_named_sink(
    cli: Cli, config_file: Path, receiver: Receiver
) -> None:
    r = cli("alerts", "test", "hook")
    assert r.code == 0, r.err
    assert "delivered to 'hook'" in r.out
    [body] = receiver.bodies()
    assert body["kind"] == "test" and body["severity"] == "info"
    assert cli("alerts", "test", "log").code == 0
    assert len(receiver.received) == 1


def test_test_reports_an_unreachable_sink_in_one_line(
    cli: Cli, config_file: Path, receiver: Receiver
) -> None:
    receiver.stop()
    r = cli("alerts", "test", "hook")
    assert_user_error(r, "test alert to 'hook' failed", "ConnectError")
    [alert] = cli("alerts", "list", "--kind", "test", "--json").json()
    [delivery] = alert["deliveries"]
    assert delivery["status"] == "failed" and "ConnectError" in delivery["last_error"]


def test_user_errors_are_one_line(cli: Cli, cli_env: Settings, config_file: Path) -> None:
    assert_user_error(cli("alerts", "test", "nope"), "no sink named 'nope'", "known: hook, log")
    assert_user_error(cli("alerts", "show", "deadbeef00"), "no alert with id 'deadbeef00'")
    assert_user_error(cli("alerts", "ack", "deadbeef00"), "no alert with id")
    assert_user_error(cli("alerts", "list", "--kind", "weather"), "unknown alert kind 'weather'")
    assert_user_error(cli("alerts", "list", "--status", "closed"), "--status must be open")
    assert_user_error(cli("alerts", "purge", "--older-than", "soon"), "--older-than")
    config_file.write_text('[sinks.x]\ntype = "pager"\n', encoding="utf-8")
    assert_user_error(cli("alerts", "test", "x"), str(config_file), "unknown sink type 'pager'")


def test_config_path_from_the_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("[sinks.x]\ntype = 'email'\nhost = 'h'\nport = 99999\n", encoding="utf-8")
    monkeypatch.setenv("TURNOUT_ALERTS_CONFIG", str(path))
    assert_user_error(cli("alerts", "test", "x"), "elsewhere.toml: sinks.x.port")


def test_purge(cli: Cli, cli_env: Settings, config_file: Path) -> None:
    raise_drift(cli_env, config_file)
    assert cli("alerts", "deliver").code == 0
    r = cli("alerts", "purge", "--older-than", "0s")
    assert r.code == 0 and "1 alerts purged" in r.out
