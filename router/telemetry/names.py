"""Every metric name, label name and request outcome of turnout, in one place.

Dashboards (Grafana JSON, the web pages) are generated from these constants, so a
rename cannot silently break a panel. ``METRICS`` holds each metric's type, labels and
help text; ``/metrics`` takes its HELP and TYPE lines from there.

Metrics (labels in braces):

``turnout_requests_total{model,version,outcome}`` (counter)
    Requests answered by a gateway replica for a model version, by outcome: ``ok``,
    ``client_error`` (bad input, 4xx), ``model_error`` (the model failed, 5xx),
    ``timeout``. Mirrored (shadow) requests are not counted here.
``turnout_rows_total{model,version}`` (counter)
    Input rows scored; a batch request counts all its rows.
``turnout_request_duration_seconds{model,version}`` (histogram)
    Time from routing a request to having its answer, every outcome included.
``turnout_shadow_requests_total{model,version,primary_version,outcome}`` (counter)
    Requests mirrored to ``version`` while ``primary_version`` answered the client.
``turnout_shadow_comparisons_total{model,version,primary_version}`` (counter)
    Mirrored requests whose answer was compared with the primary's.
``turnout_shadow_disagreements_total{model,version,primary_version}`` (counter)
    Compared mirrored requests whose answer differed from the primary's (labels
    differ, or numbers differ by more than the tolerance).
``turnout_policy_revision{model}`` (gauge)
    The routing-policy revision a gateway replica is routing ``model`` by.
``turnout_policy_stale`` (gauge)
    1 while the replica cannot read the control DB and routes by its last known
    policy, else 0.
``turnout_model_loaded{model,version}`` (gauge)
    1 while the replica holds a warmed session for the version, else 0.
``turnout_telemetry_flush_errors_total`` (counter)
    Failed attempts to write metric buckets to the control DB.
``turnout_telemetry_dropped_buckets_total`` (counter)
    Buckets dropped because the flush backlog was full (the DB was down too long).

Rendered by the process running the drift monitor (``turnout serve`` with role
``all``), about the newest stored window of each version; bands are -1 (no data),
0 OK, 1 WARN, 2 DRIFT:

``turnout_drift_feature_effect{model,version,feature,method}`` (gauge)
    The feature's drift effect (the value held to its thresholds).
``turnout_drift_feature_threshold{model,version,feature,level}`` (gauge)
    Its calibrated thresholds, ``level`` ``warn`` or ``drift``.
``turnout_drift_feature_p_adjusted{model,version,feature}`` (gauge)
    Its Benjamini-Hochberg adjusted p-value, for the tests that have one.
``turnout_drift_feature_band{model,version,feature}`` (gauge)
    Its band.
``turnout_drift_feature_quality_band{model,version,feature}`` (gauge)
    Its data-quality band (missing, out-of-range, unseen values).
``turnout_drift_prediction_band{model,version}`` (gauge)
    The band of the model's predictions, when they were judged.
``turnout_drift_prediction_effect{model,version,method}`` (gauge)
    Their drift effect.
``turnout_drift_dataset_band{model,version}`` (gauge)
    The window's verdict.
``turnout_drift_drifted_features{model,version}`` (gauge)
    How many features are in band DRIFT.
``turnout_drift_share{model,version}`` (gauge)
    Drifted features over judged features.
``turnout_drift_streak{model,version}`` (gauge)
    Drifting windows in a row, ending with the newest.
``turnout_drift_windows_total{model,version,verdict}`` (counter)
    Windows judged and stored by this process, by verdict.

Rendered by the process running the alert delivery worker (``turnout serve`` with role
``all``). The first two are facts of the control DB's outbox, read by the worker on its
own loop (every process sharing the DB shows the same numbers: aggregate them across
processes with ``max``); the third is counted by each process (``sum`` them):

``turnout_alerts_total{model,kind,severity}`` (counter)
    Alerts stored in the outbox; repeats inside a cooldown are not counted. Alerts
    deleted by retention stay counted.
``turnout_alert_deliveries_pending{sink}`` (gauge)
    Deliveries waiting for a (re)try: status ``pending`` (due, backing off, or being
    sent).
``turnout_alert_delivery_failures_total{sink}`` (counter)
    Delivery attempts by this process that failed (the receiver was down or said no).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
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
    "LABEL_VERDICT",
    "LEVEL_DRIFT",
    "LEVEL_WARN",
    "ALERTS_TOTAL",
    "ALERT_DELIVERIES_PENDING",
    "ALERT_DELIVERY_FAILURES_TOTAL",
    "FLUSH_ERRORS_TOTAL",
    "FLUSH_DROPPED_TOTAL",
    "LABEL_MODEL",
    "LABEL_OUTCOME",
    "LABEL_PRIMARY_VERSION",
    "LABEL_SEVERITY",
    "LABEL_SINK",
    "LABEL_VERSION",
    "METRICS",
    "MODEL_LOADED",
    "OUTCOMES",
    "OUTCOME_CLIENT_ERROR",
    "OUTCOME_MODEL_ERROR",
    "OUTCOME_OK",
    "OUTCOME_TIMEOUT",
    "POLICY_REVISION",
    "POLICY_STALE",
    "REQUESTS_TOTAL",
    "REQUEST_DURATION",
    "ROWS_TOTAL",
    "SHADOW_COMPARISONS_TOTAL",
    "SHADOW_DISAGREEMENTS_TOTAL",
    "SHADOW_REQUESTS_TOTAL",
    "MetricSpec",
    "MetricType",
]

LABEL_MODEL: Final = "model"
LABEL_VERSION: Final = "version"
LABEL_OUTCOME: Final = "outcome"
LABEL_PRIMARY_VERSION: Final = "primary_version"

OUTCOME_OK: Final = "ok"
OUTCOME_CLIENT_ERROR: Final = "client_error"
OUTCOME_MODEL_ERROR: Final = "model_error"
OUTCOME_TIMEOUT: Final = "timeout"
OUTCOMES: Final = (OUTCOME_OK, OUTCOME_CLIENT_ERROR, OUTCOME_MODEL_ERROR, OUTCOME_TIMEOUT)

REQUESTS_TOTAL: Final = "turnout_requests_total"
ROWS_TOTAL: Final = "turnout_rows_total"
REQUEST_DURATION: Final = "turnout_request_duration_seconds"
SHADOW_REQUESTS_TOTAL: Final = "turnout_shadow_requests_total"
SHADOW_COMPARISONS_TOTAL: Final = "turnout_shadow_comparisons_total"
SHADOW_DISAGREEMENTS_TOTAL: Final = "turnout_shadow_disagreements_total"
POLICY_REVISION: Final = "turnout_policy_revision"
POLICY_STALE: Final = "turnout_policy_stale"
MODEL_LOADED: Final = "turnout_model_loaded"
FLUSH_ERRORS_TOTAL: Final = "turnout_telemetry_flush_errors_total"
FLUSH_DROPPED_TOTAL: Final = "turnout_telemetry_dropped_buckets_total"

# The drift monitor's view of its newest window per (model, version); rendered by the
# process that runs the monitor (turnout serve, role all). Bands as values:
# NO_DATA -1, OK 0, WARN 1, DRIFT 2.
LABEL_FEATURE: Final = "feature"
LABEL_METHOD: Final = "method"
LABEL_LEVEL: Final = "level"  # which threshold: LEVEL_WARN or LEVEL_DRIFT
LEVEL_WARN: Final = "warn"
LEVEL_DRIFT: Final = "drift"
LABEL_VERDICT: Final = "verdict"
BAND_VALUES: Final = {"NO_DATA": -1, "OK": 0, "WARN": 1, "DRIFT": 2}
DRIFT_FEATURE_EFFECT: Final = "turnout_drift_feature_effect"
DRIFT_FEATURE_THRESHOLD: Final = "turnout_drift_feature_threshold"
DRIFT_FEATURE_P_ADJUSTED: Final = "turnout_drift_feature_p_adjusted"
DRIFT_FEATURE_BAND: Final = "turnout_drift_feature_band"
DRIFT_FEATURE_QUALITY_BAND: Final = "turnout_drift_feature_quality_band"
DRIFT_PREDICTION_BAND: Final = "turnout_drift_prediction_band"
DRIFT_PREDICTION_EFFECT: Final = "turnout_drift_prediction_effect"
DRIFT_DATASET_BAND: Final = "turnout_drift_dataset_band"
DRIFT_DRIFTED_FEATURES: Final = "turnout_drift_drifted_features"
DRIFT_SHARE: Final = "turnout_drift_share"
DRIFT_STREAK: Final = "turnout_drift_streak"
DRIFT_WINDOWS_TOTAL: Final = "turnout_drift_windows_total"

# The alert outbox, rendered by the process that runs the delivery worker (turnout
# serve, role all). Stored alerts and pending deliveries are read from the control DB
# (the same in every process on it); failed attempts are counted per process.
LABEL_KIND: Final = "kind"  # an alert's kind: drift, data_quality, rollout_rollback, ...
LABEL_SEVERITY: Final = "severity"  # info, warn, critical
LABEL_SINK: Final = "sink"  # an alert sink's name from the alerts config
ALERTS_TOTAL: Final = "turnout_alerts_total"
ALERT_DELIVERIES_PENDING: Final = "turnout_alert_deliveries_pending"
ALERT_DELIVERY_FAILURES_TOTAL: Final = "turnout_alert_delivery_failures_total"

MetricType = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """What ``/metrics`` says about one metric: its type, label names and help text."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str


