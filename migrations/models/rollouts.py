"""Rollouts, the decisions the controller took on them, and the routing policies it wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["TERMINAL_ROLLOUT_PHASES", "Rollout", "RolloutDecision", "RoutingPolicy"]

# Phases after which a rollout never moves again. The rollout package owns the phase
# enum; it must keep this tuple in step, because the index below enforces it.
TERMINAL_ROLLOUT_PHASES: tuple[str, ...] = ("Succeeded", "Aborted", "Failed", "RolledBack")

_ACTIVE = text("phase NOT IN (" + ", ".join(f"'{p}'" for p in TERMINAL_ROLLOUT_PHASES) + ")")


class Rollout(Base):
    """A progressive move of a model's traffic from `baseline_version` to `candidate_version`.

    `spec` is the strategy's full specification (steps, analysis, gates) as submitted;
    `phase`, `step_index` and `weight` are the status the controller advances.
    """

    __tablename__ = "rollouts"
    __table_args__ = (
        CheckConstraint("weight >= 0 AND weight <= 100", name="weight_range"),
        # The database, not the controller, guarantees one active rollout per model:
        # two `rollout start` racing each other cannot both win.
        Index(
            "ux_rollouts_active_model_name",
            "model_name",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_rollouts_model_name_created_at", "model_name", "created_at"),
        Index("ix_rollouts_phase", "phase"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    strategy: Mapped[str] = mapped_column(String(32))
    baseline_version: Mapped[str] = mapped_column(String(64))
    candidate_version: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str] = mapped_column(String(32))
    step_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Percent of traffic sent to the candidate right now.
    weight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The state machine's full status (timers, approvals, judge counters) as JSON, so a
    # controller that restarts resumes exactly where the last one stopped.
    status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # Compare-and-swap counter: every change bumps it, and a writer that read an older
    # value (a racing `approve` and `abort`, or two controllers) loses cleanly.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RolloutDecision(Base):
    """One controller judgement: the measurements it saw and the transition it made."""

    __tablename__ = "rollout_decisions"
    __table_args__ = (Index("ix_rollout_decisions_rollout_id_at", "rollout_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rollout_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("rollouts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step_index: Mapped[int] = mapped_column(Integer)
    phase_before: Mapped[str] = mapped_column(String(32))
    phase_after: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(32))
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)


class RoutingPolicy(Base):
    """An immutable revision of how a model's traffic is split; gateways follow the latest.

    Revisions only grow per model, so "latest" is the top of the (model_name, revision)
    unique index and a gateway can poll it cheaply.
    """

    __tablename__ = "routing_policies"
    __table_args__ = (
        UniqueConstraint("model_name", "revision"),
        Index("ix_routing_policies_rollout_id", "rollout_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    rollout_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("rollouts.id", ondelete="SET NULL")
    )
