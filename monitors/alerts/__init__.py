"""Alerts: rules and routing, the outbox in the control DB, sinks, and the delivery worker.

Raise with `raise_alert(session, config, NewAlert(...))` inside the caller's
transaction; a `DeliveryWorker` sends what the outbox holds, at least once per sink.
"""

from __future__ import annotations

from monitors.alerts.config import load_config
from monitors.alerts.errors import (
    AlertConfigError,
    AlertError,
    AlertNotFound,
    DeliveryError,
    InvalidAlertFilter,
    UnknownSink,
)
from monitors.alerts.metrics import AlertMetrics
from monitors.alerts.outbox import (
    Raised,
    ack_alert,
    get_alert,
    list_alerts,
    pending_for,
    purge,
    raise_alert,
)
from monitors.alerts.payload import AlertRead, DeliveryRead, FeatureDrift, NewAlert
from monitors.alerts.render import (
    ALERT_SCHEMA,
    RETRAINING_SCHEMA,
    Links,
    alert_document,
    retraining_document,
    slack_message,
)
from monitors.alerts.rules import (
    LOG_SINK,
    AlertKind,
    AlertsConfig,
    Route,
    Severity,
    dedup_key,
    default_config,
    parse_config,
    parse_duration,
)
from monitors.alerts.sinks import (
    ALERT_ID_HEADER,
    AlertSink,
    EmailSink,
    LogSink,
    MemorySink,
    SlackSink,
    WebhookSink,
    build_sinks,
)
from monitors.alerts.worker import DeliveryWorker, RetryPolicy, WorkerReport

__all__ = [
    "ALERT_ID_HEADER",
    "ALERT_SCHEMA",
    "LOG_SINK",
    "RETRAINING_SCHEMA",
    "AlertConfigError",
    "AlertError",
    "AlertKind",
    "AlertMetrics",
    "AlertNotFound",
    "AlertRead",
    "AlertSink",
    "AlertsConfig",
    "DeliveryError",
    "DeliveryRead",
    "DeliveryWorker",
    "EmailSink",
    "FeatureDrift",
    "InvalidAlertFilter",
    "Links",
    "LogSink",
    "MemorySink",
    "NewAlert",
    "Raised",
    "RetryPolicy",
    "Route",
    "Severity",
    "SlackSink",
    "UnknownSink",
    "WebhookSink",
    "WorkerReport",
    "ack_alert",
    "alert_document",
    "build_sinks",
    "dedup_key",
    "default_config",
    "get_alert",
    "list_alerts",
    "load_config",
    "parse_config",
    "parse_duration",
    "pending_for",
    "purge",
    "raise_alert",
    "retraining_document",
    "slack_message",
]
