"""The composition root's wiring: builds the registry, control DB and ledger from settings."""

from __future__ import annotations

import getpass
import socket
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from turnout.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from registry.audit import AliasLedger
    from registry.mlflow_registry import MlflowRegistry


class Services:
    """Lazily built collaborators: a CLI command pays only for what it touches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def registry(self) -> MlflowRegistry:
        from registry.mlflow_registry import MlflowRegistry

        self.settings.resolved_state_dir().mkdir(parents=True, exist_ok=True)
        return MlflowRegistry(
            self.settings.tracking_uri(),
            self.settings.registry_uri(),
            artifact_location=self._local_artifact_location(),
            experiment=self.settings.experiment,
            cache_dir=self.settings.cache_dir(),
        )

    @cached_property
    def engine(self) -> Engine:
        """The control DB, reachable and at the schema head (or a clear error)."""
        from migrations import check_reachable, ensure_schema, make_engine

        engine = make_engine(self.settings.control_db_url())
        check_reachable(engine)
        ensure_schema(engine, auto_upgrade=self.settings.auto_upgrade)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from migrations import session_factory

        return session_factory(self.engine)

    @cached_property
    def ledger(self) -> AliasLedger:
        from registry.audit import AliasLedger

        return AliasLedger(self.registry, self.sessions)

    def close(self) -> None:
        """Release pooled DB connections (a no-op if the control DB was never opened)."""
        engine = self.__dict__.get("engine")
        if engine is not None:
            engine.dispose()

    def actor(self) -> str:
        if self.settings.actor:
            return self.settings.actor
        try:
            user = getpass.getuser()
        except Exception:  # no login name in some containers
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def _local_artifact_location(self) -> Path | None:
        # A tracking server owns its artifact store; only local stores get ours.
        if self.settings.artifact_root is not None:
            return self.settings.artifact_location()
        if self.settings.tracking_uri().startswith(("sqlite:", "file:", "/")):
            return self.settings.artifact_location()
        return None