_MV = (LABEL_MODEL, LABEL_VERSION)
_SHADOW = (LABEL_MODEL, LABEL_VERSION, LABEL_PRIMARY_VERSION)
_MVF = (LABEL_MODEL, LABEL_VERSION, LABEL_FEATURE)

METRICS: Final[dict[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            REQUESTS_TOTAL,
            "counter",
            (*_MV, LABEL_OUTCOME),
            "Requests answered per model version, by outcome.",
        ),
        MetricSpec(ROWS_TOTAL, "counter", _MV, "Input rows scored per model version."),
        MetricSpec(
            REQUEST_DURATION,
            "histogram",
            _MV,
            "Request latency per model version in seconds, every outcome included.",
        ),
        MetricSpec(
            SHADOW_REQUESTS_TOTAL,
            "counter",
            (*_SHADOW, LABEL_OUTCOME),
            "Requests mirrored to a shadow version, by the shadow's outcome.",
        ),
        MetricSpec(
            SHADOW_COMPARISONS_TOTAL,
            "counter",
            _SHADOW,
            "Mirrored requests whose answer was compared with the primary's.",
        ),
        MetricSpec(
            SHADOW_DISAGREEMENTS_TOTAL,
            "counter",
            _SHADOW,
            "Compared mirrored requests whose answer differed from the primary's.",
        ),
        MetricSpec(
            POLICY_REVISION,
            "gauge",
            (LABEL_MODEL,),
            "Routing-policy revision this replica routes the model by.",
        ),
        MetricSpec(
            POLICY_STALE,
            "gauge",
            (),
            "1 while the control DB is unreachable and the last known policy is used.",
        ),
        MetricSpec(MODEL_LOADED, "gauge", _MV, "1 while this replica holds a warmed session."),
        MetricSpec(
            FLUSH_ERRORS_TOTAL,
            "counter",
            (),
            "Failed attempts to write metric buckets to the control DB.",
        ),
        MetricSpec(
            FLUSH_DROPPED_TOTAL,
            "counter",
            (),
            "Metric buckets dropped because the flush backlog was full.",
        ),
        MetricSpec(
            DRIFT_FEATURE_EFFECT,
            "gauge",
            (*_MVF, LABEL_METHOD),
            "Newest window: the feature's drift effect, the value held to its thresholds.",
        ),
        MetricSpec(
            DRIFT_FEATURE_THRESHOLD,
            "gauge",
            (*_MVF, LABEL_LEVEL),
            "Newest window: the feature's calibrated warn and drift thresholds.",
        ),
        MetricSpec(
            DRIFT_FEATURE_P_ADJUSTED,
            "gauge",
            _MVF,
            "Newest window: the feature's Benjamini-Hochberg adjusted p-value (tests only).",
        ),
        MetricSpec(
            DRIFT_FEATURE_BAND,
            "gauge",
            _MVF,
            "Newest window: the feature's band (-1 no data, 0 OK, 1 WARN, 2 DRIFT).",
        ),
        MetricSpec(
            DRIFT_FEATURE_QUALITY_BAND,
            "gauge",
            _MVF,
            "Newest window: the feature's data-quality band (-1 .. 2 as for drift).",
        ),
        MetricSpec(
            DRIFT_PREDICTION_BAND,
            "gauge",
            _MV,
            "Newest window: the band of the model's predictions (-1 .. 2).",
        ),
        MetricSpec(
            DRIFT_PREDICTION_EFFECT,
            "gauge",
            (*_MV, LABEL_METHOD),
            "Newest window: the drift effect of the model's predictions.",
        ),
        MetricSpec(
            DRIFT_DATASET_BAND, "gauge", _MV, "Newest window: the dataset verdict (-1 .. 2)."
        ),
        MetricSpec(DRIFT_DRIFTED_FEATURES, "gauge", _MV, "Newest window: features in band DRIFT."),
        MetricSpec(DRIFT_SHARE, "gauge", _MV, "Newest window: drifted / judged features."),
        MetricSpec(
            DRIFT_STREAK, "gauge", _MV, "Drifting windows in a row, ending with the newest."
        ),
        MetricSpec(
            DRIFT_WINDOWS_TOTAL,
            "counter",
            (*_MV, LABEL_VERDICT),
            "Drift windows judged and stored by this process, by verdict.",
        ),
        MetricSpec(
            ALERTS_TOTAL,
            "counter",
            (LABEL_MODEL, LABEL_KIND, LABEL_SEVERITY),
            "Alerts stored in the outbox of the control DB (repeats not included).",
        ),
        MetricSpec(
            ALERT_DELIVERIES_PENDING,
            "gauge",
            (LABEL_SINK,),
            "Alert deliveries in the control DB waiting for a (re)try.",
        ),
        MetricSpec(
            ALERT_DELIVERY_FAILURES_TOTAL,
            "counter",
            (LABEL_SINK,),
            "Alert delivery attempts by this process that failed.",
        ),
    )
}
