"""Control API for drift reports (under /api/v1): what the monitor decided, window by window.

Reads only, open like the other control reads. Each report is the evaluation document
the monitor stored: per-feature statistic, thresholds and band, data quality, the
dataset verdict, prediction drift and notes (docs/drift.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from monitors.store import get_report, latest_reports
from monitors.window_report import window_report
from router.api.context import GatewayContext


def router(
    ctx: GatewayContext,
    json_response: Callable[..., Response],
    json_body: Callable[[Request], Awaitable[Any]],
) -> APIRouter:
    """The JSON reads, under /api/v1."""
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


def page_router(ctx: GatewayContext, reports_dir: Path) -> APIRouter:
    """``/drift/reports/{id}/html``: the Evidently page of a window (rendered on first
    use, then cached in ``reports_dir``); the dashboard links to it."""
    api = APIRouter()

    @api.get("/drift/reports/{report_id}/html")
    async def report_page(report_id: int) -> Response:
        page = await run_in_threadpool(
            window_report, ctx.sessions, ctx.registry, report_id, reports_dir
        )
        return FileResponse(page, media_type="text/html; charset=utf-8")

    return api
