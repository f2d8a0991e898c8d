"""The delivery worker: claims due outbox rows, sends them, retries with backoff.

Every piece of state lives in the control DB, so a new worker (after a restart, or a
second one beside it) picks up exactly where the last left off. Contract: each sink
receives each alert at least once; the alert id is stable, so a receiver deduplicates
the rare repeat (a worker that died after sending but before recording it).

For ``/metrics`` (``samples()``, ``monitors.alerts.metrics``): the worker counts its
failed attempts as it makes them, and its loop re-reads the outbox counts (alerts
stored, deliveries pending) every ``metrics_every_s``, after a pass; a scrape only reads
what the last refresh kept. A refresh that fails (the DB is down) is logged and the
last values stay.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from migrations.coltypes import utcnow
from monitors.alerts.errors import DeliveryError
from monitors.alerts.metrics import DEFAULT_SETTLE_S, AlertMetrics
from monitors.alerts.outbox import (
    DueDelivery,
    claim,
    due_deliveries,
    load_alert,
    mark_delivered,
    mark_failed_attempt,
    purge,
)
from monitors.alerts.sinks import AlertSink
from router.telemetry import Sample

__all__ = ["DeliveryWorker", "RetryPolicy", "WorkerReport"]

_log = logging.getLogger(__name__)
_PURGE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: exponential backoff with jitter, bounded in count and age.

    Attempt n (1-based) failed -> wait base_s * factor**(n-1), capped at max_delay_s,
    then scaled by a random factor in [1 - jitter, 1] so that many deliveries failing
    together do not retry in lockstep. After max_attempts attempts, or once the alert
    is older than max_age_s, the delivery is `failed`. `lease_s` is how long a claim
    owns a delivery: longer than any send may take.
    """

    base_s: float = 5.0
    factor: float = 2.0
    max_delay_s: float = 600.0
    max_attempts: int = 12
    max_age_s: float = 24 * 3600.0
    jitter: float = 0.5
    lease_s: float = 120.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        raw = min(self.max_delay_s, self.base_s * self.factor ** max(0, attempt - 1))
        return raw * (1.0 - self.jitter * rng.random())

    def gives_up(self, attempt: int, alert_created_at: datetime, now: datetime) -> bool:
        too_old = (now - alert_created_at).total_seconds() >= self.max_age_s
        return attempt >= self.max_attempts or too_old


