"""The gateway's HTTP app: Open Inference Protocol v2, MLflow scoring, metrics, control API.

The four inference routes are answered by router.api.front before Starlette's router
and middleware (see there why); the app's Starlette routes for the same paths call the
same handlers. Everything else is a plain Starlette or FastAPI route.
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
from starlette.types import Receive, Scope, Send

from router.api import alerts, control, drift, rollouts
from router.api.codec import model_metadata, server_metadata
from router.api.context import GatewayContext
from router.api.front import (
    InferenceFront,
    Reply,
    match_inference_path,
    read_body,
)
from router.serving.errors import ServingError, UnknownVersion
from router.telemetry import render

JSON = "application/json"
PLATFORM = "onnxruntime_onnx"


class GatewayApp(FastAPI):
    """The FastAPI app, with the inference routes answered by ``front`` ahead of it."""

    front: InferenceFront

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            matched = match_inference_path(scope["path"])
            if matched is not None:
                await self.front(scope, receive, send, matched)
                return
        await super().__call__(scope, receive, send)


def create_app(ctx: GatewayContext, *, lifespan: Any = None) -> FastAPI:
    app = GatewayApp(
        lifespan=lifespan,
        title="turnout gateway",
        version=ctx.server_version,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.front = InferenceFront(ctx)
    oip = _OipRoutes(ctx)
    scoring = _ScoringRoutes(ctx)
    inference = _InferenceRoutes(app.front, ctx.max_body_bytes)
    routes = [
        Route("/v2/health/live", oip.live, methods=["GET"]),
        Route("/v2/health/ready", oip.ready, methods=["GET"]),
        Route("/v2", oip.server, methods=["GET"]),
        Route("/v2/models/{model}", oip.metadata, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}", oip.metadata, methods=["GET"]),
        Route("/v2/models/{model}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", inference.infer, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}/infer", inference.infer, methods=["POST"]),
        Route("/invocations", inference.invocations, methods=["POST"]),
        Route("/models/{model}/invocations", inference.invocations, methods=["POST"]),
        Route("/ping", scoring.ping, methods=["GET"]),
        Route("/health", scoring.ping, methods=["GET"]),
        Route("/version", scoring.version, methods=["GET"]),
        Route("/metrics", _metrics(ctx), methods=["GET"]),
    ]
    app.router.routes.extend(routes)
    app.include_router(control.router(ctx), prefix="/api/v1")
    for module in (rollouts, alerts, drift):
        app.include_router(
            module.router(ctx, control.json_response, control.json_body), prefix="/api/v1"
        )
    if ctx.reports_dir is not None:
        app.include_router(drift.page_router(ctx, ctx.reports_dir))
    control.install_problem_handlers(app)
    return app


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


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


class _ScoringRoutes:
    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    async def ping(self, request: Request) -> Response:
        return Response("\n", media_type=JSON)

    async def version(self, request: Request) -> Response:
        return Response(self.ctx.server_version, media_type="text/plain")


def _metrics(ctx: GatewayContext) -> Callable[[Request], Any]:
    async def metrics(request: Request) -> Response:
        text = render(ctx.gateway.recorder, gauges=ctx.gauges())
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return metrics


class _InferenceRoutes:
    """The inference handlers behind Starlette routes (reached when the front is not)."""

    def __init__(self, front: InferenceFront, limit: int) -> None:
        self.front = front
        self.limit = limit

    def _reader(self, request: Request) -> Callable[[], Any]:
        async def read() -> bytes:
            declared = request.headers.get("content-length")
            return await read_body(request.receive, declared, self.limit)

        return read

    async def infer(self, request: Request) -> Response:
        reply = await self.front.infer(
            request.path_params["model"],
            request.path_params.get("version"),
            request.headers,
            request.cookies,
            self._reader(request),
        )
        return _response(reply)

    async def invocations(self, request: Request) -> Response:
        reply = await self.front.invocations(
            request.path_params.get("model"),
            request.headers,
            request.cookies,
            self._reader(request),
        )
        return _response(reply)


def _response(reply: Reply) -> Response:
    background = None if reply.shadow is None else BackgroundTask(reply.shadow)
    response = Response(reply.body, reply.status, media_type=JSON, background=background)
    own = (b"content-type", b"content-length")  # Response sets both itself
    response.raw_headers.extend(h for h in reply.raw_headers() if h[0] not in own)
    return response
