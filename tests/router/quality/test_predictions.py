from __future__ import annotations

import json
import threading
from datetime import timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import Prediction
from router.inference import OnnxModel
from router.quality import (
    REQUEST_ID_MAX_LENGTH,
    PredictionBuffer,
    PredictionRecord,
    QualityError,
    labels_from_outputs,
    prune_predictions,
    write_predictions,
)
from tests.router.quality.conftest import T0

Outputs = dict[str, npt.NDArray[Any]]


def _record(
    request_id: str = "r1", row: int = 0, version: str = "1", **overrides: Any
) -> PredictionRecord:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "model": "fraud",
        "version": version,
        "at": T0,
        "row_index": row,
        "label": 1,
        "scores": [0.25, 0.75],
    }
    fields.update(overrides)
    return PredictionRecord(**fields)


# -- PredictionBuffer -----------------------------------------------------------------


def test_buffer_drains_in_order_and_empties() -> None:
    buffer = PredictionBuffer(max_rows=10)
    buffer.add([_record("a"), _record("b")])
    buffer.add(iter([_record("c")]))
    assert len(buffer) == 3
    assert [r.request_id for r in buffer.drain()] == ["a", "b", "c"]
    assert buffer.drain() == []
    assert buffer.dropped == 0


def test_buffer_drops_the_oldest_when_full_and_counts_them() -> None:
    buffer = PredictionBuffer(max_rows=3)
    buffer.add([_record(str(i)) for i in range(5)])
    assert buffer.dropped == 2
    buffer.add([_record("5")])
    assert buffer.dropped == 3
    assert [r.request_id for r in buffer.drain()] == ["3", "4", "5"]


def test_buffer_keeps_the_newest_of_a_batch_larger_than_capacity() -> None:
    buffer = PredictionBuffer(max_rows=2)
    buffer.add([_record("old")])
    buffer.add([_record(str(i)) for i in range(4)])
    assert [r.request_id for r in buffer.drain()] == ["2", "3"]
    assert buffer.dropped == 3


def test_requeue_puts_records_back_ahead_of_newer_ones() -> None:
    buffer = PredictionBuffer(max_rows=4)
    buffer.add([_record("a"), _record("b")])
    drained = buffer.drain()
    buffer.add([_record("c")])
    buffer.requeue(drained)
    assert [r.request_id for r in buffer.drain()] == ["a", "b", "c"]
    assert buffer.dropped == 0


def test_requeue_drops_the_oldest_requeued_when_there_is_no_room() -> None:
    buffer = PredictionBuffer(max_rows=3)
    buffer.add([_record("a"), _record("b"), _record("c")])
    drained = buffer.drain()
    buffer.add([_record("d"), _record("e")])
    buffer.requeue(drained)
    assert [r.request_id for r in buffer.drain()] == ["c", "d", "e"]
    assert buffer.dropped == 2
    buffer.add([_record(x) for x in "fgh"])
    buffer.requeue([_record("z")])  # full: nothing fits
    assert buffer.dropped == 3
    assert len(buffer) == 3


def test_buffer_needs_room_for_one_row() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        PredictionBuffer(max_rows=0)


def _producer(buffer: PredictionBuffer, name: str, count: int) -> threading.Thread:
    def run() -> None:
        for i in range(count):
            buffer.add([_record(f"{name}-{i}", row=i)])

    return threading.Thread(target=run)


