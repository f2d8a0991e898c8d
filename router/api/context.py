"""What the HTTP app needs from the process that hosts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from router.serving.gateway import Gateway
from router.serving.watcher import PolicyWatcher

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass
class GatewayContext:
    gateway: Gateway
    watcher: PolicyWatcher
    sessions: sessionmaker[Session]
    registry: Any  # ArtifactSource: model_bytes(), reference_profile()
    server_version: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    default_model: str | None = None

    def gauges(self) -> dict[str, Any]:
        status = self.watcher.status
        return {
            "stale": status.stale,
            "revisions": {m: p.revision for m, p in self.gateway.table.snapshot().items()},
            "loaded": self.gateway.pool.loaded(),
            "prediction_drops": self.gateway.predictions.dropped,
        }
