from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import Feedback
from router.quality import (
    MAX_FEEDBACK_ITEMS,
    FeedbackError,
    FeedbackItem,
    FeedbackResult,
    PredictionRecord,
    parse_feedback,
    prune_feedback,
    record_feedback,
    write_predictions,
)
from tests.router.quality.conftest import T0

# -- parse_feedback --------------------------------------------------------------------


def test_one_object() -> None:
    assert parse_feedback({"request_id": "r1", "label": 1}) == [FeedbackItem("r1", 1)]


def test_a_list_and_an_items_object() -> None:
    raw = [{"request_id": "r1", "label": "cat"}, {"request_id": "r1", "label": 2.5, "row_index": 3}]
    expected = [FeedbackItem("r1", "cat"), FeedbackItem("r1", 2.5, row_index=3)]
    assert parse_feedback(raw) == expected
    assert parse_feedback({"items": raw}) == expected


def test_labels_may_be_any_json_scalar_but_null() -> None:
    for label in (True, 0, -3, 0.5, "", "spam"):
        assert parse_feedback({"request_id": "r", "label": label})[0].label == label


def test_the_item_limit_is_inclusive() -> None:
    items = [{"request_id": f"r{i}", "label": 0} for i in range(MAX_FEEDBACK_ITEMS)]
    assert len(parse_feedback(items)) == MAX_FEEDBACK_ITEMS


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("nope", "body: must be an object or a list of objects"),
        (None, "body: must be an object or a list of objects"),
        ([], "items: at least one item is required"),
        ({"items": []}, "items: at least one item is required"),
        ({"items": {"request_id": "r"}}, "items: must be a list of objects"),
        ({"items": [], "model": "x"}, "model: unknown field (expected only 'items')"),
        (
            [{"request_id": "r", "label": 1}] * (MAX_FEEDBACK_ITEMS + 1),
            f"items: at most {MAX_FEEDBACK_ITEMS} items per call, got {MAX_FEEDBACK_ITEMS + 1}; "
            "send them in batches",
        ),
        ([{"request_id": "r", "label": 1}, 5], "items[1]: must be an object"),
        ({"label": 1}, "request_id: required"),
        ({"request_id": None, "label": 1}, "request_id: required"),
        ({"request_id": 7, "label": 1}, "request_id: must be a string"),
        ({"request_id": "  ", "label": 1}, "request_id: must not be empty"),
        ({"request_id": "x" * 129, "label": 1}, "request_id: longer than 128 characters"),
        ({"request_id": "r"}, "label: required"),
        ({"request_id": "r", "label": None}, "label: must not be null"),
        ({"request_id": "r", "label": [1]}, "label: must be a number, string or boolean"),
        ({"request_id": "r", "label": {"a": 1}}, "label: must be a number, string or boolean"),
        ({"request_id": "r", "label": float("nan")}, "label: must be a finite number"),
        ({"request_id": "r", "label": 1, "row_index": "0"}, "row_index: must be an integer"),
        ({"request_id": "r", "label": 1, "row_index": 1.0}, "row_index: must be an integer"),
        ({"request_id": "r", "label": 1, "row_index": True}, "row_index: must be an integer"),
        ({"request_id": "r", "label": 1, "row_index": -1}, "row_index: must be >= 0"),
        ({"request_id": "r", "label": 1, "row_index": 2**31}, "row_index: too large"),
        (
            {"request_id": "r", "label": 1, "rowIndex": 2},
            "rowIndex: unknown field (expected request_id, label, row_index)",
        ),
    ],
)
def test_every_fault_is_one_line_naming_the_field(payload: Any, message: str) -> None:
    with pytest.raises(FeedbackError) as info:
        parse_feedback(payload)
    assert str(info.value) == message


def test_errors_in_a_list_name_the_item_index() -> None:
    items: list[Any] = [{"request_id": "a", "label": 1}] * 2 + [{"label": 1}]
    with pytest.raises(FeedbackError, match=r"^items\[2\]\.request_id: required$"):
        parse_feedback({"items": items})
    items[2] = {"request_id": "c", "label": 1, "row_index": -2}
    with pytest.raises(FeedbackError, match=r"^items\[2\]\.row_index: must be >= 0$"):
        parse_feedback(items)


# -- record_feedback ---------------------------------------------------------------------


