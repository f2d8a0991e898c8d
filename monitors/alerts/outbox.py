"""The alert outbox in the control DB: raise, read, acknowledge, purge, and the claims
the delivery worker makes on it.

`raise_alert` adds the alert and one pending delivery per routed sink to the caller's
session and flushes: they commit together with whatever else the caller's transaction
holds (a drift report, a rollout decision), or not at all. A repeat of the same dedup
key within its cooldown is not stored or sent again: it bumps the `repeats` counter
and `last_seen_at` of the alert it repeats, unless it is more severe (an escalation is
always sent).

Worker claims are compare-and-swap updates on (status, attempts), so two workers on
one database never both own a delivery; a claim also pushes `next_attempt_at` a lease
ahead, so a worker that dies mid-send leaves a delivery that is retried after the
lease, never lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, exists, func, select, update
from sqlalchemy.orm import Session

from migrations.coltypes import utcnow
from migrations.models import Alert, AlertDelivery
from monitors.alerts.errors import AlertNotFound, InvalidAlertFilter
from monitors.alerts.payload import AlertRead, DeliveryRead, NewAlert
from monitors.alerts.rules import AlertsConfig, Severity, as_kind, as_severity

__all__ = [
    "ACKED",
    "DELIVERED",
    "FAILED",
    "OPEN",
    "PENDING",
    "DueDelivery",
    "Raised",
    "ack_alert",
    "alert_counts",
    "claim",
    "due_deliveries",
    "get_alert",
    "load_alert",
    "list_alerts",
    "mark_delivered",
    "mark_failed_attempt",
    "pending_counts",
    "pending_for",
    "purge",
    "raise_alert",
]

OPEN, ACKED = "open", "acked"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_MIN_PREFIX = 6  # shortest id prefix `show`/`ack` accept


@dataclass(frozen=True)
class Raised:
    """What `raise_alert` did: stored a new alert (with deliveries to `sinks`), or counted
    a repeat of `alert_id` inside its cooldown (`suppressed`, nothing new to send)."""

    alert_id: str
    suppressed: bool
    sinks: tuple[str, ...]
    repeats: int = 0


@dataclass(frozen=True)
class DueDelivery:
    """A pending delivery whose attempt is due, as the worker sees it before claiming."""

    id: int
    alert_id: str
    sink: str
    attempts: int
    alert_created_at: datetime


def raise_alert(
    session: Session,
    config: AlertsConfig,
    alert: NewAlert,
    *,
    sinks: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Raised:
    """Store `alert` and its pending deliveries (routed by `config`, or exactly `sinks`).

    The caller owns the transaction (`with sessions.begin() as s: raise_alert(s, ...)`);
    this only adds and flushes.
    """
    now = now or utcnow()
    targets = list(dict.fromkeys(sinks)) if sinks is not None else None
    if targets is None:
        targets = config.sinks_for(alert.kind, alert.severity, alert.model)
    for name in targets:
        config.sink(name)  # UnknownSink for a name the config does not define
    key = alert.dedup_key
    cooldown = config.cooldown_for(alert.kind)
    if cooldown > 0:
        latest = session.scalars(
            select(Alert)
            .where(Alert.dedup_key == key)
            .order_by(Alert.created_at.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if (
            latest is not None
            and now - latest.created_at < timedelta(seconds=cooldown)
            and alert.severity.rank <= _rank(latest.severity)
        ):
            session.execute(
                update(Alert)
                .where(Alert.id == latest.id)
                .values(repeats=Alert.repeats + 1, last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
            session.flush()
            return Raised(latest.id, True, (), latest.repeats + 1)
    alert_id = str(uuid.uuid4())
    session.add(
        Alert(
            id=alert_id,
            created_at=now,
            kind=alert.kind.value,
            severity=alert.severity.value,
            model_name=alert.model,
            version=alert.version,
            dedup_key=key,
            payload=alert.payload(),
            status=OPEN,
            repeats=0,
            last_seen_at=now,
        )
    )
    session.flush()  # the alert row first: deliveries reference it
    for name in targets:
        session.add(
            AlertDelivery(alert_id=alert_id, sink=name, status=PENDING, next_attempt_at=now)
        )
    session.flush()
    return Raised(alert_id, False, tuple(targets))


def list_alerts(
    session: Session,
    *,
    model: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    min_severity: str | None = None,
    limit: int = 50,
) -> list[AlertRead]:
    """Alerts, newest first, with their deliveries; InvalidAlertFilter for an unknown
    kind or severity."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id).limit(limit)
    if model is not None:
        query = query.where(Alert.model_name == model)
    if status is not None:
        query = query.where(Alert.status == status)
    try:
        if kind is not None:
            query = query.where(Alert.kind == as_kind(kind).value)
        if min_severity is not None:
            floor = as_severity(min_severity).rank
            levels = [s.value for s in Severity if s.rank >= floor]
            query = query.where(Alert.severity.in_(levels))
    except ValueError as exc:
        raise InvalidAlertFilter(str(exc)) from None
    rows = session.scalars(query).all()
    deliveries = _deliveries(session, [r.id for r in rows])
    return [_read(r, deliveries.get(r.id, ())) for r in rows]


