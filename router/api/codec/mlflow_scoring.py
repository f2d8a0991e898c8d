"""The MLflow scoring protocol (``mlflow models serve``'s POST /invocations) to feeds and back.

Requests mean what they mean to MLflow's scoring server; where MLflow would hand an
ONNX model data it cannot run (records with one value per input of shape [n, 1], say)
they are bound by router.inference.binding's rules instead of failing. Responses are
the document MLflow's server writes for the same outputs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from router.api.codec._frames import bind_csv, bind_parquet, bind_records, bind_split
from router.api.codec._json import DUMP_OPTIONS, loads
from router.api.codec._tensors import check_shape, coerce, fit_rank, json_array
from router.api.codec.errors import BadRequest, InputError, UnsupportedMediaType
from router.inference.signature import ModelSignature, TensorSpec

__all__ = [
    "ACCEPTED_KEYS",
    "CONTENT_TYPES",
    "ScoringRequest",
    "decode_invocations",
    "encode_error_mlflow",
    "encode_predictions",
]

Feeds = dict[str, npt.NDArray[Any]]

ACCEPTED_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_FRAME_KEYS = frozenset({"dataframe_split", "dataframe_records"})

_JSON = "application/json"
_CSV = "text/csv"
_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (_JSON, _CSV, _PARQUET)

_REQUIRED = (
    "the request must be a JSON object with exactly one of the keys "
    + ", ".join(repr(key) for key in ACCEPTED_KEYS)
    + " (and optionally 'params')"
)

# error_code -> (sqlstate, error_class), from mlflow/error_classification.py's
# client-side tables.
_ERROR_CLASSES: dict[str, tuple[str, str]] = {
    "BAD_REQUEST": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "INTERNAL_ERROR": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "TEMPORARILY_UNAVAILABLE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


@dataclass(frozen=True, slots=True)
class ScoringRequest:
    """A decoded /invocations request.

    ``frame`` is True when MLflow would have given the model a DataFrame (the two
    dataframe keys, CSV, Parquet): MLflow then answers in another shape, so
    ``encode_predictions`` needs to know.
    """

    feeds: Feeds
    rows: int
    params: dict[str, Any] | None
    frame: bool = False


def decode_invocations(
    body: bytes, content_type: str | None, signature: ModelSignature
) -> ScoringRequest:
    """Parse a request body of the given Content-Type into feeds for ``signature``."""
    media_type = _media_type(content_type)
    if media_type == _CSV:
        feeds, rows = bind_csv(body, signature)
        return ScoringRequest(feeds, rows, None, frame=True)
    if media_type == _PARQUET:
        feeds, rows = bind_parquet(body, signature)
        return ScoringRequest(feeds, rows, None, frame=True)
    return _decode_json(loads(body), signature)


def encode_predictions(outputs: Mapping[str, npt.NDArray[Any]], *, frame: bool = False) -> bytes:
    """``{"predictions": ...}`` exactly as MLflow's scoring server writes it.

    MLflow's ONNX model answers an array or a dict of tensors with a dict of outputs,
    written as nested lists. It answers a DataFrame with a DataFrame of the outputs,
    each flattened to one column, written as records; when the flattened outputs
    differ in length (a classifier's label and probabilities) pandas refuses and
    MLflow fails, so the dict form is written instead.

    One departure, because orjson writes only valid JSON: NaN and infinities are
    null (MLflow writes the non-JSON tokens NaN and Infinity).
    """
    if frame:
        records = _records(outputs)
        if records is not None:
            return orjson.dumps({"predictions": records}, default=_default, option=DUMP_OPTIONS)
    predictions = {name: _tensor(value) for name, value in outputs.items()}
    return orjson.dumps({"predictions": predictions}, default=_default, option=DUMP_OPTIONS)


def encode_error_mlflow(message: str, error_code: str = "BAD_REQUEST") -> bytes:
    """The body of MLflow's error responses (MlflowException.serialize_as_json).

    MLflow 3 adds a SQLSTATE and an error class derived from the code; they are
    written for the codes a gateway answers with, and left out for any other.
    """
    doc = {"error_code": error_code, "message": message}
    classified = _ERROR_CLASSES.get(error_code)
    if classified is not None:
        doc["sqlstate"], doc["error_class"] = classified
    return orjson.dumps(doc)


@lru_cache(maxsize=64)
def _media_type(content_type: str | None) -> str:
    # Clients send a handful of distinct header values: parse each once.
    if content_type is None:
        raise UnsupportedMediaType(
            "missing Content-Type; send application/json, text/csv or "
            "application/vnd.apache.parquet"
        )
    media_type, _, rest = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {content_type!r}; send application/json, text/csv "
            "or application/vnd.apache.parquet"
        )
    parameters: dict[str, str] = {}
    for pair in rest.split(";"):
        if pair.strip():
            key, _, value = pair.partition("=")
            parameters[key.strip().lower()] = value.strip().strip('"').lower()
    charset = parameters.pop("charset", "utf-8")
    # As MLflow: UTF-8 only, and no parameter other than charset.
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"only UTF-8 is supported, got charset {charset!r}")
    if parameters:
        names = ", ".join(sorted(parameters))
        raise UnsupportedMediaType(f"unrecognized Content-Type parameters: {names}")
    return media_type


def _decode_json(doc: Any, signature: ModelSignature) -> ScoringRequest:
    if not isinstance(doc, dict):
        got = "a list" if isinstance(doc, list) else f"a JSON {type(doc).__name__}"
        raise BadRequest(f"{_REQUIRED}; got {got}")
    present = [key for key in ACCEPTED_KEYS if key in doc]
    if len(present) != 1:
        raise BadRequest(f"{_REQUIRED}; got keys {list(doc)}")
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise BadRequest("'params' must be a JSON object")
    key = present[0]
    value = doc[key]
    if key in _FRAME_KEYS:
        bind = bind_split if key == "dataframe_split" else bind_records
        feeds, rows = bind(value, signature)
        return ScoringRequest(feeds, rows, params, frame=True)
    feeds = _bind_tensors(key, value, signature)
    first = feeds[signature.inputs[0].name]
    return ScoringRequest(feeds, int(first.shape[0]) if first.ndim else 1, params)


def _bind_tensors(key: str, value: Any, signature: ModelSignature) -> Feeds:
    """``instances`` / ``inputs``: one tensor, named tensors, or a list of records."""
    if isinstance(value, dict):
        return _bind_named(value, signature)
    if not isinstance(value, list):
        raise BadRequest(f"'{key}' must be a list or a JSON object of named tensors")
    if value and isinstance(value[0], dict):
        return _bind_named(_columns(key, value), signature)
    if len(signature.inputs) != 1:
        names = ", ".join(repr(name) for name in signature.input_names)
        raise InputError(
            f"the model has {len(signature.inputs)} inputs ({names}); send '{key}' as a "
            "JSON object of named tensors or a list of records"
        )
    spec = signature.inputs[0]
    return {spec.name: _bind_one(value, spec)}


def _columns(key: str, records: list[Any]) -> dict[str, list[Any]]:
    """A list of records as columns, the way MLflow reads row-format ``instances``."""
    columns: dict[str, list[Any]] = {}
    for record in records:
        if not isinstance(record, dict):
            raise BadRequest(f"'{key}' mixes records (objects) with other values")
        for name, item in record.items():
            columns.setdefault(name, []).append(item)
    if any(len(column) != len(records) for column in columns.values()):
        raise BadRequest(f"every record in '{key}' must have the same keys")
    return columns


def _bind_named(tensors: dict[str, Any], signature: ModelSignature) -> Feeds:
    names = signature.input_names
    if all(name in names for name in tensors):
        feeds: Feeds = {}
        for spec in signature.inputs:
            if spec.name not in tensors:
                raise InputError(f"missing input {spec.name!r}")
            feeds[spec.name] = _bind_one(tensors[spec.name], spec)
        return feeds
    if len(signature.inputs) == 1:
        # Feature columns for a one-matrix model: stacked in the order given, as a
        # dataframe with these columns would be.
        spec = signature.inputs[0]
        return {spec.name: _stack(tensors, spec)}
    unknown = next(name for name in tensors if name not in names)
    expected = ", ".join(repr(name) for name in names)
    raise InputError(f"unknown input {unknown!r}; the model's inputs are {expected}")


def _bind_one(data: Any, spec: TensorSpec) -> npt.NDArray[Any]:
    _require_tensor(spec)
    values = json_array(data, spec.name, text=spec.datatype == "BYTES")
    values = fit_rank(coerce(values, spec.name, spec.datatype, InputError), spec)
    check_shape(spec, values.shape)
    return values


def _stack(columns: dict[str, Any], spec: TensorSpec) -> npt.NDArray[Any]:
    _require_tensor(spec)
    if spec.rank != 2:
        raise InputError(
            f"input {spec.name!r} has rank {spec.rank}; named columns bind only to a rank-2 input"
        )
    width = spec.shape[1]
    if width is not None and width != len(columns):
        raise InputError(f"input {spec.name!r} expects {width} columns, got {len(columns)}")
    text = spec.datatype == "BYTES"
    arrays = []
    for name, data in columns.items():
        column = json_array(data, name, text=text)
        if column.ndim != 1:
            raise InputError(f"column {name!r} must hold one value per row")
        arrays.append(column)
    if len({column.shape[0] for column in arrays}) > 1:
        raise BadRequest("named columns must all have the same length")
    return coerce(np.column_stack(arrays), spec.name, spec.datatype, InputError)


def _require_tensor(spec: TensorSpec) -> None:
    if spec.opaque:
        raise InputError(
            f"input {spec.name!r} has ONNX type {spec.onnx_type}, which JSON tensors cannot carry"
        )


def _records(outputs: Mapping[str, npt.NDArray[Any]]) -> list[dict[str, Any]] | None:
    # What pandas' DataFrame.from_dict(...).to_dict(orient="records") makes of MLflow's
    # flattened outputs; tolist() boxes values to Python as pandas does.
    columns = [np.asarray(value).reshape(-1) for value in outputs.values()]
    if len({column.shape[0] for column in columns}) > 1:
        return None
    names = list(outputs)
    return [
        dict(zip(names, row, strict=True))
        for row in zip(*(column.tolist() for column in columns), strict=True)
    ]


def _tensor(value: npt.NDArray[Any]) -> Any:
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    kind = array.dtype.kind
    if array.ndim == 0 or kind not in "biuf" or not array.dtype.isnative:
        return array.tolist()
    if kind == "f" and array.dtype != np.float64:
        # MLflow writes a float32 through a Python float, i.e. widened to float64:
        # 0.1f is 0.10000000149011612 there, and must be here too.
        return np.ascontiguousarray(array, dtype=np.float64)
    return np.ascontiguousarray(array)


def _default(value: Any) -> Any:
    # As MLflow's NumpyEncoder: numpy scalars as Python values, bytes as base64.
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return base64.encodebytes(bytes(value)).decode("ascii")
    raise TypeError(f"cannot serialize {type(value).__name__} as JSON")
