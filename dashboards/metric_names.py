"""Metric names the Grafana drift dashboard expects that no turnout process exports yet.

The gateway's own metrics are in ``router.telemetry.names``. The drift monitor and the
alert outbox do not publish Prometheus gauges yet; these are the names (and labels) the
drift dashboard is generated against, kept in one place so the exporter, when it is
written, takes them from here (or moves them next to the gateway's names) and the
generated dashboards follow.
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
    "DRIFT_FEATURE_SCORE",
    "DRIFT_FEATURE_THRESHOLD",
    "DRIFT_WINDOWS_TOTAL",
    "LABEL_FEATURE",
    "LABEL_KIND",
    "LABEL_SEVERITY",
    "LABEL_SINK",
    "LABEL_STATISTIC",
    "LABEL_VERDICT",
]

LABEL_FEATURE: Final = "feature"
LABEL_STATISTIC: Final = "statistic"
LABEL_VERDICT: Final = "verdict"
LABEL_KIND: Final = "kind"
LABEL_SEVERITY: Final = "severity"
LABEL_SINK: Final = "sink"

# Bands as gauge values: OK 0, WARN 1, DRIFT 2.
BAND_VALUES: Final = {"OK": 0, "WARN": 1, "DRIFT": 2}

# gauge {model, version, feature, statistic}: the statistic of the newest window.
DRIFT_FEATURE_SCORE: Final = "turnout_drift_feature_score"
# gauge {model, version, feature}: the DRIFT threshold that statistic is held to.
DRIFT_FEATURE_THRESHOLD: Final = "turnout_drift_feature_threshold"
# gauge {model, version, feature}: the newest window's band (BAND_VALUES).
DRIFT_FEATURE_BAND: Final = "turnout_drift_feature_band"
# gauge {model, version}: the newest window's dataset-level band (BAND_VALUES).
DRIFT_DATASET_BAND: Final = "turnout_drift_dataset_band"
# gauge {model, version}: how many features are in band DRIFT in the newest window.
DRIFT_DRIFTED_FEATURES: Final = "turnout_drift_drifted_features"
# counter {model, version, verdict}: windows evaluated, by dataset verdict.
DRIFT_WINDOWS_TOTAL: Final = "turnout_drift_windows_total"
# counter {model, kind, severity}: alerts stored in the outbox (repeats not included).
ALERTS_TOTAL: Final = "turnout_alerts_total"
# gauge {sink}: deliveries waiting for a (re)try.
ALERT_DELIVERIES_PENDING: Final = "turnout_alert_deliveries_pending"
# counter {sink}: delivery attempts that failed (the receiver was down or said no).
ALERT_DELIVERY_FAILURES_TOTAL: Final = "turnout_alert_delivery_failures_total"
