"""Sinks against real receivers: an HTTP server and an SMTP server started by the test."""

from __future__ import annotations

import email
import logging
from email.policy import default as default_policy

import pytest

from monitors.alerts import (
    ALERT_ID_HEADER,
    ALERT_SCHEMA,
    RETRAINING_SCHEMA,
    DeliveryError,
    EmailSink,
    Links,
    LogSink,
    SlackSink,
    WebhookSink,
    build_sinks,
    parse_config,
)
from monitors.alerts.rules import EmailSinkConfig, SlackSinkConfig, WebhookSinkConfig
from router.controller.signing import SIGNATURE_HEADER, sign, verify
from tests.monitors.alerts.helpers import Mailbox, Receiver, free_port
from tests.monitors.alerts.test_render import drift_alert, stored

LINKS = Links("http://turnout.test")
SECRET = "s3cret-key"


def webhook(url: str, **extra: object) -> WebhookSinkConfig:
    return WebhookSinkConfig.model_validate({"url": url, "timeout_s": 5, **extra})


def test_webhook_posts_the_signed_alert_document(receiver: Receiver) -> None:
    alert = stored(drift_alert())
    sink = WebhookSink(
        "hook",
        webhook(receiver.url, secret_env="HOOK_SECRET", headers={"x-team": "ml"}),
        {"HOOK_SECRET": SECRET},
        LINKS,
    )
    sink.send(alert)
    [got] = receiver.received
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert got.headers[ALERT_ID_HEADER] == alert.id
    assert got.headers["x-team"] == "ml"
    assert got.headers[SIGNATURE_HEADER] == sign(SECRET, got.body)
    assert verify(SECRET, got.body, got.headers[SIGNATURE_HEADER])
    assert not verify("other", got.body, got.headers[SIGNATURE_HEADER])
    doc = got.json()
    assert doc["schema"] == ALERT_SCHEMA and doc["id"] == alert.id


def test_rollout_webhooks_and_alerts_share_one_signing_function() -> None:
    from router.controller import webhooks

    assert webhooks.sign is sign and webhooks.SIGNATURE_HEADER == SIGNATURE_HEADER


def test_retraining_webhook_sends_the_trigger_document(receiver: Receiver) -> None:
    alert = stored(drift_alert())
    sink = WebhookSink("retrain", webhook(receiver.url, format="retraining"), {}, LINKS)
    sink.send(alert)
    doc = receiver.bodies()[0]
    assert doc["schema"] == RETRAINING_SCHEMA
    assert (doc["alert_id"], doc["model"], doc["version"]) == (alert.id, "fraud", "7")
    assert doc["report_url"] == "http://turnout.test/api/v1/drift/reports/12"
    assert SIGNATURE_HEADER not in receiver.received[0].headers  # no secret, no signature


def test_webhook_url_from_the_environment(receiver: Receiver) -> None:
    sink = WebhookSink("h", webhook_env(), {"HOOK_URL": receiver.url}, LINKS)
    sink.send(stored(drift_alert()))
    assert len(receiver.received) == 1
    assert sink.describe() == "webhook h ($HOOK_URL)"


def webhook_env() -> WebhookSinkConfig:
    return WebhookSinkConfig.model_validate({"url_env": "HOOK_URL"})


def test_webhook_failures_are_delivery_errors(receiver: Receiver) -> None:
    alert = stored(drift_alert())
    receiver.status = 500
    sink = WebhookSink("hook", webhook(receiver.url), {}, LINKS)
    with pytest.raises(
        DeliveryError, match=r"hook: POST http://127\.0\.0\.1:\d+/hook answered 500"
    ):
        sink.send(alert)
    down = WebhookSink("hook", webhook(f"http://127.0.0.1:{free_port()}/x"), {}, LINKS)
    with pytest.raises(DeliveryError, match="failed: ConnectError"):
        down.send(alert)
    secretless = WebhookSink("hook", webhook(receiver.url, secret_env="MISSING"), {}, LINKS)
    with pytest.raises(DeliveryError, match="signing secret environment variable MISSING"):
        secretless.send(alert)
    with pytest.raises(DeliveryError, match=r"URL environment variable HOOK_URL is not set"):
        WebhookSink("h", webhook_env(), {}, LINKS).send(alert)
    with pytest.raises(DeliveryError, match=r"h: bad URL \$HOOK_URL"):
        WebhookSink("h", webhook_env(), {"HOOK_URL": "http://[::1"}, LINKS).send(alert)


