"""Check a model before it is registered: load it, bind an input example, run it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from router.inference.binding import feeds_from_array, feeds_from_frame, synthetic_feeds
from router.inference.errors import InputMismatchError, ModelRuntimeError
from router.inference.session import OnnxModel
from router.inference.signature import ModelSignature

__all__ = ["ValidationResult", "validate_model"]


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """What registration learns from a successful trial run.

    ``synthetic`` is True when no example was given and one synthetic row was run.
    """

    signature: ModelSignature
    feeds: Mapping[str, npt.NDArray[Any]]
    outputs: Mapping[str, npt.NDArray[Any]]
    synthetic: bool


def validate_model(
    model_bytes: bytes,
    example: pd.DataFrame | npt.NDArray[Any] | None = None,
) -> ValidationResult:
    """Load ``model_bytes`` in onnxruntime and run it on ``example`` (or a synthetic row).

    Raises ModelLoadError, InputMismatchError or ModelRuntimeError; nothing is written.
    """
    model = OnnxModel.from_bytes(model_bytes)
    signature = model.signature
    if example is None:
        feeds = synthetic_feeds(signature)
    else:
        if len(example) == 0:
            raise InputMismatchError("the input example has no rows")
        if isinstance(example, pd.DataFrame):
            feeds = feeds_from_frame(signature, example)
        else:
            feeds = feeds_from_array(signature, np.asarray(example))
    try:
        outputs = model.run(feeds)
    except ModelRuntimeError as exc:
        if example is not None:
            raise
        # Zeros and empty strings are not every model's idea of a valid row.
        raise ModelRuntimeError(
            f"{exc} (on a synthetic row of zeros and empty strings; give an input example)"
        ) from exc
    return ValidationResult(
        signature=signature,
        feeds=MappingProxyType(feeds),
        outputs=MappingProxyType(outputs),
        synthetic=example is None,
    )