@dataclass
class WorkerReport:
    """What one pass did, by delivery id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


class DeliveryWorker:
    """Sends what the outbox holds. `run_once()` is one pass; `start()`/`stop()` run
    passes on a background thread every `interval_s` (at once again after a full batch).

    With `metrics_every_s` the loop also refreshes the outbox counts for `samples()`
    at most that often (None: only `refresh_metrics()` does, as `turnout alerts
    deliver` needs no /metrics).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sinks: Mapping[str, AlertSink],
        policy: RetryPolicy | None = None,
        *,
        interval_s: float = 1.0,
        batch: int = 50,
        retention_s: float | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        metrics_every_s: float | None = None,
    ) -> None:
        self.sessions = sessions
        self.sinks = sinks
        self.policy = policy or RetryPolicy()
        self.interval_s = interval_s
        self.batch = batch
        self.retention_s = retention_s
        self.clock = clock
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge: datetime | None = None
        self.metrics_every_s = metrics_every_s
        # Alerts count as settled well before retention can purge them (see metrics.py).
        settle_s = DEFAULT_SETTLE_S
        if retention_s is not None:
            settle_s = min(settle_s, retention_s / 4)
        self.metrics = AlertMetrics(sinks, settle_s=settle_s)
        self._metrics_due = 0.0  # time.monotonic() of the next loop refresh
        self._metrics_failing = False

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="turnout-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                report = self.run_once()
                busy = report.attempted >= self.batch
            except Exception:  # the DB went away, say: the outbox keeps it; try again
                _log.exception("alert delivery pass failed")
            self._maybe_refresh_metrics()
            if not busy:
                self._stop.wait(self.interval_s)

    # -- metrics ------------------------------------------------------------------------

    def samples(self) -> list[Sample]:
        """Prometheus samples of the outbox (``monitors.alerts.metrics``): what the last
        refresh read, and this process's failed attempts. Never touches the DB."""
        return self.metrics.samples()

    def refresh_metrics(self) -> bool:
        """Re-read the outbox counts; False (logged, last values kept) if the DB failed."""
        try:
            with self.sessions() as session:
                self.metrics.refresh(session, self.clock())
        except Exception as exc:
            if not self._metrics_failing:  # once per outage, not once per pass
                _log.warning(
                    "alert metrics: reading the outbox failed, keeping the last values: %s: %s",
                    type(exc).__name__,
                    exc,
                )
            self._metrics_failing = True
            return False
        if self._metrics_failing:
            _log.info("alert metrics: reading the outbox works again")
        self._metrics_failing = False
        return True

    def _maybe_refresh_metrics(self) -> None:
        if self.metrics_every_s is None:
            return
        now = time.monotonic()
        if now < self._metrics_due:
            return
        self._metrics_due = now + self.metrics_every_s
        self.refresh_metrics()

    # -- passes -------------------------------------------------------------------------

    def run_once(self) -> WorkerReport:
        """Claim and send every due delivery (up to one batch); purge old alerts hourly."""
        report = WorkerReport()
        now = self.clock()
        with self.sessions() as session:
            due = due_deliveries(session, now, self.batch)
        for item in due:
            if self._stop.is_set() and self._thread is not None:
                break
            try:
                self._attempt(item, report)
            except Exception:  # a DB hiccup on one row: the rest of the batch still goes
                _log.exception("alert delivery %s: attempt could not be recorded", item.id)
        self._maybe_purge()
        return report

    def deliver(self, due: DueDelivery) -> WorkerReport:
        """Attempt this one delivery now if it is due and unclaimed (for `alerts test`)."""
        report = WorkerReport()
        self._attempt(due, report)
        return report

    def _attempt(self, due: DueDelivery, report: WorkerReport) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            if not claim(session, due, now, self.policy.lease_s):
                return  # another worker has it
        attempt = due.attempts + 1
        error = self._send(due)
        if error is not None:
            self.metrics.failed_attempt(due.sink)
        done = self.clock()
        with self.sessions.begin() as session:
            if error is None:
                mark_delivered(session, due.id, done)
                report.delivered.append(due.id)
                return
            report.errors[due.id] = error
            if self.policy.gives_up(attempt, due.alert_created_at, done):
                mark_failed_attempt(session, due.id, attempt, error, None)
                report.failed.append(due.id)
                _log.error("alert %s to %s failed for good: %s", due.alert_id, due.sink, error)
            else:
                retry_at = done + timedelta(seconds=self.policy.delay(attempt, self.rng))
                mark_failed_attempt(session, due.id, attempt, error, retry_at)
                report.retrying.append(due.id)
                _log.warning(
                    "alert %s to %s: attempt %d failed (%s); retrying at %s",
                    due.alert_id,
                    due.sink,
                    attempt,
                    error,
                    retry_at.isoformat(),
                )

    def _send(self, due: DueDelivery) -> str | None:
        """Send one delivery; the error message, or None when the receiver took it."""
        sink = self.sinks.get(due.sink)
        if sink is None:
            return f"sink '{due.sink}' is not in the alerts config"
        try:
            with self.sessions() as session:
                alert = load_alert(session, due.alert_id)
            sink.send(alert)
        except DeliveryError as exc:
            return str(exc)
        except Exception as exc:  # a sink bug must cost one delivery, not the worker
            _log.exception("sink %s raised", due.sink)
            text = str(exc).strip().splitlines()
            return f"{sink.describe()}: {type(exc).__name__}: {text[0] if text else ''}".strip()
        return None

    def _maybe_purge(self) -> None:
        if self.retention_s is None:
            return
        now = self.clock()
        if self._last_purge is not None and now - self._last_purge < _PURGE_EVERY:
            return
        self._last_purge = now
        with self.sessions.begin() as session:
            removed = purge(session, now - timedelta(seconds=self.retention_s))
        if removed:
            _log.info("purged %d alerts older than %.0f s", removed, self.retention_s)
