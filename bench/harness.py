"""Everything the benchmarks stand on: models, a throwaway deployment, server processes.

A ``Deployment`` is a temporary state directory with its own MLflow SQLite store,
artifact folder and control DB (SQLite under the state dir, or a throwaway PostgreSQL
database), set up the way tests/gateway_harness.py does it: ``TURNOUT_*`` variables in
the environment of every ``turnout serve`` process. Registration and promotion run
in-process through the same functions the ``turnout models register`` and
``turnout promote`` commands call (a CLI process per step would cost seconds of imports).

Servers start unpinned (so several start up in parallel) and, once ready, are pinned
to a core when asked, every thread of their process group (``taskset -a -p`` does the
same): the benchmark pins servers under test to core 0 and itself to core 1. Each
server runs in its own process group so it and its children (``mlflow models serve``
runs uvicorn as a child) are stopped together.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loadgen import SyncClient, build_request

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
N_FEATURES = 30

SERVER_CPU = 0
CLIENT_CPU = 1


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and cpu_count() >= 2


def pin_self(cpu: int | None) -> None:
    """Pin this process (and the threads it starts from now on) to CPU, if possible."""
    if cpu is not None and can_pin():
        os.sched_setaffinity(0, {cpu})


def unpin_self() -> None:
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def pin_group(pgid: int, cpu: int) -> int:
    """Pin every thread of every process in process group PGID to CPU; return the count."""
    pinned = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
            for task in (proc / "task").iterdir():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task.name), {cpu})
                    pinned += 1
        except (OSError, ValueError, IndexError):
            continue
    return pinned


def _all_cpus() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- models ------------------------------------------------------------------------------


@dataclass
class ModelSet:
    """The standard model, a second logistic regression, and the heavier GBT."""

    dir: Path
    features: np.ndarray  # float32 [569, 30], breast-cancer
    names: list[str]
    lr_onnx: Path  # StandardScaler + LogisticRegression (C=1): the standard model
    lr2_onnx: Path  # the same with C=0.05 (a second version to route to)
    gbt_onnx: Path  # GradientBoostingClassifier, 100 trees
    reference: Path  # training features, Parquet
    lr_joblib: Path  # the standard model for MLServer's scikit-learn runtime
    lr_estimator: Any = None

    @property
    def row(self) -> np.ndarray:
        return self.features[:1]


def build_models(root: Path, *, gbt: bool = True) -> ModelSet:
    import joblib
    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    root.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer(as_frame=True)  # bundled with scikit-learn: nothing downloaded
    frame: pd.DataFrame = data.data.astype(np.float32)
    x = frame.to_numpy()
    y = data.target.to_numpy()

    def export(est: Any, path: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onx = to_onnx(
                est,
                initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
                options={id(est): {"zipmap": False}},
                target_opset=17,
            )
        path.write_bytes(onx.SerializeToString())

    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    lr2 = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(x, y)
    models = ModelSet(
        dir=root,
        features=x,
        names=[str(c) for c in frame.columns],
        lr_onnx=root / "lr.onnx",
        lr2_onnx=root / "lr2.onnx",
        gbt_onnx=root / "gbt.onnx",
        reference=root / "train.parquet",
        lr_joblib=root / "lr.joblib",
        lr_estimator=lr,
    )
    export(lr, models.lr_onnx)
    export(lr2, models.lr2_onnx)
    if gbt:
        est = GradientBoostingClassifier(n_estimators=100, random_state=0).fit(x, y)
        export(est, models.gbt_onnx)
    frame.to_parquet(models.reference, index=False)
    joblib.dump(lr, models.lr_joblib)
    return models


def ort_session(path: Path) -> Any:
    """A bare onnxruntime session with the gateway's settings (1 thread, no spinning)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(
        path.read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
    )


# -- request bodies ----------------------------------------------------------------------


def oip_body(row: np.ndarray, datatype: str = "FP32", name: str = "input") -> bytes:
    import orjson

    doc = {
        "inputs": [
            {
                "name": name,
                "shape": [int(row.shape[0]), int(row.shape[1])],
                "datatype": datatype,
                "data": [float(v) for v in row.ravel().tolist()],
            }
        ]
    }
    return orjson.dumps(doc)


def invocations_body(row: np.ndarray) -> bytes:
    import orjson

    return orjson.dumps({"inputs": [[float(v) for v in r] for r in row.tolist()]})


