"""Control API for drift reports (under /api/v1): what the monitor decided, window by window.

Reads only, open like the other control reads. Each report is the evaluation document
the monitor stored: per-feature statistic, thresholds and band, data quality, the
dataset verdict, prediction drift and notes (docs/drift.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from monitors.store import get_report, latest_reports
from router.api.context import GatewayContext


def router(
    ctx: GatewayContext,
    json_response: Callable[..., Response],
    json_body: Callable[[Request], Awaitable[Any]],
) -> APIRouter:
    api = APIRouter()

    @api.get("/drift/{model}/reports")
    async def reports(
        model: str,
        version: str | None = None,
        limit: int = Query(20, ge=1, le=500),
    ) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return [r.to_dict() for r in latest_reports(s, model, version, limit=limit)]

        return json_response(await run_in_threadpool(read))

    @api.get("/drift/reports/{report_id}")
    async def report(report_id: int) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return get_report(s, report_id).to_dict()

        return json_response(await run_in_threadpool(read))

    return api
