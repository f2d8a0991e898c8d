"""Ground-truth feedback: parse what clients POST, store it, report what already joins."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.orm import Session

from migrations.coltypes import utcnow
from migrations.models import Feedback, Prediction
from router.quality._common import chunks, require_aware
from router.quality.errors import FeedbackError
from router.quality.predictions import REQUEST_ID_MAX_LENGTH

__all__ = [
    "MAX_FEEDBACK_ITEMS",
    "MAX_UNMATCHED_IDS",
    "FeedbackItem",
    "FeedbackResult",
    "parse_feedback",
    "prune_feedback",
    "record_feedback",
]

MAX_FEEDBACK_ITEMS = 10_000
MAX_UNMATCHED_IDS = 100

_FIELDS = frozenset({"request_id", "label", "row_index"})


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """The true label of row `row_index` of the request `request_id`."""

    request_id: str
    label: Any
    row_index: int = 0


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What one feedback call stored.

    `accepted` counts distinct (request_id, row_index) rows stored; `matched` those
    whose prediction is already logged (the rest join once it is); `unmatched_ids` the
    first MAX_UNMATCHED_IDS distinct request ids that matched nothing yet.
    """

    accepted: int
    matched: int
    unmatched_ids: list[str]


def parse_feedback(payload: Any) -> list[FeedbackItem]:
    """Validate a decoded JSON body into items, or raise FeedbackError on the first fault.

    Accepted shapes: one object {"request_id", "label"[, "row_index"]}, a list of them,
    or {"items": [...]}. The error names the item and field: `items[2].request_id:
    required` (for a lone object, just `request_id: required`). Unknown fields are
    refused, so a typo such as "rowIndex" cannot silently label row 0.
    """
    if isinstance(payload, dict) and "items" in payload:
        extra = sorted(set(payload) - {"items"})
        if extra:
            raise FeedbackError(f"{extra[0]}: unknown field (expected only 'items')")
        raw = payload["items"]
        if not isinstance(raw, list):
            raise FeedbackError("items: must be a list of objects")
        return _parse_list(raw)
    if isinstance(payload, list):
        return _parse_list(payload)
    if isinstance(payload, dict):
        return [_parse_item(payload, "")]
    raise FeedbackError("body: must be an object or a list of objects")


def record_feedback(
    session: Session,
    items: Sequence[FeedbackItem],
    *,
    model: str | None,
    now: datetime | None = None,
) -> FeedbackResult:
    """Store `items`; a label for a row that already has one replaces it.

    Labels may arrive before the gateway flushes the prediction, so every item is
    stored whether or not it matches; it joins when the prediction lands. With `model`,
    the rows are tagged with it and only that model's predictions count as matches.
    Within one call the last label for a row wins. Portable select-then-update: two
    concurrent first labels for one row make one transaction fail on the unique key,
    and the caller retries it.
    """
    when = now if now is not None else utcnow()
    latest: dict[tuple[str, int], FeedbackItem] = {}
    for item in items:
        latest[(item.request_id, item.row_index)] = item
    if not latest:
        return FeedbackResult(accepted=0, matched=0, unmatched_ids=[])
    ids = sorted({key[0] for key in latest})

    fresh = dict(latest)
    for chunk in chunks(ids):
        for row in session.scalars(select(Feedback).where(Feedback.request_id.in_(chunk))):
            key = (row.request_id, row.row_index)
            if key not in fresh:
                continue
            item = fresh.pop(key)
            row.label = item.label
            row.received_at = when
            if model is not None:
                row.model_name = model
    if fresh:
        session.execute(
            insert(Feedback),
            [
                {
                    "request_id": item.request_id,
                    "row_index": item.row_index,
                    "model_name": model,
                    "label": item.label,
                    "received_at": when,
                }
                for item in fresh.values()
            ],
        )
    session.flush()

    predicted: set[tuple[str, int]] = set()
    for chunk in chunks(ids):
        query = select(Prediction.request_id, Prediction.row_index).where(
            Prediction.request_id.in_(chunk)
        )
        if model is not None:
            query = query.where(Prediction.model_name == model)
        for request_id, row_index in session.execute(query.distinct()):
            predicted.add((request_id, row_index))
    unmatched: dict[str, None] = {}
    for request_id, row_index in latest:
        if (request_id, row_index) not in predicted and len(unmatched) < MAX_UNMATCHED_IDS:
            unmatched.setdefault(request_id)
    matched = sum(1 for key in latest if key in predicted)
    return FeedbackResult(accepted=len(latest), matched=matched, unmatched_ids=list(unmatched))


def prune_feedback(session: Session, older_than: datetime) -> int:
    """Delete labels received before `older_than` (aware); returns how many went."""
    require_aware(older_than, "older_than")
    result = session.execute(
        delete(Feedback).where(Feedback.received_at < older_than),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    return int(cast("CursorResult[Any]", result).rowcount)


def _parse_list(raw: list[Any]) -> list[FeedbackItem]:
    if not raw:
        raise FeedbackError("items: at least one item is required")
    if len(raw) > MAX_FEEDBACK_ITEMS:
        raise FeedbackError(
            f"items: at most {MAX_FEEDBACK_ITEMS} items per call, got {len(raw)}; "
            "send them in batches"
        )
    return [_parse_item(item, f"items[{index}]") for index, item in enumerate(raw)]


def _parse_item(raw: Any, where: str) -> FeedbackItem:
    def fail(field: str, problem: str) -> FeedbackError:
        path = f"{where}.{field}" if where else field
        return FeedbackError(f"{path}: {problem}")

    if not isinstance(raw, dict):
        raise FeedbackError(f"{where or 'body'}: must be an object")
    for key in raw:
        if key not in _FIELDS:
            raise fail(str(key), "unknown field (expected request_id, label, row_index)")

    request_id = raw.get("request_id")
    if request_id is None:
        raise fail("request_id", "required")
    if not isinstance(request_id, str):
        raise fail("request_id", "must be a string")
    if not request_id.strip():
        raise fail("request_id", "must not be empty")
    if len(request_id) > REQUEST_ID_MAX_LENGTH:
        raise fail("request_id", f"longer than {REQUEST_ID_MAX_LENGTH} characters")

    if "label" not in raw:
        raise fail("label", "required")
    label = raw["label"]
    if label is None:
        raise fail("label", "must not be null")
    if not isinstance(label, bool | int | float | str):
        raise fail("label", "must be a number, string or boolean")
    if isinstance(label, float) and not math.isfinite(label):
        raise fail("label", "must be a finite number")

    row_index = raw.get("row_index", 0)
    if isinstance(row_index, bool) or not isinstance(row_index, int):
        raise fail("row_index", "must be an integer")
    if row_index < 0:
        raise fail("row_index", "must be >= 0")
    if row_index > 2**31 - 1:
        raise fail("row_index", "too large")
    return FeedbackItem(request_id=request_id, label=label, row_index=row_index)