def get_alert(session: Session, alert_id: str) -> AlertRead:
    """One alert by id, or by a unique prefix of at least six characters."""
    row = _find(session, alert_id)
    return _read(row, _deliveries(session, [row.id]).get(row.id, ()))


def ack_alert(
    session: Session, alert_id: str, actor: str, *, now: datetime | None = None
) -> AlertRead:
    """Mark an alert acknowledged by `actor`; acking twice keeps the first ack.

    Acknowledging tells people someone is on it; it does not stop deliveries still in
    the outbox (a retraining trigger must still arrive).
    """
    row = _find(session, alert_id)
    if row.status != ACKED:
        row.status, row.acked_at, row.acked_by = ACKED, now or utcnow(), actor
        session.flush()
    return _read(row, _deliveries(session, [row.id]).get(row.id, ()))


def purge(session: Session, older_than: datetime) -> int:
    """Delete alerts created before `older_than` with nothing left to send; their
    deliveries go with them. Returns how many alerts were deleted."""
    pending = exists().where(
        and_(AlertDelivery.alert_id == Alert.id, AlertDelivery.status == PENDING)
    )
    result = session.execute(
        delete(Alert)
        .where(Alert.created_at < older_than, ~pending)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(cast(CursorResult[Any], result).rowcount or 0)


# -- the worker's side ----------------------------------------------------------------


def due_deliveries(session: Session, now: datetime, limit: int) -> list[DueDelivery]:
    """Pending deliveries whose next attempt is due, oldest due first."""
    return _pending(
        session,
        AlertDelivery.next_attempt_at <= now,
        order_by=(AlertDelivery.next_attempt_at, AlertDelivery.id),
        limit=limit,
    )


def pending_for(session: Session, alert_id: str) -> list[DueDelivery]:
    """The pending deliveries of one alert, whether due or not."""
    return _pending(session, AlertDelivery.alert_id == alert_id, order_by=(AlertDelivery.id,))


def _pending(
    session: Session,
    where: ColumnElement[bool],
    *,
    order_by: tuple[Any, ...],
    limit: int | None = None,
) -> list[DueDelivery]:
    rows = session.execute(
        select(
            AlertDelivery.id,
            AlertDelivery.alert_id,
            AlertDelivery.sink,
            AlertDelivery.attempts,
            Alert.created_at,
        )
        .join(Alert, Alert.id == AlertDelivery.alert_id)
        .where(AlertDelivery.status == PENDING, where)
        .order_by(*order_by)
        .limit(limit)
    ).all()
    return [DueDelivery(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def claim(session: Session, due: DueDelivery, now: datetime, lease_s: float) -> bool:
    """Take `due` for one attempt: True if this caller won it.

    Compare-and-swap on (status, attempts): of two workers that saw the same row, only
    the first update matches. The claim counts the attempt and moves the next attempt a
    lease ahead, so a worker that dies while sending is retried after the lease.
    """
    result = session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.id == due.id,
            AlertDelivery.status == PENDING,
            AlertDelivery.attempts == due.attempts,
            AlertDelivery.next_attempt_at <= now,
        )
        .values(
            attempts=due.attempts + 1,
            last_attempt_at=now,
            next_attempt_at=now + timedelta(seconds=lease_s),
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def mark_delivered(session: Session, delivery_id: int, now: datetime) -> None:
    """The receiver acknowledged: the delivery is done, whoever claimed it last."""
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id, AlertDelivery.status == PENDING)
        .values(status=DELIVERED, delivered_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_failed_attempt(
    session: Session,
    delivery_id: int,
    attempt: int,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Record a failed attempt: retry at `retry_at`, or give up (`failed`) when None.

    Only the claim that made attempt number `attempt` may do this; if the lease ran out
    and another worker re-claimed the row, that worker decides.
    """
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["status"] = FAILED
    else:
        values["next_attempt_at"] = retry_at
    session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.id == delivery_id,
            AlertDelivery.status == PENDING,
            AlertDelivery.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# -- counts for /metrics ----------------------------------------------------------------


def alert_counts(
    session: Session, *, since: datetime | None = None, before: datetime | None = None
) -> dict[tuple[str, str, str], int]:
    """Stored alerts by (model, kind, severity), created in [since, before) (either
    bound optional). Repeats inside a cooldown are not rows, so they are not counted."""
    query = select(Alert.model_name, Alert.kind, Alert.severity, func.count()).group_by(
        Alert.model_name, Alert.kind, Alert.severity
    )
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if before is not None:
        query = query.where(Alert.created_at < before)
    return {(r[0], r[1], r[2]): int(r[3]) for r in session.execute(query).all()}


def pending_counts(session: Session) -> dict[str, int]:
    """Deliveries still `pending` (due now, backing off, or claimed mid-send) by sink."""
    rows = session.execute(
        select(AlertDelivery.sink, func.count())
        .where(AlertDelivery.status == PENDING)
        .group_by(AlertDelivery.sink)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


# -- helpers --------------------------------------------------------------------------


def _rank(severity: str) -> int:
    try:
        return as_severity(severity).rank
    except ValueError:
        return 0


def _find(session: Session, alert_id: str) -> Alert:
    wanted = alert_id.strip()
    row = session.get(Alert, wanted)
    if row is not None:
        return row
    if len(wanted) >= _MIN_PREFIX:
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = session.scalars(
            select(Alert).where(Alert.id.like(escaped + "%", escape="\\")).limit(2)
        ).all()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise AlertNotFound(f"alert id prefix '{wanted}' is ambiguous; give more of the id")
    raise AlertNotFound(f"no alert with id '{wanted}'")


def _deliveries(session: Session, alert_ids: Sequence[str]) -> dict[str, tuple[DeliveryRead, ...]]:
    if not alert_ids:
        return {}
    rows = session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.alert_id.in_(alert_ids))
        .order_by(AlertDelivery.alert_id, AlertDelivery.id)
    ).all()
    found: dict[str, list[DeliveryRead]] = {}
    for d in rows:
        found.setdefault(d.alert_id, []).append(
            DeliveryRead(
                id=d.id,
                sink=d.sink,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                last_attempt_at=d.last_attempt_at,
                delivered_at=d.delivered_at,
                last_error=d.last_error,
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def _read(row: Alert, deliveries: Sequence[DeliveryRead]) -> AlertRead:
    return AlertRead(
        id=row.id,
        created_at=row.created_at,
        kind=row.kind,
        severity=row.severity,
        model=row.model_name,
        version=row.version,
        dedup_key=row.dedup_key,
        status=row.status,
        repeats=row.repeats or 0,
        last_seen_at=row.last_seen_at,
        acked_at=row.acked_at,
        acked_by=row.acked_by,
        payload=dict(row.payload or {}),
        deliveries=tuple(deliveries),
    )


def load_alert(session: Session, alert_id: str) -> AlertRead:
    """The alert with exactly this id, for the worker (no prefix matching)."""
    row = session.get(Alert, alert_id)
    if row is None:
        raise AlertNotFound(f"no alert with id '{alert_id}'")
    return _read(row, ())
