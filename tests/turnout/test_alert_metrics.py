"""The alert metrics on a gateway process's /metrics: `build_gateway` (the wiring of
`turnout serve`) in process, its alert delivery worker running its own loop against
real HTTP receivers (one up, one down), /metrics fetched through the app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from monitors.alerts import NewAlert, load_config, raise_alert
from router.telemetry import names
from tests.monitors.alerts.helpers import Receiver
from turnout.serve import GatewayProcess, build_gateway
from turnout.settings import Settings


def metrics_text(app: FastAPI) -> str:
    async def go() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/metrics")
            assert r.status_code == 200
            return r.text

    return asyncio.run(go())


@pytest.fixture
def down() -> Iterator[Receiver]:
    r = Receiver()
    r.stop()  # connection refused
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def alerts_settings(settings: Settings, receiver: Receiver, down: Receiver) -> Settings:
    path = Path(settings.state_dir) / "alerts.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[sinks.up]
type = "webhook"
url = "{receiver.url}"
timeout_s = 2
[sinks.down]
type = "webhook"
url = "{down.url}"
timeout_s = 2
[[routes]]
sinks = ["up", "down"]
""",
        encoding="utf-8",
    )
    # One attempt per delivery during the test: the next retry is minutes away.
    return settings.model_copy(
        update={"alerts_config": path, "alerts_retry_base_s": 600.0, "alerts_poll_s": 0.05}
    )


@pytest.fixture
def process(alerts_settings: Settings) -> Iterator[GatewayProcess]:
    proc = build_gateway(alerts_settings, replica="test")
    try:
        yield proc
    finally:
        if proc.alert_worker is not None:
            proc.alert_worker.stop()
        proc.services.close()


def test_metrics_shows_the_alert_outbox(
    process: GatewayProcess, alerts_settings: Settings, receiver: Receiver
) -> None:
    worker = process.alert_worker
    assert worker is not None  # role "all" runs the delivery worker
    config = load_config(alerts_settings.alerts_config_path())
    with process.services.sessions.begin() as s:
        for feature in ("amount", "age"):
            raise_alert(s, config, NewAlert(kind="drift", severity="critical", model="fraud",
                        version="2", feature=feature, title=f"{feature} drifted"))  # fmt: skip
        raise_alert(s, config, NewAlert(kind="rollout_rollback", severity="warn",
                    model="churn", version="5", title="rolled back"))  # fmt: skip

    worker.start()  # its own loop: one pass, then it refreshes the outbox counts
    want = {
        'turnout_alerts_total{model="churn",kind="rollout_rollback",severity="warn"} 1.0',
        'turnout_alerts_total{model="fraud",kind="drift",severity="critical"} 2.0',
        'turnout_alert_deliveries_pending{sink="down"} 3.0',
        'turnout_alert_deliveries_pending{sink="log"} 0.0',
        'turnout_alert_deliveries_pending{sink="up"} 0.0',
        'turnout_alert_delivery_failures_total{sink="down"} 3.0',
        'turnout_alert_delivery_failures_total{sink="log"} 0.0',
        'turnout_alert_delivery_failures_total{sink="up"} 0.0',
    }
    deadline = time.monotonic() + 20
    while True:
        text = metrics_text(process.app)
        lines = {line for line in text.splitlines() if line.startswith("turnout_alert")}
        if lines == want:
            break
        assert time.monotonic() < deadline, sorted(lines)
        time.sleep(0.05)
    assert len(receiver.received) == 3
    for name, kind in (
        (names.ALERTS_TOTAL, "counter"),
        (names.ALERT_DELIVERIES_PENDING, "gauge"),
        (names.ALERT_DELIVERY_FAILURES_TOTAL, "counter"),
    ):
        assert f"# TYPE {name} {kind}\n" in text
        assert f"# HELP {name} {names.METRICS[name].help}\n" in text
    # Beside the gateway's own metrics, on the same page.
    assert "turnout_policy_stale 0.0" in text


def test_a_gateway_only_process_exports_no_alert_metrics(alerts_settings: Settings) -> None:
    proc = build_gateway(alerts_settings.model_copy(update={"role": "gateway"}), replica="g")
    try:
        assert proc.alert_worker is None
        assert "turnout_alert" not in metrics_text(proc.app)
    finally:
        proc.services.close()
