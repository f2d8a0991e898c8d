"""Signatures and tiny ONNX models for the codec tests, built in code (no downloads)."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from router.inference import ModelSignature, OnnxModel, TensorSpec

# OIP datatype -> ONNX element type, for one Identity model per datatype.
ONNX_TYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "INT8": TensorProto.INT8,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def _serialize(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def identity_bytes(elem_type: int, shape: list[int | str | None]) -> bytes:
    """x -> y unchanged, of one element type and shape."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", elem_type, shape)],
        [helper.make_tensor_value_info("y", elem_type, shape)],
    )
    return _serialize(graph)


@pytest.fixture(scope="session")
def identity_models() -> dict[str, OnnxModel]:
    """One Identity model per OIP datatype: x [N, 2] -> y [N, 2]."""
    return {
        datatype: OnnxModel.from_bytes(identity_bytes(elem, ["N", 2]))
        for datatype, elem in ONNX_TYPES.items()
    }


@pytest.fixture(scope="session")
def two_outputs_bytes() -> bytes:
    """input FP32 [N, 30] -> label INT64 [N], probabilities FP32 [N, 2], like skl2onnx."""
    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [2])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["two"]),
        helper.make_node("Softmax", ["two"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "two_outputs",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 30])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
        ],
        initializer=[starts, ends, axes],
    )
    return _serialize(graph)


@pytest.fixture(scope="session")
def classifier(two_outputs_bytes: bytes) -> OnnxModel:
    return OnnxModel.from_bytes(two_outputs_bytes)


@pytest.fixture
def cancer_signature() -> ModelSignature:
    """What skl2onnx declares for a breast-cancer classifier without ZipMap."""
    return ModelSignature(
        inputs=(TensorSpec("input", "FP32", (None, 30)),),
        outputs=(
            TensorSpec("label", "INT64", (None,)),
            TensorSpec("probabilities", "FP32", (None, 2)),
        ),
    )


@pytest.fixture
def multi_signature() -> ModelSignature:
    """Named inputs of several datatypes, each [N, 1], as skl2onnx makes from a frame."""
    return ModelSignature(
        inputs=(
            TensorSpec("radius", "FP32", (None, 1)),
            TensorSpec("count", "INT64", (None, 1)),
            TensorSpec("site", "BYTES", (None, 1)),
        ),
        outputs=(TensorSpec("score", "FP32", (None, 1)),),
    )
