"""Control API for rollouts, aliases and the audit log (under /api/v1)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from migrations.models import Event
from router.access import TokenInfo
from router.api.auth import require
from router.api.context import GatewayContext
from router.controller.store import decisions, get_rollout, list_rollouts, rollout_document

OPERATOR = require("operator")
Operator = Annotated[TokenInfo, Depends(OPERATOR)]


def router(
    ctx: GatewayContext,
    json_response: Callable[..., Response],
    json_body: Callable[[Request], Awaitable[Any]],
) -> APIRouter:
    api = APIRouter()

    def rollout_doc(row: Any) -> dict[str, Any]:
        return rollout_document(row, now=time.time())

    @api.get("/rollouts")
    async def rollouts(model: str | None = None, limit: int = Query(50, ge=1, le=500)) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return [rollout_doc(r) for r in list_rollouts(s, model=model, limit=limit)]

        return json_response(await run_in_threadpool(read))

    @api.get("/rollouts/{rollout_id}")
    async def rollout(rollout_id: int) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                return rollout_doc(get_rollout(s, rollout_id))

        return json_response(await run_in_threadpool(read))

    @api.get("/rollouts/{rollout_id}/decisions")
    async def rollout_decisions(
        rollout_id: int, limit: int = Query(200, ge=1, le=5000)
    ) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                get_rollout(s, rollout_id)
                return [
                    {
                        "at": d.at.isoformat(),
                        "step_index": d.step_index,
                        "phase_before": d.phase_before,
                        "phase_after": d.phase_after,
                        "verdict": d.verdict,
                        "reason": d.reason,
                        "evidence": d.measurements,
                    }
                    for d in decisions(s, rollout_id, limit=limit)
                ]

        return json_response(await run_in_threadpool(read))

    @api.post("/rollouts")
    async def start(request: Request, who: Operator) -> Response:
        doc = await json_body(request)
        rollout_id, spec = await run_in_threadpool(ctx.ops.start, doc, actor=who.name)
        return json_response({"id": rollout_id, "spec": spec.to_dict()}, 201)

    @api.post("/rollouts/{rollout_id}/{command}")
    async def command(rollout_id: int, command: str, request: Request, who: Operator) -> Response:
        body = await request.body()
        reason = ""
        if body.strip():
            doc = await json_body(request)
            reason = str(doc.get("reason", "")) if isinstance(doc, dict) else ""
        result = await run_in_threadpool(
            ctx.ops.command, rollout_id, command.replace("-", "_"), actor=who.name, reason=reason
        )
        return json_response(
            {
                "id": rollout_id,
                "phase_before": result.phase_before,
                "phase": result.phase_after,
                "done": result.done,
            }
        )

    @api.post("/models/{model}/promote")
    async def promote(model: str, request: Request, who: Operator) -> Response:
        doc = await json_body(request)
        if not isinstance(doc, dict) or "version" not in doc:
            from router.api.control import BadBody

            raise BadBody('the body must be {"version": "...", "reason"?: "..."}')
        change = await run_in_threadpool(
            ctx.ops.promote, model, str(doc["version"]), actor=who.name, reason=doc.get("reason")
        )
        return json_response(change.to_dict())

    @api.post("/models/{model}/rollback")
    async def rollback(model: str, request: Request, who: Operator) -> Response:
        body = await request.body()
        doc = await json_body(request) if body.strip() else {}
        reason = doc.get("reason") if isinstance(doc, dict) else None
        change = await run_in_threadpool(ctx.ops.rollback, model, actor=who.name, reason=reason)
        return json_response(change.to_dict())

    @api.get("/models/{model}/events")
    async def events(model: str, limit: int = Query(200, ge=1, le=5000)) -> Response:
        def read() -> Any:
            with ctx.sessions() as s:
                rows = s.scalars(
                    select(Event)
                    .where(Event.model_name == model)
                    .order_by(Event.id.desc())
                    .limit(limit)
                ).all()
                return [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "kind": e.kind,
                        "actor": e.actor,
                        "reason": e.reason,
                        "alias": e.alias,
                        "from_version": e.from_version,
                        "to_version": e.to_version,
                        "rollout_id": e.rollout_id,
                        "payload": e.payload,
                    }
                    for e in reversed(rows)
                ]

        return json_response(await run_in_threadpool(read))

    return api
