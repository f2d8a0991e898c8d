"""The alerts page's data: alerts, newest first, each with the state of its deliveries.

Read-only over the ``alerts`` / ``alert_deliveries`` outbox tables; acknowledging goes
through the control API.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboards.feeds._time import epoch
from migrations.models import Alert, AlertDelivery

__all__ = ["alerts_list", "open_alert_count"]

STATUSES = ("open", "acked")


def alerts_list(
    session: Session,
    *,
    status: str | None = None,
    model: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Alerts (optionally only ``status`` / ``model``), newest first, with deliveries."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    if model is not None:
        query = query.where(Alert.model_name == model)
    alerts = list(session.scalars(query))
    deliveries: dict[str, list[AlertDelivery]] = defaultdict(list)
    if alerts:
        for d in session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertDelivery.id)
        ):
            deliveries[d.alert_id].append(d)
    counts: dict[str, int] = {}
    for key, n in session.execute(
        select(Alert.status, func.count(Alert.id)).group_by(Alert.status)
    ):
        counts[str(key)] = int(n)
    return {
        "counts": counts,
        "alerts": [_alert(a, deliveries[a.id]) for a in alerts],
    }


def open_alert_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Alert.id)).where(Alert.status == "open")) or 0)


def _alert(a: Alert, deliveries: list[AlertDelivery]) -> dict[str, Any]:
    payload = a.payload or {}
    return {
        "id": a.id,
        "created_at": epoch(a.created_at),
        "kind": a.kind,
        "severity": a.severity,
        "model": a.model_name,
        "version": a.version,
        "dedup_key": a.dedup_key,
        "status": a.status,
        "repeats": a.repeats,
        "last_seen_at": epoch(a.last_seen_at),
        "acked_at": epoch(a.acked_at),
        "acked_by": a.acked_by,
        "title": _title(payload),
        "summary": _summary(payload),
        "payload": payload,
        "deliveries": [
            {
                "sink": d.sink,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": epoch(d.next_attempt_at),
                "last_attempt_at": epoch(d.last_attempt_at),
                "delivered_at": epoch(d.delivered_at),
                "last_error": d.last_error,
            }
            for d in deliveries
        ],
    }


def _title(payload: dict[str, Any]) -> str | None:
    """The payload's one-line headline (a drift alert's "v2: 4 of 30 features drifted"),
    when it has one besides its summary."""
    value = payload.get("title")
    if not isinstance(value, str) or not value.strip():
        return None
    title = value.strip().splitlines()[0]
    return None if title == _summary(payload) else title


def _summary(payload: dict[str, Any]) -> str:
    for key in ("summary", "message", "title", "reason", "text"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0]
    features = payload.get("features") or payload.get("drifted_features")
    if isinstance(features, list) and features:
        shown = [
            (f.get("name") or f.get("feature") or "?") if isinstance(f, dict) else str(f)
            for f in features[:5]
        ]
        return "features: " + ", ".join(map(str, shown))
    return ""
