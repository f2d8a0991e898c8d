"""The alert outbox's Prometheus samples, as the delivery worker's process renders them.

Two kinds of numbers, and they aggregate differently across processes:

- **facts of the control DB**: alerts stored (``turnout_alerts_total``) and deliveries
  pending (``turnout_alert_deliveries_pending``). Every process sharing the DB reads the
  same rows, so all of them show the same numbers (aggregate with ``max``, not ``sum``).
  ``refresh`` reads them, a few grouped counts, on the worker's own thread; ``samples``
  (the ``/metrics`` handler, on the event loop) only copies what the last refresh kept,
  so a scrape never waits on the DB and a DB that is down leaves the last values;
- **this process's counts**: failed delivery attempts
  (``turnout_alert_delivery_failures_total``), counted as the worker makes them; each
  process has its own, so ``sum`` adds them up.

``turnout_alerts_total`` is a counter, but retention deletes old alerts: a plain
``count(*)`` would go down, and Prometheus reads a decrease as a counter reset (a false
spike in ``increase``). So alerts created before a moving mark (``settle_s`` behind the
clock) are counted once, when the mark passes them, and kept in memory ("settled");
alerts after the mark are counted afresh on each refresh. The mark stays well inside the
retention, so an alert is counted before it can be purged. The value reported is never
lower than the last one. An alert whose row commits more than ``settle_s`` after its
``created_at`` (a transaction held that long, or a raising host's clock that far behind)
would be missed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitors.alerts.outbox import alert_counts, pending_counts
from router.telemetry import Sample
from router.telemetry import names as n

__all__ = ["DEFAULT_SETTLE_S", "AlertMetrics"]

# How far behind the clock alerts count as settled: longer than any transaction that
# raises an alert stays open, much shorter than the retention.
DEFAULT_SETTLE_S = 300.0

_AlertKey = tuple[str, str, str]  # (model, kind, severity)


class AlertMetrics:
    """The alert counts of one process: DB facts cached by ``refresh``, failures counted
    by ``failed_attempt``; ``samples`` for ``/metrics``. Thread-safe."""

    def __init__(self, sinks: Iterable[str] = (), *, settle_s: float = DEFAULT_SETTLE_S) -> None:
        if settle_s < 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s}")
        self.settle = timedelta(seconds=settle_s)
        self._lock = threading.Lock()  # the values samples() reads
        self._refreshing = threading.Lock()  # one refresh at a time (settled, mark)
        self._sinks = list(sinks)
        # Pending per sink, empty until a refresh has read it; then every configured
        # sink has a series (0 rather than none).
        self._pending: dict[str, int] = {}
        self._failures: dict[str, int] = dict.fromkeys(self._sinks, 0)
        self._alerts: dict[_AlertKey, int] = {}
        self._settled: dict[_AlertKey, int] = {}
        self._mark: datetime | None = None
        self.refreshed_at: datetime | None = None  # when the DB facts were last read

    def refresh(self, session: Session, now: datetime) -> None:
        """Read the DB facts (a few grouped counts). Raises on a DB error, and then
        changes nothing: the last values stay."""
        with self._refreshing:
            self._refresh(session, now)

    def _refresh(self, session: Session, now: datetime) -> None:
        mark = now - self.settle
        if self._mark is not None and mark < self._mark:
            mark = self._mark  # the clock went back: the mark does not
        if self._mark is None:
            newly_settled = alert_counts(session, before=mark)
        else:
            newly_settled = alert_counts(session, since=self._mark, before=mark)
        recent = alert_counts(session, since=mark)
        pending = pending_counts(session)
        # Everything was read: now change the state, in one go.
        settled = dict(self._settled)
        for key, count in newly_settled.items():
            settled[key] = settled.get(key, 0) + count
        with self._lock:
            alerts = dict(self._alerts)
            for key in settled.keys() | recent.keys():
                total = settled.get(key, 0) + recent.get(key, 0)
                alerts[key] = max(alerts.get(key, 0), total)  # a counter never goes down
            self._alerts = alerts
            # A sink seen once keeps its series (at 0 once nothing is pending).
            known = [*self._sinks, *self._pending]
            self._pending = {**dict.fromkeys(known, 0), **pending}
            self.refreshed_at = now
        self._settled = settled
        self._mark = mark

    def failed_attempt(self, sink: str) -> None:
        """One delivery attempt to ``sink`` failed in this process."""
        with self._lock:
            self._failures[sink] = self._failures.get(sink, 0) + 1

    def samples(self) -> list[Sample]:
        """The samples of the last refresh and this process's failures; never touches
        the DB."""
        with self._lock:
            alerts = sorted(self._alerts.items())
            pending = sorted(self._pending.items())
            failures = sorted(self._failures.items())
        out: list[Sample] = []
        for (model, kind, severity), count in alerts:
            labels = {n.LABEL_MODEL: model, n.LABEL_KIND: kind, n.LABEL_SEVERITY: severity}
            out.append(Sample(n.ALERTS_TOTAL, float(count), labels))
        for sink, count in pending:
            out.append(Sample(n.ALERT_DELIVERIES_PENDING, float(count), {n.LABEL_SINK: sink}))
        for sink, count in failures:
            out.append(Sample(n.ALERT_DELIVERY_FAILURES_TOTAL, float(count), {n.LABEL_SINK: sink}))
        return out
