"""The inference routes, answered as raw ASGI before Starlette's router and middleware.

On a one-row request Starlette's routing, request objects and middleware stack cost
more than the model, the codec and telemetry together, so `POST /v2/models/{m}/infer`,
`POST /v2/models/{m}/versions/{v}/infer`, `POST /invocations` and
`POST /models/{m}/invocations` are matched here by hand, their body read from the
ASGI `receive` channel and their answer sent as two ASGI messages. Every other
request goes to the FastAPI app unchanged. The same handlers also back the app's
Starlette routes for those paths, so both ways in answer alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from router.api.codec import (
    ProtocolError,
    decode_infer_request,
    decode_invocations,
    encode_error,
    encode_error_mlflow,
    encode_infer_response,
    encode_predictions,
)
from router.api.context import GatewayContext
from router.inference import InputMismatchError
from router.serving.errors import UnknownModel, UnknownVersion
from router.serving.gateway import (
    REQUEST_ID_HEADER,
    VERSION_HEADER,
    ModelFailed,
    ModelTimedOut,
    Target,
    new_request_id,
)

__all__ = ["InferenceFront", "Reply", "header_value", "match_inference_path", "read_body"]

_log = logging.getLogger(__name__)

BodyReader = Callable[[], Awaitable[bytes]]

_OIP = "oip"
_SCORING = "scoring"
_JSON_TYPE = (b"content-type", b"application/json")
_REQUEST_ID = REQUEST_ID_HEADER.encode()
_VERSION = VERSION_HEADER.encode()
# Header-safe characters a request id may keep when it has to be escaped.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


@dataclass(slots=True)
class Reply:
    """An inference answer: status, body, the headers' values, and the shadow copy."""

    status: int
    body: bytes
    request_id: str
    version: str | None
    shadow: Callable[[], None] | None = None  # run after the answer has been sent

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            _JSON_TYPE,
            (b"content-length", str(len(self.body)).encode()),
            (_REQUEST_ID, header_value(self.request_id)),
        ]
        if self.version is not None:
            headers.append((_VERSION, header_value(self.version)))
        return headers


class _Disconnected(Exception):
    """The client went away before its body was read: nothing to answer."""


def match_inference_path(path: str) -> tuple[str, str | None, str | None] | None:
    """(protocol, model, version) for an inference path, else None.

    Segments follow Starlette's `{param}` rule: non-empty and without "/".
    """
    if path == "/invocations":
        return _SCORING, None, None
    if path.startswith("/v2/models/"):
        parts = path[11:].split("/")
        if len(parts) == 2 and parts[1] == "infer" and parts[0]:
            return _OIP, parts[0], None
        if len(parts) == 4 and parts[1] == "versions" and parts[3] == "infer":
            if parts[0] and parts[2]:
                return _OIP, parts[0], parts[2]
        return None
    if path.startswith("/models/") and path.endswith("/invocations"):
        model = path[8:-12]
        if model and "/" not in model:
            return _SCORING, model, None
    return None


