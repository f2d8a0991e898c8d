"""The models pages' data: registered models, their versions and aliases, the champion's
history from the audit log, and a summary of each version's reference profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dashboards.feeds._time import epoch
from migrations.models import TERMINAL_ROLLOUT_PHASES, Rollout
from monitors.profile_schema import ReferenceProfile, profile_from_json, profile_summary
from registry import names
from registry.audit import AliasLedger
from registry.client import RegistryClient
from registry.types import VersionInfo

__all__ = ["model_detail", "models_overview", "reference_summary"]

# Events that move or clear an alias: the champion's history.
_ALIAS_EVENTS = (
    names.EVENT_PROMOTE,
    names.EVENT_ROLLBACK,
    names.EVENT_ALIAS_SET,
    names.EVENT_ALIAS_REMOVE,
)


def models_overview(registry: RegistryClient, session: Session) -> list[dict[str, Any]]:
    """Every registered model with its aliases, latest version and active rollout."""
    active = {
        r.model_name: r
        for r in session.scalars(
            select(Rollout).where(Rollout.phase.not_in(TERMINAL_ROLLOUT_PHASES))
        )
    }
    counts: dict[str, int] = {}
    query = select(Rollout.model_name, func.count(Rollout.id)).group_by(Rollout.model_name)
    for key, n in session.execute(query):
        counts[str(key)] = int(n)
    out = []
    for m in registry.list_models():
        rollout = active.get(m.name)
        out.append(
            {
                "name": m.name,
                "aliases": dict(m.aliases),
                "latest_version": m.latest_version,
                "created_at": epoch(m.created_at),
                "description": m.description,
                "rollouts": int(counts.get(m.name, 0)),
                "active_rollout": None
                if rollout is None
                else {
                    "id": rollout.id,
                    "phase": rollout.phase,
                    "weight": rollout.weight,
                    "candidate": rollout.candidate_version,
                    "baseline": rollout.baseline_version,
                },
            }
        )
    return out


def model_detail(
    registry: RegistryClient,
    sessions: sessionmaker[Session],
    model: str,
    *,
    profile_of: Any,
    history_limit: int = 50,
) -> dict[str, Any]:
    """One model: versions (with aliases, status and reference summary), the alias
    history and its rollouts. ``profile_of(model, version)`` returns a parsed reference
    profile or None (the caller caches them)."""
    info = registry.get_model(model)
    versions = sorted(registry.list_versions(model), key=_version_key, reverse=True)
    ledger = AliasLedger(registry, sessions)
    history = [
        e.to_dict() | {"at": epoch(e.at)}
        for e in ledger.history(model, limit=history_limit)
        if e.kind in _ALIAS_EVENTS or e.kind == names.EVENT_REGISTER
    ]
    with sessions() as session:
        rollouts = [
            {
                "id": r.id,
                "phase": r.phase,
                "strategy": r.strategy,
                "baseline": r.baseline_version,
                "candidate": r.candidate_version,
                "weight": r.weight,
                "created_at": epoch(r.created_at),
                "finished_at": epoch(r.finished_at),
            }
            for r in session.scalars(
                select(Rollout)
                .where(Rollout.model_name == model)
                .order_by(Rollout.id.desc())
                .limit(20)
            )
        ]
    return {
        "name": info.name,
        "aliases": dict(info.aliases),
        "description": info.description,
        "created_at": epoch(info.created_at),
        "versions": [_version(v, profile_of) for v in versions],
        "history": list(reversed(history)),
        "rollouts": rollouts,
    }


def reference_summary(profile: ReferenceProfile | None) -> dict[str, Any] | None:
    """Counts from ``profile_summary`` plus a few features' ranges, for a table row."""
    if profile is None:
        return None
    features = []
    for f in profile.features[:8]:
        if f.kind == "numeric":
            what = "no finite values" if f.min is None else f"{f.min:.4g} … {f.max:.4g}"
        else:
            top = ", ".join(c.value for c in (f.categories or [])[:3])
            what = f"{f.n_unique} categories ({top})" if top else f"{f.n_unique} categories"
        features.append({"name": f.name, "kind": f.kind, "range": what, "missing": f.missing})
    return {**profile_summary(profile), "first_features": features}


def parse_profile(text: str | None) -> ReferenceProfile | None:
    return None if text is None else profile_from_json(text)


def _version(v: VersionInfo, profile_of: Any) -> dict[str, Any]:
    try:
        summary = reference_summary(profile_of(v.name, v.version))
        problem = None
    except Exception as exc:  # an unreadable profile must not hide the version
        summary, problem = None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return {
        "version": v.version,
        "aliases": list(v.aliases),
        "status": v.status,
        "created_at": epoch(v.created_at),
        "description": v.description,
        "source_format": v.tags.get(names.TAG_SOURCE_FORMAT),
        "has_reference": v.reference_uri is not None,
        "reference": summary,
        "reference_error": problem,
    }


def _version_key(v: VersionInfo) -> tuple[int, int | str]:
    return (0, int(v.version)) if v.version.isdigit() else (1, v.version)
