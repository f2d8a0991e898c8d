"""The gateway end to end: `turnout serve` processes on loopback, real MLflow, real DBs.

One module-scoped deployment (its own MLflow store and control DB) serves two models:
`bc` (a breast-cancer classifier, plus planted versions: 2 plain, 3 failing at run
time, 4 slow) and `typed` (one input per OIP datatype).
"""

from __future__ import annotations

import io
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chisquare

from tests.conftest import ModelFiles, plain_mlflow_run
from tests.gateway_harness import Gateway, base_env, start_gateway, turnout, wait_for
from tests.onnx_models import failing_model, plain_model, slow_model, typed_model

pytestmark = pytest.mark.mlflow


@dataclass
class Deployment:
    env: dict[str, str]
    root: Path
    gateway: Gateway
    rows: np.ndarray  # breast-cancer feature rows, float32
    token: str  # an operator token for the control API

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def _log_plain_mlflow(env: dict[str, str], name: str, raw: bytes) -> None:
    """Register a version the way a user of plain MLflow would (no turnout checks)."""
    import mlflow.onnx
    import onnx

    with plain_mlflow_run(env["TURNOUT_MLFLOW_TRACKING_URI"], Path(env["TURNOUT_ARTIFACT_ROOT"])):
        mlflow.onnx.log_model(
            onnx.load_model_from_string(raw),
            name="model",
            registered_model_name=name,
            onnx_execution_providers=["CPUExecutionProvider"],
        )


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, model_files: ModelFiles
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("gateway")
    env = base_env(
        root / "state",
        TURNOUT_MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        TURNOUT_ARTIFACT_ROOT=str(root / "artifacts"),
        TURNOUT_MAX_BODY_BYTES="65536",
    )
    onnx_dir = root / "onnx"
    onnx_dir.mkdir()
    r = turnout(
        env,
        "models",
        "register",
        "bc",
        str(model_files.onnx),
        "--reference",
        str(model_files.reference),
    )
    assert r.returncode == 0, r.stderr
    for planted in (plain_model(), failing_model(), slow_model()):
        _log_plain_mlflow(env, "bc", planted)
    typed = onnx_dir / "typed.onnx"
    typed.write_bytes(typed_model())
    assert turnout(env, "models", "register", "typed", str(typed)).returncode == 0
    for model in ("bc", "typed"):
        assert turnout(env, "promote", model, "1").returncode == 0
    made = turnout(env, "tokens", "create", "ci", "--role", "operator", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    gateway = start_gateway(env, root / "gateway.log", "--default-model", "bc")
    rows = model_files.features.to_numpy(dtype=np.float32)
    try:
        yield Deployment(env, root, gateway, rows, token)
    finally:
        gateway.stop()


def _infer_body(rows: np.ndarray, **extra: object) -> dict[str, object]:
    return {
        "inputs": [
            {
                "name": "input",
                "shape": list(rows.shape),
                "datatype": "FP32",
                "data": rows.ravel().tolist(),
            }
        ],
        **extra,
    }


def _set_traffic(d: Deployment, *args: str) -> None:
    r = turnout(d.env, "traffic", "set", "bc", *args)
    assert r.returncode == 0, r.stderr


def _reset_traffic(d: Deployment) -> None:
    assert turnout(d.env, "traffic", "reset", "bc").returncode == 0
    wait_for(
        lambda: (
            d.gateway.client.get("/api/v1/models/bc/policy").json()["effective"]["routes"]
            == [{"version": "1", "weight": 100}]
        )
    )


# -- Open Inference Protocol v2 --------------------------------------------------------


def test_health_and_metadata(deployment: Deployment) -> None:
    c = deployment.gateway.client
    assert c.get("/v2/health/live").json() == {"live": True}
    ready = c.get("/v2/health/ready").json()
    assert ready["ready"] is True and ready["policy"]["stale"] is False
    assert c.get("/v2").json()["name"] == "turnout"
    meta = c.get("/v2/models/bc").json()
    assert meta["name"] == "bc" and meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}]
    assert {o["name"] for o in meta["outputs"]} == {"label", "probabilities"}
    assert c.get("/v2/models/bc/ready").status_code == 200
    assert c.get("/v2/models/bc/versions/1/ready").status_code == 200
    assert c.get("/v2/models/bc/versions/2/ready").status_code == 404
    assert c.get("/v2/models/nope").status_code == 404