def test_two_threads_lose_nothing_below_capacity() -> None:
    buffer = PredictionBuffer(max_rows=100_000)
    threads = [_producer(buffer, name, 20_000) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = buffer.drain()
    assert buffer.dropped == 0
    assert len({r.request_id for r in rows}) == 40_000
    for name in ("a", "b"):
        mine = [r.row_index for r in rows if r.request_id.startswith(f"{name}-")]
        assert mine == list(range(20_000))  # each thread's records stay in its order


def test_two_threads_over_capacity_keep_counts_and_the_newest() -> None:
    buffer = PredictionBuffer(max_rows=15_000)
    threads = [_producer(buffer, name, 20_000) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = buffer.drain()
    assert len(rows) == 15_000
    assert len(rows) + buffer.dropped == 40_000
    assert len({r.request_id for r in rows}) == 15_000
    # The last record of each thread is among the newest, so it survived.
    assert {"a-19999", "b-19999"} <= {r.request_id for r in rows}


def test_a_concurrent_drainer_sees_every_record_exactly_once() -> None:
    buffer = PredictionBuffer(max_rows=100_000)
    producers = [_producer(buffer, name, 20_000) for name in ("a", "b")]
    drained: list[PredictionRecord] = []
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            drained.extend(buffer.drain())
        drained.extend(buffer.drain())

    drainer = threading.Thread(target=drain)
    drainer.start()
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    done.set()
    drainer.join()
    assert len(drained) == 40_000
    assert len({r.request_id for r in drained}) == 40_000
    assert buffer.dropped == 0


# -- labels_from_outputs ---------------------------------------------------------------


def test_integer_label_and_probability_matrix() -> None:
    outputs: Outputs = {
        "output_label": np.array([1, 0], dtype=np.int64),
        "output_probability": np.array([[0.2, 0.8], [0.9, 0.1]], dtype=np.float32),
    }
    pairs = labels_from_outputs(outputs)
    assert [label for label, _ in pairs] == [1, 0]
    assert all(type(label) is int for label, _ in pairs)
    scores = [s for _, s in pairs]
    assert scores[0] == pytest.approx([0.2, 0.8])
    assert all(type(v) is float for row in scores if row for v in row)
    json.dumps(pairs)  # JSON-safe


def test_named_classifier_outputs_take_the_same_values_fast_or_not() -> None:
    probabilities = np.array([[0.2, 0.8], [np.nan, 0.5], [np.inf, 0.0]], dtype=np.float32)
    for labels in (np.array([1, 0, 1], dtype=np.int64), np.array([True, False, True])):
        fast = labels_from_outputs(
            {"l": labels, "p": probabilities}, label_output="l", score_output="p"
        )
        general = labels_from_outputs(
            {"l": labels[:, None], "p": probabilities}, label_output="l", score_output="p"
        )
        assert fast == general
        assert [s for _, s in fast][1:] == [None, None]
        assert [type(label) for label, _ in fast] == [type(labels[0].item())] * 3


def test_string_labels_from_object_and_bytes_arrays() -> None:
    as_objects = np.array(["cat", "dog"], dtype=object)
    assert labels_from_outputs({"output_label": as_objects}) == [("cat", None), ("dog", None)]
    as_bytes = np.array([b"cat", b"dog"])
    assert labels_from_outputs({"label": as_bytes}) == [("cat", None), ("dog", None)]


def test_bool_labels_and_column_vectors_are_labels() -> None:
    outputs = {"y": np.array([[True], [False]])}
    assert labels_from_outputs(outputs) == [(True, None), (False, None)]


def test_a_name_with_label_wins_over_output_order() -> None:
    outputs = {
        "cluster": np.array([7, 7], dtype=np.int64),
        "predicted_label": np.array([1, 2], dtype=np.int64),
    }
    assert [label for label, _ in labels_from_outputs(outputs)] == [1, 2]


def test_single_float_output_is_a_regression_value() -> None:
    outputs = {"variable": np.array([[1.5], [np.nan]], dtype=np.float32)}
    assert labels_from_outputs(outputs) == [(1.5, None), (None, None)]


def test_two_float_outputs_are_ambiguous_and_log_nothing() -> None:
    outputs = {"a": np.array([1.5]), "b": np.array([2.5])}
    assert labels_from_outputs(outputs) == []
    assert labels_from_outputs({}) == []


def test_scores_without_a_label_predict_the_largest() -> None:
    outputs = {"probabilities": np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]])}
    pairs = labels_from_outputs(outputs)
    assert [label for label, _ in pairs] == [1, 0]


def test_raw_scores_that_do_not_sum_to_one_are_not_probabilities() -> None:
    outputs: Outputs = {
        "label": np.array([1, 0], dtype=np.int64),
        "decision": np.array([[-2.0, 3.0], [4.0, -1.0]], dtype=np.float32),
    }
    assert labels_from_outputs(outputs) == [(1, None), (0, None)]


