"""`turnout demo`: the main job on embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer

from turnout.cli._common import out, print_json, services


def demo(
    headless: Annotated[
        bool, typer.Option("--headless", help="Stop after the scenes instead of serving on.")
    ] = False,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", min=0.1, max=50, help="Play faster (4: four times shorter steps/windows)."
        ),
    ] = 1.0,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 8000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Train and register three versions, serve them, and play a rollout story:
    a good canary promoted, a bad one rolled back, inputs drifting until an alert."""
    from turnout.demo import DemoOptions, run_demo

    svc = services()

    def say(message: str) -> None:
        if not as_json:
            out.print(message, markup=False)

    say(f"state directory: {svc.settings.resolved_state_dir()}")
    options = DemoOptions(headless=headless or as_json, speed=speed, port=port)
    try:
        result = run_demo(svc, options, say=say)
    except KeyboardInterrupt:
        say("stopped")
        return
    if as_json:
        print_json(result.to_dict())
        return
    name = result.model
    out.print(f"done: {name} aliases {svc.registry.get_model(name).aliases}", markup=False)
    out.print(f"next: turnout rollout list | turnout drift status {name} | turnout alerts list")
