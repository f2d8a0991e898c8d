"""The phases of a rollout and the table of allowed phase changes (state machine as data)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from router.rollout.errors import TransitionError

__all__ = ["ACTIVE", "TERMINAL", "TRANSITIONS", "RolloutPhase", "check_transition"]


class RolloutPhase(StrEnum):
    """Where a rollout is. The strings are stored in ``rollouts.phase``."""

    PENDING = "Pending"  # created; start gates (confirm-rollout, pre-rollout) not yet passed
    PROGRESSING = "Progressing"  # walking the steps / judging the strategy's window
    PAUSED = "Paused"  # waiting for a human (approval, inconclusive analysis, no data)
    PROMOTING = "Promoting"  # steps done; waiting for the confirm-promotion gate
    POST_PROMOTION = "PostPromotion"  # blue-green: 100% switched, judging before done
    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"  # the analysis or a gate failed; traffic back on baseline
    ABORTED = "Aborted"  # a human aborted; traffic back on baseline
    FAILED = "Failed"  # the controller could not act (e.g. the candidate fails to load)


_P = RolloutPhase

# Must equal migrations.models.rollouts.TERMINAL_ROLLOUT_PHASES: a unique index there
# allows one non-terminal rollout per model.
TERMINAL: frozenset[RolloutPhase] = frozenset({_P.SUCCEEDED, _P.ROLLED_BACK, _P.ABORTED, _P.FAILED})
ACTIVE: frozenset[RolloutPhase] = frozenset(_P) - TERMINAL

_ENDINGS = frozenset({_P.ROLLED_BACK, _P.ABORTED, _P.FAILED})

# Staying in a phase (a step advancing inside Progressing) is not a transition.
TRANSITIONS: Mapping[RolloutPhase, frozenset[RolloutPhase]] = MappingProxyType(
    {
        # RolledBack: a failed pre-rollout gate, before any traffic moved.
        _P.PENDING: frozenset({_P.PROGRESSING}) | _ENDINGS,
        # Succeeded: an A/B test or shadow run that ends without promoting.
        _P.PROGRESSING: frozenset({_P.PAUSED, _P.PROMOTING, _P.SUCCEEDED}) | _ENDINGS,
        # Resume goes back to Progressing, or to PostPromotion when paused there;
        # approve / promote can end the pause directly.
        _P.PAUSED: frozenset({_P.PROGRESSING, _P.POST_PROMOTION, _P.PROMOTING, _P.SUCCEEDED})
        | _ENDINGS,
        _P.PROMOTING: frozenset({_P.POST_PROMOTION, _P.SUCCEEDED, _P.PAUSED}) | _ENDINGS,
        _P.POST_PROMOTION: frozenset({_P.SUCCEEDED, _P.PAUSED}) | _ENDINGS,
        _P.SUCCEEDED: frozenset(),
        # `retry` starts a rollout that ended badly again, from scratch.
        _P.ROLLED_BACK: frozenset({_P.PENDING}),
        _P.ABORTED: frozenset({_P.PENDING}),
        _P.FAILED: frozenset({_P.PENDING}),
    }
)


def check_transition(a: RolloutPhase, b: RolloutPhase) -> None:
    """Raise TransitionError unless the table allows moving from ``a`` to ``b``."""
    if b not in TRANSITIONS[RolloutPhase(a)]:
        allowed = ", ".join(sorted(TRANSITIONS[RolloutPhase(a)])) or "nothing (final)"
        raise TransitionError(f"{a} -> {b}: not allowed; from {a} a rollout may go to {allowed}")
