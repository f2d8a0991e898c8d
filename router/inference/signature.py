"""A model's inputs and outputs, named in Open Inference Protocol (OIP) datatypes.

Pure: built from the strings onnxruntime reports, so the gateway, the registry and the
monitors can reason about a model without importing onnxruntime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "OPAQUE_DATATYPE",
    "ModelSignature",
    "TensorSpec",
    "numpy_dtype",
    "oip_datatype",
    "tensor_spec",
]

# Values with no OIP tensor form (ONNX sequences and maps such as skl2onnx's ZipMap
# output, or exotic element types) are carried as BYTES: Python objects in an object
# array. TensorSpec.opaque tells them apart from real string tensors.
OPAQUE_DATATYPE = "BYTES"

_ONNX_TO_OIP: dict[str, str] = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(bfloat16)": "BF16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}

# BF16 is missing on purpose: numpy has no bfloat16, so such a tensor cannot be fed.
_OIP_TO_NUMPY: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    # onnxruntime takes string tensors as object arrays of str.
    "BYTES": np.dtype(object),
}

_NUMPY_TO_OIP: dict[np.dtype[Any], str] = {
    dtype: name for name, dtype in _OIP_TO_NUMPY.items() if name != "BYTES"
}


def numpy_dtype(datatype: str) -> np.dtype[Any]:
    """The numpy dtype that carries an OIP datatype (BYTES -> object)."""
    try:
        return _OIP_TO_NUMPY[datatype]
    except KeyError:
        raise ValueError(f"no numpy dtype for OIP datatype {datatype!r}") from None


def oip_datatype(dtype: np.dtype[Any] | type[Any] | str) -> str:
    """The OIP datatype name of a numpy dtype (str, bytes and object -> BYTES)."""
    resolved = np.dtype(dtype)
    if resolved.kind in "OUS":
        return "BYTES"
    try:
        return _NUMPY_TO_OIP[resolved]
    except KeyError:
        raise ValueError(f"numpy dtype {resolved} has no OIP datatype") from None


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One model input or output.

    ``shape`` holds None for dimensions that vary (the batch) or that the model leaves
    symbolic. ``onnx_type`` keeps the ONNX type string when the spec came from a model.
    """

    name: str
    datatype: str
    shape: tuple[int | None, ...]
    onnx_type: str | None = None

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def opaque(self) -> bool:
        """True for values with no OIP tensor form (see OPAQUE_DATATYPE)."""
        return self.onnx_type is not None and self.onnx_type not in _ONNX_TO_OIP

    def to_dict(self) -> dict[str, Any]:
        # OIP metadata spells a variable dimension -1.
        out: dict[str, Any] = {
            "name": self.name,
            "datatype": self.datatype,
            "shape": [-1 if dim is None else dim for dim in self.shape],
        }
        if self.onnx_type is not None:
            out["onnx_type"] = self.onnx_type
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        shape = tuple(None if int(dim) < 0 else int(dim) for dim in data["shape"])
        onnx_type = data.get("onnx_type")
        return cls(
            name=str(data["name"]),
            datatype=str(data["datatype"]),
            shape=shape,
            onnx_type=None if onnx_type is None else str(onnx_type),
        )


@dataclass(frozen=True, slots=True)
class ModelSignature:
    """The ordered inputs and outputs of a model."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    def input(self, name: str) -> TensorSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": [spec.to_dict() for spec in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSignature:
        return cls(
            inputs=tuple(TensorSpec.from_dict(item) for item in data["inputs"]),
            outputs=tuple(TensorSpec.from_dict(item) for item in data["outputs"]),
        )


def tensor_spec(name: str, onnx_type: str, shape: Sequence[int | str | None]) -> TensorSpec:
    """Build a spec from what onnxruntime reports for one NodeArg.

    Symbolic (str), unknown (None) and negative dimensions all become None. Sequences
    and maps report no shape; a sequence is given one variable dimension because the
    converters that emit them (ZipMap) produce one element per row.
    """
    datatype = _ONNX_TO_OIP.get(onnx_type)
    if datatype is not None:
        dims = tuple(dim if isinstance(dim, int) and dim >= 0 else None for dim in shape)
        return TensorSpec(name, datatype, dims, onnx_type)
    opaque_shape: tuple[int | None, ...] = (None,) if onnx_type.startswith("seq(") else ()
    return TensorSpec(name, OPAQUE_DATATYPE, opaque_shape, onnx_type)
