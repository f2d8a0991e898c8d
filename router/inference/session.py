"""Load ONNX bytes into an onnxruntime session and run it: the project's only door to
onnxruntime, shaped for the gateway's hot path (one small row in tens of microseconds).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from router.inference.binding import synthetic_feeds
from router.inference.checks import describe_mismatch
from router.inference.errors import (
    InferenceError,
    InputMismatchError,
    ModelLoadError,
    ModelRuntimeError,
)
from router.inference.signature import ModelSignature, TensorSpec, tensor_spec

__all__ = ["OnnxModel", "load_session"]

_PROVIDERS = ["CPUExecutionProvider"]

# Run errors come back to the caller as exceptions carrying the same text, so the
# copy onnxruntime would also print to stderr (at ERROR) is noise in a server's log.
_RUN_OPTIONS = ort.RunOptions()
_RUN_OPTIONS.log_severity_level = 4

# onnxruntime raises these for feeds that do not fit the graph (names, rank, shape,
# type); anything else that escapes a run is the model failing.
_ORT_ERRORS: Any = ort.capi.onnxruntime_pybind11_state
_CALLER_ERRORS: tuple[type[BaseException], ...] = (
    _ORT_ERRORS.InvalidArgument,
    ValueError,
    TypeError,
)

_STATUS_PREFIX = re.compile(r"^\s*\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")
_MAX_MESSAGE = 400


def _session_options() -> Any:
    options = ort.SessionOptions()
    # One thread, no spinning: a gateway runs one row at a time on few cores, and
    # spinning pool threads would steal them from the event loop.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # Keep load-time warnings (unused initializers, opset notes) off stderr.
    options.log_severity_level = 3
    return options


def _clean(exc: BaseException) -> str:
    """onnxruntime's message on one line, without its status-code prefix."""
    text = " ".join(_STATUS_PREFIX.sub("", str(exc)).split())
    if not text:
        text = type(exc).__name__
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def _spec(node_arg: Any) -> TensorSpec:
    return tensor_spec(str(node_arg.name), str(node_arg.type), list(node_arg.shape or ()))


def _as_object_array(value: Any) -> npt.NDArray[Any]:
    """Carry an ONNX sequence (list) or map (dict) output as an object array."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, list):
        out = np.empty(len(value), dtype=object)
        # Item by item: a slice assignment would try to broadcast nested arrays.
        for index, item in enumerate(value):
            out[index] = item
        return out
    scalar = np.empty((), dtype=object)
    scalar[()] = value
    return scalar


class OnnxModel:
    """An onnxruntime session with its signature; ``run`` is safe to call from threads."""

    __slots__ = ("_has_opaque_outputs", "_output_names", "_run", "_session", "signature")

    def __init__(self, session: Any) -> None:
        self._session = session
        # The binding's own run: the Python wrapper's checks before it (missing inputs,
        # OrtValue ownership, WebGPU graph capture, a GPU fallback) cost a few us a call
        # and do not apply to numpy feeds on the CPU provider; the binding still rejects
        # a missing or mistyped input, which ``_translate`` words for the client.
        binding = getattr(session, "_sess", None)
        self._run = getattr(binding, "run", None) or session.run
        self.signature = ModelSignature(
            inputs=tuple(_spec(arg) for arg in session.get_inputs()),
            outputs=tuple(_spec(arg) for arg in session.get_outputs()),
        )
        self._output_names = list(self.signature.output_names)
        self._has_opaque_outputs = any(spec.opaque for spec in self.signature.outputs)

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> OnnxModel:
        """Load a serialized ONNX model; ModelLoadError if it is not one."""
        if not isinstance(model_bytes, bytes | bytearray | memoryview):
            # A str would be taken by onnxruntime as a file path.
            raise TypeError(f"model_bytes must be bytes, not {type(model_bytes).__name__}")
        if len(model_bytes) == 0:
            raise ModelLoadError("cannot load ONNX model: the model is empty (0 bytes)")
        try:
            session = ort.InferenceSession(
                bytes(model_bytes), sess_options=_session_options(), providers=_PROVIDERS
            )
        except Exception as exc:
            raise ModelLoadError(f"cannot load ONNX model: {_clean(exc)}") from exc
        return cls(session)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> OnnxModel:
        """Load an ONNX file; an unreadable file is a ModelLoadError too."""
        try:
            with open(path, "rb") as handle:
                model_bytes = handle.read()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ModelLoadError(f"cannot read model file {os.fspath(path)!r}: {reason}") from exc
        return cls.from_bytes(model_bytes)

    @property
    def session(self) -> Any:
        """The underlying onnxruntime.InferenceSession."""
        return self._session

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.signature.input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.signature.output_names

    def run(
        self,
        feeds: Mapping[str, npt.NDArray[Any]],
        output_names: Sequence[str] | None = None,
    ) -> dict[str, npt.NDArray[Any]]:
        """Run the model; outputs by name, all of them unless ``output_names`` says."""
        names = self._output_names if output_names is None else list(output_names)
        try:
            values = self._run(names, feeds, _RUN_OPTIONS)
        except Exception as exc:
            raise self._translate(exc, feeds, names) from exc
        if self._has_opaque_outputs:
            values = [_as_object_array(value) for value in values]
        return dict(zip(names, values, strict=True))

    def warm(self, example: Mapping[str, npt.NDArray[Any]] | None = None) -> bool:
        """Run once so the first live request does not pay onnxruntime's first-run cost.

        Without an example a synthetic row is used (see binding.synthetic_feeds). Some
        models reject it (an encoder that refuses unknown categories); the session is
        warmed all the same, so that returns False instead of raising. An explicit
        example that fails raises as ``run`` does.
        """
        if example is not None:
            self.run(example)
            return True
        try:
            self.run(synthetic_feeds(self.signature))
        except ModelRuntimeError:
            return False
        return True

    def _translate(
        self, exc: Exception, feeds: Mapping[str, Any], names: list[str]
    ) -> InferenceError:
        known = self.signature.output_names
        for name in names:
            if name not in known:
                expected = ", ".join(repr(item) for item in known)
                return InputMismatchError(
                    f"unknown model output {name!r}; the model's outputs are {expected}"
                )
        try:
            problem = describe_mismatch(self.signature, feeds)
        except Exception:
            # The feeds are too odd to inspect (not a mapping, say); fall back to
            # onnxruntime's own words below.
            problem = None
        if problem is not None:
            return InputMismatchError(problem)
        if isinstance(exc, _CALLER_ERRORS):
            return InputMismatchError(_clean(exc))
        return ModelRuntimeError(f"the model failed while running: {_clean(exc)}")

    def __repr__(self) -> str:
        inputs = ", ".join(self.signature.input_names)
        return f"OnnxModel(inputs=[{inputs}])"


def load_session(model_bytes: bytes) -> OnnxModel:
    """Load a serialized ONNX model (same as OnnxModel.from_bytes)."""
    return OnnxModel.from_bytes(model_bytes)
