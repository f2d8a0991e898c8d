"""Model files to ONNX bytes: one test per rule of registry.convert."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.semi_supervised import LabelSpreading

from registry.convert import LoadedModel, load_model_file, sklearn_to_onnx
from registry.errors import ConversionError, InvalidModelFile, UntrustedModelFile
from router.inference import OnnxModel, feeds_from_frame, load_session
from tests.conftest import ModelFiles

ROWS = 20


class TinyMajority(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A custom estimator skops does not know, so it must not trust it by default."""

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> TinyMajority:
        classes, counts = np.unique(np.asarray(y), return_counts=True)
        self.classes_ = classes
        self.majority_ = classes[counts.argmax()]
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        return np.full(len(np.asarray(X)), self.majority_)


def _touch_marker(path: str) -> dict[str, bool]:
    Path(path).touch()
    return {"planted": True}


class PlantsMarker:
    """Unpickling this creates a file: the proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_touch_marker, (str(self.marker),))


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message
    assert "\n" not in message, message
    return message


def _run_single(model: OnnxModel, rows: npt.NDArray[Any]) -> dict[str, npt.NDArray[Any]]:
    assert len(model.input_names) == 1
    return model.run({model.input_names[0]: rows})


def _assert_matches_estimator(loaded: LoadedModel, model_files: ModelFiles) -> None:
    rows = model_files.features.head(ROWS).to_numpy(dtype=np.float32)
    outputs = _run_single(load_session(loaded.onnx_bytes), rows)
    expected = model_files.estimator.predict_proba(rows)  # type: ignore[attr-defined]
    np.testing.assert_allclose(outputs["probabilities"], expected, rtol=0, atol=1e-5)


# --- ONNX files and unreadable paths -------------------------------------------------


def test_onnx_file_passes_through_unchanged(model_files: ModelFiles) -> None:
    loaded = load_model_file(model_files.onnx)

    assert loaded.source_format == "onnx"
    assert loaded.onnx_bytes == model_files.onnx.read_bytes()


def test_missing_path_is_invalid_and_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "model.onnx"

    with pytest.raises(InvalidModelFile) as info:
        load_model_file(path)

    assert str(path) in _one_line(info.value)


def test_directory_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.mkdir()

    with pytest.raises(InvalidModelFile, match="not a file") as info:
        load_model_file(path)

    assert str(path) in _one_line(info.value)


def test_empty_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")

    with pytest.raises(InvalidModelFile, match="empty") as info:
        load_model_file(path)

    _one_line(info.value)


def test_garbage_text_is_not_a_valid_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_text("this is not an ONNX model, just some text\n")

    with pytest.raises(InvalidModelFile, match="not a valid ONNX model") as info:
        load_model_file(path)

    assert path.name in _one_line(info.value)


def _graph_boundary(raw: bytes) -> int:
    """Length of the prefix that ends right after the graph (before opset_import).

    Protobuf decodes such a prefix without complaint, which makes it the hard cut.
    """
    head = onnx.load_model_from_string(raw)
    head.ClearField("opset_import")
    head.ClearField("metadata_props")
    prefix = head.SerializeToString()
    assert raw.startswith(prefix) and len(prefix) < len(raw)
    return len(prefix)


@pytest.mark.parametrize("where", ["half", "last-byte", "after-graph"])
def test_truncated_onnx_file_is_invalid(
    model_files: ModelFiles, tmp_path: Path, where: str
) -> None:
    raw = model_files.onnx.read_bytes()
    cut = {"half": len(raw) // 2, "last-byte": len(raw) - 1, "after-graph": _graph_boundary(raw)}
    path = tmp_path / "model.onnx"
    path.write_bytes(raw[: cut[where]])

    with pytest.raises(InvalidModelFile, match="not a valid ONNX model") as info:
        load_model_file(path)

    _one_line(info.value)


def test_unknown_extension_lists_accepted_types(tmp_path: Path, model_files: ModelFiles) -> None:
    path = tmp_path / "model.txt"
    path.write_bytes(model_files.onnx.read_bytes())

    with pytest.raises(InvalidModelFile) as info:
        load_model_file(path)

    message = _one_line(info.value)
    assert ".txt" in message
    for accepted in (".onnx", ".skops", ".pkl"):
        assert accepted in message


# --- pickles -------------------------------------------------------------------------


def test_pickle_without_trust_is_refused_unopened(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled.marker"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(PlantsMarker(marker)))

    with pytest.raises(UntrustedModelFile, match="--trust-pickle") as info:
        load_model_file(path)

    _one_line(info.value)
    assert not marker.exists(), "the pickle was unpickled although it was not trusted"


def test_marker_pickle_does_plant_its_marker_when_trusted(tmp_path: Path) -> None:
    # The control for the test above: this pickle really does run code when loaded.
    marker = tmp_path / "unpickled.marker"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(PlantsMarker(marker)))

    with pytest.raises(InvalidModelFile):
        load_model_file(path, trust_pickle=True)

    assert marker.exists()


def test_trusted_pickle_converts_to_matching_onnx(model_files: ModelFiles) -> None:
    loaded = load_model_file(model_files.pickle, trust_pickle=True)

    assert loaded.source_format == "pickle"
    _assert_matches_estimator(loaded, model_files)


def test_trusted_pickle_of_a_non_model_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))

    with pytest.raises(InvalidModelFile, match="dict") as info:
        load_model_file(path, trust_pickle=True)

    _one_line(info.value)


# --- skops ---------------------------------------------------------------------------


def test_skops_file_converts_to_matching_onnx(model_files: ModelFiles) -> None:
    loaded = load_model_file(model_files.skops)

    assert loaded.source_format == "skops"
    _assert_matches_estimator(loaded, model_files)


@pytest.fixture
def custom_skops(tmp_path: Path) -> Path:
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    path = tmp_path / "custom.skops"
    sio.dump(TinyMajority().fit(X, y), path)
    return path


def test_skops_with_untrusted_custom_type_is_refused(custom_skops: Path) -> None:
    type_name = f"{TinyMajority.__module__}.{TinyMajority.__qualname__}"
    assert type_name in sio.get_untrusted_types(file=custom_skops)

    with pytest.raises(UntrustedModelFile, match="--trust-pickle") as info:
        load_model_file(custom_skops)

    assert type_name in _one_line(info.value)


def test_skops_with_custom_type_loads_when_trusted(custom_skops: Path) -> None:
    # Past the trust gate the object is loaded and handed to skl2onnx, which has no
    # converter for it: the error names the loaded class, so it really was loaded.
    with pytest.raises(ConversionError, match="TinyMajority") as info:
        load_model_file(custom_skops, trust_pickle=True)

    _one_line(info.value)


# --- conversion ----------------------------------------------------------------------


def test_regressor_converts_and_predicts_the_same(tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)
    estimator = LinearRegression().fit(X, y)
    path = tmp_path / "regressor.skops"
    sio.dump(estimator, path)

    loaded = load_model_file(path)

    rows = X[:ROWS].astype(np.float32)
    outputs = _run_single(load_session(loaded.onnx_bytes), rows)
    assert len(outputs) == 1
    predicted = next(iter(outputs.values())).ravel()
    np.testing.assert_allclose(predicted, estimator.predict(rows), rtol=0, atol=1e-4)


def _mixed_frame(n: int = 120) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["oslo", "lima", "pune"], n),
            "age": rng.normal(40.0, 10.0, n),  # float64, as pandas reads it
            "income": rng.normal(50.0, 20.0, n).astype(np.float32),
            "visits": rng.integers(0, 10, n),
        }
    )
    target = ((frame["age"] + 10.0 * (frame["city"] == "oslo")) > 45.0).to_numpy(np.int64)
    return frame, target


def _mixed_pipeline(categorical: list[str], numeric: list[str]) -> Pipeline:
    parts: list[tuple[str, Any, list[str]]] = [("num", StandardScaler(), numeric)]
    if categorical:
        parts.insert(0, ("cat", OneHotEncoder(handle_unknown="ignore"), categorical))
    return Pipeline([("prep", ColumnTransformer(parts)), ("clf", LogisticRegression())])


def test_mixed_type_frame_gives_one_named_input_per_column(tmp_path: Path) -> None:
    frame, target = _mixed_frame()
    estimator = _mixed_pipeline(["city"], ["age", "income", "visits"]).fit(frame, target)
    path = tmp_path / "mixed.skops"
    sio.dump(estimator, path)

    loaded = load_model_file(path, example=frame.head(5))

    model = load_session(loaded.onnx_bytes)
    assert list(model.input_names) == list(frame.columns)
    head = frame.head(ROWS)
    outputs = model.run(feeds_from_frame(model.signature, head))
    np.testing.assert_allclose(
        outputs["probabilities"], estimator.predict_proba(head), rtol=0, atol=1e-5
    )


def test_numeric_frame_with_columns_chosen_by_name_gets_named_inputs() -> None:
    frame, target = _mixed_frame()
    numeric = frame[["age", "income", "visits"]]
    estimator = _mixed_pipeline([], ["age", "income"]).fit(numeric, target)
    # Extra columns in the example (labels, ids) are not model inputs.
    example = numeric.head(5).assign(label=target[:5])

    model = load_session(sklearn_to_onnx(estimator, example=example))

    assert list(model.input_names) == ["age", "income", "visits"]
    head = numeric.head(ROWS)
    outputs = model.run(feeds_from_frame(model.signature, head))
    np.testing.assert_allclose(
        outputs["probabilities"], estimator.predict_proba(head), rtol=0, atol=1e-5
    )


def test_unconvertible_estimator_is_a_one_line_conversion_error() -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    estimator = LabelSpreading().fit(X.astype(np.float32), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError):  # the premise: skl2onnx has no converter
            to_onnx(estimator, initial_types=[("input", FloatTensorType([None, 4]))])

    with pytest.raises(ConversionError, match="LabelSpreading") as info:
        sklearn_to_onnx(estimator)

    _one_line(info.value)
