"""Carries out what the rollout state machine decided: routing policies and alias moves.

Every action is idempotent: a policy identical to the stored one is not written again,
promoting the current champion changes nothing. A controller that crashed between an
action and saving its status therefore repeats the action harmlessly on the next tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from router.rollout import Action, PromoteAlias, RestoreAlias, RolloutSpec, SetTraffic
from router.serving.policy_store import get_policy, put_policy


class AliasMover(Protocol):
    """What the executor needs of registry.audit.AliasLedger."""

    def promote(
        self, model: str, version: str, *, actor: str, reason: str | None = None
    ) -> Any: ...


def policy_seed(rollout_id: int) -> str:
    # Fixed for the whole rollout: a user keeps their side as the weight grows.
    return f"rollout-{rollout_id}"


class Executor:
    def __init__(
        self, sessions: sessionmaker[Session], ledger: AliasMover, *, actor: str = "controller"
    ) -> None:
        self.sessions = sessions
        self.ledger = ledger
        self.actor = actor

    def apply(self, rollout_id: int, spec: RolloutSpec, actions: Sequence[Action]) -> list[str]:
        """Run the traffic-changing actions in order; what was done, in words."""
        done: list[str] = []
        for action in actions:
            if isinstance(action, PromoteAlias):
                change = self.ledger.promote(
                    spec.model,
                    action.version,
                    actor=self.actor,
                    reason=action.reason or f"rollout #{rollout_id} promoted",
                )
                if getattr(change, "changed", True):
                    done.append(f"champion -> {action.version}")
            elif isinstance(action, RestoreAlias):
                change = self.ledger.promote(
                    spec.model,
                    action.version,
                    actor=self.actor,
                    reason=action.reason or f"rollout #{rollout_id} restored the champion",
                )
                if getattr(change, "changed", True):
                    done.append(f"champion restored -> {action.version}")
            elif isinstance(action, SetTraffic):
                if self.set_traffic(rollout_id, spec, action):
                    done.append(f"traffic: {_describe(action)}")
        return done

    def set_traffic(self, rollout_id: int, spec: RolloutSpec, action: SetTraffic) -> bool:
        """Store the policy ACTION asks for unless it is already the newest; True if written."""
        policy = (
            None
            if action.follow_champion
            else action.to_policy(spec.model, seed=policy_seed(rollout_id))
        )
        wanted = None if policy is None else policy.to_dict()
        with self.sessions.begin() as session:
            current = get_policy(session, spec.model)
            if current is not None:
                have = None if current.policy is None else current.policy.with_revision(0).to_dict()
                if have == wanted:
                    return False
            elif wanted is None:
                return False  # nothing stored means "follow the champion" already
            put_policy(
                session,
                spec.model,
                policy,
                actor=self.actor,
                reason=action.reason or None,
                rollout_id=rollout_id,
            )
        return True


def _describe(action: SetTraffic) -> str:
    if action.follow_champion:
        return "all to the champion"
    split = ", ".join(f"v{v}={w}%" for v, w in action.routes)
    if action.shadow is not None:
        split += f", shadow v{action.shadow[0]} {action.shadow[1]:g}%"
    if action.match:
        split += f", {len(action.match)} match rule(s)"
    return split
