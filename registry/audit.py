"""Alias moves with an audit trail: promote, rollback, set and remove, each one an event.

MLflow stores aliases but keeps no history of them, and two people promoting the same
model at once would interleave their alias writes. Every move here runs inside a
control-DB transaction that first bumps the model's `generation` with a compare-and-swap;
the loser of a race gets PromotionConflict before touching MLflow, and the winner's
event is committed only after its MLflow writes succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import Event, RegistryModel
from registry import names
from registry.client import RegistryClient
from registry.errors import (
    AliasNotFound,
    InvalidName,
    NoPreviousVersion,
    PromotionConflict,
    VersionNotReady,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AliasChange:
    kind: str
    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str | None
    at: datetime
    changed: bool = True
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "changed": self.changed,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class EventRecord:
    id: int
    at: datetime
    model: str
    kind: str
    actor: str
    reason: str | None
    alias: str | None
    from_version: str | None
    to_version: str | None
    payload: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "model": self.model,
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "payload": self.payload,
        }


class AliasLedger:
    """Moves aliases in the registry and records every move in the control DB."""

    def __init__(
        self,
        registry: RegistryClient,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.clock = clock

    # -- moves ------------------------------------------------------------------------

    def promote(
        self, model: str, version: str, *, actor: str, reason: str | None = None
    ) -> AliasChange:
        """Move `champion` to VERSION and the old champion to `previous`."""
        target = self.registry.get_version(model, version)
        if not target.usable:
            raise VersionNotReady(
                f"version {version} of model '{model}' is {target.status}; "
                "only ready versions can be promoted"
            )
        with self._claim(model) as session:
            aliases = self.registry.get_model(model).aliases
            old = aliases.get(names.CHAMPION)
            if old == target.version:
                return self._unchanged(names.EVENT_PROMOTE, model, old, actor, reason)
            self.registry.set_alias(model, names.CHAMPION, target.version)
            if old is not None:
                try:
                    self.registry.set_alias(model, names.PREVIOUS, old)
                except Exception:
                    self.registry.set_alias(model, names.CHAMPION, old)
                    raise
            return self._record(
                session,
                names.EVENT_PROMOTE,
                model,
                names.CHAMPION,
                old,
                target.version,
                actor,
                reason,
                {"aliases_before": aliases, "previous": old},
                champion=target.version,
                previous=old,
            )

    def rollback(self, model: str, *, actor: str, reason: str | None = None) -> AliasChange:
        """Put `champion` back on `previous`; the version it leaves becomes `previous`."""
        self.registry.get_model(model)
        with self._claim(model) as session:
            aliases = self.registry.get_model(model).aliases
            prev = aliases.get(names.PREVIOUS)
            if prev is None:
                raise NoPreviousVersion(
                    f"model '{model}' has no 'previous' alias: nothing to roll back to"
                )
            old = aliases.get(names.CHAMPION)
            self.registry.set_alias(model, names.CHAMPION, prev)
            if old is not None and old != prev:
                try:
                    self.registry.set_alias(model, names.PREVIOUS, old)
                except Exception:
                    self.registry.set_alias(model, names.CHAMPION, old)
                    raise
            return self._record(
                session,
                names.EVENT_ROLLBACK,
                model,
                names.CHAMPION,
                old,
                prev,
                actor,
                reason,
                {"aliases_before": aliases},
                champion=prev,
                previous=old,
            )

    def set_alias(
        self, model: str, alias: str, version: str, *, actor: str, reason: str | None = None
    ) -> AliasChange:
        _check_alias(alias)
        target = self.registry.get_version(model, version)
        with self._claim(model) as session:
            aliases = self.registry.get_model(model).aliases
            old = aliases.get(alias)
            if old == target.version:
                return self._unchanged(names.EVENT_ALIAS_SET, model, old, actor, reason, alias)
            self.registry.set_alias(model, alias, target.version)
            heads = _heads_after(aliases, alias, target.version)
            return self._record(
                session,
                names.EVENT_ALIAS_SET,
                model,
                alias,
                old,
                target.version,
                actor,
                reason,
                {"aliases_before": aliases},
                **heads,
            )

    def remove_alias(
        self, model: str, alias: str, *, actor: str, reason: str | None = None
    ) -> AliasChange:
        _check_alias(alias)
        self.registry.get_model(model)
        with self._claim(model) as session:
            aliases = self.registry.get_model(model).aliases
            if alias not in aliases:
                raise AliasNotFound(f"model '{model}' has no alias '{alias}'")
            old = aliases[alias]
            self.registry.delete_alias(model, alias)
            heads = _heads_after(aliases, alias, None)
            return self._record(
                session,
                names.EVENT_ALIAS_REMOVE,
                model,
                alias,
                old,
                None,
                actor,
                reason,
                {"aliases_before": aliases},
                **heads,
            )

    def record(
        self,
        kind: str,
        model: str,
        *,
        actor: str,
        reason: str | None = None,
        version: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Append an event that moves no alias (a registration, say)."""
        with self.sessions.begin() as session:
            session.add(
                Event(
                    at=self.clock(),
                    model_name=model,
                    kind=kind,
                    actor=actor,
                    reason=reason,
                    to_version=version,
                    payload=payload,
                )
            )

    # -- reads ------------------------------------------------------------------------

    def history(
        self, model: str, *, alias: str | None = None, limit: int = 200
    ) -> list[EventRecord]:
        stmt = select(Event).where(Event.model_name == model)
        if alias is not None:
            stmt = stmt.where(Event.alias == alias)
        stmt = stmt.order_by(Event.at.desc(), Event.id.desc()).limit(limit)
        with self.sessions() as session:
            rows = session.scalars(stmt).all()
            return [_event_record(e) for e in reversed(rows)]

    def alias_at(self, model: str, at: datetime, alias: str = names.CHAMPION) -> str | None:
        """Which version held ALIAS at time AT, from turnout's own audit log."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        stmt = (
            select(Event)
            .where(Event.model_name == model, Event.alias == alias, Event.at <= at)
            .order_by(Event.at.desc(), Event.id.desc())
            .limit(1)
        )
        with self.sessions() as session:
            event = session.scalars(stmt).first()
            return None if event is None else event.to_version

    # -- internals --------------------------------------------------------------------

    @contextmanager
    def _claim(self, model: str) -> Iterator[Session]:
        """A transaction that owns MODEL's aliases until it ends, or PromotionConflict."""
        conflict = PromotionConflict(
            f"another change to the aliases of '{model}' is in progress; "
            "nothing was changed, run the command again"
        )
        try:
            with self.sessions.begin() as session:
                row = session.get(RegistryModel, model)
                if row is None:
                    session.add(RegistryModel(model_name=model, generation=0))
                    session.flush()
                    generation = 0
                else:
                    generation = row.generation
                bumped = session.execute(
                    update(RegistryModel)
                    .where(
                        RegistryModel.model_name == model,
                        RegistryModel.generation == generation,
                    )
                    .values(generation=generation + 1, updated_at=self.clock())
                    .execution_options(synchronize_session=False)
                )
                if bumped.rowcount != 1:  # type: ignore[attr-defined]
                    raise conflict
                yield session
        except (IntegrityError, OperationalError) as exc:
            if _is_lock_error(exc):
                raise conflict from None
            raise

    def _record(
        self,
        session: Session,
        kind: str,
        model: str,
        alias: str,
        old: str | None,
        new: str | None,
        actor: str,
        reason: str | None,
        evidence: dict[str, Any],
        **heads: str | None,
    ) -> AliasChange:
        at = self.clock()
        session.add(
            Event(
                at=at,
                model_name=model,
                kind=kind,
                actor=actor,
                reason=reason,
                alias=alias,
                from_version=old,
                to_version=new,
                payload=evidence,
            )
        )
        if heads:
            session.execute(
                update(RegistryModel)
                .where(RegistryModel.model_name == model)
                .values(
                    champion_version=heads.get("champion"),
                    previous_version=heads.get("previous"),
                )
                .execution_options(synchronize_session=False)
            )
        return AliasChange(kind, model, alias, old, new, actor, reason, at, True, evidence)

    def _unchanged(
        self,
        kind: str,
        model: str,
        version: str | None,
        actor: str,
        reason: str | None,
        alias: str = names.CHAMPION,
    ) -> AliasChange:
        return AliasChange(kind, model, alias, version, version, actor, reason, self.clock(), False)


def _heads_after(aliases: dict[str, str], alias: str, version: str | None) -> dict[str, str | None]:
    after: dict[str, str | None] = {**aliases, alias: version}
    return {"champion": after.get(names.CHAMPION), "previous": after.get(names.PREVIOUS)}


def _check_alias(alias: str) -> None:
    if not names.is_valid_alias(alias):
        raise InvalidName(
            f"'{alias}' is not a valid alias (letters, digits, '_' and '-', starting with a "
            "letter or '_'; not 'latest' and not a version like 'v3')"
        )


def _is_lock_error(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # two first-ever claims inserted the same model row
    text = str(exc).lower()
    return any(s in text for s in ("database is locked", "could not serialize", "deadlock"))


def _event_record(e: Event) -> EventRecord:
    return EventRecord(
        id=e.id,
        at=e.at,
        model=e.model_name,
        kind=e.kind,
        actor=e.actor,
        reason=e.reason,
        alias=e.alias,
        from_version=e.from_version,
        to_version=e.to_version,
        payload=e.payload,
    )
