"""Every command in every phase: allowed where COMMAND_PHASES says, else CommandError."""

from __future__ import annotations

import itertools

import pytest

from router.rollout import (
    COMMAND_PHASES,
    Command,
    CommandError,
    CommandKind,
    PromoteAlias,
    RestoreAlias,
    RolloutPhase,
    RolloutSpec,
    RolloutStatus,
    step,
)
from tests.router.rollout.helpers import BASELINE, T0, cmd, make_spec, share, started, traffic

P = RolloutPhase
K = CommandKind
ACTIVE = {P.PROGRESSING, P.PAUSED, P.PROMOTING, P.POST_PROMOTION}
EXPECTED: dict[CommandKind, set[RolloutPhase]] = {
    K.APPROVE: {P.PAUSED},
    K.PAUSE: {P.PROGRESSING, P.PROMOTING, P.POST_PROMOTION},
    K.RESUME: {P.PAUSED},
    K.PROMOTE: {P.PROGRESSING, P.PAUSED, P.PROMOTING},
    K.PROMOTE_FULL: ACTIVE,
    K.ABORT: ACTIVE | {P.PENDING},
    K.RETRY: {P.ROLLED_BACK, P.ABORTED, P.FAILED},
}


def status_in(phase: RolloutPhase, spec: RolloutSpec) -> RolloutStatus:
    """A plausible status of a blue-green rollout in each phase."""
    if phase is P.PENDING:
        return RolloutStatus.new(T0)
    if phase is P.POST_PROMOTION:
        return RolloutStatus(phase=phase, step_index=1, weight=100, promoted=True)
    if phase is P.SUCCEEDED:
        return RolloutStatus(phase=phase, step_index=1, weight=100, promoted=True)
    return RolloutStatus(phase=phase, step_started_at=T0)


def test_the_command_table() -> None:
    assert {k: set(v) for k, v in COMMAND_PHASES.items()} == EXPECTED


@pytest.mark.parametrize(("kind", "phase"), list(itertools.product(K, P)), ids=lambda x: str(x))
def test_each_command_in_each_phase(kind: CommandKind, phase: RolloutPhase) -> None:
    spec = make_spec(strategy="bluegreen")
    status = status_in(phase, spec)
    if phase in EXPECTED[kind]:
        after, actions = step(status, spec, None, T0 + 10, command=Command(kind, by="ana"))
        assert after != status and actions
    else:
        with pytest.raises(CommandError) as caught:
            step(status, spec, None, T0 + 10, command=Command(kind))
        assert str(caught.value).startswith(f"{kind}: ")
        assert "\n" not in str(caught.value)


def test_unknown_command() -> None:
    with pytest.raises(CommandError, match="^'skip': unknown command; one of approve, "):
        Command("skip")  # type: ignore[arg-type]


def test_approve_when_not_paused_says_why() -> None:
    spec = make_spec()
    status, _ = started(spec)
    with pytest.raises(CommandError, match="^approve: the rollout is Progressing, not Paused"):
        step(status, spec, None, T0 + 1, command=cmd("approve"))


def test_retry_when_active_says_abort_first() -> None:
    spec = make_spec()
    status, _ = started(spec)
    with pytest.raises(CommandError, match="abort it first"):
        step(status, spec, None, T0 + 1, command=cmd("retry"))


def test_pause_then_resume_restarts_the_step() -> None:
    spec = make_spec()
    status, _ = started(spec)
    paused, actions = step(status, spec, None, T0 + 30, command=cmd("pause", by="ana"))
    assert paused.phase is P.PAUSED and paused.paused_reason == "paused by ana"
    assert traffic(actions) == []
    resumed, _ = step(paused, spec, None, T0 + 50, command=cmd("resume"))
    assert resumed.phase is P.PROGRESSING and resumed.step_started_at == T0 + 50
    assert resumed.step_index == status.step_index and resumed.weight == status.weight


def test_promote_skips_the_remaining_steps() -> None:
    spec = make_spec()
    status, _ = started(spec)
    status, actions = step(status, spec, None, T0 + 5, command=cmd("promote", reason="hotfix"))
    assert status.phase is P.SUCCEEDED and status.promoted
    assert [a for a in actions if isinstance(a, PromoteAlias)][0].reason == "promote: hotfix"
    assert traffic(actions)[0].routes[-1][1] == 100


def test_promote_moves_the_alias_even_without_promote_on_success() -> None:
    spec = make_spec(promote_on_success=False)
    status, _ = started(spec)
    status, actions = step(status, spec, None, T0 + 5, command=cmd("promote"))
    assert status.promoted and any(isinstance(a, PromoteAlias) for a in actions)


def test_bluegreen_promote_keeps_the_post_window_and_promote_full_skips_it() -> None:
    spec = make_spec(strategy="bluegreen")
    status, _ = started(spec)
    post, _ = step(status, spec, None, T0 + 5, command=cmd("promote"))
    assert post.phase is P.POST_PROMOTION
    with pytest.raises(CommandError, match="^promote: already switched"):
        step(post, spec, None, T0 + 6, command=cmd("promote"))
    done, actions = step(post, spec, None, T0 + 6, command=cmd("promote_full"))
    assert done.phase is P.SUCCEEDED and traffic(actions) == []
    full, _ = step(status, spec, None, T0 + 5, command=cmd("promote_full"))
    assert full.phase is P.SUCCEEDED and full.promoted


def test_abort_puts_traffic_back() -> None:
    spec = make_spec()
    status, _ = started(spec)
    status, actions = step(status, spec, None, T0 + 5, command=cmd("abort", reason="oops"))
    assert status.phase is P.ABORTED and status.rollback_reason == "aborted: oops"
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert not any(isinstance(a, RestoreAlias) for a in actions)


def test_retry_after_rollback_starts_fresh() -> None:
    spec = make_spec()
    status, _ = started(spec)
    status, _ = step(status, spec, None, T0 + 5, command=cmd("abort"))
    again, actions = step(status, spec, None, T0 + 100, command=cmd("retry", by="ana"))
    assert again.phase is P.PENDING
    assert again == RolloutStatus.new(T0 + 100, message="retry by ana")
    assert (again.step_index, again.weight, again.rollback_reason) == (0, 0, None)
    assert again.started_at == T0 + 100 and again.approved_steps == ()
    assert traffic(actions) == []
    restarted, actions = step(again, spec, None, T0 + 101)
    assert restarted.phase is P.PROGRESSING and [share(a) for a in traffic(actions)] == [5]


def test_a_command_ignores_the_verdict_it_came_with() -> None:
    spec = make_spec(steps=[{"setWeight": 10}, {"pause": {}}, {"analysis": {}}])
    status, _ = started(spec)
    approved, _ = step(status, spec, None, T0 + 5, command=cmd("approve"))
    assert approved.phase is P.PROGRESSING and approved.step_index == 2
