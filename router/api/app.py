"""The gateway's HTTP app: Open Inference Protocol v2, MLflow scoring, metrics, control API.

The inference routes are plain Starlette endpoints (no FastAPI parameter parsing, no
pydantic on the hot path): the body is read as bytes, decoded by router.api.codec
against the served version's signature, run, and encoded with orjson.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from router.api import control, rollouts
from router.api.codec import (
    ProtocolError,
    decode_infer_request,
    decode_invocations,
    encode_error,
    encode_error_mlflow,
    encode_infer_response,
    encode_predictions,
    model_metadata,
    server_metadata,
)
from router.api.context import GatewayContext
from router.inference import InputMismatchError
from router.serving.errors import ServingError, UnknownModel, UnknownVersion
from router.serving.gateway import (
    REQUEST_ID_HEADER,
    VERSION_HEADER,
    ModelFailed,
    ModelTimedOut,
    Target,
    new_request_id,
)
from router.telemetry import render

JSON = "application/json"
PLATFORM = "onnxruntime_onnx"


def create_app(ctx: GatewayContext, *, lifespan: Any = None) -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="turnout gateway",
        version=ctx.server_version,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.ctx = ctx
    oip = _OipRoutes(ctx)
    scoring = _ScoringRoutes(ctx)
    routes = [
        Route("/v2/health/live", oip.live, methods=["GET"]),
        Route("/v2/health/ready", oip.ready, methods=["GET"]),
        Route("/v2", oip.server, methods=["GET"]),
        Route("/v2/models/{model}", oip.metadata, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}", oip.metadata, methods=["GET"]),
        Route("/v2/models/{model}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", oip.infer, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}/infer", oip.infer, methods=["POST"]),
        Route("/invocations", scoring.invocations, methods=["POST"]),
        Route("/models/{model}/invocations", scoring.invocations, methods=["POST"]),
        Route("/ping", scoring.ping, methods=["GET"]),
        Route("/health", scoring.ping, methods=["GET"]),
        Route("/version", scoring.version, methods=["GET"]),
        Route("/metrics", _metrics(ctx), methods=["GET"]),
    ]
    app.router.routes.extend(routes)
    app.include_router(control.router(ctx), prefix="/api/v1")
    app.include_router(
        rollouts.router(ctx, control.json_response, control.json_body), prefix="/api/v1"
    )
    control.install_problem_handlers(app)
    return app


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(413, f"request body of {declared} bytes is over the {limit}-byte limit")
    body = await request.body()
    if len(body) > limit:
        raise ProtocolError(413, f"request body is over the {limit}-byte limit")
    return body


def _headers(target: Target | None, request_id: str) -> dict[str, str]:
    headers = {REQUEST_ID_HEADER: request_id}
    if target is not None:
        headers[VERSION_HEADER] = target.primary.version
    return headers


def _answer(
    ctx: GatewayContext,
    target: Target,
    payload: bytes,
    feeds: Any,
    outputs: Any,
    request_id: str,
) -> Response:
    """The primary's answer; the shadow copy (if any) runs after it has been sent."""
    background = None
    if target.shadow is not None and ctx.gateway.try_shadow():
        background = BackgroundTask(
            ctx.gateway.run_shadow,
            target.shadow,
            feeds,
            outputs,
            primary_version=target.primary.version,
            request_id=request_id,
        )
    return Response(
        payload, media_type=JSON, headers=_headers(target, request_id), background=background
    )


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