def test_slack_gets_a_readable_message(receiver: Receiver) -> None:
    alert = stored(drift_alert())
    config = SlackSinkConfig(url_env="SLACK_URL", max_features=3)
    SlackSink("ops", config, {"SLACK_URL": receiver.url}, LINKS).send(alert)
    msg = receiver.bodies()[0]
    assert set(msg) == {"text", "blocks"}
    assert "fraud v7" in msg["text"]
    rendered = str(msg["blocks"])
    assert "amount: psi 0.41" in rendered and "http://turnout.test/api/v1/alerts/" in rendered
    with pytest.raises(DeliveryError, match="ops: webhook URL environment variable SLACK_URL"):
        SlackSink("ops", config, {}, LINKS).send(alert)


def mail_config(port: int, **extra: object) -> EmailSinkConfig:
    doc: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "from": "turnout@example.com",
        "to": ["oncall@example.com", "ml@example.com"],
        "timeout_s": 5,
    }
    doc.update(extra)
    return EmailSinkConfig.model_validate(doc)


def test_email_reaches_a_real_smtp_server(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    alert = stored(drift_alert())
    EmailSink("oncall", mail_config(port), {}, LINKS).send(alert)
    [envelope] = box.messages
    assert envelope.mail_from == "turnout@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "ml@example.com"]
    msg = email.message_from_bytes(envelope.content, policy=default_policy)
    assert msg["Subject"] == "[turnout critical] fraud v7: 3 of 20 features drifted"
    assert msg["Message-ID"] == f"<{alert.id}.oncall@turnout>"
    assert msg[ALERT_ID_HEADER] == alert.id
    body = msg.get_body().get_content()  # type: ignore[union-attr]
    assert "amount: psi 0.41" in body and f"Alert id: {alert.id}" in body


def test_email_failures_are_delivery_errors(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    alert = stored(drift_alert())
    # The test server offers no STARTTLS: asking for it is a clear error, not a crash.
    with pytest.raises(DeliveryError, match=r"oncall: SMTP 127\.0\.0\.1:\d+: .*STARTTLS"):
        EmailSink("oncall", mail_config(port, starttls=True), {}, LINKS).send(alert)
    closed = free_port()
    with pytest.raises(DeliveryError, match=rf"SMTP 127\.0\.0\.1:{closed}: ConnectionRefusedError"):
        EmailSink("oncall", mail_config(closed), {}, LINKS).send(alert)
    with_user = mail_config(port, user="u", password_env="SMTP_PASSWORD")
    with pytest.raises(DeliveryError, match="SMTP password environment variable SMTP_PASSWORD"):
        EmailSink("oncall", with_user, {}, LINKS).send(alert)
    # Implicit TLS against a plain server fails the handshake; still one line.
    with pytest.raises(DeliveryError, match=r"SMTP 127\.0\.0\.1:\d+: SSL"):
        EmailSink("oncall", mail_config(port, ssl=True, starttls=False), {}, LINKS).send(alert)
    assert box.messages == []


def test_log_sink_writes_one_line_at_the_severity(caplog: pytest.LogCaptureFixture) -> None:
    alert = stored(drift_alert())
    with caplog.at_level(logging.INFO, logger="turnout.alerts"):
        LogSink().send(alert)
    [record] = caplog.records
    assert record.levelno == logging.ERROR  # critical
    assert alert.id in record.getMessage()


def test_build_sinks_makes_one_per_configured_name(receiver: Receiver) -> None:
    config = parse_config(
        f"""
[sinks.hook]
type = "webhook"
url = "{receiver.url}"
[sinks.ops]
type = "slack"
url_env = "SLACK_URL"
[sinks.mail]
type = "email"
host = "127.0.0.1"
from = "a@example.com"
to = ["b@example.com"]
"""
    )
    sinks = build_sinks(config, {}, public_url="http://t")
    assert {n: type(s).__name__ for n, s in sinks.items()} == {
        "log": "LogSink",
        "hook": "WebhookSink",
        "ops": "SlackSink",
        "mail": "EmailSink",
    }
    assert sinks["mail"].describe() == "email mail (smtp 127.0.0.1:587)"
