"""Metric names the Grafana drift dashboard expects from the drift monitor and the alert
outbox, which do not export them yet.

The gateway's own metrics are in ``router.telemetry.names``. These names (and labels)
follow the stored drift document (``monitors.policy.DriftResult.to_dict()`` plus the
runner's fields) field by field, so the exporter, when it is written, takes them from
here (or moves them next to the gateway's names) and the generated dashboards follow.
Every drift gauge holds the value of the newest evaluated window of its
(model, version).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERTS_TOTAL",
    "ALERT_DELIVERIES_PENDING",
    "ALERT_DELIVERY_FAILURES_TOTAL",
    "BAND_VALUES",
    "DRIFT_DATASET_BAND",
    "DRIFT_DRIFTED_FEATURES",
    "DRIFT_FEATURE_BAND",
    "DRIFT_FEATURE_EFFECT",
    "DRIFT_FEATURE_P_ADJUSTED",
    "DRIFT_FEATURE_QUALITY_BAND",
    "DRIFT_FEATURE_THRESHOLD",
    "DRIFT_PREDICTION_BAND",
    "DRIFT_PREDICTION_EFFECT",
    "DRIFT_SHARE",
    "DRIFT_STREAK",
    "DRIFT_WINDOWS_TOTAL",
    "LABEL_FEATURE",
    "LABEL_KIND",
    "LABEL_LEVEL",
    "LABEL_METHOD",
    "LABEL_SEVERITY",
    "LABEL_SINK",
    "LABEL_VERDICT",
    "LEVEL_DRIFT",
    "LEVEL_WARN",
]

# Labels besides the gateway's `model` and `version` (router.telemetry.names).
LABEL_FEATURE: Final = "feature"  # a feature's name
LABEL_METHOD: Final = "method"  # psi, jensenshannon, wasserstein, ks, chisquare, z
LABEL_LEVEL: Final = "level"  # which threshold: LEVEL_WARN or LEVEL_DRIFT
LABEL_VERDICT: Final = "verdict"  # OK, WARN, DRIFT, NO_DATA
LABEL_KIND: Final = "kind"  # an alert's kind: drift, data_quality, rollout_rollback, ...
LABEL_SEVERITY: Final = "severity"  # info, warn, critical
LABEL_SINK: Final = "sink"  # an alert sink's name from the alerts config
LEVEL_WARN: Final = "warn"
LEVEL_DRIFT: Final = "drift"

# Bands as gauge values: NO_DATA -1 (nothing could be judged), OK 0, WARN 1, DRIFT 2.
BAND_VALUES: Final = {"NO_DATA": -1, "OK": 0, "WARN": 1, "DRIFT": 2}

# gauge {model, version, feature, method}: the feature's `effect`, the value held to its
# thresholds (the distance itself, KS D, total variation, |share difference|). Absent
# when the effect is null (a NO_DATA feature).
DRIFT_FEATURE_EFFECT: Final = "turnout_drift_feature_effect"
# gauge {model, version, feature, level}: `warn_threshold` / `drift_threshold`.
DRIFT_FEATURE_THRESHOLD: Final = "turnout_drift_feature_threshold"
# gauge {model, version, feature}: `p_adjusted` (Benjamini-Hochberg), tests only.
DRIFT_FEATURE_P_ADJUSTED: Final = "turnout_drift_feature_p_adjusted"
# gauge {model, version, feature}: the feature's `band` (BAND_VALUES).
DRIFT_FEATURE_BAND: Final = "turnout_drift_feature_band"
# gauge {model, version, feature}: the feature's `quality.band` (BAND_VALUES).
DRIFT_FEATURE_QUALITY_BAND: Final = "turnout_drift_feature_quality_band"
# gauge {model, version}: the prediction's `band` (BAND_VALUES); absent when not judged.
DRIFT_PREDICTION_BAND: Final = "turnout_drift_prediction_band"
# gauge {model, version, method}: the prediction's `effect`.
DRIFT_PREDICTION_EFFECT: Final = "turnout_drift_prediction_effect"
# gauge {model, version}: the window's `verdict` (BAND_VALUES).
DRIFT_DATASET_BAND: Final = "turnout_drift_dataset_band"
# gauge {model, version}: len(`drifted`).
DRIFT_DRIFTED_FEATURES: Final = "turnout_drift_drifted_features"
# gauge {model, version}: `drift_share` (drifted / judged features).
DRIFT_SHARE: Final = "turnout_drift_share"
# gauge {model, version}: `streak`, consecutive drifting windows ending with this one.
DRIFT_STREAK: Final = "turnout_drift_streak"
# counter {model, version, verdict}: windows evaluated and stored, by `verdict`.
DRIFT_WINDOWS_TOTAL: Final = "turnout_drift_windows_total"
# counter {model, kind, severity}: alerts stored in the outbox (repeats not included).
ALERTS_TOTAL: Final = "turnout_alerts_total"
# gauge {sink}: deliveries waiting for a (re)try.
ALERT_DELIVERIES_PENDING: Final = "turnout_alert_deliveries_pending"
# counter {sink}: delivery attempts that failed (the receiver was down or said no).
ALERT_DELIVERY_FAILURES_TOTAL: Final = "turnout_alert_delivery_failures_total"
