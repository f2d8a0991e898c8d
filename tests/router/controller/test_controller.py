"""The controller end to end without HTTP: real control DB, in-memory registry, a
synthetic metric reader, a fake clock. Good canaries are promoted, bad ones rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models import Alert, AlertDelivery, Event, RolloutDecision
from monitors.alerts import AlertsConfig, parse_config
from registry.audit import AliasLedger
from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.analysis import AnalysisSpec, Measurement, MetricSpec, SequentialSpec
from router.analysis.providers import ProviderContext
from router.controller.controller import Controller
from router.controller.errors import ActiveRolloutExists, InvalidRollout
from router.controller.executor import Executor
from router.controller.lease import Lease
from router.controller.service import run_command, start_rollout
from router.controller.store import get_rollout
from router.controller.webhooks import WebhookCaller
from router.rollout import CommandError, spec_from_flags
from router.serving.policy_store import get_policy
from tests.onnx_models import plain_model

MODEL = "fraud"
T0 = 1_800_000_000.0

ANALYSIS = AnalysisSpec(
    metrics=(
        MetricSpec(
            name="error-rate",
            kind="error_rate",
            min_samples=50,
            sequential=SequentialSpec(alpha=0.05, min_effect=0.01),
        ),
    )
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Traffic:
    """Synthetic telemetry: a fixed request rate and error rate per version.

    At 1000 req/s a 10 s step has enough requests to rule out a +1 point regression;
    with less the judge would rather pause the step than promote on thin evidence.
    """

    error_rates: dict[str, float]
    rps: float = 1000.0

    def read(
        self, model: str, version: str, since: datetime, until: datetime
    ) -> Measurement | None:
        seconds = (until - since).total_seconds()
        requests = int(self.rps * seconds)
        if requests == 0:
            return None
        return Measurement(requests=requests, errors=int(requests * self.error_rates[version]))


@dataclass
class World:
    sessions: sessionmaker[Session]
    registry: InMemoryRegistry
    ledger: AliasLedger
    clock: Clock
    traffic: Traffic

    def controller(self, holder: str = "c1", alerts: AlertsConfig | None = None) -> Controller:
        return Controller(
            self.sessions,
            Executor(self.sessions, self.ledger),
            ProviderContext(read_builtin=self.traffic.read),
            WebhookCaller({}),
            lease=Lease(
                self.sessions,
                holder=holder,
                clock=lambda: datetime.fromtimestamp(self.clock(), tz=__import__("datetime").UTC),
            ),
            clock=self.clock,
            alerts=alerts,
        )

    def start(self, **flags: object) -> int:
        spec = spec_from_flags(
            MODEL, "2", steps="50,100", step_duration_s=10, analysis=ANALYSIS, **flags
        )  # type: ignore[arg-type]
        rollout_id, _ = start_rollout(
            self.sessions, self.registry, spec, actor="ana", now=self.clock()
        )
        return rollout_id

    def run(self, controller: Controller, seconds: int) -> str:
        phase = ""
        for _ in range(seconds):
            self.clock.now += 1
            results = controller.tick()
            if results:
                phase = results[-1].phase_after
        return phase


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    registry = InMemoryRegistry()
    for _ in range(3):
        registry.create_version(
            NewVersion(
                name=MODEL,
                onnx_bytes=plain_model(),
                input_example={},
                outputs={},
                source_format="onnx",
            )
        )
    ledger = AliasLedger(registry, sessions)
    ledger.promote(MODEL, "1", actor="setup")
    yield World(sessions, registry, ledger, Clock(), Traffic({"1": 0.01, "2": 0.01, "3": 0.01}))
    engine.dispose()


def _phase(world: World, rollout_id: int) -> str:
    with world.sessions() as s:
        return get_rollout(s, rollout_id).phase


def test_a_good_canary_walks_every_step_and_is_promoted(world: World) -> None:
    rollout_id = world.start()
    controller = world.controller()
    weights_seen = set()
    for _ in range(60):
        world.clock.now += 1
        controller.tick()
        with world.sessions() as s:
            stored = get_policy(s, MODEL)
            if stored is not None and stored.policy is not None:
                weights_seen.add(tuple(r.weight for r in stored.policy.routes))
        if _phase(world, rollout_id) == "Succeeded":
            break
    assert _phase(world, rollout_id) == "Succeeded"
    assert (50, 50) in weights_seen
    assert world.registry.get_model(MODEL).aliases == {"champion": "2", "previous": "1"}
    with world.sessions() as s:
        final = get_policy(s, MODEL)
        assert final is not None and final.policy is None  # back to following the champion
        kinds = [e.kind for e in s.scalars(select(Event).order_by(Event.id))]
        assert "rollout.start" in kinds and "alias.promote" in kinds
        decisions = s.scalars(select(RolloutDecision)).all()
        assert decisions and all(d.measurements is not None for d in decisions)


def test_a_bad_canary_is_rolled_back_within_seconds(world: World) -> None:
    world.traffic.rps = 100.0  # SEMANTICS.md P5: 100 req/s
    world.traffic.error_rates["2"] = 0.05
    rollout_id = world.start()
    controller = world.controller()
    seconds = 0
    while _phase(world, rollout_id) not in {"RolledBack", "Succeeded"} and seconds < 120:
        world.clock.now += 1
        controller.tick()
        seconds += 1
    assert _phase(world, rollout_id) == "RolledBack", seconds
    assert seconds <= 30
    assert world.registry.get_model(MODEL).aliases["champion"] == "1"
    with world.sessions() as s:
        policy = get_policy(s, MODEL)
        assert policy is not None and policy.policy is not None
        assert [(r.version, r.weight) for r in policy.policy.routes if r.weight] == [("1", 100)]
        kinds = [e.kind for e in s.scalars(select(Event))]
        assert "rollout.rollback" in kinds


def test_a_rollback_raises_one_alert_with_the_decision(world: World) -> None:
    world.traffic.error_rates["2"] = 0.30
    config = parse_config(
        """
