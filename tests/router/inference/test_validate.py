from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from router.inference import (
    InputMismatchError,
    ModelLoadError,
    ModelRuntimeError,
    validate_model,
)

if TYPE_CHECKING:
    from .conftest import Built


def test_validate_with_an_example_frame(mixed: Built) -> None:
    # float64 columns in the example are cast to the model's FP32 inputs.
    example = mixed.data[:5].astype({"radius": np.float64})
    result = validate_model(mixed.onnx_bytes, example)
    assert result.synthetic is False
    assert result.signature.input_names == ("radius", "texture", "count", "site")
    assert result.feeds["radius"].dtype == np.float32
    assert result.feeds["radius"].shape == (5, 1)
    np.testing.assert_allclose(
        result.outputs["probabilities"], mixed.estimator.predict_proba(example), atol=1e-5
    )


def test_validate_with_an_array(cancer: Built) -> None:
    result = validate_model(cancer.onnx_bytes, cancer.data[:3].astype(np.float64))
    assert result.feeds["X"].dtype == np.float32
    assert result.outputs["label"].tolist() == cancer.estimator.predict(cancer.data[:3]).tolist()


def test_validate_without_example_runs_one_synthetic_row(cancer: Built) -> None:
    result = validate_model(cancer.onnx_bytes, None)
    assert result.synthetic is True
    assert result.feeds["X"].shape == (1, 30)
    assert result.outputs["probabilities"].shape == (1, 2)


def test_validate_results_are_read_only(cancer: Built) -> None:
    result = validate_model(cancer.onnx_bytes, None)
    with pytest.raises(TypeError):
        result.outputs["x"] = np.zeros(1)  # type: ignore[index]


def test_validate_errors(cancer: Built, mixed: Built, mixed_strict: Built) -> None:
    with pytest.raises(ModelLoadError):
        validate_model(b"garbage", None)
    with pytest.raises(InputMismatchError, match="expects 30 columns, data has 29"):
        validate_model(cancer.onnx_bytes, cancer.data[:2, :29])
    with pytest.raises(InputMismatchError, match="missing model input 'site'"):
        validate_model(mixed.onnx_bytes, mixed.data[:2].drop(columns="site"))
    with pytest.raises(InputMismatchError, match="no rows"):
        validate_model(mixed.onnx_bytes, mixed.data[:0])
    with pytest.raises(ModelRuntimeError, match="synthetic row .*give an input example"):
        validate_model(mixed_strict.onnx_bytes, None)
    with pytest.raises(ModelRuntimeError, match="Unknown Category"):
        validate_model(mixed_strict.onnx_bytes, mixed_strict.data[:1].assign(site="east"))
