"""Open Inference Protocol v2 bodies: decoding, checking against the model, encoding."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pytest

from router.api.codec import (
    ONNX_PLATFORM,
    BadRequest,
    InputError,
    InputMeta,
    decode_infer_request,
    encode_error,
    encode_infer_response,
    model_metadata,
    server_metadata,
)
from router.inference import ModelSignature, OnnxModel, TensorSpec

ROW = [i / 8 for i in range(30)]


def body(*inputs: dict[str, Any], **extra: Any) -> bytes:
    return orjson.dumps({"inputs": list(inputs), **extra})


def tensor(name: str, shape: list[int], datatype: str, data: Any) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def one_row(data: Any = None, shape: list[int] | None = None, datatype: str = "FP32") -> bytes:
    return body(tensor("input", shape or [1, 30], datatype, ROW if data is None else data))


def respond(outputs: dict[str, np.ndarray], signature: ModelSignature, **kw: Any) -> Any:
    kw.setdefault("request_id", "r-1")
    kw.setdefault("requested", None)
    raw = encode_infer_response(
        model_name="m", model_version="3", outputs=outputs, signature=signature, **kw
    )
    return json.loads(raw)


# --- every datatype, flat and nested, through a real model ------------------------

DATA: dict[str, list[Any]] = {
    "BOOL": [True, False, False, True],
    "UINT8": [0, 255, 7, 128],
    "INT8": [-128, 127, 0, -1],
    "INT32": [1, -2, 2_000_000_000, 4],
    "INT64": [2**40, -(2**62), 0, 9],
    "FP16": [0.5, -1.25, 1024.0, 0.0],
    "FP32": [0.5, -1.25, 3.0e10, 0.0],
    "FP64": [0.1, -1e-300, 1e300, 2.5],
    "BYTES": ["a", "é ü", "", "two words"],
}


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
@pytest.mark.parametrize("datatype", sorted(DATA))
def test_each_datatype_round_trips_through_the_model(
    identity_models: dict[str, OnnxModel], datatype: str, nested: bool
) -> None:
    model = identity_models[datatype]
    flat = DATA[datatype]
    data = [flat[:2], flat[2:]] if nested else flat
    request = decode_infer_request(body(tensor("x", [2, 2], datatype, data)), model.signature)
    assert request.feeds["x"].shape == (2, 2)
    outputs = model.run(request.feeds)
    doc = respond(outputs, model.signature)
    assert doc["outputs"] == [{"name": "y", "datatype": datatype, "shape": [2, 2], "data": flat}]


def test_flat_and_nested_data_decode_to_the_same_array(cancer_signature: ModelSignature) -> None:
    rows = [ROW, ROW[::-1]]
    flat = decode_infer_request(one_row(rows[0] + rows[1], [2, 30]), cancer_signature)
    nested = decode_infer_request(one_row(rows, [2, 30]), cancer_signature)
    np.testing.assert_array_equal(flat.feeds["input"], nested.feeds["input"])
    assert flat.feeds["input"].dtype == np.float32
    assert flat.rows == nested.rows == 2


def test_fp32_outputs_are_written_at_fp32_precision(cancer_signature: ModelSignature) -> None:
    outputs = {
        "label": np.array([1], dtype=np.int64),
        "probabilities": np.array([[0.1, 0.9]], dtype=np.float32),
    }
    raw = encode_infer_response(
        model_name="m",
        model_version="1",
        request_id="a",
        outputs=outputs,
        signature=cancer_signature,
        requested=None,
    )
    assert b'"data":[0.1,0.9]' in raw


def test_string_and_opaque_outputs_are_bytes(cancer_signature: ModelSignature) -> None:
    names = np.array([["a", "b"]], dtype=object)
    zipmap = np.empty(2, dtype=object)
    zipmap[0], zipmap[1] = {0: 0.25, 1: 0.75}, {0: 1.0, 1: np.float32(0.0)}
    doc = respond({"names": names, "zipmap": zipmap}, cancer_signature)
    assert doc["outputs"] == [
        {"name": "names", "datatype": "BYTES", "shape": [1, 2], "data": ["a", "b"]},
        {
            "name": "zipmap",
            "datatype": "BYTES",
            "shape": [2],
            "data": [{"0": 0.25, "1": 0.75}, {"0": 1.0, "1": 0.0}],
        },
    ]


def test_non_contiguous_outputs_are_written_row_major(cancer_signature: ModelSignature) -> None:
    transposed = np.arange(6, dtype=np.int64).reshape(2, 3).T
    doc = respond({"t": transposed}, cancer_signature)
    assert doc["outputs"][0]["shape"] == [3, 2]
    assert doc["outputs"][0]["data"] == [0, 3, 1, 4, 2, 5]


# --- casts between the declared datatype and the model's -------------------------


@pytest.mark.parametrize(
    ("declared", "data", "model_type", "expected"),
    [
        ("FP64", [0.1, 2.0], "FP32", np.array([0.1, 2.0], dtype=np.float32)),
        ("INT32", [1, -7], "INT64", np.array([1, -7], dtype=np.int64)),
        ("INT64", [3, 2**20], "FP32", np.array([3, 2**20], dtype=np.float32)),
        ("INT64", [3, -4], "INT32", np.array([3, -4], dtype=np.int32)),
        ("BOOL", [True, False], "INT64", np.array([1, 0], dtype=np.int64)),
        ("FP32", [1, 2], "FP64", np.array([1.0, 2.0])),
    ],
)
def test_safe_casts_are_made(
    declared: str, data: list[Any], model_type: str, expected: np.ndarray
) -> None:
    signature = ModelSignature((TensorSpec("x", model_type, (None,)),), ())
    feeds = decode_infer_request(body(tensor("x", [2], declared, data)), signature).feeds
    assert feeds["x"].dtype == expected.dtype
    np.testing.assert_array_equal(feeds["x"], expected)


@pytest.mark.parametrize(
    ("declared", "data", "model_type"),
    [
        ("FP32", [1.0, 2.0], "INT64"),
        ("FP64", [1.5, 2.0], "INT32"),
        ("BYTES", ["1", "2"], "FP32"),
        ("INT64", [1, 2], "BYTES"),
        ("INT64", [1, 0], "BOOL"),
    ],
)
def test_unsafe_casts_are_refused(declared: str, data: list[Any], model_type: str) -> None:
    signature = ModelSignature((TensorSpec("x", model_type, (None,)),), ())
    with pytest.raises(InputError) as caught:
        decode_infer_request(body(tensor("x", [2], declared, data)), signature)
    assert caught.value.status == 400
    assert caught.value.message == f"input 'x': datatype {model_type} expected, got {declared}"


def test_values_that_do_not_fit_the_models_integer_type_are_refused() -> None:
    signature = ModelSignature((TensorSpec("x", "INT32", (None,)),), ())
    with pytest.raises(InputError, match=r"^input 'x': values from 1 to 4294967296 do not fit"):
        decode_infer_request(body(tensor("x", [2], "INT64", [1, 2**32])), signature)


# --- data that is not of its declared datatype -------------------------------------


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        ("INT64", [1, 1.5], "input 'x': INT64 values must be integers, got 1.5"),
        ("FP32", [1.0, "a"], "input 'x': FP32 values must be numbers, got 'a'"),
        ("FP32", [1.0, None], "input 'x': FP32 values must be numbers, got None"),
        ("FP32", [True, False], "input 'x': FP32 values must be numbers, got True"),
        ("BOOL", [1, 0], "input 'x': BOOL values must be true or false, got 1"),
        ("BYTES", ["a", 1], "input 'x': BYTES values must be strings, got 1"),
        ("INT8", [1, 300], "input 'x': values from 1 to 300 do not fit INT8"),
        ("UINT8", [-1, 3], "input 'x': values from -1 to 3 do not fit UINT8"),
        ("INT64", [1, 2**63], "input 'x': values from 1 to 9223372036854775808 do not fit INT64"),
    ],
)
def test_data_must_be_of_its_declared_datatype(
    datatype: str, data: list[Any], message: str
) -> None:
    signature = ModelSignature((TensorSpec("x", datatype, (None,)),), ())
    with pytest.raises(BadRequest) as caught:
        decode_infer_request(body(tensor("x", [2], datatype, data)), signature)
    assert caught.value.message == message


def test_integral_floats_are_integers() -> None:
    signature = ModelSignature((TensorSpec("x", "INT64", (None,)),), ())
    feeds = decode_infer_request(body(tensor("x", [2], "INT64", [1.0, -2.0])), signature).feeds
    assert feeds["x"].dtype == np.int64
    assert feeds["x"].tolist() == [1, -2]


# --- shapes ----------------------------------------------------------------------


def test_element_count_must_match_the_declared_shape(cancer_signature: ModelSignature) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_infer_request(one_row(ROW[:29]), cancer_signature)
    assert caught.value.message == "input 'input': shape [1, 30] holds 30 elements, data has 29"


@pytest.mark.parametrize(
    ("shape", "got"), [([1, 29], "[1, 29]"), ([29], "[29]"), ([1, 29, 1], "[1, 29, 1]")]
)
def test_shape_must_fit_the_model(
    cancer_signature: ModelSignature, shape: list[int], got: str
) -> None:
    with pytest.raises(InputError) as caught:
        decode_infer_request(one_row(ROW[:29], shape), cancer_signature)
    assert caught.value.message == f"input 'input': expected shape [-1, 30], got {got}"


def test_variable_dimensions_take_any_size() -> None:
    signature = ModelSignature((TensorSpec("x", "FP32", (None, None, 2)),), ())
    request = decode_infer_request(body(tensor("x", [3, 1, 2], "FP32", [0.0] * 6)), signature)
    assert request.feeds["x"].shape == (3, 1, 2)
    assert request.rows == 3


def test_nested_data_is_reshaped_to_the_declared_shape(cancer_signature: ModelSignature) -> None:
    halves = [ROW[:15], ROW[15:]]
    request = decode_infer_request(one_row(halves, [1, 30]), cancer_signature)
    np.testing.assert_array_equal(request.feeds["input"], np.array([ROW], dtype=np.float32))


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("FP32", [[1.0, 2.0], [3.0]]),
        ("FP32", [[1.0, 2.0], 3.0]),
        ("BYTES", [["a", "b"], ["c"]]),
        ("BYTES", [["a"], "b"]),
    ],
)
def test_ragged_nested_data_is_refused(datatype: str, data: list[Any]) -> None:
    signature = ModelSignature((TensorSpec("x", datatype, (None, None)),), ())
    with pytest.raises(BadRequest) as caught:
        decode_infer_request(body(tensor("x", [2, 2], datatype, data)), signature)
    assert caught.value.message == "ragged nested data in input 'x'"


# --- names: inputs and outputs ----------------------------------------------------


def test_a_missing_input_is_named(multi_signature: ModelSignature) -> None:
    request = body(tensor("radius", [1, 1], "FP32", [1.0]), tensor("site", [1, 1], "BYTES", ["x"]))
    with pytest.raises(InputError) as caught:
        decode_infer_request(request, multi_signature)
    assert caught.value.message == "missing input 'count'"


def test_an_unknown_input_is_named(cancer_signature: ModelSignature) -> None:
    request = body(tensor("input", [1, 30], "FP32", ROW), tensor("foo", [1], "FP32", [1.0]))
    with pytest.raises(InputError) as caught:
        decode_infer_request(request, cancer_signature)
    assert caught.value.message == "unknown input 'foo'; the model's inputs are 'input'"


def test_an_input_given_twice_is_refused(cancer_signature: ModelSignature) -> None:
    twice = tensor("input", [1, 30], "FP32", ROW)
    with pytest.raises(BadRequest, match="input 'input' is given twice"):
        decode_infer_request(body(twice, twice), cancer_signature)


def test_named_inputs_of_several_datatypes(multi_signature: ModelSignature) -> None:
    request = decode_infer_request(
        body(
            tensor("site", [2, 1], "BYTES", [["north"], ["south"]]),
            tensor("count", [2, 1], "INT32", [3, 4]),
            tensor("radius", [2, 1], "FP64", [1.5, 2.5]),
        ),
        multi_signature,
    )
    feeds = request.feeds
    assert (feeds["radius"].dtype, feeds["count"].dtype, feeds["site"].dtype) == (
        np.float32,
        np.int64,
        object,
    )
    assert feeds["site"].tolist() == [["north"], ["south"]]
    # rows come from the model's first input, whatever order the client used.
    assert request.rows == 2
    assert request.raw_inputs_meta == (
        InputMeta("site", "BYTES", (2, 1)),
        InputMeta("count", "INT32", (2, 1)),
        InputMeta("radius", "FP64", (2, 1)),
    )


def test_requested_outputs_come_back_alone_and_in_order(
    classifier: OnnxModel,
) -> None:
    for names in (["probabilities"], ["probabilities", "label"], ["label", "probabilities"]):
        outputs_field = [{"name": name} for name in names]
        request = decode_infer_request(
            body(tensor("input", [1, 30], "FP32", ROW), outputs=outputs_field),
            classifier.signature,
        )
        assert request.requested_outputs == tuple(names)
        outputs = classifier.run(request.feeds, request.requested_outputs)
        doc = respond(outputs, classifier.signature, requested=request.requested_outputs)
        assert [item["name"] for item in doc["outputs"]] == names


def test_all_outputs_in_model_order_when_none_are_requested(classifier: OnnxModel) -> None:
    for extra in ({}, {"outputs": []}):
        raw = body(tensor("input", [1, 30], "FP32", ROW), **extra)
        request = decode_infer_request(raw, classifier.signature)
        assert request.requested_outputs is None
        outputs = classifier.run(request.feeds)
        reordered = {"probabilities": outputs["probabilities"], "label": outputs["label"]}
        doc = respond(reordered, classifier.signature)
        assert [item["name"] for item in doc["outputs"]] == ["label", "probabilities"]
        label = {"name": "label", "datatype": "INT64", "shape": [1], "data": [1]}
        assert doc["outputs"][0] == label


def test_an_unknown_output_is_named(cancer_signature: ModelSignature) -> None:
    with pytest.raises(InputError) as caught:
        decode_infer_request(
            body(tensor("input", [1, 30], "FP32", ROW), outputs=[{"name": "nope"}]),
            cancer_signature,
        )
    assert caught.value.message == (
        "unknown output 'nope'; the model's outputs are 'label', 'probabilities'"
    )


# --- request id and parameters ----------------------------------------------------


def test_the_request_id_is_echoed(cancer_signature: ModelSignature) -> None:
    request = decode_infer_request(
        body(tensor("input", [1, 30], "FP32", ROW), id="abc-1", parameters={"p": 1}),
        cancer_signature,
    )
    assert request.id == "abc-1"
    assert request.parameters == {"p": 1}
    outputs = {"label": np.array([0], dtype=np.int64)}
    doc = respond(outputs, cancer_signature, request_id=request.id)
    assert doc["id"] == "abc-1"
    assert (doc["model_name"], doc["model_version"]) == ("m", "3")
    assert "parameters" not in doc


def test_without_an_id_the_caller_supplies_one(cancer_signature: ModelSignature) -> None:
    request = decode_infer_request(one_row(), cancer_signature)
    assert request.id is None
    assert request.parameters == {}
    doc = respond({"label": np.array([0])}, cancer_signature, request_id="gen-7")
    assert doc["id"] == "gen-7"
    no_id = respond({"label": np.array([0])}, cancer_signature, request_id=None)
    assert "id" not in no_id


def test_response_parameters_are_written_when_given(cancer_signature: ModelSignature) -> None:
    doc = respond({"label": np.array([0])}, cancer_signature, parameters={"k": "v"})
    assert doc["parameters"] == {"k": "v"}


# --- malformed bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"inputs": [', "malformed JSON at byte 12: unexpected end of data"),
        (
            '{"é": x}'.encode(),
            "malformed JSON at byte 7: unexpected character, expected a JSON value",
        ),
        (
            b'{"inputs": [{"name": "x", "data": [NaN]}]}',
            "malformed JSON at byte 35: unexpected character, expected a JSON value",
        ),
        (b"", "malformed JSON: the request body is empty"),
    ],
)
def test_malformed_json_names_the_byte(
    cancer_signature: ModelSignature, raw: bytes, message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_infer_request(raw, cancer_signature)
    assert caught.value.message == message


INPUT = {"name": "input", "shape": [1, 30], "datatype": "FP32", "data": ROW}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([INPUT], "the request body must be a JSON object with an 'inputs' list"),
        ({}, "'inputs' must be a non-empty list of tensors"),
        ({"inputs": []}, "'inputs' must be a non-empty list of tensors"),
        ({"inputs": {"input": ROW}}, "'inputs' must be a non-empty list of tensors"),
        ({"inputs": [[1.0]]}, "each entry of 'inputs' must be a JSON object"),
        ({"inputs": [{**INPUT, "name": 3}]}, "an entry of 'inputs' has no 'name'"),
        ({"inputs": [{**INPUT, "datatype": "FLOAT"}]}, "input 'input': unknown datatype 'FLOAT'"),
        ({"inputs": [{**INPUT, "datatype": "BF16"}]}, "input 'input': unknown datatype 'BF16'"),
        (
            {"inputs": [{**INPUT, "shape": [1, -30]}]},
            "input 'input': 'shape' must be a list of non-negative integers",
        ),
        (
            {"inputs": [{**INPUT, "shape": [True, 30]}]},
            "input 'input': 'shape' must be a list of non-negative integers",
        ),
        (
            {"inputs": [{k: v for k, v in INPUT.items() if k != "data"}]},
            "input 'input' has no 'data'",
        ),
        ({"inputs": [{**INPUT, "data": 1.0}]}, "input 'input': 'data' must be a list"),
        (
            {"inputs": [{**INPUT, "parameters": []}]},
            "'parameters' of input 'input' must be a JSON object",
        ),
        ({"id": 7, "inputs": [INPUT]}, "'id' must be a string"),
        (
            {"parameters": "x", "inputs": [INPUT]},
            "'parameters' of the request must be a JSON object",
        ),
        (
            {"inputs": [INPUT], "outputs": "label"},
            "'outputs' must be a list of {\"name\": ...} objects",
        ),
        (
            {"inputs": [INPUT], "outputs": ["label"]},
            "each entry of 'outputs' must be an object with a 'name'",
        ),
    ],
)
def test_malformed_requests_are_refused(
    cancer_signature: ModelSignature, doc: Any, message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_infer_request(orjson.dumps(doc), cancer_signature)
    assert caught.value.status == 400
    assert caught.value.message == message


def test_input_level_content_type_parameters_are_ignored(
    cancer_signature: ModelSignature,
) -> None:
    item = {**INPUT, "parameters": {"content_type": "np"}}
    request = decode_infer_request(orjson.dumps({"inputs": [item]}), cancer_signature)
    assert request.feeds["input"].shape == (1, 30)
    assert request.raw_inputs_meta[0].parameters == {"content_type": "np"}


# --- metadata and errors -----------------------------------------------------------


def test_model_metadata_spells_variable_dimensions_minus_one(
    classifier: OnnxModel,
) -> None:
    assert model_metadata("cancer", ["1", "2"], ONNX_PLATFORM, classifier.signature) == {
        "name": "cancer",
        "versions": ["1", "2"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]},
        ],
    }


def test_server_metadata() -> None:
    assert server_metadata("turnout", "0.1.0", ("model_repository",)) == {
        "name": "turnout",
        "version": "0.1.0",
        "extensions": ["model_repository"],
    }


def test_error_body() -> None:
    assert json.loads(encode_error("missing input 'age'")) == {"error": "missing input 'age'"}
