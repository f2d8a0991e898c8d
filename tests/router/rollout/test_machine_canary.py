"""The canary rules of step(): one test per rule."""

from __future__ import annotations

import pytest

from router.rollout import (
    Notify,
    PromoteAlias,
    RecordDecision,
    RestoreAlias,
    RolloutPhase,
    RolloutStatus,
    SetTraffic,
    SpecError,
    TransitionError,
    analysis_in_force,
    desired_traffic,
    fail,
    step,
)
from tests.router.rollout.helpers import (
    BASELINE,
    CANDIDATE,
    T0,
    cmd,
    kinds,
    make_spec,
    share,
    started,
    traffic,
    verdict,
)

P = RolloutPhase
OK = verdict("Successful", "all metrics in range")


def test_start_moves_pending_to_progressing_and_sets_the_first_weight() -> None:
    spec = make_spec()
    status, actions = started(spec)
    assert status.phase is P.PROGRESSING
    assert (status.step_index, status.weight) == (1, 5)  # setWeight done, analysis next
    assert status.step_started_at == T0 == status.started_at
    assert traffic(actions) == [
        SetTraffic(
            ((BASELINE, 95), (CANDIDATE, 5)),
            sticky=spec.sticky.key(),
            reason="step 1/8: weight 5%",
        )
    ]
    assert kinds(actions) == ["SetTraffic", "Notify", "RecordDecision"]
    decision = actions[-1]
    assert isinstance(decision, RecordDecision)
    assert (decision.phase_before, decision.phase_after) == ("Pending", "Progressing")


def test_walks_every_step_with_successful_verdicts_then_promotes() -> None:
    spec = make_spec()
    status, actions = started(spec)
    emitted = traffic(actions)
    alias: list[PromoteAlias] = []
    now = T0
    while not status.is_terminal:
        now += 60
        status, actions = step(status, spec, OK, now)
        emitted += traffic(actions)
        alias += [a for a in actions if isinstance(a, PromoteAlias)]
    # Reaching 100% is the promotion (nothing to compare once the baseline serves nobody),
    # so the candidate goes straight to serving as champion.
    assert [share(a) for a in emitted] == [5, 25, 50, 100]
    assert [a.routes for a in emitted[-1:]] == [((CANDIDATE, 100),)]
    assert emitted[-1].follow_champion and not any(a.follow_champion for a in emitted[:-1])
    assert alias == [PromoteAlias(CANDIDATE, BASELINE, "steps passed")]
    assert status.phase is P.SUCCEEDED and status.promoted and status.weight == 100
    assert [a.kind for a in actions if isinstance(a, Notify)] == ["post-rollout", "event"]
    # The alias moves before the traffic follows the champion.
    assert kinds(actions)[:2] == ["PromoteAlias", "SetTraffic"]


def test_promotion_passes_through_promoting() -> None:
    spec = make_spec(step_weights=[50])
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 60)
    decision = actions[-1]
    assert isinstance(decision, RecordDecision)
    assert "all 2 steps done" in decision.reason
    assert status.phase is P.SUCCEEDED


@pytest.mark.parametrize("bad", ["Failed", "Error"])
# Steps 1, 3 and 5 are the analyses at 5, 25 and 50%; the one at 100% (7) has no
# baseline to compare with and passes at once (test_walks_every_step_...).
@pytest.mark.parametrize("at_step", [1, 3, 5])
def test_failed_or_error_at_any_step_rolls_back(bad: str, at_step: int) -> None:
    spec = make_spec()
    status, _ = started(spec)
    now = T0
    while status.step_index < at_step:
        now += 60
        status, _ = step(status, spec, OK, now)
    assert status.phase is P.PROGRESSING and status.step_index == at_step
    status, actions = step(status, spec, verdict(bad, "error rate 9% > 1%"), now + 1)
    assert status.phase is P.ROLLED_BACK
    assert status.weight == 0 and not status.promoted
    assert status.rollback_reason == f"analysis {bad}: error rate 9% > 1%"
    assert kinds(actions) == ["SetTraffic", "Notify", "Notify", "RecordDecision"]
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert traffic(actions)[0].match == () and traffic(actions)[0].shadow is None
    assert [a.kind for a in actions if isinstance(a, Notify)] == ["rollback", "event"]
    assert not any(isinstance(a, RestoreAlias) for a in actions)  # nothing was promoted


