"""Turn a model file into ONNX bytes: ONNX as is, scikit-learn through skl2onnx.

A pickle can run arbitrary code when loaded, so it is read only behind an explicit
`trust_pickle`; a skops file is read with skops' allow-list and fails on unknown types
unless they are trusted the same way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import ConversionError, InvalidModelFile, UntrustedModelFile

if TYPE_CHECKING:
    import pandas as pd

ONNX_SUFFIXES = frozenset({".onnx"})
SKOPS_SUFFIXES = frozenset({".skops"})
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib"})


@dataclass(frozen=True)
class LoadedModel:
    onnx_bytes: bytes
    source_format: str  # "onnx", "skops" or "pickle"


def load_model_file(
    path: Path, *, trust_pickle: bool = False, example: pd.DataFrame | None = None
) -> LoadedModel:
    """Read PATH and return ONNX bytes, converting scikit-learn models with skl2onnx."""
    if not path.exists():
        raise InvalidModelFile(f"model file not found: {path}")
    if not path.is_file():
        raise InvalidModelFile(f"model path is not a file: {path}")
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidModelFile(f"cannot read model file {path}: {exc.strerror}") from None
    if not raw:
        raise InvalidModelFile(f"model file is empty: {path}")
    if suffix in ONNX_SUFFIXES:
        _check_onnx(raw, path)
        return LoadedModel(raw, "onnx")
    if suffix in SKOPS_SUFFIXES:
        estimator = _load_skops(path, trust=trust_pickle)
        return LoadedModel(sklearn_to_onnx(estimator, example=example), "skops")
    if suffix in PICKLE_SUFFIXES:
        if not trust_pickle:
            raise UntrustedModelFile(
                f"{path.name} is a pickle, which can run arbitrary code when loaded; "
                "pass --trust-pickle if you trust it, or save the model with skops"
            )
        estimator = _load_pickle(path)
        return LoadedModel(sklearn_to_onnx(estimator, example=example), "pickle")
    raise InvalidModelFile(
        f"unknown model file type {suffix or '(no extension)'} for {path.name}; "
        "expected .onnx, .skops, or .pkl/.joblib with --trust-pickle"
    )


def _check_onnx(raw: bytes, path: Path) -> None:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(raw)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InvalidModelFile(
            f"{path.name} is not a valid ONNX model: {_first_line(exc)}"
        ) from None
    if not model.graph.node and not model.graph.output:
        raise InvalidModelFile(f"{path.name} is not a valid ONNX model: the graph is empty")
    # Protobuf parses any prefix that ends on a field boundary, so a file cut short
    # after its graph (losing opset_import) decodes fine; the checker catches it.
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise InvalidModelFile(
            f"{path.name} is not a valid ONNX model: {_first_line(exc)}"
        ) from None


def _load_skops(path: Path, *, trust: bool) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InvalidModelFile(
            f"{path.name} is not a readable skops file: {_first_line(exc)}"
        ) from None
    if untrusted and not trust:
        raise UntrustedModelFile(
            f"{path.name} contains types skops does not trust by default "
            f"({', '.join(untrusted)}); review them and pass --trust-pickle to load it"
        )
    try:
        return sio.load(path, trusted=untrusted or None)
    except Exception as exc:
        raise InvalidModelFile(f"cannot load skops file {path.name}: {_first_line(exc)}") from None


def _load_pickle(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:
        raise InvalidModelFile(f"cannot unpickle {path.name}: {_first_line(exc)}") from None


def sklearn_to_onnx(estimator: Any, *, example: pd.DataFrame | None = None) -> bytes:
    """Convert a fitted scikit-learn estimator to ONNX bytes.

    With no example the model gets one float input of n_features_in_ columns; with a
    DataFrame example skl2onnx derives one input per column (mixed-type pipelines).
    Classifiers export plain probability tensors (no ZipMap), which every client can read.
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.base import is_classifier

    if not hasattr(estimator, "predict"):
        raise InvalidModelFile(
            f"the file holds a {type(estimator).__name__}, not a fitted scikit-learn model"
        )
    options: dict[int, dict[str, Any]] | None = (
        {id(estimator): {"zipmap": False}} if is_classifier(estimator) else None
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skl2onnx warns on opset choices we accept
            if example is not None and _needs_named_inputs(estimator, example):
                onx = to_onnx(
                    estimator, initial_types=_named_input_types(estimator, example), options=options
                )
            else:
                n = getattr(estimator, "n_features_in_", None)
                if n is None and example is None:
                    raise ConversionError(
                        f"{type(estimator).__name__} does not say how many features it takes; "
                        "pass --input-example"
                    )
                width = int(n) if n is not None else int(example.shape[1])  # type: ignore[union-attr]
                onx = to_onnx(
                    estimator,
                    initial_types=[("input", FloatTensorType([None, width]))],
                    options=options,
                )
        return bytes(onx.SerializeToString())
    except (ConversionError, InvalidModelFile):
        raise
    except Exception as exc:
        raise ConversionError(
            f"skl2onnx cannot convert {type(estimator).__name__}: {_first_line(exc)}"
        ) from None


def _needs_named_inputs(estimator: Any, example: pd.DataFrame) -> bool:
    """One input per column for mixed types, or when a ColumnTransformer selects by name."""
    import pandas as pd

    if any(not pd.api.types.is_numeric_dtype(t) for t in example.dtypes):
        return True
    return _selects_columns_by_name(estimator)


def _selects_columns_by_name(estimator: Any) -> bool:
    from sklearn.compose import ColumnTransformer

    parts = [estimator]
    if hasattr(estimator, "get_params"):
        parts.extend(estimator.get_params(deep=True).values())
    for part in parts:
        if not isinstance(part, ColumnTransformer):
            continue
        specs = getattr(part, "transformers_", part.transformers)
        for _, _, columns in specs:
            items = [columns] if isinstance(columns, str) else columns
            if isinstance(items, list | tuple) and any(isinstance(c, str) for c in items):
                return True
    return False


def _named_input_types(estimator: Any, example: pd.DataFrame) -> list[tuple[str, Any]]:
    """skl2onnx input types, one [None, 1] tensor per feature column.

    Left to itself skl2onnx maps float64 columns to double inputs while its converters
    compute in float, which yields a graph onnxruntime refuses to load; so floats are
    declared float32 here, and the frame's extra columns (ids, labels) are left out.
    """
    import pandas as pd
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    names = getattr(estimator, "feature_names_in_", None)
    columns = [str(c) for c in example.columns]
    if names is not None and set(map(str, names)) <= set(columns):
        columns = [str(c) for c in names]
    dtypes = {str(c): t for c, t in example.dtypes.items()}
    types: list[tuple[str, Any]] = []
    for column in columns:
        dtype = dtypes[column]
        if pd.api.types.is_bool_dtype(dtype):
            types.append((column, BooleanTensorType([None, 1])))
        elif pd.api.types.is_integer_dtype(dtype):
            types.append((column, Int64TensorType([None, 1])))
        elif pd.api.types.is_numeric_dtype(dtype):
            types.append((column, FloatTensorType([None, 1])))
        else:
            types.append((column, StringTensorType([None, 1])))
    return types


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
