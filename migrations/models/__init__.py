"""ORM models of the control-plane state, one module per concern."""

from __future__ import annotations

from migrations.models.access import ApiToken, ControllerLease
from migrations.models.alerts import Alert, AlertDelivery
from migrations.models.base import NAMING_CONVENTION, Base
from migrations.models.quality import Feedback, Prediction
from migrations.models.registry import Event, RegistryModel
from migrations.models.rollouts import (
    TERMINAL_ROLLOUT_PHASES,
    Rollout,
    RolloutDecision,
    RoutingPolicy,
)
from migrations.models.telemetry import DriftReport, MetricBucket

__all__ = [
    "NAMING_CONVENTION",
    "TERMINAL_ROLLOUT_PHASES",
    "Alert",
    "AlertDelivery",
    "ApiToken",
    "Base",
    "ControllerLease",
    "DriftReport",
    "Event",
    "Feedback",
    "MetricBucket",
    "Prediction",
    "RegistryModel",
    "Rollout",
    "RolloutDecision",
    "RoutingPolicy",
]
