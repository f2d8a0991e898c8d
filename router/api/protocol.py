"""The gateway's HTTP/1.1 protocol: inference requests answered inside the parser.

uvicorn's httptools protocol turns every request into an ASGI scope, a task, an
``asyncio.Event`` and a pair of send messages. For a one-row inference request that
machinery costs more than the model, the codec and telemetry together. This subclass
answers the four inference routes (`POST /v2/models/{m}[/versions/{v}]/infer`,
`POST /invocations`, `POST /models/{m}/invocations`) as soon as the parser has the
whole body: the same ``InferenceFront.answer_*`` handlers the ASGI app uses compute
the reply, which is written to the transport as one buffer. No task is created, and
the event loop goes straight on to the next readable socket.

Everything else goes the stock way, unchanged: other paths and methods, a request
that expects ``100-continue``, one pipelined behind a request still in flight, one
arriving while the client has stopped reading answers (the stock way waits for the
socket to drain), a server with a root path, or an app that is not turnout's gateway.
The answers are the same either way; ``tests/router/test_protocol.py`` checks both.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from router.api.codec import ProtocolError
from router.api.front import (
    InferenceFront,
    Reply,
    _header_dict,
    _LazyCookies,
    match_inference_path,
)

__all__ = ["GatewayHttpProtocol", "find_front"]

_log = logging.getLogger(__name__)

_CLOSE = b"connection: close\r\n"
_INTERNAL_HEAD = (
    STATUS_LINE[500] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 21\r\n"
)
_INTERNAL_BODY = b"Internal Server Error"


def find_front(app: Any) -> InferenceFront | None:
    """The gateway's InferenceFront behind uvicorn's middleware wrappers, if any."""
    for _ in range(16):
        if app is None:
            return None
        front = getattr(app, "front", None)
        if isinstance(front, InferenceFront):
            return front
        app = getattr(app, "app", None)
    return None


class _Pending:
    """An inference request whose body is being read."""

    __slots__ = ("headers", "limit", "matched", "parts", "size", "too_large")

    def __init__(
        self,
        matched: tuple[str, str | None, str | None],
        headers: dict[str, str],
        limit: int,
    ) -> None:
        self.matched = matched
        self.headers = headers
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.too_large: ProtocolError | None = None
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self.too_large = ProtocolError(
                413, f"request body of {declared} bytes is over the {limit}-byte limit"
            )

    def add(self, chunk: bytes) -> None:
        if self.too_large is not None:
            return  # read and dropped: the answer is already decided
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large = ProtocolError(413, f"request body is over the {self.limit}-byte limit")
            self.parts.clear()
            return
        self.parts.append(chunk)

    def body(self) -> bytes:
        parts = self.parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the inference routes answered in place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._front: InferenceFront | None = None
        if not self.root_path:
            self._front = find_front(self.app)
        self._pending: _Pending | None = None

    # -- parser callbacks ---------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._pending = None
        front = self._front
        if front is not None and not self.expect_100_continue:
            pending = self._inference_request(front)
            if pending is not None:
                self._pending = pending
                return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        pending = self._pending
        if pending is None:
            super().on_body(body)
        else:
            pending.add(body)

    def on_message_complete(self) -> None:
        pending = self._pending
        if pending is None:
            super().on_message_complete()
            return
        self._pending = None
        self._answer(pending)

    # -- the fast way -------------------------------------------------------------------

    def _inference_request(self, front: InferenceFront) -> _Pending | None:
        parser = self.parser
        if parser.get_method() != b"POST" or parser.should_upgrade():
            return None
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.pipeline:
            return None  # keep the order of pipelined answers: queue behind the stock way
        if self.flow.write_paused:
            return None  # the client is not reading: the stock way waits for the drain
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            return None  # the stock way answers 503
        raw_path = httptools.parse_url(self.url).path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        matched = match_inference_path(path)
        if matched is None:
            return None
        return _Pending(matched, _header_dict(self.headers), front.ctx.max_body_bytes)

    def _answer(self, pending: _Pending) -> None:
        front = self._front
        assert front is not None
        started = time.perf_counter()
        protocol, model, version = pending.matched
        headers = pending.headers
        cookies = _LazyCookies(self.headers)
        keep_alive = self.parser.should_keep_alive() and self.parser.get_http_version() != "1.0"
        try:
            if protocol == "oip":
                assert model is not None
                reply = front.answer_infer(
                    model, version, headers, cookies, pending.body(), started, pending.too_large
                )
            else:
                reply = front.answer_invocations(
                    model, headers, cookies, pending.body(), started, pending.too_large
                )
        except Exception:
            _log.exception("inference request failed outside its handler")
            self._write(_INTERNAL_HEAD, _INTERNAL_BODY, keep_alive=False)
            return
        self._write(_head(reply), reply.body, keep_alive=keep_alive)
        if self.access_log:
            self._log_access(reply.status)
        if reply.shadow is not None:
            asyncio.get_running_loop().run_in_executor(None, reply.shadow)

    def _log_access(self, status: int) -> None:
        # The line uvicorn's own access log writes for a request.
        client = f"{self.client[0]}:{self.client[1]}" if self.client else ""
        version = self.parser.get_http_version()
        url = self.url.decode("latin-1")
        self.access_logger.info('%s - "POST %s HTTP/%s" %d', client, url, version, status)

    def _write(self, head: bytes, body: bytes, *, keep_alive: bool) -> None:
        """Status line and headers (``head``), uvicorn's default headers, ``body``."""
        transport = self.transport
        if transport.is_closing():
            return
        parts = [head]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        if not keep_alive:
            parts.append(_CLOSE)
        parts += (b"\r\n", body)
        transport.write(b"".join(parts))
        self.on_response_complete()
        if not keep_alive:
            transport.close()


def _head(reply: Reply) -> bytes:
    parts = [STATUS_LINE[reply.status]]
    for name, value in reply.raw_headers():
        parts += (name, b": ", value, b"\r\n")
    return b"".join(parts)
