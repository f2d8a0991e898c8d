"""Blue-green, A/B and shadow rollouts through the real controller, plus webhooks,
restarts, racing commands, broken providers and refused starts.

Real control DB (SQLite and PostgreSQL), in-memory registry, a fake clock, and a
synthetic metric reader that follows the stored routing policy: a version gets
requests in proportion to the traffic the policy sends it (weights, match rules,
mirroring), so a version that serves nothing has no data, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models import Event, Rollout, RolloutDecision
from registry.audit import AliasLedger
from registry.errors import VersionNotFound
from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.analysis import Measurement
from router.analysis.providers import ProviderContext
from router.controller import controller as controller_module
from router.controller.controller import Controller
from router.controller.errors import InvalidRollout, RolloutConflict
from router.controller.executor import Executor
from router.controller.lease import Lease
from router.controller.service import run_command, start_rollout
from router.controller.store import get_rollout, save_status
from router.controller.webhooks import SIGNATURE_HEADER, WebhookCaller, sign
from router.rollout import (
    Action,
    CommandError,
    PromoteAlias,
    RecordDecision,
    RolloutSpec,
    RolloutStatus,
    SetTraffic,
    SpecError,
    desired_traffic,
)
from router.rollout import step as rollout_step
from router.serving.errors import PolicyConflict, VersionLoadError
from router.serving.policy_store import get_policy
from router.traffic import CompiledPolicy, MatchRule, RoutingPolicy
from tests.onnx_models import plain_model

MODEL = "fraud"
T0 = 1_800_000_000.0
SECRET_ENV = "HOOK_SECRET"
SECRET = "s3cret-for-tests"

# Absolute thresholds: judged on the candidate alone (no baseline traffic needed).
THRESHOLDS: dict[str, Any] = {
    "metrics": [
        {"name": "error-rate", "kind": "error_rate", "max": 0.05, "minSamples": 50, "interval": 1}
    ]
}
# A comparison with the live baseline (anytime-valid), as the default analysis does.
SEQUENTIAL: dict[str, Any] = {
    "metrics": [
        {
            "name": "error-rate",
            "kind": "error_rate",
            "minSamples": 50,
            "sequential": {"alpha": 0.05, "minEffect": 0.01},
        }
    ]
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


@dataclass
class Traffic:
    """Synthetic telemetry that follows the stored routing policy.

    A version's requests over a window are ``rps x seconds x share``, where its share is
    its weight, plus ``matched_share`` when a match rule sends requests to it, plus the
    mirrored percent when it is the shadow; without a stored policy the champion gets
    everything. ``mode`` "raise" makes every read fail, "none" returns no data.
    ``note(t)`` records the shares in force up to time ``t`` (the world calls it every
    tick), so a read of a past window counts the traffic each version had back then.
    """

    sessions: sessionmaker[Session]
    registry: InMemoryRegistry
    error_rates: dict[str, float]
    rps: float = 1000.0
    matched_share: float = 0.05
    mode: str = "ok"
    reads: int = 0
    # (until, shares): the shares in force from the previous entry's time until `until`
    history: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def note(self, until: float) -> None:
        self.history.append((until, {v: self.share(v) for v in self.error_rates}))

    def served(self, version: str, since: float, until: float) -> float:
        """Seconds of full traffic ``version`` had in [since, until]."""
        total, start = 0.0, float("-inf")
        for end, shares in self.history:
            overlap = min(end, until) - max(start, since)
            if overlap > 0:
                total += overlap * shares.get(version, 0.0)
            start = end
        if until > start:
            total += (until - max(start, since)) * self.share(version)
        return total

    def share(self, version: str) -> float:
        with self.sessions() as session:
            stored = get_policy(session, MODEL)
        if stored is None or stored.policy is None:
            champion = self.registry.get_model(MODEL).aliases.get("champion")
            return 1.0 if version == champion else 0.0
        policy = stored.policy
        share = sum(r.weight for r in policy.routes if r.version == version) / 100
        if any(rule.version == version for rule in policy.match):
            share += self.matched_share
        if policy.shadow is not None and policy.shadow.version == version:
            share += policy.shadow.percent / 100
        return share

    def read(
        self, model: str, version: str, since: datetime, until: datetime
    ) -> Measurement | None:
        self.reads += 1
        if self.mode == "raise":
            raise ConnectionError("telemetry store unreachable")
        if self.mode == "none":
            return None
        served = self.served(version, since.timestamp(), until.timestamp())
        requests = int(self.rps * served)
        if requests <= 0:
            return None
        return Measurement(requests=requests, errors=int(requests * self.error_rates[version]))


@dataclass
class Hooks:
    """An httpx.MockTransport webhook receiver: answers from a script, keeps the calls."""

    answers: dict[str, list[int | str]] = field(default_factory=dict)
    calls: list[tuple[str, bytes, Mapping[str, str]]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        kind = request.url.path.strip("/")
        self.calls.append((kind, request.content, dict(request.headers)))
        script = self.answers.get(kind, [200])
        answer = script.pop(0) if len(script) > 1 else script[0]
        if answer == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        assert isinstance(answer, int)
        return httpx.Response(answer, json={"ok": 200 <= answer < 300})

    def caller(self) -> WebhookCaller:
        return WebhookCaller({SECRET_ENV: SECRET}, transport=httpx.MockTransport(self.handle))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [orjson.loads(body) for k, body, _ in self.calls if k == kind]


def hook(kind: str, *, secret: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": kind, "url": f"http://hooks.test/{kind}", "timeout_s": 2}
    if secret:
        doc["secret_env"] = SECRET_ENV
    return doc


@dataclass
class World:
    sessions: sessionmaker[Session]
    registry: InMemoryRegistry
    ledger: AliasLedger
    clock: Clock
    traffic: Traffic

    def controller(
        self,
        holder: str = "c1",
        *,
        webhooks: WebhookCaller | None = None,
        executor: Executor | None = None,
        lease: bool = True,
    ) -> Controller:
        return Controller(
            self.sessions,
            executor or Executor(self.sessions, self.ledger),
            ProviderContext(read_builtin=self.traffic.read),
            webhooks or WebhookCaller({}),
            lease=Lease(self.sessions, holder=holder, clock=self.clock.utc) if lease else None,
            clock=self.clock,
        )

    def spec(self, candidate: str = "2", **fields: Any) -> RolloutSpec:
        doc: dict[str, Any] = {"model": MODEL, "candidate": candidate, "analysis": THRESHOLDS}
        doc.update(fields)
        if doc.get("strategy", "canary") == "canary" and not {"steps", "step_weights"} & set(doc):
            doc["step_weights"] = [50]
        return RolloutSpec.from_dict(doc)

    def start(self, candidate: str = "2", **fields: Any) -> int:
        rollout_id, _ = start_rollout(
            self.sessions,
            self.registry,
            self.spec(candidate, **fields),
            actor="ana",
            now=self.clock(),
        )
        return rollout_id

    def tick(self, controller: Controller, seconds: float = 1.0) -> None:
        self.clock.now += seconds
        self.traffic.note(self.clock.now)
        controller.tick()

    def run_until(
        self, controller: Controller, rollout_id: int, phases: set[str], limit: int = 120
    ) -> int:
        """Tick once a second until the rollout is in one of PHASES; the seconds taken."""
        for second in range(1, limit + 1):
            self.tick(controller)
            if self.phase(rollout_id) in phases:
                return second
        raise AssertionError(
            f"still {self.phase(rollout_id)} after {limit} s, not in {phases}: "
            f"{self.status(rollout_id).message}"
        )

    # -- reading ----------------------------------------------------------------------

    def phase(self, rollout_id: int) -> str:
        with self.sessions() as s:
            return get_rollout(s, rollout_id).phase

    def status(self, rollout_id: int) -> RolloutStatus:
        with self.sessions() as s:
            return RolloutStatus.from_dict(get_rollout(s, rollout_id).status)

    def policy(self) -> RoutingPolicy | None:
        with self.sessions() as s:
            stored = get_policy(s, MODEL)
        return None if stored is None else stored.policy

    def policy_revision(self) -> int:
        with self.sessions() as s:
            stored = get_policy(s, MODEL)
        return 0 if stored is None else stored.revision

    def aliases(self) -> dict[str, str]:
        return dict(self.registry.get_model(MODEL).aliases)

    def champion(self) -> str:
        return self.aliases()["champion"]

    def promotions_to(self, version: str) -> int:
        """alias.promote events that moved the champion to VERSION (setup's excluded)."""
        with self.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(
                        Event.kind == "alias.promote",
                        Event.to_version == version,
                        Event.actor != "setup",
                    )
                )
                or 0
            )

    def event_kinds(self, rollout_id: int) -> list[str]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(Event.kind).where(Event.rollout_id == rollout_id).order_by(Event.id)
                )
            )

    def decisions(self, rollout_id: int) -> list[RolloutDecision]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(RolloutDecision)
                    .where(RolloutDecision.rollout_id == rollout_id)
                    .order_by(RolloutDecision.id)
                )
            )

    def assert_consistent(self, rollout_id: int) -> None:
        """Traffic and the champion alias are what the stored status says they are."""
        with self.sessions() as s:
            row = get_rollout(s, rollout_id)
            spec = RolloutSpec.from_dict(row.spec)
            status = RolloutStatus.from_dict(row.status)
        policy, champion = self.policy(), self.champion()
        phase = str(status.phase)
        if phase in {"RolledBack", "Aborted", "Failed"}:
            assert champion == spec.baseline, (phase, champion)
            assert policy is not None and _routes(policy) == [(spec.baseline, 100)], policy
            assert policy.match == () and policy.shadow is None
        elif phase == "Succeeded" and status.promoted:
            assert champion == spec.candidate, (phase, champion)
            assert policy is None, policy  # follows the champion
        elif phase != "Succeeded":
            assert champion == (spec.candidate if status.promoted else spec.baseline)
            wanted = desired_traffic(status, spec)
            if wanted is not None and not wanted.follow_champion:
                assert policy is not None
                assert (
                    policy.with_revision(0).to_dict()
                    == wanted.to_policy(MODEL, seed=policy.seed).to_dict()
                )


