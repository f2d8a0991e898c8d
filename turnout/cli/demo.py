"""`turnout demo`: the main job on embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer

from turnout.cli._common import out, print_json, services


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register two demo model versions with a reference profile and promote them."""
    from turnout.demo import run_demo

    svc = services()

    def say(message: str) -> None:
        if not as_json:
            out.print(message, markup=False)

    say(f"state directory: {svc.settings.resolved_state_dir()}")
    result = run_demo(svc, say=say)
    if as_json:
        print_json(result.to_dict())
        return
    aliases = svc.registry.get_model(result.model).aliases
    name = result.model
    out.print(f"done: {name} aliases {aliases}", markup=False)
    out.print(f"next: turnout models show {name} @champion | turnout models history {name}")
