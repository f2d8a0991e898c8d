from __future__ import annotations

from router.inference import (
    InferenceError,
    InputMismatchError,
    ModelLoadError,
    ModelRuntimeError,
)


def test_every_error_is_an_inference_error() -> None:
    for error in (ModelLoadError, InputMismatchError, ModelRuntimeError):
        assert issubclass(error, InferenceError)
    assert issubclass(InferenceError, Exception)