def _routes(policy: RoutingPolicy) -> list[tuple[str, int]]:
    return [(r.version, r.weight) for r in policy.routes if r.weight]


def _register(registry: InMemoryRegistry, raw: bytes) -> str:
    info = registry.create_version(
        NewVersion(name=MODEL, onnx_bytes=raw, input_example={}, outputs={}, source_format="onnx")
    )
    return info.version


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    registry = InMemoryRegistry()
    for _ in range(3):
        _register(registry, plain_model())
    ledger = AliasLedger(registry, sessions)
    ledger.promote(MODEL, "1", actor="setup")
    traffic = Traffic(sessions, registry, {"1": 0.01, "2": 0.01, "3": 0.01})
    yield World(sessions, registry, ledger, Clock(), traffic)
    engine.dispose()


# -- blue-green ---------------------------------------------------------------------------


BLUEGREEN: dict[str, Any] = {
    "strategy": "bluegreen",
    "bluegreen": {"pre_promotion_s": 10, "post_promotion_s": 10},
}


def test_bluegreen_preview_gets_only_header_matched_traffic_then_switches(world: World) -> None:
    rollout_id = world.start(**BLUEGREEN)
    controller = world.controller()
    world.tick(controller)
    assert world.phase(rollout_id) == "Progressing"
    policy = world.policy()
    assert policy is not None
    assert _routes(policy) == [("1", 100)]  # every unmatched user stays on blue
    assert policy.match == (MatchRule("header", "x-turnout-preview", "exact", "true", "2"),)
    assert policy.shadow is None
    compiled = CompiledPolicy.from_policy(policy)
    preview = compiled.decide(key="u1", headers={"x-turnout-preview": "true"}, cookies={})
    assert preview.version == "2"
    users = {
        compiled.decide(key=f"user-{i}", headers={"x-other": "true"}, cookies={}).version
        for i in range(500)
    }
    assert users == {"1"}
    assert world.champion() == "1"

    # Judged for pre_promotion_s (10 s) before the switch, not earlier.
    for _ in range(7):
        world.tick(controller)
    assert world.phase(rollout_id) == "Progressing" and world.champion() == "1"
    seconds = world.run_until(controller, rollout_id, {"PostPromotion"}, limit=10)
    assert seconds <= 4
    assert world.champion() == "2" and world.aliases()["previous"] == "1"
    assert world.policy() is None  # 100% on the new champion
    status = world.status(rollout_id)
    assert status.promoted and status.weight == 100 and status.step_index == 1
    world.assert_consistent(rollout_id)

    # The post-promotion window passes: done, the alias moved exactly once.
    for _ in range(5):
        world.tick(controller)
    assert world.phase(rollout_id) == "PostPromotion"
    world.run_until(controller, rollout_id, {"Succeeded"}, limit=10)
    assert world.champion() == "2" and world.promotions_to("2") == 1
    assert world.policy() is None
    kinds = world.event_kinds(rollout_id)
    assert kinds[0] == "rollout.start" and "rollout.post-rollout" in kinds
    world.assert_consistent(rollout_id)