def test_failed_while_paused_for_approval_rolls_back() -> None:
    spec = make_spec(steps=[{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}])
    status, _ = started(spec)
    assert status.phase is P.PAUSED
    status, actions = step(status, spec, verdict("Failed"), T0 + 5)
    assert status.phase is P.ROLLED_BACK
    assert traffic(actions)[0].routes == ((BASELINE, 100),)


def test_pending_never_advances_and_pauses_after_twice_the_duration() -> None:
    spec = make_spec(step_weights=[10, 50])
    status, _ = started(spec)
    for now in (T0 + 30, T0 + 60, T0 + 61, T0 + 119):
        for pending in (verdict("Pending"), None):
            again, actions = step(status, spec, pending, now)
            assert again == status and actions == []
    status, actions = step(status, spec, verdict("Pending"), T0 + 120)
    assert status.phase is P.PAUSED and status.step_index == 1 and status.weight == 10
    assert status.paused_reason is not None and status.paused_reason.startswith("no data")
    assert traffic(actions) == []  # the candidate keeps its share while a human looks


def test_successful_before_the_duration_waits() -> None:
    spec = make_spec(step_weights=[10, 50])
    status, _ = started(spec)
    again, actions = step(status, spec, OK, T0 + 59.9)
    assert again == status and actions == []
    status, _ = step(status, spec, OK, T0 + 60)
    assert status.weight == 50


def test_a_verdict_is_not_used_in_the_instant_its_window_starts() -> None:
    spec = make_spec(step_weights=[10, 50])
    status, _ = started(spec)
    # A verdict computed at T0 judged the previous state, not this step.
    again, actions = step(status, spec, verdict("Failed"), T0)
    assert again == status and actions == []


def test_pause_with_a_duration_advances_after_it() -> None:
    spec = make_spec(steps=[{"setWeight": 10}, {"pause": {"duration": 30}}, {"setWeight": 20}])
    status, _ = started(spec)
    assert status.step_index == 1 and status.phase is P.PROGRESSING
    assert step(status, spec, None, T0 + 29)[1] == []
    status, actions = step(status, spec, None, T0 + 30)
    assert [share(a) for a in traffic(actions)] == [100]  # 20% then promoted: last wins
    assert status.phase is P.SUCCEEDED


def test_pause_without_duration_waits_for_approve() -> None:
    spec = make_spec(steps=[{"setWeight": 10}, {"pause": {}}, {"setWeight": 20}, {"pause": {}}])
    status, _ = started(spec)
    assert status.phase is P.PAUSED and status.step_index == 1
    assert status.paused_reason == "waiting for approval"
    assert status.message == "step 2/4: waiting for approval"
    for now in (T0 + 60, T0 + 3600 * 24):
        assert step(status, spec, OK, now) == (status, [])
    status, actions = step(status, spec, None, T0 + 100, command=cmd("approve", by="ana"))
    assert status.approved_steps == (1,)
    assert [share(a) for a in traffic(actions)] == [20]  # the next setWeight at once
    assert status.phase is P.PAUSED and status.step_index == 3


