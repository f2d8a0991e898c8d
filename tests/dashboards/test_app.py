"""The dashboard app over a filled control DB: pages, feeds, links under prefixes,
and mounting into a host app without hiding its routes."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboards import DashboardMount, create_dashboard_app
from tests.asgi_client import AsgiClient
from tests.dashboards.conftest import MODEL, Filled


@pytest.fixture
def client(filled: Filled) -> AsgiClient:
    return AsgiClient(create_dashboard_app(filled.source))


PAGES = [
    "/",
    "/models",
    f"/models/{MODEL}",
    f"/models/{MODEL}/drift",
    "/rollouts",
    "/drift",
    "/alerts",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_its_landmarks(client: AsgiClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<main id="main"' in html and 'class="skip" href="#main"' in html
    assert 'aria-current="page"' in html and "prefers-color-scheme" not in html  # CSS has it
    assert re.search(r'<script defer src="/static/core\.js\?v=\d+"></script>', html)


def test_rollout_page_renders_the_document_and_loads_plotly(
    client: AsgiClient, filled: Filled
) -> None:
    html = client.get(f"/rollouts/{filled.rollout_id}").text
    assert "Progressing" in html and "v1 → v2" in html
    assert 'src="/static/vendor/plotly.min.js"' in html
    for command in ("approve", "pause", "resume", "promote", "promote-full", "abort"):
        assert f'data-command="{command}"' in html
    missing = client.get("/rollouts/9999")
    assert missing.status_code == 404 and "no rollout #9999" in missing.text.lower()


def test_feeds_answer_json(client: AsgiClient, filled: Filled) -> None:
    overview = client.get("/feeds/overview").json()
    assert [r["id"] for r in overview["active"]] == [filled.rollout_id]
    assert overview["models"] == 1 and overview["open_alerts"] == 1
    series = client.get(f"/feeds/rollouts/{filled.rollout_id}/series").json()
    assert series["timeline"] and series["weights"]["points"]
    drift = client.get(f"/feeds/models/{MODEL}/drift").json()
    assert drift["windows"][0]["report_url"] == f"drift/reports/{filled.report_ids[0]}/html"
    dist = client.get(
        f"/feeds/drift/reports/{filled.report_ids[0]}/distribution", params={"feature": "amount"}
    ).json()
    assert dist["feature"] == "amount" and len(dist["current"]) == 10
    assert client.get("/feeds/alerts", params={"status": "acked"}).json()["alerts"][0]["acked_by"]
    assert client.get(f"/feeds/models/{MODEL}").json()["versions"][0]["reference"]["rows"] == 400
    assert client.get("/feeds/models/nope").status_code == 404
    assert client.get("/feeds/rollouts/9999/series").status_code == 404
    assert client.get("/feeds/alerts", params={"status": "bogus"}).status_code == 400
    assert client.get("/feeds/rollouts/1/series", params={"range_s": "x"}).status_code == 400


def test_page_parameters_cannot_break_out_of_their_script(client: AsgiClient) -> None:
    evil = "</script><img src=x onerror=alert(1)>"
    html = client.get(f"/models/{MODEL}/drift", params={"version": evil}).text
    assert "<img src=x" not in html
    assert "\\u003c/script>\\u003cimg" in html


def test_links_follow_the_forwarded_prefix_and_refuse_junk(filled: Filled) -> None:
    client = AsgiClient(create_dashboard_app(filled.source))
    html = client.get("/", headers={"x-forwarded-prefix": "/ops/turnout/"}).text
    assert 'data-base="/ops/turnout"' in html and 'data-api="/ops/turnout/api/v1"' in html
    assert 'href="/ops/turnout/models"' in html
    junk = client.get("/", headers={"x-forwarded-prefix": '/x"><script>'}).text
    assert 'data-base=""' in junk and '<script>"' not in junk
    fixed = AsgiClient(create_dashboard_app(filled.source, prefix="/dash")).get("/").text
    assert 'data-base="/dash"' in fixed and 'data-api="/dash/api/v1"' in fixed


def test_vendored_plotly_and_its_licence(client: AsgiClient) -> None:
    js = client.get("/static/vendor/plotly.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert len(js.content) > 1_000_000
    licence = client.get("/static/vendor/plotly-LICENSE.txt")
    assert licence.status_code == 200 and "MIT" in licence.text
    assert client.get("/static/vendor/other.js").status_code == 404
    assert client.get("/static/core.js").status_code == 200


def _host(filled: Filled) -> Starlette:
    async def ping(request: Request) -> Response:
        return JSONResponse({"pong": True})

    host = Starlette(routes=[Route("/v2/health/live", ping, methods=["GET"])])
    host.router.routes.append(DashboardMount("", create_dashboard_app(filled.source)))
    return host


def test_mount_claims_only_dashboard_paths(filled: Filled) -> None:
    client = AsgiClient(_host(filled))
    assert client.get("/v2/health/live").json() == {"pong": True}
    assert client.post("/v2/health/live").status_code == 405  # not hidden by the mount
    assert client.get("/nope").status_code == 404
    assert client.get("/").status_code == 200
    assert client.get("/feeds/overview").status_code == 200


def test_mounted_under_a_path_links_to_the_site_api(filled: Filled) -> None:
    host = Starlette()
    host.router.routes.append(DashboardMount("/dash", create_dashboard_app(filled.source)))
    html = AsgiClient(host).get("/dash/models").text
    assert 'data-base="/dash"' in html and 'data-api="/api/v1"' in html
    assert 'href="/dash/static/dashboard.css?v=' in html
