"""Alias moves with an audit trail, on both control-DB backends, with an in-memory registry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models import Event, RegistryModel
from registry import names
from registry.audit import AliasLedger
from registry.errors import (
    AliasNotFound,
    InvalidName,
    NoPreviousVersion,
    PromotionConflict,
    VersionNotFound,
)
from registry.fake import InMemoryRegistry
from registry.types import NewVersion

MODEL = "fraud"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _registry(versions: int = 3) -> InMemoryRegistry:
    reg = InMemoryRegistry()
    for _ in range(versions):
        reg.create_version(
            NewVersion(
                name=MODEL, onnx_bytes=b"x", input_example={}, outputs={}, source_format="onnx"
            )
        )
    return reg


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(sessions: sessionmaker[Session], clock: Clock) -> AliasLedger:
    return AliasLedger(_registry(), sessions, clock=clock)


def _events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def test_first_promotion_sets_champion_without_previous(ledger: AliasLedger) -> None:
    change = ledger.promote(MODEL, "1", actor="ana", reason="first")
    assert change.changed and change.from_version is None and change.to_version == "1"
    assert ledger.registry.get_model(MODEL).aliases == {names.CHAMPION: "1"}


def test_promotion_moves_old_champion_to_previous_and_records_event(
    ledger: AliasLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.promote(MODEL, "1", actor="ana")
    ledger.promote(MODEL, "2", actor="bo", reason="better auc")
    assert ledger.registry.get_model(MODEL).aliases == {
        names.CHAMPION: "2",
        names.PREVIOUS: "1",
    }
    last = _events(sessions)[-1]
    assert (last.kind, last.actor, last.reason) == (names.EVENT_PROMOTE, "bo", "better auc")
    assert (last.alias, last.from_version, last.to_version) == (names.CHAMPION, "1", "2")
    with sessions() as s:
        row = s.get(RegistryModel, MODEL)
        assert row is not None
        assert (row.champion_version, row.previous_version) == ("2", "1")


def test_promoting_the_champion_again_changes_nothing(
    ledger: AliasLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.promote(MODEL, "1", actor="ana")
    writes = len(ledger.registry.alias_writes)  # type: ignore[attr-defined]
    change = ledger.promote(MODEL, "1", actor="ana")
    assert not change.changed
    assert len(ledger.registry.alias_writes) == writes  # type: ignore[attr-defined]
    assert len(_events(sessions)) == 1


def test_promoting_unknown_version_fails_and_writes_nothing(
    ledger: AliasLedger, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(VersionNotFound, match="no version 9"):
        ledger.promote(MODEL, "9", actor="ana")
    assert _events(sessions) == []
    assert ledger.registry.get_model(MODEL).aliases == {}


def test_rollback_without_previous_is_a_clear_error(ledger: AliasLedger) -> None:
    ledger.promote(MODEL, "1", actor="ana")
    with pytest.raises(NoPreviousVersion, match="no 'previous' alias"):
        ledger.rollback(MODEL, actor="ana")
    assert ledger.registry.get_model(MODEL).aliases == {names.CHAMPION: "1"}


def test_rollback_swaps_champion_and_previous(
    ledger: AliasLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.promote(MODEL, "1", actor="ana")
    ledger.promote(MODEL, "2", actor="ana")
    change = ledger.rollback(MODEL, actor="oncall", reason="p99 regression")
    assert (change.from_version, change.to_version) == ("2", "1")
    assert ledger.registry.get_model(MODEL).aliases == {
        names.CHAMPION: "1",
        names.PREVIOUS: "2",
    }
    last = _events(sessions)[-1]
    assert (last.kind, last.actor, last.reason) == (
        names.EVENT_ROLLBACK,
        "oncall",
        "p99 regression",
    )


def test_alias_at_answers_which_version_was_champion(ledger: AliasLedger, clock: Clock) -> None:
    t0 = clock()
    clock.advance(10)
    ledger.promote(MODEL, "1", actor="ana")
    clock.advance(10)
    t1 = clock()
    clock.advance(10)
    ledger.promote(MODEL, "2", actor="ana")
    clock.advance(10)
    t2 = clock()
    clock.advance(10)
    ledger.rollback(MODEL, actor="ana")
    clock.advance(10)
    assert ledger.alias_at(MODEL, t0) is None
    assert ledger.alias_at(MODEL, t1) == "1"
    assert ledger.alias_at(MODEL, t2) == "2"
    assert ledger.alias_at(MODEL, clock()) == "1"
    assert ledger.alias_at(MODEL, t2, names.PREVIOUS) is None  # only champion moves are logged


def test_set_and_remove_alias_are_audited(
    ledger: AliasLedger, sessions: sessionmaker[Session]
) -> None:
    ledger.set_alias(MODEL, names.CHALLENGER, "3", actor="ana", reason="try it")
    assert ledger.registry.get_model(MODEL).aliases == {names.CHALLENGER: "3"}
    ledger.remove_alias(MODEL, names.CHALLENGER, actor="ana")
    assert ledger.registry.get_model(MODEL).aliases == {}
    kinds = [(e.kind, e.alias, e.from_version, e.to_version) for e in _events(sessions)]
    assert kinds == [
        (names.EVENT_ALIAS_SET, names.CHALLENGER, None, "3"),
        (names.EVENT_ALIAS_REMOVE, names.CHALLENGER, "3", None),
    ]


def test_removing_a_missing_alias_fails(ledger: AliasLedger) -> None:
    with pytest.raises(AliasNotFound):
        ledger.remove_alias(MODEL, "challenger", actor="ana")


@pytest.mark.parametrize("alias", ["latest", "v3", "3", "has space", ""])
def test_invalid_alias_names_are_rejected(ledger: AliasLedger, alias: str) -> None:
    with pytest.raises(InvalidName):
        ledger.set_alias(MODEL, alias, "1", actor="ana")


def test_failed_registry_write_restores_champion_and_records_nothing(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    class FlakyRegistry(InMemoryRegistry):
        fail_on: str | None = None

        def set_alias(self, name: str, alias: str, version: str) -> None:
            if alias == self.fail_on:
                raise ConnectionError("MLflow went away")
            super().set_alias(name, alias, version)

    reg = FlakyRegistry()
    for _ in range(2):
        reg.create_version(
            NewVersion(
                name=MODEL, onnx_bytes=b"x", input_example={}, outputs={}, source_format="onnx"
            )
        )
    ledger = AliasLedger(reg, sessions, clock=clock)
    ledger.promote(MODEL, "1", actor="ana")
    reg.fail_on = names.PREVIOUS
    with pytest.raises(ConnectionError):
        ledger.promote(MODEL, "2", actor="ana")
    assert reg.get_model(MODEL).aliases == {names.CHAMPION: "1"}
    assert [e.to_version for e in _events(sessions)] == ["1"]


class SlowRegistry(InMemoryRegistry):
    """Alias writes take a while, so two promotions overlap."""

    def set_alias(self, name: str, alias: str, version: str) -> None:
        time.sleep(0.3)
        super().set_alias(name, alias, version)


def test_concurrent_promotions_one_wins_one_conflicts(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    reg = SlowRegistry()
    for _ in range(3):
        reg.create_version(
            NewVersion(
                name=MODEL, onnx_bytes=b"x", input_example={}, outputs={}, source_format="onnx"
            )
        )
    AliasLedger(reg, sessions, clock=clock).promote(MODEL, "1", actor="setup")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def attempt(version: str) -> None:
        ledger = AliasLedger(reg, sessions, clock=clock)
        barrier.wait()
        try:
            outcomes[version] = ledger.promote(MODEL, version, actor=f"user{version}")
        except PromotionConflict as exc:
            outcomes[version] = exc

    threads = [threading.Thread(target=attempt, args=(v,)) for v in ("2", "3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    conflicts = [v for v, o in outcomes.items() if isinstance(o, PromotionConflict)]
    winners = [v for v, o in outcomes.items() if not isinstance(o, PromotionConflict)]
    assert len(conflicts) == 1 and len(winners) == 1, outcomes
    assert "in progress" in str(outcomes[conflicts[0]])
    # The registry and the audit log agree on what happened.
    aliases = reg.get_model(MODEL).aliases
    assert aliases == {names.CHAMPION: winners[0], names.PREVIOUS: "1"}
    events = _events(sessions)
    assert [e.to_version for e in events] == ["1", winners[0]]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 2
