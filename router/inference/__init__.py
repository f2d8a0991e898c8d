"""ONNX model sessions for registration checks and the gateway: the only onnxruntime user."""

from __future__ import annotations

from router.inference.binding import feeds_from_array, feeds_from_frame, synthetic_feeds
from router.inference.errors import (
    InferenceError,
    InputMismatchError,
    ModelLoadError,
    ModelRuntimeError,
)
from router.inference.session import OnnxModel, load_session
from router.inference.signature import (
    OPAQUE_DATATYPE,
    ModelSignature,
    TensorSpec,
    numpy_dtype,
    oip_datatype,
    tensor_spec,
)
from router.inference.validate import ValidationResult, validate_model

__all__ = [
    "OPAQUE_DATATYPE",
    "InferenceError",
    "InputMismatchError",
    "ModelLoadError",
    "ModelRuntimeError",
    "ModelSignature",
    "OnnxModel",
    "TensorSpec",
    "ValidationResult",
    "feeds_from_array",
    "feeds_from_frame",
    "load_session",
    "numpy_dtype",
    "oip_datatype",
    "synthetic_feeds",
    "tensor_spec",
    "validate_model",
]
