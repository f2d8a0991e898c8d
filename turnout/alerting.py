"""Wires alerting from settings: the config file, the sinks with their secrets, the worker.

The drift monitor, the rollout controller, `turnout serve` and `turnout alerts` all get
their alerts pieces here, so secrets are read from the environment in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from turnout.services import Services
from turnout.settings import Settings

if TYPE_CHECKING:
    from monitors.alerts import AlertsConfig, AlertSink, DeliveryWorker, RetryPolicy


def alerts_config(settings: Settings) -> AlertsConfig:
    """The validated alerts config (defaults, log sink only, when the file is missing)."""
    from monitors.alerts import load_config

    return load_config(settings.alerts_config_path())


def alert_secrets() -> Mapping[str, str]:
    """Sinks name their secrets by environment variable; this is where they are read."""
    return dict(os.environ)


def alert_sinks(settings: Settings, config: AlertsConfig | None = None) -> dict[str, AlertSink]:
    from monitors.alerts import build_sinks

    return build_sinks(
        config or alerts_config(settings), alert_secrets(), public_url=settings.public_url
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    from monitors.alerts import RetryPolicy

    return RetryPolicy(
        base_s=settings.alerts_retry_base_s,
        max_delay_s=settings.alerts_retry_max_s,
        max_attempts=settings.alerts_max_attempts,
        max_age_s=settings.alerts_max_age_s,
    )


# How often the worker of `turnout serve` re-reads the outbox counts for /metrics.
ALERT_METRICS_EVERY_S = 5.0


def build_alert_worker(services: Services, *, metrics: bool = False) -> DeliveryWorker:
    """The delivery worker for `turnout serve` (start()/stop()) and `turnout alerts deliver`.

    With `metrics` (`turnout serve`) its loop also refreshes the outbox counts that
    `worker.samples()` renders on /metrics, every `ALERT_METRICS_EVERY_S` at most.
    """
    from monitors.alerts import DeliveryWorker

    settings = services.settings
    return DeliveryWorker(
        services.sessions,
        alert_sinks(settings),
        retry_policy(settings),
        interval_s=settings.alerts_poll_s,
        retention_s=settings.alerts_retention_days * 86400.0,
        metrics_every_s=ALERT_METRICS_EVERY_S if metrics else None,
    )
