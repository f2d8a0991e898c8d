"""What the HTTP app needs from the process that hosts it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from router.serving.gateway import Gateway
from router.serving.watcher import PolicyWatcher
from router.telemetry import Flusher, Sample, names

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass
class GatewayContext:
    gateway: Gateway
    watcher: PolicyWatcher
    flusher: Flusher
    sessions: sessionmaker[Session]
    registry: Any  # ArtifactSource: model_bytes(), reference_profile()
    server_version: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    default_model: str | None = None
    ops: Any = None  # router.controller.ops.ControlOps: rollouts and alias moves
    # Where rendered drift report pages are cached; None: the page route is not served.
    reports_dir: Path | None = None
    # With TURNOUT_INFERENCE_AUTH: the token check of the inference routes.
    inference_tokens: Any = None  # router.access.cache.TokenCache
    # More samples for /metrics from what else runs in this process (the drift monitor).
    extra_samples: list[Callable[[], list[Sample]]] = field(default_factory=list)

    def gauges(self) -> list[Sample]:
        """Process state for /metrics, beside the recorder's request counters."""
        samples = [Sample(names.POLICY_STALE, 1.0 if self.watcher.status.stale else 0.0)]
        for model, policy in self.gateway.table.snapshot().items():
            samples.append(Sample(names.POLICY_REVISION, policy.revision, {"model": model}))
        for model, version in self.gateway.pool.loaded():
            samples.append(Sample(names.MODEL_LOADED, 1.0, {"model": model, "version": version}))
        for more in self.extra_samples:
            samples.extend(more())
        return samples + self.flusher.samples()
