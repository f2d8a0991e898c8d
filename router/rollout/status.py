"""A rollout's status: the value step() reads and returns, stored as JSON between ticks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from router.rollout.errors import RolloutError
from router.rollout.phases import TERMINAL, RolloutPhase

__all__ = ["RolloutStatus"]


@dataclass(frozen=True)
class RolloutStatus:
    """Where a rollout is. Times are epoch seconds.

    ``weight`` is the candidate's percent of unmatched traffic; ``step_started_at`` when
    the current step (or analysis window) began; ``analysis_state`` is the judge's own
    state, kept by the controller and reset to {} whenever a new window starts;
    ``promoted`` is true while the champion alias points at the candidate because of
    this rollout; ``pending_gate`` the webhook gate waited for (requested at
    ``gate_since``).
    """

    phase: RolloutPhase = RolloutPhase.PENDING
    step_index: int = 0
    weight: int = 0
    step_started_at: float = 0.0
    paused_reason: str | None = None
    approved_steps: tuple[int, ...] = ()
    message: str = ""
    analysis_state: Mapping[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    updated_at: float = 0.0
    promoted: bool = False
    rollback_reason: str | None = None
    pending_gate: str | None = None
    gate_since: float | None = None

    @classmethod
    def new(cls, now: float, message: str = "created") -> RolloutStatus:
        """A fresh Pending status, as written when a rollout is started."""
        return cls(step_started_at=now, started_at=now, updated_at=now, message=message)

    @property
    def is_terminal(self) -> bool:
        return self.phase in TERMINAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``from_dict(s.to_dict()) == s``."""
        return {
            "phase": self.phase.value,
            "step_index": self.step_index,
            "weight": self.weight,
            "step_started_at": self.step_started_at,
            "paused_reason": self.paused_reason,
            "approved_steps": list(self.approved_steps),
            "message": self.message,
            "analysis_state": dict(self.analysis_state),
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "promoted": self.promoted,
            "rollback_reason": self.rollback_reason,
            "pending_gate": self.pending_gate,
            "gate_since": self.gate_since,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutStatus:
        """Rebuild a stored status; RolloutError names the first bad field."""
        if not isinstance(data, Mapping):
            raise RolloutError(f"status: must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        for name in data:
            if name not in known:
                raise RolloutError(f"status.{name}: unknown field")
        values = dict(data)
        try:
            values["phase"] = RolloutPhase(values.get("phase", RolloutPhase.PENDING))
        except ValueError:
            raise RolloutError(f"status.phase: unknown phase {values['phase']!r}") from None
        for name in ("step_index", "weight"):
            if name in values and not _is_int(values[name]):
                raise RolloutError(f"status.{name}: must be an integer, got {values[name]!r}")
        if not 0 <= values.get("weight", 0) <= 100:
            raise RolloutError(f"status.weight: must be 0..100, got {values['weight']!r}")
        for name in ("step_started_at", "started_at", "updated_at", "gate_since"):
            value = values.get(name, 0.0)
            if value is None and name == "gate_since":
                continue
            if not _is_real(value):
                raise RolloutError(f"status.{name}: must be a number, got {value!r}")
            values[name] = float(value)
        steps = values.get("approved_steps", ())
        if not isinstance(steps, list | tuple) or not all(_is_int(i) for i in steps):
            raise RolloutError(f"status.approved_steps: must be a list of integers, got {steps!r}")
        values["approved_steps"] = tuple(steps)
        state = values.get("analysis_state", {})
        if not isinstance(state, Mapping):
            raise RolloutError(f"status.analysis_state: must be an object, got {state!r}")
        values["analysis_state"] = dict(state)
        return cls(**values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
