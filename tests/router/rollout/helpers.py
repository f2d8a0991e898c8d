"""Builders shared by the rollout tests: specs, verdicts, and a tick loop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from router.analysis import Phase, Verdict
from router.rollout import (
    Action,
    Command,
    CommandKind,
    RolloutSpec,
    RolloutStatus,
    SetTraffic,
    step,
)

T0 = 1_700_000_000.0
BASELINE, CANDIDATE = "1", "2"


def verdict(phase: str, reason: str = "") -> Verdict:
    return Verdict(phase=Phase(phase), metrics=(), reason=reason)


def make_spec(**fields: Any) -> RolloutSpec:
    """A resolved spec (baseline 1 -> candidate 2); canary 5,25,50,100 unless told."""
    data: dict[str, Any] = {"model": "fraud", "candidate": CANDIDATE, "baseline": BASELINE}
    if fields.get("strategy", "canary") == "canary" and not {
        "steps",
        "step_weights",
        "step_weight",
    } & set(fields):
        data["step_weights"] = [5, 25, 50, 100]
    data.update(fields)
    return RolloutSpec.from_dict(data)


def started(spec: RolloutSpec, now: float = T0) -> tuple[RolloutStatus, list[Action]]:
    return step(RolloutStatus.new(now), spec, None, now)


def traffic(actions: Iterable[Action]) -> list[SetTraffic]:
    return [a for a in actions if isinstance(a, SetTraffic)]


def kinds(actions: Iterable[Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def share(action: SetTraffic, version: str = CANDIDATE) -> int:
    return sum(weight for v, weight in action.routes if v == version)


def cmd(kind: str, **kw: Any) -> Command:
    return Command(CommandKind(kind), **kw)
