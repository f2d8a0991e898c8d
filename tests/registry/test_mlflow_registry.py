"""MlflowRegistry against a real MLflow SQLite store, and interoperability both ways."""

from __future__ import annotations

import time
from typing import Any

import mlflow
import numpy as np
import pytest

from monitors import compute_profile, profile_from_json, profile_to_json
from registry import names
from registry.errors import (
    AliasNotFound,
    InvalidName,
    ModelNotFound,
    NotOnnxVersion,
    RegistrationFailed,
    RegistryUnavailable,
    VersionNotFound,
)
from registry.mlflow_registry import MlflowRegistry
from registry.types import NewVersion
from router.inference import load_session, validate_model
from tests.conftest import ModelFiles, plain_mlflow_run
from turnout.settings import Settings

pytestmark = pytest.mark.mlflow


@pytest.fixture
def registry(settings: Settings) -> MlflowRegistry:
    return MlflowRegistry(
        settings.tracking_uri(),
        artifact_location=settings.artifact_location(),
        cache_dir=settings.cache_dir(),
    )


def _new_version(files: ModelFiles, name: str, *, profile: bool = True) -> NewVersion:
    raw = files.onnx.read_bytes()
    checked = validate_model(raw, files.features.head(5))
    return NewVersion(
        name=name,
        onnx_bytes=raw,
        input_example=dict(checked.feeds),
        outputs=dict(checked.outputs),
        source_format="onnx",
        description="test version",
        tags={"team": "risk"},
        reference_profile_json=profile_to_json(compute_profile(files.features))
        if profile
        else None,
    )


def test_create_version_writes_tags_profile_and_model(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str
) -> None:
    info = registry.create_version(_new_version(model_files, model_name))
    assert info.version == "1"
    assert info.status == names.STATUS_READY and info.usable
    assert info.tags["team"] == "risk"
    assert info.tags[names.TAG_SOURCE_FORMAT] == "onnx"
    assert info.description == "test version"
    assert [v.version for v in registry.list_versions(model_name)] == ["1"]
    profile_text = registry.reference_profile(model_name, "1")
    assert profile_text is not None
    assert profile_from_json(profile_text).rows == len(model_files.features)
    assert registry.model_bytes(model_name, "1") == model_files.onnx.read_bytes()


def test_version_without_reference_has_no_profile(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str
) -> None:
    registry.create_version(_new_version(model_files, model_name, profile=False))
    assert registry.reference_profile(model_name, "1") is None


def test_model_bytes_are_cached_on_disk_by_version(
    registry: MlflowRegistry,
    model_files: ModelFiles,
    model_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry.create_version(_new_version(model_files, model_name, profile=False))
    first = registry.model_bytes(model_name, "1")

    def no_download(**_: Any) -> str:
        raise AssertionError("the second read must come from the cache")

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", no_download)
    assert registry.model_bytes(model_name, "1") == first


def test_turnout_versions_load_with_mlflow_pyfunc(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str
) -> None:
    registry.create_version(_new_version(model_files, model_name, profile=False))
    registry.set_alias(model_name, names.CHAMPION, "1")
    rows = model_files.features.head(20).to_numpy(dtype=np.float32)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    got = pyfunc.predict(rows)
    want = load_session(model_files.onnx.read_bytes()).run({"input": rows})
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], rtol=1e-6)
    expected = model_files.estimator.predict_proba(rows)  # type: ignore[attr-defined]
    np.testing.assert_allclose(got["probabilities"], expected, atol=1e-5)


def test_versions_logged_by_plain_mlflow_are_usable(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str, settings: Settings
) -> None:
    import mlflow.onnx
    import onnx

    with plain_mlflow_run(settings.tracking_uri(), settings.artifact_location()):
        mlflow.onnx.log_model(
            onnx.load_model_from_string(model_files.onnx.read_bytes()),
            name="model",
            registered_model_name=model_name,
            onnx_execution_providers=["CPUExecutionProvider"],
        )
    info = registry.get_version(model_name, "1")
    assert info.usable  # MLflow's READY counts when turnout wrote no status tag
    assert registry.model_bytes(model_name, "1") == model_files.onnx.read_bytes()
    assert registry.reference_profile(model_name, "1") is None


def test_non_onnx_versions_are_refused_by_name(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str, settings: Settings
) -> None:
    import mlflow.sklearn

    with plain_mlflow_run(settings.tracking_uri(), settings.artifact_location()):
        mlflow.sklearn.log_model(
            model_files.estimator, name="model", registered_model_name=model_name
        )
    with pytest.raises(
        NotOnnxVersion, match="not an ONNX model .flavors: python_function, sklearn"
    ):
        registry.model_bytes(model_name, "1")


def test_unknown_model_version_and_alias(
    registry: MlflowRegistry, model_files: ModelFiles, model_name: str
) -> None:
    with pytest.raises(ModelNotFound, match=f"no registered model named '{model_name}'"):
        registry.get_model(model_name)
    registry.create_version(_new_version(model_files, model_name, profile=False))
    with pytest.raises(VersionNotFound, match="has no version 7"):
        registry.get_version(model_name, "7")
    with pytest.raises(VersionNotFound, match="not a version number"):
        registry.get_version(model_name, "seven")
    with pytest.raises(AliasNotFound, match="no alias 'champion'"):
        registry.version_by_alias(model_name, names.CHAMPION)
    with pytest.raises(InvalidName):
        registry.get_model("bad/name")


def test_failed_version_creation_leaves_no_version(
    registry: MlflowRegistry,
    model_files: ModelFiles,
    model_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = registry.client
    real = client.create_model_version

    def create_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # MLflow created the version, then the call "failed"
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(client, "create_model_version", create_then_fail)
    with pytest.raises(RegistrationFailed, match="no version was left behind"):
        registry.create_version(_new_version(model_files, model_name, profile=False))
    assert registry.list_versions(model_name) == []


def test_unreachable_tracking_server_is_a_fast_clear_error() -> None:
    registry = MlflowRegistry("http://127.0.0.1:1")
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="MLflow is not reachable"):
        registry.list_models()
    assert time.monotonic() - started < 60
