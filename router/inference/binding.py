"""Turn tabular data (a DataFrame or an array) into feeds for a model's inputs.

Rules, checked in this order:

a. One input of rank 2 (k fixed columns, or k unknown): a frame with k columns (any
   number when k is unknown) is stacked, in frame order, into one [n, k] matrix.
b. Several inputs: each input comes from the frame column of the same name, shaped
   [n, 1] (or [n] for a rank-1 input). Extra frame columns are ignored, so ids and
   labels may ride along; a missing one is an error naming it.
c. Every value is cast to the input's dtype; a column that cannot be (text into FP32,
   fractions or missing values into INT64, numbers into BYTES) is an error naming the
   column and both dtypes. Numeric text is parsed, as numpy does; NaN stays NaN in
   float inputs.
d. A column count that does not fit a fixed k is an error:
   "model input 'X' expects 30 columns, data has 29".

Pure numpy and pandas: onnxruntime is never imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

from router.inference.checks import column_count_message
from router.inference.errors import InputMismatchError
from router.inference.signature import ModelSignature, TensorSpec, numpy_dtype

__all__ = ["feeds_from_array", "feeds_from_frame", "synthetic_feeds"]

Feeds = dict[str, npt.NDArray[Any]]


def feeds_from_frame(signature: ModelSignature, frame: pd.DataFrame) -> Feeds:
    """Bind a DataFrame to the model's inputs by the rules in this module's docstring."""
    _require_tensor_inputs(signature)
    if len(signature.inputs) == 1:
        spec = signature.inputs[0]
        return {spec.name: _bind_single(spec, frame)}
    return {spec.name: _bind_named(spec, frame) for spec in signature.inputs}


def feeds_from_array(signature: ModelSignature, array: npt.ArrayLike) -> Feeds:
    """Bind an array to a single-input model; an array one rank short is one row."""
    _require_tensor_inputs(signature)
    if len(signature.inputs) != 1:
        names = ", ".join(repr(name) for name in signature.input_names)
        raise InputMismatchError(
            f"the model has {len(signature.inputs)} inputs ({names}); "
            "an array binds only to a single-input model"
        )
    spec = signature.inputs[0]
    values = np.asarray(array)
    if values.ndim == spec.rank - 1:
        values = values[np.newaxis, ...]
    if values.ndim != spec.rank:
        raise InputMismatchError(
            f"model input {spec.name!r} expects rank {spec.rank}, array has rank {values.ndim}"
        )
    if spec.rank == 2:
        _check_columns(spec, values.shape[1])
    return {spec.name: _cast(values, spec, "array", str(values.dtype))}


def synthetic_feeds(signature: ModelSignature) -> Feeds:
    """One synthetic row: zeros (empty strings for BYTES), variable dimensions set to 1."""
    _require_tensor_inputs(signature)
    feeds: Feeds = {}
    for spec in signature.inputs:
        shape = tuple(1 if dim is None else dim for dim in spec.shape)
        if spec.datatype == "BYTES":
            feeds[spec.name] = np.full(shape, "", dtype=object)
        else:
            feeds[spec.name] = np.zeros(shape, dtype=numpy_dtype(spec.datatype))
    return feeds


def _require_tensor_inputs(signature: ModelSignature) -> None:
    for spec in signature.inputs:
        if spec.opaque:
            raise InputMismatchError(
                f"model input {spec.name!r} has ONNX type {spec.onnx_type}; "
                "only tensor inputs can be bound from data"
            )


def _check_columns(spec: TensorSpec, got: int) -> None:
    expected = spec.shape[1]
    if expected is not None and expected != got:
        raise InputMismatchError(column_count_message(spec.name, expected, got, "data has"))


def _bind_single(spec: TensorSpec, frame: pd.DataFrame) -> npt.NDArray[Any]:
    n_columns = frame.shape[1]
    if spec.rank == 2:
        expected = spec.shape[1]
        # A one-column input named in a wider frame is rule (b) with a single input.
        if expected == 1 and n_columns != 1 and spec.name in frame.columns:
            return _column(spec, frame, spec.name).reshape(-1, 1)
        _check_columns(spec, n_columns)
        return _stack(spec, frame)
    if spec.rank == 1:
        if spec.name in frame.columns:
            return _column(spec, frame, spec.name)
        if n_columns == 1:
            return _column(spec, frame, frame.columns[0])
        raise InputMismatchError(
            f"model input {spec.name!r} takes one column; data has {n_columns} "
            f"and none is named {spec.name!r}"
        )
    raise InputMismatchError(
        f"model input {spec.name!r} has rank {spec.rank}; tabular data binds only to "
        "rank 1 or rank 2 inputs"
    )


def _bind_named(spec: TensorSpec, frame: pd.DataFrame) -> npt.NDArray[Any]:
    if spec.name not in frame.columns:
        raise InputMismatchError(
            f"missing model input {spec.name!r}: the data has no column of that name"
        )
    if spec.rank == 1:
        return _column(spec, frame, spec.name)
    if spec.rank == 2:
        _check_columns(spec, 1)
        return _column(spec, frame, spec.name).reshape(-1, 1)
    raise InputMismatchError(
        f"model input {spec.name!r} has rank {spec.rank}; a data column binds only to "
        "rank 1 or rank 2 inputs"
    )


def _stack(spec: TensorSpec, frame: pd.DataFrame) -> npt.NDArray[Any]:
    target = numpy_dtype(spec.datatype)
    plain_numeric = all(
        isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in frame.dtypes
    )
    if target.kind == "f" and plain_numeric:
        # The common case (all-numeric frame into a float matrix) in one C-level copy;
        # overflow to inf is what a float input would make of such a value anyway.
        with np.errstate(over="ignore"):
            return np.asarray(frame.to_numpy(dtype=target))
    out = np.empty(frame.shape, dtype=target)
    for position, label in enumerate(frame.columns):
        out[:, position] = _series_values(spec, frame.iloc[:, position], label)
    return out


def _column(spec: TensorSpec, frame: pd.DataFrame, label: Any) -> npt.NDArray[Any]:
    selected = frame[label]
    if isinstance(selected, pd.DataFrame):
        raise InputMismatchError(f"the data has more than one column named {label!r}")
    return _series_values(spec, selected, label)


def _series_values(spec: TensorSpec, series: pd.Series, label: Any) -> npt.NDArray[Any]:
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        values = series.to_numpy()
    elif is_bool_dtype(dtype) or is_numeric_dtype(dtype):
        # Nullable extension dtypes: missing values become NaN, which the cast rules
        # accept for float inputs and reject for integer, bool and text inputs.
        if series.hasnans:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = series.to_numpy(dtype=dtype.numpy_dtype)
    else:
        values = series.to_numpy(dtype=object, na_value=None)
    return _cast(np.asarray(values), spec, f"column {str(label)!r}", str(dtype))


def _cast(values: npt.NDArray[Any], spec: TensorSpec, what: str, source: str) -> npt.NDArray[Any]:
    target = numpy_dtype(spec.datatype)
    if values.dtype == target and target.kind != "O":
        return values
    try:
        if target.kind == "O":
            return _to_text(values)
        if target.kind == "f":
            return _to_float(values, target)
        if target.kind in "iu":
            return _to_integer(values, target)
        if target.kind == "b":
            return _to_bool(values)
    except _CastError as exc:
        raise InputMismatchError(
            f"{what} ({source}) cannot be cast to {spec.datatype} for model input "
            f"{spec.name!r}: {exc}"
        ) from None
    raise InputMismatchError(f"model input {spec.name!r} has unsupported datatype {target}")


class _CastError(Exception):
    """Why a cast failed; turned into an InputMismatchError naming the column."""


def _to_text(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if values.dtype.kind in "US":
        return values.astype(str).astype(object)
    if values.dtype.kind != "O":
        raise _CastError("it holds numbers, not text")
    if values.size and infer_dtype(values, skipna=False) != "string":
        example = next(value for value in values.flat if not isinstance(value, str))
        raise _CastError(f"it holds non-text values such as {example!r}")
    return values


def _to_float(values: npt.NDArray[Any], target: np.dtype[Any]) -> npt.NDArray[Any]:
    kind = values.dtype.kind
    if kind in "biuf":
        with np.errstate(over="ignore"):
            return values.astype(target)
    if kind in "OUS":
        try:
            with np.errstate(over="ignore"):
                return values.astype(target)
        except (TypeError, ValueError) as exc:
            raise _CastError(str(exc)) from None
    raise _CastError(f"{values.dtype} values are not numbers")


def _to_integer(values: npt.NDArray[Any], target: np.dtype[Any]) -> npt.NDArray[Any]:
    kind = values.dtype.kind
    if kind in "OUS":
        values = _to_float(values, np.dtype(np.float64))
        kind = "f"
    if kind == "b":
        return values.astype(target)
    if kind == "f":
        if not np.isfinite(values).all():
            raise _CastError("it has missing or infinite values")
        if not (values == np.trunc(values)).all():
            raise _CastError("it has fractional values")
    elif kind not in "iu":
        raise _CastError(f"{values.dtype} values are not numbers")
    if values.size:
        info = np.iinfo(target)
        low, high = values.min(), values.max()
        if low < info.min or high > info.max:
            raise _CastError(f"values from {low} to {high} do not fit {target}")
    return values.astype(target)


def _to_bool(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    kind = values.dtype.kind
    if not values.size:
        return values.astype(np.bool_)
    if kind in "iuf":
        if not np.isin(values, (0, 1)).all():
            raise _CastError("only 0 and 1 are booleans")
        return values.astype(np.bool_)
    if kind == "O" and infer_dtype(values, skipna=False) == "boolean":
        return values.astype(np.bool_)
    raise _CastError(f"{values.dtype} values are not booleans")