def test_inconclusive_pauses_for_a_human() -> None:
    spec = make_spec(step_weights=[10, 50])
    status, _ = started(spec)
    status, actions = step(status, spec, verdict("Inconclusive", "p99 near limit"), T0 + 10)
    assert status.phase is P.PAUSED
    assert status.paused_reason == "analysis inconclusive: p99 near limit"
    assert traffic(actions) == []
    # resume judges the step again from the start ...
    resumed, _ = step(status, spec, None, T0 + 20, command=cmd("resume"))
    assert resumed.phase is P.PROGRESSING and resumed.step_index == 1
    assert resumed.step_started_at == T0 + 20 and resumed.analysis_state == {}
    # ... approve passes it.
    approved, actions = step(status, spec, None, T0 + 20, command=cmd("approve"))
    assert approved.phase is P.PROGRESSING and approved.weight == 50
    assert [share(a) for a in traffic(actions)] == [50]


def test_without_promote_on_success_the_candidate_keeps_100_percent() -> None:
    spec = make_spec(step_weights=[50], promote_on_success=False)
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.SUCCEEDED and not status.promoted and status.weight == 100
    assert not any(isinstance(a, PromoteAlias) for a in actions)
    assert traffic(actions) == [
        SetTraffic(((CANDIDATE, 100),), sticky=spec.sticky.key(), reason=status.message)
    ]


def test_without_analysis_an_analysis_step_is_a_timer() -> None:
    spec = make_spec(step_weights=[50], analysis=None)
    status, _ = started(spec)
    assert step(status, spec, None, T0 + 59)[1] == []
    status, _ = step(status, spec, None, T0 + 60)
    assert status.phase is P.SUCCEEDED


def test_step_level_analysis_is_in_force_at_its_step() -> None:
    own = make_spec().analysis
    assert own is not None
    spec = make_spec(
        steps=[{"setWeight": 5}, {"analysis": {"spec": own.model_dump(by_alias=True)}}],
        analysis=None,
    )
    status, _ = started(spec)
    assert analysis_in_force(status, spec) == own
    assert analysis_in_force(RolloutStatus.new(T0), spec) is None


def test_match_rules_go_with_the_traffic() -> None:
    spec = make_spec(match=[{"name": "x-beta", "value": "yes"}])
    status, actions = started(spec)
    (set_traffic,) = traffic(actions)
    policy = set_traffic.to_policy("fraud", seed="rollout-1", revision=3)
    assert policy.match[0].version == CANDIDATE
    assert [(r.version, r.weight) for r in policy.routes] == [(BASELINE, 95), (CANDIDATE, 5)]
    assert desired_traffic(status, spec) == SetTraffic(
        ((BASELINE, 95), (CANDIDATE, 5)), match=policy.match, sticky=spec.sticky.key()
    )


def test_desired_traffic_is_none_when_not_active() -> None:
    spec = make_spec()
    assert desired_traffic(RolloutStatus.new(T0), spec) is None
    rolled_back = RolloutStatus(phase=P.ROLLED_BACK)
    assert desired_traffic(rolled_back, spec) is None


def test_an_unresolved_baseline_is_refused() -> None:
    spec = make_spec().model_copy(update={"baseline": None})
    with pytest.raises(SpecError, match="^baseline: not resolved"):
        step(RolloutStatus.new(T0), spec, None, T0)


def test_fail_puts_traffic_back_and_ends_failed() -> None:
    spec = make_spec()
    status, _ = started(spec)
    status, actions = fail(status, spec, "candidate 2 does not load: bad model", T0 + 1)
    assert status.phase is P.FAILED
    assert status.rollback_reason == "candidate 2 does not load: bad model"
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    with pytest.raises(TransitionError):
        fail(status, spec, "again", T0 + 2)


@pytest.mark.parametrize("phase", [P.SUCCEEDED, P.ROLLED_BACK, P.ABORTED, P.FAILED])
def test_terminal_phases_emit_nothing(phase: RolloutPhase) -> None:
    spec = make_spec()
    status = RolloutStatus(phase=phase, weight=100 if phase is P.SUCCEEDED else 0)
    for v in (None, OK, verdict("Failed"), verdict("Inconclusive")):
        for gate_ok in (None, True, False):
            assert step(status, spec, v, T0 + 999, gate_ok=gate_ok) == (status, [])
