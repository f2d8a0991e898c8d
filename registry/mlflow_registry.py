"""RegistryClient on MLflow: the only module in the project that imports mlflow."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from registry import names
from registry.errors import (
    AliasNotFound,
    InvalidName,
    ModelNotFound,
    NotOnnxVersion,
    RegistrationFailed,
    RegistryError,
    RegistryUnavailable,
    VersionNotFound,
)
from registry.types import ModelInfo, NewVersion, VersionInfo

if TYPE_CHECKING:
    from mlflow import MlflowClient

_log = logging.getLogger(__name__)


class MlflowRegistry:
    """Model versions, aliases and artifacts in an MLflow tracking + registry store."""

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str | None = None,
        *,
        artifact_location: Path | None = None,
        experiment: str = "turnout",
        cache_dir: Path | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.artifact_location = artifact_location
        self.experiment = experiment
        self.cache_dir = cache_dir
        self._client: MlflowClient | None = None

    # -- connection -------------------------------------------------------------------

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            # A down tracking server should fail a CLI call in seconds, not after
            # MLflow's default minutes of retries. Only sets what the user left unset.
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            # A registry of the user's models reports usage to no one.
            os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
            for uri in (self.tracking_uri, self.registry_uri):
                _ensure_sqlite_parent(uri)
            import mlflow

            # MLflow sets its loggers to INFO on import; its store chatter is not ours to show.
            logging.getLogger("mlflow").setLevel(logging.WARNING)
            logging.getLogger("alembic").setLevel(logging.WARNING)

            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.registry_uri)
            try:
                self._client = mlflow.MlflowClient(self.tracking_uri, self.registry_uri)
            except Exception as exc:
                _raise_translated(exc, "connect")
        return self._client

    def check_reachable(self) -> None:
        self._call(lambda: self.client.search_registered_models(max_results=1), "reach MLflow")

    # -- reads ------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        out: list[ModelInfo] = []
        token: str | None = None
        while True:
            page = self._call(
                lambda t=token: self.client.search_registered_models(max_results=200, page_token=t),
                "list models",
            )
            out.extend(self._model_info(m) for m in page)
            token = page.token
            if not token:
                return sorted(out, key=lambda m: m.name)

    def get_model(self, name: str) -> ModelInfo:
        _check_name(name)
        return self._model_info(
            self._call(lambda: self.client.get_registered_model(name), f"model '{name}'", name)
        )

    def list_versions(self, name: str) -> list[VersionInfo]:
        model = self.get_model(name)
        quoted = name.replace("'", "\\'")
        found = self._call(
            lambda: self.client.search_model_versions(f"name = '{quoted}'"), "list versions", name
        )
        # Version search results carry no aliases; the registered model has them all.
        by_version: dict[str, list[str]] = {}
        for alias, version in model.aliases.items():
            by_version.setdefault(version, []).append(alias)
        infos = [self._version_info(v) for v in found]
        infos = [replace(i, aliases=tuple(sorted(by_version.get(i.version, [])))) for i in infos]
        return sorted(infos, key=lambda v: int(v.version))

    def get_version(self, name: str, version: str) -> VersionInfo:
        _check_name(name)
        if not str(version).isdigit():
            raise VersionNotFound(f"'{version}' is not a version number; use a number or @alias")
        self.get_model(name)
        mv = self._call(
            lambda: self.client.get_model_version(name, str(version)),
            f"version {version} of model '{name}'",
            name,
            version=str(version),
        )
        return self._version_info(mv)

    def version_by_alias(self, name: str, alias: str) -> VersionInfo:
        self.get_model(name)
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except Exception as exc:
            if _code(exc) in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
                raise AliasNotFound(f"model '{name}' has no alias '{alias}'") from None
            _raise_translated(exc, f"alias '{alias}' of model '{name}'")
        return self._version_info(mv)

    def reference_profile(self, name: str, version: str) -> str | None:
        info = self.get_version(name, version)
        uri = info.reference_uri
        if not uri:
            return None
        import mlflow

        with tempfile.TemporaryDirectory() as tmp:
            path = self._call(
                lambda: mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp),
                f"reference profile of {name} v{version}",
            )
            return Path(path).read_text(encoding="utf-8")

    def model_bytes(self, name: str, version: str) -> bytes:
        """The ONNX file of a version, downloaded once and cached on disk by version."""
        info = self.get_version(name, version)
        cache = self._cache_path(info)
        if cache is not None and cache.exists():
            return cache.read_bytes()
        import mlflow
        from mlflow.models import Model

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(
                self._call(
                    lambda: mlflow.artifacts.download_artifacts(
                        artifact_uri=f"models:/{name}/{version}", dst_path=tmp
                    ),
                    f"artifacts of {name} v{version}",
                )
            )
            try:
                meta = Model.load(str(local))
            except Exception:
                raise NotOnnxVersion(
                    f"version {version} of model '{name}' has no MLmodel file; "
                    "it was not logged as an MLflow model"
                ) from None
            onnx_conf = meta.flavors.get("onnx")
            if not onnx_conf:
                raise NotOnnxVersion(
                    f"version {version} of model '{name}' is not an ONNX model "
                    f"(flavors: {', '.join(sorted(meta.flavors)) or 'none'})"
                )
            data: bytes = (local / str(onnx_conf.get("data", "model.onnx"))).read_bytes()
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp_file = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp_file.write_bytes(data)
            tmp_file.replace(cache)  # atomic: concurrent readers see all or nothing
        return data

    # -- writes -----------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.get_version(name, version)
        self._call(
            lambda: self.client.set_registered_model_alias(name, alias, str(version)),
            f"set alias '{alias}'",
            name,
        )

    def delete_alias(self, name: str, alias: str) -> None:
        self.version_by_alias(name, alias)
        self._call(
            lambda: self.client.delete_registered_model_alias(name, alias),
            f"remove alias '{alias}'",
            name,
        )

    def create_version(self, new: NewVersion) -> VersionInfo:
        """Log the model and its profile to a run, then create the version in one call.

        The version is created last, with every tag at once, so a failure before it
        leaves no version behind and a failure inside it is cleaned up here.
        """
        import mlflow
        import mlflow.onnx
        import onnx
        from mlflow.models import infer_signature

        _check_name(new.name)
        client = self.client
        experiment_id = self._experiment_id()
        model = onnx.load_model_from_string(new.onnx_bytes)
        example: Any = new.input_example
        if len(example) == 1:
            example = next(iter(example.values()))
        try:
            signature = infer_signature(example, new.outputs)
        except Exception:
            signature = None
        run_id: str | None = None
        try:
            with _quiet(), mlflow.start_run(experiment_id=experiment_id) as run:
                run_id = run.info.run_id
                mlflow.set_tags({names.TAG_REGISTRATION: new.name})
                tags = {
                    **new.tags,
                    names.TAG_STATUS: names.STATUS_READY,
                    names.TAG_SOURCE_FORMAT: new.source_format,
                }
                if new.reference_profile_json is not None:
                    mlflow.log_text(
                        new.reference_profile_json,
                        f"{names.REFERENCE_ARTIFACT_DIR}/{names.REFERENCE_ARTIFACT_FILE}",
                    )
                    tags[names.TAG_REFERENCE] = (
                        f"runs:/{run_id}/{names.REFERENCE_ARTIFACT_DIR}/"
                        f"{names.REFERENCE_ARTIFACT_FILE}"
                    )
                info = mlflow.onnx.log_model(
                    model,
                    name=names.MODEL_ARTIFACT_NAME,
                    signature=signature,
                    input_example=example,
                    onnx_execution_providers=["CPUExecutionProvider"],
                    save_as_external_data=False,
                    # Inferring requirements spawns a Python that imports the model: seconds.
                    pip_requirements=_serving_requirements(),
                )
        except RegistryError:
            raise
        except Exception as exc:
            _raise_translated(exc, f"log model '{new.name}' to MLflow")
        self._ensure_registered_model(new.name)
        try:
            with _quiet():
                mv = client.create_model_version(
                    new.name,
                    source=info.model_uri,
                    run_id=run_id,
                    tags=tags,
                    description=new.description,
                    model_id=getattr(info, "model_id", None),
                )
        except Exception as exc:
            self._remove_versions_of_run(new.name, run_id)
            reason = _first_line(exc)
            raise RegistrationFailed(
                f"MLflow failed while creating a version of '{new.name}' ({reason}); "
                "no version was left behind"
            ) from None
        return self._version_info(mv)

    # -- helpers ----------------------------------------------------------------------

    def _experiment_id(self) -> str:
        exp = self._call(
            lambda: self.client.get_experiment_by_name(self.experiment), "find experiment"
        )
        if exp is not None:
            return str(exp.experiment_id)
        location = None
        if self.artifact_location is not None:
            self.artifact_location.mkdir(parents=True, exist_ok=True)
            location = self.artifact_location.as_uri()
        try:
            return str(self.client.create_experiment(self.experiment, artifact_location=location))
        except Exception as exc:
            existing = self.client.get_experiment_by_name(self.experiment)
            if _code(exc) == "RESOURCE_ALREADY_EXISTS" and existing is not None:
                return str(existing.experiment_id)  # a concurrent caller created it
            _raise_translated(exc, "create experiment")

    def _ensure_registered_model(self, name: str) -> None:
        try:
            with _quiet():
                self.client.create_registered_model(name)
        except Exception as exc:
            if _code(exc) != "RESOURCE_ALREADY_EXISTS":
                _raise_translated(exc, f"create registered model '{name}'")

    def _remove_versions_of_run(self, name: str, run_id: str | None) -> None:
        if run_id is None:
            return
        try:
            for mv in self.client.search_model_versions(f"name = '{name}'"):
                if mv.run_id == run_id:
                    self.client.delete_model_version(name, mv.version)
        except Exception as exc:  # best effort; the error being raised says what failed
            _log.warning("could not clean up versions of run %s: %s", run_id, _first_line(exc))

    def _cache_path(self, info: VersionInfo) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(f"{self.registry_uri}|{info.source}".encode()).hexdigest()[:16]
        return self.cache_dir / "models" / info.name / f"{info.version}-{digest}.onnx"

    def _model_info(self, m: Any) -> ModelInfo:
        latest = [int(v.version) for v in (m.latest_versions or [])]
        return ModelInfo(
            name=m.name,
            aliases={k: str(v) for k, v in (m.aliases or {}).items()},
            latest_version=str(max(latest)) if latest else None,
            created_at=_ts(m.creation_timestamp),
            description=m.description or None,
            tags=dict(m.tags or {}),
        )

    def _version_info(self, mv: Any) -> VersionInfo:
        tags = dict(mv.tags or {})
        status = tags.get(names.TAG_STATUS) or str(mv.status).lower()
        return VersionInfo(
            name=mv.name,
            version=str(mv.version),
            aliases=tuple(sorted(mv.aliases or ())),
            created_at=_ts(mv.creation_timestamp),
            status=status,
            description=mv.description or None,
            run_id=mv.run_id or None,
            source=mv.source or "",
            tags=tags,
        )

    def _call(
        self,
        fn: Any,
        what: str,
        name: str | None = None,
        *,
        version: str | None = None,
    ) -> Any:
        try:
            return fn()
        except RegistryError:
            raise
        except Exception as exc:
            if _code(exc) == "RESOURCE_DOES_NOT_EXIST" and name is not None:
                if version is not None:
                    raise VersionNotFound(f"model '{name}' has no version {version}") from None
                raise ModelNotFound(f"no registered model named '{name}'") from None
            _raise_translated(exc, what)


def _serving_requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for dist in ("onnx", "onnxruntime", "numpy"):
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            reqs.append(dist)
    return reqs


def _raise_translated(exc: BaseException, what: str) -> NoReturn:
    text = _first_line(exc)
    code = _code(exc)
    if code == "RESOURCE_DOES_NOT_EXIST":
        raise ModelNotFound(f"cannot {what}: {text}") from None
    if code == "INVALID_PARAMETER_VALUE":
        raise InvalidName(f"cannot {what}: {text}") from None
    raise RegistryUnavailable(f"MLflow is not reachable or failed to {what}: {text}") from None


def _code(exc: BaseException) -> str | None:
    code = getattr(exc, "error_code", None)
    return str(code) if code else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _check_name(name: str) -> None:
    if not names.is_valid_model_name(name):
        raise InvalidName(
            f"'{name}' is not a valid model name (letters, digits, '.', '_', '-'; "
            "starting with a letter or digit)"
        )


def _ts(millis: int | None) -> datetime:
    return datetime.fromtimestamp((millis or 0) / 1000, tz=UTC)


def _ensure_sqlite_parent(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _quiet() -> Any:
    """MLflow prints registration chatter straight to stderr; keep the CLI's output ours."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield
