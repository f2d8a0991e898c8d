"""The dashboard's read models: one module per page family, each a set of functions
from a Session (and the registry) to JSON-ready documents."""

from __future__ import annotations

from dashboards.feeds.alerts import alerts_list, open_alert_count
from dashboards.feeds.drift import (
    BANDS,
    HEAT,
    FeatureEntry,
    QualityEntry,
    drift_models,
    drift_overview,
    feature_distribution,
    feature_entries,
    prediction_entry,
    report_detail,
    report_summary,
)
from dashboards.feeds.models import model_detail, models_overview, reference_summary
from dashboards.feeds.rollouts import (
    analysis_thresholds,
    decision_timeline,
    rollout_series,
    weight_steps,
)
from dashboards.feeds.traffic import traffic_series

__all__ = [
    "BANDS",
    "HEAT",
    "FeatureEntry",
    "QualityEntry",
    "alerts_list",
    "analysis_thresholds",
    "decision_timeline",
    "drift_models",
    "drift_overview",
    "feature_distribution",
    "feature_entries",
    "model_detail",
    "models_overview",
    "open_alert_count",
    "prediction_entry",
    "reference_summary",
    "report_detail",
    "report_summary",
    "rollout_series",
    "traffic_series",
    "weight_steps",
]
