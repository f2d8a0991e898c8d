"""`turnout serve`: run the gateway (uvicorn with uvloop and httptools)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from turnout.cli._common import STATE, err, services


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    default_model: Annotated[
        str | None,
        typer.Option(
            "--default-model",
            help="Model answering POST /invocations when several are served "
            "(env TURNOUT_DEFAULT_MODEL).",
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="all: gateway, rollout controller, drift monitor and alert delivery; "
            "gateway: serving only "
            "(env TURNOUT_ROLE; default all).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
) -> None:
    """Serve every model's live versions over Open Inference Protocol v2 and MLflow scoring."""
    import uvicorn

    from router.api.protocol import GatewayHttpProtocol

    svc = services()
    _ = svc.engine  # upgrade the control DB once here, not racily in every worker
    svc.registry.check_reachable()
    # Workers are fresh processes that read their settings from the environment.
    if STATE.state_dir is not None:
        os.environ["TURNOUT_STATE_DIR"] = str(STATE.state_dir.resolve())
    if default_model is not None:
        os.environ["TURNOUT_DEFAULT_MODEL"] = default_model
    if role is not None:
        if role not in ("all", "gateway"):
            raise typer.BadParameter("must be all or gateway", param_hint="--role")
        os.environ["TURNOUT_ROLE"] = role
    svc.close()
    err.print(f"turnout gateway on http://{host}:{port} ({workers} worker(s))")
    uvicorn.run(
        "turnout.serve:create_gateway_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=GatewayHttpProtocol,
        log_level=log_level,
        access_log=False,
    )