# -- a throwaway deployment ---------------------------------------------------------------


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    settings: Any  # turnout.settings.Settings
    services: Any  # turnout.services.Services
    versions: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, database_url: str | None = None) -> Deployment:
        from turnout.services import Services
        from turnout.settings import Settings

        state = root / "state"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "MLFLOW_"))}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["TURNOUT_STATE_DIR"] = str(state)
        env["TURNOUT_MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
        env["TURNOUT_ARTIFACT_ROOT"] = str(root / "artifacts")
        env["TURNOUT_ACTOR"] = "bench"
        if database_url:
            env["TURNOUT_DATABASE_URL"] = database_url
        settings = Settings(
            state_dir=state,
            mlflow_tracking_uri=env["TURNOUT_MLFLOW_TRACKING_URI"],
            artifact_root=root / "artifacts",
            actor="bench",
            database_url=database_url,
        )
        return cls(root=root, env=env, settings=settings, services=Services(settings))

    def with_database(self, database_url: str) -> Deployment:
        """The same MLflow store, another control DB (for the PostgreSQL variant)."""
        from turnout.services import Services

        env = dict(self.env, TURNOUT_DATABASE_URL=database_url)
        settings = self.settings.model_copy(update={"database_url": database_url})
        return Deployment(self.root, env, settings, Services(settings), dict(self.versions))

    def register(self, name: str, path: Path, reference: Path | None) -> str:
        """What `turnout models register NAME PATH --reference REF` does."""
        from turnout.registration import register_model

        result = register_model(self.services, name, path, reference=reference)
        version = str(result.version.version)
        self.versions.setdefault(name, []).append(version)
        return version

    def promote(self, name: str, version: str) -> None:
        """What `turnout promote NAME VERSION` does."""
        self.services.ledger.promote(name, version, actor="bench", reason="benchmark")

    def rollback(self, name: str) -> None:
        self.services.ledger.rollback(name, actor="bench", reason="benchmark")

    def put_policy(self, model: str, weights: dict[str, int] | None, **kw: Any) -> int:
        """What `turnout traffic set MODEL v=w ...` (or `traffic reset` for None) stores."""
        from router.serving.policy_store import put_policy
        from router.traffic import Route, RoutingPolicy

        policy = None
        if weights is not None:
            policy = RoutingPolicy(
                model=model,
                routes=tuple(Route(v, w) for v, w in weights.items()),
                seed=model,
                **kw,
            )
            policy.validate()
        with self.services.sessions.begin() as session:
            stored = put_policy(session, model, policy, actor="bench", reason="benchmark")
        return int(stored.revision)

    def close(self) -> None:
        self.services.close()


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str | None]:
    """A fresh PostgreSQL database (like tests/conftest.py pg_url), or None if unreachable."""
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    admin = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
    )
    name = "turnout_bench_" + secrets.token_hex(5)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        yield None
        return
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
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


