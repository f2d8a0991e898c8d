"""turnout: model registry and progressive-rollout control plane (composition root)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
