"""What the drift monitor plugs in: the verdict for a live window, and the alert it raises.

``policy_evaluator`` judges a merged window with the statistics and the policy
(``monitors.check.evaluate_window``), adds prediction drift when the reference outputs
are known, and turns what cannot be judged (no rows, no reference profile, a sketch
that does not fit the profile) into a NO_DATA report that says why, never an
exception that would stop the loop. ``drift_alert_hook`` raises one alert per run of
drifting windows through the outbox, with the drifted features and a report link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from monitors.alerts import AlertKind, AlertsConfig, FeatureDrift, NewAlert, Severity, raise_alert
from monitors.check import evaluate_window, output_summary_input
from monitors.errors import MonitorError
from monitors.policy import DEFAULT_POLICY, DriftPolicy
from monitors.profile_schema import ReferenceProfile
from monitors.store import StoredReport
from monitors.windows import WindowData
from router.telemetry.outputs import OUTPUT_GRID

__all__ = [
    "ReferenceOutputs",
    "drift_alert_hook",
    "policy_evaluator",
    "quality_alert_hook",
    "report_path",
]

# (model, version) -> the version's outputs on its reference sample, or None.
ReferenceOutputs = Callable[[str, str], npt.NDArray[Any] | None]


def _no_data(reason: str, data: WindowData, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "NO_DATA", {
        "v": 1,
        "verdict": "NO_DATA",
        "rows": data.rows,
        "features": [],
        "drifted": [],
        "warned": [],
        "notes": [reason],
        **extra,
    }


def _missing_rates(data: WindowData) -> list[dict[str, Any]]:
    """Data quality without a profile: each feature's share of missing values."""
    if data.sketch is None:
        return []
    out: list[dict[str, Any]] = []
    for name, f in data.sketch.features.items():
        total = f.total
        out.append(
            {
                "name": name,
                "kind": f.kind,
                "method": None,
                "band": "NO_DATA",
                "current_count": total,
                "quality": {
                    "missing_rate": (f.missing / total) if total else None,
                    "band": "OK",
                    "issues": [],
                },
                "notes": ["no reference profile: data quality only"],
            }
        )
    return out


def policy_evaluator(
    policy: DriftPolicy = DEFAULT_POLICY, reference_outputs: ReferenceOutputs | None = None
) -> Callable[[ReferenceProfile | None, WindowData], tuple[str, dict[str, Any]]]:
    def evaluate(profile: ReferenceProfile | None, data: WindowData) -> tuple[str, dict[str, Any]]:
        if data.sketch is None or data.rows == 0:
            return _no_data("no input rows were sketched in this window", data)
        if profile is None:
            return _no_data(
                "no reference profile: drift is not judged, data quality only",
                data,
                features=_missing_rates(data),
            )
        prediction = None
        notes: list[str] = []
        outputs = data.outputs.to_dict()
        if reference_outputs is not None and (outputs["labels"] or outputs["values"]):
            try:
                ref = reference_outputs(data.model, data.version)
            except Exception as exc:  # the model would not load or run: inputs still count
                ref = None
                notes.append(f"prediction drift skipped: reference outputs failed ({exc})")
            if ref is not None and np.asarray(ref).size:
                prediction = output_summary_input(ref, outputs, grid=OUTPUT_GRID)
        try:
            result = evaluate_window(
                profile,
                data.sketch,
                sample=data.sample_frame(),
                policy=policy,
                prediction=prediction,
            )
        except MonitorError as exc:
            return _no_data(f"cannot compare this window with the reference: {exc}", data)
        doc = result.to_dict()
        doc["notes"] = [*doc.get("notes", []), *notes]
        return result.verdict, doc

    return evaluate


def report_path(report_id: int) -> str:
    """The HTML report of a stored window (relative to TURNOUT_PUBLIC_URL)."""
    return f"/drift/reports/{report_id}/html"


def drift_alert_hook(
    config: AlertsConfig, *, top: int = 5
) -> Callable[[Session, str, str, Mapping[str, Any], StoredReport], str | None]:
    """The runner's alert: one per run of drifting windows, in the report's transaction."""

    def hook(
        session: Session,
        model: str,
        version: str,
        document: Mapping[str, Any],
        report: StoredReport,
    ) -> str | None:
        features = [f for f in document.get("features", []) if f.get("band") == "DRIFT"]
        features.sort(key=_excess, reverse=True)
        evidence = tuple(
            FeatureDrift(
                feature=str(f["name"]),
                statistic=str(f.get("method") or "?"),
                value=float(f.get("effect") or 0.0),
                threshold=float(f.get("drift_threshold") or 0.0),
                band="DRIFT",
                p_value=f.get("p_adjusted"),
            )
            for f in features[:top]
        )
        total = len(document.get("features", []))
        prediction = document.get("prediction") or {}
        what = f"{len(features)} of {total} features drifted"
        if prediction.get("band") == "DRIFT":
            what += ", and the predictions"
        raised = raise_alert(
            session,
            config,
            NewAlert(
                kind=AlertKind.DRIFT,
                severity=Severity.CRITICAL,
                model=model,
                version=version,
                title=f"{model} v{version}: {what}",
                summary=(
                    f"{document.get('streak', 1)} consecutive drifting windows; this one "
                    f"{report.window_start.isoformat()} .. {report.window_end.isoformat()}, "
                    f"{report.rows} rows"
                ),
                features=evidence,
                window_start=report.window_start,
                window_end=report.window_end,
                report_url=report_path(report.id),
                details={
                    "report_id": report.id,
                    "report_json": f"/api/v1/drift/reports/{report.id}",
                    "drift_share": document.get("drift_share"),
                    "drifted": list(document.get("drifted", [])),
                    "prediction_band": prediction.get("band"),
                },
            ),
        )
        return raised.alert_id

    return hook


def quality_alert_hook(
    config: AlertsConfig,
) -> Callable[[Session, str, str, Mapping[str, Any], StoredReport], list[str]]:
    """A data-quality alert per feature whose quality band is DRIFT in a stored window
    (missing values, values outside the reference range, unseen categories, or values a
    discrete numeric feature never took in the reference, far beyond the reference's
    own rate). One per feature: the outbox's dedup key and cooldown keep
    a lasting problem from alerting every window."""

    def hook(
        session: Session,
        model: str,
        version: str,
        document: Mapping[str, Any],
        report: StoredReport,
    ) -> list[str]:
        raised: list[str] = []
        for f in document.get("features", []):
            quality = f.get("quality") or {}
            if quality.get("band") != "DRIFT":
                continue
            issues = "; ".join(quality.get("issues") or []) or "data quality out of its band"
            result = raise_alert(
                session,
                config,
                NewAlert(
                    kind=AlertKind.DATA_QUALITY,
                    severity=Severity.WARN,
                    model=model,
                    version=version,
                    feature=str(f.get("name")),
                    title=f"{model} v{version}: data quality of {f.get('name')}",
                    summary=issues,
                    window_start=report.window_start,
                    window_end=report.window_end,
                    report_url=report_path(report.id),
                    details={
                        "report_id": report.id,
                        "missing_rate": quality.get("missing_rate"),
                        "reference_missing_rate": quality.get("reference_missing_rate"),
                        "out_of_range_rate": quality.get("out_of_range_rate"),
                        "unseen_rate": quality.get("unseen_rate"),
                    },
                ),
            )
            raised.append(result.alert_id)
        return raised

    return hook


def _excess(feature: Mapping[str, Any]) -> float:
    threshold = float(feature.get("drift_threshold") or 0.0)
    effect = float(feature.get("effect") or 0.0)
    return effect / threshold if threshold > 0 else effect
