"""What the dashboard reads from: the control DB's sessions and the model registry.

The registry is optional (a dashboard over a control DB alone shows rollouts, drift and
alerts, and says the models page needs the registry). Reads of the registry go through
a short cache: every open page polls, and one MLflow round trip per poll per viewer
would be the slowest part of the dashboard.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from registry.client import RegistryClient

__all__ = ["DashboardSource", "TtlCache"]

T = TypeVar("T")


class TtlCache:
    """A small thread-safe cache of computed values that expire after ``ttl_s``.

    Values computed by a function that raises are not stored. The oldest entries are
    dropped beyond ``max_entries``.
    """

    def __init__(self, ttl_s: float, *, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T], *, ttl_s: float | None = None) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                value: T = hit[1]
                return value
        value = compute()
        with self._lock:
            self._items[key] = (now + (self.ttl_s if ttl_s is None else ttl_s), value)
            while len(self._items) > self.max_entries:
                self._items.pop(next(iter(self._items)))
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class DashboardSource:
    """The collaborators the dashboard reads through (never writes with).

    ``clock`` returns epoch seconds; tests replace it to read fixed data.
    """

    sessions: sessionmaker[Session]
    registry: RegistryClient | None = None
    clock: Callable[[], float] = time.time
    cache: TtlCache = field(default_factory=lambda: TtlCache(2.0))
    # Reference profiles never change once registered: kept much longer.
    profiles: TtlCache = field(default_factory=lambda: TtlCache(600.0, max_entries=32))
