from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_absolute_error,
    root_mean_squared_error,
)

from router.quality import LOG_LOSS_EPS, VersionQuality, compute_quality

TOL = 1e-9


def _classification_data(
    n: int, k: int, seed: int
) -> tuple[list[int], list[int], list[list[float]]]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    scores = rng.dirichlet(np.ones(k), size=n)
    predicted = scores.argmax(axis=1)
    return truth.tolist(), predicted.tolist(), scores.tolist()


@pytest.mark.parametrize(("k", "seed"), [(2, 1), (3, 2), (7, 3)])
def test_accuracy_and_log_loss_equal_sklearn(k: int, seed: int) -> None:
    truth, predicted, scores = _classification_data(500, k, seed)
    result = compute_quality(zip(truth, predicted, scores, strict=True), version="7")
    assert result.kind == "classification"
    assert (result.version, result.labelled, result.shadow) == ("7", 500, False)
    assert result.accuracy == pytest.approx(accuracy_score(truth, predicted), abs=TOL)
    expected = log_loss(truth, y_proba=np.array(scores), labels=list(range(k)))
    assert result.log_loss == pytest.approx(expected, abs=TOL)
    assert (result.mae, result.rmse, result.notes) == (None, None, ())


def test_mae_and_rmse_equal_sklearn() -> None:
    rng = np.random.default_rng(4)
    truth = rng.normal(100, 20, size=400)
    predicted = truth + rng.normal(0, 5, size=400)
    result = compute_quality(
        zip(truth.tolist(), predicted.tolist(), [None] * 400, strict=True), shadow=True
    )
    assert result.kind == "regression" and result.shadow
    assert result.mae == pytest.approx(mean_absolute_error(truth, predicted), abs=TOL)
    assert result.rmse == pytest.approx(root_mean_squared_error(truth, predicted), abs=TOL)
    assert (result.accuracy, result.log_loss) == (None, None)


def test_whole_true_values_with_fractional_predictions_are_regression() -> None:
    result = compute_quality([(3, 2.5, None), (5, 5.0, None)])
    assert result.kind == "regression"
    assert result.mae == pytest.approx(0.25)
    assert result.rmse == pytest.approx(math.sqrt(0.125))


def test_bools_and_whole_floats_are_classes() -> None:
    result = compute_quality([(True, 1, None), (1.0, 1, None), (False, 1, None), (0, 0.0, None)])
    assert result.kind == "classification"
    assert result.accuracy == 0.75


def test_string_labels_give_accuracy_but_no_log_loss() -> None:
    pairs = [("cat", "cat", [0.9, 0.1]), ("dog", "cat", [0.6, 0.4])]
    result = compute_quality(pairs)
    assert result.kind == "classification" and result.accuracy == 0.5
    assert result.log_loss is None
    assert any("string labels" in note for note in result.notes)


def test_log_loss_needs_scores_on_every_prediction() -> None:
    result = compute_quality([(1, 1, [0.2, 0.8]), (0, 1, None)])
    assert result.log_loss is None and result.accuracy == 0.5
    assert result.notes == ("log loss skipped: 1 of 2 predictions have no scores",)
    without = compute_quality([(1, 1, None), (0, 1, None)])
    assert without.log_loss is None and without.notes == ()


def test_log_loss_needs_labels_that_index_the_scores() -> None:
    result = compute_quality([(1, 1, [0.2, 0.8]), (2, 1, [0.5, 0.5])])
    assert result.log_loss is None
    assert result.notes == ("log loss skipped: label 2 is not a class index 0..1",)


def test_probabilities_are_clipped() -> None:
    result = compute_quality([(0, 1, [0.0, 1.0]), (1, 1, [0.0, 1.0])])
    assert result.log_loss == pytest.approx(-math.log(LOG_LOSS_EPS) / 2, abs=TOL)


def test_a_missing_predicted_label_comes_from_the_scores() -> None:
    result = compute_quality([(1, None, [0.2, 0.8]), (0, None, [0.3, 0.7])])
    assert result.accuracy == 0.5 and result.labelled == 2


def test_unusable_pairs_are_skipped_and_said() -> None:
    result = compute_quality([(1, 1, None), (1, None, None)])
    assert result.labelled == 1 and result.accuracy == 1.0
    assert result.notes == ("1 labelled predictions skipped: no predicted label",)
    regression = compute_quality([(1.5, 2.0, None), (1.5, None, None), (2.5, "x", None)])
    assert regression.labelled == 1 and regression.mae == 0.5
    assert regression.notes == (
        "2 labelled predictions skipped: no finite numeric truth and prediction",
    )


def test_nothing_labelled() -> None:
    assert compute_quality([], version="3") == VersionQuality("3", 0, "classification")


@given(
    st.lists(
        st.tuples(
            st.integers(-(10**6), 10**6),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_regression_mae_never_exceeds_rmse(values: list[tuple[int, float]]) -> None:
    # Whole numbers plus 0.5 are fractional, so the kind is always regression.
    result = compute_quality([(t + 0.5, p, None) for t, p in values])
    assert result.kind == "regression"
    assert result.mae is not None and result.rmse is not None
    assert 0 <= result.mae <= result.rmse * (1 + 1e-12) + 1e-12


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=50))
def test_accuracy_matches_sklearn_for_any_integer_labels(pairs: list[tuple[int, int]]) -> None:
    truth = [t for t, _ in pairs]
    predicted = [p for _, p in pairs]
    result = compute_quality([(t, p, None) for t, p in pairs])
    assert result.accuracy == pytest.approx(accuracy_score(truth, predicted), abs=TOL)
