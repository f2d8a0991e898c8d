from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from router.inference import (
    InputMismatchError,
    ModelSignature,
    TensorSpec,
    feeds_from_array,
    feeds_from_frame,
    synthetic_feeds,
)

MATRIX = ModelSignature(inputs=(TensorSpec("X", "FP32", (None, 3)),), outputs=())
OPEN = ModelSignature(inputs=(TensorSpec("X", "FP32", (None, None)),), outputs=())
NAMED = ModelSignature(
    inputs=(
        TensorSpec("radius", "FP32", (None, 1)),
        TensorSpec("count", "INT64", (None, 1)),
        TensorSpec("site", "BYTES", (None, 1)),
        TensorSpec("on", "BOOL", (None,)),
    ),
    outputs=(),
)


def named_frame(**override: object) -> pd.DataFrame:
    data: dict[str, object] = {
        "site": ["north", "south"],
        "radius": [1.5, 2.5],
        "on": [True, False],
        "count": [3, 4],
        "id": ["r1", "r2"],
    }
    data.update(override)
    return pd.DataFrame(data)


# Rule (a): one rank-2 input takes the whole frame, stacked in frame order.


def test_single_matrix_input_stacks_columns_in_frame_order() -> None:
    frame = pd.DataFrame({"c": [1.0, 2.0], "a": [3, 4], "b": [True, False]})
    feeds = feeds_from_frame(MATRIX, frame)
    assert list(feeds) == ["X"]
    assert feeds["X"].dtype == np.float32
    np.testing.assert_array_equal(feeds["X"], [[1, 3, 1], [2, 4, 0]])


def test_matrix_with_a_text_column_is_cast_column_by_column() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["3.5", "4"], "c": pd.array([5, None], "Int64")})
    matrix = feeds_from_frame(MATRIX, frame)["X"]
    np.testing.assert_array_equal(matrix, np.array([[1, 3.5, 5], [2, 4, np.nan]], np.float32))


def test_unknown_column_count_takes_any_width() -> None:
    frame = pd.DataFrame(np.arange(10.0).reshape(2, 5))
    assert feeds_from_frame(OPEN, frame)["X"].shape == (2, 5)


# Rule (b): several inputs are taken from the columns of the same name.


def test_named_inputs_come_from_same_named_columns() -> None:
    feeds = feeds_from_frame(NAMED, named_frame())
    assert list(feeds) == ["radius", "count", "site", "on"]
    assert feeds["radius"].dtype == np.float32
    assert feeds["radius"].shape == (2, 1)
    assert feeds["count"].dtype == np.int64
    assert feeds["site"].dtype == object
    assert feeds["site"].tolist() == [["north"], ["south"]]
    # A rank-1 input is shaped [n], not [n, 1].
    assert feeds["on"].tolist() == [True, False]


def test_missing_named_input_is_named() -> None:
    with pytest.raises(InputMismatchError, match="missing model input 'count'"):
        feeds_from_frame(NAMED, named_frame().drop(columns="count"))


def test_named_input_wider_than_one_column_cannot_bind() -> None:
    signature = ModelSignature(
        inputs=(TensorSpec("a", "FP32", (None, 2)), TensorSpec("b", "FP32", (None, 1))),
        outputs=(),
    )
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(InputMismatchError, match="'a' expects 2 columns, data has 1"):
        feeds_from_frame(signature, frame)


def test_single_rank1_input_takes_its_column_or_the_only_column() -> None:
    signature = ModelSignature(inputs=(TensorSpec("a", "INT32", (None,)),), outputs=())
    assert feeds_from_frame(signature, pd.DataFrame({"z": [1, 2]}))["a"].dtype == np.int32
    frame = pd.DataFrame({"z": [1, 2], "a": [7, 8]})
    assert feeds_from_frame(signature, frame)["a"].tolist() == [7, 8]
    with pytest.raises(InputMismatchError, match="none is named 'a'"):
        feeds_from_frame(signature, pd.DataFrame({"y": [1], "z": [2]}))


# Rule (c): a column that cannot be cast names the column and both dtypes.


