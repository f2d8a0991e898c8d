"""`turnout db`: the control-plane database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from turnout.cli._common import out, print_json, services

app = typer.Typer(help="Control-plane database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the control DB schema (default: to the newest revision)."""
    from migrations import check_reachable, current, make_engine
    from migrations import upgrade as do_upgrade

    engine = make_engine(services().settings.control_db_url())
    try:
        check_reachable(engine)
        before = current(engine)
        do_upgrade(engine, revision)
        after = current(engine)
    finally:
        engine.dispose()
    if before == after:
        out.print(f"control DB already at {after}")
    else:
        out.print(f"control DB upgraded {before or '(empty)'} -> {after}")


@app.command("current")
def current_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the control DB's schema revision and whether it is up to date."""
    from migrations import check_reachable, current, head, make_engine

    engine = make_engine(services().settings.control_db_url())
    try:
        check_reachable(engine)
        rev, newest = current(engine), head()
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    if as_json:
        print_json({"url": url, "current": rev, "head": newest, "up_to_date": rev == newest})
        return
    state = "up to date" if rev == newest else "behind: run `turnout db upgrade`"
    out.print(f"{url}: {rev or '(empty)'} (head {newest}, {state})")
