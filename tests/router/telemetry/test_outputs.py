from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.telemetry import OUTPUT_GRID, MergeMismatch, OutputSummary, SchemaVersionError, disagree


def test_labels_are_counted_per_class_as_text() -> None:
    s = OutputSummary("label")
    s.observe([1, 0, 1])
    s.observe("cat")
    s.observe(np.int64(1))
    s.observe(np.array([0, 0]))
    s.observe(True)
    assert s.labels == {"1": 3, "0": 3, "cat": 1, "True": 1}
    assert s.value_count == 0


def test_floats_go_to_the_fixed_value_grid_with_a_sum() -> None:
    s = OutputSummary("probability")
    s.observe([0.1, 0.9, 0.9])
    s.observe(np.float32(0.5))
    assert s.value_count == 4
    assert s.values[OUTPUT_GRID.bin(0.9)] == 2
    assert s.mean == pytest.approx((0.1 + 0.9 + 0.9 + 0.5) / 4)
    lo, hi = OUTPUT_GRID.bounds(OUTPUT_GRID.bin(0.9))
    assert lo <= 0.9 < hi and hi - lo < 0.05


def test_invalid_outputs_are_counted_apart() -> None:
    s = OutputSummary()
    s.observe([None, math.nan, math.inf, [0.2, 0.8], {"a": 1}])
    s.observe(np.array([[0.2, 0.8], [0.3, 0.7]]))
    assert s.invalid == 7
    assert s.value_count == 0 and not s.labels
    assert s.mean is None


def test_one_column_2d_outputs_are_flattened() -> None:
    s = OutputSummary()
    s.observe(np.array([[0.25], [0.75]]))
    s.observe([[0.5]])
    assert s.value_count == 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_])
def test_array_batch_equals_one_by_one(dtype: type) -> None:
    rng = np.random.default_rng(1)
    a: np.ndarray[Any, Any] = rng.normal(0.5, 2.0, 200).astype(dtype)
    if np.dtype(dtype).kind == "f":
        a[3] = np.nan
        a[4] = np.inf
    batch, single = OutputSummary(), OutputSummary()
    batch.observe(a)
    for v in a.tolist():
        single.observe(v)
    assert batch.labels == single.labels
    assert batch.values == single.values
    assert batch.invalid == single.invalid
    assert batch.sum == pytest.approx(single.sum)


def test_shadow_pairs_and_disagreements() -> None:
    s = OutputSummary()
    for agreed in (True, True, False):
        s.count_pair(agreed)
    assert (s.pairs, s.disagreements) == (3, 1)


@pytest.mark.parametrize(
    ("a", "b", "differ"),
    [
        (1, 1, False),
        (1, 2, True),
        ("cat", "dog", True),
        (0.5, 0.5 + 1e-9, False),
        (0.5, 0.6, True),
        (1, 1.0, False),
        (math.nan, math.nan, False),
        (math.nan, 0.1, True),
        ([1, 2], [1, 2], False),
        ([1, 2], [1, 3], True),
        ([1, 2], [1], True),
        (np.array([0.1, 0.2]), [0.1, 0.2], False),
        (np.int64(3), 3, False),
        (None, 0.0, True),
        ("1", 1.0, True),
        ([1], 1, True),
    ],
)
def test_disagree(a: object, b: object, differ: bool) -> None:
    assert disagree(a, b) is differ


def test_disagree_tolerance() -> None:
    assert not disagree(1.0, 1.05, tolerance=0.1)
    assert disagree(1.0, 1.05, tolerance=0.01)


def test_merge_adds_and_checks_names() -> None:
    a, b = OutputSummary("label"), OutputSummary(None)
    a.observe([1, 2])
    b.observe([2, 0.5])
    b.count_pair(False)
    a.merge(b)
    assert a.labels == {"1": 1, "2": 2}
    assert a.value_count == 1 and a.pairs == 1 and a.disagreements == 1
    assert a.name == "label"
    with pytest.raises(MergeMismatch):
        a.merge(OutputSummary("probabilities"))


@given(st.lists(st.one_of(st.integers(-3, 3), st.floats(-1e6, 1e6), st.sampled_from(["a", "b"]))))
def test_dict_round_trip(values: list[object]) -> None:
    s = OutputSummary("y")
    s.observe(values)
    s.count_pair(True)
    doc = s.to_dict()
    assert set(doc) == {"v", "name", "labels", "values", "sum", "invalid", "pairs", "disagreements"}
    assert OutputSummary.from_dict(doc) == s


def test_from_dict_refuses_unknown_versions() -> None:
    assert OutputSummary.from_dict({}) == OutputSummary()
    with pytest.raises(SchemaVersionError):
        OutputSummary.from_dict({"v": 2})
    with pytest.raises(SchemaVersionError):
        OutputSummary.from_dict({"v": 1, "values": {"99999": 1}})
