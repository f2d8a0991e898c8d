"""What the CLI and the control API do to rollouts: start one, or send it a command."""

from __future__ import annotations

import time
from typing import Any, Protocol, cast

from sqlalchemy.orm import Session, sessionmaker

from router.controller.controller import Controller, TickResult
from router.controller.errors import InvalidRollout, RolloutConflict
from router.controller.store import create_rollout, record_event
from router.rollout import Command, CommandKind, RolloutSpec, RolloutStatus
from router.serving.policy_check import check_policy_versions
from router.traffic import single

CHAMPION = "champion"


class Registry(Protocol):
    def get_version(self, name: str, version: str) -> Any: ...

    def version_by_alias(self, name: str, alias: str) -> Any: ...

    def model_bytes(self, name: str, version: str) -> bytes: ...

    def reference_profile(self, name: str, version: str) -> str | None: ...


def start_rollout(
    sessions: sessionmaker[Session],
    registry: Registry,
    spec: RolloutSpec,
    *,
    actor: str,
    now: float | None = None,
) -> tuple[int, RolloutSpec]:
    """Validate and store a new rollout (phase Pending); the controller takes it from there."""
    from registry.errors import AliasNotFound

    candidate = registry.get_version(spec.model, spec.candidate)
    if not getattr(candidate, "usable", True):
        raise InvalidRollout(
            f"version {spec.candidate} of '{spec.model}' is {candidate.status}; "
            "it cannot be rolled out"
        )
    try:
        champion: str | None = str(registry.version_by_alias(spec.model, CHAMPION).version)
    except AliasNotFound:
        champion = None
    baseline = spec.baseline
    if baseline is None:
        if champion is None:
            raise InvalidRollout(
                f"model '{spec.model}' has no champion to compare with; promote a version "
                "first (turnout promote) or give a baseline"
            )
        baseline = champion
    else:
        registry.get_version(spec.model, baseline)
    # Also with a baseline named: a candidate that is the champion serves everything
    # already, and promoting it at the end would move nothing.
    if spec.candidate in (baseline, champion):
        raise InvalidRollout(
            f"version {spec.candidate} of '{spec.model}' is already the champion; "
            "nothing to roll out"
        )
    check_policy_versions(registry, single(spec.model, spec.candidate))
    resolved = spec.resolve(baseline)
    status = RolloutStatus.new(now if now is not None else time.time(), message="created")
    with sessions.begin() as session:
        row = create_rollout(session, resolved, status, actor=actor)
        record_event(
            session, row, "rollout.start", actor=actor, payload={"spec": resolved.to_dict()}
        )
        rollout_id = row.id
    return rollout_id, resolved


def run_command(
    controller: Controller,
    rollout_id: int,
    kind: str,
    *,
    actor: str,
    reason: str = "",
    attempts: int = 3,
) -> TickResult:
    """Apply a human command; a race with the controller's own tick is retried, a real
    conflict (another command won) surfaces as RolloutConflict."""
    # Command checks the kind itself and names the known ones when it is unknown.
    command = Command(cast(CommandKind, kind), reason=reason, by=actor)
    for attempt in range(attempts):
        try:
            return controller.advance(rollout_id, command)
        except RolloutConflict:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")
