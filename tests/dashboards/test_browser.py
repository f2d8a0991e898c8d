"""The dashboard as a person uses it: `turnout serve` with live traffic, pages opened in
headless Chromium (Debian's package, driven by Playwright). Screenshots go to
test-artifacts/dashboard/ in the checkout."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from migrations import make_engine, session_factory
from migrations.models import Alert, AlertDelivery
from monitors.check import check_frames
from monitors.store import save_report
from tests.conftest import ModelFiles
from tests.gateway_harness import Gateway, Load, base_env, start_gateway, wait_for
from turnout.settings import Settings

pytestmark = pytest.mark.mlflow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@dataclass
class Live:
    gateway: Gateway
    model: str
    token: str
    rollout_id: int
    report_id: int
    alert_id: str
    load: Load


SPEC = {
    "candidate": "2",
    "strategy": "canary",
    "step_weights": [30, 60],
    "step_duration_s": 600,
    "analysis": {
        "metrics": [
            {"name": "error-rate", "kind": "error_rate", "max": 0.05, "min_samples": 20},
            {"name": "latency", "kind": "latency", "quantile": 0.99, "max": 1.0},
        ]
    },
}


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_store: dict[str, str],
    model_files: ModelFiles,
) -> Iterator[Live]:
    from turnout.registration import register_model
    from turnout.services import Services

    root = tmp_path_factory.mktemp("dash")
    model = f"dash-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        state_dir=root / "state",
        mlflow_tracking_uri=mlflow_store["tracking_uri"],
        artifact_root=Path(mlflow_store["artifact_root"]),
        actor="tester",
    )
    services = Services(settings)
    _ = services.sessions  # the schema exists before the server starts migrating it too
    env = base_env(
        root / "state",
        TURNOUT_MLFLOW_TRACKING_URI=mlflow_store["tracking_uri"],
        TURNOUT_ARTIFACT_ROOT=mlflow_store["artifact_root"],
    )
    # The server starts while the versions are registered: its watcher picks them up.
    started: list[Gateway] = []
    starter = threading.Thread(
        target=lambda: started.append(start_gateway(env, root / "gateway.log")), daemon=True
    )
    starter.start()
    for _ in range(2):
        register_model(services, model, model_files.onnx, reference=model_files.reference)
    services.ledger.promote(model, "1", actor="tester")
    from router.access import create_token

    with services.sessions.begin() as s:
        token = create_token(s, "browser", "operator")
    services.close()
    starter.join(timeout=120)
    assert started, f"the server did not start: {(root / 'gateway.log').read_text()}"
    gateway = started[0]
    wait_for(lambda: model in gateway.client.get("/v2/health/ready").json()["models"], 15)
    rows = model_files.features.to_numpy(dtype=np.float32)[:200].tolist()
    bodies: list[dict[str, object]] = [
        {"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", "data": row}]}
        for row in rows
    ]
    load = Load(
        gateway.url, bodies, f"/v2/models/{model}/infer", users=10_000, key_prefix="u", seed=3
    ).start()
    try:
        r = gateway.client.post(
            "/api/v1/rollouts",
            json={**SPEC, "model": model},
            headers={"authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        rollout_id = int(r.json()["id"])
        report_id, alert_id = _drift_and_alert(settings, model, model_files.features)
        yield Live(gateway, model, token, rollout_id, report_id, alert_id, load)
    finally:
        load.stop()
        gateway.stop()


def _drift_and_alert(settings: Settings, model: str, features: pd.DataFrame) -> tuple[int, str]:
    """What the drift monitor would have stored for a window of live traffic in which
    ``mean radius`` moved up by one standard deviation."""
    current = features.sample(150, random_state=0).reset_index(drop=True)
    current["mean radius"] = current["mean radius"] + features["mean radius"].std()
    result = check_frames(features, current)
    assert result.drifted == ("mean radius",), result.drifted
    engine = make_engine(settings.control_db_url())
    try:
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        with sessions.begin() as s:
            report = save_report(
                s,
                model=model,
                version="1",
                window_start=now - timedelta(seconds=60),
                window_end=now + timedelta(seconds=60),
                rows=len(current),
                verdict=result.verdict,
                document={
                    **result.to_dict(),
                    "streak": 1,
                    "window_kind": "time",
                    "window_size": 120,
                    "requests": len(current),
                    "replicas": ["r1"],
                },
            )
            alert = Alert(
                kind="drift",
                severity="critical",
                model_name=model,
                version="1",
                dedup_key=f"{model}:1:drift:mean radius",
                payload={"summary": "mean radius drifted"},
                status="open",
            )
            s.add(alert)
            s.flush()
            s.add(
                AlertDelivery(
                    alert_id=alert.id,
                    sink="webhook",
                    status="pending",
                    attempts=2,
                    last_error="connection refused",
                )
            )
            return report.id, alert.id
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: ./run test installs Debian's chromium package "
        "(apt-get install chromium)"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    pg.on("console", console)
    pg.on("pageerror", lambda exc: problems.append(str(exc)))
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        if "/drift/reports/" in pg.url:
            # The Evidently page's own scripts are not ours to police.
            problems = []
        context.close()
    assert not problems, problems


def _points(page: Page, chart: str) -> int:
    value: Any = page.get_attribute(f"#{chart}", "data-points")
    return int(value or 0)


def test_rollout_chart_grows_live_and_pause_changes_the_phase(live: Live, page: Page) -> None:
    page.goto(f"{live.gateway.url}/rollouts/{live.rollout_id}")
    page.wait_for_function(
        "document.querySelector('#phase').textContent === 'Progressing'", timeout=15_000
    )
    page.wait_for_function("Number(document.querySelector('#chart-latency').dataset.points) > 0")
    before = _points(page, "chart-latency")
    # Buckets reach the control DB about once a second and the page polls every second.
    page.wait_for_function(
        f"Number(document.querySelector('#chart-latency').dataset.points) > {before}",
        timeout=8_000,
    )
    assert _points(page, "chart-weights") > 0
    page.wait_for_selector("#timeline .timeline li")
    page.screenshot(path=str(ARTIFACTS / "rollout.png"), full_page=True)

    # The operator token, set through its dialog from the keyboard.
    page.click("#token-button")
    page.fill("#token-input", live.token)
    page.keyboard.press("Enter")
    # The dialog's close event is dispatched as a task: wait for it, do not race it.
    page.wait_for_function(
        "document.querySelector('#token-button').textContent === 'Token ✓'", timeout=3_000
    )

    pause = page.locator('#actions button[data-command="pause"]')
    assert pause.is_enabled()
    pause.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#confirm-dialog[open]")
    page.fill("#confirm-reason", "looking at the dashboard")
    page.click("#confirm-ok")
    page.wait_for_function(
        "document.querySelector('#phase').textContent === 'Paused'", timeout=3_000
    )
    assert page.locator('#actions button[data-command="resume"]').is_enabled()
    assert not pause.is_enabled()
    doc = live.gateway.client.get(f"/api/v1/rollouts/{live.rollout_id}").json()
    assert doc["phase"] == "Paused" and "looking at the dashboard" in doc["message"]
    page.screenshot(path=str(ARTIFACTS / "rollout-paused.png"), full_page=True)


def test_drift_page_shows_bands_and_links_the_report(live: Live, page: Page) -> None:
    page.goto(f"{live.gateway.url}/models/{live.model}/drift")
    page.wait_for_function("Number(document.querySelector('#chart-heatmap').dataset.points) > 0")
    page.wait_for_function(
        "Number(document.querySelector('#chart-distribution').dataset.points) > 0"
    )
    assert page.input_value("#feature") == "mean radius"  # the drifting feature first
    # The chosen window, feature by feature: the drifting one first, with its numbers.
    page.wait_for_selector("#window-features table")
    first = page.locator("#window-features table tbody tr").first
    cells = [c.strip() for c in first.locator("td").all_text_contents()]
    assert cells[0] == "mean radius" and cells[1] == "DRIFT" and cells[2] == "ks", cells
    assert "× drift" in cells[3], cells
    assert "prediction" not in (page.text_content("#window-features") or "")
    assert "DRIFT" in (page.text_content("#window-summary") or "")
    link = page.locator("#report-link")
    assert link.get_attribute("href") == f"/drift/reports/{live.report_id}/html"
    page.screenshot(path=str(ARTIFACTS / "drift.png"), full_page=True)
    # The first visit renders the page (Evidently takes seconds to import and run).
    with page.expect_navigation(timeout=90_000):
        link.click(timeout=90_000)
    assert page.url.endswith(f"/drift/reports/{live.report_id}/html")
    page.wait_for_selector("#turnout-report-header", timeout=30_000)
    assert "drift report #" in (page.text_content("#turnout-report-header") or "")


def test_report_link_opens_the_evidently_report(live: Live) -> None:
    # Rendered from the raw rows the gateway kept for the window, against the reference.
    r = live.gateway.client.get(f"/drift/reports/{live.report_id}/html", timeout=60)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"], r.text[:500]
    assert "turnout-report-header" in r.text and "drift report #" in r.text
    missing = live.gateway.client.get("/drift/reports/999999/html")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_overview_models_and_alerts_pages(live: Live, page: Page) -> None:
    url = live.gateway.url
    page.goto(url + "/")
    page.wait_for_selector(f"#active a[href='/rollouts/{live.rollout_id}']")
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    page.goto(f"{url}/models/{live.model}")
    page.wait_for_selector("#versions table")
    assert "champion" in (page.text_content("#model-head") or "")
    page.goto(url + "/alerts")
    page.wait_for_selector("#alerts table")
    text = page.text_content("#alerts") or ""
    # The server's outbox worker may have retried the delivery meanwhile.
    assert "webhook" in text and "attempts" in text and "mean radius drifted" in text
    ack = page.get_by_role("button", name=f"Acknowledge drift alert on {live.model}")
    assert ack.is_visible()
    page.screenshot(path=str(ARTIFACTS / "alerts.png"), full_page=True)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"


def test_narrow_dark_window(live: Live, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        pg = context.new_page()
        pg.goto(f"{live.gateway.url}/rollouts/{live.rollout_id}")
        pg.wait_for_function("Number(document.querySelector('#chart-weights').dataset.points) > 0")
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways in a narrow window ({width}px)"
        background = pg.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 22, 28)"
        pg.screenshot(path=str(ARTIFACTS / "rollout-narrow-dark.png"), full_page=True)
    finally:
        context.close()
