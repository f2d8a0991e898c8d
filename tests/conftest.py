"""Fixtures shared by every test package.

Control DBs: a SQLite file, or a throwaway PostgreSQL database. PostgreSQL is part of
the supported matrix, so an unreachable server fails its tests loudly instead of
skipping them. MLflow: one SQLite store per session. Model files: one classifier in
every format registration accepts. Alert sinks: an HTTP receiver on loopback.
"""

from __future__ import annotations

import pickle
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.monitors.alerts.helpers import Receiver
from turnout.settings import Settings

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DB_PREFIX = "turnout_t_"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'control.db'}"


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped on exit."""
    admin = create_engine(
        PG_ADMIN_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    name = PG_DB_PREFIX + secrets.token_hex(6)
    problem: str | None = None
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        problem = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
    if problem is not None:
        # Outside the except block, so the report is this one line, not a chained traceback.
        admin.dispose()
        pytest.fail(
            f"PostgreSQL tests need a server at {PG_ADMIN_URL} (trust auth, database "
            f"'test'); it is not usable: {problem}",
            pytrace=False,
        )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with pg_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty control DB, once per backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver on loopback that records what alert sinks post to it."""
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@dataclass(frozen=True)
class ModelFiles:
    """A breast-cancer classifier in every format registration accepts, plus its data."""

    onnx: Path
    skops: Path
    pickle: Path
    reference: Path  # training features, Parquet, 30 named float columns
    reference_csv: Path
    features: pd.DataFrame
    estimator: object


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One MLflow SQLite store for the whole session: creating its tables takes seconds."""
    root = tmp_path_factory.mktemp("mlflow")
    yield {
        "tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "artifact_root": str(root / "artifacts"),
    }


@pytest.fixture
def model_name() -> str:
    """A model name no other test uses (the MLflow store is shared)."""
    return f"m-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(tmp_path: Path, mlflow_store: dict[str, str]) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        mlflow_tracking_uri=mlflow_store["tracking_uri"],
        artifact_root=Path(mlflow_store["artifact_root"]),
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """Point the CLI at the test's state dir and the shared MLflow store."""
    monkeypatch.setenv("TURNOUT_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("TURNOUT_MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))
    monkeypatch.setenv("TURNOUT_ARTIFACT_ROOT", str(settings.artifact_root))
    monkeypatch.setenv("TURNOUT_ACTOR", "tester")
    return settings


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> ModelFiles:
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from registry.convert import sklearn_to_onnx

    root = tmp_path_factory.mktemp("models")
    data = load_breast_cancer(as_frame=True)
    features: pd.DataFrame = data.data.astype(np.float32)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    est.fit(features.to_numpy(), data.target.to_numpy())
    files = ModelFiles(
        onnx=root / "model.onnx",
        skops=root / "model.skops",
        pickle=root / "model.pkl",
        reference=root / "train.parquet",
        reference_csv=root / "train.csv",
        features=features,
        estimator=est,
    )
    files.onnx.write_bytes(sklearn_to_onnx(est))
    sio.dump(est, files.skops)
    files.pickle.write_bytes(pickle.dumps(est))
    features.to_parquet(files.reference, index=False)
    features.head(200).to_csv(files.reference_csv, index=False)
    return files


def plain_mlflow_run(tracking_uri: str, artifact_root: Path):  # type: ignore[no-untyped-def]
    """An MLflow run the way a plain-MLflow user starts one, with artifacts kept in
    ARTIFACT_ROOT (the default experiment would write to ./mlruns)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    name = "plain-mlflow"
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        artifact_root.mkdir(parents=True, exist_ok=True)
        experiment_id = mlflow.create_experiment(name, artifact_location=artifact_root.as_uri())
    else:
        experiment_id = experiment.experiment_id
    return mlflow.start_run(experiment_id=experiment_id)
