"""Open Inference Protocol v2 (KServe, Triton, MLServer REST) bodies to feeds and back.

Pure: bytes in, numpy feeds out; numpy outputs in, bytes out. No web framework and no
onnxruntime, so the gateway's hot path is only what is here plus one session run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from router.api.codec._json import DUMP_OPTIONS, default, loads
from router.api.codec._tensors import cast, castable, check_shape, coerce, json_array
from router.api.codec.errors import BadRequest, InputError
from router.inference.signature import ModelSignature, TensorSpec, oip_datatype

__all__ = [
    "DATATYPES",
    "ONNX_PLATFORM",
    "InferRequest",
    "InputMeta",
    "decode_infer_request",
    "encode_error",
    "encode_infer_response",
    "model_metadata",
    "server_metadata",
]

# The platform name Triton and KServe report for ONNX models.
ONNX_PLATFORM = "onnxruntime_onnx"

# BF16 is left out: numpy has no bfloat16 to carry it.
DATATYPES = frozenset(
    {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BYTES",
    }
)


@dataclass(frozen=True, slots=True)
class InputMeta:
    """An input tensor as the client declared it, before any cast or reshape."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    parameters: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InferRequest:
    """A decoded inference request: feeds ready for the model, plus what to echo back.

    ``requested_outputs`` is None when the client asked for every output; ``rows`` is
    the first dimension of the model's first input (1 for a scalar input).
    """

    id: str | None
    parameters: dict[str, Any]
    feeds: dict[str, npt.NDArray[Any]]
    requested_outputs: tuple[str, ...] | None
    rows: int
    raw_inputs_meta: tuple[InputMeta, ...] = field(default=())


def decode_infer_request(body: bytes, signature: ModelSignature) -> InferRequest:
    """Parse and check an infer request body against the model's signature."""
    doc = loads(body)
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object with an 'inputs' list")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest("'id' must be a string")
    parameters = _parameters(doc.get("parameters"), "the request")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty list of tensors")

    specs = {spec.name: spec for spec in signature.inputs}
    feeds: dict[str, npt.NDArray[Any]] = {}
    metas: list[InputMeta] = []
    for item in inputs:
        meta, data = _input_header(item, specs, signature)
        if meta.name in feeds:
            raise BadRequest(f"input {meta.name!r} is given twice")
        feeds[meta.name] = _decode_tensor(meta, data, specs[meta.name])
        metas.append(meta)
    for spec in signature.inputs:
        if spec.name not in feeds:
            raise InputError(f"missing input {spec.name!r}")

    first = feeds[signature.inputs[0].name]
    return InferRequest(
        id=request_id,
        parameters=parameters,
        feeds=feeds,
        requested_outputs=_requested_outputs(doc.get("outputs"), signature),
        rows=int(first.shape[0]) if first.ndim else 1,
        raw_inputs_meta=tuple(metas),
    )


def encode_infer_response(
    *,
    model_name: str,
    model_version: str,
    request_id: str | None,
    outputs: Mapping[str, npt.NDArray[Any]],
    signature: ModelSignature,
    requested: Sequence[str] | None,
    parameters: Mapping[str, Any] | None = None,
) -> bytes:
    """The response body: the requested outputs in the order asked, else all of them.

    Every name in ``requested`` must be a key of ``outputs`` (KeyError otherwise: the
    caller ran the model for exactly those names). Without ``requested``, outputs come
    in the model's declared order.
    """
    names = _output_order(outputs, signature) if requested is None else requested
    doc: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        doc["id"] = request_id
    if parameters is not None:
        doc["parameters"] = parameters
    doc["outputs"] = [_encode_tensor(name, outputs[name]) for name in names]
    return orjson.dumps(doc, default=default, option=DUMP_OPTIONS)


def encode_error(message: str) -> bytes:
    """The protocol's error body."""
    return orjson.dumps({"error": message})


def model_metadata(
    name: str, versions: Sequence[str], platform: str, signature: ModelSignature
) -> dict[str, Any]:
    """GET /v2/models/{name}: variable dimensions are -1."""
    return {
        "name": name,
        "versions": list(versions),
        "platform": platform,
        "inputs": [_tensor_metadata(spec) for spec in signature.inputs],
        "outputs": [_tensor_metadata(spec) for spec in signature.outputs],
    }