def test_infer_matches_the_model_and_sets_headers(
    deployment: Deployment, model_files: ModelFiles
) -> None:
    rows = deployment.rows[:3]
    r = deployment.gateway.client.post(
        "/v2/models/bc/infer",
        json=_infer_body(rows, id="req-7"),
        headers={"x-request-id": "abc-123"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-turnout-version"] == "1"
    assert r.headers["x-request-id"] == "abc-123"
    doc = r.json()
    assert doc["model_name"] == "bc" and doc["model_version"] == "1" and doc["id"] == "req-7"
    outputs = {o["name"]: o for o in doc["outputs"]}
    probs = np.array(outputs["probabilities"]["data"]).reshape(outputs["probabilities"]["shape"])
    expected = model_files.estimator.predict_proba(rows)  # type: ignore[attr-defined]
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert outputs["label"]["datatype"] == "INT64" and outputs["label"]["shape"] == [3]


def test_infer_nested_data_outputs_selection_and_generated_request_id(
    deployment: Deployment,
) -> None:
    body = {
        "inputs": [
            {
                "name": "input",
                "shape": [2, 30],
                "datatype": "FP32",
                "data": deployment.rows[:2].tolist(),
            }
        ],
        "outputs": [{"name": "label"}],
    }
    r = deployment.gateway.client.post("/v2/models/bc/versions/1/infer", json=body)
    assert r.status_code == 200, r.text
    assert [o["name"] for o in r.json()["outputs"]] == ["label"]
    assert len(r.headers["x-request-id"]) >= 16


def test_every_oip_datatype_round_trips(deployment: Deployment) -> None:
    values = {
        "flag": ("BOOL", [True, False]),
        "small": ("INT32", [7, -3]),
        "count": ("INT64", [2**40, 5]),
        "ratio": ("FP32", [0.5, 1.25]),
        "amount": ("FP64", [1e300, -2.5]),
        "city": ("BYTES", ["Zürich", "Lyon"]),
    }
    body = {
        "inputs": [
            {"name": n, "shape": [2, 1], "datatype": t, "data": v} for n, (t, v) in values.items()
        ]
    }
    r = deployment.gateway.client.post("/v2/models/typed/infer", json=body)
    assert r.status_code == 200, r.text
    outputs = {o["name"]: o for o in r.json()["outputs"]}
    for name, (datatype, data) in values.items():
        out = outputs[f"{name}_out"]
        assert out["datatype"] == datatype and out["shape"] == [2, 1], out
        assert out["data"] == data


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "JSON"),
        (
            b'{"inputs": [{"name": "input", "shape": [1, 29], "datatype": "FP32", '
            b'"data": [' + b",".join([b"0.1"] * 29) + b"]}]}",
            400,
            "30",
        ),
        (
            b'{"inputs": [{"name": "wrong", "shape": [1, 30], "datatype": "FP32", '
            b'"data": [' + b",".join([b"0.1"] * 30) + b"]}]}",
            400,
            "wrong",
        ),
        (
            b'{"inputs": [{"name": "input", "shape": [2, 30], "datatype": "FP32", '
            b'"data": [[' + b",".join([b"0.1"] * 30) + b"], [0.1]]}]}",
            400,
            "ragged",
        ),
        (
            b'{"inputs": [{"name": "input", "shape": [1, 30], "datatype": "BYTES", '
            b'"data": [' + b",".join([b'"x"'] * 30) + b"]}]}",
            400,
            "input",
        ),
        (
            b'{"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", '
            b'"data": [' + b",".join([b"0.1"] * 29) + b"]}]}",
            400,
            "input",
        ),
        (b'{"inputs": []}', 400, "input"),
        (b"[1, 2]", 400, ""),
    ],
)
def test_bad_oip_requests_are_4xx_with_an_error_body(
    deployment: Deployment, body: bytes, status: int, fragment: str
) -> None:
    r = deployment.gateway.client.post(
        "/v2/models/bc/infer", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert isinstance(error, str) and fragment in error


def test_unknown_model_and_version_are_404(deployment: Deployment) -> None:
    c = deployment.gateway.client
    body = _infer_body(deployment.rows[:1])
    r = c.post("/v2/models/nope/infer", json=body)
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = c.post("/v2/models/bc/versions/9/infer", json=body)
    assert r.status_code == 404 and "not served" in r.json()["error"]


def test_body_over_the_limit_is_413(deployment: Deployment) -> None:
    big = _infer_body(np.full((400, 30), 0.123456, dtype=np.float32))  # about 130 kB
    r = deployment.gateway.client.post("/v2/models/bc/infer", json=big)
    assert r.status_code == 413 and "limit" in r.json()["error"]


# -- MLflow scoring protocol -----------------------------------------------------------


def _mlflow_reference(model_files: ModelFiles, payload: dict[str, object]) -> object:
    """What `mlflow models serve` answers for the same ONNX model and payload."""
    import mlflow
    from mlflow.pyfunc import scoring_server

    model = mlflow.pyfunc.load_model(str(_saved_mlflow_model(model_files)))
    data, params = scoring_server._split_data_and_params(json.dumps(payload))
    parsed = scoring_server.infer_and_parse_data(data, model.metadata.get_input_schema())
    out = model.predict(parsed, params=params)
    buffer = io.StringIO()
    scoring_server.predictions_to_json(out, buffer)
    return json.loads(buffer.getvalue())


def _saved_mlflow_model(model_files: ModelFiles) -> Path:
    import mlflow.onnx
    import onnx

    path = model_files.onnx.parent / "mlflow-model"
    if not path.exists():
        mlflow.onnx.save_model(
            onnx.load_model_from_string(model_files.onnx.read_bytes()),
            str(path),
            onnx_execution_providers=["CPUExecutionProvider"],
        )
    return path


def test_invocations_payload_forms(deployment: Deployment, model_files: ModelFiles) -> None:
    frame = model_files.features.head(3)
    payloads = [
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))},
        {"dataframe_records": json.loads(frame.to_json(orient="records"))},
        {"instances": frame.to_numpy().tolist()},
        {"inputs": frame.to_numpy().tolist()},
    ]
    for payload in payloads:
        r = deployment.gateway.client.post("/invocations", json=payload)
        assert r.status_code == 200, (payload.keys(), r.text)
        assert r.headers["x-turnout-version"] == "1"
        got = r.json()
        # For dataframe payloads MLflow's ONNX flavor tries to fold a classifier's label
        # and probability outputs into one frame and fails; turnout answers them as
        # MLflow answers the same rows sent as `inputs`.
        reference = (
            payload
            if ("instances" in payload or "inputs" in payload)
            else {"inputs": frame.to_numpy().tolist()}
        )
        want = _mlflow_reference(model_files, reference)
        assert got.keys() == want.keys()  # type: ignore[attr-defined]
        np.testing.assert_allclose(
            np.array(got["predictions"]["probabilities"]),
            np.array(want["predictions"]["probabilities"]),  # type: ignore[index]
            atol=1e-6,
        )
    csv = frame.to_csv(index=False)
    r = deployment.gateway.client.post(
        "/models/bc/invocations", content=csv, headers={"content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text


def test_invocations_errors(deployment: Deployment) -> None:
    c = deployment.gateway.client
    r = c.post("/models/bc/invocations", json={"instances": [[1.0] * 30], "inputs": [[1.0] * 30]})
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"
    r = c.post("/models/bc/invocations", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = c.post("/models/bc/invocations", json={"instances": [[1.0] * 29]})
    assert r.status_code == 400
    r = c.post("/models/nope/invocations", json={"instances": [[1.0] * 30]})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert c.get("/ping").status_code == 200 and c.get("/health").status_code == 200
    assert c.get("/version").status_code == 200


# -- traffic: split, stickiness, match rules, shadow -----------------------------------


def _versions_for(d: Deployment, keys: list[str], **headers: str) -> dict[str, str]:
    body = _infer_body(d.rows[:1])
    out = {}
    for key in keys:
        r = d.gateway.client.post(
            "/v2/models/bc/infer", json=body, headers={"x-turnout-key": key, **headers}
        )
        assert r.status_code == 200, r.text
        out[key] = r.headers["x-turnout-version"]
    return out


def _await_revision(d: Deployment) -> None:
    stored = json.loads(turnout(d.env, "traffic", "show", "bc", "--json").stdout)["current"]
    wait_for(
        lambda: (
            d.gateway.client.get("/api/v1/models/bc/policy").json()["effective"]["revision"]
            == stored["revision"]
        )
    )


def test_weighted_split_is_sticky_monotone_and_matches_weights(deployment: Deployment) -> None:
    d = deployment
    keys = [f"user-{i}" for i in range(1500)]
    _set_traffic(d, "1=90", "2=10")
    _await_revision(d)
    at10 = _versions_for(d, keys)
    counts = [sum(v == "1" for v in at10.values()), sum(v == "2" for v in at10.values())]
    assert chisquare(counts, f_exp=[0.9 * len(keys), 0.1 * len(keys)]).pvalue > 0.001, counts
    assert _versions_for(d, keys[:200]) == {k: at10[k] for k in keys[:200]}  # sticky
    _set_traffic(d, "1=50", "2=50")
    _await_revision(d)
    at50 = _versions_for(d, keys)
    moved_back = [k for k in keys if at10[k] == "2" and at50[k] != "2"]
    assert moved_back == []  # whoever was on the canary at 10% stays on it at 50%
    assert abs(sum(v == "2" for v in at50.values()) / len(keys) - 0.5) < 0.05
    _reset_traffic(d)


def test_header_match_rule_routes_to_its_version(deployment: Deployment) -> None:
    d = deployment
    _set_traffic(d, "1=100", "--match", "header:x-beta=yes->2")
    _await_revision(d)
    assert set(_versions_for(d, ["a", "b", "c"], **{"x-beta": "yes"}).values()) == {"2"}
    assert set(_versions_for(d, ["a", "b", "c"]).values()) == {"1"}
    _reset_traffic(d)


def _latencies(d: Deployment, n: int) -> list[float]:
    body = _infer_body(d.rows[:1])
    out = []
    for _ in range(n):
        started = time.perf_counter()
        r = d.gateway.client.post("/v2/models/bc/infer", json=body)
        out.append(time.perf_counter() - started)
        assert r.status_code == 200 and r.headers["x-turnout-version"] == "1"
    return out


def _metric(d: Deployment, name: str, **labels: str) -> float:
    total = 0.0
    for line in d.gateway.client.get("/metrics").text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_shadow_never_slows_or_fails_the_primary(deployment: Deployment) -> None:
    d = deployment
    baseline = statistics.median(_latencies(d, 40))
    expected = d.gateway.client.post("/v2/models/bc/infer", json=_infer_body(d.rows[:1])).json()
    for shadow in ("4", "3"):  # slow (about 60 ms a call), then failing at run time
        _set_traffic(d, "1=100", "--shadow", f"{shadow}:100")
        _await_revision(d)
        before = _metric(d, "turnout_shadow_requests_total", version=shadow)
        with_shadow = statistics.median(_latencies(d, 40))
        # Tolerance: the shadow's own 60 ms must not show up in the primary's median.
        assert with_shadow < baseline + 0.02, (baseline, with_shadow)
        got = d.gateway.client.post("/v2/models/bc/infer", json=_infer_body(d.rows[:1])).json()
        assert got["outputs"] == expected["outputs"]

        # Copies are dropped while the previous mirrored call still runs, so a slow
        # shadow sees only some of them; a fast one sees nearly all.
        def mirrored(s: str = shadow, b: float = before) -> bool:
            d.gateway.client.post("/v2/models/bc/infer", json=_infer_body(d.rows[:1]))
            return _metric(d, "turnout_shadow_requests_total", version=s) >= b + 5

        wait_for(mirrored, timeout=30, interval=0.1)
    assert _metric(d, "turnout_shadow_requests_total", version="3", outcome="model_error") >= 5
    _reset_traffic(d)


def test_model_failure_is_a_500_counted_against_the_version(deployment: Deployment) -> None:
    d = deployment
    _set_traffic(d, "1=100", "--match", "header:x-broken=1->3")
    _await_revision(d)
    before = _metric(d, "turnout_requests_total", version="3", outcome="model_error")
    r = d.gateway.client.post(
        "/v2/models/bc/infer", json=_infer_body(d.rows[:1]), headers={"x-broken": "1"}
    )
    assert r.status_code == 500 and "model failed" in r.json()["error"]
    assert r.headers["x-turnout-version"] == "3"
    after = _metric(d, "turnout_requests_total", version="3", outcome="model_error")
    assert after == before + 1
    _reset_traffic(d)


def test_policy_naming_a_broken_version_is_refused(deployment: Deployment, tmp_path: Path) -> None:
    r = turnout(deployment.env, "traffic", "set", "bc", "1=50", "9=50")
    assert r.returncode == 1 and "error:" in r.stderr and "Traceback" not in r.stderr
    r = turnout(deployment.env, "traffic", "set", "bc", "1=60", "2=30")
    assert r.returncode == 1 and "sum" in r.stderr


# -- feedback, telemetry, stats ----------------------------------------------------------


def test_feedback_is_joined_to_predictions(deployment: Deployment) -> None:
    d = deployment
    ids = [f"fb-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    labels = []
    for i, rid in enumerate(ids):
        r = d.gateway.client.post(
            "/v2/models/bc/infer",
            json=_infer_body(d.rows[i : i + 1]),
            headers={"x-request-id": rid},
        )
        assert r.status_code == 200
        labels.append(
            int(r.json()["outputs"][0]["data"][0])
            if r.json()["outputs"][0]["name"] == "label"
            else int(r.json()["outputs"][1]["data"][0])
        )
    wrong = 1 - labels[0]
    items = [{"request_id": rid, "label": lab} for rid, lab in zip(ids, labels, strict=True)]
    items[0]["label"] = wrong  # one of six is wrong: accuracy 5/6

    def joined() -> bool:
        r = d.gateway.client.post("/api/v1/feedback", json=items, headers=d.auth)
        assert r.status_code == 200, r.text
        return bool(r.json()["matched"] == len(items))

    wait_for(joined, timeout=10, interval=0.3)  # predictions reach the DB within a flush
    q = d.gateway.client.get("/api/v1/models/bc/quality").json()["versions"]["1"]
    assert q["labelled"] >= 6
    bad = d.gateway.client.post("/api/v1/feedback", json=[{"label": 1}], headers=d.auth)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_telemetry_reaches_the_control_db(deployment: Deployment) -> None:
    d = deployment
    for _ in range(5):
        d.gateway.client.post("/v2/models/bc/infer", json=_infer_body(d.rows[:2]))

    def counted() -> bool:
        stats = d.gateway.client.get("/api/v1/models/bc/stats?window_s=300").json()
        return bool(stats["versions"].get("1", {}).get("requests", 0) >= 5)

    wait_for(counted, timeout=10, interval=0.3)
    text = d.gateway.client.get("/metrics").text
    assert 'turnout_requests_total{model="bc",version="1",outcome="ok"}' in text
    assert "turnout_request_duration_seconds_bucket" in text
    assert "turnout_policy_stale 0" in text
    shown = json.loads(turnout(d.env, "traffic", "show", "bc", "--json").stdout)
    assert shown["stats"]["1"]["requests"] >= 5


def test_control_api_errors_are_problem_documents(deployment: Deployment) -> None:
    c = deployment.gateway.client
    auth = deployment.auth
    r = c.put(
        "/api/v1/models/bc/policy",
        json={"routes": [{"version": "1", "weight": 50}]},
        headers=auth,
    )
    assert r.status_code == 422 and r.json()["title"] == "Invalid routing policy"
    r = c.put("/api/v1/models/bc/policy", content=b"{oops", headers=auth)
    assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
    r = c.get("/api/v1/models/nope/policy")
    assert r.status_code == 404


def test_mutations_need_a_token_with_the_right_role(deployment: Deployment) -> None:
    d = deployment
    c = d.gateway.client
    body = {"routes": [{"version": "1", "weight": 100}]}
    r = c.put("/api/v1/models/bc/policy", json=body)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem")
    r = c.put("/api/v1/models/bc/policy", json=body, headers={"authorization": "Bearer nope"})
    assert r.status_code == 401 and "unknown token" in r.json()["detail"]
    viewer = json.loads(
        turnout(d.env, "tokens", "create", "reader", "--role", "viewer", "--json").stdout
    )["token"]
    r = c.put("/api/v1/models/bc/policy", json=body, headers={"authorization": f"Bearer {viewer}"})
    assert r.status_code == 403 and "role viewer" in r.json()["detail"]
    assert c.get("/api/v1/models/bc/events").status_code == 200  # reads stay open
    r = c.put("/api/v1/models/bc/policy", json=body, headers=d.auth)
    assert r.status_code == 201, r.text
    events = c.get("/api/v1/models/bc/events").json()
    assert events[-1]["kind"] == "traffic.policy" and events[-1]["actor"] == "ci"
    assert turnout(d.env, "tokens", "revoke", "reader").returncode == 0
    r = c.put("/api/v1/models/bc/policy", json=body, headers={"authorization": f"Bearer {viewer}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    _reset_traffic(d)


def test_rollout_and_alias_api(deployment: Deployment) -> None:
    d = deployment
    c = d.gateway.client
    r = c.post(
        "/api/v1/rollouts",
        json={"model": "bc", "candidate": "1", "step_weights": [10]},
        headers=d.auth,
    )
    assert r.status_code == 422 and "already the champion" in r.json()["detail"]
    r = c.post(
        "/api/v1/rollouts",
        json={"model": "bc", "candidate": "2", "step_weights": [10], "analysis": None},
        headers=d.auth,
    )
    assert r.status_code == 201, r.text
    rollout_id = r.json()["id"]
    r = c.post(
        "/api/v1/rollouts",
        json={"model": "bc", "candidate": "2", "step_weights": [10]},
        headers=d.auth,
    )
    assert r.status_code == 409
    r = c.post(f"/api/v1/rollouts/{rollout_id}/abort", json={"reason": "api test"}, headers=d.auth)
    assert r.status_code == 200 and r.json()["phase"] == "Aborted", r.text
    assert c.get(f"/api/v1/rollouts/{rollout_id}").json()["phase"] == "Aborted"
    assert c.get("/api/v1/rollouts/99999").status_code == 404
    r = c.post(f"/api/v1/rollouts/{rollout_id}/approve", headers=d.auth)
    assert r.status_code == 422
    r = c.post("/api/v1/models/bc/promote", json={"version": "9"}, headers=d.auth)
    assert r.status_code == 404


def test_the_cli_acts_through_a_server(deployment: Deployment, tmp_path: Path) -> None:
    """`--server` / TURNOUT_SERVER: no local control DB, only HTTP and a token."""
    d = deployment
    elsewhere = base_env(tmp_path / "empty-state")  # a machine with no stores at all
    remote = {**elsewhere, "TURNOUT_SERVER": d.gateway.url, "TURNOUT_TOKEN": d.token}
    r = turnout(remote, "rollout", "start", "bc", "--to", "2", "--no-analysis", "--json")
    assert r.returncode == 0, r.stderr
    rollout_id = json.loads(r.stdout)["id"]
    listed = json.loads(turnout(remote, "rollout", "list", "bc", "--json").stdout)
    assert listed[0]["id"] == rollout_id
    r = turnout(remote, "rollout", "abort", str(rollout_id), "-r", "from CI", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["phase"] == "Aborted", r.stderr
    status = json.loads(turnout(remote, "rollout", "status", str(rollout_id), "--json").stdout)
    assert status["phase"] == "Aborted" and status["last_decision"] is not None
    explain = json.loads(turnout(remote, "rollout", "explain", str(rollout_id), "--json").stdout)
    assert any(e["reason"] for e in explain)
    # The actor recorded is the token's name, not the machine's user.
    history = d.gateway.client.get("/api/v1/models/bc/events").json()
    assert any(e.get("actor") == "ci" for e in history), history[:3]
    assert not (tmp_path / "empty-state" / "turnout.db").exists()

    # Errors: one line each, no traceback.
    no_token = {**remote, "TURNOUT_TOKEN": ""}
    r = turnout(no_token, "rollout", "abort", str(rollout_id))
    assert r.returncode == 1 and "401" in r.stderr and "TURNOUT_TOKEN" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = turnout(remote, "rollout", "status", "99999")
    assert r.returncode == 1 and "404" in r.stderr and "Traceback" not in r.stderr
    r = turnout(remote, "--server", "http://127.0.0.1:9", "rollout", "list")
    assert r.returncode == 1 and "cannot reach the turnout server" in r.stderr
    r = turnout(remote, "--server", "ftp://x", "rollout", "list")
    assert r.returncode == 1 and "http:// or https://" in r.stderr
