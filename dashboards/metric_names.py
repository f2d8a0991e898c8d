"""Metric names the Grafana drift dashboard reads besides the gateway's request metrics.

The drift gauges are declared with the gateway's metrics in ``router.telemetry.names``
(the process running the drift monitor renders them on ``/metrics``) and re-exported
here for the dashboard generator. The alert names below are not exported by any
process yet: their panels stay empty until they are.
"""

from __future__ import annotations

from typing import Final

from router.telemetry.names import (
    BAND_VALUES,
    DRIFT_DATASET_BAND,
    DRIFT_DRIFTED_FEATURES,
    DRIFT_FEATURE_BAND,
    DRIFT_FEATURE_EFFECT,
    DRIFT_FEATURE_P_ADJUSTED,
    DRIFT_FEATURE_QUALITY_BAND,
    DRIFT_FEATURE_THRESHOLD,
    DRIFT_PREDICTION_BAND,
    DRIFT_PREDICTION_EFFECT,
    DRIFT_SHARE,
    DRIFT_STREAK,
    DRIFT_WINDOWS_TOTAL,
    LABEL_FEATURE,
    LABEL_LEVEL,
    LABEL_METHOD,
    LABEL_VERDICT,
)

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

LEVEL_WARN: Final = "warn"
LEVEL_DRIFT: Final = "drift"
LABEL_KIND: Final = "kind"  # an alert's kind: drift, data_quality, rollout_rollback, ...
LABEL_SEVERITY: Final = "severity"  # info, warn, critical
LABEL_SINK: Final = "sink"  # an alert sink's name from the alerts config

# counter {model, kind, severity}: alerts stored in the outbox (repeats not included).
ALERTS_TOTAL: Final = "turnout_alerts_total"
# gauge {sink}: deliveries waiting for a (re)try.
ALERT_DELIVERIES_PENDING: Final = "turnout_alert_deliveries_pending"
# counter {sink}: delivery attempts that failed (the receiver was down or said no).
ALERT_DELIVERY_FAILURES_TOTAL: Final = "turnout_alert_delivery_failures_total"
