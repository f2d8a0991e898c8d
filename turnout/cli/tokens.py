"""`turnout tokens`: API tokens with roles (viewer, operator, admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from turnout.cli._common import fmt_time, out, print_json, services

app = typer.Typer(help="API tokens for the control API.", no_args_is_help=True)
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who uses it; recorded as the actor of events.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer, operator (rollouts, promote) or admin.")
    ] = "operator",
    as_json: _Json = False,
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    from router.access import create_token

    with services().sessions.begin() as session:
        token = create_token(session, name, role)
    if as_json:
        print_json({"name": name, "role": role, "token": token})
    else:
        out.print(f"token for {name} ({role}); store it now, it is not shown again:", markup=False)
        out.print(token, markup=False)


@app.command("list")
def list_cmd(as_json: _Json = False) -> None:
    """Token names, roles and when they were last used (never the tokens)."""
    from router.access import list_tokens

    with services().sessions() as session:
        tokens = list_tokens(session)
    if as_json:
        print_json([t.to_dict() for t in tokens])
        return
    table = Table("name", "role", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(
            t.name, t.role, fmt_time(t.created_at), fmt_time(t.last_used_at), fmt_time(t.revoked_at)
        )
    out.print(table)


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Token name.")]) -> None:
    """Revoke a token at once."""
    from router.access import revoke_token

    with services().sessions.begin() as session:
        revoke_token(session, name)
    out.print(f"token {name} revoked")
