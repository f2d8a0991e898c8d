"""The alert metric names, re-exported from ``router.telemetry.names`` (kept for imports).

Every metric name, the alert ones included, is declared once in
``router.telemetry.names``; the process running the alert delivery worker (``turnout
serve`` with role ``all``) renders them on ``/metrics``. New code imports them from there.
"""

from __future__ import annotations

from router.telemetry.names import (
    ALERT_DELIVERIES_PENDING,
    ALERT_DELIVERY_FAILURES_TOTAL,
    ALERTS_TOTAL,
    LABEL_KIND,
    LABEL_SEVERITY,
    LABEL_SINK,
)

__all__ = [
    "ALERTS_TOTAL",
    "ALERT_DELIVERIES_PENDING",
    "ALERT_DELIVERY_FAILURES_TOTAL",
    "LABEL_KIND",
    "LABEL_SEVERITY",
    "LABEL_SINK",
]
