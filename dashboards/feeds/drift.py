"""The drift page's data: per-feature bands over windows, one window's verdict feature by
feature, and one feature's distribution in one window next to the reference.

Reports come from ``monitors.store`` exactly as the monitor stored them: the document is
``monitors.policy.DriftResult.to_dict()`` plus the runner's fields (``streak``,
``window_kind``, ``window_size``, ``requests``, ``replicas``). It is read in one place,
``feature_entries`` / ``prediction_entry`` / ``report_summary``, leniently: a field that
is missing or of another type comes out as None, so an older or newer document still
draws.
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
    "HEAT",
    "FeatureEntry",
    "QualityEntry",
    "drift_models",
    "drift_overview",
    "feature_distribution",
    "feature_entries",
    "prediction_entry",
    "report_detail",
    "report_summary",
]

BANDS: Final = ("OK", "WARN", "DRIFT", "NO_DATA")
# Heatmap cell values (Plotly z): NO_DATA below OK so one colour scale orders them.
HEAT: Final[Mapping[str, int]] = {"NO_DATA": -1, "OK": 0, "WARN": 1, "DRIFT": 2}
_SEVERITY: Final[Mapping[str, int]] = {"DRIFT": 0, "WARN": 1, "?": 2, "OK": 3, "NO_DATA": 4}


@dataclass(frozen=True)
class QualityEntry:
    """A feature's data quality in one window (``monitors.policy.QualityResult``)."""

    band: str
    missing_rate: float | None = None
    reference_missing_rate: float | None = None
    out_of_range_rate: float | None = None
    unseen_rate: float | None = None
    issues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "missing_rate": self.missing_rate,
            "reference_missing_rate": self.reference_missing_rate,
            "out_of_range_rate": self.out_of_range_rate,
            "unseen_rate": self.unseen_rate,
            "issues": list(self.issues),
        }


@dataclass(frozen=True)
class FeatureEntry:
    """One feature (or the prediction) of one window, as the monitor judged it.

    ``statistic`` is the method's own value; ``effect`` the value held to
    ``warn_threshold`` / ``drift_threshold`` (for tests the effect floors, and
    ``p_adjusted``, Benjamini-Hochberg, must also pass the alpha levels).
    """

    name: str
    band: str  # OK, WARN, DRIFT, NO_DATA, or "?" when the report gives none
    kind: str | None = None
    method: str | None = None
    statistic: float | None = None
    effect: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    warn_threshold: float | None = None
    drift_threshold: float | None = None
    reference_count: int | None = None
    current_count: int | None = None
    quality: QualityEntry | None = None
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        """``effect`` over the DRIFT threshold: 1 or more is past it."""
        if self.effect is None or not self.drift_threshold:
            return None
        return self.effect / self.drift_threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "band": self.band,
            "kind": self.kind,
            "method": self.method,
            "statistic": self.statistic,
            "effect": self.effect,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "warn_threshold": self.warn_threshold,
            "drift_threshold": self.drift_threshold,
            "ratio": self.ratio,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "quality": None if self.quality is None else self.quality.to_dict(),
            "notes": list(self.notes),
        }

    def cell(self) -> dict[str, Any]:
        """What a heatmap cell needs for its hover text (48 windows x every feature are
        sent each poll, so the whole entry is not)."""
        return {
            "band": self.band,
            "method": self.method,
            "effect": self.effect,
            "warn": self.warn_threshold,
            "drift": self.drift_threshold,
            "p_adjusted": self.p_adjusted,
            "quality": None if self.quality is None else self.quality.band,
        }


def feature_entries(document: Mapping[str, Any]) -> list[FeatureEntry]:
    """The per-feature entries of a stored drift document, in the document's order."""
    raw = document.get("features")
    if not isinstance(raw, list):
        return []
    return [_entry(v) for v in raw if isinstance(v, Mapping)]


def prediction_entry(document: Mapping[str, Any]) -> FeatureEntry | None:
    """The prediction's entry (the model's outputs judged like a feature), if judged."""
    raw = document.get("prediction")
    return _entry(raw, default_name="prediction") if isinstance(raw, Mapping) else None


