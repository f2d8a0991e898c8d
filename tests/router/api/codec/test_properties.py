"""Properties of the OIP codec over random rectangular tensors (Hypothesis)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from router.api.codec import decode_infer_request, encode_infer_response
from router.inference import ModelSignature, TensorSpec

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "BOOL": st.booleans(),
    "INT32": st.integers(-(2**31), 2**31 - 1),
    "INT64": st.integers(-(2**63), 2**63 - 1),
    "FP32": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "FP64": st.floats(allow_nan=False, allow_infinity=False),
    # Lone surrogates are not UTF-8, so no JSON client can send them.
    "BYTES": st.text(st.characters(exclude_categories=("Cs",)), max_size=4),
}


@st.composite
def tensors(draw: st.DrawFn) -> tuple[str, list[int], list[Any]]:
    datatype = draw(st.sampled_from(sorted(VALUES)))
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    count = math.prod(shape)
    flat = draw(st.lists(VALUES[datatype], min_size=count, max_size=count))
    return datatype, shape, flat


def nest(flat: list[Any], shape: list[int]) -> list[Any]:
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def round_trip(datatype: str, shape: list[int], data: list[Any]) -> dict[str, Any]:
    spec = TensorSpec("x", datatype, (None,) * len(shape))
    signature = ModelSignature((spec,), (spec,))
    item = {"name": "x", "shape": shape, "datatype": datatype, "data": data}
    request = decode_infer_request(orjson.dumps({"inputs": [item]}), signature)
    raw = encode_infer_response(
        model_name="m",
        model_version="1",
        request_id=None,
        outputs=request.feeds,
        signature=signature,
        requested=None,
    )
    output: dict[str, Any] = json.loads(raw)["outputs"][0]
    return output


def same(datatype: str, got: list[Any], flat: list[Any]) -> bool:
    if datatype == "FP32":
        # Written at FP32 precision: equal once read back as FP32.
        return bool(np.array_equal(np.float32(got), np.float32(flat)))
    return got == flat


@settings(deadline=None)
@given(tensors())
def test_nested_data_round_trips_to_the_same_flat_data_and_shape(
    tensor: tuple[str, list[int], list[Any]],
) -> None:
    datatype, shape, flat = tensor
    output = round_trip(datatype, shape, nest(flat, shape))
    assert output["shape"] == shape
    assert output["datatype"] == datatype
    assert same(datatype, output["data"], flat)


@settings(deadline=None)
@given(tensors())
def test_flat_and_nested_data_are_the_same_request(
    tensor: tuple[str, list[int], list[Any]],
) -> None:
    datatype, shape, flat = tensor
    assert round_trip(datatype, shape, flat) == round_trip(datatype, shape, nest(flat, shape))
