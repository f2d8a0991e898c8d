"""Phases and the transition table: every pair is either allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from migrations.models.rollouts import TERMINAL_ROLLOUT_PHASES
from router.rollout import (
    ACTIVE,
    TERMINAL,
    TRANSITIONS,
    RolloutPhase,
    TransitionError,
    check_transition,
)

P = RolloutPhase
ENDINGS = {P.ROLLED_BACK, P.ABORTED, P.FAILED}
EXPECTED: dict[RolloutPhase, set[RolloutPhase]] = {
    P.PENDING: {P.PROGRESSING} | ENDINGS,
    P.PROGRESSING: {P.PAUSED, P.PROMOTING, P.SUCCEEDED} | ENDINGS,
    P.PAUSED: {P.PROGRESSING, P.POST_PROMOTION, P.PROMOTING, P.SUCCEEDED} | ENDINGS,
    P.PROMOTING: {P.POST_PROMOTION, P.SUCCEEDED, P.PAUSED} | ENDINGS,
    P.POST_PROMOTION: {P.SUCCEEDED, P.PAUSED} | ENDINGS,
    P.SUCCEEDED: set(),
    P.ROLLED_BACK: {P.PENDING},
    P.ABORTED: {P.PENDING},
    P.FAILED: {P.PENDING},
}


def test_phase_strings_are_the_stored_names() -> None:
    assert [p.value for p in P] == [
        "Pending",
        "Progressing",
        "Paused",
        "Promoting",
        "PostPromotion",
        "Succeeded",
        "RolledBack",
        "Aborted",
        "Failed",
    ]


def test_terminal_phases_match_the_control_db_index() -> None:
    assert {p.value for p in TERMINAL} == set(TERMINAL_ROLLOUT_PHASES)
    assert ACTIVE == frozenset(P) - TERMINAL


def test_the_table_covers_every_phase() -> None:
    assert set(TRANSITIONS) == set(P)
    assert {a: set(b) for a, b in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("a", "b"), list(itertools.product(P, P)), ids=lambda p: str(p))
def test_each_pair_is_allowed_or_refused(a: RolloutPhase, b: RolloutPhase) -> None:
    if b in EXPECTED[a]:
        check_transition(a, b)
    else:
        with pytest.raises(TransitionError, match=f"^{a} -> {b}: not allowed") as caught:
            check_transition(a, b)
        assert "\n" not in str(caught.value)


def test_only_retry_leaves_an_ending_and_nothing_leaves_success() -> None:
    for phase in TERMINAL:
        assert TRANSITIONS[phase] <= {P.PENDING}
    assert TRANSITIONS[P.SUCCEEDED] == frozenset()


def test_every_active_phase_can_be_aborted_and_can_fail() -> None:
    for phase in ACTIVE:
        assert {P.ABORTED, P.FAILED} <= TRANSITIONS[phase]


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[P.SUCCEEDED] = frozenset({P.PENDING})  # type: ignore[index]
