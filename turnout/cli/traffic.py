"""`turnout traffic`: set, show and reset a model's routing policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from turnout.cli._common import fmt_time, out, print_json, services

app = typer.Typer(
    help="Routing policies: weights, header/cookie matches, shadow.", no_args_is_help=True
)

_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_Reason = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why; stored in the audit log.")
]


@app.command("set")
def set_policy(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    weights: Annotated[
        list[str], typer.Argument(help="VERSION=WEIGHT pairs summing to 100, e.g. 1=90 2=10.")
    ],
    shadow: Annotated[
        str | None, typer.Option("--shadow", help="VERSION:PERCENT mirrored traffic, e.g. 3:20.")
    ] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(
            "--match",
            help="header:NAME=VALUE->VERSION (also ^= prefix, ~= regex; cookie:...); repeatable.",
        ),
    ] = None,
    sticky_cookie: Annotated[
        str | None, typer.Option("--sticky-cookie", help="Cookie holding the routing key.")
    ] = None,
    sticky_field: Annotated[
        str | None, typer.Option("--sticky-field", help="JSON body field holding the routing key.")
    ] = None,
    seed: Annotated[
        str | None, typer.Option("--seed", help="Hash seed for sticky routing (default: model).")
    ] = None,
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Store a new routing policy; every gateway applies it within a second."""
    from router.serving.policy_check import check_policy_versions
    from router.serving.policy_store import put_policy
    from router.traffic import (
        RoutingPolicy,
        StickyKey,
        parse_match,
        parse_shadow,
        parse_weights,
    )

    svc = services()
    svc.registry.get_model(name)
    policy = RoutingPolicy(
        model=name,
        routes=parse_weights(weights),
        match=tuple(parse_match(m) for m in (match or [])),
        shadow=parse_shadow(shadow) if shadow else None,
        sticky=StickyKey(cookie=sticky_cookie, json_field=sticky_field),
        seed=name if seed is None else seed,
    )
    policy.validate()
    check_policy_versions(svc.registry, policy)
    with svc.sessions.begin() as session:
        stored = put_policy(session, name, policy, actor=svc.actor(), reason=reason)
    if as_json:
        print_json(stored.to_dict())
        return
    split = ", ".join(f"v{r.version}={r.weight}%" for r in policy.routes)
    out.print(f"{name}: policy revision {stored.revision}: {split}", markup=False)


@app.command("reset")
def reset(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Send all traffic to the champion again (drop weights, matches and shadow)."""
    from router.serving.policy_store import put_policy

    svc = services()
    svc.registry.get_model(name)
    with svc.sessions.begin() as session:
        stored = put_policy(session, name, None, actor=svc.actor(), reason=reason)
    if as_json:
        print_json(stored.to_dict())
    else:
        out.print(f"{name}: policy revision {stored.revision}: follow champion")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    window: Annotated[
        int, typer.Option("--window", min=1, help="Seconds of live stats to show.")
    ] = 60,
    as_json: _Json = False,
) -> None:
    """The model's current policy, its recent revisions, and live stats per version."""
    from router.serving.policy_store import policy_history
    from router.telemetry.store import read_merged

    svc = services()
    model = svc.registry.get_model(name)
    since = datetime.now(UTC) - timedelta(seconds=window)
    with svc.sessions() as session:
        history = policy_history(session, name, limit=10)
        stats = read_merged(session, name, since=since)
    champion = model.aliases.get("champion")
    doc: dict[str, Any] = {
        "model": name,
        "champion": champion,
        "current": history[0].to_dict() if history else None,
        "history": [h.to_dict() for h in history],
        "stats": {v: _stats_dict(s) for v, s in stats.items()},
        "window_s": window,
    }
    if as_json:
        print_json(doc)
        return
    current = history[0] if history else None
    if current is None or current.policy is None:
        out.print(f"{name}: all traffic to the champion (v{champion or '-'})", markup=False)
    else:
        p = current.policy
        out.print(
            f"{name}: revision {current.revision} by {current.created_by} "
            f"at {fmt_time(current.created_at)}",
            markup=False,
        )
        for r in p.routes:
            out.print(f"  v{r.version}: {r.weight}%", markup=False)
        for m in p.match:
            out.print(
                f"  match {m.source}:{m.name} {m.op} {m.value!r} -> v{m.version}", markup=False
            )
        if p.shadow is not None:
            out.print(f"  shadow v{p.shadow.version}: {p.shadow.percent:g}% mirrored", markup=False)
    if stats:
        table = Table("version", "requests", "errors", "error rate", "p50 ms", "p99 ms")
        for version, s in sorted(stats.items()):
            d = _stats_dict(s)
            table.add_row(
                version,
                str(d.get("requests", 0)),
                str(d.get("errors", 0)),
                f"{d.get('error_rate', 0.0):.2%}",
                _ms(d.get("p50")),
                _ms(d.get("p99")),
            )
        out.print(table)
    else:
        out.print(f"no traffic recorded in the last {window}s")


def _stats_dict(stats: Any) -> dict[str, Any]:
    return dict(stats.summary())


def _ms(seconds: Any) -> str:
    return "-" if seconds is None else f"{float(seconds) * 1000:.2f}"
