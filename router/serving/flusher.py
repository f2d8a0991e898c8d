"""Moves telemetry buckets and logged predictions from memory to the control DB.

Runs on its own thread about once a second. A failed write keeps what it could not
write and tries again next time (bounded, oldest dropped first), so a short DB outage
loses nothing and a long one costs bounded memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from router.quality import PredictionBuffer, prune_predictions, write_predictions
from router.telemetry import Recorder
from router.telemetry.store import prune as prune_buckets
from router.telemetry.store import write_buckets

_log = logging.getLogger(__name__)


class Flusher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        recorder: Recorder,
        predictions: PredictionBuffer,
        *,
        interval: float = 1.0,
        bucket_retention: timedelta = timedelta(days=7),
        prediction_retention: timedelta = timedelta(days=30),
        prune_every_s: float = 300.0,
        max_pending_buckets: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.recorder = recorder
        self.predictions = predictions
        self.interval = interval
        self.bucket_retention = bucket_retention
        self.prediction_retention = prediction_retention
        self.prune_every_s = prune_every_s
        self.max_pending_buckets = max_pending_buckets
        self.clock = clock
        self.failures = 0
        self.dropped_buckets = 0
        self.last_error: str | None = None
        self._pending_buckets: list[Any] = []
        self._pending_predictions: list[Any] = []
        self._last_prune: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one flush at a time (the thread, or a final one)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="turnout-flusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush_once(force=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush_once()
            except Exception:  # never let the thread die; the next round retries
                _log.exception("telemetry flush failed")

    def flush_once(self, *, force: bool = False) -> bool:
        """Write what is ready; True if the DB took it (or there was nothing to write)."""
        with self._lock:
            buckets = self._pending_buckets + self.recorder.drain(force=force)
            predictions = self._pending_predictions + self.predictions.drain()
            if not buckets and not predictions:
                return True
            try:
                with self.sessions.begin() as session:
                    if buckets:
                        write_buckets(session, buckets)
                    if predictions:
                        write_predictions(session, predictions)
                    self._maybe_prune(session)
            except Exception as exc:
                self.failures += 1
                self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                overflow = len(buckets) - self.max_pending_buckets
                if overflow > 0:
                    self.dropped_buckets += overflow
                    buckets = buckets[overflow:]
                self._pending_buckets = buckets
                self._pending_predictions = predictions[-self.predictions.max_rows :]
                return False
            self._pending_buckets, self._pending_predictions = [], []
            self.last_error = None
            return True

    def _maybe_prune(self, session: Session) -> None:
        now = self.clock()
        if self._last_prune is not None and (now - self._last_prune).total_seconds() < (
            self.prune_every_s
        ):
            return
        self._last_prune = now
        prune_buckets(session, now - self.bucket_retention)
        prune_predictions(session, now - self.prediction_retention)
