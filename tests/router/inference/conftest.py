"""Test models built once per session from scikit-learn's bundled data (no downloads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@dataclass(frozen=True)
class Built:
    """An ONNX model with the scikit-learn estimator and data it came from."""

    onnx_bytes: bytes
    estimator: Any
    data: Any


@pytest.fixture(scope="session")
def cancer() -> Built:
    """30 float features -> one FP32 input [None, 30]; label + probabilities tensors."""
    x, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32), options={"zipmap": False})
    return Built(onx.SerializeToString(), model, x.astype(np.float32))


@pytest.fixture(scope="session")
def iris_zipmap() -> Built:
    """skl2onnx's default ZipMap output: a sequence of maps, not a tensor."""
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32))
    return Built(onx.SerializeToString(), model, x.astype(np.float32))


def mixed_frame() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True).data
    smooth = data["mean smoothness"]
    return pd.DataFrame(
        {
            "radius": data["mean radius"].astype(np.float32),
            "texture": data["mean texture"].astype(np.float32),
            "count": (data["mean area"] // 100).astype(np.int64),
            "site": np.where(smooth > smooth.median(), "north", "south"),
        }
    )


def _mixed(handle_unknown: str) -> Built:
    frame = mixed_frame()
    target = load_breast_cancer().target
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["radius", "texture", "count"]),
            ("cat", OneHotEncoder(handle_unknown=handle_unknown), ["site"]),
        ]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])
    model.fit(frame, target)
    # A DataFrame sample makes skl2onnx declare one input per column, typed by dtype.
    onx = to_onnx(model, frame[:1], options={"zipmap": False})
    return Built(onx.SerializeToString(), model, frame)


@pytest.fixture(scope="session")
def mixed() -> Built:
    """Named inputs radius, texture (FP32), count (INT64), site (BYTES), each [None, 1]."""
    return _mixed("ignore")


@pytest.fixture(scope="session")
def mixed_strict() -> Built:
    """As ``mixed`` but its encoder fails at run time on an unseen category."""
    return _mixed("error")


@pytest.fixture(scope="session")
def rank1_bytes() -> bytes:
    """Hand-built: rank-1 inputs a FP32, b INT64, on BOOL with a symbolic batch dim.

    y = (a + b) * on
    """
    inputs = [
        helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch"]),
        helper.make_tensor_value_info("b", TensorProto.INT64, ["batch"]),
        helper.make_tensor_value_info("on", TensorProto.BOOL, ["batch"]),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch"])
    nodes = [
        helper.make_node("Cast", ["b"], ["b_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["on"], ["on_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["a", "b_f"], ["sum"]),
        helper.make_node("Mul", ["sum", "on_f"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "rank1", inputs, [output])
    return _serialize(graph)


@pytest.fixture(scope="session")
def open_columns_bytes() -> bytes:
    """Hand-built: one FP32 input X [N, ?] (column count unknown); y = row sums."""
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", None])]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    node = helper.make_node("ReduceSum", ["X", "axes"], ["y"], keepdims=0)
    graph = helper.make_graph([node], "open_columns", inputs, [output], initializer=[axes])
    return _serialize(graph)


def _serialize(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
