"""The raw ASGI front of the inference routes, in process (no server, no database)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from fastapi import FastAPI

from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.api.app import create_app
from router.api.context import GatewayContext
from router.api.front import header_value, match_inference_path
from router.quality import PredictionBuffer
from router.serving.attach import attach_with
from router.serving.gateway import Gateway
from router.serving.pool import ModelPool
from router.telemetry import Recorder
from router.traffic import Route, RoutingPolicy, RoutingTable, Shadow
from tests.onnx_models import plain_model

ROW = (np.arange(30, dtype=np.float32) / 30).tolist()
OIP = {"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", "data": ROW}]}


@pytest.fixture
def gateway() -> Gateway:
    reg = InMemoryRegistry()
    for _ in range(2):
        reg.create_version(
            NewVersion(
                name="m",
                onnx_bytes=plain_model(),
                input_example={},
                outputs={},
                source_format="onnx",
            )
        )
    recorder = Recorder("test")
    pool = ModelPool(reg, attach=attach_with(recorder))
    assert pool.ensure([("m", "1"), ("m", "2")]) == {}
    table = RoutingTable()
    table.replace({"m": RoutingPolicy(model="m", routes=(Route("1", 100),))})
    return Gateway(table, pool, recorder, PredictionBuffer())


@pytest.fixture
def app(gateway: Gateway) -> FastAPI:
    ctx = GatewayContext(
        gateway=gateway,
        watcher=None,  # type: ignore[arg-type]  # not reached by the inference routes
        flusher=None,  # type: ignore[arg-type]
        sessions=None,  # type: ignore[arg-type]
        registry=None,
        server_version="0",
        max_body_bytes=4096,
    )
    return create_app(ctx)


def _post(app: FastAPI, path: str, body: bytes, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(go())


@pytest.fixture
def bare_asgi(app: FastAPI) -> Iterator[Any]:
    """Call the app as uvicorn does, with a body in two chunks and no content-length."""

    def call(path: str, chunks: list[bytes]) -> tuple[dict[str, Any], bytes]:
        sent: list[dict[str, Any]] = []
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
        }
        asyncio.run(app(scope, receive, send))
        return sent[0], b"".join(m.get("body", b"") for m in sent[1:])

    yield call


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/models/m/infer", ("oip", "m", None)),
        ("/v2/models/m/versions/2/infer", ("oip", "m", "2")),
        ("/invocations", ("scoring", None, None)),
        ("/models/m/invocations", ("scoring", "m", None)),
        ("/v2/models/m", None),
        ("/v2/models//infer", None),
        ("/v2/models/m/versions//infer", None),
        ("/v2/models/m/infer/", None),
        ("/models/a/b/invocations", None),
        ("/models//invocations", None),
        ("/invocations/", None),
    ],
)
def test_paths_match_like_starlette_routes(
    path: str, expected: tuple[str, str | None, str | None] | None
) -> None:
    assert match_inference_path(path) == expected


def test_header_values_are_escaped_only_when_needed() -> None:
    assert header_value("req-42") == b"req-42"
    assert header_value("a\r\nb") == b"a%0D%0Ab"
    assert header_value("Zürich") == b"Z%C3%BCrich"


def test_infer_answers_with_headers_and_logs(app: FastAPI, gateway: Gateway) -> None:
    r = _post(app, "/v2/models/m/infer", orjson.dumps(OIP), **{"x-request-id": "abc"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "abc" and r.headers["x-turnout-version"] == "1"
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.json()["model_name"] == "m" and r.json()["id"] == "abc"
    assert [p.request_id for p in gateway.predictions.drain()] == ["abc"]
    totals = gateway.recorder.totals().versions
    assert totals[0].outcomes["ok"] == 1


def test_body_id_is_the_request_id_without_a_header(app: FastAPI, gateway: Gateway) -> None:
    gateway.table.replace({"m": RoutingPolicy(model="m", routes=(Route("1", 50), Route("2", 50)))})
    r = _post(app, "/v2/models/m/versions/2/infer", orjson.dumps({**OIP, "id": "from-body"}))
    assert r.status_code == 200 and r.headers["x-request-id"] == "from-body"
    assert r.headers["x-turnout-version"] == "2"
    assert [p.request_id for p in gateway.predictions.drain()] == ["from-body"]


def test_errors_use_each_protocols_body(app: FastAPI) -> None:
    r = _post(app, "/v2/models/nope/infer", orjson.dumps(OIP))
    assert r.status_code == 404 and "nope" in r.json()["error"]
    assert "x-turnout-version" not in r.headers and r.headers["x-request-id"]
    r = _post(app, "/v2/models/m/infer", b"{oops")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    assert r.headers["x-turnout-version"] == "1"
    r = _post(app, "/models/m/invocations", b"{}", **{"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["error_code"] == "BAD_REQUEST"
    r = _post(app, "/invocations", b"x" * 5000, **{"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["message"]


def test_a_chunked_body_is_read_whole_and_bounded(bare_asgi: Any) -> None:
    raw = orjson.dumps(OIP)
    start, body = bare_asgi("/v2/models/m/infer", [raw[:50], raw[50:]])
    assert start["status"] == 200, body
    start, body = bare_asgi("/v2/models/m/infer", [b"x" * 3000, b"x" * 3000])
    assert start["status"] == 413 and b"limit" in body


def test_other_paths_and_methods_reach_the_fastapi_app(app: FastAPI) -> None:
    async def go() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            live = await client.get("/v2/health/live")
            wrong_method = await client.get("/v2/models/m/infer")
            return live.status_code, wrong_method.status_code

    assert asyncio.run(go()) == (200, 405)


def test_the_starlette_routes_answer_like_the_front(app: FastAPI, gateway: Gateway) -> None:
    async def go() -> httpx.Response:
        # A root path sends the request through Starlette's router instead.
        transport = httpx.ASGITransport(app=app, root_path="/gw")
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(
                "/gw/v2/models/m/infer", content=orjson.dumps(OIP), headers={"x-request-id": "s"}
            )

    r = asyncio.run(go())
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "s" and r.headers["x-turnout-version"] == "1"
    assert r.headers["content-length"] == str(len(r.content))


def test_the_shadow_copy_runs_after_the_answer(app: FastAPI, gateway: Gateway) -> None:
    gateway.table.replace(
        {"m": RoutingPolicy(model="m", routes=(Route("1", 100),), shadow=Shadow("2", 100.0))}
    )
    r = _post(app, "/v2/models/m/infer", orjson.dumps(OIP), **{"x-request-id": "sh"})
    assert r.status_code == 200 and r.headers["x-turnout-version"] == "1"
    logged = {(p.version, p.shadow) for p in gateway.predictions.drain()}
    assert logged == {("1", False), ("2", True)}
