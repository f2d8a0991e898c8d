"""Control API for alerts (under /api/v1): list, show, acknowledge.

Reads are open like the other control reads; acknowledging needs an operator token,
whose name is recorded as who acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from monitors.alerts import AlertNotFound, ack_alert, get_alert, list_alerts
from router.access import TokenInfo
from router.api.auth import require
from router.api.context import GatewayContext

OPERATOR = require("operator")
Operator = Annotated[TokenInfo, Depends(OPERATOR)]
_PROBLEM = "application/problem+json"


def _problem(status: int, title: str, detail: str, request: Request) -> Response:
    doc = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return Response(orjson.dumps(doc), status_code=status, media_type=_PROBLEM)


def router(
    ctx: GatewayContext,
    json_response: Callable[..., Response],
    json_body: Callable[[Request], Awaitable[Any]],
) -> APIRouter:
    api = APIRouter()

    @api.get("/alerts")
    async def alerts(
        request: Request,
        model: str | None = None,
        status: Literal["open", "acked"] | None = None,
        kind: str | None = None,
        severity: str | None = Query(None, description="At least this severity."),
        limit: int = Query(50, ge=1, le=1000),
    ) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                found = list_alerts(
                    s, model=model, status=status, kind=kind, min_severity=severity, limit=limit
                )
                return [a.to_dict() for a in found]

        try:
            return json_response(await run_in_threadpool(read))
        except ValueError as exc:  # an unknown kind or severity
            return _problem(422, "Invalid request", str(exc), request)

    @api.get("/alerts/{alert_id}")
    async def alert(alert_id: str, request: Request) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return get_alert(s, alert_id).to_dict()

        try:
            return json_response(await run_in_threadpool(read))
        except AlertNotFound as exc:
            return _problem(404, "Unknown alert", str(exc), request)

    @api.post("/alerts/{alert_id}/ack")
    async def ack(alert_id: str, request: Request, who: Operator) -> Response:
        def store() -> Any:
            with ctx.sessions.begin() as s:
                return ack_alert(s, alert_id, who.name).to_dict()

        try:
            return json_response(await run_in_threadpool(store))
        except AlertNotFound as exc:
            return _problem(404, "Unknown alert", str(exc), request)

    return api
