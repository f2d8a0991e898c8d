"""Alert kinds, severities, dedup keys, cooldowns, sinks and routing rules (pure).

`parse_config` turns the TOML text of the alerts config file into a validated, frozen
`AlertsConfig`; every problem is one line naming the file and the offending key.
Secrets (Slack URLs, HMAC keys, SMTP passwords) are never written in the file: a sink
names the environment variable that holds each one.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitors.alerts.errors import AlertConfigError, UnknownSink

__all__ = [
    "DEFAULT_COOLDOWN_S",
    "DEFAULT_DASHBOARD_URL",
    "LOG_SINK",
    "AlertKind",
    "AlertsConfig",
    "EmailSinkConfig",
    "LogSinkConfig",
    "Route",
    "Severity",
    "SinkConfig",
    "SlackSinkConfig",
    "WebhookSinkConfig",
    "as_kind",
    "as_severity",
    "dedup_key",
    "default_config",
    "parse_config",
    "parse_duration",
]

LOG_SINK = "log"
DEFAULT_COOLDOWN_S = 3600.0
# Where a human lands from an alert; `{public_url}` is TURNOUT_PUBLIC_URL.
DEFAULT_DASHBOARD_URL = "{public_url}/api/v1/alerts/{alert_id}"
_DEDUP_KEY_MAX = 255  # the width of alerts.dedup_key
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TEMPLATE_FIELDS = ("public_url", "alert_id", "model", "version", "kind")


class Severity(StrEnum):
    """How urgent an alert is; routes pick alerts at or above a minimum severity."""

    INFO = "info"
    WARN = "warn"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.CRITICAL: 2}


class AlertKind(StrEnum):
    """What happened. `test` alerts come from `turnout alerts test SINK`."""

    DRIFT = "drift"
    DATA_QUALITY = "data_quality"
    ROLLOUT_ROLLBACK = "rollout_rollback"
    TEST = "test"


def dedup_key(model: str, version: str | None, kind: str, feature: str | None = None) -> str:
    """The key that groups repeats of one condition: model|version|kind|feature.

    A missing version or feature is `*`. Keys longer than the column keep a readable
    prefix and end in a hash of the whole key, so distinct keys stay distinct.
    """
    key = "|".join((model, version or "*", str(kind), feature or "*"))
    if len(key) <= _DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[: _DEDUP_KEY_MAX - len(digest) - 1] + "#" + digest


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string such as `90`, `30s`, `15m`, `2h`, `1d`."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s, 15m or 2h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration such as 30s, 15m or 2h, got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"must be an environment variable name, got {value!r}")
    return value


def _check_http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value


def _check_address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value.strip()):
        raise ValueError(f"not an email address: {value!r}")
    return value.strip()


class _Sink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookSinkConfig(_Sink):
    """POST the alert as JSON, signed with HMAC-SHA256 when `secret_env` is set.

    `format = "retraining"` sends the retraining-trigger document instead of the full
    alert document (docs/alerts.md describes both).
    """

    type: Literal["webhook"] = "webhook"
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    format: Literal["alert", "retraining"] = "alert"
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    @field_validator("url_env", "secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return _check_env_name(value)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSinkConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env")
        return self


class SlackSinkConfig(_Sink):
    """A Slack incoming webhook; its URL is a secret, so it is named by `url_env`."""

    type: Literal["slack"] = "slack"
    url_env: str
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_features: int = Field(default=5, ge=1, le=50)

    @field_validator("url_env")
    @classmethod
    def _env(cls, value: str) -> str:
        _check_env_name(value)
        return value


class EmailSinkConfig(_Sink):
    """Mail over SMTP: implicit TLS (`ssl`), STARTTLS, or plain (a local relay)."""

    type: Literal["email"] = "email"
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password_env: str | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return _check_env_name(value)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _check_address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_check_address(v) for v in value]

    @model_validator(mode="after")
    def _consistent(self) -> EmailSinkConfig:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other (ssl is TLS from the start)")
        if (self.user is None) != (self.password_env is None):
            raise ValueError("user and password_env go together")
        return self


class LogSinkConfig(_Sink):
    """Write one line per alert to the `turnout.alerts` logger."""

    type: Literal["log"] = "log"


SinkConfig = WebhookSinkConfig | SlackSinkConfig | EmailSinkConfig | LogSinkConfig
_SINK_TYPES: dict[str, type[_Sink]] = {
    "webhook": WebhookSinkConfig,
    "slack": SlackSinkConfig,
    "email": EmailSinkConfig,
    "log": LogSinkConfig,
}
# Keys that would put a secret in the file, and where it belongs instead.
_INLINE_SECRETS = {"password": "password_env", "secret": "secret_env", "token": "secret_env"}


class Route(BaseModel):
    """Alerts of these kinds (default all), at or above `min_severity`, for these models
    (default all) go to these sinks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: tuple[AlertKind, ...] = tuple(AlertKind)
    min_severity: Severity = Severity.INFO
    models: tuple[str, ...] = ()
    sinks: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)

    def matches(self, kind: AlertKind, severity: Severity, model: str) -> bool:
        return (
            kind in self.kinds
            and severity.rank >= self.min_severity.rank
            and (not self.models or model in self.models)
        )


