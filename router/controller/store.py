"""Rollout rows: create, read, and save with a compare-and-swap on `generation`.

Functions take a Session and flush; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrations.models import TERMINAL_ROLLOUT_PHASES, Event, Rollout, RolloutDecision
from router.controller.errors import ActiveRolloutExists, RolloutConflict, RolloutNotFound
from router.rollout import RolloutSpec, RolloutStatus


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def create_rollout(
    session: Session, spec: RolloutSpec, status: RolloutStatus, *, actor: str
) -> Rollout:
    assert spec.baseline is not None  # resolved by the caller
    row = Rollout(
        model_name=spec.model,
        strategy=spec.strategy,
        baseline_version=spec.baseline,
        candidate_version=spec.candidate,
        spec=spec.to_dict(),
        phase=str(status.phase),
        step_index=status.step_index,
        weight=status.weight,
        message=status.message,
        created_by=actor,
        status=status.to_dict(),
        generation=0,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise ActiveRolloutExists(
            f"model '{spec.model}' already has an active rollout; finish or abort it first"
        ) from None
    return row


def get_rollout(session: Session, rollout_id: int) -> Rollout:
    row = session.get(Rollout, rollout_id)
    if row is None:
        raise RolloutNotFound(f"no rollout #{rollout_id}")
    return row


def active_rollouts(session: Session) -> list[Rollout]:
    return list(
        session.scalars(
            select(Rollout)
            .where(Rollout.phase.not_in(TERMINAL_ROLLOUT_PHASES))
            .order_by(Rollout.id)
        )
    )


def active_for_model(session: Session, model: str) -> Rollout | None:
    return session.scalars(
        select(Rollout).where(
            Rollout.model_name == model, Rollout.phase.not_in(TERMINAL_ROLLOUT_PHASES)
        )
    ).first()


def list_rollouts(session: Session, *, model: str | None = None, limit: int = 50) -> list[Rollout]:
    stmt = select(Rollout).order_by(Rollout.id.desc()).limit(limit)
    if model is not None:
        stmt = stmt.where(Rollout.model_name == model)
    return list(session.scalars(stmt))


def save_status(
    session: Session, row: Rollout, status: RolloutStatus, *, expected_generation: int
) -> int:
    """Write STATUS if nobody else changed the rollout since it was read; the new generation."""
    terminal = str(status.phase) in TERMINAL_ROLLOUT_PHASES
    values: dict[str, Any] = {
        "phase": str(status.phase),
        "step_index": status.step_index,
        "weight": status.weight,
        "message": status.message,
        "status": status.to_dict(),
        "generation": expected_generation + 1,
        "updated_at": _ts(status.updated_at) if status.updated_at else datetime.now(UTC),
        "finished_at": _ts(status.updated_at or datetime.now(UTC).timestamp())
        if terminal
        else None,
    }
    try:
        done = session.execute(
            update(Rollout)
            .where(Rollout.id == row.id, Rollout.generation == expected_generation)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:  # a retry that collides with a newer active rollout
        raise ActiveRolloutExists(
            f"model '{row.model_name}' has another active rollout; this one cannot restart"
        ) from None
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise RolloutConflict(
            f"rollout #{row.id} was changed by another action meanwhile; nothing was done, "
            "look at its status and try again"
        )
    return expected_generation + 1


def record_decision(
    session: Session,
    rollout_id: int,
    *,
    at: float,
    step_index: int,
    phase_before: str,
    phase_after: str,
    verdict: str,
    measurements: dict[str, Any],
    reason: str,
) -> None:
    session.add(
        RolloutDecision(
            rollout_id=rollout_id,
            at=_ts(at),
            step_index=step_index,
            phase_before=phase_before,
            phase_after=phase_after,
            verdict=verdict,
            measurements=measurements,
            reason=reason,
        )
    )


def record_event(
    session: Session,
    row: Rollout,
    kind: str,
    *,
    actor: str,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    session.add(
        Event(
            model_name=row.model_name,
            kind=kind,
            actor=actor,
            reason=reason,
            rollout_id=row.id,
            from_version=row.baseline_version,
            to_version=row.candidate_version,
            payload=payload,
        )
    )


def decisions(session: Session, rollout_id: int, *, limit: int = 200) -> list[RolloutDecision]:
    rows = session.scalars(
        select(RolloutDecision)
        .where(RolloutDecision.rollout_id == rollout_id)
        .order_by(RolloutDecision.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def rollout_document(row: Rollout, *, now: float | None = None) -> dict[str, Any]:
    """A rollout as the CLI and the control API show it, with a one-line summary."""
    from router.rollout import describe_status

    spec = RolloutSpec.from_dict(row.spec)
    status = RolloutStatus.from_dict(row.status)
    return {
        "id": row.id,
        "model": row.model_name,
        "strategy": row.strategy,
        "baseline": row.baseline_version,
        "candidate": row.candidate_version,
        "phase": row.phase,
        "step_index": row.step_index,
        "weight": row.weight,
        "message": row.message,
        "summary": describe_status(status, spec, now=now),
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
        "spec": row.spec,
    }


def prune_decisions(session: Session, older_than: datetime) -> int:
    """Thin the decision log of rollouts that ended before ``older_than``.

    Ticks that changed nothing (same phase before and after) are deleted; every
    transition is kept, so `turnout rollout explain` still tells how an old rollout
    went, just not each second of it. Returns how many rows were deleted.
    """
    ended = select(Rollout.id).where(
        Rollout.phase.in_(TERMINAL_ROLLOUT_PHASES), Rollout.updated_at < older_than
    )
    result = session.execute(
        delete(RolloutDecision)
        .where(
            RolloutDecision.rollout_id.in_(ended),
            RolloutDecision.phase_before == RolloutDecision.phase_after,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
