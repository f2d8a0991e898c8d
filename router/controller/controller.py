"""The rollout controller: a level-triggered tick that measures, judges, steps, acts.

Each tick (about once a second, only while holding the lease) every active rollout is
advanced: measurements of candidate and baseline over the current window go to the
pure judge, the verdict to the pure state machine, and the resulting actions are
carried out (idempotently) before the new status is saved with a compare-and-swap.
Every judged tick leaves a decision row with the verdict and its evidence.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitors.alerts import AlertsConfig
from router.analysis import JudgeState, Verdict, judge
from router.analysis.providers import ProviderContext, make_providers, measure_all
from router.analysis.providers.base import Window
from router.controller.errors import RolloutConflict
from router.controller.executor import Executor
from router.controller.lease import Lease
from router.controller.store import (
    active_rollouts,
    get_rollout,
    prune_decisions,
    record_decision,
    record_event,
    save_status,
)
from router.controller.webhooks import WebhookCaller
from router.rollout import (
    Command,
    Notify,
    PromoteAlias,
    RecordDecision,
    RestoreAlias,
    RolloutPhase,
    RolloutSpec,
    RolloutStatus,
    SetTraffic,
    analysis_in_force,
    desired_traffic,
    step,
    traffic_for,
    window_seconds,
)

_log = logging.getLogger(__name__)

# How long one advance may hold its rollout's acting lease (acting and saving take well
# under a second); a process killed while holding it blocks that rollout this long.
ACTING_TTL_S = 30.0


@dataclass(frozen=True)
class TickResult:
    rollout_id: int
    phase_before: str
    phase_after: str
    verdict: str | None
    done: list[str] = field(default_factory=list)


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


class Controller:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        providers: ProviderContext,
        webhooks: WebhookCaller,
        *,
        lease: Lease | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        actor: str = "controller",
        alerts: AlertsConfig | None = None,
        gate_retry_s: float = 5.0,
        decision_retention_s: float = 7 * 86400.0,
    ) -> None:
        self.decision_retention_s = decision_retention_s
        self._last_prune = float("-inf")
        self.gate_retry_s = gate_retry_s
        # rollout id -> (gate, when it last refused): see _gate_due
        self._gate_refused: dict[int, tuple[str, float]] = {}
        self.sessions = sessions
        # With a config, every rollback also raises an alert through the outbox, in the
        # transaction that records it (so neither exists without the other).
        self.alerts = alerts
        self.executor = executor
        self.providers = providers
        self.webhooks = webhooks
        self.lease = lease
        self.interval_s = interval_s
        self.clock = clock
        self.actor = actor
        self.active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="turnout-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.lease is not None and self.active:
            try:
                self.lease.release()
            except Exception:  # the lease simply expires
                _log.warning("could not release the controller lease")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the DB went away, say: try again next tick
                _log.exception("controller tick failed")
            self._stop.wait(self.interval_s)

    # -- ticks --------------------------------------------------------------------------

    def tick(self) -> list[TickResult]:
        if self.lease is not None:
            self.active = self.lease.acquire()
            if not self.active:
                return []
        with self.sessions() as session:
            ids = [row.id for row in active_rollouts(session)]
        self._maybe_prune()
        results = []
        for rollout_id in ids:
            try:
                results.append(self.advance(rollout_id))
            except RolloutConflict:
                continue  # a human acted on it meanwhile; the next tick sees the new status
            except Exception:
                _log.exception("rollout #%s: tick failed; retrying next tick", rollout_id)
        return results

    def _maybe_prune(self) -> None:
        """Hourly: thin the decision log of rollouts ended ``decision_retention_s`` ago."""
        now = self.clock()
        if now - self._last_prune < 3600:
            return
        self._last_prune = now
        try:
            with self.sessions.begin() as session:
                prune_decisions(session, _ts(now - self.decision_retention_s))
        except Exception:
            _log.exception("pruning old rollout decisions failed; retrying in an hour")

    def advance(self, rollout_id: int, command: Command | None = None) -> TickResult:
        """One step of one rollout (or one human command), carried out and saved."""
        now = self.clock()
        with self.sessions() as session:
            row = get_rollout(session, rollout_id)
            spec = RolloutSpec.from_dict(row.spec)
            status = RolloutStatus.from_dict(row.status)
            generation = row.generation
        before = status
        verdict: Verdict | None = None
        if command is None:
            verdict, status = self._judge(rollout_id, spec, status, now)
            gate_ok = self._gate_due(rollout_id, spec, status, now)
            status, actions = step(status, spec, verdict, now, gate_ok=gate_ok)
        else:
            status, actions = step(status, spec, None, now, command=command)
        with self._exclusive(rollout_id, generation):
            done = self._carry_out(
                rollout_id, generation, before, status, spec, actions, verdict, command
            )
        for action in actions:
            if isinstance(action, Notify):
                self.webhooks.notify(
                    spec.webhooks_of(action.kind), self._payload(rollout_id, spec, status, action)
                )
        return TickResult(
            rollout_id,
            str(before.phase),
            str(status.phase),
            None if verdict is None else str(verdict.phase),
            done,
        )

    @contextmanager
    def _exclusive(self, rollout_id: int, generation: int) -> Iterator[None]:
        """Carry out actions only while no one else does, and only on the status read.

        The compare-and-swap on `generation` alone would let two actions that read the
        same status (approve and abort typed at once, or a command and a tick) both move
        the alias and the traffic before one of them fails to save: the loser's changes
        would outlive the status they were made for (an Aborted rollout still serving
        the candidate). A short per-rollout lease makes acting-and-saving one step; an
        action that finds the rollout changed since it read it does nothing at all.
        """
        mutex = Lease(
            self.sessions,
            name=f"rollout-{rollout_id}",
            holder=f"{self.actor}:{uuid.uuid4().hex}",
            ttl_s=ACTING_TTL_S,
            clock=lambda: _ts(self.clock()),
        )
        if not mutex.acquire():
            raise RolloutConflict(
                f"rollout #{rollout_id} is being changed by another action; nothing was "
                "done, try again"
            )
        try:
            with self.sessions() as session:
                if get_rollout(session, rollout_id).generation != generation:
                    raise RolloutConflict(
                        f"rollout #{rollout_id} was changed by another action meanwhile; "
                        "nothing was done, look at its status and try again"
                    )
            yield
        finally:
            try:
                mutex.release()
            except Exception:  # it expires after ACTING_TTL_S
                _log.warning("rollout #%s: could not release its acting lease", rollout_id)

    def _carry_out(
        self,
        rollout_id: int,
        generation: int,
        before: RolloutStatus,
        status: RolloutStatus,
        spec: RolloutSpec,
        actions: list[Any],
        verdict: Verdict | None,
        command: Command | None,
    ) -> list[str]:
        """Execute ACTIONS and save STATUS; what was done, in words."""
        # One action at a time, remembering which ones changed something: if this call
        # fails halfway or cannot save, exactly those are undone (see _undo).
        done: list[str] = []
        changed: list[Any] = []
        try:
            for action in actions:
                did = self.executor.apply(rollout_id, spec, [action])
                if did:
                    done += did
                    changed.append(action)
            if not any(isinstance(a, SetTraffic) for a in actions):
                # Level-triggered: whatever happened before, traffic matches the status.
                wanted = desired_traffic(status, spec)
                if wanted is not None and self.executor.set_traffic(rollout_id, spec, wanted):
                    done.append("traffic reconciled")
                    changed.append(wanted)
            self._save(
                rollout_id, generation, before, status, spec, actions, verdict, command, done
            )
        except Exception:
            # We failed halfway (a concurrent `turnout traffic set` or `turnout promote`,
            # the DB) or could not save: the alias move or traffic change must not
            # outlive the status it was made for (a later abort would not restore an
            # alias the stored status does not know was moved). Put both back to what
            # the stored status says, then report the failure.
            if changed:
                self._undo(rollout_id, spec, changed)
            raise
        return done

    def _undo(self, rollout_id: int, spec: RolloutSpec, changed: list[Any]) -> None:
        """After a failed advance: make what CHANGED (alias moves, traffic) match the
        stored status again."""
        try:
            with self.sessions() as session:
                stored = RolloutStatus.from_dict(get_rollout(session, rollout_id).status)
            reason = f"rollout #{rollout_id}: undoing an action that failed or lost a race"
            fix: list[Any] = []
            assert spec.baseline is not None  # resolved when the rollout was started
            if any(isinstance(a, PromoteAlias) for a in changed) and not stored.promoted:
                fix.append(RestoreAlias(spec.baseline, reason))
            elif any(isinstance(a, RestoreAlias) for a in changed) and stored.promoted:
                fix.append(PromoteAlias(spec.candidate, spec.baseline, reason))
            fix.append(replace(traffic_for(stored, spec), reason=reason))
            self.executor.apply(rollout_id, spec, fix)
        except Exception:  # the original failure is what the caller must hear about
            _log.exception("rollout #%s: could not undo a failed action", rollout_id)

    def _judge(
        self, rollout_id: int, spec: RolloutSpec, status: RolloutStatus, now: float
    ) -> tuple[Verdict | None, RolloutStatus]:
        analysis = analysis_in_force(status, spec)
        if analysis is None:
            return None, status
        window = Window(
            model=spec.model,
            candidate=spec.candidate,
            baseline=spec.baseline,
            since=_ts(status.step_started_at),
            until=_ts(now),
        )
        if status.phase is RolloutPhase.POST_PROMOTION:
            # After the switch the baseline serves nothing: compare the candidate with
            # the baseline's traffic over as long a span just before the switch.
            switched = status.step_started_at
            span = max(now - switched, 1.0)
            window = replace(
                window, baseline_since=_ts(switched - span), baseline_until=_ts(switched)
            )
        measured = measure_all(analysis, window, make_providers(analysis, self.providers))
        state = (
            JudgeState.from_dict(status.analysis_state) if status.analysis_state else JudgeState()
        )
        verdict, state = judge(
            analysis,
            None,
            None,
            state,
            deadline_passed=now - status.step_started_at >= window_seconds(status, spec),
            now=now,
            measurements=measured.measurements,
            provider_errors=measured.errors,
        )
        return verdict, replace(status, analysis_state=state.to_dict())

    def _gate_due(
        self, rollout_id: int, spec: RolloutSpec, status: RolloutStatus, now: float
    ) -> bool | None:
        """Ask the pending gate, at most once per ``gate_retry_s`` after a refusal.

        A halted gate is asked again until it passes; asking every tick would hammer a
        receiver that said no, so a refused gate waits (None: not asked this tick).
        """
        if not status.pending_gate:
            self._gate_refused.pop(rollout_id, None)
            return None
        refused = self._gate_refused.get(rollout_id)
        if refused is not None and refused[0] == status.pending_gate:
            if now - refused[1] < self.gate_retry_s:
                return None
        ok = self._gate(rollout_id, spec, status)
        if ok:
            self._gate_refused.pop(rollout_id, None)
        else:
            self._gate_refused[rollout_id] = (status.pending_gate, now)
        return ok

    def _gate(self, rollout_id: int, spec: RolloutSpec, status: RolloutStatus) -> bool:
        kind = status.pending_gate or ""
        ok, notes = self.webhooks.gate(
            spec.webhooks_of(kind),
            {
                "rollout_id": rollout_id,
                "model": spec.model,
                "candidate": spec.candidate,
                "baseline": spec.baseline,
                "gate": kind,
                "phase": str(status.phase),
                "weight": status.weight,
            },
        )
        if not ok:
            _log.info("rollout #%s: gate %s not passed: %s", rollout_id, kind, "; ".join(notes))
        return ok

    def _save(
        self,
        rollout_id: int,
        generation: int,
        before: RolloutStatus,
        after: RolloutStatus,
        spec: RolloutSpec,
        actions: list[Any],
        verdict: Verdict | None,
        command: Command | None,
        done: list[str],
    ) -> None:
        evidence = {} if verdict is None else verdict.to_dict()
        with self.sessions.begin() as session:
            row = get_rollout(session, rollout_id)
            save_status(session, row, after, expected_generation=generation)
            recorded = False
            for action in actions:
                if isinstance(action, RecordDecision):
                    record_decision(
                        session,
                        rollout_id,
                        at=after.updated_at or self.clock(),
                        step_index=action.step_index,
                        phase_before=action.phase_before,
                        phase_after=action.phase_after,
                        verdict=action.verdict or ("command" if command else "-"),
                        measurements={**evidence, "actions_done": done},
                        reason=action.reason,
                    )
                    recorded = True
                elif isinstance(action, Notify):
                    record_event(
                        session,
                        row,
                        f"rollout.{action.kind}",
                        actor=command.by if command and command.by else self.actor,
                        reason=command.reason if command and command.reason else None,
                        payload=dict(action.payload),
                    )
            if verdict is not None and not recorded:
                record_decision(
                    session,
                    rollout_id,
                    at=self.clock(),
                    step_index=after.step_index,
                    phase_before=str(before.phase),
                    phase_after=str(after.phase),
                    verdict=str(verdict.phase),
                    measurements={**evidence, "actions_done": done},
                    reason=verdict.reason,
                )
            if (
                self.alerts is not None
                and after.phase is RolloutPhase.ROLLED_BACK
                and before.phase is not RolloutPhase.ROLLED_BACK
            ):
                self._raise_rollback_alert(session, rollout_id, spec, after, command)

    def _raise_rollback_alert(
        self,
        session: Session,
        rollout_id: int,
        spec: RolloutSpec,
        status: RolloutStatus,
        command: Command | None,
    ) -> None:
        from monitors.alerts import AlertKind, NewAlert, Severity, raise_alert

        assert self.alerts is not None
        by = f" by {command.by}" if command is not None and command.by else ""
        reason = status.rollback_reason or status.message
        raise_alert(
            session,
            self.alerts,
            NewAlert(
                kind=AlertKind.ROLLOUT_ROLLBACK,
                severity=Severity.CRITICAL if command is None else Severity.WARN,
                model=spec.model,
                version=spec.candidate,
                title=f"rollout #{rollout_id} of {spec.model} v{spec.candidate} rolled back{by}",
                summary=reason,
                report_url=f"/rollouts/{rollout_id}",
                details={
                    "rollout_id": rollout_id,
                    "strategy": spec.strategy,
                    "baseline": spec.baseline,
                    "weight": status.weight,
                    "step_index": status.step_index,
                    "reason": reason,
                },
            ),
        )

    def _payload(
        self, rollout_id: int, spec: RolloutSpec, status: RolloutStatus, action: Notify
    ) -> dict[str, Any]:
        return {
            "rollout_id": rollout_id,
            "model": spec.model,
            "candidate": spec.candidate,
            "baseline": spec.baseline,
            "kind": action.kind,
            "phase": str(status.phase),
            "weight": status.weight,
            "message": status.message,
            **dict(action.payload),
        }
