from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from router.inference import (
    InputMismatchError,
    ModelLoadError,
    ModelRuntimeError,
    OnnxModel,
    feeds_from_frame,
    load_session,
)

if TYPE_CHECKING:
    from .conftest import Built


@pytest.fixture(scope="module")
def cancer_model(cancer: Built) -> OnnxModel:
    return load_session(cancer.onnx_bytes)


def test_predictions_match_scikit_learn(cancer: Built, cancer_model: OnnxModel) -> None:
    rows = cancer.data[:50]
    out = cancer_model.run({"X": rows})
    assert list(out) == ["label", "probabilities"]
    np.testing.assert_array_equal(out["label"], cancer.estimator.predict(rows))
    np.testing.assert_allclose(
        out["probabilities"], cancer.estimator.predict_proba(rows), atol=1e-5
    )


def test_named_inputs_match_scikit_learn(mixed: Built) -> None:
    model = load_session(mixed.onnx_bytes)
    frame = mixed.data[:40]
    out = model.run(feeds_from_frame(model.signature, frame))
    np.testing.assert_array_equal(out["label"], mixed.estimator.predict(frame))
    np.testing.assert_allclose(
        out["probabilities"], mixed.estimator.predict_proba(frame), atol=1e-5
    )


def test_output_names_select_outputs(cancer: Built, cancer_model: OnnxModel) -> None:
    out = cancer_model.run({"X": cancer.data[:2]}, ["probabilities"])
    assert list(out) == ["probabilities"]
    with pytest.raises(InputMismatchError, match="unknown model output 'nope'"):
        cancer_model.run({"X": cancer.data[:2]}, ["nope"])


def test_zipmap_output_is_an_object_array(iris_zipmap: Built) -> None:
    model = load_session(iris_zipmap.onnx_bytes)
    out = model.run({"X": iris_zipmap.data[:3]})
    probabilities = out["output_probability"]
    assert isinstance(probabilities, np.ndarray)
    assert probabilities.dtype == object
    assert probabilities.shape == (3,)
    expected = iris_zipmap.estimator.predict_proba(iris_zipmap.data[:3])
    np.testing.assert_allclose([probabilities[0][k] for k in range(3)], expected[0], atol=1e-5)


def test_rank1_inputs_run(rank1_bytes: bytes) -> None:
    model = load_session(rank1_bytes)
    feeds: dict[str, np.ndarray] = {
        "a": np.array([1.0, 2.0], np.float32),
        "b": np.array([10, 20], np.int64),
        "on": np.array([True, False]),
    }
    assert model.run(feeds)["y"].tolist() == [11.0, 0.0]


def test_wrong_rank_is_an_input_mismatch(cancer: Built, cancer_model: OnnxModel) -> None:
    with pytest.raises(InputMismatchError) as caught:
        cancer_model.run({"X": cancer.data[0]})
    assert str(caught.value) == "model input 'X' expects rank 2 [?, 30], got rank 1 [30]"


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"X": np.zeros((1, 30))}, "model input 'X' expects FP32, got FP64"),
        ({"X": np.zeros((1, 29), np.float32)}, "model input 'X' expects 30 columns, got 29"),
        ({}, "missing model input 'X'"),
        (
            {"X": np.zeros((1, 30), np.float32), "Z": np.zeros(1)},
            "unknown model input 'Z'; the model's inputs are 'X'",
        ),
    ],
)
def test_feed_mismatches_have_clean_messages(
    cancer_model: OnnxModel, feeds: dict[str, np.ndarray], message: str
) -> None:
    with pytest.raises(InputMismatchError) as caught:
        cancer_model.run(feeds)
    assert str(caught.value) == message


def test_runtime_failure_is_a_model_runtime_error(mixed_strict: Built) -> None:
    model = load_session(mixed_strict.onnx_bytes)
    feeds = feeds_from_frame(model.signature, mixed_strict.data[:1].assign(site="east"))
    with pytest.raises(ModelRuntimeError) as caught:
        model.run(feeds)
    message = str(caught.value)
    assert message.startswith("the model failed while running: ")
    assert "Unknown Category" in message
    assert "[ONNXRuntimeError]" not in message
    assert "\n" not in message


def test_runtime_failure_prints_nothing(
    mixed_strict: Built, capfd: pytest.CaptureFixture[str]
) -> None:
    model = load_session(mixed_strict.onnx_bytes)
    feeds = feeds_from_frame(model.signature, mixed_strict.data[:1].assign(site="east"))
    with pytest.raises(ModelRuntimeError):
        model.run(feeds)
    assert capfd.readouterr() == ("", "")


def test_loading_prints_nothing(mixed: Built, capfd: pytest.CaptureFixture[str]) -> None:
    load_session(mixed.onnx_bytes).warm()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    "blob",
    [b"this is not an onnx model", b"\x00\x01\x02" * 100, b""],
    ids=["text", "binary", "empty"],
)
def test_garbage_bytes_are_a_load_error(blob: bytes) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_session(blob)
    message = str(caught.value)
    assert message.startswith("cannot load ONNX model: ")
    assert "\n" not in message
    assert "[ONNXRuntimeError]" not in message


def test_truncated_model_is_a_load_error(cancer: Built) -> None:
    with pytest.raises(ModelLoadError, match="protobuf parsing failed"):
        load_session(cancer.onnx_bytes[: len(cancer.onnx_bytes) // 2])


def test_str_is_refused_rather_than_taken_for_a_path() -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        load_session("model.onnx")  # type: ignore[arg-type]


def test_from_path(cancer: Built, tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(cancer.onnx_bytes)
    assert OnnxModel.from_path(path).signature.inputs[0].name == "X"
    with pytest.raises(ModelLoadError, match="cannot read model file .*missing.onnx"):
        OnnxModel.from_path(tmp_path / "missing.onnx")


def test_session_uses_one_thread_on_cpu(cancer_model: OnnxModel) -> None:
    options = cancer_model.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.log_severity_level == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert cancer_model.session.get_providers() == ["CPUExecutionProvider"]


def test_warm_with_variable_batch_dim(cancer: Built, cancer_model: OnnxModel) -> None:
    assert cancer_model.signature.inputs[0].shape[0] is None
    assert cancer_model.warm() is True
    assert cancer_model.warm({"X": cancer.data[:1]}) is True


def test_warm_tolerates_a_model_that_rejects_the_synthetic_row(mixed_strict: Built) -> None:
    model = load_session(mixed_strict.onnx_bytes)
    # The strict encoder has never seen the empty string used as a synthetic category.
    assert model.warm() is False
    assert model.warm(feeds_from_frame(model.signature, mixed_strict.data[:1])) is True


def test_warm_with_a_bad_example_raises(cancer_model: OnnxModel) -> None:
    with pytest.raises(InputMismatchError):
        cancer_model.warm({"X": np.zeros((1, 3), np.float32)})
