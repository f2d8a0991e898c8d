"""What the rollout machine asks the controller to do, and the human commands it accepts.

Actions are values; the controller executes them idempotently (setting traffic that is
already set, or moving an alias where it already points, changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from router.rollout.errors import CommandError
from router.rollout.phases import RolloutPhase
from router.traffic import MatchRule, Route, RoutingPolicy, Shadow, StickyKey

__all__ = [
    "COMMAND_PHASES",
    "TRAFFIC_ACTIONS",
    "Action",
    "CallGate",
    "Command",
    "CommandKind",
    "Notify",
    "PromoteAlias",
    "RecordDecision",
    "RestoreAlias",
    "SetTraffic",
]


@dataclass(frozen=True)
class SetTraffic:
    """Route the model's traffic: ``routes`` ((version, weight), baseline first, summing
    to 100), ``match`` rules to the candidate, ``shadow`` (version, percent) mirrored.

    ``follow_champion`` marks the end state of a promotion: the candidate is now the
    champion and takes all traffic, so the policy is ``single(model, champion)``.
    """

    routes: tuple[tuple[str, int], ...]
    match: tuple[MatchRule, ...] = ()
    shadow: tuple[str, float] | None = None
    sticky: StickyKey = StickyKey()
    follow_champion: bool = False
    reason: str = ""

    def same_traffic(self, other: SetTraffic) -> bool:
        """Equal apart from the reason: applying one after the other changes nothing."""
        return self.key() == other.key()

    def key(self) -> tuple[object, ...]:
        return (self.routes, self.match, self.shadow, self.sticky, self.follow_champion)

    def to_policy(self, model: str, *, seed: str = "", revision: int = 0) -> RoutingPolicy:
        """The router.traffic policy this action asks for (validated)."""
        return RoutingPolicy(
            model=model,
            routes=tuple(Route(version, weight) for version, weight in self.routes),
            match=self.match,
            shadow=None if self.shadow is None else Shadow(*self.shadow),
            sticky=self.sticky,
            seed=seed,
            revision=revision,
        )


@dataclass(frozen=True)
class PromoteAlias:
    """Move the champion alias to ``version``; ``previous`` (the baseline) becomes previous."""

    version: str
    previous: str
    reason: str = ""


@dataclass(frozen=True)
class RestoreAlias:
    """Point the champion alias back at ``version`` (a promotion being undone)."""

    version: str
    reason: str = ""


@dataclass(frozen=True)
class Notify:
    """Tell the spec's webhooks of type ``kind`` ("event", "rollback", "post-rollout")."""

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallGate:
    """A gate became pending: run the spec's ``kind`` webhooks. From the next tick on,
    while ``status.pending_gate == kind``, pass their outcome to step() as ``gate_ok``."""

    kind: str


@dataclass(frozen=True)
class RecordDecision:
    """Store one decision (a ``rollout_decisions`` row) with the controller's evidence."""

    reason: str
    phase_before: str
    phase_after: str
    step_index: int
    verdict: str | None = None


Action = SetTraffic | PromoteAlias | RestoreAlias | Notify | CallGate | RecordDecision
# The actions that change what users are served.
TRAFFIC_ACTIONS: tuple[type, ...] = (SetTraffic, PromoteAlias, RestoreAlias)


class CommandKind(StrEnum):
    APPROVE = "approve"  # a paused step passes (approval, inconclusive, no data)
    PAUSE = "pause"
    RESUME = "resume"  # re-run the current step from its start (a wait-for-approval: pass)
    PROMOTE = "promote"  # skip the remaining steps, go to 100% and move the alias
    PROMOTE_FULL = "promote_full"  # promote and skip a blue-green post-promotion window
    ABORT = "abort"  # traffic back to baseline (alias restored if it moved)
    RETRY = "retry"  # start a rolled back / aborted / failed rollout again, fresh


_P = RolloutPhase
_PAUSABLE = frozenset({_P.PROGRESSING, _P.PROMOTING, _P.POST_PROMOTION})

# Where each command applies; anywhere else it raises CommandError.
COMMAND_PHASES: Mapping[CommandKind, frozenset[RolloutPhase]] = MappingProxyType(
    {
        CommandKind.APPROVE: frozenset({_P.PAUSED}),
        CommandKind.PAUSE: _PAUSABLE,
        CommandKind.RESUME: frozenset({_P.PAUSED}),
        # Not while paused inside a blue-green post-promotion window (already switched).
        CommandKind.PROMOTE: frozenset({_P.PROGRESSING, _P.PAUSED, _P.PROMOTING}),
        CommandKind.PROMOTE_FULL: _PAUSABLE | {_P.PAUSED},
        CommandKind.ABORT: _PAUSABLE | {_P.PENDING, _P.PAUSED},
        CommandKind.RETRY: frozenset({_P.ROLLED_BACK, _P.ABORTED, _P.FAILED}),
    }
)


@dataclass(frozen=True)
class Command:
    """A human's command (CLI, API); ``by`` and ``reason`` end up in the decision log."""

    kind: CommandKind
    reason: str = ""
    by: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", CommandKind(self.kind))
        except ValueError:
            known = ", ".join(kind.value for kind in CommandKind)
            raise CommandError(f"{self.kind!r}: unknown command; one of {known}") from None
