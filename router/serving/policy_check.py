"""Refuse a routing policy before it is stored if a version it names cannot serve."""

from __future__ import annotations

from router.inference import load_session
from router.serving.errors import VersionLoadError
from router.serving.pool import ArtifactSource
from router.traffic import RoutingPolicy


def check_policy_versions(source: ArtifactSource, policy: RoutingPolicy) -> None:
    """Load every version POLICY names; raise VersionLoadError naming the first that fails.

    Gateways check again when they apply a policy (and keep the old one on failure);
    this check makes the operator's command fail at once instead.
    """
    for version in sorted(policy.versions()):
        try:
            load_session(source.model_bytes(policy.model, version))
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VersionLoadError(
                f"{policy.model} v{version} cannot serve traffic: {reason}; policy not changed"
            ) from None
