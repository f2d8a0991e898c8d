"""Explain, in one line, why a set of feeds does not fit a model's inputs.

Run only after onnxruntime has refused the feeds: the hot path pays nothing for it,
and the caller gets a message naming the input with what was expected and what was
given instead of onnxruntime's status text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from router.inference.signature import ModelSignature, TensorSpec, numpy_dtype, oip_datatype

__all__ = ["column_count_message", "describe_mismatch", "format_shape"]


def format_shape(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"


def column_count_message(name: str, expected: int, got: int, what: str = "got") -> str:
    return f"model input {name!r} expects {expected} columns, {what} {got}"


def describe_mismatch(signature: ModelSignature, feeds: Mapping[str, Any]) -> str | None:
    """The first way ``feeds`` do not fit ``signature``, or None if they look right."""
    known = signature.input_names
    for name in feeds:
        if name not in known:
            expected = ", ".join(repr(item) for item in known)
            return f"unknown model input {name!r}; the model's inputs are {expected}"
    for spec in signature.inputs:
        if spec.name not in feeds:
            return f"missing model input {spec.name!r}"
        problem = _describe_one(spec, feeds[spec.name])
        if problem is not None:
            return problem
    return None


def _describe_one(spec: TensorSpec, value: Any) -> str | None:
    if spec.opaque:
        return None
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    expected_dtype = numpy_dtype(spec.datatype)
    if array.dtype != expected_dtype and not (
        spec.datatype == "BYTES" and array.dtype.kind in "OUS"
    ):
        try:
            got = oip_datatype(array.dtype)
        except ValueError:
            got = str(array.dtype)
        return f"model input {spec.name!r} expects {spec.datatype}, got {got}"
    if array.ndim != spec.rank:
        return (
            f"model input {spec.name!r} expects rank {spec.rank} {format_shape(spec.shape)}, "
            f"got rank {array.ndim} {format_shape(array.shape)}"
        )
    for axis, (want, got_dim) in enumerate(zip(spec.shape, array.shape, strict=True)):
        if want is not None and want != got_dim:
            if spec.rank == 2 and axis == 1:
                return column_count_message(spec.name, want, got_dim)
            return (
                f"model input {spec.name!r} expects shape {format_shape(spec.shape)}, "
                f"got {format_shape(array.shape)}"
            )
    return None
