"""The background thread that moves a recorder's finished buckets into the control DB.

About once a second it drains the recorder and writes the buckets in one
transaction. If the DB is down the buckets wait in a bounded backlog and go with the
next attempt (rows of one key add up, so a late bucket is never a conflict); past
``max_backlog`` the oldest are dropped and counted, so a long outage costs memory
of at most ``max_backlog`` buckets and never stalls serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from router.telemetry.bucket import Bucket
from router.telemetry.names import FLUSH_DROPPED_TOTAL, FLUSH_ERRORS_TOTAL
from router.telemetry.prometheus import Sample
from router.telemetry.recorder import Recorder
from router.telemetry.store import write_buckets

__all__ = ["Flusher"]

_log = logging.getLogger(__name__)
_DEFAULT_BACKLOG: Final = 100_000
# Buckets per transaction: after an outage the backlog goes in bounded steps.
_CHUNK: Final = 500


class Flusher:
    """Drains ``recorder`` every ``interval_s`` and writes the buckets with ``sessions``."""

    def __init__(
        self,
        recorder: Recorder,
        sessions: sessionmaker[Session],
        *,
        interval_s: float = 1.0,
        max_backlog: int = _DEFAULT_BACKLOG,
        also: Sequence[Callable[[], object]] = (),
    ) -> None:
        if interval_s <= 0 or max_backlog < 1:
            raise ValueError("interval_s must be > 0 and max_backlog >= 1")
        self.recorder = recorder
        # Other periodic writers sharing this thread (the prediction log, retention).
        self._also = tuple(also)
        self._sessions = sessions
        self._interval_s = interval_s
        self._backlog: deque[Bucket] = deque()
        self._max_backlog = max_backlog
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.last_success: float | None = None  # time.time() of the last good write

    @property
    def backlog(self) -> int:
        """Buckets drained but not yet written."""
        return len(self._backlog)

    def flush(self, *, force: bool = False) -> int:
        """Drain and write once (``force``: the current bucket too); rows written.

        Never raises for a DB failure: the buckets stay in the backlog, ``errors``
        grows and ``last_error`` says why.
        """
        with self._flush_lock:
            self._backlog.extend(self.recorder.drain(force=force))
            overflow = len(self._backlog) - self._max_backlog
            for _ in range(max(overflow, 0)):
                self._backlog.popleft()
            if overflow > 0:
                self.dropped += overflow
                _log.warning("telemetry backlog full: dropped %d oldest buckets", overflow)
            written = 0
            while self._backlog:
                batch = list(islice(self._backlog, _CHUNK))
                try:
                    with self._sessions.begin() as session:
                        written += write_buckets(session, batch)
                except Exception as exc:  # any DB or driver failure: keep serving, retry later
                    self._failed(exc)
                    return written
                for _ in batch:
                    self._backlog.popleft()
            if self.last_error is not None:
                _log.info("metric buckets written again after: %s", self.last_error)
                self.last_error = None
            self.last_success = time.time()
            return written

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        text = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        if self.last_error is None:  # once per outage, not once a second
            _log.warning("cannot write metric buckets, will retry: %s", reason)
        self.last_error = reason

    def start(self) -> None:
        """Start the daemon thread (once)."""
        if self._thread is not None:
            raise RuntimeError("flusher already started")
        self._thread = threading.Thread(
            target=self._run, name="turnout-telemetry-flush", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and write what is left, the current bucket included."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.flush(force=True)
        self._run_also()

    def samples(self) -> list[Sample]:
        """The flusher's own counters, for ``prometheus.render(gauges=...)``."""
        return [Sample(FLUSH_ERRORS_TOTAL, self.errors), Sample(FLUSH_DROPPED_TOTAL, self.dropped)]

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.flush()
            self._run_also()

    def _run_also(self) -> None:
        for task in self._also:
            try:
                task()
            except Exception:  # each companion reports its own failures; keep the thread
                _log.exception("periodic telemetry task failed")