def test_text_into_float_names_column_and_dtypes() -> None:
    frame = named_frame(radius=["big", "small"])
    with pytest.raises(InputMismatchError) as caught:
        feeds_from_frame(NAMED, frame)
    message = str(caught.value)
    assert message.startswith("column 'radius' (object) cannot be cast to FP32")
    assert "'big'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("count", [1.5, 2.0], "fractional values"),
        ("count", [1.0, np.nan], "missing or infinite values"),
        ("count", pd.array([1, None], "Int64"), "missing or infinite values"),
        ("count", ["a", "b"], "could not convert string to float"),
        ("site", [1, 2], "numbers, not text"),
        ("site", ["north", None], "non-text values such as None"),
        ("on", [0, 2], "only 0 and 1 are booleans"),
        ("on", ["yes", "no"], "not booleans"),
    ],
)
def test_uncastable_columns_are_refused(column: str, values: object, reason: str) -> None:
    with pytest.raises(InputMismatchError, match=f"column '{column}' .*{reason}"):
        feeds_from_frame(NAMED, named_frame(**{column: values}))


def test_integer_range_is_checked() -> None:
    signature = ModelSignature(inputs=(TensorSpec("a", "INT8", (None,)),), outputs=())
    with pytest.raises(InputMismatchError, match="do not fit int8"):
        feeds_from_frame(signature, pd.DataFrame({"a": [1, 300]}))


def test_castable_variants_are_accepted() -> None:
    frame = named_frame(
        count=[3.0, 4.0],
        site=pd.Series(["north", "south"], dtype="category"),
        on=[1, 0],
        radius=pd.array([1.5, None], "Float64"),
    )
    feeds = feeds_from_frame(NAMED, frame)
    assert feeds["count"].tolist() == [[3], [4]]
    assert feeds["site"].tolist() == [["north"], ["south"]]
    assert feeds["on"].tolist() == [True, False]
    assert np.isnan(feeds["radius"][1, 0])


# Rule (d): a column count that does not fit a fixed width.


def test_column_count_mismatch_message() -> None:
    signature = ModelSignature(inputs=(TensorSpec("X", "FP32", (None, 30)),), outputs=())
    frame = pd.DataFrame(np.zeros((2, 29)))
    with pytest.raises(InputMismatchError) as caught:
        feeds_from_frame(signature, frame)
    assert str(caught.value) == "model input 'X' expects 30 columns, data has 29"


# Arrays and synthetic rows.


def test_array_one_dimensional_is_one_row() -> None:
    feeds = feeds_from_array(MATRIX, np.array([1, 2, 3]))
    assert feeds["X"].shape == (1, 3)
    assert feeds["X"].dtype == np.float32
    assert feeds_from_array(MATRIX, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])["X"].shape == (2, 3)


def test_array_errors() -> None:
    with pytest.raises(InputMismatchError, match="expects 3 columns, data has 2"):
        feeds_from_array(MATRIX, np.zeros((4, 2)))
    with pytest.raises(InputMismatchError, match="expects rank 2, array has rank 3"):
        feeds_from_array(MATRIX, np.zeros((1, 1, 3)))
    with pytest.raises(InputMismatchError, match=r"array \(<U1\) cannot be cast to FP32"):
        feeds_from_array(MATRIX, np.array(["a", "b", "c"]))
    with pytest.raises(InputMismatchError, match="binds only to a single-input model"):
        feeds_from_array(NAMED, np.zeros((1, 4)))


def test_synthetic_feeds_are_one_row_of_the_right_dtypes() -> None:
    feeds = synthetic_feeds(NAMED)
    assert feeds["radius"].shape == (1, 1)
    assert feeds["radius"].dtype == np.float32
    assert feeds["count"].dtype == np.int64
    assert feeds["site"].tolist() == [[""]]
    assert feeds["on"].tolist() == [False]
    assert synthetic_feeds(OPEN)["X"].shape == (1, 1)


def test_opaque_inputs_cannot_be_bound() -> None:
    signature = ModelSignature(
        inputs=(TensorSpec("s", "BYTES", (None,), "seq(tensor(float))"),), outputs=()
    )
    with pytest.raises(InputMismatchError, match="only tensor inputs"):
        synthetic_feeds(signature)
