"""Our /invocations codec against MLflow's own scoring server code, on real ONNX models.

MLflow's side: ``mlflow.pyfunc.scoring_server.invocations`` (what ``mlflow models
serve`` runs per request) with the model loaded by ``mlflow.pyfunc.load_model``. Our
side: ``decode_invocations`` -> router.inference's session -> ``encode_predictions``.
Both answers are compared as parsed JSON, with their HTTP status.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow.onnx
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode
from mlflow.pyfunc import scoring_server
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from router.api.codec import ProtocolError, decode_invocations, encode_error_mlflow
from router.api.codec import encode_predictions as encode
from router.inference import OnnxModel

JSON = "application/json"


@dataclass(frozen=True)
class Served:
    """One ONNX model as MLflow serves it and as the gateway runs it."""

    pyfunc: Any
    model: OnnxModel


def _serve(onx: Any, path: Path) -> Served:
    # Fixed requirements: inferring them would start a Python that imports the model.
    mlflow.onnx.save_model(
        onx, str(path), onnx_execution_providers=["CPUExecutionProvider"], pip_requirements=[]
    )
    return Served(
        mlflow.pyfunc.load_model(str(path)), OnnxModel.from_bytes(onx.SerializeToString())
    )


@pytest.fixture(scope="module")
def cancer_data() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory, cancer_data: pd.DataFrame) -> Served:
    """label INT64 [N] and probabilities FP32 [N, 2] from input X FP32 [N, 30]."""
    x, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    return _serve(onx, tmp_path_factory.mktemp("mlflow") / "classifier")


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """One output, variable FP32 [N, 1]: MLflow's frame answers work for it."""
    x, y = load_breast_cancer(return_X_y=True)
    model = LinearRegression().fit(x, y.astype(np.float64))
    onx = to_onnx(model, x[:1].astype(np.float32))
    return _serve(onx, tmp_path_factory.mktemp("mlflow") / "regressor")


def mixed_frame(rows: int | None = None) -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True).data
    smooth = data["mean smoothness"]
    frame = pd.DataFrame(
        {
            "radius": data["mean radius"].astype(np.float32),
            "count": (data["mean area"] // 100).astype(np.int64),
            "site": np.where(smooth > smooth.median(), "north", "south"),
        }
    )
    return frame if rows is None else frame.head(rows)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """Named inputs radius FP32, count INT64, site BYTES, each [N, 1]."""
    frame = mixed_frame()
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["radius", "count"]), ("cat", OneHotEncoder(), ["site"])]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])
    model.fit(frame, load_breast_cancer().target)
    onx = to_onnx(model, frame[:1], options={"zipmap": False})
    return _serve(onx, tmp_path_factory.mktemp("mlflow") / "mixed")


def theirs(served: Served, body: bytes, content_type: str) -> tuple[int, Any]:
    pyfunc = served.pyfunc
    try:
        result = scoring_server.invocations(
            body, content_type, pyfunc, pyfunc.metadata.get_input_schema()
        )
    except MlflowException as exc:
        return exc.get_http_status_code(), json.loads(exc.serialize_as_json())
    answer = json.loads(result.response) if result.status == 200 else result.response
    return result.status, answer


def ours(served: Served, body: bytes, content_type: str) -> tuple[int, Any]:
    try:
        request = decode_invocations(body, content_type, served.model.signature)
    except ProtocolError as exc:
        return exc.status, json.loads(encode_error_mlflow(exc.message))
    outputs = served.model.run(request.feeds)
    return 200, json.loads(encode(outputs, frame=request.frame))


def rows(n: int = 3) -> list[list[float]]:
    x, _ = load_breast_cancer(return_X_y=True)
    return [[float(value) for value in row] for row in x[:n]]


def names() -> list[str]:
    return [str(name) for name in load_breast_cancer().feature_names]


def json_payloads() -> dict[str, Any]:
    data = rows()
    records = [dict(zip(names(), row, strict=True)) for row in data]
    return {
        "dataframe_split": {"dataframe_split": {"columns": names(), "data": data}},
        "dataframe_split_no_columns": {"dataframe_split": {"data": data}},
        "dataframe_split_index": {"dataframe_split": {"index": [5, 6, 7], "data": data}},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": data},
        "inputs": {"inputs": data},
        "inputs_params": {"inputs": data, "params": {"k": 1}},
        "inputs_named": {"inputs": {"X": data}},
        "instances_records_named": {"instances": [{"X": row} for row in data]},
    }


FRAME_FORMS = {"dataframe_split", "dataframe_split_no_columns", "dataframe_split_index"}
FRAME_FORMS |= {"dataframe_records"}


def csv_body() -> bytes:
    return pd.DataFrame(rows(), columns=names()).to_csv(index=False).encode()