class InferenceFront:
    """The four inference routes of one gateway process (see the module docstring)."""

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        matched: tuple[str, str | None, str | None],
    ) -> None:
        protocol, model, version = matched
        raw = scope["headers"]
        headers = _header_dict(raw)
        cookies = _LazyCookies(raw)
        limit = self.ctx.max_body_bytes

        async def read() -> bytes:
            return await read_body(receive, headers.get("content-length"), limit)

        try:
            if protocol == _OIP:
                assert model is not None
                reply = await self.infer(model, version, headers, cookies, read)
            else:
                reply = await self.invocations(model, headers, cookies, read)
        except _Disconnected:
            return
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": reply.raw_headers()}
        )
        await send({"type": "http.response.body", "body": reply.body})
        if reply.shadow is not None:
            await run_in_threadpool(reply.shadow)

    # -- the protocols ------------------------------------------------------------------

    async def infer(
        self,
        model: str,
        version: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        read: BodyReader,
    ) -> Reply:
        """`POST /v2/models/{model}[/versions/{version}]/infer`, body read from ``read``."""
        started = time.perf_counter()
        body, unreadable = await _read_or_refuse(read)
        return self.answer_infer(model, version, headers, cookies, body, started, unreadable)

    async def invocations(
        self,
        model: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        read: BodyReader,
    ) -> Reply:
        """`POST /invocations` and `POST /models/{model}/invocations`, body from ``read``."""
        started = time.perf_counter()
        body, unreadable = await _read_or_refuse(read)
        return self.answer_invocations(model, headers, cookies, body, started, unreadable)

    def answer_infer(
        self,
        model: str,
        version: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        body: bytes,
        started: float,
        unreadable: ProtocolError | None = None,
    ) -> Reply:
        """The answer to an OIP infer request whose whole body is ``body``.

        ``unreadable`` is why the body could not be taken (over the size limit); it is
        answered after the token check, like any other protocol error.
        """
        ctx = self.ctx
        gateway = ctx.gateway
        request_id = headers.get(REQUEST_ID_HEADER) or new_request_id()
        target: Target | None = None
        refused = _refusal(ctx, headers)
        if refused is not None:
            return _error(encode_error(refused), 401, None, request_id)
        try:
            if unreadable is not None:
                raise unreadable
            target = gateway.route(model, version, headers, cookies, _body_doc(ctx, model, body))
            loaded = target.primary
            try:
                decoded = decode_infer_request(body, loaded.signature)
            except ProtocolError:
                gateway.record_client_error(loaded, started)
                raise
            if decoded.id and REQUEST_ID_HEADER not in headers:
                request_id = decoded.id
            requested = decoded.requested_outputs
            outputs = gateway.run(
                loaded, decoded.feeds, request_id=request_id, rows=decoded.rows, started=started
            )
            payload = encode_infer_response(
                model_name=model,
                model_version=loaded.version,
                request_id=decoded.id or request_id,
                outputs=outputs,
                signature=loaded.signature,
                requested=list(requested) if requested else None,
            )
        except ProtocolError as exc:
            return _error(encode_error(exc.message), exc.status, target, request_id)
        except InputMismatchError as exc:
            return _error(encode_error(str(exc)), 400, target, request_id)
        except (UnknownModel, UnknownVersion) as exc:
            return _error(encode_error(str(exc)), 404, target, request_id)
        except ModelTimedOut as exc:
            return _error(encode_error(str(exc)), 504, target, request_id)
        except ModelFailed as exc:
            return _error(encode_error(f"model failed: {exc}"), 500, target, request_id)
        return _answer(ctx, target, payload, decoded.feeds, outputs, request_id)

    def answer_invocations(
        self,
        model: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        body: bytes,
        started: float,
        unreadable: ProtocolError | None = None,
    ) -> Reply:
        """The answer to an MLflow scoring request whose whole body is ``body``."""
        ctx = self.ctx
        gateway = ctx.gateway
        request_id = headers.get(REQUEST_ID_HEADER) or new_request_id()
        target: Target | None = None
        refused = _refusal(ctx, headers)
        if refused is not None:
            return _error(encode_error_mlflow(refused, "UNAUTHENTICATED"), 401, None, request_id)
        try:
            if unreadable is not None:
                raise unreadable
            name = model if model is not None else self._default_model()
            target = gateway.route(name, None, headers, cookies, _body_doc(ctx, name, body))
            loaded = target.primary
            try:
                decoded = decode_invocations(body, headers.get("content-type"), loaded.signature)
            except ProtocolError:
                gateway.record_client_error(loaded, started)
                raise
            outputs = gateway.run(
                loaded, decoded.feeds, request_id=request_id, rows=decoded.rows, started=started
            )
            payload = encode_predictions(outputs, frame=decoded.frame)
        except ProtocolError as exc:
            code = "BAD_REQUEST" if exc.status < 500 else "INTERNAL_ERROR"
            return _error(encode_error_mlflow(exc.message, code), exc.status, target, request_id)
        except InputMismatchError as exc:
            return _error(encode_error_mlflow(str(exc), "BAD_REQUEST"), 400, target, request_id)
        except (UnknownModel, UnknownVersion) as exc:
            body = encode_error_mlflow(str(exc), "RESOURCE_DOES_NOT_EXIST")
            return _error(body, 404, target, request_id)
        except ModelTimedOut as exc:
            body = encode_error_mlflow(str(exc), "DEADLINE_EXCEEDED")
            return _error(body, 504, target, request_id)
        except ModelFailed as exc:
            body = encode_error_mlflow(f"model failed: {exc}", "INTERNAL_ERROR")
            return _error(body, 500, target, request_id)
        return _answer(ctx, target, payload, decoded.feeds, outputs, request_id)

    def _default_model(self) -> str:
        if self.ctx.default_model:
            return self.ctx.default_model
        served = self.ctx.gateway.served_models()
        if len(served) == 1:
            return served[0]
        raise UnknownModel(
            "POST /invocations needs exactly one served model or --default-model; "
            f"served: {', '.join(served) or 'none'}; use /models/<name>/invocations"
        )


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole request body; 413 (before reading) when it is over ``limit`` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(413, f"request body of {declared} bytes is over the {limit}-byte limit")
    message = await receive()
    if message["type"] != "http.request":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise ProtocolError(413, f"request body is over the {limit}-byte limit")
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ProtocolError(413, f"request body is over the {limit}-byte limit")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _read_or_refuse(read: BodyReader) -> tuple[bytes, ProtocolError | None]:
    # _Disconnected passes through: nobody is left to answer.
    try:
        return await read(), None
    except ProtocolError as exc:
        return b"", exc


