"""/api/v1/alerts: list and show for anyone, acknowledge with an operator token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from monitors.alerts import FeatureDrift, NewAlert, default_config, raise_alert
from router.access import create_token
from router.api import alerts, control
from tests.asgi_client import AsgiClient


@dataclass
class Api:
    client: AsgiClient
    sessions: sessionmaker[Session]
    operator: dict[str, str]
    viewer: dict[str, str]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        operator = create_token(s, "ops-oliver", "operator")
        viewer = create_token(s, "viewer-vera", "viewer")
    ctx = SimpleNamespace(sessions=sessions, max_body_bytes=1 << 20)
    app = FastAPI()
    app.state.ctx = ctx
    app.include_router(
        alerts.router(ctx, control.json_response, control.json_body),  # type: ignore[arg-type]
        prefix="/api/v1",
    )
    control.install_problem_handlers(app)
    try:
        yield Api(
            AsgiClient(app),
            sessions,
            {"authorization": f"Bearer {operator}"},
            {"authorization": f"Bearer {viewer}"},
        )
    finally:
        engine.dispose()


def raise_one(api: Api, model: str = "fraud", severity: str = "warn") -> str:
    alert = NewAlert(
        kind="drift",
        severity=severity,
        model=model,
        version="2",
        title=f"{model} drifted",
        features=(FeatureDrift("amount", "psi", 0.4, 0.1),),
    )
    with api.sessions.begin() as s:
        return raise_alert(s, default_config(), alert).alert_id


def test_list_and_show(api: Api) -> None:
    first = raise_one(api, "fraud")
    second = raise_one(api, "churn", "critical")
    r = api.client.get("/api/v1/alerts")
    assert r.status_code == 200
    assert {a["id"] for a in r.json()} == {first, second}
    r = api.client.get("/api/v1/alerts", params={"model": "fraud"})
    assert [a["id"] for a in r.json()] == [first]
    r = api.client.get("/api/v1/alerts", params={"severity": "critical"})
    assert [a["id"] for a in r.json()] == [second]
    doc = api.client.get(f"/api/v1/alerts/{first}").json()
    assert doc["title"] == "fraud drifted"
    assert doc["payload"]["features"][0]["feature"] == "amount"
    assert [(d["sink"], d["status"]) for d in doc["deliveries"]] == [("log", "pending")]


def test_errors_are_problem_documents(api: Api) -> None:
    r = api.client.get("/api/v1/alerts/deadbeef00")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "no alert with id 'deadbeef00'"
    r = api.client.get("/api/v1/alerts", params={"kind": "weather"})
    assert r.status_code == 422 and "unknown alert kind" in r.json()["detail"]
    r = api.client.get("/api/v1/alerts", params={"status": "closed"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_ack_needs_an_operator(api: Api) -> None:
    alert_id = raise_one(api)
    url = f"/api/v1/alerts/{alert_id}/ack"
    assert api.client.post(url).status_code == 401
    assert api.client.post(url, headers=api.viewer).status_code == 403
    r = api.client.post(url, headers=api.operator)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["acked_by"]) == ("acked", "ops-oliver")
    r = api.client.post("/api/v1/alerts/deadbeef00/ack", headers=api.operator)
    assert r.status_code == 404
    assert api.client.get("/api/v1/alerts", params={"status": "open"}).json() == []
