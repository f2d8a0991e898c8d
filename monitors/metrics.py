"""The drift monitor's Prometheus samples: its newest window per (model, version).

The process that runs the monitor renders these on ``/metrics`` beside the gateway's
counters (``router.telemetry.names`` declares them). Values follow the stored report
document field by field; bands are numbers (``BAND_VALUES``: NO_DATA -1 .. DRIFT 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from monitors.store import StoredReport
from router.telemetry import Sample
from router.telemetry import names as n

__all__ = ["drift_samples"]


def _band(value: Any) -> float:
    return float(n.BAND_VALUES.get(str(value), -1))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def drift_samples(
    latest: Iterable[StoredReport], windows: Mapping[tuple[str, str, str], int]
) -> list[Sample]:
    """Samples for the newest report of each (model, version), and the window counts
    by (model, version, verdict)."""
    out: list[Sample] = []
    for report in latest:
        mv = {n.LABEL_MODEL: report.model, n.LABEL_VERSION: report.version}
        doc = report.document
        out.append(Sample(n.DRIFT_DATASET_BAND, _band(report.verdict), mv))
        out.append(Sample(n.DRIFT_DRIFTED_FEATURES, float(len(doc.get("drifted") or ())), mv))
        share = _number(doc.get("drift_share"))
        if share is not None:
            out.append(Sample(n.DRIFT_SHARE, share, mv))
        out.append(Sample(n.DRIFT_STREAK, float(doc.get("streak") or 0), mv))
        for f in doc.get("features") or ():
            fl = {**mv, n.LABEL_FEATURE: str(f.get("name"))}
            out.append(Sample(n.DRIFT_FEATURE_BAND, _band(f.get("band")), fl))
            quality = f.get("quality") or {}
            out.append(Sample(n.DRIFT_FEATURE_QUALITY_BAND, _band(quality.get("band")), fl))
            effect = _number(f.get("effect"))
            if effect is not None:
                method = str(f.get("method") or "")
                out.append(Sample(n.DRIFT_FEATURE_EFFECT, effect, {**fl, n.LABEL_METHOD: method}))
            for level, key in (
                (n.LEVEL_WARN, "warn_threshold"),
                (n.LEVEL_DRIFT, "drift_threshold"),
            ):
                threshold = _number(f.get(key))
                if threshold is not None:
                    labels = {**fl, n.LABEL_LEVEL: level}
                    out.append(Sample(n.DRIFT_FEATURE_THRESHOLD, threshold, labels))
            p = _number(f.get("p_adjusted"))
            if p is not None:
                out.append(Sample(n.DRIFT_FEATURE_P_ADJUSTED, p, fl))
        prediction = doc.get("prediction")
        if isinstance(prediction, Mapping):
            out.append(Sample(n.DRIFT_PREDICTION_BAND, _band(prediction.get("band")), mv))
            effect = _number(prediction.get("effect"))
            if effect is not None:
                method = str(prediction.get("method") or "")
                out.append(
                    Sample(n.DRIFT_PREDICTION_EFFECT, effect, {**mv, n.LABEL_METHOD: method})
                )
    for (model, version, verdict), count in sorted(windows.items()):
        labels = {n.LABEL_MODEL: model, n.LABEL_VERSION: version, n.LABEL_VERDICT: verdict}
        out.append(Sample(n.DRIFT_WINDOWS_TOTAL, float(count), labels))
    return out