def _prediction(request_id: str, row: int = 0, model: str = "fraud") -> PredictionRecord:
    return PredictionRecord(request_id, model, "1", T0, row, 1, [0.3, 0.7])


def _labels(session: Session) -> dict[tuple[str, int], Any]:
    rows = session.execute(select(Feedback.request_id, Feedback.row_index, Feedback.label))
    return {(request_id, row): label for request_id, row, label in rows}


def test_labels_are_stored_whether_or_not_the_prediction_is_there(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        write_predictions(s, [_prediction("r1"), _prediction("r1", row=1)])
    items = [FeedbackItem("r1", 1), FeedbackItem("r1", 0, row_index=1), FeedbackItem("r2", 1)]
    with sessions.begin() as s:
        result = record_feedback(s, items, model="fraud")
    assert result == FeedbackResult(accepted=3, matched=2, unmatched_ids=["r2"])
    with sessions() as s:
        assert _labels(s) == {("r1", 0): 1, ("r1", 1): 0, ("r2", 0): 1}
        stored = s.scalars(select(Feedback).where(Feedback.request_id == "r2")).one()
        assert stored.model_name == "fraud"
        assert stored.received_at.tzinfo is not None


def test_a_second_label_replaces_the_first(sessions: sessionmaker[Session]) -> None:
    later = T0 + timedelta(minutes=5)
    with sessions.begin() as s:
        record_feedback(s, [FeedbackItem("r1", 1)], model=None, now=T0)
    with sessions.begin() as s:
        result = record_feedback(s, [FeedbackItem("r1", 0)], model="fraud", now=later)
        assert result.accepted == 1
    with sessions() as s:
        row = s.scalars(select(Feedback)).one()
        assert (row.label, row.model_name, row.received_at) == (0, "fraud", later)
    with sessions.begin() as s:
        # Relabelling without a model keeps the tag the row already has.
        record_feedback(s, [FeedbackItem("r1", 1)], model=None)
    with sessions() as s:
        row = s.scalars(select(Feedback)).one()
        assert (row.label, row.model_name) == (1, "fraud")


def test_within_one_call_the_last_label_for_a_row_wins(sessions: sessionmaker[Session]) -> None:
    items = [FeedbackItem("r1", 1), FeedbackItem("r1", 2), FeedbackItem("r1", 3, row_index=1)]
    with sessions.begin() as s:
        result = record_feedback(s, items, model=None)
    assert result == FeedbackResult(accepted=2, matched=0, unmatched_ids=["r1"])
    with sessions() as s:
        assert _labels(s) == {("r1", 0): 2, ("r1", 1): 3}


def test_only_the_named_models_predictions_match(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        write_predictions(s, [_prediction("r1", model="churn")])
    with sessions.begin() as s:
        assert record_feedback(s, [FeedbackItem("r1", 1)], model="fraud").matched == 0
        assert record_feedback(s, [FeedbackItem("r1", 1)], model=None).matched == 1


def test_unmatched_ids_are_distinct_and_capped(sessions: sessionmaker[Session]) -> None:
    items = [FeedbackItem(f"r{i}", 1, row_index=row) for i in range(700) for row in range(2)]
    with sessions.begin() as s:
        result = record_feedback(s, items, model=None)
        assert result.accepted == 1_400 and result.matched == 0
        assert result.unmatched_ids == [f"r{i}" for i in range(100)]
        assert record_feedback(s, [], model=None) == FeedbackResult(0, 0, [])
    with sessions.begin() as s:
        # Every row exists now: a resend updates them all, across IN-list chunks.
        assert record_feedback(s, items, model=None).accepted == 1_400
        assert s.scalar(select(func.count()).select_from(Feedback)) == 1_400


def test_prune_feedback_deletes_only_older_labels(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        record_feedback(s, [FeedbackItem("old", 1)], model=None, now=T0 - timedelta(days=2))
        record_feedback(s, [FeedbackItem("new", 1)], model=None, now=T0)
    with sessions.begin() as s:
        assert prune_feedback(s, T0 - timedelta(days=1)) == 1
    with sessions() as s:
        assert s.scalars(select(Feedback.request_id)).all() == ["new"]
        with pytest.raises(ValueError, match="naive"):
            prune_feedback(s, T0.replace(tzinfo=None))