def test_non_finite_scores_give_no_scores_for_that_row() -> None:
    outputs: Outputs = {
        "label": np.array([1, 0], dtype=np.int64),
        "probabilities": np.array([[0.5, 0.5], [0.5, 0.5]], dtype=np.float32),
    }
    pairs = labels_from_outputs(outputs, score_output="probabilities")
    assert pairs[0][1] == [0.5, 0.5]
    broken: Outputs = {**outputs, "probabilities": np.array([[np.nan, 0.5], [0.5, 0.5]])}
    assert labels_from_outputs(broken, score_output="probabilities")[0] == (1, None)


def test_named_outputs_are_used_as_given() -> None:
    outputs = {
        "a": np.array([3.0, 4.0]),
        "b": np.array([1.0, 2.0]),
    }
    assert labels_from_outputs(outputs, label_output="b") == [(1.0, None), (2.0, None)]
    # A named label turns off the regression guess; scores are still looked for.
    only = {"a": np.array([1, 2]), "b": np.array([5.0, 6.0])}
    assert labels_from_outputs(only, label_output="a") == [(1, None), (2, None)]


def test_named_outputs_that_do_not_fit_are_errors() -> None:
    outputs = {"label": np.array([1, 0]), "probabilities": np.array([[0.5, 0.5]])}
    with pytest.raises(QualityError, match="no output named 'nope'.*label, probabilities"):
        labels_from_outputs(outputs, label_output="nope")
    with pytest.raises(QualityError, match="shape"):
        labels_from_outputs(outputs, label_output="probabilities")
    with pytest.raises(QualityError, match="matrix"):
        labels_from_outputs(outputs, score_output="label")
    with pytest.raises(QualityError, match="2 rows but score output has 1"):
        labels_from_outputs(outputs)


def test_skl2onnx_classifier_tensors() -> None:
    x, y = load_iris(return_X_y=True)
    estimator = LogisticRegression(max_iter=1000).fit(x, y)
    onx = to_onnx(estimator, x[:1].astype(np.float32), options={"zipmap": False})
    model = OnnxModel.from_bytes(onx.SerializeToString())
    features = x[:20].astype(np.float32)
    pairs = labels_from_outputs(model.run({model.input_names[0]: features}))
    assert [label for label, _ in pairs] == estimator.predict(features).tolist()
    expected = estimator.predict_proba(features)
    np.testing.assert_allclose(np.array([s for _, s in pairs], dtype=float), expected, atol=1e-5)


def test_skl2onnx_classifier_zipmap_and_string_classes() -> None:
    x, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    estimator = LogisticRegression(max_iter=1000).fit(x, names)
    onx = to_onnx(estimator, x[:1].astype(np.float32))  # default: ZipMap probabilities
    model = OnnxModel.from_bytes(onx.SerializeToString())
    features = x[::30].astype(np.float32)
    pairs = labels_from_outputs(model.run({model.input_names[0]: features}))
    assert [label for label, _ in pairs] == estimator.predict(features).tolist()
    got = np.array([s for _, s in pairs], dtype=float)
    np.testing.assert_allclose(got, estimator.predict_proba(features), atol=1e-5)
    json.dumps(pairs)


def test_skl2onnx_regressor() -> None:
    x, y = load_diabetes(return_X_y=True)
    estimator = LinearRegression().fit(x, y)
    onx = to_onnx(estimator, x[:1].astype(np.float32))
    model = OnnxModel.from_bytes(onx.SerializeToString())
    features = x[:10].astype(np.float32)
    pairs = labels_from_outputs(model.run({model.input_names[0]: features}))
    assert all(scores is None and type(label) is float for label, scores in pairs)
    np.testing.assert_allclose(
        np.array([label for label, _ in pairs], dtype=float), estimator.predict(features), rtol=1e-4
    )


# -- write_predictions / prune_predictions -----------------------------------------------


def _count(session: Session, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(Prediction).where(*where)) or 0