def header_value(text: str) -> bytes:
    """``text`` as a response header value; escaped when it is not printable ASCII."""
    if text.isascii() and text.isprintable():
        return text.encode("ascii")
    return quote(text, safe=_SAFE).encode("ascii")


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    # Lower-case names (as ASGI gives them); the first of repeated headers wins, as
    # with Starlette's Headers.get.
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        if key not in headers:
            headers[key] = value.decode("latin-1")
    return headers


class _LazyCookies(Mapping[str, str]):
    """The request's cookies, parsed only if a routing rule reads one."""

    __slots__ = ("_parsed", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._parsed: dict[str, str] | None = None

    def _cookies(self) -> dict[str, str]:
        if self._parsed is None:
            parsed: dict[str, str] = {}
            for name, value in self._raw:
                if name == b"cookie":
                    parsed.update(cookie_parser(value.decode("latin-1")))
            self._parsed = parsed
        return self._parsed

    def __getitem__(self, key: str) -> str:
        return self._cookies()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cookies())

    def __len__(self) -> int:
        return len(self._cookies())


def _body_doc(ctx: GatewayContext, model: str, body: bytes) -> dict[str, Any] | None:
    # Parsed only when the model's policy takes its routing key from a JSON field.
    compiled = ctx.gateway.table.get(model)
    if compiled is None or not compiled.policy.sticky.json_field:
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def _refusal(ctx: GatewayContext, headers: Mapping[str, str]) -> str | None:
    """Why the request is refused for want of a token (TURNOUT_INFERENCE_AUTH), or None."""
    tokens = ctx.inference_tokens
    return None if tokens is None else tokens.check(headers.get("authorization"))


def _error(body: bytes, status: int, target: Target | None, request_id: str) -> Reply:
    return Reply(status, body, request_id, None if target is None else target.primary.version)


def _answer(
    ctx: GatewayContext,
    target: Target,
    payload: bytes,
    feeds: Any,
    outputs: Any,
    request_id: str,
) -> Reply:
    """The primary's answer; the shadow copy (if any) runs after it has been sent."""
    shadow: Callable[[], None] | None = None
    if target.shadow is not None and ctx.gateway.try_shadow():
        shadow = partial(
            ctx.gateway.run_shadow,
            target.shadow,
            feeds,
            outputs,
            primary_version=target.primary.version,
            request_id=request_id,
        )
    return Reply(200, payload, request_id, target.primary.version, shadow)
