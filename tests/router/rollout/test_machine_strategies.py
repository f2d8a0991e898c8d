"""Blue-green, A/B and shadow rules of step()."""

from __future__ import annotations

import pytest

from router.rollout import (
    Notify,
    PromoteAlias,
    RestoreAlias,
    RolloutPhase,
    RolloutSpec,
    SetTraffic,
    step,
)
from router.traffic import MatchRule
from tests.router.rollout.helpers import (
    BASELINE,
    CANDIDATE,
    T0,
    cmd,
    kinds,
    make_spec,
    started,
    traffic,
    verdict,
)

P = RolloutPhase
OK = verdict("Successful")
PREVIEW = MatchRule("header", "x-turnout-preview", "exact", "true", CANDIDATE)


# -- blue-green ---


def bluegreen(**block: object) -> RolloutSpec:
    return make_spec(
        strategy="bluegreen",
        bluegreen={"pre_promotion_s": 60, "post_promotion_s": 120, **block},
    )


def test_bluegreen_preview_gets_only_matched_traffic() -> None:
    spec = bluegreen()
    status, actions = started(spec)
    assert status.phase is P.PROGRESSING and status.weight == 0
    (set_traffic,) = traffic(actions)
    assert set_traffic.routes == ((BASELINE, 100),)
    assert set_traffic.match == (PREVIEW,)
    assert set_traffic.shadow is None


def test_bluegreen_preview_may_be_mirrored() -> None:
    spec = bluegreen(preview_match=None, mirror_percent=20)
    _, actions = started(spec)
    (set_traffic,) = traffic(actions)
    assert set_traffic.routes == ((BASELINE, 100),)
    assert set_traffic.match == () and set_traffic.shadow == (CANDIDATE, 20.0)


def test_bluegreen_switch_then_post_promotion_success() -> None:
    spec = bluegreen()
    status, _ = started(spec)
    assert step(status, spec, OK, T0 + 59) == (status, [])
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.POST_PROMOTION and status.promoted and status.weight == 100
    assert status.step_index == 1 and status.step_started_at == T0 + 60
    assert kinds(actions)[:2] == ["PromoteAlias", "SetTraffic"]
    assert traffic(actions)[0].routes == ((CANDIDATE, 100),)
    assert traffic(actions)[0].follow_champion
    status, actions = step(status, spec, OK, T0 + 180)
    assert status.phase is P.SUCCEEDED and status.promoted
    assert traffic(actions) == []  # already all on the candidate
    assert [a.kind for a in actions if isinstance(a, Notify)] == ["post-rollout", "event"]


@pytest.mark.parametrize("bad", ["Failed", "Error"])
def test_bluegreen_post_promotion_failure_switches_back_and_restores_the_alias(bad: str) -> None:
    spec = bluegreen()
    status, _ = started(spec)
    status, _ = step(status, spec, OK, T0 + 60)
    status, actions = step(status, spec, verdict(bad, "5xx"), T0 + 90)
    assert status.phase is P.ROLLED_BACK and not status.promoted and status.weight == 0
    assert kinds(actions)[:2] == ["SetTraffic", "RestoreAlias"]
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert [a for a in actions if isinstance(a, RestoreAlias)][0].version == BASELINE


def test_bluegreen_pre_promotion_failure_never_switches() -> None:
    spec = bluegreen()
    status, _ = started(spec)
    status, actions = step(status, spec, verdict("Failed"), T0 + 10)
    assert status.phase is P.ROLLED_BACK
    assert traffic(actions)[0] == SetTraffic(
        ((BASELINE, 100),), sticky=traffic(actions)[0].sticky, reason=status.message
    )
    assert not any(isinstance(a, RestoreAlias | PromoteAlias) for a in actions)


def test_bluegreen_without_post_window_succeeds_at_the_switch() -> None:
    spec = bluegreen(post_promotion_s=0)
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.SUCCEEDED and status.promoted
    assert kinds(actions)[:2] == ["PromoteAlias", "SetTraffic"]


def test_bluegreen_post_promotion_no_data_pauses_and_resume_returns_there() -> None:
    spec = bluegreen()
    status, _ = started(spec)
    status, _ = step(status, spec, OK, T0 + 60)
    status, _ = step(status, spec, None, T0 + 60 + 240)
    assert status.phase is P.PAUSED and status.paused_reason.startswith("no data")  # type: ignore[union-attr]
    status, actions = step(status, spec, None, T0 + 400, command=cmd("resume"))
    assert status.phase is P.POST_PROMOTION and status.step_started_at == T0 + 400
    assert traffic(actions) == []


def test_bluegreen_abort_after_the_switch_restores_the_alias() -> None:
    spec = bluegreen()
    status, _ = started(spec)
    status, _ = step(status, spec, OK, T0 + 60)
    status, actions = step(status, spec, None, T0 + 70, command=cmd("abort", by="ops"))
    assert status.phase is P.ABORTED and status.rollback_reason == "aborted by ops"
    assert kinds(actions)[:2] == ["SetTraffic", "RestoreAlias"]