@dataclass(frozen=True)
class AlertsConfig:
    """The validated alerts configuration: named sinks, routes, cooldowns, links."""

    sinks: Mapping[str, SinkConfig]
    routes: tuple[Route, ...]
    cooldown_s: float = DEFAULT_COOLDOWN_S
    cooldowns: Mapping[AlertKind, float] = field(default_factory=dict)
    dashboard_url: str = DEFAULT_DASHBOARD_URL
    source: str = "<defaults>"

    def sinks_for(self, kind: AlertKind, severity: Severity, model: str) -> list[str]:
        """The sinks an alert goes to, in route order, each once (`test` alerts name
        their sink themselves and are not routed)."""
        names: list[str] = []
        for route in self.routes:
            if route.matches(kind, severity, model):
                names.extend(s for s in route.sinks if s not in names)
        return names

    def cooldown_for(self, kind: AlertKind) -> float:
        """Seconds during which a repeat of one dedup key is counted, not sent again.

        Rollbacks and test alerts are events, not conditions: unless the file says
        otherwise, each one is sent."""
        if kind in self.cooldowns:
            return self.cooldowns[kind]
        if kind in (AlertKind.ROLLOUT_ROLLBACK, AlertKind.TEST):
            return 0.0
        return self.cooldown_s

    def sink(self, name: str) -> SinkConfig:
        try:
            return self.sinks[name]
        except KeyError:
            known = ", ".join(sorted(self.sinks))
            raise UnknownSink(f"no sink named '{name}' in {self.source} (known: {known})") from None


def default_config(source: str = "<defaults>") -> AlertsConfig:
    """No config file: every alert goes to the log sink only."""
    return AlertsConfig(
        sinks={LOG_SINK: LogSinkConfig()},
        routes=(Route(sinks=(LOG_SINK,)),),
        source=source,
    )