def test_bluegreen_failure_after_the_switch_switches_back_and_restores_the_champion(
    world: World,
) -> None:
    rollout_id = world.start(**BLUEGREEN)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"PostPromotion"}, limit=20)
    assert world.champion() == "2"
    world.traffic.error_rates["2"] = 0.30  # breaks once it takes all the traffic
    seconds = world.run_until(controller, rollout_id, {"RolledBack", "Succeeded"}, limit=15)
    assert world.phase(rollout_id) == "RolledBack" and seconds <= 3
    assert world.champion() == "1" and world.aliases()["previous"] == "2"
    policy = world.policy()
    assert policy is not None and _routes(policy) == [("1", 100)] and policy.match == ()
    status = world.status(rollout_id)
    assert not status.promoted and "error-rate" in (status.rollback_reason or "")
    assert world.promotions_to("2") == 1 and world.promotions_to("1") == 1  # moved, restored
    assert "rollout.rollback" in world.event_kinds(rollout_id)
    world.assert_consistent(rollout_id)


def test_bluegreen_pre_promotion_failure_never_switches(world: World) -> None:
    world.traffic.error_rates["2"] = 0.30
    rollout_id = world.start(**BLUEGREEN)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"RolledBack", "PostPromotion"}, limit=20)
    assert world.phase(rollout_id) == "RolledBack"
    assert world.champion() == "1" and world.promotions_to("2") == 0
    world.assert_consistent(rollout_id)


