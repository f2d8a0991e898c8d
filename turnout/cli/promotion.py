"""`turnout promote` and `turnout rollback`: move the champion alias, with an audit event."""

from __future__ import annotations

from typing import Annotated

import typer

from turnout.cli._common import out, print_json
from turnout.cli.backend import backend

_Reason = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why; stored in the audit log.")
]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Make VERSION the champion; the old champion becomes `previous`."""
    change = backend().promote(name, version, reason)
    if as_json:
        print_json(change)
    elif not change["changed"]:
        out.print(f"{name}: version {version} is already champion; nothing changed")
    else:
        was = f" (was {change['from_version']}, now previous)" if change["from_version"] else ""
        out.print(f"{name}: champion -> version {change['to_version']}{was}")


def rollback(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Put the champion back on the `previous` version."""
    change = backend().rollback(name, reason)
    if as_json:
        print_json(change)
    else:
        out.print(
            f"{name}: rolled back, champion -> version {change['to_version']} "
            f"(version {change['from_version']} is now previous)"
        )
