"""Loaded model versions: sessions created once, warmed before traffic, unloaded when unused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from router.inference import ModelSignature, OnnxModel, load_session
from router.serving.errors import VersionLoadError

_log = logging.getLogger(__name__)


class ArtifactSource(Protocol):
    """Where version artifacts come from (the registry, or a fake in tests)."""

    def model_bytes(self, name: str, version: str) -> bytes: ...

    def reference_profile(self, name: str, version: str) -> str | None: ...


@dataclass(frozen=True)
class LoadedVersion:
    model: str
    version: str
    session: OnnxModel
    signature: ModelSignature
    profile_json: str | None
    extra: dict[str, Any]  # per-version helpers the gateway attaches (e.g. sketchers)


class ModelPool:
    """The versions this process can serve, keyed by (model, version).

    Reads (`get`) are lock-free dict lookups on the request path; loads run on the
    watcher thread and publish by replacing the dict, so a reader never sees a version
    that is not warmed yet.
    """

    def __init__(self, source: ArtifactSource, *, attach: Any = None) -> None:
        self._source = source
        self._attach = attach  # callable(LoadedVersion) -> dict, for telemetry helpers
        self._loaded: dict[tuple[str, str], LoadedVersion] = {}
        self._write_lock = threading.Lock()

    def get(self, model: str, version: str) -> LoadedVersion | None:
        return self._loaded.get((model, version))

    def loaded(self) -> list[tuple[str, str]]:
        return sorted(self._loaded)

    def ensure(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Load every wanted version not loaded yet; return {key: error} for failures."""
        failures: dict[tuple[str, str], str] = {}
        with self._write_lock:
            fresh = dict(self._loaded)
            for key in sorted(set(wanted)):
                if key in fresh:
                    continue
                try:
                    fresh[key] = self._load(*key)
                except VersionLoadError as exc:
                    failures[key] = str(exc)
                    _log.warning("version %s v%s not loaded: %s", key[0], key[1], exc)
            self._loaded = fresh
        return failures

    def retain(self, keep: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Unload every version not in KEEP; return what was unloaded."""
        keep_set = set(keep)
        with self._write_lock:
            gone = [k for k in self._loaded if k not in keep_set]
            if gone:
                self._loaded = {k: v for k, v in self._loaded.items() if k in keep_set}
        return gone

    def _load(self, model: str, version: str) -> LoadedVersion:
        try:
            raw = self._source.model_bytes(model, version)
            session = load_session(raw)
            session.warm()
            profile = self._source.reference_profile(model, version)
        except Exception as exc:  # any failure means: this version takes no traffic
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VersionLoadError(f"{model} v{version} cannot be loaded: {reason}") from None
        loaded = LoadedVersion(model, version, session, session.signature, profile, {})
        if self._attach is not None:
            loaded.extra.update(self._attach(loaded))
        return loaded
