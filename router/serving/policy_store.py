"""Routing policies in the control DB: append-only revisions per model, newest wins.

A stored document is either a routing policy (`RoutingPolicy.to_dict()`) or
`{"mode": "champion"}`, which hands the model back to its champion alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrations.models import Event, RegistryModel
from migrations.models import RoutingPolicy as PolicyRow
from router.serving.errors import PolicyConflict
from router.traffic import RoutingPolicy, TrafficError

FOLLOW_CHAMPION: Mapping[str, Any] = {"mode": "champion"}
EVENT_POLICY = "traffic.policy"


@dataclass(frozen=True)
class StoredPolicy:
    model: str
    revision: int
    policy: RoutingPolicy | None  # None: follow the champion alias
    created_at: datetime | None
    created_by: str | None
    rollout_id: int | None = None
    error: str | None = None  # the stored document no longer parses (kept, not applied)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "revision": self.revision,
            "mode": "champion" if self.policy is None else "policy",
            "policy": None if self.policy is None else self.policy.to_dict(),
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "created_by": self.created_by,
            "rollout_id": self.rollout_id,
            "error": self.error,
        }


def latest_revisions(session: Session) -> dict[str, int]:
    """{model: newest revision}: the cheap query a gateway polls."""
    rows = session.execute(
        select(PolicyRow.model_name, func.max(PolicyRow.revision)).group_by(PolicyRow.model_name)
    )
    return {name: int(rev) for name, rev in rows}


def latest_policies(session: Session) -> dict[str, StoredPolicy]:
    newest = (
        select(PolicyRow.model_name, func.max(PolicyRow.revision).label("rev"))
        .group_by(PolicyRow.model_name)
        .subquery()
    )
    rows = session.scalars(
        select(PolicyRow).join(
            newest,
            (PolicyRow.model_name == newest.c.model_name) & (PolicyRow.revision == newest.c.rev),
        )
    )
    return {row.model_name: _stored(row) for row in rows}


def get_policy(session: Session, model: str) -> StoredPolicy | None:
    row = session.scalars(
        select(PolicyRow)
        .where(PolicyRow.model_name == model)
        .order_by(PolicyRow.revision.desc())
        .limit(1)
    ).first()
    return None if row is None else _stored(row)


def policy_history(session: Session, model: str, *, limit: int = 50) -> list[StoredPolicy]:
    rows = session.scalars(
        select(PolicyRow)
        .where(PolicyRow.model_name == model)
        .order_by(PolicyRow.revision.desc())
        .limit(limit)
    )
    return [_stored(r) for r in rows]


def put_policy(
    session: Session,
    model: str,
    policy: RoutingPolicy | None,
    *,
    actor: str,
    reason: str | None = None,
    rollout_id: int | None = None,
) -> StoredPolicy:
    """Append the next revision for MODEL (None: follow the champion), with an audit event."""
    current = session.scalar(
        select(func.max(PolicyRow.revision)).where(PolicyRow.model_name == model)
    )
    revision = int(current or 0) + 1
    doc = dict(FOLLOW_CHAMPION) if policy is None else policy.with_revision(revision).to_dict()
    row = PolicyRow(
        model_name=model,
        revision=revision,
        policy=doc,
        created_by=actor,
        rollout_id=rollout_id,
    )
    session.add(row)
    session.add(
        Event(
            model_name=model,
            kind=EVENT_POLICY,
            actor=actor,
            reason=reason,
            rollout_id=rollout_id,
            payload={"revision": revision, "policy": doc},
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise PolicyConflict(
            f"another policy change for '{model}' took revision {revision}; try again"
        ) from None
    return _stored(row)


def champions(session: Session) -> dict[str, str]:
    """Champion versions as turnout's own alias ledger last recorded them."""
    rows = session.execute(
        select(RegistryModel.model_name, RegistryModel.champion_version).where(
            RegistryModel.champion_version.is_not(None)
        )
    )
    return {name: str(version) for name, version in rows}


def _stored(row: PolicyRow) -> StoredPolicy:
    doc = row.policy or {}
    policy = None
    error = None
    if doc.get("mode") != "champion":
        try:
            policy = RoutingPolicy.from_dict(doc).with_revision(row.revision)
        except TrafficError as exc:  # written by another tool or an older turnout
            error = f"stored policy revision {row.revision} is invalid: {exc}"
    return StoredPolicy(
        model=row.model_name,
        revision=row.revision,
        policy=policy,
        created_at=row.created_at,
        created_by=row.created_by,
        rollout_id=row.rollout_id,
        error=error,
    )
