"""Small ONNX graphs with planted behaviour, built in code (nothing is downloaded).

Each takes a float matrix "input" [N, n_features] and answers like a skl2onnx
classifier: "label" int64 [N] and "probabilities" float [N, 2].
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _io(n_features: int) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])]
    outputs = [
        helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]),
    ]
    return inputs, outputs


def _head(source: str) -> list[onnx.NodeProto]:
    # probabilities = softmax(source[:, :2]); label = argmax(probabilities)
    return [
        helper.make_node("Slice", [source, "starts", "ends", "axes"], ["two"]),
        helper.make_node("Softmax", ["two"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]


def _slice_consts() -> list[onnx.TensorProto]:
    return [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]


def _model(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="turnout-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def plain_model(n_features: int = 30) -> bytes:
    """Answers softmax(first two features): fast and well behaved."""
    inputs, outputs = _io(n_features)
    graph = helper.make_graph(_head("input"), "plain", inputs, outputs, _slice_consts())
    return _model(graph)


def failing_model(n_features: int = 30) -> bytes:
    """Loads fine, fails at run time for every batch: a reshape that cannot fit."""
    inputs, outputs = _io(n_features)
    nodes = [
        helper.make_node("Reshape", ["input", "bad_shape"], ["reshaped"]),
        helper.make_node("Reshape", ["reshaped", "back"], ["restored"]),
        *_head("restored"),
    ]
    consts = [
        numpy_helper.from_array(np.array([7, -1], dtype=np.int64), "bad_shape"),
        numpy_helper.from_array(np.array([-1, n_features], dtype=np.int64), "back"),
        *_slice_consts(),
    ]
    return _model(helper.make_graph(nodes, "failing", inputs, outputs, consts))


def flipped_model(n_features: int = 30) -> bytes:
    """Like plain_model, with the two classes swapped: healthy, but disagrees with it."""
    inputs, outputs = _io(n_features)
    nodes = [
        helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["two"]),
        helper.make_node("Neg", ["two"], ["negated"]),
        helper.make_node("Softmax", ["negated"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(nodes, "flipped", inputs, outputs, _slice_consts())
    return _model(graph)


def picky_model(n_features: int = 30) -> bytes:
    """Like plain_model while the first feature is ``n_features - 7``; for most other
    values (below 1 among them) it fails at run time: it reshapes each row to rows of
    ``int(first) + 7`` values. A candidate that looks healthy on one kind of traffic."""
    inputs, outputs = _io(n_features)
    nodes = [
        helper.make_node("Slice", ["input", "zero", "one", "axes"], ["first"]),
        helper.make_node("Cast", ["first"], ["k0"], to=TensorProto.INT64),
        helper.make_node("Add", ["k0", "seven"], ["k"]),
        helper.make_node("ReduceMax", ["k"], ["k_scalar"], keepdims=0),
        helper.make_node("Unsqueeze", ["k_scalar", "axes0"], ["k1"]),
        helper.make_node("Concat", ["minus_one", "k1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["input", "shape"], ["reshaped"]),
        helper.make_node("Reshape", ["reshaped", "back"], ["restored"]),
        *_head("restored"),
    ]
    consts = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
        numpy_helper.from_array(np.array(7, dtype=np.int64), "seven"),
        numpy_helper.from_array(np.array([-1, n_features], dtype=np.int64), "back"),
        *_slice_consts(),
    ]
    return _model(helper.make_graph(nodes, "picky", inputs, outputs, consts))


def slow_model(n_features: int = 30, size: int = 1600) -> bytes:
    """Same answers as plain_model, after a size x size matrix product per call."""
    inputs, outputs = _io(n_features)
    # Built from the input so the optimiser cannot fold the product away at load time.
    nodes = [
        helper.make_node("ReduceSum", ["input"], ["seed"], keepdims=0),
        helper.make_node("Expand", ["seed", "big_shape"], ["big"]),
        helper.make_node("MatMul", ["big", "big"], ["square"]),
        helper.make_node("ReduceSum", ["square"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["input", "nothing"], ["same"]),
        *_head("same"),
    ]
    consts = [
        numpy_helper.from_array(np.array([size, size], dtype=np.int64), "big_shape"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        *_slice_consts(),
    ]
    return _model(helper.make_graph(nodes, "slow", inputs, outputs, consts))


TYPED_INPUTS = {
    "flag": TensorProto.BOOL,
    "small": TensorProto.INT32,
    "count": TensorProto.INT64,
    "ratio": TensorProto.FLOAT,
    "amount": TensorProto.DOUBLE,
    "city": TensorProto.STRING,
}


def typed_model() -> bytes:
    """One [N, 1] input per OIP datatype, each echoed to an output named `<input>_out`."""
    inputs = [helper.make_tensor_value_info(n, t, [None, 1]) for n, t in TYPED_INPUTS.items()]
    outputs = [
        helper.make_tensor_value_info(f"{n}_out", t, [None, 1]) for n, t in TYPED_INPUTS.items()
    ]
    nodes = [helper.make_node("Identity", [n], [f"{n}_out"]) for n in TYPED_INPUTS]
    return _model(helper.make_graph(nodes, "typed", inputs, outputs))
