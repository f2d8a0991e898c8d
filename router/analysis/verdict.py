"""(pure) What the judge decided, per metric and overall, in a form people can read.

A Verdict is stored with every controller tick and printed by ``turnout rollout
explain``: ``to_dict`` is complete (phase, value, baseline, the rule, the statistics,
a sentence) and ``from_dict`` reads it back; ``explain`` renders it as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["MetricResult", "Phase", "Verdict"]


class Phase(StrEnum):
    """Analysis phases (Argo Rollouts' names). Pending: not enough data to say yet."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"
    PENDING = "Pending"


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's phase with its evidence.

    ``value`` / ``baseline`` are the candidate's and baseline's numbers in the metric's
    units (None when unknown); ``threshold`` states the rule in words; ``statistics``
    holds the test quantities (log_lr, ci_low, ci_high, n_candidate, ...).
    """

    name: str
    phase: Phase
    value: float | None = None
    baseline: float | None = None
    threshold: str = ""
    statistics: Mapping[str, float] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase.value,
            "value": _out(self.value),
            "baseline": _out(self.baseline),
            "threshold": self.threshold,
            "statistics": {k: _out(v) for k, v in self.statistics.items()},
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> MetricResult:
        return cls(
            name=str(doc["name"]),
            phase=Phase(doc["phase"]),
            value=_in(doc.get("value")),
            baseline=_in(doc.get("baseline")),
            threshold=str(doc.get("threshold", "")),
            statistics={
                str(k): float(v)
                for k, v in dict(doc.get("statistics", {})).items()
                if v is not None
            },
            message=str(doc.get("message", "")),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The overall phase, every metric's result, and one sentence saying why."""

    phase: Phase
    metrics: tuple[MetricResult, ...]
    reason: str

    def metric(self, name: str) -> MetricResult:
        """The result of metric ``name``; KeyError if the verdict has none."""
        for result in self.metrics:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "reason": self.reason,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Verdict:
        return cls(
            phase=Phase(doc["phase"]),
            metrics=tuple(MetricResult.from_dict(m) for m in doc.get("metrics", ())),
            reason=str(doc.get("reason", "")),
        )

    def explain(self) -> str:
        """Several lines for a terminal: the verdict, then each metric and its numbers."""
        lines = [f"{self.phase.value}: {self.reason}"]
        for m in self.metrics:
            lines.append(f"  {m.name}: {m.phase.value}. {m.message}")
            if m.threshold:
                lines.append(f"    rule: {m.threshold}")
            if m.statistics:
                stats = ", ".join(f"{k}={_show(v)}" for k, v in m.statistics.items())
                lines.append(f"    statistics: {stats}")
        return "\n".join(lines)


def _out(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: those travel as the strings float() reads back."""
    if value is None or math.isfinite(value):
        return value
    return str(value)


def _in(value: Any) -> float | None:
    return None if value is None else float(value)


def _show(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"
