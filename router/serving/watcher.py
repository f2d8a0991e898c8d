"""Keeps a gateway's routing table in step with the control DB and the registry.

Every `interval` seconds it reads the newest policy revision of each model and the
champions recorded by turnout's alias ledger (both cheap queries); every
`registry_refresh_s` it also asks the registry for aliases set outside turnout. A
changed policy is applied only after every version it names is loaded and warmed; a
version that fails to load keeps the model on its previous policy. When the DB cannot
be reached the gateway keeps its last table and reports itself stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from router.serving.policy_store import (
    StoredPolicy,
    champions,
    latest_policies,
    latest_revisions,
)
from router.serving.pool import ModelPool
from router.traffic import RoutingPolicy, RoutingTable, single

_log = logging.getLogger(__name__)

CHAMPION = "champion"


class ModelLister(Protocol):
    def list_models(self) -> list[Any]: ...  # objects with .name and .aliases


@dataclass
class WatchStatus:
    started: bool = False
    stale: bool = False
    last_ok: float | None = None  # monotonic time of the last successful DB read
    last_error: str | None = None
    load_errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "stale": self.stale,
            "seconds_since_sync": None if self.last_ok is None else round(now - self.last_ok, 3),
            "last_error": self.last_error,
            "load_errors": dict(self.load_errors),
        }


class PolicyWatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: ModelLister,
        pool: ModelPool,
        table: RoutingTable,
        *,
        interval: float = 0.5,
        registry_refresh_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.pool = pool
        self.table = table
        self.interval = interval
        self.registry_refresh_s = registry_refresh_s
        self.clock = clock
        self.status = WatchStatus()
        self._champions: dict[str, str] = {}
        self._seen_ledger: dict[str, str] = {}
        self._seen_registry: dict[str, str] = {}
        self._last_registry: float | None = None
        self._applied: dict[str, dict[str, Any]] = {}
        self._revisions: dict[str, int] = {}
        self._stored: dict[str, StoredPolicy] | None = None
        self._retry_at = 0.0
        self.retry_failed_s = 5.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.poll_once()
        self._thread = threading.Thread(
            target=self._run, name="turnout-policy-watcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # the watcher must outlive any single bad poll
                _log.exception("policy watcher poll failed")

    # -- one poll -----------------------------------------------------------------------

    def poll_once(self) -> bool:
        """Sync once; True if the routing table changed."""
        try:
            with self.sessions() as session:
                revisions = latest_revisions(session)
                if revisions != self._revisions or self._stored is None:
                    self._stored = latest_policies(session)  # only when something changed
                    self._revisions = revisions
                stored = self._stored
                ledger = champions(session)
        except Exception as exc:
            self.status.stale = True
            self.status.last_error = _first_line(exc)
            return False
        self.status.stale = False
        self.status.last_ok = self.clock()
        self.status.last_error = None
        self._merge_champions(ledger, self._registry_champions())
        desired: dict[str, RoutingPolicy] = {}
        invalid: dict[str, str] = {}
        current = self.table.snapshot()
        for model in sorted(set(stored) | set(self._champions)):
            record = stored.get(model)
            if record is not None and record.error is not None:
                invalid[model] = record.error + " (previous policy kept)"
                if model in current:
                    desired[model] = current[model]
            elif record is not None and record.policy is not None:
                desired[model] = record.policy
            elif model in self._champions:
                revision = 0 if record is None else record.revision
                desired[model] = single(model, self._champions[model], seed=model).with_revision(
                    revision
                )
        return self._apply(desired, invalid)

    def _registry_champions(self) -> dict[str, str] | None:
        now = self.clock()
        if self._last_registry is not None and now - self._last_registry < self.registry_refresh_s:
            return None
        self._last_registry = now
        try:
            models = self.registry.list_models()
        except Exception as exc:  # MLflow down: keep serving what we know
            _log.warning("registry refresh failed: %s", _first_line(exc))
            return None
        return {m.name: str(m.aliases[CHAMPION]) for m in models if CHAMPION in m.aliases}

    def _merge_champions(self, ledger: dict[str, str], registry: dict[str, str] | None) -> None:
        # Each source wins when it changes: the ledger is read every poll (turnout's own
        # promotions show up in under a second), the registry catches aliases moved
        # with MLflow's own tools.
        for model, version in ledger.items():
            if self._seen_ledger.get(model) != version:
                self._champions[model] = version
        self._seen_ledger = dict(ledger)
        if registry is not None:
            for model, version in registry.items():
                if self._seen_registry.get(model) != version:
                    self._champions[model] = version
            self._seen_registry = dict(registry)

    def _apply(self, desired: dict[str, RoutingPolicy], invalid: dict[str, str]) -> bool:
        docs = {m: p.to_dict() for m, p in desired.items()}
        if (
            docs == self._applied
            and not invalid
            and (not self.status.load_errors or self.clock() < self._retry_at)
        ):
            self.status.started = True
            return False
        wanted = {(m, v) for m, p in desired.items() for v in p.versions()}
        failures = self.pool.ensure(wanted)
        current = self.table.snapshot()
        final: dict[str, RoutingPolicy] = {}
        errors: dict[str, str] = dict(invalid)
        for model, policy in desired.items():
            bad = [
                failures[(model, v)] for v in sorted(policy.versions()) if (model, v) in failures
            ]
            if not bad:
                final[model] = policy
                continue
            errors[model] = "; ".join(bad) + " (previous policy kept)"
            if model in current:
                final[model] = current[model]
        self.status.load_errors = errors
        if errors:  # a broken artifact is retried, but not on every poll
            self._retry_at = self.clock() + self.retry_failed_s
        changed = {m: p.to_dict() for m, p in final.items()} != {
            m: p.to_dict() for m, p in current.items()
        }
        if changed:
            self.table.replace(final)
        self.pool.retain({(m, v) for m, p in final.items() for v in p.versions()})
        self._applied = docs
        self.status.started = True
        return changed


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
