"""The gateway's HTTP protocol on a real uvicorn server, spoken to over raw sockets.

The inference routes are answered inside the parser (router/api/protocol.py); these
tests hold that way to HTTP/1.1 (keep-alive, pipelining, chunked bodies, close, 1.0,
100-continue, size limits) and to the same answers as the ASGI way.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
import uvicorn

from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.api.app import create_app
from router.api.context import GatewayContext
from router.api.front import InferenceFront
from router.api.protocol import GatewayHttpProtocol, find_front
from router.quality import PredictionBuffer
from router.serving.attach import attach_with
from router.serving.gateway import Gateway
from router.serving.pool import ModelPool
from router.telemetry import Recorder
from router.traffic import Route, RoutingPolicy, RoutingTable
from tests.asgi_client import AsgiClient
from tests.onnx_models import plain_model

ROW = (np.arange(30, dtype=np.float32) / 30).tolist()
OIP = orjson.dumps(
    {"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", "data": ROW}]}
)
SCORING = orjson.dumps({"inputs": [ROW]})
LIMIT = 4096


class _Counting(InferenceFront):
    """The front, counting which way each request came in."""

    def __init__(self, ctx: GatewayContext) -> None:
        super().__init__(ctx)
        self.asgi_calls = 0
        self.direct_calls = 0
        self.explode = False

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.asgi_calls += 1
        await super().__call__(*args, **kwargs)

    def answer_infer(self, *args: Any, **kwargs: Any) -> Any:
        self.direct_calls += 1
        if self.explode:
            raise RuntimeError("boom")
        return super().answer_infer(*args, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, _Counting, Any]]:
    reg = InMemoryRegistry()
    reg.create_version(
        NewVersion(
            name="m", onnx_bytes=plain_model(), input_example={}, outputs={}, source_format="onnx"
        )
    )
    recorder = Recorder("test")
    pool = ModelPool(reg, attach=attach_with(recorder))
    assert pool.ensure([("m", "1")]) == {}
    table = RoutingTable()
    table.replace({"m": RoutingPolicy(model="m", routes=(Route("1", 100),))})
    ctx = GatewayContext(
        gateway=Gateway(table, pool, recorder, PredictionBuffer()),
        watcher=None,  # type: ignore[arg-type]  # not reached by these routes
        flusher=None,  # type: ignore[arg-type]
        sessions=None,  # type: ignore[arg-type]
        registry=None,
        server_version="0",
        max_body_bytes=LIMIT,
    )
    app = create_app(ctx)
    front = _Counting(ctx)
    app.front = front  # type: ignore[attr-defined]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=GatewayHttpProtocol,
        log_level="critical",
        access_log=False,
        lifespan="off",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield port, front, app
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def front(server: tuple[int, _Counting, Any]) -> Iterator[_Counting]:
    counting = server[1]
    counting.asgi_calls = counting.direct_calls = 0
    counting.explode = False
    yield counting
    counting.explode = False


def _request(
    path: str, body: bytes | None = None, *, method: str = "POST", **headers: str
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: t"]
    if body is not None and "transfer_encoding" not in headers and "content_length" not in headers:
        lines.append(f"content-length: {len(body)}")
    if body is not None:
        lines.append("content-type: application/json")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class _Conn:
    """A client connection that reads whole HTTP/1.1 responses (content-length framed)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed mid-response: {self.buf!r}"
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        size = int(headers["content-length"])
        while len(self.buf) < size:
            assert self._fill(), "connection closed mid-body"
        body, self.buf = self.buf[:size], self.buf[size:]
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(server: tuple[int, _Counting, Any]) -> Iterator[_Conn]:
    c = _Conn(server[0])
    yield c
    c.close()


def test_the_protocol_finds_the_gateway_front_behind_middleware(
    server: tuple[int, _Counting, Any],
) -> None:
    class Wrapper:
        def __init__(self, app: Any) -> None:
            self.app = app

    front = server[1]
    app = type("App", (), {"front": front})()
    assert find_front(Wrapper(Wrapper(app))) is front
    assert find_front(Wrapper(object())) is None


def test_an_infer_request_is_answered_in_the_parser_like_the_asgi_way(
    conn: _Conn, front: _Counting, server: tuple[int, _Counting, Any]
) -> None:
    conn.send(_request("/v2/models/m/infer", OIP, x_request_id="r-1"))
    status, headers, body = conn.response()
    assert status == 200, body
    assert front.direct_calls == 1 and front.asgi_calls == 0
    assert headers["x-request-id"] == "r-1" and headers["x-turnout-version"] == "1"
    assert headers["content-type"] == "application/json"
    assert "date" in headers and headers["server"] == "uvicorn"
    doc = orjson.loads(body)
    assert doc["model_name"] == "m" and doc["model_version"] == "1" and doc["id"] == "r-1"
    # The same request through the ASGI app, in process, gets the same body.
    asgi = AsgiClient(server[2]).request(
        "POST", "/v2/models/m/infer", content=OIP, headers={"x-request-id": "r-1"}
    )
    assert asgi.status_code == 200 and asgi.content == body
    assert front.asgi_calls == 1


def test_keep_alive_serves_inference_and_other_routes_in_turn(
    conn: _Conn, front: _Counting
) -> None:
    conn.send(_request("/v2/models/m/infer", OIP))
    assert conn.response()[0] == 200
    conn.send(_request("/v2/health/live", method="GET"))
    assert conn.response()[0] == 200
    conn.send(_request("/invocations", SCORING))
    status, _, body = conn.response()
    assert status == 200 and "predictions" in orjson.loads(body)
    assert front.asgi_calls == 0 and front.direct_calls == 1


