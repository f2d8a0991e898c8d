"""What receivers get: alert document, retraining trigger, Slack message, email, log line."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson
import pytest

from monitors.alerts import (
    ALERT_SCHEMA,
    RETRAINING_SCHEMA,
    AlertKind,
    AlertRead,
    FeatureDrift,
    Links,
    NewAlert,
    Severity,
    alert_document,
    retraining_document,
    slack_message,
)
from monitors.alerts.render import email_message, log_line

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def drift_alert(**overrides: object) -> NewAlert:
    fields: dict[str, object] = {
        "kind": "drift",
        "severity": "critical",
        "model": "fraud",
        "version": "7",
        "title": "fraud v7: 3 of 20 features drifted",
        "summary": "Dataset drift: 15% of features past their calibrated thresholds.",
        "features": (
            FeatureDrift("age", "psi", 0.12, 0.1, "WARN"),
            FeatureDrift("amount", "psi", 0.41, 0.1),
            FeatureDrift("country", "jensen_shannon", 0.3, 0.15, "DRIFT", p_value=0.001),
            FeatureDrift("hour", "wasserstein", math.nan, 0.1, "DRIFT"),
        ),
        "window_start": T0,
        "window_end": T1,
        "report_url": "/api/v1/drift/reports/12",
        "details": {"drift_share": 0.15},
    }
    fields.update(overrides)
    return NewAlert(**fields)  # type: ignore[arg-type]


def stored(alert: NewAlert, alert_id: str = "6f1c1f43-0000-4000-8000-000000000001") -> AlertRead:
    return AlertRead(
        id=alert_id,
        created_at=T1,
        kind=alert.kind.value,
        severity=alert.severity.value,
        model=alert.model,
        version=alert.version,
        dedup_key=alert.dedup_key,
        status="open",
        repeats=0,
        last_seen_at=T1,
        acked_at=None,
        acked_by=None,
        # Through JSON, as the database gives it back.
        payload=orjson.loads(orjson.dumps(alert.payload())),
    )


LINKS = Links("https://turnout.example.com/")


def test_new_alert_checks_and_ranks() -> None:
    alert = drift_alert()
    assert alert.kind is AlertKind.DRIFT and alert.severity is Severity.CRITICAL
    # NaN (a statistic that could not be computed) ranks first: someone should look.
    assert [f.feature for f in alert.features] == ["hour", "amount", "country", "age"]
    assert alert.dedup_key == "fraud|7|drift|*"
    with pytest.raises(ValueError, match="unknown severity 'high'"):
        drift_alert(severity="high")
    with pytest.raises(ValueError, match="unknown alert kind"):
        drift_alert(kind="weather")
    with pytest.raises(ValueError, match="title"):
        drift_alert(title=" ")
    with pytest.raises(ValueError, match="aware"):
        drift_alert(window_start=datetime(2026, 1, 1))


def test_alert_document_is_json_with_a_stable_id_and_links() -> None:
    alert = stored(drift_alert())
    doc = alert_document(alert, LINKS)
    body = orjson.loads(orjson.dumps(doc))  # NaN became null: the body is valid JSON
    assert body["schema"] == ALERT_SCHEMA
    assert body["id"] == alert.id
    assert (body["kind"], body["severity"], body["model"], body["version"]) == (
        "drift",
        "critical",
        "fraud",
        "7",
    )
    assert body["window"] == {"start": T0.isoformat(), "end": T1.isoformat()}
    assert body["features"][0] == {
        "feature": "hour",
        "statistic": "wasserstein",
        "value": None,
        "threshold": 0.1,
        "band": "DRIFT",
        "p_value": None,
    }
    assert body["report_url"] == "https://turnout.example.com/api/v1/drift/reports/12"
    assert body["dashboard_url"] == f"https://turnout.example.com/api/v1/alerts/{alert.id}"
    assert body["details"] == {"drift_share": 0.15}


def test_retraining_document_fields() -> None:
    alert = stored(drift_alert())
    doc = retraining_document(alert, LINKS)
    assert set(doc) == {
        "schema",
        "alert_id",
        "created_at",
        "reason",
        "severity",
        "model",
        "version",
        "drifted_features",
        "features",
        "window",
        "report_url",
        "dashboard_url",
    }
    assert doc["schema"] == RETRAINING_SCHEMA
    assert (doc["model"], doc["version"], doc["reason"]) == ("fraud", "7", "drift")
    assert [f["feature"] for f in doc["drifted_features"]] == ["hour", "amount", "country"]
    assert [f["feature"] for f in doc["features"]] == ["hour", "amount", "country", "age"]
    assert doc["drifted_features"][1] == {
        "feature": "amount",
        "statistic": "psi",
        "value": 0.41,
        "threshold": 0.1,
        "band": "DRIFT",
        "p_value": None,
    }
    assert doc["window"] == {"start": T0.isoformat(), "end": T1.isoformat()}


def test_links_without_a_public_url() -> None:
    alert = stored(drift_alert())
    assert Links(None).dashboard(alert) is None
    assert Links(None).report(alert) is None
    absolute = stored(drift_alert(report_url="https://reports.example.com/12.html"))
    assert Links(None).report(absolute) == "https://reports.example.com/12.html"
    custom = Links("http://t:8000", "{public_url}/models/{model}/versions/{version}")
    assert custom.dashboard(alert) == "http://t:8000/models/fraud/versions/7"


def test_slack_message_shape() -> None:
    alert = stored(drift_alert())
    msg = slack_message(alert, LINKS, max_features=2)
    assert set(msg) == {"text", "blocks"}
    assert "[CRITICAL] fraud v7: 3 of 20 features drifted" in msg["text"]
    types = [b["type"] for b in msg["blocks"]]
    assert types == ["header", "section", "section", "section", "context", "actions"]
    header = msg["blocks"][0]["text"]
    assert header["type"] == "plain_text" and "fraud v7" in header["text"]
    fields = [f["text"] for f in msg["blocks"][1]["fields"]]
    assert fields == ["*Model*\nfraud", "*Version*\n7", "*Kind*\ndrift", "*Severity*\ncritical"]
    top = msg["blocks"][3]["text"]["text"]
    assert top.startswith("*Top drifted features*\n")
    assert "amount: psi 0.41 (threshold 0.1) [DRIFT]" in top
    assert "hour: wasserstein n/a" in top
    assert "country" not in top and "… and 2 more" in top
    assert alert.id in msg["blocks"][4]["elements"][0]["text"]
    buttons = msg["blocks"][5]["elements"]
    assert [b["url"] for b in buttons] == [
        f"https://turnout.example.com/api/v1/alerts/{alert.id}",
        "https://turnout.example.com/api/v1/drift/reports/12",
    ]


def test_slack_message_without_features_or_links() -> None:
    alert = stored(NewAlert(kind="rollout_rollback", severity="warn", model="m", title="rolled"))
    msg = slack_message(alert, Links(None))
    assert [b["type"] for b in msg["blocks"]] == ["header", "section", "context"]


def test_email_and_log_line() -> None:
    alert = stored(drift_alert())
    subject, body = email_message(alert, LINKS)
    assert subject == "[turnout critical] fraud v7: 3 of 20 features drifted"
    assert "Model:    fraud" in body and "Version:  7" in body
    assert "  - amount: psi 0.41 (threshold 0.1) [DRIFT]" in body
    assert "  - country: jensen_shannon 0.3 (threshold 0.15), p=0.001 [DRIFT]" in body
    assert f"Alert id: {alert.id}" in body
    assert "Drift report:    https://turnout.example.com/api/v1/drift/reports/12" in body
    line = log_line(alert)
    assert "\n" not in line and line.startswith(f"alert {alert.id} [critical] drift fraud v7")
