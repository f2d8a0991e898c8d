"""The drift page's data: per-feature bands over windows, and one feature's distribution
in one window next to the reference.

Reports come from ``monitors.store`` exactly as the monitor stored them. The shape of
a report's per-feature entries is read in one place, ``feature_entries``, so a change
of the monitor's document touches one function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from dashboards.feeds._time import epoch
from migrations.models import DriftReport
from monitors.profile_schema import FeatureProfile, ReferenceProfile
from monitors.store import StoredReport, latest_reports
from router.telemetry.sketch_schema import OTHER, FeatureSketch
from router.telemetry.store import read_merged

__all__ = [
    "BANDS",
    "FeatureEntry",
    "drift_models",
    "drift_overview",
    "feature_distribution",
    "feature_entries",
]

BANDS: Final = ("OK", "WARN", "DRIFT")


@dataclass(frozen=True)
class FeatureEntry:
    """One feature of one window, as the monitor judged it."""

    name: str
    band: str  # OK, WARN, DRIFT, or "?" when the report gives none
    statistic: str | None
    value: float | None
    threshold: float | None
    warn: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "band": self.band,
            "statistic": self.statistic,
            "value": self.value,
            "threshold": self.threshold,
            "warn": self.warn,
            "note": self.note,
        }


def feature_entries(document: Mapping[str, Any]) -> list[FeatureEntry]:
    """The per-feature entries of a stored drift document.

    ``document["features"]`` is a list of entries with a ``name``, or a mapping from
    name to entry; an entry has ``band`` (OK / WARN / DRIFT), ``statistic`` (its
    name), ``value`` and ``threshold``. Missing or odd fields come out as None / "?".
    """
    raw = document.get("features")
    items: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(raw, Mapping):
        items = [(str(k), v) for k, v in raw.items() if isinstance(v, Mapping)]
    elif isinstance(raw, list):
        items = [(str(v.get("name", "?")), v) for v in raw if isinstance(v, Mapping)]
    out: list[FeatureEntry] = []
    for name, entry in items:
        band = str(entry.get("band") or entry.get("verdict") or "?").upper()
        thresholds = entry.get("thresholds")
        warn = None
        threshold = _num(entry.get("threshold"))
        if isinstance(thresholds, Mapping):
            warn = _num(thresholds.get("warn"))
            threshold = threshold if threshold is not None else _num(thresholds.get("drift"))
        statistic = entry.get("statistic")
        out.append(
            FeatureEntry(
                name=name,
                band=band if band in BANDS else "?",
                statistic=None if statistic is None else str(statistic),
                value=_num(entry.get("value")),
                threshold=threshold,
                warn=warn if warn is not None else _num(entry.get("warn")),
                note=None if entry.get("note") is None else str(entry.get("note")),
            )
        )
    return out


def drift_models(session: Session) -> list[dict[str, Any]]:
    """Every model with drift reports: versions, windows and the newest verdict."""
    rows = session.execute(
        select(
            DriftReport.model_name,
            func.count(DriftReport.id),
            func.count(distinct(DriftReport.version)),
            func.max(DriftReport.window_end),
        )
        .group_by(DriftReport.model_name)
        .order_by(DriftReport.model_name)
    ).all()
    out = []
    for model, windows, versions, last_end in rows:
        newest = latest_reports(session, model, limit=1)
        out.append(
            {
                "model": model,
                "windows": int(windows),
                "versions": int(versions),
                "last_window_end": epoch(last_end),
                "verdict": newest[0].verdict if newest else None,
                "version": newest[0].version if newest else None,
            }
        )
    return out


def drift_overview(
    session: Session, model: str, version: str | None = None, *, limit: int = 48
) -> dict[str, Any]:
    """The newest ``limit`` windows of one version (the newest reported one by
    default), oldest first, with a band matrix of features x windows."""
    found = session.scalars(
        select(DriftReport.version).where(DriftReport.model_name == model).distinct()
    )
    versions = sorted(set(found), key=lambda v: (0, int(v)) if v.isdigit() else (1, v))
    if version is None:
        newest = latest_reports(session, model, limit=1)
        version = newest[0].version if newest else None
    reports = [] if version is None else latest_reports(session, model, version, limit=limit)
    reports.reverse()
    entries = [{e.name: e for e in feature_entries(r.document)} for r in reports]
    features: list[str] = []
    for by_name in entries:
        features.extend(n for n in by_name if n not in features)
    band_index = {b: i for i, b in enumerate(BANDS)}

    def cell(by_name: Mapping[str, FeatureEntry], name: str) -> dict[str, Any] | None:
        e = by_name.get(name)
        return None if e is None else e.to_dict()

    return {
        "model": model,
        "version": version,
        "versions": versions,
        "features": features,
        "windows": [_window(r) for r in reports],
        # z[feature][window]: 0 OK, 1 WARN, 2 DRIFT, None unknown (Plotly heatmap rows).
        "z": [
            [band_index.get(by_name[name].band) if name in by_name else None for by_name in entries]
            for name in features
        ],
        "cells": [[cell(by_name, name) for by_name in entries] for name in features],
    }


def feature_distribution(
    session: Session, report: StoredReport, feature: str, profile: ReferenceProfile | None
) -> dict[str, Any]:
    """``feature`` in the report's window (every replica's input sketches merged)
    next to the reference profile's distribution, as shares of rows."""
    merged = read_merged(
        session,
        report.model,
        since=report.window_start,
        until=report.window_end,
        versions=[report.version],
        include_sketches=True,
    ).get(report.version)
    sketch = None
    if merged is not None and merged.sketches is not None:
        sketch = merged.sketches.features.get(feature)
    ref: FeatureProfile | None = None
    if profile is not None:
        try:
            ref = profile.feature(feature)
        except KeyError:
            ref = None
    entry = next((e for e in feature_entries(report.document) if e.name == feature), None)
    base: dict[str, Any] = {
        "report_id": report.id,
        "model": report.model,
        "version": report.version,
        "feature": feature,
        "window": _window(report),
        "entry": None if entry is None else entry.to_dict(),
        "labels": [],
        "reference": [],
        "current": [],
        "notes": [],
    }
    if sketch is None:
        base["notes"].append("no input sketch of this feature was recorded in the window")
    if ref is None:
        base["notes"].append("the version's reference profile has no such feature")
    if ref is not None and ref.kind == "numeric" and ref.bins is not None:
        edges = ref.bins.edges
        base["labels"] = [f"{_fmt(a)} – {_fmt(b)}" for a, b in zip(edges, edges[1:], strict=False)]
        base["reference"] = _shares(ref.bins.counts)
        if sketch is not None and sketch.kind == "numeric" and len(sketch.bins) == len(edges) - 1:
            base["current"] = _shares(sketch.bins)
            _outside(base, sketch)
        elif sketch is not None:
            base["notes"].append("the window's sketch does not use the reference bins")
    elif ref is not None and ref.kind == "categorical" and ref.categories is not None:
        names = [c.value for c in ref.categories]
        base["labels"] = [*names, OTHER]
        base["reference"] = _shares([c.count for c in ref.categories] + [ref.other_count or 0])
        if sketch is not None and sketch.kind == "categorical":
            counts = [sketch.counts.get(n, 0) for n in names]
            counts.append(sum(v for k, v in sketch.counts.items() if k not in set(names)))
            base["current"] = _shares(counts)
            if sketch.missing:
                base["notes"].append(f"{sketch.missing} missing values in the window")
    elif sketch is not None:
        raw = sorted(sketch.raw_bins().items())
        base["labels"] = [str(k) for k, _ in raw]
        base["current"] = _shares([v for _, v in raw])
        base["notes"].append("no reference bins: the window is shown on the raw grid alone")
    base["current_rows"] = 0 if sketch is None else sketch.total
    return base


def _window(r: StoredReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "start": epoch(r.window_start),
        "end": epoch(r.window_end),
        "rows": r.rows,
        "verdict": r.verdict,
    }


def _outside(doc: dict[str, Any], sketch: FeatureSketch) -> None:
    if sketch.below or sketch.above:
        doc["notes"].append(
            f"{sketch.below} values below and {sketch.above} above the reference range "
            "(counted in the outer bins)"
        )
    if sketch.missing:
        doc["notes"].append(f"{sketch.missing} missing values in the window")


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = float(value)
    return out if out == out and abs(out) != float("inf") else None
