"""Where alerts go: generic webhook, Slack incoming webhook, email over SMTP, log.

Every sink implements `AlertSink.send(alert)`: it returns when the receiver has taken
the alert (a 2xx answer, an SMTP server that accepted the message) and raises
DeliveryError otherwise. Secrets are looked up by environment-variable name in the
`secrets` mapping the composition root passes in, at send time.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import httpx
import orjson

from monitors.alerts.errors import DeliveryError
from monitors.alerts.payload import AlertRead
from monitors.alerts.render import (
    Links,
    alert_document,
    email_message,
    log_line,
    retraining_document,
    slack_message,
)
from monitors.alerts.rules import (
    AlertsConfig,
    EmailSinkConfig,
    LogSinkConfig,
    SinkConfig,
    SlackSinkConfig,
    WebhookSinkConfig,
)
from router.controller.signing import SIGNATURE_HEADER, sign

__all__ = [
    "ALERT_ID_HEADER",
    "AlertSink",
    "EmailSink",
    "LogSink",
    "MemorySink",
    "SlackSink",
    "WebhookSink",
    "build_sink",
    "build_sinks",
]

ALERT_ID_HEADER = "x-turnout-alert-id"
_USER_AGENT = "turnout-alerts"
_log = logging.getLogger("turnout.alerts")
_LOG_LEVEL = {"info": logging.INFO, "warn": logging.WARNING, "critical": logging.ERROR}
_Config = TypeVar("_Config", WebhookSinkConfig, SlackSinkConfig)


@runtime_checkable
class AlertSink(Protocol):
    """Something that takes alerts. `describe()` names it in errors without secrets."""

    name: str

    def send(self, alert: AlertRead) -> None: ...

    def describe(self) -> str: ...


def _secret(secrets: Mapping[str, str], env: str, sink: str, what: str) -> str:
    value = secrets.get(env, "")
    if not value:
        raise DeliveryError(f"{sink}: {what} environment variable {env} is not set")
    return value


def _post(
    sink: str,
    where: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    transport: httpx.BaseTransport | None,
) -> None:
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.post(url, content=body, headers=dict(headers))
    except httpx.InvalidURL as exc:
        raise DeliveryError(f"{sink}: bad URL {where}: {exc}") from None
    except httpx.HTTPError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DeliveryError(f"{sink}: POST {where} failed: {type(exc).__name__} {reason}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{sink}: POST {where} answered {response.status_code}")


class _HttpSink(Generic[_Config]):
    """What the sinks that POST over HTTP hold; `transport` lets tests answer in process."""

    def __init__(
        self,
        name: str,
        config: _Config,
        secrets: Mapping[str, str],
        links: Links,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name, self.secrets, self.links = name, secrets, links
        self.config: _Config = config
        self.transport = transport


class WebhookSink(_HttpSink[WebhookSinkConfig]):
    """POST a JSON document (the alert, or the retraining trigger), HMAC-signed."""

    def describe(self) -> str:
        # A URL from the environment may embed a token: name the variable instead.
        where = self.config.url or f"${self.config.url_env}"
        return f"webhook {self.name} ({where})"

    def body(self, alert: AlertRead) -> bytes:
        if self.config.format == "retraining":
            return orjson.dumps(retraining_document(alert, self.links))
        return orjson.dumps(alert_document(alert, self.links))

    def send(self, alert: AlertRead) -> None:
        cfg = self.config
        url = cfg.url or _secret(self.secrets, cfg.url_env or "", self.name, "URL")
        body = self.body(alert)
        headers = {
            **cfg.headers,
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            ALERT_ID_HEADER: alert.id,
        }
        if cfg.secret_env:
            headers[SIGNATURE_HEADER] = sign(
                _secret(self.secrets, cfg.secret_env, self.name, "signing secret"), body
            )
        where = cfg.url or f"${cfg.url_env}"
        _post(self.name, where, url, body, headers, cfg.timeout_s, self.transport)


class SlackSink(_HttpSink[SlackSinkConfig]):
    """A Slack incoming webhook: a readable message with the top drifted features."""

    def describe(self) -> str:
        return f"slack {self.name} (${self.config.url_env})"

    def message(self, alert: AlertRead) -> dict[str, Any]:
        return slack_message(alert, self.links, self.config.max_features)

    def send(self, alert: AlertRead) -> None:
        cfg = self.config
        url = _secret(self.secrets, cfg.url_env, self.name, "webhook URL")
        body = orjson.dumps(self.message(alert))
        headers = {"content-type": "application/json", "user-agent": _USER_AGENT}
        _post(self.name, f"${cfg.url_env}", url, body, headers, cfg.timeout_s, self.transport)


class EmailSink:
    """Plain-text mail over SMTP (implicit TLS, STARTTLS, or a plain local relay)."""

    def __init__(
        self, name: str, config: EmailSinkConfig, secrets: Mapping[str, str], links: Links
    ) -> None:
        self.name, self.config, self.secrets, self.links = name, config, secrets, links

    def describe(self) -> str:
        return f"email {self.name} (smtp {self.config.host}:{self.config.port})"

    def message(self, alert: AlertRead) -> EmailMessage:
        cfg = self.config
        subject, text = email_message(alert, self.links)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = cfg.sender
        msg["To"] = ", ".join(cfg.to)
        msg["Date"] = formatdate(alert.created_at.timestamp(), usegmt=True)
        # A stable Message-ID per alert lets mail clients fold duplicate deliveries.
        msg["Message-ID"] = f"<{alert.id}.{self.name}@turnout>"
        msg[ALERT_ID_HEADER] = alert.id
        msg.set_content(text)
        return msg

    def send(self, alert: AlertRead) -> None:
        cfg = self.config
        password = None
        if cfg.password_env:
            password = _secret(self.secrets, cfg.password_env, self.name, "SMTP password")
        message = self.message(alert)
        where = f"{self.name}: SMTP {cfg.host}:{cfg.port}"
        try:
            smtp: smtplib.SMTP
            if cfg.ssl:
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
            with smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.user and password is not None:
                    smtp.login(cfg.user, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"{where}: {_smtp_reason(exc)}") from None
        except (OSError, ssl.SSLError) as exc:
            reason = str(exc).strip() or type(exc).__name__
            raise DeliveryError(f"{where}: {type(exc).__name__}: {reason}") from None
        if refused:
            raise DeliveryError(f"{where}: refused recipients {', '.join(sorted(refused))}")


def _smtp_reason(exc: smtplib.SMTPException) -> str:
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if code is not None and text:
        return f"{type(exc).__name__} {code} {str(text).splitlines()[0]}"
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


class LogSink:
    """One log line per alert on the `turnout.alerts` logger (never fails)."""

    def __init__(self, name: str = "log") -> None:
        self.name = name

    def describe(self) -> str:
        return f"log {self.name}"

    def send(self, alert: AlertRead) -> None:
        _log.log(_LOG_LEVEL.get(alert.severity, logging.WARNING), "%s", log_line(alert))


class MemorySink:
    """A fake sink for tests: keeps what it was sent; `fail_with` makes it refuse."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.sent: list[AlertRead] = []
        self.fail_with: str | None = None

    def describe(self) -> str:
        return f"memory {self.name}"

    def send(self, alert: AlertRead) -> None:
        if self.fail_with is not None:
            raise DeliveryError(f"{self.name}: {self.fail_with}")
        self.sent.append(alert)


