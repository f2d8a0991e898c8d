"""MLflow's tabular payloads (split, records, CSV, Parquet) to feeds, through pandas.

Binding follows router.inference.binding, so a frame means the same thing here as at
registration. One shortcut skips pandas: a rectangular block of numbers for a model
with a single float matrix input, the common case, whose result binding would only
reproduce more slowly. Anything else, including every error, goes through pandas so
the messages stay binding's.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from router.api.codec.errors import BadRequest, InputError
from router.inference.binding import feeds_from_frame
from router.inference.errors import InputMismatchError
from router.inference.signature import ModelSignature, numpy_dtype

__all__ = ["Bound", "bind_csv", "bind_parquet", "bind_records", "bind_split"]

Feeds = dict[str, npt.NDArray[Any]]
Bound = tuple[Feeds, int]

_SPLIT_KEYS = frozenset({"columns", "data", "index"})


def bind_split(value: Any, signature: ModelSignature) -> Bound:
    """``dataframe_split``: {"columns"?, "data", "index"?}, as pandas' split orient."""
    if not isinstance(value, dict) or "data" not in value or not _SPLIT_KEYS.issuperset(value):
        got = sorted(value) if isinstance(value, dict) else _json_type(value)
        raise BadRequest(
            "'dataframe_split' must be a JSON object with 'data' and optionally 'columns' "
            f"and 'index'; got {got}"
        )
    data, columns, index = value["data"], value.get("columns"), value.get("index")
    fast = _matrix(data, columns, index, signature)
    if fast is not None:
        return fast
    try:
        frame = pd.DataFrame(data=data, columns=columns, index=index)
    except Exception as exc:  # pandas raises assorted types for malformed input
        raise BadRequest(
            f"'dataframe_split' is not a valid split-oriented frame: {_line(exc)}"
        ) from None
    return bind_frame(frame, signature)


def bind_records(value: Any, signature: ModelSignature) -> Bound:
    """``dataframe_records``: a list of {column: value} objects."""
    if not isinstance(value, list):
        raise BadRequest(f"'dataframe_records' must be a list of records; got {_json_type(value)}")
    if value and all(type(record) is dict for record in value):
        keys = list(value[0])
        if all(list(record) == keys for record in value):
            fast = _matrix([list(record.values()) for record in value], keys, None, signature)
            if fast is not None:
                return fast
    try:
        frame = pd.DataFrame(data=value)
    except Exception as exc:  # pandas raises assorted types for malformed input
        raise BadRequest(
            f"'dataframe_records' is not a valid list of records: {_line(exc)}"
        ) from None
    return bind_frame(frame, signature)


def bind_csv(body: bytes, signature: ModelSignature) -> Bound:
    """A CSV document with a header row, read as ``mlflow models serve`` reads it."""
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except Exception as exc:  # ParserError, EmptyDataError, UnicodeDecodeError, ...
        raise BadRequest(f"malformed CSV: {_line(exc)}") from None
    return bind_frame(frame, signature)


def bind_parquet(body: bytes, signature: ModelSignature) -> Bound:
    """A Parquet file (MLflow's third content type)."""
    try:
        frame = pd.read_parquet(io.BytesIO(body))
    except Exception as exc:  # pyarrow's errors for anything that is not Parquet
        raise BadRequest(f"malformed Parquet: {_line(exc)}") from None
    return bind_frame(frame, signature)


def bind_frame(frame: pd.DataFrame, signature: ModelSignature) -> Bound:
    try:
        feeds = feeds_from_frame(signature, frame)
    except InputMismatchError as exc:
        raise InputError(str(exc)) from None
    return feeds, len(frame)


def _matrix(rows: Any, columns: Any, index: Any, signature: ModelSignature) -> Bound | None:
    """The pandas-free binding of a numeric block to one float matrix input, or None."""
    if len(signature.inputs) != 1 or not isinstance(rows, list) or not rows:
        return None
    spec = signature.inputs[0]
    target = numpy_dtype(spec.datatype)
    if spec.rank != 2 or target.kind != "f":
        return None
    try:
        values = np.array(rows)
    except ValueError:
        return None
    if values.ndim != 2 or values.dtype.kind not in "biuf":
        return None
    n_rows, width = values.shape
    # Whatever pandas might object to (labels of the wrong length) or binding might
    # treat specially (one named column in a wider frame) takes the slow path.
    if columns is not None and (not isinstance(columns, list) or len(columns) != width):
        return None
    if index is not None and (not isinstance(index, list) or len(index) != n_rows):
        return None
    if spec.shape[1] is not None and spec.shape[1] != width:
        return None
    with np.errstate(over="ignore"):
        return {spec.name: values.astype(target)}, n_rows


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
