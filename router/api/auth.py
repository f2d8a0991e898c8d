"""Token checks for the control API: a FastAPI dependency per role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from router.access import TokenInfo, authenticate


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require(role: str) -> Callable[[Request], Awaitable[TokenInfo]]:
    """A dependency: the caller's token must allow ROLE (AccessDenied -> 401/403)."""

    async def dependency(request: Request) -> TokenInfo:
        ctx = request.app.state.ctx
        token = bearer(request)

        def check() -> TokenInfo:
            with ctx.sessions.begin() as session:
                return authenticate(session, token, role)

        return await run_in_threadpool(check)

    return dependency
