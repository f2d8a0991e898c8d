"""The bodies sinks send: the alert document, the retraining trigger, Slack and email (pure).

Both JSON documents carry a `schema` name and the alert's stable `id`, so a receiver
can deduplicate at-least-once deliveries. docs/alerts.md describes every field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from monitors.alerts.payload import AlertRead, FeatureDrift
from monitors.alerts.rules import DEFAULT_DASHBOARD_URL

__all__ = [
    "ALERT_SCHEMA",
    "RETRAINING_SCHEMA",
    "Links",
    "alert_document",
    "email_message",
    "log_line",
    "retraining_document",
    "slack_message",
]

ALERT_SCHEMA = "turnout.alert/v1"
RETRAINING_SCHEMA = "turnout.retraining/v1"
_SEVERITY_MARK = {
    "info": ":information_source:",
    "warn": ":warning:",
    "critical": ":rotating_light:",
}


@dataclass(frozen=True)
class Links:
    """Turns an alert into absolute links, from TURNOUT_PUBLIC_URL and the config's
    `dashboard_url` template. Without a public URL only absolute report links survive."""

    public_url: str | None = None
    dashboard_template: str = DEFAULT_DASHBOARD_URL

    def dashboard(self, alert: AlertRead) -> str | None:
        if not self.public_url:
            return None
        return self.dashboard_template.format(
            public_url=self.public_url.rstrip("/"),
            alert_id=alert.id,
            model=alert.model,
            version=alert.version or "",
            kind=alert.kind,
        )

    def report(self, alert: AlertRead) -> str | None:
        url = alert.report_url
        if not url or "://" in url:
            return url or None
        if not self.public_url:
            return None
        return self.public_url.rstrip("/") + "/" + url.lstrip("/")


def _window(alert: AlertRead) -> dict[str, Any] | None:
    window = alert.window
    if window is None:
        return None
    return {"start": window.get("start"), "end": window.get("end")}


def alert_document(alert: AlertRead, links: Links) -> dict[str, Any]:
    """The generic webhook body (schema turnout.alert/v1)."""
    return {
        "schema": ALERT_SCHEMA,
        "id": alert.id,
        "created_at": alert.created_at.isoformat(),
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "summary": alert.summary,
        "model": alert.model,
        "version": alert.version,
        "feature": alert.feature,
        "dedup_key": alert.dedup_key,
        "features": [f.to_dict() for f in alert.features],
        "window": _window(alert),
        "report_url": links.report(alert),
        "dashboard_url": links.dashboard(alert),
        "details": dict(alert.details),
    }


def retraining_document(alert: AlertRead, links: Links) -> dict[str, Any]:
    """The retraining trigger body (schema turnout.retraining/v1): what to retrain and why."""
    return {
        "schema": RETRAINING_SCHEMA,
        "alert_id": alert.id,
        "created_at": alert.created_at.isoformat(),
        "reason": alert.kind,
        "severity": alert.severity,
        "model": alert.model,
        "version": alert.version,
        "drifted_features": [f.to_dict() for f in alert.features if f.band.upper() == "DRIFT"],
        "features": [f.to_dict() for f in alert.features],
        "window": _window(alert),
        "report_url": links.report(alert),
        "dashboard_url": links.dashboard(alert),
    }


def _target(alert: AlertRead) -> str:
    return alert.model if alert.version is None else f"{alert.model} v{alert.version}"


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}"


def _feature_line(f: FeatureDrift) -> str:
    line = f"{f.feature}: {f.statistic} {_number(f.value)} (threshold {_number(f.threshold)})"
    if f.p_value is not None:
        line += f", p={_number(f.p_value)}"
    return f"{line} [{f.band}]"


def _window_text(alert: AlertRead) -> str | None:
    window = _window(alert)
    if window is None:
        return None
    return f"{window['start'] or '?'} .. {window['end'] or '?'}"


def slack_message(alert: AlertRead, links: Links, max_features: int = 5) -> dict[str, Any]:
    """A Slack incoming-webhook message: a plain `text` fallback and Block Kit blocks."""
    mark = _SEVERITY_MARK.get(alert.severity, "")
    headline = f"{mark} [{alert.severity.upper()}] {alert.title}".strip()
    fields = [
        {"type": "mrkdwn", "text": f"*Model*\n{alert.model}"},
        {"type": "mrkdwn", "text": f"*Version*\n{alert.version or '-'}"},
        {"type": "mrkdwn", "text": f"*Kind*\n{alert.kind}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "fields": fields},
    ]
    if alert.summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": alert.summary}})
    features = alert.features
    if features:
        shown = [f"• `{_feature_line(f)}`" for f in features[:max_features]]
        if len(features) > max_features:
            shown.append(f"… and {len(features) - max_features} more")
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Top drifted features*\n" + "\n".join(shown)},
            }
        )
    context = [f"alert `{alert.id}`"]
    window = _window_text(alert)
    if window:
        context.append(f"window {window}")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    buttons = []
    dashboard = links.dashboard(alert)
    if dashboard:
        buttons.append(_button("Open in turnout", dashboard))
    report = links.report(alert)
    if report:
        buttons.append(_button("Drift report", report))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    text = f"{headline} — {_target(alert)}"
    if dashboard:
        text += f" <{dashboard}|open>"
    return {"text": text, "blocks": blocks}


def _button(label: str, url: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}


def email_message(alert: AlertRead, links: Links, max_features: int = 10) -> tuple[str, str]:
    """Subject and plain-text body of the alert email."""
    subject = f"[turnout {alert.severity}] {alert.title}"
    lines = [
        alert.title,
        "",
        f"Model:    {alert.model}",
        f"Version:  {alert.version or '-'}",
        f"Kind:     {alert.kind}",
        f"Severity: {alert.severity}",
        f"Raised:   {alert.created_at.isoformat()}",
    ]
    window = _window_text(alert)
    if window:
        lines.append(f"Window:   {window}")
    if alert.summary:
        lines += ["", alert.summary]
    if alert.features:
        lines += ["", "Top drifted features:"]
        lines += [f"  - {_feature_line(f)}" for f in alert.features[:max_features]]
    dashboard, report = links.dashboard(alert), links.report(alert)
    if dashboard or report:
        lines.append("")
    if dashboard:
        lines.append(f"Open in turnout: {dashboard}")
    if report:
        lines.append(f"Drift report:    {report}")
    lines += ["", f"Alert id: {alert.id}"]
    return subject, "\n".join(lines) + "\n"


def log_line(alert: AlertRead) -> str:
    """One line for the log sink."""
    line = f"alert {alert.id} [{alert.severity}] {alert.kind} {_target(alert)}: {alert.title}"
    if alert.features:
        top = ", ".join(_feature_line(f) for f in alert.features[:3])
        line += f" (top: {top})"
    return line