def parquet_body() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame(rows(), columns=names()).to_parquet(buffer)
    return buffer.getvalue()


def bodies() -> list[tuple[str, bytes, str]]:
    found = [(form, json.dumps(doc).encode(), JSON) for form, doc in json_payloads().items()]
    found.append(("csv", csv_body(), "text/csv"))
    found.append(("parquet", parquet_body(), "application/vnd.apache.parquet"))
    return found


BODIES = bodies()
IDS = [form for form, _, _ in BODIES]


@pytest.mark.parametrize(("form", "body", "content_type"), BODIES, ids=IDS)
def test_regressor_answers_equal_mlflows(
    regressor: Served, form: str, body: bytes, content_type: str
) -> None:
    status, answer = theirs(regressor, body, content_type)
    assert status == 200, answer
    assert ours(regressor, body, content_type) == (status, answer)
    if form in FRAME_FORMS or form in {"csv", "parquet"}:
        assert isinstance(answer["predictions"], list)  # records: the frame answer


@pytest.mark.parametrize(("form", "body", "content_type"), BODIES, ids=IDS)
def test_classifier_answers_equal_mlflows_or_its_tensor_answer(
    classifier: Served, form: str, body: bytes, content_type: str
) -> None:
    status, answer = theirs(classifier, body, content_type)
    mine = ours(classifier, body, content_type)
    if form in FRAME_FORMS or form in {"csv", "parquet"}:
        # MLflow flattens label [N] and probabilities [N, 2] into one DataFrame, which
        # pandas refuses; we answer what MLflow answers the same rows as a tensor.
        assert status == 400
        assert "unexpected error while evaluating the model" in answer["message"]
        tensor_body = json.dumps({"inputs": rows()}).encode()
        assert mine == theirs(classifier, tensor_body, JSON)
    else:
        assert status == 200, answer
        assert mine == (status, answer)
        assert set(answer["predictions"]) == {"label", "probabilities"}


def test_named_inputs_of_several_types_equal_mlflows(mixed: Served) -> None:
    frame = mixed_frame(4)
    tensors = {name: [[value] for value in frame[name].tolist()] for name in frame.columns}
    body = json.dumps({"inputs": tensors}).encode()
    status, answer = theirs(mixed, body, JSON)
    assert status == 200, answer
    assert ours(mixed, body, JSON) == (status, answer)


@pytest.mark.parametrize("key", ["instances", "dataframe_records"])
def test_records_mlflow_cannot_feed_get_its_tensor_answer(mixed: Served, key: str) -> None:
    # MLflow hands each [N, 1] input a 1-D column and onnxruntime refuses it; binding
    # shapes the columns, and the answer is MLflow's for the same data as tensors.
    frame = mixed_frame(4)
    body = json.dumps({key: frame.to_dict(orient="records")}).encode()
    status, _ = theirs(mixed, body, JSON)
    assert status == 400
    tensors = {name: [[value] for value in frame[name].tolist()] for name in frame.columns}
    expected = theirs(mixed, json.dumps({"inputs": tensors}).encode(), JSON)
    assert ours(mixed, body, JSON) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"inputs": [[1.0]], "instances": [[1.0]]}', JSON, 400),
        (b'{"data": [[1.0]]}', JSON, 400),
        (b'{"inputs": [[1.0,', JSON, 400),
        (b"[[1.0]]", JSON, 400),
        (b'{"inputs": [[1.0, 2.0]]}', JSON, 400),
        (b"1.0,2.0", "text/plain", 415),
        (b'{"inputs": [[1.0]]}', "application/json; charset=latin-1", 415),
        (b'{"inputs": [[1.0]]}', "application/json; format=split", 415),
    ],
    ids=[
        "both-keys",
        "no-key",
        "malformed",
        "list",
        "wrong-width",
        "text-plain",
        "charset",
        "parameter",
    ],
)
def test_refusals_have_mlflows_status(
    classifier: Served, body: bytes, content_type: str, status: int
) -> None:
    assert theirs(classifier, body, content_type)[0] == status
    assert ours(classifier, body, content_type)[0] == status


@pytest.mark.parametrize(
    "code",
    [
        "BAD_REQUEST",
        "INVALID_PARAMETER_VALUE",
        "ENDPOINT_NOT_FOUND",
        "RESOURCE_DOES_NOT_EXIST",
        "INTERNAL_ERROR",
        "TEMPORARILY_UNAVAILABLE",
    ],
)
def test_error_body_is_mlflows(code: str) -> None:
    message = "missing input 'age'"
    expected = MlflowException(message, error_code=ErrorCode.Value(code)).serialize_as_json()
    assert json.loads(encode_error_mlflow(message, code)) == json.loads(expected)
