"""The alerts config: parsing, strict validation with one-line errors, routing, cooldowns."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from monitors.alerts import (
    AlertConfigError,
    AlertKind,
    Severity,
    UnknownSink,
    dedup_key,
    default_config,
    load_config,
    parse_config,
    parse_duration,
)
from monitors.alerts.rules import EmailSinkConfig, SlackSinkConfig, WebhookSinkConfig

FULL = """
cooldown = "30m"
dashboard_url = "{public_url}/models/{model}?alert={alert_id}"

[cooldowns]
data_quality = "2h"

[sinks.retrain]
type = "webhook"
url = "https://ci.example.com/hooks/retrain"
secret_env = "RETRAIN_SECRET"
format = "retraining"

[sinks.ops]
type = "slack"
url_env = "SLACK_OPS_URL"

[sinks.oncall]
type = "email"
host = "smtp.example.com"
port = 465
ssl = true
starttls = false
user = "alerts"
password_env = "SMTP_PASSWORD"
from = "turnout@example.com"
to = ["oncall@example.com", "ml@example.com"]

[[routes]]
kinds = ["drift", "data_quality"]
min_severity = "warn"
sinks = ["ops", "log"]

[[routes]]
kinds = ["drift"]
min_severity = "critical"
models = ["fraud"]
sinks = ["retrain", "oncall", "ops"]
"""


def test_full_example_parses() -> None:
    config = parse_config(FULL, "alerts.toml")
    assert set(config.sinks) == {"log", "retrain", "ops", "oncall"}
    assert isinstance(config.sinks["retrain"], WebhookSinkConfig)
    assert isinstance(config.sinks["ops"], SlackSinkConfig)
    mail = config.sinks["oncall"]
    assert isinstance(mail, EmailSinkConfig)
    assert (mail.port, mail.ssl, mail.sender, mail.to) == (
        465,
        True,
        "turnout@example.com",
        ["oncall@example.com", "ml@example.com"],
    )
    assert config.cooldown_for(AlertKind.DRIFT) == 1800
    assert config.cooldown_for(AlertKind.DATA_QUALITY) == 7200


def test_routes_pick_kind_severity_and_model_in_order_without_repeats() -> None:
    config = parse_config(FULL)
    assert config.sinks_for(AlertKind.DRIFT, Severity.INFO, "fraud") == []
    assert config.sinks_for(AlertKind.DRIFT, Severity.WARN, "fraud") == ["ops", "log"]
    assert config.sinks_for(AlertKind.DRIFT, Severity.CRITICAL, "fraud") == [
        "ops",
        "log",
        "retrain",
        "oncall",
    ]
    assert config.sinks_for(AlertKind.DRIFT, Severity.CRITICAL, "churn") == ["ops", "log"]
    assert config.sinks_for(AlertKind.ROLLOUT_ROLLBACK, Severity.CRITICAL, "fraud") == []


def test_no_file_means_log_only(tmp_path: Path) -> None:
    config = load_config(tmp_path / "alerts.toml")
    assert list(config.sinks) == ["log"]
    for kind in AlertKind:
        assert config.sinks_for(kind, Severity.INFO, "m") == ["log"]
    assert "missing" in config.source
    assert default_config().sinks_for(AlertKind.DRIFT, Severity.INFO, "m") == ["log"]


def test_a_file_without_routes_routes_everything_to_log() -> None:
    config = parse_config('[sinks.h]\ntype = "webhook"\nurl = "http://h/x"\n')
    assert config.sinks_for(AlertKind.DRIFT, Severity.INFO, "m") == ["log"]


def test_events_have_no_cooldown_unless_configured() -> None:
    config = parse_config("cooldown = 600\n[cooldowns]\ntest = 60\n")
    assert config.cooldown_for(AlertKind.DRIFT) == 600
    assert config.cooldown_for(AlertKind.ROLLOUT_ROLLBACK) == 0
    assert config.cooldown_for(AlertKind.TEST) == 60


def test_unknown_sink_lookup() -> None:
    with pytest.raises(UnknownSink, match="no sink named 'nope'.*known: log"):
        default_config().sink("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cooldown = ", "not valid TOML"),
        ("colddown = 1", "unknown key 'colddown'"),
        ('[sinks.x]\ntype = "pager"', "sinks.x: unknown sink type 'pager'"),
        ("[sinks.x]\nurl = 'http://h'", "sinks.x: unknown sink type None"),
        ('[sinks.x]\ntype = "webhook"\nurl = "ftp://h/x"', "sinks.x.url: must be an http"),
        ('[sinks.x]\ntype = "webhook"\nurl = "not a url"', "sinks.x.url: must be an http"),
        ('[sinks.x]\ntype = "webhook"', "sinks.x: give exactly one of url and url_env"),
        (
            '[sinks.x]\ntype = "webhook"\nurl = "http://h"\nsecret = "s3cret"',
            "sinks.x.secret: secrets never go in the config file",
        ),
        (
            '[sinks.x]\ntype = "webhook"\nurl = "http://h"\nsecret_env = "my-secret"',
            "sinks.x.secret_env: must be an environment variable name",
        ),
        ('[sinks.x]\ntype = "webhook"\nurl = "http://h"\ntimeout_s = 0', "sinks.x.timeout_s"),
        ('[sinks.x]\ntype = "webhook"\nurl = "http://h"\nretries = 3', "retries: unknown setting"),
        ('[sinks.x]\ntype = "slack"\nurl = "https://hooks.slack.com/x"', "a Slack webhook URL"),
        ('[sinks.x]\ntype = "slack"', "sinks.x.url_env: Field required"),
        ('[sinks.log]\ntype = "webhook"\nurl = "http://h"', "'log' is reserved"),
        ("[[routes]]\nsinks = ['nope']", "routes[0]: unknown sink 'nope' (defined: log)"),
        ("[[routes]]\nsinks = []", "routes[0].sinks"),
        ("[[routes]]\nsinks = ['log']\nkinds = ['weather']", "routes[0].kinds.0"),
        ("[[routes]]\nsinks = ['log']\nmin_severity = 'high'", "routes[0].min_severity"),
        ("cooldown = '5 parsecs'", "cooldown: expected a duration"),
        ("cooldown = -5", "cooldown: a duration cannot be negative"),
        ("[cooldowns]\nweather = '1h'", "cooldowns.weather: unknown alert kind"),
        ("dashboard_url = '{host}/x'", "dashboard_url: bad placeholder 'host'"),
    ],
)
def test_invalid_config_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(AlertConfigError) as info:
        parse_config(text, "cfg.toml")
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith("cfg.toml")
    assert message in line, line


SMTP = '[sinks.m]\ntype = "email"\nhost = "smtp.example.com"\nfrom = "a@example.com"\n'


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('to = ["b@example.com"]\nport = 70000', "sinks.m.port: Input should be less than"),
        ('to = ["b@example.com"]\nport = 0', "sinks.m.port: Input should be greater than"),
        ('to = ["b@example.com"]\nport = "smtp"', "sinks.m.port"),
        ("to = []", "sinks.m.to: List should have at least 1 item"),
        ('to = ["not-an-address"]', "not an email address: 'not-an-address'"),
        ('to = ["b@example.com"]\nssl = true', "ssl and starttls exclude each other"),
        ('to = ["b@example.com"]\nuser = "u"', "user and password_env go together"),
        ('to = ["b@example.com"]\npassword = "hunter2"', "sinks.m.password: secrets never go"),
        ('to = ["b@example.com"]\nhost = ""', "not valid TOML"),  # duplicate key
    ],
)
def test_bad_smtp_settings_are_refused(extra: str, message: str) -> None:
    with pytest.raises(AlertConfigError) as info:
        parse_config(SMTP + extra, "cfg.toml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_empty_smtp_host_is_refused() -> None:
    text = '[sinks.m]\ntype = "email"\nhost = ""\nfrom = "a@x.y"\nto = ["b@x.y"]\n'
    with pytest.raises(AlertConfigError, match="sinks.m.host"):
        parse_config(text)


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[sinks.x]\ntype = "pager"\n', encoding="utf-8")
    with pytest.raises(AlertConfigError, match=str(path)):
        load_config(path)
    with pytest.raises(AlertConfigError, match="is not a file"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("30s", 30.0), ("15m", 900.0), ("2h", 7200.0),
     ("1d", 86400.0), ("250ms", 0.25), ("0", 0.0)],
)  # fmt: skip
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "1w", "h", True, None, "-1s"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_dedup_key_has_four_parts_and_stays_within_the_column() -> None:
    assert dedup_key("fraud", "7", "drift", "amount") == "fraud|7|drift|amount"
    assert dedup_key("fraud", None, "drift") == "fraud|*|drift|*"
    long_a = dedup_key("m" * 200, "1", "drift", "f" * 100 + "a")
    long_b = dedup_key("m" * 200, "1", "drift", "f" * 100 + "b")
    assert len(long_a) == len(long_b) == 255
    assert long_a != long_b


PURE = ["rules.py", "payload.py", "render.py", "errors.py"]
ALLOWED = {"pydantic", "monitors"}
IO_MODULES = {"os", "io", "pathlib", "socket", "smtplib", "http", "ssl", "sqlalchemy", "httpx"}


@pytest.mark.parametrize("module", PURE)
def test_the_alert_core_is_pure(module: str) -> None:
    source = Path(__file__).resolve().parents[3] / "monitors" / "alerts" / module
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    foreign = {r for r in roots if r not in sys.stdlib_module_names} - ALLOWED
    assert not foreign and not roots & IO_MODULES, roots