def test_a_batch_over_several_insert_statements_counts_only_new_rows(
    sessions: sessionmaker[Session],
) -> None:
    from router.quality import predictions as module

    size = module._SQLITE_CHUNK * 2 + 7  # three multi-row statements on SQLite
    stored = [_record(f"old{i}") for i in range(0, size, 3)]
    with sessions.begin() as s:
        assert write_predictions(s, stored) == len(stored)
    batch = [_record(f"old{i}") for i in range(size)]  # every third is stored already
    with sessions.begin() as s:
        assert write_predictions(s, batch) == size - len(stored)
    with sessions() as s:
        assert _count(s) == size
        assert _count(s, Prediction.request_id == f"old{size - 1}") == 1


def test_write_inserts_and_ignores_rows_already_stored(
    sessions: sessionmaker[Session],
) -> None:
    first = [_record("r1", 0), _record("r1", 1), _record("r2", 0)]
    with sessions.begin() as s:
        assert write_predictions(s, first) == 3
    with sessions.begin() as s:
        # A retried flush: the same rows again, plus one new.
        assert write_predictions(s, [*first, _record("r3", 0)]) == 1
        # Duplicates inside one batch count once; the first copy wins.
        assert write_predictions(s, [_record("r4", label=0), _record("r4", label=1)]) == 1
    with sessions() as s:
        assert _count(s) == 5
        assert s.scalar(select(Prediction.label).where(Prediction.request_id == "r4")) == 0
        stored = s.scalars(select(Prediction).where(Prediction.request_id == "r1")).first()
        assert stored is not None
        assert (stored.model_name, stored.version, stored.at) == ("fraud", "1", T0)
        assert stored.scores == [0.25, 0.75] and stored.shadow is False


def test_a_shadow_version_answering_the_same_request_is_its_own_row(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        written = write_predictions(s, [_record("r1"), _record("r1", version="2", shadow=True)])
        assert written == 2
    with sessions() as s:
        assert _count(s, Prediction.shadow.is_(True)) == 1


def test_times_in_other_zones_are_stored_as_utc(sessions: sessionmaker[Session]) -> None:
    paris = timezone(timedelta(hours=1))
    with sessions.begin() as s:
        write_predictions(s, [_record("tz", at=T0.astimezone(paris), label=np.int64(2))])
    with sessions() as s:
        stored = s.scalars(select(Prediction).where(Prediction.request_id == "tz")).one()
        assert stored.at == T0 and stored.label == 2
        assert s.scalar(select(func.count()).where(Prediction.at < T0 + timedelta(0, 1))) == 1


def test_missing_label_and_scores_are_sql_null(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        write_predictions(s, [_record("r1", label=None, scores=None)])
    with sessions() as s:
        assert _count(s, Prediction.label.is_(None), Prediction.scores.is_(None)) == 1


def test_overlong_request_ids_are_skipped(sessions: sessionmaker[Session]) -> None:
    long_id = "x" * (REQUEST_ID_MAX_LENGTH + 1)
    with sessions.begin() as s:
        assert write_predictions(s, [_record(long_id), _record("x" * REQUEST_ID_MAX_LENGTH)]) == 1
        assert write_predictions(s, []) == 0


def test_write_many_requests_across_chunks(sessions: sessionmaker[Session]) -> None:
    records = [_record(f"req-{i}", row) for i in range(1_200) for row in range(2)]
    with sessions.begin() as s:
        assert write_predictions(s, records) == 2_400
    with sessions.begin() as s:
        assert write_predictions(s, records) == 0
        assert _count(s) == 2_400


def test_prune_deletes_only_older_predictions(sessions: sessionmaker[Session]) -> None:
    ages = {"old": T0 - timedelta(hours=2), "older": T0 - timedelta(hours=3), "new": T0}
    with sessions.begin() as s:
        write_predictions(s, [_record(name, at=at) for name, at in ages.items()])
    with sessions.begin() as s:
        assert prune_predictions(s, T0 - timedelta(hours=1)) == 2
    with sessions() as s:
        assert s.scalars(select(Prediction.request_id)).all() == ["new"]
        with pytest.raises(ValueError, match="naive"):
            prune_predictions(s, T0.replace(tzinfo=None))
