"""What the rollout page draws besides the rollout document: traffic weights over time,
the per-version request series, the analysis metrics tick by tick with their
thresholds, and the decision timeline.

The rollout document itself and its raw decision records are the control API's
(``/api/v1/rollouts/{id}`` and ``.../decisions``); this feed adds the time dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.feeds._time import choose_step, epoch
from dashboards.feeds.traffic import traffic_series
from migrations.models import TERMINAL_ROLLOUT_PHASES, Event, Rollout, RolloutDecision
from migrations.models import RoutingPolicy as PolicyRow

__all__ = [
    "analysis_thresholds",
    "decision_timeline",
    "rollout_series",
    "weight_steps",
]

# Decisions read per request: a tick is recorded every controller interval, so a long
# rollout has thousands; the charts and the timeline show the newest of them.
MAX_DECISIONS = 2000
_CHAMPION_KINDS = ("alias.promote", "alias.rollback", "alias.set", "alias.remove")


def rollout_series(
    session: Session, row: Rollout, *, now: float, range_s: float | None = None
) -> dict[str, Any]:
    """Everything time-shaped about one rollout, from its start (or the last
    ``range_s`` seconds) to its end (or now)."""
    started = epoch(row.created_at) or now
    finished = epoch(row.finished_at) if row.phase in TERMINAL_ROLLOUT_PHASES else None
    until = (finished + 5.0) if finished is not None else now
    since = started - 5.0
    if range_s is not None:
        since = max(since, until - range_s)
    versions = [row.baseline_version, row.candidate_version]
    traffic = traffic_series(session, row.model_name, since=since, until=until, versions=versions)
    decisions = _decisions(session, row.id, since=since)
    return {
        "id": row.id,
        "model": row.model_name,
        "baseline": row.baseline_version,
        "candidate": row.candidate_version,
        "phase": row.phase,
        "since": since,
        "until": until,
        "started": started,
        "finished": finished,
        "now": now,
        "weights": weight_steps(session, row.model_name, since=since, until=until),
        "traffic": traffic,
        "thresholds": analysis_thresholds(row.spec),
        "analysis": _analysis_series(decisions),
        "timeline": decision_timeline(decisions),
    }


def weight_steps(session: Session, model: str, *, since: float, until: float) -> dict[str, Any]:
    """The configured split of ``model`` as steps: the revision in force at ``since``,
    then every revision stored before ``until``. A revision that hands the model back
    to its champion is shown as 100% to the champion of that moment."""
    rows = list(
        session.scalars(
            select(PolicyRow).where(PolicyRow.model_name == model).order_by(PolicyRow.revision)
        )
    )
    changes = _champion_changes(session, model)
    points: list[dict[str, Any]] = []
    start_index = 0
    for i, r in enumerate(rows):
        if (epoch(r.created_at) or 0.0) <= since:
            start_index = i
    for r in rows[start_index:]:
        at = epoch(r.created_at) or since
        if at >= until:
            break
        weights, mirror = _weights(r.policy, _champion_at(changes, at))
        points.append(
            {
                "t": max(at, since),
                "revision": r.revision,
                "weights": weights,
                "mirror": mirror,
                "follows_champion": _follows_champion(r.policy),
                "by": r.created_by,
                "rollout_id": r.rollout_id,
            }
        )
    if not points:
        champion = _champion_at(changes, since)
        points.append(
            {
                "t": since,
                "revision": 0,
                "weights": {} if champion is None else {champion: 100.0},
                "mirror": {},
                "follows_champion": True,
                "by": None,
                "rollout_id": None,
            }
        )
    # While a model follows its champion, a promotion moves its traffic without a new
    # revision: such a stretch gets a step at every champion change inside it.
    out: list[dict[str, Any]] = []
    for j, p in enumerate(points):
        out.append(p)
        if not p["follows_champion"]:
            continue
        end = points[j + 1]["t"] if j + 1 < len(points) else until
        for at, version in changes:
            if p["t"] < at < end:
                out.append({**p, "t": at, "weights": {} if version is None else {version: 100.0}})
    return {"points": out, "until": until}


def analysis_thresholds(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per analysis metric of the spec: its kind and numeric rules, for drawing.

    Reads the stored spec as data (both the snake_case and camelCase spellings), so a
    metric the dashboard does not know still gets its absolute bounds drawn.
    """
    analyses: list[Mapping[str, Any]] = []
    top = spec.get("analysis")
    if isinstance(top, Mapping):
        analyses.append(top)
    for step in spec.get("steps") or ():
        inner = step.get("analysis") if isinstance(step, Mapping) else None
        if isinstance(inner, Mapping) and isinstance(inner.get("spec"), Mapping):
            analyses.append(inner["spec"])
    out: dict[str, dict[str, Any]] = {}
    for analysis in analyses:
        for metric in analysis.get("metrics") or ():
            if not isinstance(metric, Mapping) or "name" not in metric:
                continue
            out.setdefault(
                str(metric["name"]),
                {
                    "kind": metric.get("kind", "error_rate"),
                    "quantile": metric.get("quantile"),
                    "max": _num(metric.get("max")),
                    "min": _num(metric.get("min")),
                    "relative_max": _num(metric.get("relative_max", metric.get("relativeMax"))),
                    "sequential": metric.get("sequential") is not None,
                },
            )
    return out


