"""Alias state per registered model and the append-only audit log of everything done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["Event", "RegistryModel"]


class RegistryModel(Base):
    """One row per model name: who is champion now and who was before.

    MLflow holds the aliases too; this row is the control plane's compare-and-swap
    point. A promotion does `UPDATE ... SET generation = g + 1 WHERE generation = g`
    and treats zero rows updated as a concurrent promotion that it lost.
    """

    __tablename__ = "registry_models"

    model_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    champion_version: Mapped[str | None] = mapped_column(String(64))
    # The champion before the last promotion: the target of a one-command rollback.
    previous_version: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Event(Base):
    """An audit record: who did what to which model, why, and the evidence.

    `kind` is a dotted name such as "alias.promote" or "rollout.abort"; the constants
    live with the packages that emit them.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_model_name_at", "model_name", "at"),
        Index("ix_events_rollout_id", "rollout_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    model_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(String(64))
    from_version: Mapped[str | None] = mapped_column(String(64))
    to_version: Mapped[str | None] = mapped_column(String(64))
    # SET NULL: pruning old rollouts must never erase the audit trail.
    rollout_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("rollouts.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
