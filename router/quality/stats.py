"""(pure) Quality of one model version from (true label, predicted label, scores) triples.

Classification: accuracy, and log loss when every prediction carries class scores and
the true labels are class indexes. Regression: MAE and RMSE. The numbers match
scikit-learn's accuracy_score, log_loss (labels=range(k)), mean_absolute_error and
root_mean_squared_error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np

__all__ = [
    "LOG_LOSS_EPS",
    "LabelledPrediction",
    "QualityKind",
    "VersionQuality",
    "compute_quality",
]

QualityKind: TypeAlias = Literal["classification", "regression"]

# Probabilities are clipped to [eps, 1 - eps] so one confident miss costs ~34.5, not inf.
LOG_LOSS_EPS = 1e-15


class LabelledPrediction(NamedTuple):
    """One prediction joined to its ground truth."""

    truth: Any
    predicted: Any
    scores: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class VersionQuality:
    """Quality of one version's labelled predictions (shadow ones are reported apart).

    `labelled` counts the predictions the numbers were computed from; metrics that do
    not apply to `kind`, or could not be computed, are None and `notes` says why.
    """

    version: str
    labelled: int
    kind: QualityKind
    accuracy: float | None = None
    log_loss: float | None = None
    mae: float | None = None
    rmse: float | None = None
    shadow: bool = False
    notes: tuple[str, ...] = ()


def compute_quality(
    pairs: Iterable[tuple[Any, Any, Sequence[float] | None]],
    *,
    version: str = "",
    shadow: bool = False,
) -> VersionQuality:
    """Accuracy / log loss or MAE / RMSE of `pairs` (truth, predicted, scores).

    The kind is regression when any true or predicted value is a float with a
    fractional part (and no true label is a string); otherwise classification, with
    1.0 and True counted as the class 1. A prediction without a label but with scores
    predicts the index of its largest score.
    """
    triples = [LabelledPrediction(*pair) for pair in pairs]
    if _is_regression(triples):
        return _regression(triples, version=version, shadow=shadow)
    return _classification(triples, version=version, shadow=shadow)


def _normal(value: Any) -> Any:
    """Labels as comparable Python values: numpy unwrapped, bools and whole floats as ints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_fractional(value: Any) -> bool:
    if not isinstance(value, float | np.floating):
        return False
    number = float(value)
    return math.isfinite(number) and not number.is_integer()


def _is_regression(triples: list[LabelledPrediction]) -> bool:
    if any(isinstance(t.truth, str) for t in triples):
        return False
    return any(_is_fractional(t.truth) or _is_fractional(t.predicted) for t in triples)


def _regression(triples: list[LabelledPrediction], *, version: str, shadow: bool) -> VersionQuality:
    usable = [
        (float(t.truth), float(t.predicted))
        for t in triples
        if _is_number(t.truth)
        and _is_number(t.predicted)
        and math.isfinite(float(t.truth))
        and math.isfinite(float(t.predicted))
    ]
    notes = _skipped(len(triples) - len(usable), "no finite numeric truth and prediction")
    if not usable:
        return VersionQuality(version, 0, "regression", shadow=shadow, notes=notes)
    values = np.asarray(usable, dtype=np.float64)
    errors = values[:, 1] - values[:, 0]
    return VersionQuality(
        version=version,
        labelled=len(usable),
        kind="regression",
        mae=float(np.mean(np.abs(errors))),
        rmse=float(np.sqrt(np.mean(errors * errors))),
        shadow=shadow,
        notes=notes,
    )


def _classification(
    triples: list[LabelledPrediction], *, version: str, shadow: bool
) -> VersionQuality:
    usable: list[tuple[Any, Any, Sequence[float] | None]] = []
    for truth, predicted, scores in triples:
        if predicted is None and scores:
            predicted = max(range(len(scores)), key=lambda i: scores[i])
        if truth is None or predicted is None:
            continue
        usable.append((_normal(truth), _normal(predicted), scores))
    notes = list(_skipped(len(triples) - len(usable), "no predicted label"))
    if not usable:
        return VersionQuality(version, 0, "classification", shadow=shadow, notes=tuple(notes))
    correct = sum(1 for truth, predicted, _ in usable if truth == predicted)
    loss, why_not = _log_loss(usable)
    if why_not:
        notes.append(why_not)
    return VersionQuality(
        version=version,
        labelled=len(usable),
        kind="classification",
        accuracy=correct / len(usable),
        log_loss=loss,
        shadow=shadow,
        notes=tuple(notes),
    )


def _log_loss(usable: list[tuple[Any, Any, Sequence[float] | None]]) -> tuple[float | None, str]:
    """Mean -ln p(true class), or None and the reason it does not apply."""
    scored = [(truth, scores) for truth, _, scores in usable if scores]
    missing = len(usable) - len(scored)
    if not scored:
        return None, ""  # a model without scores: nothing to explain
    if missing:
        return None, f"log loss skipped: {missing} of {len(usable)} predictions have no scores"
    if any(isinstance(truth, str) for truth, _ in scored):
        return None, (
            "log loss skipped: string labels do not say which score column is which class; "
            "label with class indexes 0..k-1"
        )
    losses: list[float] = []
    for truth, scores in scored:
        if not isinstance(truth, int) or not 0 <= truth < len(scores):
            return None, (
                f"log loss skipped: label {truth!r} is not a class index 0..{len(scores) - 1}"
            )
        p = min(max(float(scores[truth]), LOG_LOSS_EPS), 1.0 - LOG_LOSS_EPS)
        losses.append(-math.log(p))
    return math.fsum(losses) / len(losses), ""


def _skipped(count: int, reason: str) -> tuple[str, ...]:
    return (f"{count} labelled predictions skipped: {reason}",) if count else ()
