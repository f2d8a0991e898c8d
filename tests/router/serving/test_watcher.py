"""The policy watcher and model pool against a real control DB and an in-memory registry."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models import RegistryModel
from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.serving.errors import PolicyConflict
from router.serving.policy_store import get_policy, latest_revisions, put_policy
from router.serving.pool import ModelPool
from router.serving.watcher import PolicyWatcher
from router.traffic import Route, RoutingPolicy, RoutingTable
from tests.onnx_models import plain_model

MODEL = "fraud"


class Registry(InMemoryRegistry):
    """Counts downloads, and can be switched off like an MLflow server that went away."""

    def __init__(self) -> None:
        super().__init__()
        self.downloads = 0
        self.down = False

    def model_bytes(self, name: str, version: str) -> bytes:
        self.downloads += 1
        return super().model_bytes(name, version)

    def list_models(self):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("MLflow is down")
        return super().list_models()


def _registry(*payloads: bytes) -> Registry:
    reg = Registry()
    for raw in payloads:
        reg.create_version(
            NewVersion(
                name=MODEL, onnx_bytes=raw, input_example={}, outputs={}, source_format="onnx"
            )
        )
    return reg


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def _watcher(
    reg: Registry, sessions: sessionmaker[Session]
) -> tuple[PolicyWatcher, RoutingTable, ModelPool]:
    table = RoutingTable()
    pool = ModelPool(reg)
    return PolicyWatcher(sessions, reg, pool, table, registry_refresh_s=0.0), table, pool


def _policy(*weights: tuple[str, int]) -> RoutingPolicy:
    return RoutingPolicy(model=MODEL, routes=tuple(Route(v, w) for v, w in weights), seed=MODEL)


def test_no_champion_and_no_policy_serves_nothing(sessions: sessionmaker[Session]) -> None:
    watcher, table, pool = _watcher(_registry(plain_model()), sessions)
    watcher.poll_once()
    assert table.get(MODEL) is None and pool.loaded() == []
    assert watcher.status.started and not watcher.status.stale


def test_champion_alias_is_served_at_100_percent(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model(), plain_model())
    reg.set_alias(MODEL, "champion", "2")
    watcher, table, pool = _watcher(reg, sessions)
    assert watcher.poll_once()
    compiled = table.get(MODEL)
    assert compiled is not None
    assert [(r.version, r.weight) for r in compiled.policy.routes] == [("2", 100)]
    assert pool.loaded() == [(MODEL, "2")]


def test_ledger_champion_wins_when_it_changes(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model(), plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, _ = _watcher(reg, sessions)
    watcher.poll_once()
    with sessions.begin() as s:  # what `turnout promote` records in the same transaction
        s.add(RegistryModel(model_name=MODEL, generation=1, champion_version="2"))
    watcher.registry_refresh_s = 3600  # the registry is not asked again
    assert watcher.poll_once()
    compiled = table.get(MODEL)
    assert compiled is not None and compiled.policy.versions() == {"2"}


def test_stored_policy_loads_versions_then_applies(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model(), plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, pool = _watcher(reg, sessions)
    watcher.poll_once()
    with sessions.begin() as s:
        stored = put_policy(s, MODEL, _policy(("1", 90), ("2", 10)), actor="ana")
    assert stored.revision == 1
    assert watcher.poll_once()
    compiled = table.get(MODEL)
    assert compiled is not None and compiled.policy.revision == 1
    assert pool.loaded() == [(MODEL, "1"), (MODEL, "2")]
    downloads = reg.downloads
    assert not watcher.poll_once()  # nothing changed: no reload, no re-download
    assert reg.downloads == downloads


def test_versions_no_policy_names_are_unloaded(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model(), plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, pool = _watcher(reg, sessions)
    with sessions.begin() as s:
        put_policy(s, MODEL, _policy(("1", 50), ("2", 50)), actor="ana")
    watcher.poll_once()
    with sessions.begin() as s:
        put_policy(s, MODEL, None, actor="ana")  # back to the champion
    watcher.poll_once()
    assert pool.loaded() == [(MODEL, "1")]
    compiled = table.get(MODEL)
    assert compiled is not None and compiled.policy.revision == 2


def test_corrupt_version_never_takes_traffic(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model(), b"not an onnx model")
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, pool = _watcher(reg, sessions)
    watcher.poll_once()
    with sessions.begin() as s:
        put_policy(s, MODEL, _policy(("1", 50), ("2", 50)), actor="ana")
    assert not watcher.poll_once()
    compiled = table.get(MODEL)
    assert compiled is not None and compiled.policy.versions() == {"1"}  # previous policy kept
    assert "v2 cannot be loaded" in watcher.status.load_errors[MODEL]
    assert pool.loaded() == [(MODEL, "1")]


def test_db_outage_keeps_the_last_table_and_reports_stale(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    reg = _registry(plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, _ = _watcher(reg, sessions)
    watcher.poll_once()
    broken = session_factory(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none"))
    watcher.sessions = broken
    assert not watcher.poll_once()
    assert watcher.status.stale and watcher.status.last_error
    assert table.get(MODEL) is not None  # still serving
    watcher.sessions = sessions
    watcher.poll_once()
    assert not watcher.status.stale
    engine.dispose()


def test_registry_outage_keeps_known_champions(sessions: sessionmaker[Session]) -> None:
    reg = _registry(plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, _ = _watcher(reg, sessions)
    watcher.poll_once()
    reg.down = True
    watcher.poll_once()
    assert table.get(MODEL) is not None


def test_revisions_only_grow_and_history_is_kept(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for weight in (5, 25, 50):
            put_policy(s, MODEL, _policy(("1", 100 - weight), ("2", weight)), actor="ctl")
    with sessions() as s:
        assert latest_revisions(s) == {MODEL: 3}
        current = get_policy(s, MODEL)
        assert current is not None and current.policy is not None
        assert [r.weight for r in current.policy.routes] == [50, 50]


def test_racing_writers_never_share_a_revision(sessions: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            with sessions.begin() as s:
                outcomes.append(put_policy(s, MODEL, _policy(("1", 100)), actor=f"w{i}").revision)
        except PolicyConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    revisions = sorted(o for o in outcomes if isinstance(o, int))
    assert len(outcomes) == 4 and revisions, outcomes
    assert revisions == list(range(1, len(revisions) + 1))  # distinct, no gaps
    with sessions() as s:
        assert latest_revisions(s) == {MODEL: revisions[-1]}


def test_an_unreadable_stored_policy_keeps_the_previous_one(
    sessions: sessionmaker[Session],
) -> None:
    from migrations.models import RoutingPolicy as PolicyRow

    reg = _registry(plain_model(), plain_model())
    reg.set_alias(MODEL, "champion", "1")
    watcher, table, _ = _watcher(reg, sessions)
    with sessions.begin() as s:
        put_policy(s, MODEL, _policy(("1", 50), ("2", 50)), actor="ana")
    watcher.poll_once()
    with sessions.begin() as s:  # a document some other tool wrote
        s.add(PolicyRow(model_name=MODEL, revision=2, policy={"routes": "all"}, created_by="x"))
    watcher.poll_once()
    assert not watcher.status.stale
    assert "revision 2 is invalid" in watcher.status.load_errors[MODEL]
    compiled = table.get(MODEL)
    assert compiled is not None and compiled.policy.revision == 1
