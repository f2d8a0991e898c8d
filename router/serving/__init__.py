"""Serving: the model pool, stored routing policies, the policy watcher and the gateway core.

Submodules are imported directly (`router.serving.watcher`, ...); this package only
re-exports its errors, so importing it stays cheap.
"""

from __future__ import annotations

from router.serving.errors import (
    PolicyConflict,
    ServingError,
    UnknownModel,
    UnknownVersion,
    VersionLoadError,
)

__all__ = ["PolicyConflict", "ServingError", "UnknownModel", "UnknownVersion", "VersionLoadError"]