def report_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """The window-level part of a stored document: dataset verdict, counts, the runner's
    fields and the alpha levels the bands were judged at."""
    settings = document.get("settings")
    settings = settings if isinstance(settings, Mapping) else {}
    return {
        "verdict": _band(document.get("verdict")),
        "rows": _int(document.get("rows")),
        "reference_rows": _int(document.get("reference_rows")),
        "drifted": _strings(document.get("drifted")),
        "warned": _strings(document.get("warned")),
        "drift_share": _num(document.get("drift_share")),
        "streak": _int(document.get("streak")),
        "window_kind": _str(document.get("window_kind")),
        "window_size": _num(document.get("window_size")),
        "requests": _int(document.get("requests")),
        "replicas": _strings(document.get("replicas")),
        "alpha_warn": _num(settings.get("alpha_warn")),
        "alpha_drift": _num(settings.get("alpha_drift")),
        "drift_share_rule": _num(settings.get("drift_share")),
        "notes": _strings(document.get("notes")),
    }


def report_detail(report: StoredReport) -> dict[str, Any]:
    """One window: its summary, every feature's entry (worst first) and the prediction."""
    entries = feature_entries(report.document)
    order = {e.name: i for i, e in enumerate(entries)}
    entries.sort(key=lambda e: (_SEVERITY.get(e.band, 2), -(e.ratio or 0.0), order[e.name]))
    prediction = prediction_entry(report.document)
    return {
        "report_id": report.id,
        "model": report.model,
        "version": report.version,
        "window": _window(report),
        "summary": report_summary(report.document),
        "features": [e.to_dict() for e in entries],
        "prediction": None if prediction is None else prediction.to_dict(),
    }


def _entry(raw: Mapping[str, Any], default_name: str = "?") -> FeatureEntry:
    quality = raw.get("quality")
    return FeatureEntry(
        name=str(raw.get("name") or default_name),
        band=_band(raw.get("band")),
        kind=_str(raw.get("kind")),
        method=_str(raw.get("method")),
        statistic=_num(raw.get("statistic")),
        effect=_num(raw.get("effect")),
        p_value=_num(raw.get("p_value")),
        p_adjusted=_num(raw.get("p_adjusted")),
        warn_threshold=_num(raw.get("warn_threshold")),
        drift_threshold=_num(raw.get("drift_threshold")),
        reference_count=_int(raw.get("reference_count")),
        current_count=_int(raw.get("current_count")),
        quality=_quality(quality) if isinstance(quality, Mapping) else None,
        notes=tuple(_strings(raw.get("notes"))),
    )


def _quality(raw: Mapping[str, Any]) -> QualityEntry:
    return QualityEntry(
        band=_band(raw.get("band")),
        missing_rate=_num(raw.get("missing_rate")),
        reference_missing_rate=_num(raw.get("reference_missing_rate")),
        out_of_range_rate=_num(raw.get("out_of_range_rate")),
        unseen_rate=_num(raw.get("unseen_rate")),
        issues=tuple(_strings(raw.get("issues"))),
    )


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
    predictions = [prediction_entry(r.document) for r in reports]
    features: list[str] = []
    for by_name in entries:
        features.extend(n for n in by_name if n not in features)
    prediction = None
    if any(p is not None for p in predictions):
        prediction = {
            "z": [None if p is None else HEAT.get(p.band) for p in predictions],
            "cells": [None if p is None else p.cell() for p in predictions],
        }
    return {
        "model": model,
        "version": version,
        "versions": versions,
        "features": features,
        "windows": [_window(r) for r in reports],
        # z[feature][window]: -1 NO_DATA, 0 OK, 1 WARN, 2 DRIFT, None no entry (Plotly
        # heatmap rows).
        "z": [
            [HEAT.get(by_name[name].band) if name in by_name else None for by_name in entries]
            for name in features
        ],
        "cells": [
            [by_name[name].cell() if name in by_name else None for by_name in entries]
            for name in features
        ],
        "prediction": prediction,
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
    doc = r.document
    return {
        "id": r.id,
        "start": epoch(r.window_start),
        "end": epoch(r.window_end),
        "rows": r.rows,
        "verdict": r.verdict,
        "drifted": len(_strings(doc.get("drifted"))),
        "warned": len(_strings(doc.get("warned"))),
        "streak": _int(doc.get("streak")),
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


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value == value and abs(value) != float("inf") else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _band(value: Any) -> str:
    band = str(value or "?").upper()
    return band if band in BANDS else "?"
