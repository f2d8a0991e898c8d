"""Control API for alerts (under /api/v1): list, show, acknowledge.

Reads are open like the other control reads; acknowledging needs an operator token,
whose name is recorded as who acknowledged. Errors become problem documents in
`control.install_problem_handlers`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from monitors.alerts import ack_alert, get_alert, list_alerts
from router.access import TokenInfo
from router.api.auth import require
from router.api.context import GatewayContext

OPERATOR = require("operator")
Operator = Annotated[TokenInfo, Depends(OPERATOR)]


def router(
    ctx: GatewayContext,
    json_response: Callable[..., Response],
    json_body: Callable[[Request], Awaitable[Any]],
) -> APIRouter:
    api = APIRouter()

    @api.get("/alerts")
    async def alerts(
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

        return json_response(await run_in_threadpool(read))

    @api.get("/alerts/{alert_id}")
    async def alert(alert_id: str) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return get_alert(s, alert_id).to_dict()

        return json_response(await run_in_threadpool(read))

    @api.post("/alerts/{alert_id}/ack")
    async def ack(alert_id: str, who: Operator) -> Response:
        def store() -> Any:
            with ctx.sessions.begin() as s:
                return ack_alert(s, alert_id, who.name).to_dict()

        return json_response(await run_in_threadpool(store))

    return api