_Factory = Callable[[str, Any, Mapping[str, str], Links, httpx.BaseTransport | None], AlertSink]


def _webhook(
    name: str, cfg: Any, secrets: Mapping[str, str], links: Links, t: httpx.BaseTransport | None
) -> AlertSink:
    return WebhookSink(name, cfg, secrets, links, transport=t)


def _slack(
    name: str, cfg: Any, secrets: Mapping[str, str], links: Links, t: httpx.BaseTransport | None
) -> AlertSink:
    return SlackSink(name, cfg, secrets, links, transport=t)


def _email(
    name: str, cfg: Any, secrets: Mapping[str, str], links: Links, t: httpx.BaseTransport | None
) -> AlertSink:
    return EmailSink(name, cfg, secrets, links)


def _logsink(
    name: str, cfg: Any, secrets: Mapping[str, str], links: Links, t: httpx.BaseTransport | None
) -> AlertSink:
    return LogSink(name)


_FACTORIES: dict[type[Any], _Factory] = {
    WebhookSinkConfig: _webhook,
    SlackSinkConfig: _slack,
    EmailSinkConfig: _email,
    LogSinkConfig: _logsink,
}


def build_sink(
    name: str,
    config: SinkConfig,
    secrets: Mapping[str, str],
    links: Links,
    *,
    transport: httpx.BaseTransport | None = None,
) -> AlertSink:
    return _FACTORIES[type(config)](name, config, secrets, links, transport)


def build_sinks(
    config: AlertsConfig,
    secrets: Mapping[str, str],
    *,
    public_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, AlertSink]:
    """One sink per configured name (the `log` sink always exists)."""
    links = Links(public_url, config.dashboard_url)
    return {
        name: build_sink(name, cfg, secrets, links, transport=transport)
        for name, cfg in config.sinks.items()
    }