def test_bluegreen_post_promotion_comparison_with_the_baseline_catches_a_failure(
    world: World,
) -> None:
    # After the switch the baseline serves nothing; the sequential test compares the
    # candidate with the baseline's own traffic over as long a span before the switch.
    long_windows = {"pre_promotion_s": 60, "post_promotion_s": 60}
    rollout_id = world.start(strategy="bluegreen", bluegreen=long_windows, analysis=SEQUENTIAL)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"PostPromotion"}, limit=90)
    assert world.champion() == "2"
    world.traffic.error_rates["2"] = 0.30
    seconds = world.run_until(
        controller, rollout_id, {"RolledBack", "Succeeded", "Paused"}, limit=60
    )
    assert world.phase(rollout_id) == "RolledBack" and seconds <= 5
    assert world.champion() == "1"
    status = world.status(rollout_id)
    assert "error-rate" in (status.rollback_reason or "")
    world.assert_consistent(rollout_id)


def test_bluegreen_post_promotion_healthy_candidate_succeeds_on_the_historical_control(
    world: World,
) -> None:
    long_windows = {"pre_promotion_s": 60, "post_promotion_s": 60}
    rollout_id = world.start(strategy="bluegreen", bluegreen=long_windows, analysis=SEQUENTIAL)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"Succeeded", "RolledBack", "Paused"}, limit=200)
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "2"


# -- A/B test -----------------------------------------------------------------------------


def abtest(**block: Any) -> dict[str, Any]:
    return {
        "strategy": "abtest",
        "analysis": SEQUENTIAL,
        "abtest": {"split": 30, "max_duration_s": 60, "min_duration_s": 20, **block},
    }


def test_abtest_keeps_a_fixed_sticky_split_and_promotes_the_winner(world: World) -> None:
    rollout_id = world.start(**abtest(promote_winner=True))
    controller = world.controller()
    world.tick(controller)
    policy = world.policy()
    assert policy is not None and _routes(policy) == [("1", 70), ("2", 30)]
    revision = world.policy_revision()
    compiled = CompiledPolicy.from_policy(policy)
    sides = {
        f"user-{i}": compiled.decide(key=f"user-{i}", headers={}, cookies={}).version
        for i in range(2000)
    }
    assert 0.25 < sum(v == "2" for v in sides.values()) / len(sides) < 0.35
    for _ in range(15):  # the split never moves while the test runs
        world.tick(controller)
        assert world.phase(rollout_id) == "Progressing"
        assert world.policy_revision() == revision
    again = CompiledPolicy.from_policy(world.policy())  # type: ignore[arg-type]
    assert all(
        again.decide(key=user, headers={}, cookies={}).version == side
        for user, side in sides.items()
    )
    world.run_until(controller, rollout_id, {"Succeeded", "RolledBack", "Paused"}, limit=50)
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "2" and world.promotions_to("2") == 1
    assert "wins" in world.status(rollout_id).message or "wins" in _last_reason(world, rollout_id)
    # The decisive verdict states the effect and its confidence bounds.
    judged = [d for d in world.decisions(rollout_id) if d.verdict == "Successful"]
    assert judged, [d.verdict for d in world.decisions(rollout_id)]
    (metric,) = judged[-1].measurements["metrics"]
    stats = metric["statistics"]
    assert stats["ci_low"] <= stats["diff"] <= stats["ci_high"]
    assert stats["ci_high"] < stats["min_effect"]  # the regression that matters is ruled out
    world.assert_consistent(rollout_id)


def _last_reason(world: World, rollout_id: int) -> str:
    return " | ".join(d.reason for d in world.decisions(rollout_id))


def test_abtest_winner_without_promote_winner_hands_traffic_back(world: World) -> None:
    rollout_id = world.start(**abtest(promote_winner=False))
    controller = world.controller()
    world.run_until(controller, rollout_id, {"Succeeded", "RolledBack", "Paused"}, limit=60)
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "1" and world.promotions_to("2") == 0
    policy = world.policy()
    assert policy is not None and _routes(policy) == [("1", 100)]
    assert "wins" in world.status(rollout_id).message


def test_abtest_worse_candidate_is_rolled_back(world: World) -> None:
    world.traffic.error_rates["2"] = 0.05  # 1% -> 5%
    rollout_id = world.start(**abtest(promote_winner=True))
    controller = world.controller()
    seconds = world.run_until(
        controller, rollout_id, {"Succeeded", "RolledBack", "Paused"}, limit=60
    )
    assert world.phase(rollout_id) == "RolledBack" and seconds < 20  # before min_duration
    assert world.champion() == "1" and world.promotions_to("2") == 0
    world.assert_consistent(rollout_id)


def test_abtest_with_min_duration_zero_ends_at_the_first_decisive_verdict(world: World) -> None:
    rollout_id = world.start(**abtest(promote_winner=True, min_duration_s=0, max_duration_s=600))
    controller = world.controller()
    seconds = world.run_until(
        controller, rollout_id, {"Succeeded", "RolledBack", "Paused"}, limit=600
    )
    assert world.phase(rollout_id) == "Succeeded"
    assert seconds < 60, seconds  # as soon as the test rules the regression out


