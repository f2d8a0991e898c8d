"""Wires one gateway process: registry, control DB, routing table, telemetry, HTTP app.

`create_gateway_app()` is the uvicorn factory (each worker process calls it and builds
its own state); `build_gateway()` is the same wiring for tests and embedding.
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from turnout import __version__
from turnout.services import Services
from turnout.settings import Settings, get_settings

if TYPE_CHECKING:
    from monitors.alerts import DeliveryWorker
    from router.controller.controller import Controller


@dataclass
class GatewayProcess:
    app: FastAPI
    services: Services
    context: object  # router.api.context.GatewayContext
    # Role "all": the alert delivery worker (its samples are on /metrics); else None.
    alert_worker: DeliveryWorker | None = None


def build_gateway(
    settings: Settings, *, replica: str | None = None, with_controller: bool | None = None
) -> GatewayProcess:
    from router.api.app import create_app
    from router.api.context import GatewayContext
    from router.quality import PredictionBuffer, PredictionWriter
    from router.serving.attach import attach_with
    from router.serving.gateway import Gateway
    from router.serving.pool import ModelPool
    from router.serving.retention import Retention
    from router.serving.watcher import PolicyWatcher
    from router.telemetry import Flusher, Recorder
    from router.traffic import RoutingTable
    from turnout.alerting import build_alert_worker
    from turnout.monitoring import build_monitor

    services = Services(settings)
    sessions = services.sessions  # reachable, schema at head (or a clear error)
    if with_controller is None:
        with_controller = settings.role in ("all", "controller")
    registry = services.registry
    replica_id = replica or f"{socket.gethostname()}:{os.getpid()}"
    recorder = Recorder(replica_id, sample_rows=settings.sample_rows)
    predictions = PredictionBuffer()
    table = RoutingTable()
    pool = ModelPool(registry, attach=attach_with(recorder))
    gateway = Gateway(
        table,
        pool,
        recorder,
        predictions,
        log_predictions=settings.log_predictions,
        deadline_s=settings.model_deadline_s,
    )
    watcher = PolicyWatcher(sessions, registry, pool, table, interval=settings.policy_poll_s)
    flusher = Flusher(
        recorder,
        sessions,
        interval_s=settings.flush_interval_s,
        also=(PredictionWriter(predictions, sessions).flush, Retention(sessions).maybe_prune),
    )
    context = GatewayContext(
        gateway=gateway,
        watcher=watcher,
        flusher=flusher,
        sessions=sessions,
        registry=registry,
        server_version=__version__,
        max_body_bytes=settings.max_body_bytes,
        default_model=settings.default_model,
        reports_dir=settings.resolved_state_dir() / "reports",
    )
    if settings.inference_auth:
        from router.access.cache import TokenCache

        context.inference_tokens = TokenCache(sessions)

    controller = build_controller(services) if with_controller else None
    # Role "all" also runs the drift monitor and the alert delivery worker (each leased
    # or claim-safe, so several `turnout serve` processes share the work).
    monitor = build_monitor(services) if with_controller else None
    alert_worker = build_alert_worker(services, metrics=True) if with_controller else None
    if monitor is not None:
        context.extra_samples.append(monitor.samples)
    if alert_worker is not None:
        # Outbox counts cached by the worker's loop, and its failed attempts: a scrape
        # never queries the DB.
        context.extra_samples.append(alert_worker.samples)
    from router.controller.ops import ControlOps

    context.ops = ControlOps(
        sessions, registry, services.ledger, build_controller(services, lease=False)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(watcher.start)  # first sync loads and warms the versions
        flusher.start()
        for worker in (controller, monitor, alert_worker):
            if worker is not None:
                worker.start()
        _freeze_startup_objects()
        try:
            yield
        finally:
            for worker in (controller, monitor, alert_worker):
                if worker is not None:
                    await run_in_threadpool(worker.stop)
            watcher.stop()
            await run_in_threadpool(flusher.stop)
            services.close()

    app = create_app(context, lifespan=lifespan)
    mount_dashboard(app, services)
    return GatewayProcess(app=app, services=services, context=context, alert_worker=alert_worker)


def _freeze_startup_objects() -> None:
    """Keep the objects of start-up (imported modules, loaded models) out of the cyclic
    garbage collector's full passes.

    A serving process holds a few million long-lived objects (mlflow, SQLAlchemy,
    pandas, onnxruntime bindings). Request-path objects that live until the next flush
    (prediction records, telemetry cells) keep promoting into the oldest generation,
    and each full collection then walked all of them: pauses of ~0.2 s on the event
    loop, seen as the p99 of a loaded gateway. Frozen objects are never collected,
    which is what they would be anyway.
    """
    gc.collect()
    gc.freeze()


def mount_dashboard(app: FastAPI, services: Services) -> None:
    """The web dashboard at `/`, after every API route: it claims only its own paths, so
    the inference, metrics and control routes answer exactly as before."""
    from dashboards import DashboardMount, DashboardSource, create_dashboard_app

    source = DashboardSource(services.sessions, services.registry)
    app.router.routes.append(DashboardMount("", create_dashboard_app(source)))


def build_controller(services: Services, *, lease: bool = True) -> Controller:
    """The rollout controller on these services (leased, so only one runs anywhere)."""
    from router.analysis.providers import ProviderContext
    from router.controller.controller import Controller
    from router.controller.executor import Executor
    from router.controller.lease import Lease
    from router.controller.measure import builtin_reader
    from router.controller.webhooks import WebhookCaller
    from turnout.alerting import alerts_config

    sessions = services.sessions
    return Controller(
        sessions,
        Executor(sessions, services.ledger, actor="controller"),
        ProviderContext(
            read_builtin=builtin_reader(sessions),
            prometheus_url=services.settings.prometheus_url,
        ),
        # Webhook secrets are named by environment variable in rollout specs.
        WebhookCaller(dict(os.environ)),
        lease=Lease(sessions) if lease else None,
        interval_s=services.settings.controller_interval_s,
        alerts=alerts_config(services.settings),
    )


def create_gateway_app() -> FastAPI:
    """uvicorn factory: settings come from TURNOUT_* in the environment."""
    return build_gateway(get_settings()).app