# -- server processes ---------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    cpu: int | None
    ready_path: str = "/"
    t0: float = 0.0
    started_in_s: float = 0.0
    pinned_tasks: int = 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script started
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        else:
            # The leader may be gone while a child (uvicorn under mlflow) still runs.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Servers:
    """Every server process started by this run; all stopped at exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[Server] = []

    def spawn(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str],
        port: int,
        ready_path: str,
        cpu: int | None,
        cwd: Path | None = None,
    ) -> Server:
        """Start a server process; `wait_ready` waits for it to answer, then pins it.

        Servers start unpinned, so several can import their libraries in parallel on
        both cores; once ready, every thread of every process in the server's process
        group is moved to CPU (what `taskset -a -p -c CPU PID` does). Threads and
        processes started later inherit that.
        """
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=cwd or self.log_dir,
                start_new_session=True,
                preexec_fn=_all_cpus,  # not this process's pinning
            )
        server = Server(name, port, proc, log, cpu, ready_path=ready_path, t0=time.monotonic())
        self.running.append(server)
        return server

    def wait_ready(self, server: Server, timeout: float = 180.0) -> Server:
        ready, failed = self.wait_all([server], timeout)
        if failed:
            raise failed[0][1]
        return ready[0]

    def wait_all(
        self, servers: list[Server], timeout: float = 180.0
    ) -> tuple[list[Server], list[tuple[Server, RuntimeError]]]:
        """Poll every server until it answers 200 on its ready path; pin it when it does."""
        pending = list(servers)
        ready: list[Server] = []
        failed: list[tuple[Server, RuntimeError]] = []
        deadline = time.monotonic() + timeout
        while pending:
            for server in list(pending):
                if server.proc.poll() is not None:
                    pending.remove(server)
                    failed.append(
                        (
                            server,
                            RuntimeError(
                                f"{server.name} exited with {server.proc.returncode}:\n"
                                f"{server.log_tail()}"
                            ),
                        )
                    )
                    continue
                if self._answers(server):
                    server.started_in_s = round(time.monotonic() - server.t0, 2)
                    if server.cpu is not None and can_pin():
                        server.pinned_tasks = pin_group(server.proc.pid, server.cpu)
                    pending.remove(server)
                    ready.append(server)
            if time.monotonic() > deadline:
                for server in pending:
                    self.stop(server)
                    failed.append(
                        (
                            server,
                            RuntimeError(
                                f"{server.name} not ready in {timeout:.0f}s:\n{server.log_tail()}"
                            ),
                        )
                    )
                break
            if pending:
                time.sleep(0.1)
        return ready, failed

    @staticmethod
    def _answers(server: Server) -> bool:
        client = SyncClient(server.port, timeout=2)
        try:
            return (
                client.request(build_request("GET", server.ready_path, server.port)).status == 200
            )
        except OSError:
            return False
        finally:
            client.close()

    def start(self, name: str, cmd: list[str], **kwargs: Any) -> Server:
        return self.wait_ready(self.spawn(name, cmd, **kwargs))

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def stop_all(self) -> None:
        for server in list(reversed(self.running)):
            server.stop()
        self.running.clear()


def spawn_gateway(
    servers: Servers,
    dep: Deployment,
    name: str,
    *,
    cpu: int | None,
    default_model: str = "bc",
    env: dict[str, str] | None = None,
) -> Server:
    """`turnout serve --port N --default-model M` (uvloop, turnout's httptools protocol,
    1 worker, no access log)."""
    port = free_port()
    cmd = [
        str(BIN / "turnout"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--default-model",
        default_model,
    ]
    return servers.spawn(
        name, cmd, env=env or dep.env, port=port, ready_path="/v2/health/ready", cpu=cpu
    )


def spawn_gateway_variant(
    servers: Servers,
    dep: Deployment,
    name: str,
    patch: str,
    *,
    cpu: int | None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """The gateway with a benchmark-only patch (see gateway_variant.py)."""
    port = free_port()
    cmd = [
        sys.executable,
        str(BENCH / "gateway_variant.py"),
        "--port",
        str(port),
        "--patch",
        patch,
    ]
    env = dict(dep.env, TURNOUT_DEFAULT_MODEL="bc", **(extra_env or {}))
    return servers.spawn(name, cmd, env=env, port=port, ready_path="/v2/health/ready", cpu=cpu)


def spawn_hello(servers: Servers, *, cpu: int | None) -> Server:
    port = free_port()
    cmd = [sys.executable, str(BENCH / "hello_app.py"), "--port", str(port)]
    env = dict(os.environ)
    return servers.spawn("hello", cmd, env=env, port=port, ready_path="/hello", cpu=cpu)


def save_mlflow_model(onnx_path: Path, dest: Path) -> Path:
    """mlflow.onnx.save_model of the ONNX file, CPU execution provider."""
    import mlflow.onnx
    import onnx

    if not dest.exists():
        mlflow.onnx.save_model(
            onnx.load_model_from_string(onnx_path.read_bytes()),
            str(dest),
            onnx_execution_providers=["CPUExecutionProvider"],
        )
    return dest


def spawn_mlflow_serve(
    servers: Servers, work: Path, model_dir: Path, name: str, *, cpu: int | None
) -> Server:
    """`mlflow models serve -m DIR --env-manager local --port N -w 1` (its defaults otherwise)."""
    port = free_port()
    cmd = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Keep MLflow's own files (./mlruns, ...) in the work folder.
    return servers.spawn(name, cmd, env=env, port=port, ready_path="/ping", cpu=cpu, cwd=work)


# -- MLServer (optional second anchor, in its own virtualenv) -----------------------------

MLSERVER_PACKAGES = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1")


def mlserver_venv(cache: Path, timeout: float = 240.0) -> tuple[Path | None, str]:
    """A virtualenv with MLServer and its scikit-learn runtime: (python, note)."""
    venv = cache / "mlserver-venv"
    python = venv / "bin" / "python"
    marker = venv / ".bench-ok"
    if marker.exists() and python.exists():
        return python, "reused " + str(venv)
    uv = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    t0 = time.monotonic()
    try:
        if uv:
            subprocess.run(
                [uv, "venv", "-q", "-p", sys.executable, str(venv)],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            import sklearn

            pins = [*MLSERVER_PACKAGES, f"scikit-learn=={sklearn.__version__}"]
            subprocess.run(
                [uv, "pip", "install", "-q", "--python", str(python), *pins],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
        else:
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *MLSERVER_PACKAGES],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else []
        return None, f"MLServer install failed: {type(exc).__name__} {' '.join(text)}"
    marker.write_text("ok\n")
    return python, f"installed into {venv} in {time.monotonic() - t0:.0f}s"


def spawn_mlserver(
    servers: Servers, python: Path, models: ModelSet, work: Path, *, cpu: int | None
) -> Server:
    """`mlserver start DIR` serving the standard model with the scikit-learn runtime.

    parallel_workers=0: inference runs in the server process itself, the closest match
    to one uvicorn worker (MLServer's default of 1 adds a separate inference process).
    """
    import json

    folder = work / "mlserver"
    model_dir = folder / "bc"
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(models.lr_joblib, model_dir / "model.joblib")
    port = free_port()
    settings = {
        "host": "127.0.0.1",  # MLServer binds 0.0.0.0 by default
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": 0,
        "debug": False,
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "bc",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    mlserver = python.parent / "mlserver"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "MLFLOW_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return servers.spawn(
        "mlserver",
        [str(mlserver), "start", str(folder)],
        env=env,
        port=port,
        ready_path="/v2/models/bc/ready",
        cpu=cpu,
        cwd=folder,
    )
