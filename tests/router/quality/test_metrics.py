from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_absolute_error,
    root_mean_squared_error,
)
from sqlalchemy.orm import Session, sessionmaker

from router.quality import (
    FeedbackItem,
    PredictionRecord,
    VersionQuality,
    quality,
    quality_key,
    record_feedback,
    write_predictions,
)
from tests.router.quality.conftest import T0

TOL = 1e-9
K = 3


@dataclass(frozen=True)
class Traffic:
    """Three-class traffic: version 1 live, version 2 shadowing it on the same requests."""

    live: list[PredictionRecord]
    shadow: list[PredictionRecord]
    truth: dict[tuple[str, int], int]  # the rows that get a label


def _traffic(n: int = 300, seed: int = 11) -> Traffic:
    rng = np.random.default_rng(seed)
    live: list[PredictionRecord] = []
    shadow: list[PredictionRecord] = []
    truth: dict[tuple[str, int], int] = {}
    for i in range(n):
        request_id = f"req-{i}"
        at = T0 + timedelta(seconds=i)
        for row in range(1 + i % 2):  # every other request carries two rows
            actual = int(rng.integers(0, K))
            for version, out in (("1", live), ("2", shadow)):
                scores = rng.dirichlet(np.ones(K)).tolist()
                label = int(np.argmax(scores))
                out.append(
                    PredictionRecord(
                        request_id, "fraud", version, at, row, label, scores, version == "2"
                    )
                )
            if rng.random() < 0.8:  # some rows never get a label
                truth[(request_id, row)] = actual
    return Traffic(live, shadow, truth)


def _expected(records: list[PredictionRecord], truth: dict[tuple[str, int], int]) -> list[float]:
    labelled = [r for r in records if (r.request_id, r.row_index) in truth]
    y = [truth[(r.request_id, r.row_index)] for r in labelled]
    predicted = [r.label for r in labelled]
    proba = np.array([r.scores for r in labelled])
    return [
        len(labelled),
        accuracy_score(y, predicted),
        log_loss(y, y_proba=proba, labels=list(range(K))),
    ]


def _check(result: VersionQuality, expected: list[float]) -> None:
    assert result.kind == "classification"
    assert result.labelled == expected[0]
    assert result.accuracy == pytest.approx(expected[1], abs=TOL)
    assert result.log_loss == pytest.approx(expected[2], abs=TOL)
    assert result.notes == ()


def _items(truth: dict[tuple[str, int], int]) -> list[FeedbackItem]:
    return [FeedbackItem(rid, label, row) for (rid, row), label in truth.items()]


def test_quality_per_version_equals_sklearn(sessions: sessionmaker[Session]) -> None:
    traffic = _traffic()
    items = _items(traffic.truth)
    half = len(items) // 2
    with sessions.begin() as s:
        # Half the labels arrive before the predictions are flushed, half after.
        record_feedback(s, items[:half], model="fraud")
    with sessions.begin() as s:
        write_predictions(s, traffic.live + traffic.shadow)
    with sessions.begin() as s:
        record_feedback(s, items[half:], model=None)

    with sessions() as s:
        report = quality(s, "fraud")
        live_only = quality(s, "fraud", include_shadow=False)
    assert set(report) == {"1", "2@shadow"}
    assert report["1"].version == "1" and not report["1"].shadow
    assert report["2@shadow"].version == "2" and report["2@shadow"].shadow
    _check(report["1"], _expected(traffic.live, traffic.truth))
    _check(report["2@shadow"], _expected(traffic.shadow, traffic.truth))
    assert live_only == {"1": report["1"]}
    assert quality_key("2", shadow=True) == "2@shadow"
    assert quality_key("2", shadow=False) == "2"


def test_the_window_is_when_the_prediction_was_made(sessions: sessionmaker[Session]) -> None:
    traffic = _traffic(n=100)
    with sessions.begin() as s:
        write_predictions(s, traffic.live)
        record_feedback(s, _items(traffic.truth), model="fraud", now=T0 + timedelta(days=1))
    since, until = T0 + timedelta(seconds=20), T0 + timedelta(seconds=60)
    inside = [r for r in traffic.live if since <= r.at < until]
    with sessions() as s:
        report = quality(s, "fraud", since=since, until=until)
        assert quality(s, "fraud", since=T0 + timedelta(hours=1)) == {}
        with pytest.raises(ValueError, match="naive"):
            quality(s, "fraud", since=since.replace(tzinfo=None))
    _check(report["1"], _expected(inside, traffic.truth))


def test_a_relabel_changes_the_numbers(sessions: sessionmaker[Session]) -> None:
    record = PredictionRecord("r1", "fraud", "1", T0, 0, 1, [0.2, 0.8])
    with sessions.begin() as s:
        write_predictions(s, [record])
        record_feedback(s, [FeedbackItem("r1", 0)], model="fraud")
    with sessions() as s:
        assert quality(s, "fraud")["1"].accuracy == 0.0
    with sessions.begin() as s:
        record_feedback(s, [FeedbackItem("r1", 1)], model="fraud")
    with sessions() as s:
        result = quality(s, "fraud")["1"]
    assert (result.labelled, result.accuracy) == (1, 1.0)
    assert result.log_loss == pytest.approx(-np.log(0.8), abs=TOL)


def test_other_models_predictions_and_labels_are_ignored(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        write_predictions(
            s,
            [
                PredictionRecord("r1", "fraud", "1", T0, 0, 1, None),
                PredictionRecord("r2", "churn", "1", T0, 0, 1, None),
                PredictionRecord("r3", "fraud", "1", T0, 0, 1, None),
            ],
        )
        record_feedback(s, [FeedbackItem("r1", 1), FeedbackItem("r2", 0)], model=None)
        record_feedback(s, [FeedbackItem("r3", 0)], model="churn")  # tagged elsewhere
    with sessions() as s:
        fraud = quality(s, "fraud")
        churn = quality(s, "churn")
        assert quality(s, "unknown") == {}
    assert (fraud["1"].labelled, fraud["1"].accuracy, fraud["1"].log_loss) == (1, 1.0, None)
    assert (churn["1"].labelled, churn["1"].accuracy) == (1, 0.0)


def test_regression_quality_equals_sklearn(sessions: sessionmaker[Session]) -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(50, 10, size=200)
    predicted = truth + rng.normal(0, 3, size=200)
    records = [
        PredictionRecord(f"p{i}", "price", "4", T0, 0, float(v), None)
        for i, v in enumerate(predicted)
    ]
    with sessions.begin() as s:
        write_predictions(s, records)
        items = [FeedbackItem(f"p{i}", float(v)) for i, v in enumerate(truth)]
        record_feedback(s, items, model="price")
    with sessions() as s:
        result = quality(s, "price")["4"]
    assert (result.kind, result.labelled) == ("regression", 200)
    assert result.mae == pytest.approx(mean_absolute_error(truth, predicted), abs=TOL)
    assert result.rmse == pytest.approx(root_mean_squared_error(truth, predicted), abs=TOL)
    assert (result.accuracy, result.log_loss) == (None, None)
