"""The `turnout` command: assembles each area's command group and turns errors into one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from turnout import __version__
from turnout.cli import _common
from turnout.cli._common import STATE, err

app = typer.Typer(
    name="turnout",
    help="Model registry and progressive-rollout control plane for ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"turnout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Folder of the embedded stores (env TURNOUT_STATE_DIR; default ./.turnout).",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Act through this turnout server's API instead of the local control DB "
            "(rollout and promotion commands; env TURNOUT_SERVER, token in TURNOUT_TOKEN).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    STATE.reset(debug=debug, state_dir=state_dir, server=server)


def _assemble() -> None:
    from turnout.cli import (
        alerts,
        db,
        demo,
        drift,
        models,
        promotion,
        rollout,
        serve,
        tokens,
        traffic,
    )

    app.add_typer(models.app, name="models")
    app.add_typer(traffic.app, name="traffic")
    app.add_typer(rollout.app, name="rollout")
    app.command("controller")(rollout.controller)
    app.add_typer(tokens.app, name="tokens")
    app.add_typer(alerts.app, name="alerts")
    app.add_typer(drift.app, name="drift")
    app.command("monitor")(drift.monitor)
    app.add_typer(db.app, name="db")
    app.command("serve")(serve.serve)
    app.command("promote")(promotion.promote)
    app.command("rollback")(promotion.rollback)
    app.command("demo")(demo.demo)


_assemble()


def _known_errors() -> tuple[type[BaseException], ...]:
    from migrations.errors import ControlDBError
    from monitors.errors import MonitorError
    from registry.errors import RegistryError
    from router.access import TokenError
    from router.analysis.errors import AnalysisError
    from router.controller.errors import ControllerError
    from router.inference.errors import InferenceError
    from router.rollout.errors import RolloutError
    from router.serving.errors import ServingError
    from router.traffic.errors import TrafficError
    from turnout.cli.backend import RemoteError

    return (
        RegistryError,
        ControlDBError,
        InferenceError,
        MonitorError,
        ServingError,
        TrafficError,
        RolloutError,
        AnalysisError,
        ControllerError,
        TokenError,
        RemoteError,
    )


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="turnout", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if STATE.debug:
            raise
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):  # a TURNOUT_* variable with a bad value
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            _common.print_error(f"invalid setting TURNOUT_{field.upper()}: {first.get('msg')}")
            sys.exit(1)
        if isinstance(exc, _known_errors()):
            _common.print_error(str(exc))
            sys.exit(1)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _common.print_error(
            f"{type(exc).__name__}: {reason} (run with --debug for the traceback)",
            label="internal error",
        )
        sys.exit(3)
    finally:
        STATE.close()


__all__ = ["app", "main", "_common"]