[sinks.pipeline]
type = "webhook"
url = "http://127.0.0.1:9/hook"

[[routes]]
kinds = ["rollout_rollback"]
sinks = ["pipeline"]
"""
    )
    rollout_id = world.start()
    controller = world.controller(alerts=config)
    world.run(controller, 60)
    assert _phase(world, rollout_id) == "RolledBack"
    world.run(controller, 5)  # later ticks of a finished rollout raise nothing more
    with world.sessions() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert (alert.kind, alert.severity, alert.model_name, alert.version) == (
            "rollout_rollback",
            "critical",
            MODEL,
            "2",
        )
        assert alert.payload["details"]["rollout_id"] == rollout_id
        assert "error" in alert.payload["summary"]
        [delivery] = s.scalars(select(AlertDelivery)).all()
        assert (delivery.sink, delivery.status) == ("pipeline", "pending")


def test_no_data_never_passes(world: World) -> None:
    world.traffic.rps = 0.0
    rollout_id = world.start()
    controller = world.controller()
    world.run(controller, 30)  # the step lasts 10 s: after 2 x 10 s without data, a human looks
    with world.sessions() as s:
        row = get_rollout(s, rollout_id)
        assert (row.phase, row.weight) == ("Paused", 50)
        assert "no data" in (row.message or "")
    assert world.registry.get_model(MODEL).aliases["champion"] == "1"


def test_a_second_controller_waits_and_resumes_after_the_first_dies(world: World) -> None:
    rollout_id = world.start()
    first = world.controller("c1")
    world.run(first, 3)
    standby = world.controller("c2")
    assert standby.tick() == []  # c1 holds the lease
    world.clock.now += 30  # c1 died: its lease expires
    phase = world.run(standby, 60)
    assert phase == "Succeeded" or _phase(world, rollout_id) == "Succeeded"


def test_ticking_twice_at_the_same_time_changes_nothing(world: World) -> None:
    rollout_id = world.start()
    controller = world.controller()
    world.run(controller, 3)
    with world.sessions() as s:
        before = get_policy(s, MODEL)
        phase = get_rollout(s, rollout_id).phase
    controller.tick()
    controller.tick()
    with world.sessions() as s:
        after = get_policy(s, MODEL)
        assert get_rollout(s, rollout_id).phase == phase
    assert before is not None and after is not None and before.revision == after.revision


def test_commands_abort_and_refusals(world: World) -> None:
    rollout_id = world.start()
    controller = world.controller()
    world.run(controller, 3)
    with pytest.raises(CommandError):
        run_command(controller, rollout_id, "approve", actor="ana")  # not paused
    run_command(controller, rollout_id, "pause", actor="ana", reason="looking")
    assert _phase(world, rollout_id) == "Paused"
    run_command(controller, rollout_id, "abort", actor="ana", reason="not today")
    assert _phase(world, rollout_id) == "Aborted"
    assert world.registry.get_model(MODEL).aliases["champion"] == "1"
    with pytest.raises(CommandError):
        run_command(controller, rollout_id, "frobnicate", actor="ana")


def test_start_refuses_bad_requests(world: World) -> None:
    with pytest.raises(InvalidRollout, match="already the champion"):
        start_rollout(
            world.sessions,
            world.registry,
            spec_from_flags(MODEL, "1", analysis=ANALYSIS),
            actor="ana",
        )
    world.start()
    with pytest.raises(ActiveRolloutExists):
        world.start()


def test_old_finished_rollouts_keep_only_their_transitions(world: World) -> None:
    from router.controller.store import decisions, prune_decisions

    rollout_id = world.start()
    controller = world.controller()
    world.run(controller, 60)
    assert _phase(world, rollout_id) == "Succeeded"
    with world.sessions() as s:
        before = decisions(s, rollout_id, limit=5000)
    transitions = [
        (d.phase_before, d.phase_after) for d in before if d.phase_before != d.phase_after
    ]
    assert len(before) > len(transitions) >= 2
    with world.sessions.begin() as s:  # not old enough yet: nothing goes
        assert prune_decisions(s, datetime(2000, 1, 1, tzinfo=UTC)) == 0
    with world.sessions.begin() as s:
        assert prune_decisions(s, datetime(2999, 1, 1, tzinfo=UTC)) == len(before) - len(
            transitions
        )
    with world.sessions() as s:
        after = decisions(s, rollout_id, limit=5000)
    assert [(d.phase_before, d.phase_after) for d in after] == transitions
