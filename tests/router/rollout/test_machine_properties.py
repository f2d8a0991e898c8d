"""Hypothesis properties of step() over random specs and input sequences: weights sum to
100, a canary's share never shrinks until it rolls back, repeating a call changes
nothing, finished rollouts emit nothing, every status survives JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.rollout import (
    GATE_TYPES,
    TERMINAL,
    Action,
    CallGate,
    Command,
    CommandError,
    CommandKind,
    RolloutPhase,
    RolloutSpec,
    RolloutStatus,
    describe_status,
    step,
)
from tests.router.rollout.helpers import T0, make_spec, share, traffic, verdict

ENDINGS = {RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED, RolloutPhase.FAILED}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _hooks(kinds: list[str]) -> list[dict[str, Any]]:
    return [{"type": kind, "url": f"https://ci.example/{kind}"} for kind in kinds]


common = st.fixed_dictionaries(
    {
        "webhooks": st.lists(st.sampled_from(sorted(GATE_TYPES)), unique=True).map(_hooks),
        "promote_on_success": st.booleans(),
        "step_duration_s": st.sampled_from([1, 30, 60]),
    },
    optional={"analysis": st.none()},
)


@st.composite
def canary_specs(draw: st.DrawFn) -> RolloutSpec:
    weights = sorted(draw(st.lists(st.integers(0, 100), min_size=1, max_size=5)))
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps.append({"setWeight": weight})
        extra = draw(st.sampled_from(["none", "pause", "wait", "analysis", "analysis"]))
        if extra == "pause":
            steps.append({"pause": {"duration_s": draw(st.sampled_from([0, 10, 60]))}})
        elif extra == "wait":
            steps.append({"pause": {}})
        elif extra == "analysis":
            steps.append({"analysis": {"duration_s": draw(st.sampled_from([1, 30, 60]))}})
    return make_spec(steps=steps, **draw(common))


@st.composite
def other_specs(draw: st.DrawFn) -> RolloutSpec:
    strategy = draw(st.sampled_from(["bluegreen", "abtest", "shadow"]))
    fields: dict[str, Any] = {"strategy": strategy, **draw(common)}
    if strategy == "bluegreen":
        block: dict[str, Any] = {
            "pre_promotion_s": draw(st.sampled_from([1, 30, 60])),
            "post_promotion_s": draw(st.sampled_from([0, 30, 60])),
        }
        if draw(st.booleans()):
            block["mirror_percent"] = draw(st.sampled_from([5, 50, 100]))
        fields["bluegreen"] = block
    elif strategy == "abtest":
        fields["abtest"] = {
            "split": draw(st.integers(1, 99)),
            "max_duration_s": 120,
            "min_duration_s": draw(st.sampled_from([None, 0, 60, 120])),
            "promote_winner": draw(st.booleans()),
        }
    else:
        fields["shadow_percent"] = draw(st.sampled_from([1, 50, 100]))
    return make_spec(**fields)


verdicts = st.sampled_from(
    [None, "Successful", "Successful", "Successful", "Pending", "Inconclusive", "Failed", "Error"]
)
commands = st.one_of(
    st.just(None), st.just(None), st.just(None), st.sampled_from(list(CommandKind))
)
ticks = st.lists(
    st.tuples(
        st.sampled_from([0, 0.5, 1, 10, 30, 60, 61, 125]),
        verdicts,
        st.sampled_from([None, True, True, False]),
        commands,
    ),
    max_size=40,
)


def _check_actions(spec: RolloutSpec, actions: list[Action]) -> None:
    for action in traffic(actions):
        assert sum(weight for _, weight in action.routes) == 100
        action.to_policy(spec.model)  # a valid routing policy (raises if not)


def _run(spec: RolloutSpec, events: list[tuple[float, str | None, bool | None, Any]]) -> None:
    status, now = RolloutStatus.new(T0), T0
    floor = 0  # the candidate's share may only grow within one attempt of a canary
    for dt, phase, gate_ok, kind in events:
        now += dt
        v = None if phase is None else verdict(phase, "r")
        command = None if kind is None else Command(kind)
        try:
            new, actions = step(status, spec, v, now, command=command, gate_ok=gate_ok)
        except CommandError:
            continue
        if status.phase in TERMINAL and command is None:
            assert (new, actions) == (status, [])
        _check_actions(spec, actions)
        if spec.strategy == "canary":
            if new.phase in ENDINGS or command is not None and command.kind is CommandKind.RETRY:
                floor = 0
            else:
                for action in traffic(actions):
                    assert share(action, spec.candidate) >= floor
                    floor = share(action, spec.candidate)
        # Idempotent: the same inputs again (a command's call judged nothing) change nothing.
        # Retry is left out: it stops at a fresh Pending on purpose, so the controller
        # can resolve the baseline before the next tick starts it.
        if command is None:
            assert step(new, spec, v, now, gate_ok=gate_ok) == (new, [])
        elif command.kind is not CommandKind.RETRY:
            assert step(new, spec, None, now) == (new, [])
        # Gates are only asked for when one becomes pending.
        if any(isinstance(a, CallGate) for a in actions):
            assert new.pending_gate is not None
        assert 0 <= new.weight <= 100
        assert not new.promoted or new.weight == 100
        assert RolloutStatus.from_dict(json.loads(json.dumps(new.to_dict()))) == new
        line = describe_status(new, spec, now=now)
        assert line and "\n" not in line
        status = new


@SETTINGS
@given(canary_specs(), ticks)
def test_canary_properties(spec: RolloutSpec, events: list[Any]) -> None:
    _run(spec, events)


@SETTINGS
@given(other_specs(), ticks)
def test_other_strategy_properties(spec: RolloutSpec, events: list[Any]) -> None:
    _run(spec, events)


@SETTINGS
@given(canary_specs(), st.lists(st.sampled_from([1, 30, 60, 125]), max_size=30))
def test_successful_verdicts_and_approvals_finish_every_canary(
    spec: RolloutSpec, gaps: list[float]
) -> None:
    """With passing analysis, passing gates and a human approving every pause, a canary
    always ends Succeeded at 100%, its shares growing step by step."""
    status, now = RolloutStatus.new(T0), T0
    ok = verdict("Successful")
    shares: list[int] = []
    for gap in [*gaps, *([61] * 4 * (len(spec.steps) + 4))]:
        if status.is_terminal:
            break
        now += gap
        command = Command(CommandKind.APPROVE) if status.phase is RolloutPhase.PAUSED else None
        status, actions = step(status, spec, ok, now, command=command, gate_ok=True)
        shares += [share(a, spec.candidate) for a in traffic(actions)]
    assert status.phase is RolloutPhase.SUCCEEDED
    assert status.promoted is spec.promote_on_success
    assert shares == sorted(shares) and shares[-1] == 100
