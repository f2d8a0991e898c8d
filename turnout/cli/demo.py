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
    say = (lambda _m: None) if as_json else (lambda m: out.print(m, markup=False))
    say(f"state directory: {svc.settings.resolved_state_dir()}")
    result = run_demo(svc, say=say)
    if as_json:
        print_json(result.to_dict())
        return
    champion = svc.registry.get_model(result.model).aliases
    out.print(
        f"done: {result.model} aliases {champion}. Try: turnout models show {result.model} @champion"
        f" | turnout models history {result.model} | turnout rollback {result.model}",
        markup=False,
    )