# -- shadow -------------------------------------------------------------------------------


SHADOW: dict[str, Any] = {"strategy": "shadow", "shadow_percent": 40, "step_duration_s": 10}


def test_shadow_mirrors_without_serving_and_a_failure_removes_the_mirror(world: World) -> None:
    world.traffic.error_rates["2"] = 0.30
    rollout_id = world.start(**SHADOW)
    controller = world.controller()
    world.tick(controller)
    policy = world.policy()
    assert policy is not None and _routes(policy) == [("1", 100)]
    assert policy.shadow is not None
    assert (policy.shadow.version, policy.shadow.percent) == ("2", 40.0)
    assert policy.match == ()
    world.run_until(controller, rollout_id, {"RolledBack", "Succeeded"}, limit=15)
    assert world.phase(rollout_id) == "RolledBack"
    policy = world.policy()
    assert policy is not None and policy.shadow is None and _routes(policy) == [("1", 100)]
    assert world.champion() == "1"
    world.assert_consistent(rollout_id)


def test_shadow_that_passes_succeeds(world: World) -> None:
    rollout_id = world.start(**SHADOW, promote_on_success=False)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"RolledBack", "Succeeded"}, limit=20)
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "1" and world.promotions_to("2") == 0
    policy = world.policy()
    assert policy is not None and policy.shadow is None and _routes(policy) == [("1", 100)]
    assert "shadow analysis of 2 passed" in world.status(rollout_id).message


def test_shadow_that_passes_is_promoted_by_default(world: World) -> None:
    rollout_id = world.start(**SHADOW)
    controller = world.controller()
    world.run_until(controller, rollout_id, {"RolledBack", "Succeeded"}, limit=20)
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "2" and world.promotions_to("2") == 1
    world.assert_consistent(rollout_id)


# -- webhooks -----------------------------------------------------------------------------


CANARY: dict[str, Any] = {"step_weights": [50], "step_duration_s": 5}


def _verify(calls: Sequence[tuple[str, bytes, Mapping[str, str]]]) -> None:
    for _, body, headers in calls:
        assert headers[SIGNATURE_HEADER] == sign(SECRET, body)
        assert headers[SIGNATURE_HEADER] != sign("another secret", body)


def test_confirm_promotion_gate_halts_until_it_answers_2xx(world: World) -> None:
    hooks = Hooks(answers={"confirm-promotion": [500, 500, 500, 200]})
    rollout_id = world.start(**CANARY, webhooks=[hook("confirm-promotion"), hook("event")])
    controller = world.controller(webhooks=hooks.caller())
    world.run_until(controller, rollout_id, {"Promoting"}, limit=15)
    for _ in range(3):  # three 500s: asked again after 5 s each time, never promoted
        world.tick(controller, seconds=5)
        assert world.phase(rollout_id) == "Promoting"
        assert world.champion() == "1"
    assert "did not pass" in world.status(rollout_id).message
    for _ in range(4):  # within 5 s of a refusal the gate is not asked again
        world.tick(controller)
    assert len(hooks.of("confirm-promotion")) == 3
    world.tick(controller)  # 5 s after the last refusal: 200
    assert world.phase(rollout_id) == "Succeeded"
    assert world.champion() == "2" and world.promotions_to("2") == 1
    gate_calls = hooks.of("confirm-promotion")
    assert len(gate_calls) == 4
    assert gate_calls[0]["gate"] == "confirm-promotion" and gate_calls[0]["candidate"] == "2"
    # Every payload is signed with the secret; a receiver can check who sent it.
    _verify(hooks.calls)
    events = hooks.of("event")
    assert events and events[-1]["phase"] == "Succeeded" and events[-1]["rollout_id"] == rollout_id


def test_a_gate_that_times_out_counts_as_failed(world: World) -> None:
    hooks = Hooks(answers={"confirm-promotion": ["timeout"]})
    rollout_id = world.start(**CANARY, webhooks=[hook("confirm-promotion")])
    controller = world.controller(webhooks=hooks.caller())
    world.run_until(controller, rollout_id, {"Promoting"}, limit=15)
    for _ in range(5):
        world.tick(controller, seconds=5)
    assert world.phase(rollout_id) == "Promoting" and world.champion() == "1"
    assert len(hooks.of("confirm-promotion")) == 5
    hooks.answers["confirm-promotion"] = [204]
    world.tick(controller, seconds=5)
    assert world.phase(rollout_id) == "Succeeded"


def test_a_pre_rollout_gate_that_times_out_rolls_back_before_traffic_moves(world: World) -> None:
    hooks = Hooks(answers={"pre-rollout": ["timeout"]})
    rollout_id = world.start(**CANARY, webhooks=[hook("pre-rollout"), hook("rollback")])
    controller = world.controller(webhooks=hooks.caller())
    world.run_until(controller, rollout_id, {"RolledBack", "Progressing"}, limit=5)
    assert world.phase(rollout_id) == "RolledBack"
    assert world.policy() is None  # never left the champion
    (told,) = hooks.of("rollback")
    assert told["phase"] == "RolledBack" and "pre-rollout" in told["message"]
    _verify(hooks.calls)


