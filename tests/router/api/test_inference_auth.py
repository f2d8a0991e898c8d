"""TURNOUT_INFERENCE_AUTH: the inference routes need a live token of any role."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from router.access import create_token, revoke_token
from router.access.cache import TokenCache
from router.api.app import create_app
from router.api.context import GatewayContext
from router.serving.gateway import Gateway
from tests.router.api.test_front import OIP, gateway  # noqa: F401  (the fixture)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _post(app: FastAPI, path: str, body: bytes, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(go())


def test_inference_needs_a_live_token_when_asked(
    gateway: Gateway,  # noqa: F811
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        reader = create_token(s, "reader", "viewer")
    clock = Clock()
    ctx = GatewayContext(
        gateway=gateway,
        watcher=None,  # type: ignore[arg-type]
        flusher=None,  # type: ignore[arg-type]
        sessions=sessions,
        registry=None,
        server_version="0",
        inference_tokens=TokenCache(sessions, ttl_s=5, clock=clock),
    )
    app = create_app(ctx)
    body = orjson.dumps(OIP)
    oip = "/v2/models/m/infer"
    assert _post(app, oip, body, authorization=f"Bearer {reader}").status_code == 200
    refused = _post(app, oip, body)
    assert refused.status_code == 401 and "needs a token" in refused.json()["error"]
    assert _post(app, oip, body, authorization="Bearer nope").status_code == 401
    scoring = _post(
        app,
        "/models/m/invocations",
        orjson.dumps({"inputs": [OIP["inputs"][0]["data"]]}),  # type: ignore[index]
        **{"content-type": "application/json"},
    )
    assert scoring.status_code == 401 and scoring.json()["error_code"] == "UNAUTHENTICATED"
    # A revoked token keeps working until the cache is re-read (ttl_s), then not.
    with sessions.begin() as s:
        revoke_token(s, "reader")
    assert _post(app, oip, body, authorization=f"Bearer {reader}").status_code == 200
    clock.now += 6
    assert _post(app, oip, body, authorization=f"Bearer {reader}").status_code == 401


def test_without_a_readable_token_table_everything_is_refused() -> None:
    class Broken:
        def __call__(self) -> Session:
            raise ConnectionError("control DB down")

    cache = TokenCache(Broken())  # type: ignore[arg-type]
    assert cache.check("Bearer tt_x") == (
        "tokens cannot be checked now (the control DB is unreachable)"
    )