def parse_config(text: str, source: str = "alerts.toml") -> AlertsConfig:
    """Validate the TOML text of an alerts config file; AlertConfigError on any problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"cooldown", "cooldowns", "dashboard_url", "sinks", "routes"}
    if unknown:
        raise AlertConfigError(
            f"{source}: unknown key {sorted(unknown)[0]!r} (expected cooldown, cooldowns, "
            "dashboard_url, sinks, routes)"
        )
    sinks = _parse_sinks(doc.get("sinks", {}), source)
    routes = _parse_routes(doc.get("routes"), sinks, source)
    cooldown_s = _duration(doc.get("cooldown", DEFAULT_COOLDOWN_S), "cooldown", source)
    cooldowns = _parse_cooldowns(doc.get("cooldowns", {}), source)
    dashboard_url = _parse_template(doc.get("dashboard_url", DEFAULT_DASHBOARD_URL), source)
    return AlertsConfig(
        sinks=sinks,
        routes=routes,
        cooldown_s=cooldown_s,
        cooldowns=cooldowns,
        dashboard_url=dashboard_url,
        source=source,
    )


def _parse_sinks(raw: object, source: str) -> dict[str, SinkConfig]:
    if not isinstance(raw, dict):
        raise AlertConfigError(f"{source}: sinks must be a table of [sinks.NAME] tables")
    sinks: dict[str, SinkConfig] = {LOG_SINK: LogSinkConfig()}
    for name, body in raw.items():
        where = f"{source}: sinks.{name}"
        if not isinstance(body, dict):
            raise AlertConfigError(f"{where}: must be a table")
        kind = body.get("type")
        if kind not in _SINK_TYPES:
            raise AlertConfigError(
                f"{where}: unknown sink type {kind!r} (expected webhook, slack, email or log)"
            )
        for key, instead in _INLINE_SECRETS.items():
            if key in body:
                raise AlertConfigError(
                    f"{where}.{key}: secrets never go in the config file; put it in an "
                    f"environment variable and name that variable in {instead}"
                )
        if kind == "slack" and "url" in body:
            raise AlertConfigError(
                f"{where}.url: a Slack webhook URL is a secret; put it in an environment "
                "variable and name that variable in url_env"
            )
        if name == LOG_SINK and kind != "log":
            raise AlertConfigError(f"{where}: the name 'log' is reserved for the log sink")
        try:
            sink = _SINK_TYPES[kind].model_validate(body)
        except ValidationError as exc:
            raise AlertConfigError(_first_error(where, exc)) from None
        sinks[name] = sink  # type: ignore[assignment]
    return sinks


def _parse_routes(raw: object, sinks: Mapping[str, SinkConfig], source: str) -> tuple[Route, ...]:
    if raw is None:
        return (Route(sinks=(LOG_SINK,)),)
    if not isinstance(raw, list):
        raise AlertConfigError(f"{source}: routes must be an array of [[routes]] tables")
    routes: list[Route] = []
    for index, body in enumerate(raw):
        where = f"{source}: routes[{index}]"
        if not isinstance(body, dict):
            raise AlertConfigError(f"{where}: must be a table")
        try:
            route = Route.model_validate(body)
        except ValidationError as exc:
            raise AlertConfigError(_first_error(where, exc)) from None
        for name in route.sinks:
            if name not in sinks:
                known = ", ".join(sorted(sinks))
                raise AlertConfigError(f"{where}: unknown sink '{name}' (defined: {known})")
        routes.append(route)
    return tuple(routes)


def _parse_cooldowns(raw: object, source: str) -> dict[AlertKind, float]:
    if not isinstance(raw, dict):
        raise AlertConfigError(f"{source}: cooldowns must be a table of kind = duration")
    cooldowns: dict[AlertKind, float] = {}
    for kind, value in raw.items():
        try:
            alert_kind = AlertKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in AlertKind)
            raise AlertConfigError(
                f"{source}: cooldowns.{kind}: unknown alert kind (expected one of {kinds})"
            ) from None
        cooldowns[alert_kind] = _duration(value, f"cooldowns.{kind}", source)
    return cooldowns


def _parse_template(raw: object, source: str) -> str:
    if not isinstance(raw, str):
        raise AlertConfigError(f"{source}: dashboard_url must be a string")
    try:
        raw.format(**dict.fromkeys(_TEMPLATE_FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        fields = ", ".join("{" + f + "}" for f in _TEMPLATE_FIELDS)
        raise AlertConfigError(
            f"{source}: dashboard_url: bad placeholder {exc} (allowed: {fields})"
        ) from None
    return raw


def _duration(value: object, key: str, source: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise AlertConfigError(f"{source}: {key}: {exc}") from None


def _first_error(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        message = "unknown setting"
    return f"{where}{'.' + loc if loc else ''}: {message}"


def as_severity(value: Severity | str) -> Severity:
    """`value` as a Severity; ValueError naming the allowed values otherwise."""
    try:
        return Severity(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise ValueError(f"unknown severity {value!r} (expected {allowed})") from None


def as_kind(value: AlertKind | str) -> AlertKind:
    """`value` as an AlertKind; ValueError naming the allowed values otherwise."""
    try:
        return AlertKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in AlertKind)
        raise ValueError(f"unknown alert kind {value!r} (expected {allowed})") from None