def test_a_gate_whose_secret_is_missing_fails_closed(world: World) -> None:
    hooks = Hooks()
    rollout_id = world.start(**CANARY, webhooks=[hook("confirm-rollout")])
    caller = WebhookCaller({}, transport=httpx.MockTransport(hooks.handle))  # no secret
    controller = world.controller(webhooks=caller)
    for _ in range(4):
        world.tick(controller)
    assert world.phase(rollout_id) == "Pending" and hooks.calls == []


def test_a_notification_receiver_that_fails_does_not_stop_the_rollout(world: World) -> None:
    hooks = Hooks(answers={"event": [500]})
    rollout_id = world.start(**CANARY, webhooks=[hook("event", secret=False)])
    controller = world.controller(webhooks=hooks.caller())
    world.run_until(controller, rollout_id, {"Succeeded"}, limit=20)
    assert len(hooks.of("event")) >= 2
    assert all(SIGNATURE_HEADER not in headers for _, _, headers in hooks.calls)


# -- restarts -----------------------------------------------------------------------------


def test_a_controller_dropped_mid_rollout_is_replaced_and_promotes_once(world: World) -> None:
    rollout_id = world.start(step_weights=[20, 50], step_duration_s=10)
    first = world.controller("c1")
    for _ in range(12):
        world.tick(first)
    assert world.phase(rollout_id) == "Progressing" and world.status(rollout_id).weight == 50
    del first  # killed: no clean shutdown, the lease is still held
    second = world.controller("c2")
    assert second.tick() == []  # c1's lease has not expired yet
    world.clock.now += 11
    world.run_until(second, rollout_id, {"Succeeded"}, limit=30)
    assert world.champion() == "2" and world.promotions_to("2") == 1
    world.assert_consistent(rollout_id)


class Killed(BaseException):
    """The process died: nothing after this point runs (no except Exception handler)."""


def test_a_crash_between_promoting_and_saving_does_not_promote_twice(world: World) -> None:
    rollout_id = world.start(step_weights=[50], step_duration_s=5)
    first = world.controller("c1")
    real_save = first._save

    def killed_after_promoting(*args: Any, **kwargs: Any) -> None:
        if any(isinstance(a, PromoteAlias) for a in args[5]):
            raise Killed
        real_save(*args, **kwargs)

    first._save = killed_after_promoting  # type: ignore[method-assign]
    with pytest.raises(Killed):
        for _ in range(15):
            world.tick(first)
    assert world.champion() == "2"  # the alias moved ...
    assert world.phase(rollout_id) == "Progressing"  # ... but the status was never saved
    del first
    world.clock.now += 11  # its controller lease expires
    second = world.controller("c2")
    world.run_until(second, rollout_id, {"Succeeded"}, limit=10)
    assert world.promotions_to("2") == 1  # the repeated move changed nothing
    world.assert_consistent(rollout_id)


# -- racing commands ----------------------------------------------------------------------