def decision_timeline(decisions: Sequence[RolloutDecision]) -> list[dict[str, Any]]:
    """The decisions, consecutive repeats folded into one entry.

    Ticks that say the same thing (same step, verdict and phases, nothing done) are one
    entry with a count and a time span; the entry keeps the newest tick's reason and
    evidence, so every distinct decision can be read in full.
    """
    out: list[dict[str, Any]] = []
    for d in decisions:
        evidence = d.measurements or {}
        done = list(evidence.get("actions_done") or ())
        key = (d.step_index, d.verdict, d.phase_before, d.phase_after)
        at = epoch(d.at)
        last = out[-1] if out else None
        if last is not None and last["key"] == key and not done and not last["actions"]:
            last.update(count=last["count"] + 1, last_at=at, reason=d.reason, evidence=evidence)
            continue
        out.append(
            {
                "key": key,
                "first_at": at,
                "last_at": at,
                "count": 1,
                "step_index": d.step_index,
                "verdict": d.verdict,
                "phase_before": d.phase_before,
                "phase_after": d.phase_after,
                "reason": d.reason,
                "actions": done,
                "evidence": evidence,
            }
        )
    for entry in out:
        del entry["key"]
    return out


def _decisions(session: Session, rollout_id: int, *, since: float) -> list[RolloutDecision]:
    newest = session.scalars(
        select(RolloutDecision)
        .where(RolloutDecision.rollout_id == rollout_id)
        .order_by(RolloutDecision.id.desc())
        .limit(MAX_DECISIONS)
    ).all()
    return [d for d in reversed(newest) if (epoch(d.at) or 0.0) >= since]


def _analysis_series(decisions: Sequence[RolloutDecision]) -> dict[str, Any]:
    """Per metric judged: candidate value, baseline value and phase at each tick,
    thinned to a few hundred ticks."""
    judged = [d for d in decisions if (d.measurements or {}).get("metrics")]
    if not judged:
        return {"t": [], "metrics": {}}
    span = (epoch(judged[-1].at) or 0.0) - (epoch(judged[0].at) or 0.0)
    step = choose_step(span, 300)
    kept: list[RolloutDecision] = []
    last_slot: float | None = None
    for d in judged:
        slot = (epoch(d.at) or 0.0) // step
        if kept and slot == last_slot:
            kept[-1] = d  # the newest tick of the slot
        else:
            kept.append(d)
        last_slot = slot
    names: list[str] = []
    for d in kept:
        for m in d.measurements["metrics"]:
            if isinstance(m, Mapping) and m.get("name") not in names:
                names.append(str(m.get("name")))
    series: dict[str, dict[str, list[Any]]] = {
        name: {"value": [], "baseline": [], "phase": [], "rule": []} for name in names
    }
    for d in kept:
        by_name = {
            str(m.get("name")): m for m in d.measurements["metrics"] if isinstance(m, Mapping)
        }
        for name in names:
            m = by_name.get(name, {})
            s = series[name]
            s["value"].append(_num(m.get("value")))
            s["baseline"].append(_num(m.get("baseline")))
            s["phase"].append(m.get("phase"))
            s["rule"].append(m.get("threshold"))
    return {"t": [epoch(d.at) for d in kept], "metrics": series}


def _champion_changes(session: Session, model: str) -> list[tuple[float, str | None]]:
    rows = session.execute(
        select(Event.at, Event.kind, Event.to_version)
        .where(
            Event.model_name == model,
            Event.alias == "champion",
            Event.kind.in_(_CHAMPION_KINDS),
        )
        .order_by(Event.at, Event.id)
    ).all()
    return [
        (epoch(at) or 0.0, None if kind == "alias.remove" else to_version)
        for at, kind, to_version in rows
    ]


def _champion_at(changes: Sequence[tuple[float, str | None]], at: float) -> str | None:
    champion: str | None = None
    for when, version in changes:
        if when > at:
            break
        champion = version
    return champion


def _weights(
    doc: Mapping[str, Any], champion: str | None
) -> tuple[dict[str, float], dict[str, float]]:
    if _follows_champion(doc):
        return ({champion: 100.0} if champion is not None else {}), {}
    weights: dict[str, float] = {}
    for route in doc.get("routes") or ():
        version = str(route.get("version"))
        weights[version] = weights.get(version, 0.0) + float(route.get("weight", 0))
    mirror: dict[str, float] = {}
    shadow = doc.get("shadow")
    if isinstance(shadow, Mapping) and shadow.get("version") is not None:
        mirror[str(shadow["version"])] = float(shadow.get("percent", 0))
    return weights, mirror


def _follows_champion(doc: Mapping[str, Any]) -> bool:
    return doc.get("mode") == "champion" or "routes" not in doc


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None
