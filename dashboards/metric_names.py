"""Alert metric names the Grafana drift dashboard reads.

The drift gauges are declared with the gateway's metrics in ``router.telemetry.names``
(the process running the drift monitor renders them on ``/metrics``). The alert names
below are not exported by any process yet: their panels stay empty until they are.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERTS_TOTAL",
    "ALERT_DELIVERIES_PENDING",
    "ALERT_DELIVERY_FAILURES_TOTAL",
    "LABEL_KIND",
    "LABEL_SEVERITY",
    "LABEL_SINK",
]

LABEL_KIND: Final = "kind"  # an alert's kind: drift, data_quality, rollout_rollback, ...
LABEL_SEVERITY: Final = "severity"  # info, warn, critical
LABEL_SINK: Final = "sink"  # an alert sink's name from the alerts config

# counter {model, kind, severity}: alerts stored in the outbox (repeats not included).
ALERTS_TOTAL: Final = "turnout_alerts_total"
# gauge {sink}: deliveries waiting for a (re)try.
ALERT_DELIVERIES_PENDING: Final = "turnout_alert_deliveries_pending"
# counter {sink}: delivery attempts that failed (the receiver was down or said no).
ALERT_DELIVERY_FAILURES_TOTAL: Final = "turnout_alert_delivery_failures_total"
