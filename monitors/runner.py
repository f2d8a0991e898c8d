"""The drift monitor: evaluate every served version's complete windows, store, alert.

One tick:

1. take the monitor lease (several monitors may run; one works, the others wait);
2. list the (model, version) pairs with telemetry in the last ``lookback_s``;
3. for each, cut the complete windows after the last stored report
   (``monitors.windows``), merge every replica's sketches for each, evaluate them
   against the version's reference profile (``monitors.check.evaluate_window``: the
   statistics and the verdict policy, pure), and store a drift report;
4. when the verdict has drifted for ``hysteresis`` consecutive windows, raise an
   alert through the outbox in the same transaction as the report, so a stored
   verdict and its alert are never separated by a crash.

Hysteresis is read back from the stored reports, not kept in memory: a restarted
monitor continues the count where the last one stopped. Nothing raised while
evaluating one version stops the others or the loop: it is logged and kept in
``last_errors`` (shown by ``turnout monitor --once``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models.telemetry import DriftReport
from monitors.errors import MonitorError, ProfileError
from monitors.profile_schema import ReferenceProfile, profile_from_json
from monitors.store import StoredReport, prune_reports, save_report
from monitors.windows import (
    Window,
    WindowData,
    WindowSpec,
    active_versions,
    due_windows,
    last_window_end,
    merge_window,
)

__all__ = ["AlertHook", "DriftMonitor", "Evaluator", "MonitorConfig", "ProfileSource"]

_log = logging.getLogger(__name__)

DRIFTING = frozenset({"DRIFT"})


class ProfileSource(Protocol):
    def reference_profile(self, name: str, version: str) -> str | None: ...


# (profile or None, merged window) -> (verdict OK / WARN / DRIFT / NO_DATA, JSON document)
Evaluator = Callable[[ReferenceProfile | None, WindowData], tuple[str, dict[str, Any]]]


# (session, model, version, verdict document, report) -> alert id or None
AlertHook = Callable[[Session, str, str, Mapping[str, Any], StoredReport], str | None]


class _Lease(Protocol):
    def acquire(self) -> bool: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class MonitorConfig:
    spec: WindowSpec = field(default_factory=WindowSpec)
    # Consecutive drifting windows before an alert (1: alert on the first).
    hysteresis: int = 2
    lookback_s: float = 3600.0
    interval_s: float = 10.0
    retention_days: float = 30.0

    def __post_init__(self) -> None:
        if self.hysteresis < 1:
            raise ValueError(f"hysteresis must be >= 1, got {self.hysteresis}")
        if self.interval_s <= 0 or self.lookback_s <= 0 or self.retention_days <= 0:
            raise ValueError("interval_s, lookback_s and retention_days must be > 0")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DriftMonitor:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        profiles: ProfileSource,
        evaluate: Evaluator,
        *,
        config: MonitorConfig | None = None,
        alert: AlertHook | None = None,
        quality_alert: Callable[[Session, str, str, Mapping[str, Any], StoredReport], Any]
        | None = None,
        lease: _Lease | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sessions = sessions
        self.profiles = profiles
        self.evaluate = evaluate
        self.config = config or MonitorConfig()
        self.alert = alert
        self.quality_alert = quality_alert
        self.lease = lease
        self.clock = clock
        self.last_errors: dict[tuple[str, str], str] = {}
        # For /metrics: the newest stored report per (model, version), and the count of
        # windows stored by this process per (model, version, verdict).
        self.latest: dict[tuple[str, str], StoredReport] = {}
        self.windows: dict[tuple[str, str, str], int] = {}
        self.skipped_windows = 0
        self._profiles: dict[tuple[str, str], tuple[ReferenceProfile | None, str | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune: datetime | None = None

    # -- one tick -------------------------------------------------------------------

    def tick(self) -> list[StoredReport]:
        """Evaluate every due window; the reports stored (empty without the lease)."""
        if self.lease is not None and not self.lease.acquire():
            return []
        now = self.clock()
        with self.sessions() as session:
            pairs = active_versions(session, now - timedelta(seconds=self.config.lookback_s))
        stored: list[StoredReport] = []
        for model, version in pairs:
            try:
                stored.extend(self._tick_version(model, version, now))
                self.last_errors.pop((model, version), None)
            except Exception as exc:  # one bad version must not stop the others
                message = f"{type(exc).__name__}: {exc}"
                self.last_errors[(model, version)] = message
                _log.warning("drift monitor: %s v%s: %s", model, version, message)
        self._maybe_prune(now)
        return stored

    def _tick_version(self, model: str, version: str, now: datetime) -> list[StoredReport]:
        with self.sessions() as session:
            after = last_window_end(session, model, version)
            windows, skipped = due_windows(
                session, self.config.spec, model, version, now=now, after=after
            )
        if skipped:
            self.skipped_windows += skipped
            _log.info(
                "drift monitor: %s v%s: %d windows skipped (catch-up limit %d)",
                model,
                version,
                skipped,
                self.config.spec.max_catch_up,
            )
        out: list[StoredReport] = []
        for window in windows:
            report = self._evaluate_window(model, version, window)
            if report is not None:
                out.append(report)
        return out

    def _evaluate_window(self, model: str, version: str, window: Window) -> StoredReport | None:
        with self.sessions() as session:
            data = merge_window(session, model, version, window)
        if data.requests == 0 and data.rows == 0:
            return None  # no traffic in this window: nothing to judge, nothing stored
        profile, profile_note = self.profile(model, version)
        verdict, document = self.evaluate(profile, data)
        notes = list(document.get("notes", []))
        if profile_note:
            notes.append(profile_note)
        notes.extend(data.notes)
        document = {
            **document,
            "notes": notes,
            "window_kind": self.config.spec.kind,
            "window_size": self.config.spec.size,
            "requests": data.requests,
            "replicas": sorted(data.replicas),
        }
        with self.sessions.begin() as session:
            streak = self._streak(session, model, version, verdict)
            document["streak"] = streak
            report = save_report(
                session,
                model=model,
                version=version,
                window_start=window.start,
                window_end=window.end,
                rows=data.rows,
                verdict=verdict,
                document=document,
            )
            # Alert once per run of drifting windows: when the run reaches K.
            if self.alert is not None and streak == self.config.hysteresis:
                self.alert(session, model, version, document, report)
            if self.quality_alert is not None:
                self.quality_alert(session, model, version, document, report)
        self.latest[(model, version)] = report
        key = (model, version, verdict)
        self.windows[key] = self.windows.get(key, 0) + 1
        return report

    def samples(self) -> list[Any]:
        """Prometheus samples of the newest windows (``monitors.metrics``)."""
        from monitors.metrics import drift_samples

        return drift_samples(list(self.latest.values()), dict(self.windows))

    def _streak(self, session: Session, model: str, version: str, verdict: str) -> int:
        """How many consecutive drifting windows end with this one (0 if it is not)."""
        if verdict not in DRIFTING:
            return 0
        k = self.config.hysteresis
        previous = session.scalars(
            select(DriftReport.verdict)
            .where(DriftReport.model_name == model, DriftReport.version == version)
            .order_by(DriftReport.window_end.desc(), DriftReport.id.desc())
            .limit(k)
        ).all()
        streak = 1
        for v in previous:
            if v not in DRIFTING:
                break
            streak += 1
        return streak

    # -- reference profiles -----------------------------------------------------------

    def profile(self, model: str, version: str) -> tuple[ReferenceProfile | None, str | None]:
        """The version's reference profile (cached), or None and a note saying why."""
        key = (model, version)
        cached = self._profiles.get(key)
        if cached is not None:
            return cached
        try:
            text = self.profiles.reference_profile(model, version)
        except Exception as exc:  # the registry is down: try again next tick
            return None, f"reference profile not readable now ({type(exc).__name__}: {exc})"
        if text is None:
            found: tuple[ReferenceProfile | None, str | None] = (
                None,
                "this version has no reference profile: only data quality and outputs "
                "are monitored (register it with --reference to compare with training data)",
            )
        else:
            try:
                found = (profile_from_json(text), None)
            except ProfileError as exc:
                found = (None, f"reference profile unusable: {exc}")
        self._profiles[key] = found
        return found

    # -- housekeeping and the loop ----------------------------------------------------

    def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        try:
            with self.sessions.begin() as session:
                prune_reports(session, now - timedelta(days=self.config.retention_days))
        except Exception as exc:
            _log.warning("drift monitor: pruning old reports failed: %s", exc)

    def start(self) -> None:
        """Tick every ``interval_s`` in a daemon thread until ``stop()``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="drift-monitor", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # the control DB went away: keep trying
                _log.warning("drift monitor tick failed: %s: %s", type(exc).__name__, exc)
            self._stop.wait(self.config.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.lease is not None:
            try:
                self.lease.release()
            except Exception as exc:
                _log.warning("drift monitor: releasing the lease failed: %s", exc)


class MonitorSetupError(MonitorError):
    """The monitor cannot start (bad window settings and the like)."""
