"""Bounded retention: old metric buckets, predictions and feedback are pruned periodically."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from router.quality import prune_feedback, prune_predictions
from router.telemetry import prune as prune_buckets


class Retention:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        buckets: timedelta = timedelta(days=7),
        predictions: timedelta = timedelta(days=30),
        every_s: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.buckets = buckets
        self.predictions = predictions
        self.every_s = every_s
        self.clock = clock
        self._next = 0.0

    def maybe_prune(self) -> dict[str, int] | None:
        """Prune if the last run is older than `every_s`; the rows removed per table."""
        if time.monotonic() < self._next:
            return None
        self._next = time.monotonic() + self.every_s
        now = self.clock()
        with self.sessions.begin() as session:
            return {
                "metric_buckets": prune_buckets(session, now - self.buckets),
                "predictions": prune_predictions(session, now - self.predictions),
                "feedback": prune_feedback(session, now - self.predictions),
            }
