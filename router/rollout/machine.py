"""The rollout state machine: ``step(status, spec, verdict, now) -> (status, actions)``, pure.

The controller is level-triggered. Each tick it loads the status, judges the window
that began at ``status.step_started_at`` with ``analysis_in_force(status, spec)``, runs
the webhooks of ``status.pending_gate`` if one is pending (their outcome is
``gate_ok``), calls step(), executes the returned actions in order and stores the
status. step() is idempotent: called again with the same inputs at the same ``now`` it
returns the same status and no actions.

Rules (SEMANTICS.md, Rollouts):

- A verdict counts only if ``now > step_started_at``: no data can exist yet for a window
  that begins now, so a verdict is never carried into the next step.
- Failed or Error rolls back from any active phase (analysis runs in the background).
  Inconclusive pauses for a human. Pending (or no verdict) never passes: the step
  waits, and pauses with "no data" after twice its duration. Successful passes once the
  step's duration has passed. Without any analysis spec a window is a plain timer.
- canary: SetWeight moves traffic and advances at once; Pause(duration) waits,
  Pause(None) pauses until approved; Analysis gates as above. After the last step:
  Promoting -> PromoteAlias + all traffic to the candidate -> Succeeded.
- bluegreen: the preview gets only match-rule / mirrored traffic while judged for
  ``pre_promotion_s``; then the 100% switch (+ PromoteAlias) and PostPromotion for
  ``post_promotion_s``, where a failure switches back and restores the alias.
- abtest: a fixed sticky split. Failed/Error rolls back at any time; Successful ends it
  after ``abtest.decide_after_s``; at ``max_duration_s`` without a decision it pauses.
  It promotes only if ``abtest.promote_winner``; otherwise traffic returns to baseline.
- shadow: baseline answers everything, the candidate gets ``shadow_percent`` mirrored
  requests, judged for ``step_duration_s``; then promoted if ``promote_on_success``,
  else the mirror is removed.
- Gates: confirm-rollout and pre-rollout before starting, confirm-traffic-increase
  before each weight increase, confirm-promotion before promoting. A failed confirm-*
  gate halts (the controller asks again, at most every 5 s); a failed pre-rollout gate rolls back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from router.analysis.verdict import Phase as VerdictPhase
from router.rollout.actions import (
    COMMAND_PHASES,
    Action,
    CallGate,
    Command,
    CommandKind,
    Notify,
    PromoteAlias,
    RecordDecision,
    RestoreAlias,
    SetTraffic,
)
from router.rollout.errors import CommandError, SpecError, TransitionError
from router.rollout.phases import TERMINAL, RolloutPhase, check_transition
from router.rollout.spec import Analysis, Pause, RolloutSpec, SetWeight
from router.rollout.status import RolloutStatus

if TYPE_CHECKING:
    from router.analysis.spec import AnalysisSpec
    from router.analysis.verdict import Verdict

__all__ = [
    "RolloutStatus",
    "analysis_in_force",
    "desired_traffic",
    "window_seconds",
    "fail",
    "step",
    "traffic_for",
]

_P = RolloutPhase
_ENDINGS = frozenset({_P.ROLLED_BACK, _P.ABORTED, _P.FAILED})
_BAD = frozenset({VerdictPhase.FAILED, VerdictPhase.ERROR})
# A verdict as step() uses it: its phase and its reason.
_Seen = tuple[VerdictPhase, str]


def step(
    status: RolloutStatus,
    spec: RolloutSpec,
    verdict: Verdict | None,
    now: float,
    *,
    command: Command | None = None,
    gate_ok: bool | None = None,
) -> tuple[RolloutStatus, list[Action]]:
    """Advance the rollout as far as the inputs allow; return the new status and actions.

    ``verdict`` judges the current window; ``gate_ok`` is the outcome of the webhooks of
    ``status.pending_gate`` (None: not run). A ``command`` is applied first (CommandError
    if it does not apply in the current phase); the verdict is then not used, since it
    judged the status before the command. After ``retry`` the status is a fresh Pending.
    """
    run = _Run(status, spec, now, verdict)
    if command is not None:
        run.command(command)
        if command.kind is not CommandKind.RETRY:
            # Retry stops at Pending: the controller resolves the baseline again first.
            run.drive(None, None)
    else:
        run.drive(verdict, gate_ok)
    return run.finish()


def fail(
    status: RolloutStatus, spec: RolloutSpec, reason: str, now: float
) -> tuple[RolloutStatus, list[Action]]:
    """The controller could not act (e.g. the candidate does not load): go to Failed,
    with the actions that put traffic (and the alias) back on the baseline."""
    if status.phase in TERMINAL:
        raise TransitionError(f"{status.phase} -> Failed: not allowed; the rollout has ended")
    run = _Run(status, spec, now, None)
    run.rollback(_P.FAILED, reason)
    return run.finish()


def desired_traffic(status: RolloutStatus, spec: RolloutSpec) -> SetTraffic | None:
    """The traffic an active rollout holds in place (for reconciling the routing policy
    each tick); None when it holds none (Pending, or finished)."""
    if status.phase is _P.PENDING or status.phase in TERMINAL:
        return None
    return _traffic(status, spec)


def traffic_for(status: RolloutStatus, spec: RolloutSpec) -> SetTraffic:
    """The traffic a status implies in every phase, finished ones included (their end
    state). The controller uses it to put traffic back to a stored status when its own
    action lost a race with another one."""
    return _traffic(status, spec)


def window_seconds(status: RolloutStatus, spec: RolloutSpec) -> float:
    """How long the current analysis window lasts (when a passing verdict may count)."""
    if spec.strategy == "canary" and status.step_index < len(spec.steps):
        current = spec.steps[status.step_index]
        if isinstance(current, Analysis):
            return float(current.duration_s)
        if isinstance(current, Pause) and current.pause.duration_s is not None:
            return float(current.pause.duration_s)
    if spec.strategy == "bluegreen" and spec.bluegreen is not None:
        if status.phase is _P.POST_PROMOTION:
            return float(spec.bluegreen.post_promotion_s)
        return float(spec.bluegreen.pre_promotion_s)
    if spec.strategy == "abtest" and spec.abtest is not None:
        # decide_after_s, not `min_duration_s or max_duration_s`: a min_duration_s of 0
        # means "decide at the first decisive verdict", not "run the full test".
        return float(spec.abtest.decide_after_s)
    return float(spec.step_duration_s)


def analysis_in_force(status: RolloutStatus, spec: RolloutSpec) -> AnalysisSpec | None:
    """What the controller should judge with now (None: nothing to judge)."""
    if status.phase is _P.PENDING or status.phase in TERMINAL:
        return None
    if spec.strategy == "canary" and status.step_index < len(spec.steps):
        current = spec.steps[status.step_index]
        if isinstance(current, Analysis) and current.analysis.spec is not None:
            return current.analysis.spec
    return spec.analysis


def _baseline(spec: RolloutSpec) -> str:
    if spec.baseline is None:
        raise SpecError(
            "baseline: not resolved; call spec.resolve(champion) when the rollout starts"
        )
    return spec.baseline


def _traffic(status: RolloutStatus, spec: RolloutSpec) -> SetTraffic:
    """The traffic a status implies, in every phase (terminal ones: the end state)."""
    baseline, candidate = _baseline(spec), spec.candidate
    sticky = spec.sticky.key()
    only_baseline = SetTraffic(((baseline, 100),), sticky=sticky)
    if status.phase is _P.PENDING or status.phase in _ENDINGS:
        return only_baseline
    if status.promoted:
        return SetTraffic(((candidate, 100),), sticky=sticky, follow_champion=True)
    if status.phase is _P.SUCCEEDED or (spec.strategy == "bluegreen" and status.weight == 100):
        if status.weight == 100:
            return SetTraffic(((candidate, 100),), sticky=sticky)
        return only_baseline
    rules = tuple(rule.rule(candidate) for rule in spec.match)
    if spec.strategy in ("canary", "abtest"):
        routes = ((baseline, 100 - status.weight), (candidate, status.weight))
        return SetTraffic(routes, match=rules, sticky=sticky)
    if spec.strategy == "bluegreen":
        assert spec.bluegreen is not None
        preview = spec.bluegreen.preview_match
        if preview is not None:
            rules += (preview.rule(candidate),)
        mirror = spec.bluegreen.mirror_percent
        shadow = None if mirror is None else (candidate, mirror)
        return SetTraffic(((baseline, 100),), match=rules, shadow=shadow, sticky=sticky)
    assert spec.shadow_percent is not None
    return SetTraffic(((baseline, 100),), shadow=(candidate, spec.shadow_percent), sticky=sticky)


def _promotes(spec: RolloutSpec) -> bool:
    """Whether passing the rollout moves the champion alias (a human promote always does)."""
    return spec.abtest.promote_winner if spec.abtest is not None else spec.promote_on_success


_ALREADY_SWITCHED = (
    "already switched to 100% and in the post-promotion window; use promote_full to end it now"
)


def _refusal(kind: CommandKind, phase: RolloutPhase) -> str:
    if phase in TERMINAL:
        hint = "retry it" if phase in _ENDINGS else "start a new rollout"
        return f"{kind}: the rollout is {phase} (finished); {hint}"
    if kind in (CommandKind.APPROVE, CommandKind.RESUME):
        return f"{kind}: the rollout is {phase}, not Paused; nothing waits for it"
    if kind is CommandKind.RETRY:
        return f"retry: the rollout is {phase} (still active); abort it first"
    if kind is CommandKind.PROMOTE and phase is _P.POST_PROMOTION:
        return f"promote: {_ALREADY_SWITCHED}"
    if kind is CommandKind.PAUSE:
        return f"pause: the rollout is {phase}; only a running rollout can be paused"
    return f"{kind}: not possible while {phase}"


class _Run:
    """One step() call: the status as it moves, and what it collected on the way."""

    def __init__(
        self, status: RolloutStatus, spec: RolloutSpec, now: float, verdict: Verdict | None
    ) -> None:
        self.start = status
        self.s = status
        self.spec = spec
        self.now = now
        self.baseline = _baseline(spec)
        self.verdict_name = None if verdict is None else VerdictPhase(verdict.phase).value
        self.actions: list[Action] = []
        self.notify: list[str] = []
        self.reasons: list[str] = []

    # -- moving ------------------------------------------------------------------------

    def to(self, phase: RolloutPhase, reason: str, **changes: Any) -> None:
        if phase is not self.s.phase:
            check_transition(self.s.phase, phase)
            changes.setdefault("pending_gate", None)
            changes.setdefault("gate_since", None)
            if phase is not _P.PAUSED:
                changes.setdefault("paused_reason", None)
        self.s = replace(self.s, phase=phase, message=reason, **changes)
        self.reasons.append(reason)

    def advance(self, reason: str) -> None:
        self.s = replace(
            self.s,
            step_index=self.s.step_index + 1,
            step_started_at=self.now,
            analysis_state={},
            pending_gate=None,
            gate_since=None,
            message=reason,
        )
        self.reasons.append(reason)

    def note(self, reason: str) -> None:
        if self.s.message != reason:
            self.s = replace(self.s, message=reason)
            self.reasons.append(reason)

    def pause(self, reason: str, where: str = "") -> None:
        self.to(_P.PAUSED, f"{where}: {reason}" if where else reason, paused_reason=reason)

    def rollback(self, phase: RolloutPhase, reason: str) -> None:
        restore = self.s.promoted
        self.to(phase, reason, weight=0, promoted=False, rollback_reason=reason)
        if restore:
            self.actions.append(RestoreAlias(self.baseline, reason))
        self.notify.append("rollback")

    def succeed(self, reason: str, **changes: Any) -> None:
        self.to(_P.SUCCEEDED, reason, **changes)
        self.notify.append("post-rollout")

    def in_post_window(self) -> bool:
        return (
            self.spec.strategy == "bluegreen"
            and self.s.step_index == 1
            and self.s.phase in (_P.POST_PROMOTION, _P.PAUSED)
        )

    def promote(self, move_alias: bool, skip_post: bool, reason: str) -> None:
        post = self.in_post_window()
        if not post and self.s.phase is not _P.PROMOTING:
            self.to(_P.PROMOTING, reason, step_started_at=self.now)
        if move_alias and not self.s.promoted:
            self.actions.append(PromoteAlias(self.spec.candidate, self.baseline, reason))
        self.s = replace(self.s, weight=100, promoted=self.s.promoted or move_alias)
        bluegreen = self.spec.bluegreen
        if bluegreen is not None and bluegreen.post_promotion_s > 0 and not (skip_post or post):
            self.to(
                _P.POST_PROMOTION,
                f"switched 100% to {self.spec.candidate}; judging it for "
                f"{bluegreen.post_promotion_s:g} s",
                step_index=1,
                step_started_at=self.now,
                analysis_state={},
            )
        else:
            what = "promoted" if self.s.promoted else "at 100% (alias not moved)"
            self.succeed(f"{self.spec.candidate} {what}: {reason}")

    def end_window(self, reason: str) -> bool:
        """An A/B or shadow window passed: promote, or hand traffic back to baseline."""
        spec = self.spec
        if _promotes(spec):
            self.to(_P.PROMOTING, reason, step_started_at=self.now)
            return True
        self.succeed(f"{reason}; not promoted, {self.baseline} keeps the traffic", weight=0)
        return False

    # -- gates and judging ----------------------------------------------------------------

    def gates(self, kinds: tuple[str, ...], gate_ok: bool | None) -> str:
        """Return pass, wait or fail (a failed pre-rollout gate) for these gates in order."""
        todo = [kind for kind in kinds if self.spec.has_gate(kind)]
        if self.s.pending_gate in todo:
            todo = todo[todo.index(self.s.pending_gate) :]
        for kind in todo:
            s = self.s
            if s.pending_gate != kind:
                self.s = replace(s, pending_gate=kind, gate_since=self.now)
                self.note(f"waiting for the {kind} gate")
                self.actions.append(CallGate(kind))
                return "wait"
            # An answer to a gate asked at `now` cannot exist yet (keeps step() idempotent).
            if gate_ok is None or s.gate_since is None or not self.now > s.gate_since:
                return "wait"
            if not gate_ok:
                if kind == "pre-rollout":
                    return "fail"
                self.note(f"halted: the {kind} gate did not pass; asking again")
                return "wait"
            self.s = replace(s, pending_gate=None, gate_since=None)
            self.reasons.append(f"{kind} gate passed")
        return "pass"

    def judge(self, verdict: _Seen | None, duration: float, judged: bool) -> str:
        """Return pass, wait or stop (paused) for a window of ``duration`` seconds."""
        elapsed = self.now - self.s.step_started_at
        if not judged:
            return "pass" if elapsed >= duration else "wait"
        phase, why = verdict if verdict is not None else (VerdictPhase.PENDING, "")
        if phase is VerdictPhase.INCONCLUSIVE:
            self.pause(f"analysis inconclusive: {why}" if why else "analysis inconclusive")
            return "stop"
        if phase is VerdictPhase.SUCCESSFUL:
            return "pass" if elapsed >= duration else "wait"
        if elapsed >= 2 * duration:
            self.pause(
                f"no data: no verdict after {elapsed:g} s (2 x {duration:g} s); approve to "
                "go on, resume to judge again, abort to roll back"
            )
            return "stop"
        return "wait"

    # -- the loop ---------------------------------------------------------------------------

    def drive(self, verdict: Verdict | None, gate_ok: bool | None) -> None:
        raw = None if verdict is None else (VerdictPhase(verdict.phase), verdict.reason)
        # Each pass moves a phase or a step forward, or returns.
        for _ in range(len(self.spec.steps) + 8):
            s = self.s
            fresh = raw if raw is not None and self.now > s.step_started_at else None
            if s.phase in TERMINAL:
                return
            if s.phase is _P.PENDING:
                if not self.begin(gate_ok):
                    return
                continue
            if fresh is not None and fresh[0] in _BAD:
                why = f": {fresh[1]}" if fresh[1] else ""
                self.rollback(_P.ROLLED_BACK, f"analysis {fresh[0]}{why}")
                return
            if s.phase is _P.PAUSED:
                return
            if s.phase is _P.PROMOTING:
                if self.gates(("confirm-promotion",), gate_ok) != "pass":
                    return
                self.promote(
                    _promotes(self.spec),
                    False,
                    "confirmed" if self.spec.has_gate("confirm-promotion") else "steps passed",
                )
                continue
            if s.phase is _P.POST_PROMOTION:
                assert self.spec.bluegreen is not None
                window = self.spec.bluegreen.post_promotion_s
                if self.judge(fresh, window, self.spec.analysis is not None) == "pass":
                    self.succeed(f"post-promotion analysis passed; {self.spec.candidate} stays")
                return
            if not self.progress(fresh, gate_ok):
                return

    def begin(self, gate_ok: bool | None) -> bool:
        outcome = self.gates(("confirm-rollout", "pre-rollout"), gate_ok)
        if outcome == "fail":
            self.rollback(_P.ROLLED_BACK, "the pre-rollout gate did not pass")
        if outcome != "pass":
            return False
        weight = self.spec.abtest.split if self.spec.abtest else 0
        self.to(
            _P.PROGRESSING,
            f"started: {self.spec.strategy} {self.baseline} -> {self.spec.candidate}",
            step_index=0,
            weight=weight,
            step_started_at=self.now,
            started_at=self.now,
            analysis_state={},
        )
        return True

    def progress(self, fresh: _Seen | None, gate_ok: bool | None) -> bool:
        """One move inside Progressing; True to keep going in this call."""
        spec, elapsed = self.spec, self.now - self.s.step_started_at
        judged = spec.analysis is not None
        if spec.strategy == "canary":
            return self.canary(fresh, gate_ok)
        if spec.strategy == "bluegreen":
            assert spec.bluegreen is not None
            if self.judge(fresh, spec.bluegreen.pre_promotion_s, judged) != "pass":
                return False
            self.to(_P.PROMOTING, "pre-promotion analysis passed", step_started_at=self.now)
            return True
        if spec.strategy == "shadow":
            if self.judge(fresh, spec.step_duration_s, judged) != "pass":
                return False
            return self.end_window(f"shadow analysis of {spec.candidate} passed")
        ab = spec.abtest
        assert ab is not None
        phase = fresh[0] if fresh is not None else VerdictPhase.PENDING
        if (not judged and elapsed >= ab.max_duration_s) or (
            judged and phase is VerdictPhase.SUCCESSFUL and elapsed >= ab.decide_after_s
        ):
            return self.end_window(f"A/B test: {spec.candidate} wins")
        if judged and elapsed >= ab.max_duration_s:
            if phase is VerdictPhase.INCONCLUSIVE:
                self.pause(f"A/B test: no decision after {ab.max_duration_s:g} s")
            else:
                self.pause(f"no data: no verdict after {ab.max_duration_s:g} s of A/B test")
        return False

    def canary(self, fresh: _Seen | None, gate_ok: bool | None) -> bool:
        steps, i = self.spec.steps, self.s.step_index
        n = len(steps)
        if i >= n:
            self.to(_P.PROMOTING, f"all {n} steps done", step_started_at=self.now)
            return True
        current, where = steps[i], f"step {i + 1}/{n}"
        if isinstance(current, SetWeight):
            weight = current.set_weight
            if weight > self.s.weight:
                if self.gates(("confirm-traffic-increase",), gate_ok) != "pass":
                    return False
            self.s = replace(self.s, weight=weight)
            self.advance(f"{where}: weight {weight}%")
            return True
        if isinstance(current, Pause):
            duration = current.pause.duration_s
            if duration is None:
                self.pause("waiting for approval", where)
                return False
            if self.now - self.s.step_started_at < duration:
                return False
            self.advance(f"{where}: pause of {duration:g} s done")
            return True
        judged = current.analysis.spec is not None or self.spec.analysis is not None
        if judged and self.s.weight >= 100:
            # At 100% the baseline serves nobody: there is nothing to compare, and the
            # steps before this one were judged. Reaching 100 is the promotion.
            self.advance(f"{where}: at 100% there is no baseline traffic to compare")
            return True
        if self.judge(fresh, current.duration_s, judged) != "pass":
            return False
        self.advance(f"{where}: analysis passed")
        return True

    # -- commands -----------------------------------------------------------------------

    def command(self, command: Command) -> None:
        kind, s = command.kind, self.s
        if s.phase not in COMMAND_PHASES[kind]:
            raise CommandError(_refusal(kind, s.phase))
        who = f" by {command.by}" if command.by else ""
        why = f": {command.reason}" if command.reason else ""
        said = f"{kind}{who}{why}"
        if kind is CommandKind.APPROVE:
            self.approve(said)
        elif kind is CommandKind.PAUSE:
            self.pause(f"paused{who}{why}")
        elif kind is CommandKind.RESUME:
            self.resume(said)
        elif kind is CommandKind.PROMOTE:
            if self.in_post_window():
                raise CommandError(f"promote: {_ALREADY_SWITCHED}")
            self.promote(True, False, said)
        elif kind is CommandKind.PROMOTE_FULL:
            self.promote(True, True, said)
        elif kind is CommandKind.ABORT:
            self.rollback(_P.ABORTED, f"aborted{who}{why}")
        else:
            check_transition(s.phase, _P.PENDING)
            self.s = RolloutStatus.new(self.now, message=said)
            self.reasons.append(said)

    def approve(self, reason: str) -> None:
        s, spec = self.s, self.spec
        self.s = replace(s, approved_steps=(*s.approved_steps, s.step_index))
        if spec.strategy == "canary":
            if s.step_index < len(spec.steps):
                self.to(_P.PROGRESSING, reason)
                self.advance(f"step {s.step_index + 1}/{len(spec.steps)}: approved")
            else:
                self.to(_P.PROMOTING, reason, step_started_at=self.now)
        elif spec.strategy == "bluegreen":
            if self.in_post_window():
                self.succeed(f"post-promotion approved; {spec.candidate} stays: {reason}")
            else:
                self.to(_P.PROMOTING, reason, step_started_at=self.now)
        else:
            self.end_window(reason)

    def resume(self, reason: str) -> None:
        steps, i = self.spec.steps, self.s.step_index
        current = steps[i] if i < len(steps) else None
        if isinstance(current, Pause) and current.pause.duration_s is None:
            # Re-running a wait-for-approval step would only wait again.
            self.approve(reason)
            return
        target = _P.POST_PROMOTION if self.in_post_window() else _P.PROGRESSING
        self.to(target, reason, step_started_at=self.now, analysis_state={})

    # -- the result ---------------------------------------------------------------------

    def finish(self) -> tuple[RolloutStatus, list[Action]]:
        old, new = self.start, self.s
        if new == old and not self.actions and not self.notify:
            return old, []
        new = replace(new, updated_at=self.now)
        before, after = _traffic(old, self.spec), _traffic(new, self.spec)
        traffic = [] if before.same_traffic(after) else [replace(after, reason=new.message)]
        payload = {
            "model": self.spec.model,
            "strategy": self.spec.strategy,
            "baseline": self.baseline,
            "candidate": self.spec.candidate,
            "phase": new.phase.value,
            "step_index": new.step_index,
            "weight": new.weight,
            "promoted": new.promoted,
            "message": new.message,
        }
        promotions = [a for a in self.actions if isinstance(a, PromoteAlias)]
        others = [a for a in self.actions if not isinstance(a, PromoteAlias)]
        notices: list[Action] = [Notify(kind, payload) for kind in self.notify]
        notices.append(Notify("event", payload))
        decision = RecordDecision(
            reason="; ".join(self.reasons) or new.message,
            phase_before=old.phase.value,
            phase_after=new.phase.value,
            step_index=new.step_index,
            verdict=self.verdict_name,
        )
        return new, [*promotions, *traffic, *others, *notices, decision]
