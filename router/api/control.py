"""The control API under /api/v1: routing policies, feedback labels, quality and stats.

Errors are RFC 9457 problem documents (`application/problem+json`), mapped once per
exception family in `install_problem_handlers`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from monitors.alerts.errors import AlertNotFound, InvalidAlertFilter
from monitors.report import ReportError
from monitors.store import ReportNotFound
from registry.errors import InvalidInput as RegistryInvalid
from registry.errors import NoPreviousVersion, PromotionConflict, RegistryUnavailable
from registry.errors import NotFound as RegistryNotFound
from router.access import AccessDenied, TokenError, TokenInfo
from router.analysis.errors import AnalysisError
from router.api.auth import require
from router.api.context import GatewayContext
from router.controller.errors import (
    ActiveRolloutExists,
    InvalidRollout,
    RolloutConflict,
    RolloutNotFound,
)
from router.quality import QualityError, parse_feedback, quality, record_feedback
from router.rollout.errors import RolloutError
from router.serving.errors import PolicyConflict, ServingError, UnknownModel, VersionLoadError
from router.serving.policy_check import check_policy_versions
from router.serving.policy_store import get_policy, put_policy
from router.telemetry.store import read_merged
from router.traffic import RoutingPolicy, TrafficError

PROBLEM = "application/problem+json"
OPERATOR = require("operator")
Operator = Annotated[TokenInfo, Depends(OPERATOR)]


class BadBody(Exception):
    pass


class _TooLarge(Exception):
    pass


def _require_model(ctx: GatewayContext, model: str) -> None:
    from registry.errors import NotFound

    try:
        ctx.registry.get_model(model)
    except NotFound:
        raise UnknownModel(f"no registered model named '{model}'") from None


def router(ctx: GatewayContext) -> APIRouter:
    api = APIRouter()

    @api.get("/models")
    async def list_models() -> Response:
        table = ctx.gateway.table.snapshot()
        return _json(
            [
                {
                    "model": m,
                    "revision": p.revision,
                    "versions": sorted(p.versions()),
                    "policy": p.to_dict(),
                }
                for m, p in sorted(table.items())
            ]
        )

    @api.get("/models/{model}/policy")
    async def show_policy(model: str) -> Response:
        effective = ctx.gateway.table.snapshot().get(model)

        def stored() -> Any:
            with ctx.sessions() as session:
                return get_policy(session, model)

        record = await run_in_threadpool(stored)
        if effective is None and record is None:
            raise UnknownModel(f"model '{model}' has no routing policy and is not served")
        return _json(
            {
                "model": model,
                "effective": None if effective is None else effective.to_dict(),
                "stored": None if record is None else record.to_dict(),
            }
        )

    @api.put("/models/{model}/policy")
    async def set_policy(model: str, request: Request, who: Operator) -> Response:
        doc = await _json_body(request)
        if not isinstance(doc, dict):
            raise BadBody(
                'the body must be a JSON object: a routing policy or {"mode": "champion"}'
            )
        actor = who.name
        await run_in_threadpool(_require_model, ctx, model)
        policy: RoutingPolicy | None = None
        if doc.get("mode") != "champion":
            # The model name seeds sticky hashing by default, as the CLI does, so keys
            # keep their version whichever tool writes the next revision.
            policy = RoutingPolicy.from_dict({"seed": model, **doc, "model": model})
            await run_in_threadpool(check_policy_versions, ctx.registry, policy)

        def store() -> Any:
            with ctx.sessions.begin() as session:
                return put_policy(session, model, policy, actor=actor)

        record = await run_in_threadpool(store)
        return _json(record.to_dict(), 201)

    @api.post("/feedback")
    async def feedback(request: Request, who: Operator) -> Response:
        items = parse_feedback(await _json_body(request))
        model = request.query_params.get("model")

        def store() -> Any:
            try:
                with ctx.sessions.begin() as session:
                    return record_feedback(session, items, model=model)
            except IntegrityError:  # a racing first label for the same row: once more
                with ctx.sessions.begin() as session:
                    return record_feedback(session, items, model=model)

        result = await run_in_threadpool(store)
        return _json(
            {
                "accepted": result.accepted,
                "matched": result.matched,
                "unmatched_ids": list(result.unmatched_ids),
            }
        )

    @api.get("/models/{model}/quality")
    async def model_quality(
        model: str, window_s: int = Query(86_400, ge=1, le=90 * 86_400)
    ) -> Response:
        since = datetime.now(UTC) - timedelta(seconds=window_s)

        def compute() -> Any:
            with ctx.sessions() as session:
                return quality(session, model, since=since)

        result = await run_in_threadpool(compute)
        return _json(
            {
                "model": model,
                "window_s": window_s,
                "versions": {v: _plain(q) for v, q in result.items()},
            }
        )

    @api.get("/models/{model}/stats")
    async def model_stats(model: str, window_s: int = Query(60, ge=1, le=86_400)) -> Response:
        since = datetime.now(UTC) - timedelta(seconds=window_s)

        def compute() -> Any:
            with ctx.sessions() as session:
                return read_merged(session, model, since=since)

        result = await run_in_threadpool(compute)
        return _json(
            {
                "model": model,
                "window_s": window_s,
                "versions": {v: s.summary() for v, s in result.items()},
            }
        )

    return api


def install_problem_handlers(app: FastAPI) -> None:
    def handler(status: int, title: str) -> Any:
        async def handle(request: Request, exc: Exception) -> Response:
            return _problem(status, title, _detail(exc), request)

        return handle

    app.add_exception_handler(BadBody, handler(400, "Bad request body"))
    app.add_exception_handler(_TooLarge, handler(413, "Request body too large"))
    app.add_exception_handler(TrafficError, handler(422, "Invalid routing policy"))
    app.add_exception_handler(QualityError, handler(422, "Invalid feedback"))
    app.add_exception_handler(UnknownModel, handler(404, "Unknown model"))
    app.add_exception_handler(VersionLoadError, handler(422, "Version cannot serve"))
    app.add_exception_handler(PolicyConflict, handler(409, "Conflict"))
    app.add_exception_handler(ServingError, handler(409, "Serving error"))
    app.add_exception_handler(SQLAlchemyError, handler(503, "Control DB unavailable"))
    app.add_exception_handler(TokenError, handler(422, "Invalid token request"))
    app.add_exception_handler(RolloutError, handler(422, "Invalid rollout request"))
    app.add_exception_handler(AnalysisError, handler(422, "Invalid analysis"))
    app.add_exception_handler(RolloutNotFound, handler(404, "Unknown rollout"))
    app.add_exception_handler(ActiveRolloutExists, handler(409, "Rollout already active"))
    app.add_exception_handler(RolloutConflict, handler(409, "Conflict"))
    app.add_exception_handler(InvalidRollout, handler(422, "Invalid rollout"))
    app.add_exception_handler(RegistryNotFound, handler(404, "Not found"))
    app.add_exception_handler(PromotionConflict, handler(409, "Conflict"))
    app.add_exception_handler(RegistryInvalid, handler(422, "Invalid request"))
    app.add_exception_handler(NoPreviousVersion, handler(409, "No previous version"))
    app.add_exception_handler(RegistryUnavailable, handler(503, "Registry unavailable"))
    app.add_exception_handler(ReportNotFound, handler(404, "Unknown drift report"))
    app.add_exception_handler(ReportError, handler(409, "Drift report not available"))
    app.add_exception_handler(AlertNotFound, handler(404, "Unknown alert"))
    app.add_exception_handler(InvalidAlertFilter, handler(422, "Invalid request"))

    async def denied(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status", 401)
        return _problem(
            status, "Unauthorized" if status == 401 else "Forbidden", _detail(exc), request
        )

    app.add_exception_handler(AccessDenied, denied)

    async def validation(request: Request, exc: Exception) -> Response:
        errors: list[dict[str, Any]] = list(getattr(exc, "errors", list)())
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors
        )
        return _problem(422, "Invalid request", detail or str(exc), request)

    app.add_exception_handler(RequestValidationError, validation)


async def _json_body(request: Request) -> Any:
    limit = request.app.state.ctx.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"request body of {declared} bytes is over the {limit}-byte limit")
    body = await request.body()
    if len(body) > limit:
        raise _TooLarge(f"request body is over the {limit}-byte limit")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"malformed JSON: {exc}") from None


def _problem(status: int, title: str, detail: str, request: Request) -> Response:
    doc = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return Response(orjson.dumps(doc), status_code=status, media_type=PROBLEM)


def _detail(exc: Exception) -> str:
    text = str(exc).strip()
    if isinstance(exc, SQLAlchemyError):
        return "the control DB cannot be reached or failed; try again"
    return text.splitlines()[0] if text else type(exc).__name__


def _json(doc: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(doc, default=_plain), status_code=status, media_type="application/json"
    )


def _plain(value: Any) -> Any:
    for attr in ("to_dict", "as_dict"):
        fn = getattr(value, attr, None)
        if callable(fn):
            return fn()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# Shared with router.api.rollouts.
json_response = _json
json_body = _json_body
