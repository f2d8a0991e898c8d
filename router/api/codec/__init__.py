"""Request and response bodies of the gateway's two protocols, as pure functions.

Open Inference Protocol v2 (``oip``) and MLflow's scoring protocol
(``mlflow_scoring``): bytes in, numpy feeds out; numpy outputs in, bytes out. No web
framework, no onnxruntime and no I/O, so every rule is tested without a server.
"""

from __future__ import annotations

from router.api.codec.errors import BadRequest, InputError, ProtocolError, UnsupportedMediaType
from router.api.codec.mlflow_scoring import (
    ScoringRequest,
    decode_invocations,
    encode_error_mlflow,
    encode_predictions,
)
from router.api.codec.oip import (
    ONNX_PLATFORM,
    InferRequest,
    InputMeta,
    decode_infer_request,
    encode_error,
    encode_infer_response,
    model_metadata,
    server_metadata,
)

__all__ = [
    "ONNX_PLATFORM",
    "BadRequest",
    "InferRequest",
    "InputError",
    "InputMeta",
    "ProtocolError",
    "ScoringRequest",
    "UnsupportedMediaType",
    "decode_infer_request",
    "decode_invocations",
    "encode_error",
    "encode_error_mlflow",
    "encode_infer_response",
    "encode_predictions",
    "model_metadata",
    "server_metadata",
]
