"""Alerts and their delivery outbox: one row per (alert, sink), retried until delivered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["Alert", "AlertDelivery"]


def _new_alert_id() -> str:
    return str(uuid.uuid4())


class Alert(Base):
    """Something a human or a pipeline should hear about.

    The id is a UUID string, not a counter, so receivers can deduplicate retried
    deliveries across databases; `dedup_key` groups repeats of the same condition.
    A repeat inside the cooldown is not stored again: it bumps `repeats` and
    `last_seen_at` of the alert it repeats. `status` is open or acked.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_dedup_key", "dedup_key"),
        Index("ix_alerts_model_name_created_at", "model_name", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_alert_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(255))


class AlertDelivery(Base):
    """The outbox entry for sending one alert to one sink (status pending/delivered/failed)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "sink"),
        # The sender's query: pending rows whose next attempt is due, oldest first.
        Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(36), ForeignKey("alerts.id", ondelete="CASCADE"))
    sink: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