def test_bluegreen_without_promote_on_success_switches_without_the_alias() -> None:
    spec = make_spec(strategy="bluegreen", promote_on_success=False)
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.POST_PROMOTION and not status.promoted and status.weight == 100
    assert not any(isinstance(a, PromoteAlias) for a in actions)
    assert traffic(actions)[0].routes == ((CANDIDATE, 100),)
    assert not traffic(actions)[0].follow_champion
    status, actions = step(status, spec, verdict("Failed"), T0 + 70)
    assert status.phase is P.ROLLED_BACK
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert not any(isinstance(a, RestoreAlias) for a in actions)


# -- A/B ---


def abtest(**block: object) -> RolloutSpec:
    return make_spec(strategy="abtest", abtest={"split": 30, "max_duration_s": 600, **block})


def test_abtest_starts_a_fixed_sticky_split() -> None:
    spec = make_spec(
        strategy="abtest",
        abtest={"split": 30},
        sticky={"header": None, "cookie": "uid"},
        match=[{"source": "cookie", "name": "beta", "value": "1"}],
    )
    status, actions = started(spec)
    assert status.weight == 30
    (set_traffic,) = traffic(actions)
    assert set_traffic.routes == ((BASELINE, 70), (CANDIDATE, 30))
    assert set_traffic.sticky.cookie == "uid" and set_traffic.sticky.header is None
    assert set_traffic.match == (MatchRule("cookie", "beta", "exact", "1", CANDIDATE),)


def test_abtest_runs_to_max_duration_then_keeps_baseline_without_promote_winner() -> None:
    spec = abtest()
    status, _ = started(spec)
    for now in (T0 + 1, T0 + 300, T0 + 599):
        for v in (OK, verdict("Inconclusive"), verdict("Pending")):
            assert step(status, spec, v, now) == (status, [])
    status, actions = step(status, spec, OK, T0 + 600)
    assert status.phase is P.SUCCEEDED and not status.promoted and status.weight == 0
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert not any(isinstance(a, PromoteAlias) for a in actions)


def test_abtest_promotes_the_winner_when_asked() -> None:
    spec = abtest(promote_winner=True)
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 600)
    assert status.phase is P.SUCCEEDED and status.promoted
    assert kinds(actions)[:2] == ["PromoteAlias", "SetTraffic"]


def test_abtest_may_stop_early_after_min_duration() -> None:
    spec = abtest(min_duration_s=120)
    status, _ = started(spec)
    assert step(status, spec, OK, T0 + 119) == (status, [])
    status, _ = step(status, spec, OK, T0 + 120)
    assert status.phase is P.SUCCEEDED


def test_abtest_failure_rolls_back_at_once() -> None:
    spec = abtest()
    status, _ = started(spec)
    status, actions = step(status, spec, verdict("Failed", "worse"), T0 + 5)
    assert status.phase is P.ROLLED_BACK
    assert traffic(actions)[0].routes == ((BASELINE, 100),)


@pytest.mark.parametrize(
    ("phase", "reason"),
    [("Inconclusive", "A/B test: no decision"), ("Pending", "no data"), (None, "no data")],
)
def test_abtest_without_decision_at_max_duration_pauses(phase: str | None, reason: str) -> None:
    spec = abtest()
    status, _ = started(spec)
    v = None if phase is None else verdict(phase)
    status, actions = step(status, spec, v, T0 + 600)
    assert status.phase is P.PAUSED and status.paused_reason.startswith(reason)  # type: ignore[union-attr]
    assert traffic(actions) == []
    status, _ = step(status, spec, None, T0 + 700, command=cmd("approve"))
    assert status.phase is P.SUCCEEDED


# -- shadow ---


def test_shadow_mirrors_only() -> None:
    spec = make_spec(strategy="shadow", shadow_percent=25)
    status, actions = started(spec)
    assert status.weight == 0
    (set_traffic,) = traffic(actions)
    assert set_traffic.routes == ((BASELINE, 100),) and set_traffic.shadow == (CANDIDATE, 25.0)
    set_traffic.to_policy("fraud")  # a valid routing policy


def test_shadow_success_promotes_by_default() -> None:
    spec = make_spec(strategy="shadow")
    status, _ = started(spec)
    assert step(status, spec, OK, T0 + 59) == (status, [])
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.SUCCEEDED and status.promoted
    assert kinds(actions)[:2] == ["PromoteAlias", "SetTraffic"]
    assert traffic(actions)[0].routes == ((CANDIDATE, 100),)
    assert traffic(actions)[0].shadow is None


def test_shadow_success_without_promotion_removes_the_mirror() -> None:
    spec = make_spec(strategy="shadow", promote_on_success=False)
    status, _ = started(spec)
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.SUCCEEDED and not status.promoted
    assert traffic(actions)[0].routes == ((BASELINE, 100),)
    assert traffic(actions)[0].shadow is None


def test_shadow_failure_removes_the_mirror() -> None:
    spec = make_spec(strategy="shadow")
    status, _ = started(spec)
    status, actions = step(status, spec, verdict("Error", "timeouts"), T0 + 30)
    assert status.phase is P.ROLLED_BACK
    assert traffic(actions)[0].shadow is None and traffic(actions)[0].routes == ((BASELINE, 100),)


def test_shadow_inconclusive_pauses() -> None:
    spec = make_spec(strategy="shadow")
    status, _ = started(spec)
    status, _ = step(status, spec, verdict("Inconclusive"), T0 + 30)
    assert status.phase is P.PAUSED