def test_pipelined_requests_are_answered_in_order(conn: _Conn, front: _Counting) -> None:
    conn.send(
        _request("/v2/models/m/infer", OIP, x_request_id="first")
        + _request("/v2/models/nope", method="GET")
        + _request("/v2/models/m/infer", OIP, x_request_id="third")
        + _request("/invocations", SCORING, x_request_id="fourth")
    )
    first, second, third, fourth = (conn.response() for _ in range(4))
    assert first[0] == 200 and first[1]["x-request-id"] == "first"
    assert second[0] == 404
    assert third[0] == 200 and third[1]["x-request-id"] == "third"
    assert fourth[0] == 200 and fourth[1]["x-request-id"] == "fourth"


def test_a_chunked_body_is_read_whole(conn: _Conn, front: _Counting) -> None:
    half = len(OIP) // 2
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (OIP[:half], OIP[half:])
    )
    head = _request("/v2/models/m/infer", b"", transfer_encoding="chunked")
    conn.send(head + chunks + b"0\r\n\r\n")
    status, _, body = conn.response()
    assert status == 200, body
    assert front.direct_calls == 1


def test_a_body_over_the_limit_is_413_and_the_connection_goes_on(
    conn: _Conn, front: _Counting
) -> None:
    big = b" " * (LIMIT + 1)
    conn.send(_request("/v2/models/m/infer", big))
    status, _, body = conn.response()
    assert status == 413 and "4096-byte limit" in orjson.loads(body)["error"]
    # Chunked, so the size is only known while reading; the MLflow error shape.
    chunk = b" " * 3000
    piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    conn.send(_request("/invocations", b"", transfer_encoding="chunked") + piece * 2 + b"0\r\n\r\n")
    status, _, body = conn.response()
    assert status == 413 and orjson.loads(body)["error_code"] == "BAD_REQUEST"
    conn.send(_request("/v2/models/m/infer", OIP))
    assert conn.response()[0] == 200


def test_client_errors_keep_their_protocol_bodies(conn: _Conn, front: _Counting) -> None:
    conn.send(_request("/v2/models/nope/infer", OIP))
    status, _, body = conn.response()
    assert status == 404 and "nope" in orjson.loads(body)["error"]
    conn.send(_request("/v2/models/m/infer", b"{not json"))
    status, _, body = conn.response()
    assert status == 400 and "error" in orjson.loads(body)
    conn.send(_request("/models/m/invocations", b"{}"))
    status, _, body = conn.response()
    assert status == 400 and orjson.loads(body)["error_code"] == "BAD_REQUEST"


def test_connection_close_and_http_1_0_close_after_the_answer(
    server: tuple[int, _Counting, Any], front: _Counting
) -> None:
    c = _Conn(server[0])
    try:
        c.send(_request("/v2/models/m/infer", OIP, connection="close"))
        status, headers, _ = c.response()
        assert status == 200 and headers["connection"] == "close"
        assert c.closed_by_server()
    finally:
        c.close()
    c = _Conn(server[0])
    try:
        c.send(_request("/v2/models/m/infer", OIP).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        status, _, _ = c.response()
        assert status == 200 and c.closed_by_server()
    finally:
        c.close()
    assert front.direct_calls == 2


def test_expect_100_continue_takes_the_stock_way(conn: _Conn, front: _Counting) -> None:
    conn.send(
        _request("/v2/models/m/infer", None, expect="100-continue", content_length=str(len(OIP)))
    )
    interim = b""
    while b"\r\n\r\n" not in interim:
        interim += conn.sock.recv(1024)
    assert interim.startswith(b"HTTP/1.1 100")
    conn.buf = interim.split(b"\r\n\r\n", 1)[1]
    conn.send(OIP)
    status, _, _ = conn.response()
    assert status == 200
    assert front.asgi_calls == 1 and front.direct_calls == 1  # the ASGI front, then its core


def test_a_handler_crash_is_a_500_and_the_server_serves_on(
    server: tuple[int, _Counting, Any], front: _Counting
) -> None:
    front.explode = True
    c = _Conn(server[0])
    try:
        c.send(_request("/v2/models/m/infer", OIP))
        status, headers, body = c.response()
        assert status == 500 and body == b"Internal Server Error"
        assert headers["connection"] == "close" and c.closed_by_server()
    finally:
        c.close()
    front.explode = False
    c = _Conn(server[0])
    try:
        c.send(_request("/v2/models/m/infer", OIP))
        assert c.response()[0] == 200
    finally:
        c.close()


class _Transport(asyncio.Transport):
    """An in-memory transport: what the protocol writes, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 1), "peername": ("127.0.0.1", 2)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_a_client_that_stopped_reading_is_answered_the_stock_way(
    server: tuple[int, _Counting, Any], front: _Counting
) -> None:
    # While the transport is paused for writing (the client reads no answers), a new
    # inference request goes the stock way, which waits for the drain before sending.
    from uvicorn.server import ServerState

    async def go() -> bytes:
        config = uvicorn.Config(server[2], http=GatewayHttpProtocol, log_level="critical")
        config.load()
        protocol = GatewayHttpProtocol(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(_request("/v2/models/m/infer", OIP, x_request_id="a"))
        assert front.direct_calls == 1 and front.asgi_calls == 0
        protocol.pause_writing()
        protocol.data_received(_request("/v2/models/m/infer", OIP, x_request_id="b"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert front.asgi_calls == 1
        assert transport.written.count(b"HTTP/1.1 200") == 1  # "b" waits for the drain
        protocol.resume_writing()
        for _ in range(50):
            await asyncio.sleep(0)
        return transport.written

    written = asyncio.run(go())
    assert written.count(b"HTTP/1.1 200") == 2
    assert written.index(b"x-request-id: a") < written.index(b"x-request-id: b")
