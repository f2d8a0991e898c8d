"""(pure) The analysis judge: measurements and counters in, a verdict and new counters out.

Called by the rollout controller about once a second for each active rollout, with
the candidate's and baseline's measurements over the current analysis window
(cumulative since the step began). Per metric:

- no measurement, or fewer than ``min_samples`` -> Pending ("waiting for data: 37/100").
  No data is never a pass and never a fail, even after the deadline.
- provider error -> counted; Error once more than ``consecutive_error_limit`` in a
  row, else Pending. Any successful measurement resets the run.
- threshold breach or sequential rejection -> counted; Failed once more than
  ``failure_limit`` were counted (Failed then stays: the count never goes down), else
  Pending.
- no breach, but a regression of ``min_effect`` is not ruled out: Pending before the
  deadline; at or after it, counted, and Inconclusive once more than
  ``inconclusive_limit`` (else Pending: more data may settle it).
- everything holds: Pending before the deadline ("fine so far"), Successful after it.
  Passing is decided by the step duration plus the thresholds, never by a test alone.

A breach, ambiguity or error is counted at most once per ``interval_s`` (when ``now``
is given), so limits mean what they mean in Argo Rollouts and Flagger (``failureLimit
4`` with ``interval 1m``: five bad minutes), however often the controller ticks.
Overall: any Failed -> Failed; else any Error -> Error; else any Inconclusive ->
Inconclusive; else any Pending -> Pending; else Successful.

The controller starts a fresh JudgeState with each analysis window and persists the
returned one (``to_dict`` / ``from_dict``), so a restarted controller resumes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Final

from router.analysis.errors import StateError
from router.analysis.evaluate import Assessment, Outcome, assess
from router.analysis.measurement import Measurement
from router.analysis.spec import AnalysisSpec, MetricSpec
from router.analysis.verdict import MetricResult, Phase, Verdict

__all__ = ["JUDGE_STATE_VERSION", "JudgeState", "MetricState", "judge"]

JUDGE_STATE_VERSION: Final = 1

# Worst first: the overall phase is the first one any metric has.
_PRECEDENCE: Final = (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE, Phase.PENDING)


@dataclass(frozen=True, slots=True)
class MetricState:
    """One metric's counters over the analysis window; ``*_at`` are Unix seconds."""

    name: str
    failures: int = 0
    inconclusives: int = 0
    consecutive_errors: int = 0
    last_failure_at: float | None = None
    last_inconclusive_at: float | None = None
    last_error_at: float | None = None