def server_metadata(name: str, version: str, extensions: Sequence[str]) -> dict[str, Any]:
    """GET /v2: who answers, and which protocol extensions it supports."""
    return {"name": name, "version": version, "extensions": list(extensions)}


def _parameters(value: Any, owner: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"'parameters' of {owner} must be a JSON object")
    return value


def _input_header(
    item: Any, specs: Mapping[str, TensorSpec], signature: ModelSignature
) -> tuple[InputMeta, Any]:
    if not isinstance(item, dict):
        raise BadRequest("each entry of 'inputs' must be a JSON object")
    name = item.get("name")
    if not isinstance(name, str):
        raise BadRequest("an entry of 'inputs' has no 'name'")
    if name not in specs:
        expected = ", ".join(repr(known) for known in signature.input_names)
        raise InputError(f"unknown input {name!r}; the model's inputs are {expected}")
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise BadRequest(f"input {name!r}: unknown datatype {datatype!r}")
    shape = item.get("shape")
    if not isinstance(shape, list) or not all(type(dim) is int and dim >= 0 for dim in shape):
        raise BadRequest(f"input {name!r}: 'shape' must be a list of non-negative integers")
    if "data" not in item:
        raise BadRequest(f"input {name!r} has no 'data'")
    input_parameters = item.get("parameters")
    if input_parameters is not None and not isinstance(input_parameters, dict):
        raise BadRequest(f"'parameters' of input {name!r} must be a JSON object")
    return InputMeta(name, datatype, tuple(shape), input_parameters), item["data"]


def _decode_tensor(meta: InputMeta, data: Any, spec: TensorSpec) -> npt.NDArray[Any]:
    name = meta.name
    if spec.opaque:
        raise InputError(f"input {name!r} has ONNX type {spec.onnx_type}, which OIP cannot carry")
    if not isinstance(data, list):
        raise BadRequest(f"input {name!r}: 'data' must be a list")
    values = json_array(data, name, text=meta.datatype == "BYTES")
    # Data must be of its declared datatype (a 400 of the request's own making);
    # only then is the declared datatype weighed against the model's.
    values = coerce(values, name, meta.datatype, BadRequest)
    count = 1
    for dim in meta.shape:
        count *= dim
    if values.size != count:
        raise BadRequest(
            f"input {name!r}: shape {list(meta.shape)} holds {count} elements, "
            f"data has {values.size}"
        )
    check_shape(spec, meta.shape)
    if values.shape != meta.shape:
        values = values.reshape(meta.shape)
    if meta.datatype != spec.datatype:
        if not castable(meta.datatype, spec.datatype):
            raise InputError(
                f"input {name!r}: datatype {spec.datatype} expected, got {meta.datatype}"
            )
        values = cast(values, name, spec.datatype, InputError)
    return values


def _requested_outputs(value: Any, signature: ModelSignature) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadRequest("'outputs' must be a list of {\"name\": ...} objects")
    if not value:
        # An empty list asks for nothing in particular: every output, as when absent.
        return None
    known = signature.output_names
    names: list[str] = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise BadRequest("each entry of 'outputs' must be an object with a 'name'")
        if name not in known:
            expected = ", ".join(repr(output) for output in known)
            raise InputError(f"unknown output {name!r}; the model's outputs are {expected}")
        if name not in names:
            names.append(name)
    return tuple(names)


def _output_order(outputs: Mapping[str, npt.NDArray[Any]], signature: ModelSignature) -> list[str]:
    ordered = [name for name in signature.output_names if name in outputs]
    if len(ordered) != len(outputs):
        ordered.extend(name for name in outputs if name not in ordered)
    return ordered


def _encode_tensor(name: str, value: npt.NDArray[Any]) -> dict[str, Any]:
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    kind = array.dtype.kind
    data: Any
    if kind in "biuf" and array.ndim and array.dtype.isnative:
        # orjson writes contiguous numeric arrays itself; ravel copies only if needed.
        data = array.ravel()
    else:
        data = array.reshape(-1).tolist()
    try:
        datatype = oip_datatype(array.dtype)
    except ValueError:
        datatype = "BYTES"
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def _tensor_metadata(spec: TensorSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "datatype": spec.datatype,
        "shape": [-1 if dim is None else dim for dim in spec.shape],
    }
