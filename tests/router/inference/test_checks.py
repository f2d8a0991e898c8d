from __future__ import annotations

import numpy as np

from router.inference.checks import describe_mismatch
from router.inference.signature import ModelSignature, TensorSpec

SIGNATURE = ModelSignature(
    inputs=(
        TensorSpec("X", "FP32", (None, 3)),
        TensorSpec("img", "UINT8", (None, 2, 2)),
    ),
    outputs=(TensorSpec("y", "FP32", (None,)),),
)


def feeds(**override: object) -> dict[str, object]:
    base: dict[str, object] = {
        "X": np.zeros((2, 3), np.float32),
        "img": np.zeros((2, 2, 2), np.uint8),
    }
    base.update(override)
    return base


def test_fitting_feeds_have_no_problem() -> None:
    assert describe_mismatch(SIGNATURE, feeds()) is None


def test_unknown_and_missing_inputs_are_named() -> None:
    assert describe_mismatch(SIGNATURE, feeds(Z=np.zeros(1))) == (
        "unknown model input 'Z'; the model's inputs are 'X', 'img'"
    )
    only_x = {"X": np.zeros((2, 3), np.float32)}
    assert describe_mismatch(SIGNATURE, only_x) == "missing model input 'img'"


def test_dtype_rank_and_shape_say_expected_and_got() -> None:
    assert describe_mismatch(SIGNATURE, feeds(X=np.zeros((2, 3)))) == (
        "model input 'X' expects FP32, got FP64"
    )
    assert describe_mismatch(SIGNATURE, feeds(X=np.zeros(3, np.float32))) == (
        "model input 'X' expects rank 2 [?, 3], got rank 1 [3]"
    )
    assert describe_mismatch(SIGNATURE, feeds(X=np.zeros((2, 4), np.float32))) == (
        "model input 'X' expects 3 columns, got 4"
    )
    assert describe_mismatch(SIGNATURE, feeds(img=np.zeros((1, 2, 3), np.uint8))) == (
        "model input 'img' expects shape [?, 2, 2], got [1, 2, 3]"
    )
