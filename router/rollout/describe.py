"""One-line human summaries of a rollout, for the CLI and the dashboard."""

from __future__ import annotations

from router.rollout.phases import RolloutPhase
from router.rollout.spec import Analysis, Pause, RolloutSpec, SetWeight
from router.rollout.status import RolloutStatus

__all__ = ["describe_status"]

_P = RolloutPhase


def describe_status(status: RolloutStatus, spec: RolloutSpec, *, now: float | None = None) -> str:
    """E.g. "step 3/8: canary at 25%, analysis 42/60 s". ``now`` defaults to the time
    of the status's last update."""
    now = status.updated_at if now is None else now
    elapsed = max(0.0, now - status.step_started_at)
    candidate, baseline = spec.candidate, spec.baseline or "the champion"
    phase = status.phase
    if phase is _P.PENDING:
        waiting = _gate(status) or "not started yet"
        return f"pending: {waiting} ({spec.strategy} {baseline} -> {candidate})"
    if phase is _P.SUCCEEDED:
        if status.promoted:
            return f"succeeded: {candidate} promoted to champion"
        if status.weight == 100:
            return f"succeeded: {candidate} at 100% (champion alias not moved)"
        return f"succeeded: {baseline} kept; {status.message}"
    if phase is _P.ROLLED_BACK:
        return f"rolled back to {baseline}: {status.rollback_reason or status.message}"
    if phase is _P.ABORTED:
        return f"aborted, back on {baseline}: {status.rollback_reason or status.message}"
    if phase is _P.FAILED:
        return f"failed: {status.rollback_reason or status.message}"
    where = _where(status, spec)
    if phase is _P.PAUSED:
        return f"paused at {where}: {status.paused_reason or status.message}"
    if phase is _P.PROMOTING:
        return f"promoting {candidate}" + (f": {_gate(status)}" if status.pending_gate else "")
    if phase is _P.POST_PROMOTION:
        assert spec.bluegreen is not None
        window = spec.bluegreen.post_promotion_s
        return f"post-promotion: {candidate} at 100%, analysis {elapsed:.0f}/{window:g} s"
    return f"{where}, {_doing(status, spec, elapsed)}"


def _gate(status: RolloutStatus) -> str:
    return f"waiting for the {status.pending_gate} gate" if status.pending_gate else ""


def _where(status: RolloutStatus, spec: RolloutSpec) -> str:
    candidate, weight = spec.candidate, status.weight
    if spec.strategy == "canary":
        n, i = len(spec.steps), status.step_index
        place = f"step {i + 1}/{n}" if i < n else f"after step {n}/{n}"
        return f"{place}: canary at {weight}%"
    if spec.strategy == "bluegreen":
        if weight == 100:
            return f"post-promotion: {candidate} at 100%"
        return f"pre-promotion: preview of {candidate}"
    if spec.strategy == "abtest":
        return f"A/B test: {weight}% to {candidate}"
    return f"shadow: {spec.shadow_percent:g}% mirrored to {candidate}"


def _doing(status: RolloutStatus, spec: RolloutSpec, elapsed: float) -> str:
    if status.pending_gate:
        return _gate(status)
    if spec.strategy == "canary":
        current = spec.steps[status.step_index] if status.step_index < len(spec.steps) else None
        if isinstance(current, SetWeight):
            return f"setting weight {current.set_weight}%"
        if isinstance(current, Pause):
            duration = current.pause.duration_s
            if duration is None:
                return "waiting for approval"
            return f"pause {elapsed:.0f}/{duration:g} s"
        if isinstance(current, Analysis):
            return f"analysis {elapsed:.0f}/{current.duration_s:g} s"
        return "steps done"
    if spec.strategy == "bluegreen":
        assert spec.bluegreen is not None
        return f"analysis {elapsed:.0f}/{spec.bluegreen.pre_promotion_s:g} s"
    if spec.strategy == "abtest":
        assert spec.abtest is not None
        return f"{elapsed:.0f}/{spec.abtest.max_duration_s:g} s"
    return f"analysis {elapsed:.0f}/{spec.step_duration_s:g} s"
