"""Per-version quality of a model: logged predictions joined to their feedback labels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from migrations.models import Feedback, Prediction
from router.quality._common import require_aware
from router.quality.stats import VersionQuality, compute_quality

__all__ = ["SHADOW_SUFFIX", "VersionQuality", "compute_quality", "quality", "quality_key"]

SHADOW_SUFFIX = "@shadow"


def quality_key(version: str, *, shadow: bool) -> str:
    """The key of a version's quality: the version, or "<version>@shadow" for its
    shadow predictions (a version may have served live and in shadow in one window)."""
    return f"{version}{SHADOW_SUFFIX}" if shadow else version


def quality(
    session: Session,
    model: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    include_shadow: bool = True,
) -> dict[str, VersionQuality]:
    """Quality per version of `model`, keyed by quality_key(version, shadow=...).

    Feedback joins predictions on (request_id, row_index); a label tagged with another
    model is ignored. The window [since, until) applies to when the prediction was made,
    so a rollout step judges the traffic it served whenever the labels came. Versions
    without a labelled prediction are absent.
    """
    joined = and_(
        Feedback.request_id == Prediction.request_id,
        Feedback.row_index == Prediction.row_index,
    )
    query = (
        select(
            Prediction.version,
            Prediction.shadow,
            Feedback.label,
            Prediction.label,
            Prediction.scores,
        )
        .select_from(Prediction)
        .join(Feedback, joined)
        .where(
            Prediction.model_name == model,
            or_(Feedback.model_name.is_(None), Feedback.model_name == model),
        )
    )
    if since is not None:
        require_aware(since, "since")
        query = query.where(Prediction.at >= since)
    if until is not None:
        require_aware(until, "until")
        query = query.where(Prediction.at < until)
    if not include_shadow:
        query = query.where(Prediction.shadow == false())

    groups: dict[tuple[str, bool], list[tuple[Any, Any, Sequence[float] | None]]] = defaultdict(
        list
    )
    for version, shadow, truth, predicted, scores in session.execute(query):
        groups[(version, bool(shadow))].append((truth, predicted, scores))
    return {
        quality_key(version, shadow=shadow): compute_quality(pairs, version=version, shadow=shadow)
        for (version, shadow), pairs in sorted(groups.items())
    }
