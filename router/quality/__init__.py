"""ML quality: logged predictions, delayed ground-truth feedback, per-version metrics."""

from __future__ import annotations

from router.quality.errors import FeedbackError, QualityError
from router.quality.feedback import (
    MAX_FEEDBACK_ITEMS,
    MAX_UNMATCHED_IDS,
    FeedbackItem,
    FeedbackResult,
    parse_feedback,
    prune_feedback,
    record_feedback,
)
from router.quality.metrics import SHADOW_SUFFIX, quality, quality_key
from router.quality.predictions import (
    REQUEST_ID_MAX_LENGTH,
    Label,
    PredictionBuffer,
    PredictionRecord,
    PredictionWriter,
    labels_from_outputs,
    prune_predictions,
    write_predictions,
)
from router.quality.stats import (
    LOG_LOSS_EPS,
    LabelledPrediction,
    QualityKind,
    VersionQuality,
    compute_quality,
)

__all__ = [
    "LOG_LOSS_EPS",
    "MAX_FEEDBACK_ITEMS",
    "MAX_UNMATCHED_IDS",
    "REQUEST_ID_MAX_LENGTH",
    "SHADOW_SUFFIX",
    "FeedbackError",
    "FeedbackItem",
    "FeedbackResult",
    "Label",
    "LabelledPrediction",
    "PredictionBuffer",
    "PredictionRecord",
    "PredictionWriter",
    "QualityError",
    "QualityKind",
    "VersionQuality",
    "compute_quality",
    "labels_from_outputs",
    "parse_feedback",
    "prune_feedback",
    "prune_predictions",
    "quality",
    "quality_key",
    "record_feedback",
    "write_predictions",
]
