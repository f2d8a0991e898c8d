"""`turnout models`: register versions, list and show them, manage aliases, read history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from turnout.cli._common import err, fmt_time, out, print_json, services

app = typer.Typer(help="Registered models, versions and aliases.", no_args_is_help=True)
alias_app = typer.Typer(help="Set or remove aliases (each move is audited).", no_args_is_help=True)
app.add_typer(alias_app, name="alias")

_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_Reason = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why; stored in the audit log.")
]


@app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="Registered model name (created if new).")],
    path: Annotated[
        Path, typer.Argument(help=".onnx file, or a scikit-learn model (.skops, or .pkl/.joblib).")
    ],
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="Training data (CSV/Parquet) to profile for drift."),
    ] = None,
    input_example: Annotated[
        Path | None,
        typer.Option("--input-example", help="Example input rows (CSV/Parquet)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Version description.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="KEY=VALUE version tag; repeatable.")
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="Allow loading pickles / untrusted skops types."),
    ] = False,
    as_json: _Json = False,
) -> None:
    """Validate a model in onnxruntime and register it as a new version in MLflow."""
    from turnout.registration import parse_tags, register_model

    tags = parse_tags(tag or [])
    with err.status("registering...") as status:
        result = register_model(
            services(),
            name,
            path,
            reference=reference,
            input_example=input_example,
            description=description,
            tags=tags,
            trust_pickle=trust_pickle,
            progress=lambda msg: status.update(msg + "..."),
        )
    if as_json:
        print_json(result.to_dict())
        return
    ref = f", reference profile of {result.reference_rows} rows" if result.reference_rows else ""
    out.print(f"registered {name} version {result.version.version}{ref}")
    for spec in result.inputs:
        out.print(f"  input  {spec['name']}: {spec['datatype']} {spec['shape']}")
    for spec in result.outputs:
        out.print(f"  output {spec['name']}: {spec['datatype']} {spec['shape']}")


@app.command("list")
def list_models(as_json: _Json = False) -> None:
    """List registered models with their aliases."""
    models = services().registry.list_models()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    if not models:
        out.print("no registered models")
        return
    table = Table("model", "latest", "aliases", "created")
    for m in models:
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(m.aliases.items()))
        table.add_row(m.name, m.latest_version or "-", aliases or "-", fmt_time(m.created_at))
    out.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    ref: Annotated[
        str | None, typer.Argument(help="VERSION or @ALIAS; omit for the model's overview.")
    ] = None,
    as_json: _Json = False,
) -> None:
    """Show a model's versions, or one version's inputs, outputs and reference profile."""
    registry = services().registry
    if ref is None:
        model = registry.get_model(name)
        versions = registry.list_versions(name)
        if as_json:
            print_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
            return
        out.print(
            f"[bold]{model.name}[/bold]" + (f" — {model.description}" if model.description else "")
        )
        table = Table("version", "aliases", "status", "reference", "created", "description")
        for v in versions:
            table.add_row(
                v.version,
                ", ".join(v.aliases) or "-",
                v.status,
                "yes" if v.reference_uri else "-",
                fmt_time(v.created_at),
                v.description or "",
            )
        out.print(table)
        return
    from registry import resolve

    info = resolve(registry, name, ref)
    detail = _version_detail(info.name, info.version)
    if as_json:
        print_json({**info.to_dict(), **detail})
        return
    out.print(f"[bold]{info.name}[/bold] version {info.version}  status={info.status}")
    out.print(f"  aliases: {', '.join(info.aliases) or '-'}")
    out.print(f"  created: {fmt_time(info.created_at)}")
    if info.description:
        out.print(f"  description: {info.description}")
    user_tags = {k: v for k, v in info.tags.items() if not k.startswith("turnout.")}
    if user_tags:
        out.print("  tags: " + ", ".join(f"{k}={v}" for k, v in sorted(user_tags.items())))
    for spec in detail["inputs"]:
        out.print(f"  input  {spec['name']}: {spec['datatype']} {spec['shape']}", markup=False)
    for spec in detail["outputs"]:
        out.print(f"  output {spec['name']}: {spec['datatype']} {spec['shape']}", markup=False)
    summary = detail["reference"]
    if summary is None:
        out.print("  reference profile: none")
    else:
        out.print("  reference profile: " + ", ".join(f"{k}={v}" for k, v in summary.items()))


def _version_detail(name: str, version: str) -> dict[str, Any]:
    from monitors import profile_from_json, profile_summary
    from router.inference import load_session

    registry = services().registry
    model = load_session(registry.model_bytes(name, version))
    sig = model.signature
    profile_text = registry.reference_profile(name, version)
    reference = None
    if profile_text is not None:
        reference = profile_summary(profile_from_json(profile_text))
    return {
        "inputs": [_spec(s) for s in sig.inputs],
        "outputs": [_spec(s) for s in sig.outputs],
        "reference": reference,
    }


def _spec(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}


@alias_app.command("set")
def alias_set(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Argument(help="Alias, e.g. challenger.")],
    version: Annotated[str, typer.Argument(help="Version the alias points to.")],
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Point ALIAS at VERSION."""
    svc = services()
    change = svc.ledger.set_alias(name, alias, version, actor=svc.actor(), reason=reason)
    if as_json:
        print_json(change.to_dict())
    elif not change.changed:
        out.print(f"{name}: {alias} already on version {version}; nothing changed")
    else:
        was = f" (was {change.from_version})" if change.from_version else ""
        out.print(f"{name}: {alias} -> version {change.to_version}{was}")


