"""Exceptions raised by router.inference.

Every message is one line a user can act on; onnxruntime's own text is cleaned of its
status-code prefix and never carries a traceback.

    InferenceError
    ├── ModelLoadError       the bytes are not ONNX, or onnxruntime cannot load them
    ├── InputMismatchError   feeds or tabular data do not fit the model's inputs
    │                        (names, rank, shape, dtype, column count)
    └── ModelRuntimeError    onnxruntime failed while running valid-looking feeds
"""

from __future__ import annotations

__all__ = [
    "InferenceError",
    "InputMismatchError",
    "ModelLoadError",
    "ModelRuntimeError",
]


class InferenceError(Exception):
    """Base class of every error raised by router.inference."""


class ModelLoadError(InferenceError):
    """The model bytes could not be turned into an onnxruntime session."""


class InputMismatchError(InferenceError):
    """The data given to the model does not match its signature (a caller's fault)."""


class ModelRuntimeError(InferenceError):
    """onnxruntime raised while running the model on well-formed feeds."""