class HeldExecutor(Executor):
    """Holds the first apply() of the thread named ``held`` until ``release`` is set."""

    def __init__(self, *args: Any, held: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held = held
        self.waiting = threading.Event()
        self.release = threading.Event()

    def apply(self, rollout_id: int, spec: RolloutSpec, actions: Sequence[Action]) -> list[str]:
        if threading.current_thread().name == self.held and not self.waiting.is_set():
            self.waiting.set()
            assert self.release.wait(20)
        return super().apply(rollout_id, spec, actions)


def _paused_at_approval(world: World) -> int:
    rollout_id = world.start(steps=[{"setWeight": 50}, {"pause": {}}])
    controller = world.controller(lease=False)
    world.tick(controller)
    assert world.phase(rollout_id) == "Paused"
    return rollout_id


def _in_thread(name: str, fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, out


def _command(world: World, rollout_id: int, kind: str, **kwargs: Any) -> Any:
    executor = kwargs.pop("executor", None)
    controller = world.controller(executor=executor, lease=False)
    return run_command(controller, rollout_id, kind, actor=kind, **kwargs)


@pytest.mark.parametrize("late", ["approve", "abort"])
def test_a_command_on_a_status_that_changed_since_it_read_it_does_nothing(
    world: World, late: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LATE reads the status and decides; the other command then acts and saves; LATE
    must not act on what it read (approve would promote an aborted rollout, abort would
    pin the baseline under a promoted one): it is refused on its retry."""
    rollout_id = _paused_at_approval(world)
    early = "abort" if late == "approve" else "approve"
    decided, go_on = threading.Event(), threading.Event()
    real_step = rollout_step

    def step_then_wait(*args: Any, **kwargs: Any) -> Any:
        result = real_step(*args, **kwargs)
        if threading.current_thread().name == late and not decided.is_set():
            decided.set()
            assert go_on.wait(20)
        return result

    monkeypatch.setattr(controller_module, "step", step_then_wait)
    thread, out = _in_thread(late, lambda: _command(world, rollout_id, late))
    assert decided.wait(10)
    _command(world, rollout_id, early)
    go_on.set()
    thread.join(20)
    (result,) = out
    assert isinstance(result, CommandError), result  # the rollout has finished meanwhile
    assert world.phase(rollout_id) == ("Aborted" if early == "abort" else "Succeeded")
    assert world.promotions_to("1") == 0  # nothing to undo: LATE never acted
    world.assert_consistent(rollout_id)


def test_a_command_while_another_one_acts_gets_a_conflict_after_retries(world: World) -> None:
    rollout_id = _paused_at_approval(world)
    held = HeldExecutor(world.sessions, world.ledger, held="approve")
    thread, out = _in_thread(
        "approve", lambda: _command(world, rollout_id, "approve", executor=held)
    )
    assert held.waiting.wait(10)  # approve is moving the alias right now
    with pytest.raises(RolloutConflict, match="being changed by another action"):
        _command(world, rollout_id, "abort", attempts=3)
    assert world.phase(rollout_id) == "Paused"  # the abort did nothing
    held.release.set()
    thread.join(20)
    assert out[0].phase_after == "Succeeded"
    assert world.champion() == "2" and world.promotions_to("2") == 1
    world.assert_consistent(rollout_id)
    with pytest.raises(CommandError, match="Succeeded"):
        _command(world, rollout_id, "abort")


def test_approve_and_abort_at_once_end_consistent(world: World) -> None:
    for round_ in range(6):
        if round_:
            world.ledger.promote(MODEL, "1", actor="setup")
            world.clock.now += 1
        rollout_id = _paused_at_approval(world)
        barrier = threading.Barrier(2)

        def command(kind: str, rid: int = rollout_id, barrier: threading.Barrier = barrier) -> Any:
            controller = world.controller(lease=False)
            barrier.wait(5)
            return run_command(controller, rid, kind, actor=kind, attempts=20)

        threads = {
            kind: _in_thread(kind, lambda kind=kind: command(kind)) for kind in ("approve", "abort")
        }
        for thread, _ in threads.values():
            thread.join(30)
        results = {kind: out[0] for kind, (_, out) in threads.items()}
        failed = {k: r for k, r in results.items() if isinstance(r, Exception)}
        # Either applies first; approve ends the rollout, so the other one is refused,
        # while abort after approve is refused for the same reason.
        assert len(failed) == 1, results
        assert all(isinstance(e, CommandError) for e in failed.values()), failed
        assert world.phase(rollout_id) == ("Aborted" if "approve" in failed else "Succeeded")
        world.assert_consistent(rollout_id)


class MeddlingExecutor(Executor):
    """Another writer saves the rollout while the first ``times`` advances act on it, so
    their compare-and-swap fails after they changed traffic."""

    def __init__(self, *args: Any, times: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.times = times

    def apply(self, rollout_id: int, spec: RolloutSpec, actions: Sequence[Action]) -> list[str]:
        done = super().apply(rollout_id, spec, actions)
        if self.times > 0 and any(isinstance(a, RecordDecision) for a in actions):
            self.times -= 1
            with self.sessions.begin() as session:
                row = session.get(Rollout, rollout_id)
                assert row is not None
                status = RolloutStatus.from_dict(row.status)
                save_status(session, row, status, expected_generation=row.generation)
        return done


def test_a_lost_save_is_undone_retried_and_surfaces_only_when_retries_are_exhausted(
    world: World,
) -> None:
    rollout_id = world.start(step_weights=[50], step_duration_s=30)
    world.tick(world.controller(lease=False))
    assert world.status(rollout_id).weight == 50
    once = MeddlingExecutor(world.sessions, world.ledger, times=1)
    result = _command(world, rollout_id, "abort", executor=once)
    assert result.phase_after == "Aborted"
    world.assert_consistent(rollout_id)

    rollout_id = world.start(step_weights=[50], step_duration_s=30)
    world.tick(world.controller(lease=False))
    always = MeddlingExecutor(world.sessions, world.ledger, times=3)
    with pytest.raises(RolloutConflict, match="changed by another action"):
        _command(world, rollout_id, "abort", executor=always, attempts=3)
    assert always.times == 0  # three attempts, each one beaten
    assert world.phase(rollout_id) == "Progressing"
    world.assert_consistent(rollout_id)  # each attempt's traffic change was put back


def test_an_action_that_fails_halfway_is_undone(world: World) -> None:
    """Approve moves the alias, then storing the traffic fails: the alias goes back, so
    a later abort (which only restores aliases the status knows it moved) is clean."""
    rollout_id = _paused_at_approval(world)

    class Broken(Executor):
        def set_traffic(self, rollout_id: int, spec: RolloutSpec, action: SetTraffic) -> bool:
            if action.follow_champion:
                raise PolicyConflict("another policy change took the revision; try again")
            return super().set_traffic(rollout_id, spec, action)

    with pytest.raises(PolicyConflict):
        _command(world, rollout_id, "approve", executor=Broken(world.sessions, world.ledger))
    assert world.phase(rollout_id) == "Paused" and world.champion() == "1"
    world.assert_consistent(rollout_id)
    _command(world, rollout_id, "abort")
    world.assert_consistent(rollout_id)


# -- providers ----------------------------------------------------------------------------


def test_a_provider_that_errors_ends_in_error_and_rolls_back(world: World) -> None:
    world.traffic.mode = "raise"
    rollout_id = world.start(step_weights=[50], step_duration_s=30)
    controller = world.controller()
    seconds = world.run_until(controller, rollout_id, {"RolledBack", "Succeeded", "Paused"})
    assert world.phase(rollout_id) == "RolledBack"
    assert seconds <= 7  # consecutiveErrorLimit 4 at an interval of 1 s: the 5th error
    status = world.status(rollout_id)
    assert "Error" in (status.rollback_reason or "")
    assert "telemetry store unreachable" in (status.rollback_reason or "")
    assert world.champion() == "1"
    world.assert_consistent(rollout_id)


def test_a_provider_that_errors_with_default_limits_still_rolls_back(world: World) -> None:
    """Default limits: an error counts once per 10 s interval, Error after the 5th. The
    step (10 s) pauses after twice its duration first, saying "no data", and the Error
    still rolls it back from the pause."""
    world.traffic.mode = "raise"
    analysis = {"metrics": [{"name": "error-rate", "kind": "error_rate", "max": 0.05}]}
    rollout_id = world.start(step_weights=[50], step_duration_s=10, analysis=analysis)
    controller = world.controller()
    paused = world.run_until(controller, rollout_id, {"Paused", "RolledBack"}, limit=60)
    assert world.phase(rollout_id) == "Paused" and 19 <= paused <= 22
    assert "no data" in world.status(rollout_id).message
    more = world.run_until(controller, rollout_id, {"RolledBack"}, limit=60)
    assert 38 <= paused + more <= 45, paused + more
    assert "consecutiveErrorLimit 4" in (world.status(rollout_id).rollback_reason or "")
    assert world.champion() == "1" and world.promotions_to("2") == 0
    world.assert_consistent(rollout_id)


NO_DATA_CASES: dict[str, dict[str, Any]] = {
    "canary": {"step_weights": [50], "step_duration_s": 10},
    "bluegreen": BLUEGREEN,
    "shadow": SHADOW,
    "abtest": {"strategy": "abtest", "abtest": {"split": 50, "max_duration_s": 20}},
}


@pytest.mark.parametrize("strategy", sorted(NO_DATA_CASES))
def test_no_data_pauses_and_never_promotes(world: World, strategy: str) -> None:
    world.traffic.mode = "none"
    rollout_id = world.start(**NO_DATA_CASES[strategy])
    controller = world.controller()
    for _ in range(19):
        world.tick(controller)
        assert world.phase(rollout_id) == "Progressing", world.status(rollout_id).message
    world.run_until(controller, rollout_id, {"Paused", "Succeeded", "RolledBack"}, limit=5)
    assert world.phase(rollout_id) == "Paused"
    assert "no data" in world.status(rollout_id).message
    for _ in range(60):  # a human has to look; it never promotes on its own
        world.tick(controller)
    assert world.phase(rollout_id) == "Paused"
    assert world.champion() == "1" and world.promotions_to("2") == 0
    assert world.traffic.reads > 0
    world.assert_consistent(rollout_id)


# -- refused starts -----------------------------------------------------------------------


def _rollout_count(world: World) -> int:
    with world.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Rollout)) or 0)


def test_a_rollout_to_the_champion_is_refused(world: World) -> None:
    with pytest.raises(InvalidRollout, match="already the champion"):
        world.start("1")
    # Also when a baseline is named: the candidate serves everything already.
    with pytest.raises(InvalidRollout, match="already the champion"):
        world.start("1", baseline="2")
    with pytest.raises(SpecError, match="baseline"):
        world.start("2", baseline="2")
    assert _rollout_count(world) == 0


def test_an_unknown_version_is_refused(world: World) -> None:
    with pytest.raises(VersionNotFound, match="no version 9"):
        world.start("9")
    with pytest.raises(VersionNotFound, match="no version 8"):
        world.start("2", baseline="8")
    assert _rollout_count(world) == 0


def test_a_candidate_that_cannot_load_is_refused_at_start(world: World) -> None:
    broken = _register(world.registry, b"garbage")
    with pytest.raises(VersionLoadError, match=f"v{broken} cannot serve traffic"):
        world.start(broken)
    assert _rollout_count(world) == 0
    assert world.policy() is None and world.champion() == "1"