@alias_app.command("rm")
def alias_rm(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Argument(help="Alias to remove.")],
    version: Annotated[
        str | None,
        typer.Argument(help="If given, remove only if the alias is on this version."),
    ] = None,
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Remove ALIAS from the model."""
    from registry import resolve
    from registry.errors import InvalidInput

    svc = services()
    if version is not None:
        holder = resolve(svc.registry, name, f"@{alias}")
        if holder.version != version:
            raise InvalidInput(
                f"alias '{alias}' of '{name}' is on version {holder.version}, not {version}; "
                "nothing changed"
            )
    change = svc.ledger.remove_alias(name, alias, actor=svc.actor(), reason=reason)
    if as_json:
        print_json(change.to_dict())
    else:
        out.print(f"{name}: removed {alias} (was version {change.from_version})")


@app.command("history")
def history(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO time: print which version held the alias then."),
    ] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Only moves of this alias (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent N events.")] = 200,
    as_json: _Json = False,
) -> None:
    """The audit log of a model: registrations and alias moves, with actor and reason."""
    from registry import names

    svc = services()
    svc.registry.get_model(name)
    if at is not None:
        when = _parse_time(at)
        target = alias or names.CHAMPION
        version = svc.ledger.alias_at(name, when, target)
        if as_json:
            print_json({"model": name, "alias": target, "at": when.isoformat(), "version": version})
        elif version is None:
            out.print(f"{name}: no version held '{target}' at {when.isoformat()}")
        else:
            out.print(f"{name}: version {version} was {target} at {when.isoformat()}")
        return
    events = svc.ledger.history(name, alias=alias, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    if not events:
        out.print(f"{name}: no recorded events")
        return
    table = Table("time", "event", "alias", "from", "to", "actor", "reason")
    for e in events:
        table.add_row(
            fmt_time(e.at),
            e.kind,
            e.alias or "",
            e.from_version or "",
            e.to_version or "",
            e.actor,
            e.reason or "",
        )
    out.print(table)


def _parse_time(text: str) -> datetime:
    from registry.errors import InvalidInput

    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"--at '{text}' is not an ISO time (e.g. 2026-11-21T14:00:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.now(UTC).astimezone().tzinfo)


__all__ = ["app"]
