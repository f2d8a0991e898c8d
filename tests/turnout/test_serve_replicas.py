"""Several gateway processes on one PostgreSQL control DB: policy changes reach every
replica, and a replica cut off from the DB keeps serving its last policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ModelFiles
from tests.gateway_harness import Gateway, TcpProxy, base_env, start_gateway, turnout, wait_for
from tests.onnx_models import plain_model

pytestmark = [pytest.mark.mlflow, pytest.mark.postgres]


@dataclass
class Cluster:
    env: dict[str, str]
    root: Path
    body: dict[str, object]


@pytest.fixture
def cluster(tmp_path: Path, model_files: ModelFiles, pg_url: str) -> Iterator[Cluster]:
    env = base_env(
        tmp_path / "state",
        TURNOUT_MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        TURNOUT_ARTIFACT_ROOT=str(tmp_path / "artifacts"),
        TURNOUT_DATABASE_URL=pg_url,
    )
    second = tmp_path / "plain.onnx"
    second.write_bytes(plain_model())
    for path in (model_files.onnx, second):
        r = turnout(env, "models", "register", "bc", str(path))
        assert r.returncode == 0, r.stderr
    assert turnout(env, "promote", "bc", "1").returncode == 0
    rows = model_files.features.to_numpy(dtype=np.float32)[:1]
    body = {
        "inputs": [
            {"name": "input", "shape": [1, 30], "datatype": "FP32", "data": rows.ravel().tolist()}
        ]
    }
    yield Cluster(env, tmp_path, body)


def _version(g: Gateway, body: dict[str, object]) -> str:
    r = g.client.post("/v2/models/bc/infer", json=body)
    assert r.status_code == 200, r.text
    return str(r.headers["x-turnout-version"])


def test_policy_change_reaches_every_replica(cluster: Cluster) -> None:
    gateways = [start_gateway(cluster.env, cluster.root / f"g{i}.log") for i in range(2)]
    try:
        assert [_version(g, cluster.body) for g in gateways] == ["1", "1"]
        assert turnout(cluster.env, "traffic", "set", "bc", "2=100").returncode == 0
        for g in gateways:
            wait_for(lambda g=g: _version(g, cluster.body) == "2", timeout=10)
        # A promotion (alias move) reaches them too, once the policy follows the champion.
        assert turnout(cluster.env, "traffic", "reset", "bc").returncode == 0
        assert turnout(cluster.env, "promote", "bc", "2").returncode == 0
        for g in gateways:
            wait_for(lambda g=g: _version(g, cluster.body) == "2", timeout=10)
        assert turnout(cluster.env, "rollback", "bc").returncode == 0
        for g in gateways:
            wait_for(lambda g=g: _version(g, cluster.body) == "1", timeout=10)
    finally:
        for g in gateways:
            g.stop()


def test_gateway_serves_through_a_db_outage(cluster: Cluster) -> None:
    url = make_url(cluster.env["TURNOUT_DATABASE_URL"])
    proxy = TcpProxy(target_port=url.port or 5432)
    proxy.heal()
    env = {
        **cluster.env,
        "TURNOUT_DATABASE_URL": url.set(port=proxy.port).render_as_string(hide_password=False),
    }
    g = start_gateway(env, cluster.root / "outage.log")
    try:
        assert _version(g, cluster.body) == "1"
        proxy.cut()
        wait_for(lambda: g.client.get("/v2/health/ready").json()["policy"]["stale"], timeout=15)
        for _ in range(20):  # still answering, from the last known policy
            assert _version(g, cluster.body) == "1"
        assert "turnout_policy_stale 1" in g.client.get("/metrics").text
        # Meanwhile an operator changes the policy (directly on the DB, which is up).
        assert turnout(cluster.env, "traffic", "set", "bc", "2=100").returncode == 0
        proxy.heal()
        wait_for(lambda: not g.client.get("/v2/health/ready").json()["policy"]["stale"], timeout=20)
        wait_for(lambda: _version(g, cluster.body) == "2", timeout=10)

        # Requests served during the outage were kept and flushed once the DB was back.
        def flushed() -> bool:
            stats = g.client.get("/api/v1/models/bc/stats?window_s=600").json()
            return bool(stats["versions"].get("1", {}).get("requests", 0) >= 21)

        wait_for(flushed, timeout=15, interval=0.3)
    finally:
        g.stop()
        proxy.cut()