@dataclass(frozen=True, slots=True)
class JudgeState:
    """Every metric's counters; JSON-ready so the controller can persist it each tick."""

    metrics: tuple[MetricState, ...] = ()

    def metric(self, name: str) -> MetricState:
        """The counters of ``name`` (zero when the metric has not been judged yet)."""
        for state in self.metrics:
            if state.name == name:
                return state
        return MetricState(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": JUDGE_STATE_VERSION,
            "metrics": {
                s.name: {k: v for k, v in asdict(s).items() if k != "name"} for s in self.metrics
            },
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> JudgeState:
        """Read ``to_dict``'s shape; an empty mapping is a fresh state."""
        if not doc:
            return cls()
        if doc.get("v") != JUDGE_STATE_VERSION:
            raise StateError(
                f"judge state version {doc.get('v')!r} is not supported "
                f"(this build reads {JUDGE_STATE_VERSION})"
            )
        raw = doc.get("metrics")
        if not isinstance(raw, Mapping):
            raise StateError("judge state needs a 'metrics' object")
        states = []
        for name, fields in raw.items():
            try:
                states.append(MetricState(name=str(name), **_counters(fields)))
            except (TypeError, ValueError) as exc:
                raise StateError(f"judge state metrics.{name}: {exc}") from None
        return cls(tuple(states))


def _counters(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise ValueError("must be an object")
    out: dict[str, Any] = {}
    for key in ("failures", "inconclusives", "consecutive_errors"):
        value = fields.get(key, 0)
        if type(value) is not int or value < 0:
            raise ValueError(f"{key} must be an integer >= 0, got {value!r}")
        out[key] = value
    for key in ("last_failure_at", "last_inconclusive_at", "last_error_at"):
        value = fields.get(key)
        if value is not None and not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number or null, got {value!r}")
        out[key] = None if value is None else float(value)
    return out


def judge(
    spec: AnalysisSpec,
    candidate: Measurement | None,
    baseline: Measurement | None,
    state: JudgeState,
    *,
    deadline_passed: bool = False,
    now: float | datetime | None = None,
    measurements: Mapping[str, tuple[Measurement | None, Measurement | None]] | None = None,
    provider_errors: Mapping[str, str] | None = None,
) -> tuple[Verdict, JudgeState]:
    """Judge every metric of ``spec``; pure (see the module docstring for the rules).

    ``candidate`` / ``baseline`` serve every metric not found in ``measurements``
    (metric name -> (candidate, baseline), from that metric's provider).
    ``provider_errors`` maps a metric name to the provider's error message.
    ``deadline_passed``: the step's analysis duration is over, so a passing metric may
    be Successful and an ambiguous one Inconclusive. ``now`` (Unix seconds or a
    datetime) paces the counters by each metric's ``interval_s``; None counts every call.
    """
    t = now.timestamp() if isinstance(now, datetime) else now
    errors = provider_errors or {}
    results: list[MetricResult] = []
    states: list[MetricState] = []
    for metric in spec.metrics:
        before = state.metric(metric.name)
        if metric.name in errors:
            result, after = _on_error(metric, before, errors[metric.name], t)
        else:
            c, b = (measurements or {}).get(metric.name, (candidate, baseline))
            result, after = _on_assessment(metric, before, assess(metric, c, b), deadline_passed, t)
        results.append(result)
        states.append(after)
    phase = _overall(results)
    return Verdict(phase, tuple(results), _reason(phase, results)), JudgeState(tuple(states))


def _due(last: float | None, now: float | None, interval_s: float) -> bool:
    return now is None or last is None or now - last >= interval_s or now < last


def _on_error(
    metric: MetricSpec, s: MetricState, error: str, now: float | None
) -> tuple[MetricResult, MetricState]:
    if _due(s.last_error_at, now, metric.interval_s):
        s = replace(s, consecutive_errors=s.consecutive_errors + 1, last_error_at=now)
    limit = metric.consecutive_error_limit
    stats = _counter_stats(s)
    if s.failures > metric.failure_limit:
        return _result(metric, Phase.FAILED, None, stats, _failed_text(metric, s, error)), s
    count = f"provider error {s.consecutive_errors} in a row (consecutiveErrorLimit {limit})"
    if s.consecutive_errors > limit:
        return _result(metric, Phase.ERROR, None, stats, f"{count}: {error}"), s
    return _result(metric, Phase.PENDING, None, stats, f"{count}, retrying: {error}"), s


def _on_assessment(
    metric: MetricSpec,
    s: MetricState,
    a: Assessment,
    deadline_passed: bool,
    now: float | None,
) -> tuple[MetricResult, MetricState]:
    s = replace(s, consecutive_errors=0)  # a measurement arrived: the error run is over
    if a.outcome is Outcome.BREACH and _due(s.last_failure_at, now, metric.interval_s):
        s = replace(s, failures=s.failures + 1, last_failure_at=now)
    undecided_at_deadline = a.outcome is Outcome.UNDECIDED and deadline_passed
    if undecided_at_deadline and _due(s.last_inconclusive_at, now, metric.interval_s):
        s = replace(s, inconclusives=s.inconclusives + 1, last_inconclusive_at=now)
    stats = {**a.statistics, **_counter_stats(s)}

    if s.failures > metric.failure_limit:
        return _result(metric, Phase.FAILED, a, stats, _failed_text(metric, s, a.message)), s
    if a.outcome is Outcome.WAITING:
        late = " (the deadline has passed; no data is neither pass nor fail)"
        return _result(
            metric, Phase.PENDING, a, stats, a.message + (late if deadline_passed else "")
        ), s
    if a.outcome is Outcome.BREACH:
        text = (
            f"{a.message} (breach {s.failures} counted; failureLimit {metric.failure_limit} "
            "allows more before Failed)"
        )
        return _result(metric, Phase.PENDING, a, stats, text), s
    if a.outcome is Outcome.UNDECIDED:
        if not deadline_passed:
            return _result(metric, Phase.PENDING, a, stats, f"watching: {a.message}"), s
        limit = metric.inconclusive_limit
        count = f"ambiguous at the deadline {s.inconclusives} time(s), inconclusiveLimit {limit}"
        if s.inconclusives > limit:
            return _result(metric, Phase.INCONCLUSIVE, a, stats, f"{a.message} ({count})"), s
        return _result(
            metric, Phase.PENDING, a, stats, f"{a.message} ({count}; waiting for more data)"
        ), s
    if not deadline_passed:
        return _result(metric, Phase.PENDING, a, stats, f"fine so far: {a.message}"), s
    return _result(metric, Phase.SUCCESSFUL, a, stats, a.message), s


def _failed_text(metric: MetricSpec, s: MetricState, message: str) -> str:
    return f"{message} ({s.failures} breach(es) counted, failureLimit {metric.failure_limit})"


def _counter_stats(s: MetricState) -> dict[str, float]:
    return {
        "failures": float(s.failures),
        "inconclusives": float(s.inconclusives),
        "consecutive_errors": float(s.consecutive_errors),
    }


def _result(
    metric: MetricSpec,
    phase: Phase,
    a: Assessment | None,
    stats: dict[str, float],
    message: str,
) -> MetricResult:
    clean = {k: v for k, v in stats.items() if not math.isnan(v)}
    if a is None:
        return MetricResult(metric.name, phase, statistics=clean, message=message)
    return MetricResult(metric.name, phase, a.value, a.baseline, a.threshold, clean, message)


def _overall(results: list[MetricResult]) -> Phase:
    phases = {r.phase for r in results}
    for phase in _PRECEDENCE:
        if phase in phases:
            return phase
    return Phase.SUCCESSFUL


def _reason(phase: Phase, results: list[MetricResult]) -> str:
    if phase is Phase.SUCCESSFUL:
        return f"all {len(results)} metric(s) passed at the deadline"
    deciding = [r for r in results if r.phase is phase]
    verb = {
        Phase.FAILED: "failed",
        Phase.ERROR: "could not be measured",
        Phase.INCONCLUSIVE: "is inconclusive",
        Phase.PENDING: "is pending",
    }[phase]
    return " | ".join(f"{r.name} {verb}: {r.message}" for r in deciding)