class _OipRoutes:
    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    async def live(self, request: Request) -> Response:
        return _json({"live": True})

    async def ready(self, request: Request) -> Response:
        status = self.ctx.watcher.status
        doc = {
            "ready": status.started,
            "models": self.ctx.gateway.served_models(),
            "policy": status.to_dict(time.monotonic()),
        }
        return _json(doc, 200 if status.started else 503)

    async def server(self, request: Request) -> Response:
        return _json(server_metadata("turnout", self.ctx.server_version, []))

    async def metadata(self, request: Request) -> Response:
        model = request.path_params["model"]
        version = request.path_params.get("version")
        try:
            versions = self.ctx.gateway.served_versions(model)
            target = self.ctx.gateway.route(model, version, {}, {}) if version else None
            loaded = target.primary if target else self._main_version(model)
        except ServingError as exc:
            return _json({"error": str(exc)}, 404)
        return _json(model_metadata(model, versions, PLATFORM, loaded.signature))

    def _main_version(self, model: str) -> Any:
        compiled = self.ctx.gateway.table.get(model)
        assert compiled is not None  # served_versions() checked it
        heaviest = max(compiled.policy.routes, key=lambda r: r.weight)
        loaded = self.ctx.gateway.pool.get(model, heaviest.version)
        if loaded is None:
            raise UnknownVersion(f"version {heaviest.version} of '{model}' is not loaded yet")
        return loaded

    async def model_ready(self, request: Request) -> Response:
        model = request.path_params["model"]
        version = request.path_params.get("version")
        try:
            if version is None:
                self.ctx.gateway.served_versions(model)
                self._main_version(model)
            else:
                self.ctx.gateway.route(model, version, {}, {})
        except ServingError as exc:
            return _json({"error": str(exc)}, 404)
        return _json({"name": model, "ready": True})

    async def infer(self, request: Request) -> Response:
        started = time.perf_counter()
        ctx = self.ctx
        model = request.path_params["model"]
        request_id = request.headers.get(REQUEST_ID_HEADER) or new_request_id()
        target: Target | None = None
        try:
            body = await _read_body(request, ctx.max_body_bytes)
            target = ctx.gateway.route(
                model,
                request.path_params.get("version"),
                request.headers,
                request.cookies,
                _body_doc(ctx, model, body),
            )
            loaded = target.primary
            try:
                decoded = decode_infer_request(body, loaded.signature)
            except ProtocolError:
                ctx.gateway.record_client_error(loaded, started)
                raise
            if REQUEST_ID_HEADER not in request.headers and decoded.id:
                request_id = decoded.id
            requested = list(decoded.requested_outputs) if decoded.requested_outputs else None
            outputs = ctx.gateway.run(
                loaded,
                decoded.feeds,
                request_id=request_id,
                rows=decoded.rows,
                started=started,
            )
            payload = encode_infer_response(
                model_name=model,
                model_version=loaded.version,
                request_id=decoded.id or request_id,
                outputs=outputs,
                signature=loaded.signature,
                requested=requested,
            )
        except ProtocolError as exc:
            return Response(
                encode_error(exc.message),
                exc.status,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except InputMismatchError as exc:
            return Response(
                encode_error(str(exc)), 400, media_type=JSON, headers=_headers(target, request_id)
            )
        except (UnknownModel, UnknownVersion) as exc:
            return Response(
                encode_error(str(exc)), 404, media_type=JSON, headers=_headers(target, request_id)
            )
        except ModelTimedOut as exc:
            return Response(
                encode_error(str(exc)),
                504,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except ModelFailed as exc:
            return Response(
                encode_error(f"model failed: {exc}"),
                500,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        return _answer(ctx, target, payload, decoded.feeds, outputs, request_id)


class _ScoringRoutes:
    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    async def ping(self, request: Request) -> Response:
        return Response("\n", media_type=JSON)

    async def version(self, request: Request) -> Response:
        return Response(self.ctx.server_version, media_type="text/plain")

    def _model(self, request: Request) -> str:
        model = request.path_params.get("model")
        if model is not None:
            return str(model)
        if self.ctx.default_model:
            return self.ctx.default_model
        served = self.ctx.gateway.served_models()
        if len(served) == 1:
            return served[0]
        raise UnknownModel(
            "POST /invocations needs exactly one served model or --default-model; "
            f"served: {', '.join(served) or 'none'}; use /models/<name>/invocations"
        )

    async def invocations(self, request: Request) -> Response:
        started = time.perf_counter()
        ctx = self.ctx
        request_id = request.headers.get(REQUEST_ID_HEADER) or new_request_id()
        target: Target | None = None
        try:
            model = self._model(request)
            body = await _read_body(request, ctx.max_body_bytes)
            target = ctx.gateway.route(
                model, None, request.headers, request.cookies, _body_doc(ctx, model, body)
            )
            loaded = target.primary
            try:
                decoded = decode_invocations(
                    body, request.headers.get("content-type"), loaded.signature
                )
            except ProtocolError:
                ctx.gateway.record_client_error(loaded, started)
                raise
            outputs = ctx.gateway.run(
                loaded, decoded.feeds, request_id=request_id, rows=decoded.rows, started=started
            )
            payload = encode_predictions(outputs, frame=decoded.frame)
        except ProtocolError as exc:
            code = "BAD_REQUEST" if exc.status < 500 else "INTERNAL_ERROR"
            return Response(
                encode_error_mlflow(exc.message, code),
                exc.status,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except InputMismatchError as exc:
            return Response(
                encode_error_mlflow(str(exc), "BAD_REQUEST"),
                400,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except (UnknownModel, UnknownVersion) as exc:
            return Response(
                encode_error_mlflow(str(exc), "RESOURCE_DOES_NOT_EXIST"),
                404,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except ModelTimedOut as exc:
            return Response(
                encode_error_mlflow(str(exc), "DEADLINE_EXCEEDED"),
                504,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        except ModelFailed as exc:
            return Response(
                encode_error_mlflow(f"model failed: {exc}", "INTERNAL_ERROR"),
                500,
                media_type=JSON,
                headers=_headers(target, request_id),
            )
        return _answer(ctx, target, payload, decoded.feeds, outputs, request_id)


def _metrics(ctx: GatewayContext) -> Callable[[Request], Any]:
    async def metrics(request: Request) -> Response:
        text = render(ctx.gateway.recorder, gauges=ctx.gauges())
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return metrics
