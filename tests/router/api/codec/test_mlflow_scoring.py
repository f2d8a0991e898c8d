"""The MLflow scoring protocol's rules, one test per rule (parity with MLflow itself is
in test_mlflow_parity.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from router.api.codec import (
    BadRequest,
    InputError,
    UnsupportedMediaType,
    decode_invocations,
    encode_error_mlflow,
    encode_predictions,
)
from router.inference import ModelSignature

ROW = [i / 8 for i in range(30)]
JSON = "application/json"


def decode(doc: Any, signature: ModelSignature, content_type: str = JSON) -> Any:
    return decode_invocations(orjson.dumps(doc), content_type, signature)


def predictions(raw: bytes) -> Any:
    return json.loads(raw)["predictions"]


# --- content types -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        JSON,
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_json_content_types(cancer_signature: ModelSignature, content_type: str) -> None:
    request = decode({"inputs": [ROW]}, cancer_signature, content_type)
    assert request.feeds["input"].shape == (1, 30)


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (
            "text/plain",
            "unsupported Content-Type 'text/plain'; send application/json, text/csv or "
            "application/vnd.apache.parquet",
        ),
        (
            "application/x-www-form-urlencoded",
            "unsupported Content-Type 'application/x-www-form-urlencoded'; send "
            "application/json, text/csv or application/vnd.apache.parquet",
        ),
        (
            None,
            "missing Content-Type; send application/json, text/csv or "
            "application/vnd.apache.parquet",
        ),
        ("application/json; charset=latin-1", "only UTF-8 is supported, got charset 'latin-1'"),
        ("text/csv; format=pandas-split", "unrecognized Content-Type parameters: format"),
    ],
)
def test_other_content_types_are_415(
    cancer_signature: ModelSignature, content_type: str | None, message: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_invocations(b'{"inputs": []}', content_type, cancer_signature)
    assert caught.value.status == 415
    assert caught.value.message == message


# --- the four keys -------------------------------------------------------------------

REQUIRED = (
    "the request must be a JSON object with exactly one of the keys 'dataframe_split', "
    "'dataframe_records', 'instances', 'inputs' (and optionally 'params')"
)


@pytest.mark.parametrize(
    ("doc", "got"),
    [
        ({"inputs": [ROW], "instances": [ROW]}, "got keys ['inputs', 'instances']"),
        ({"data": [ROW]}, "got keys ['data']"),
        ({}, "got keys []"),
        ({"params": {}}, "got keys ['params']"),
        ([ROW], "got a list"),
        ("x", "got a JSON str"),
    ],
)
def test_exactly_one_accepted_key(cancer_signature: ModelSignature, doc: Any, got: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode(doc, cancer_signature)
    assert caught.value.message == f"{REQUIRED}; {got}"


def test_other_keys_are_ignored_and_params_kept(cancer_signature: ModelSignature) -> None:
    request = decode({"inputs": [ROW], "params": {"k": 1}, "extra": 2}, cancer_signature)
    assert request.params == {"k": 1}
    assert decode({"inputs": [ROW]}, cancer_signature).params is None


def test_params_must_be_an_object(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="^'params' must be a JSON object$"):
        decode({"inputs": [ROW], "params": [1]}, cancer_signature)


def test_malformed_json(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_invocations(b'{"inputs": [[1.0,]]}', JSON, cancer_signature)
    assert caught.value.message == ("malformed JSON at byte 16: trailing comma is not allowed")


# --- instances and inputs ------------------------------------------------------------


@pytest.mark.parametrize("key", ["instances", "inputs"])
def test_rows_bind_to_a_single_input(cancer_signature: ModelSignature, key: str) -> None:
    request = decode({key: [ROW, ROW]}, cancer_signature)
    assert request.feeds["input"].dtype == np.float32
    assert request.feeds["input"].shape == (2, 30)
    assert (request.rows, request.frame) == (2, False)


def test_a_single_row_without_its_batch_dimension(cancer_signature: ModelSignature) -> None:
    request = decode({"inputs": ROW}, cancer_signature)
    assert request.feeds["input"].shape == (1, 30)
    assert request.rows == 1


def test_integers_feed_a_float_input(cancer_signature: ModelSignature) -> None:
    request = decode({"inputs": [list(range(30))]}, cancer_signature)
    assert request.feeds["input"].dtype == np.float32


def test_a_column_count_that_does_not_fit(cancer_signature: ModelSignature) -> None:
    with pytest.raises(InputError) as caught:
        decode({"inputs": [ROW[:29]]}, cancer_signature)
    assert caught.value.message == "input 'input': expected shape [-1, 30], got [1, 29]"


def test_ragged_rows(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="^ragged nested data in input 'input'$"):
        decode({"instances": [ROW, ROW[:29]]}, cancer_signature)


def test_text_into_a_float_input(cancer_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match="^input 'input': FP32 values must be numbers, got 'a'$"):
        decode({"inputs": [[*ROW[:29], "a"]]}, cancer_signature)


def test_named_tensors_bind_by_name(multi_signature: ModelSignature) -> None:
    request = decode(
        {"inputs": {"site": [["n"], ["s"]], "radius": [[1.5], [2.5]], "count": [[1], [2]]}},
        multi_signature,
    )
    feeds = request.feeds
    assert feeds["radius"].dtype == np.float32
    assert feeds["count"].dtype == np.int64
    assert feeds["site"].dtype == object
    assert [feeds[name].shape for name in ("radius", "count", "site")] == [(2, 1)] * 3
    assert request.rows == 2


def test_columns_of_scalars_feed_n_by_1_inputs(multi_signature: ModelSignature) -> None:
    request = decode(
        {"instances": {"radius": [1.5, 2.5], "count": [1, 2], "site": ["n", "s"]}},
        multi_signature,
    )
    assert request.feeds["site"].tolist() == [["n"], ["s"]]
    assert request.feeds["count"].tolist() == [[1], [2]]


def test_records_bind_by_name(multi_signature: ModelSignature) -> None:
    records = [
        {"radius": 1.5, "count": 1, "site": "n"},
        {"radius": 2.5, "count": 2, "site": "s"},
    ]
    request = decode({"instances": records}, multi_signature)
    assert request.feeds["radius"].tolist() == [[1.5], [2.5]]
    assert request.feeds["site"].tolist() == [["n"], ["s"]]
    assert (request.rows, request.frame) == (2, False)


def test_records_of_features_stack_into_a_single_matrix_input(
    cancer_signature: ModelSignature,
) -> None:
    records = [{f"f{i}": value for i, value in enumerate(ROW)}] * 2
    request = decode({"instances": records}, cancer_signature)
    np.testing.assert_array_equal(request.feeds["input"], np.array([ROW, ROW], dtype=np.float32))


def test_records_with_too_few_features(cancer_signature: ModelSignature) -> None:
    records = [{f"f{i}": value for i, value in enumerate(ROW[:29])}]
    with pytest.raises(InputError, match="^input 'input' expects 30 columns, got 29$"):
        decode({"instances": records}, cancer_signature)


def test_records_must_share_their_keys(multi_signature: ModelSignature) -> None:
    records = [{"radius": 1.5, "count": 1, "site": "n"}, {"radius": 2.5, "count": 2}]
    with pytest.raises(BadRequest, match="^every record in 'instances' must have the same keys$"):
        decode({"instances": records}, multi_signature)


def test_records_mixed_with_rows(multi_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="mixes records"):
        decode({"instances": [{"radius": 1.5}, [1.0]]}, multi_signature)


def test_a_missing_named_input(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match="^missing input 'site'$"):
        decode({"inputs": {"radius": [[1.0]], "count": [[1]]}}, multi_signature)


def test_an_unknown_named_input(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError) as caught:
        decode({"inputs": {"radius": [[1.0]], "foo": [[1]]}}, multi_signature)
    assert caught.value.message == (
        "unknown input 'foo'; the model's inputs are 'radius', 'count', 'site'"
    )


def test_a_bare_tensor_for_a_multi_input_model(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match=r"^the model has 3 inputs \('radius', 'count', 'site'\)"):
        decode({"inputs": [[1.0, 2, "x"]]}, multi_signature)


def test_integer_inputs_refuse_fractions(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match="^input 'count': INT64 values must be integers, got 1.5$"):
        decode({"inputs": {"radius": [[1.0]], "count": [[1.5]], "site": [["n"]]}}, multi_signature)


def test_text_inputs_refuse_numbers(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match="^input 'site': BYTES values must be strings, got 3$"):
        decode({"inputs": {"radius": [[1.0]], "count": [[1]], "site": [[3]]}}, multi_signature)


@pytest.mark.parametrize("key", ["instances", "inputs"])
def test_scalars_are_neither_tensors_nor_rows(cancer_signature: ModelSignature, key: str) -> None:
    with pytest.raises(BadRequest, match=f"^'{key}' must be a list or a JSON object"):
        decode({key: 3}, cancer_signature)


# --- dataframes ---------------------------------------------------------------------


def test_dataframe_split(cancer_signature: ModelSignature) -> None:
    split = {"columns": [f"c{i}" for i in range(30)], "data": [ROW, ROW], "index": [7, 8]}
    request = decode({"dataframe_split": split}, cancer_signature)
    np.testing.assert_array_equal(request.feeds["input"], np.array([ROW, ROW], dtype=np.float32))
    assert (request.rows, request.frame) == (2, True)


def test_the_numeric_shortcut_equals_the_pandas_path(cancer_signature: ModelSignature) -> None:
    # A null takes the pandas path (NaN); the same frame without it takes the shortcut.
    fast = decode({"dataframe_split": {"data": [ROW, ROW]}}, cancer_signature)
    with_null = decode({"dataframe_split": {"data": [ROW, [None, *ROW[1:]]]}}, cancer_signature)
    assert np.isnan(with_null.feeds["input"][1, 0])
    with_null.feeds["input"][1, 0] = ROW[0]
    np.testing.assert_array_equal(fast.feeds["input"], with_null.feeds["input"])
    assert fast.feeds["input"].dtype == with_null.feeds["input"].dtype == np.float32


def test_dataframe_split_with_too_few_columns(cancer_signature: ModelSignature) -> None:
    with pytest.raises(InputError) as caught:
        decode({"dataframe_split": {"data": [ROW[:29]]}}, cancer_signature)
    assert caught.value.message == "model input 'input' expects 30 columns, data has 29"


@pytest.mark.parametrize(
    ("split", "got"),
    [
        ([ROW], "a list"),
        ({"columns": ["a"]}, "['columns']"),
        ({"data": [ROW], "orient": "split"}, "['data', 'orient']"),
    ],
)
def test_dataframe_split_must_be_split_oriented(
    cancer_signature: ModelSignature, split: Any, got: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode({"dataframe_split": split}, cancer_signature)
    assert caught.value.message == (
        "'dataframe_split' must be a JSON object with 'data' and optionally 'columns' and "
        f"'index'; got {got}"
    )


def test_dataframe_split_columns_must_fit_the_data(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="^'dataframe_split' is not a valid split-oriented frame"):
        decode({"dataframe_split": {"columns": ["a", "b"], "data": [ROW]}}, cancer_signature)


def test_dataframe_records_bind_by_column_name(multi_signature: ModelSignature) -> None:
    records = [
        {"id": 1, "radius": 1.5, "count": 1, "site": "n"},
        {"id": 2, "radius": 2.5, "count": 2, "site": "s"},
    ]
    request = decode({"dataframe_records": records}, multi_signature)
    assert request.feeds["radius"].tolist() == [[1.5], [2.5]]
    assert request.feeds["site"].tolist() == [["n"], ["s"]]
    assert (request.rows, request.frame) == (2, True)


def test_dataframe_records_must_be_a_list(cancer_signature: ModelSignature) -> None:
    with pytest.raises(
        BadRequest, match="^'dataframe_records' must be a list of records; got an object$"
    ):
        decode({"dataframe_records": {"a": 1}}, cancer_signature)


def test_a_missing_column(multi_signature: ModelSignature) -> None:
    with pytest.raises(InputError, match="missing model input 'site'"):
        decode({"dataframe_records": [{"radius": 1.5, "count": 1}]}, multi_signature)


def test_csv(cancer_signature: ModelSignature) -> None:
    frame = pd.DataFrame([ROW, ROW[::-1]], columns=[f"c{i}" for i in range(30)])
    request = decode_invocations(frame.to_csv(index=False).encode(), "text/csv", cancer_signature)
    np.testing.assert_array_equal(request.feeds["input"], frame.to_numpy(np.float32))
    assert (request.rows, request.frame, request.params) == (2, True, None)


def test_malformed_csv(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="^malformed CSV: "):
        decode_invocations(b"", "text/csv", cancer_signature)
    with pytest.raises(BadRequest, match="^malformed CSV: "):
        decode_invocations(b"a,b\n1,2\n3,4,5\n", "text/csv", cancer_signature)


def test_parquet(multi_signature: ModelSignature) -> None:
    frame = pd.DataFrame({"radius": [1.5], "count": [3], "site": ["n"]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    request = decode_invocations(
        buffer.getvalue(), "application/vnd.apache.parquet", multi_signature
    )
    assert request.feeds["count"].tolist() == [[3]]
    with pytest.raises(BadRequest, match="^malformed Parquet: "):
        decode_invocations(b"not parquet", "application/vnd.apache.parquet", multi_signature)


# --- responses ---------------------------------------------------------------------

OUTPUTS = {
    "label": np.array([1, 0], dtype=np.int64),
    "probabilities": np.array([[0.1, 0.9], [0.75, 0.25]], dtype=np.float32),
}


def test_tensor_inputs_are_answered_with_a_dict_of_outputs() -> None:
    assert predictions(encode_predictions(OUTPUTS)) == {
        "label": [1, 0],
        # As MLflow writes them: FP32 widened through a Python float.
        "probabilities": [[float(np.float32(0.1)), float(np.float32(0.9))], [0.75, 0.25]],
    }


def test_frames_are_answered_with_records_of_flattened_outputs() -> None:
    outputs = {"variable": np.array([[0.5], [1.5]], dtype=np.float32), "n": np.array([1, 2])}
    raw = encode_predictions(outputs, frame=True)
    assert predictions(raw) == [{"variable": 0.5, "n": 1}, {"variable": 1.5, "n": 2}]


def test_frames_whose_outputs_differ_in_length_get_the_dict_form() -> None:
    assert encode_predictions(OUTPUTS, frame=True) == encode_predictions(OUTPUTS)


def test_nan_is_written_as_null() -> None:
    raw = encode_predictions({"y": np.array([np.nan, 1.0], dtype=np.float32)})
    assert predictions(raw) == {"y": [None, 1.0]}


def test_text_and_bytes_outputs() -> None:
    outputs = {"s": np.array(["a", "b"], dtype=object), "b": np.array([b"\x00\x01"], dtype=object)}
    assert predictions(encode_predictions(outputs)) == {"s": ["a", "b"], "b": ["AAE=\n"]}


def test_error_body() -> None:
    assert json.loads(encode_error_mlflow("bad")) == {
        "error_code": "BAD_REQUEST",
        "message": "bad",
        "sqlstate": "KAM00",
        "error_class": "INVALID_PARAMETER_VALUE",
    }
    assert json.loads(encode_error_mlflow("odd", "SOMETHING_ELSE")) == {
        "error_code": "SOMETHING_ELSE",
        "message": "odd",
    }


def test_feature_columns_must_share_their_length(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest, match="^named columns must all have the same length$"):
        columns: dict[str, list[float]] = {f"f{i}": [1.0, 2.0] for i in range(29)}
        decode({"inputs": {**columns, "f29": [3.0]}}, cancer_signature)
