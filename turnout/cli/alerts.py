"""`turnout alerts`: list, show and acknowledge alerts, test a sink, run the delivery worker."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from turnout.cli._common import fail, fmt_time, out, print_json, services

app = typer.Typer(
    help="Alerts (drift, data quality, rollbacks) and their delivery to sinks.",
    no_args_is_help=True,
)
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_Id = Annotated[str, typer.Argument(help="Alert id, or a unique prefix of 6+ characters.")]


def _status_line(alert: Any) -> str:
    counts = alert.delivery_counts()
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    return ", ".join(parts) or "no sinks"


@app.command("list")
def list_cmd(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open or acked (default: both).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="drift, data_quality, rollout_rollback or test."),
    ] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", help="At least this severity: info, warn, critical.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    as_json: _Json = False,
) -> None:
    """Alerts, newest first, with how their deliveries stand."""
    from monitors.alerts import list_alerts

    if status is not None and status not in ("open", "acked"):
        raise fail(f"--status must be open or acked, got '{status}'")
    try:
        with services().sessions() as session:
            alerts = list_alerts(
                session, model=model, status=status, kind=kind, min_severity=severity, limit=limit
            )
    except ValueError as exc:  # an unknown kind or severity
        raise fail(str(exc)) from None
    if as_json:
        print_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        out.print("no alerts")
        return
    table = Table("id", "raised", "severity", "kind", "model", "title", "status", "deliveries")
    for a in alerts:
        target = a.model if a.version is None else f"{a.model} v{a.version}"
        state = a.status if not a.repeats else f"{a.status} (+{a.repeats})"
        table.add_row(
            a.id[:8],
            fmt_time(a.created_at),
            a.severity,
            a.kind,
            target,
            a.title,
            state,
            _status_line(a),
        )
    out.print(table)


@app.command("show")
def show(alert_id: _Id, as_json: _Json = False) -> None:
    """One alert: what it says, and each delivery's attempts and last error."""
    from monitors.alerts import get_alert

    with services().sessions() as session:
        alert = get_alert(session, alert_id)
    if as_json:
        print_json(alert.to_dict())
        return
    target = alert.model if alert.version is None else f"{alert.model} v{alert.version}"
    out.print(f"alert {alert.id}", markup=False)
    out.print(f"  {alert.severity} {alert.kind} {target}: {alert.title}", markup=False)
    out.print(f"  raised {fmt_time(alert.created_at)}, dedup key {alert.dedup_key}", markup=False)
    if alert.repeats:
        out.print(
            f"  repeated {alert.repeats} times within the cooldown "
            f"(last {fmt_time(alert.last_seen_at)})",
            markup=False,
        )
    if alert.status == "acked":
        out.print(f"  acked by {alert.acked_by} at {fmt_time(alert.acked_at)}", markup=False)
    else:
        out.print("  open (not acknowledged)")
    if alert.summary:
        out.print(f"  {alert.summary}", markup=False)
    for f in alert.features:
        out.print(
            f"  - {f.feature}: {f.statistic} {f.value:.4g} (threshold {f.threshold:.4g}) {f.band}",
            markup=False,
        )
    table = Table("sink", "status", "attempts", "last attempt", "next attempt", "last error")
    for d in alert.deliveries:
        table.add_row(
            d.sink,
            d.status,
            str(d.attempts),
            fmt_time(d.last_attempt_at),
            fmt_time(d.next_attempt_at) if d.status == "pending" else "",
            d.last_error or "",
        )
    out.print(table)


@app.command("ack")
def ack(alert_id: _Id, as_json: _Json = False) -> None:
    """Acknowledge an alert (someone is on it); deliveries still pending are still sent."""
    from monitors.alerts import ack_alert

    svc = services()
    with svc.sessions.begin() as session:
        alert = ack_alert(session, alert_id, svc.actor())
    if as_json:
        print_json(alert.to_dict())
        return
    out.print(f"alert {alert.id} acked by {alert.acked_by}", markup=False)


@app.command("test")
def test(
    sink: Annotated[str, typer.Argument(help="Sink name from the alerts config (or 'log').")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model named in the alert.")] = "test",
    as_json: _Json = False,
) -> None:
    """Send a test alert to SINK now and say whether the receiver took it (tried once)."""
    from monitors.alerts import (
        AlertKind,
        DeliveryWorker,
        NewAlert,
        RetryPolicy,
        Severity,
        get_alert,
        pending_for,
        raise_alert,
    )
    from turnout.alerting import alert_sinks, alerts_config

    svc = services()
    config = alerts_config(svc.settings)
    config.sink(sink)  # UnknownSink before anything is stored
    alert = NewAlert(
        kind=AlertKind.TEST,
        severity=Severity.INFO,
        model=model,
        title=f"turnout test alert for sink '{sink}'",
        summary="Sent by `turnout alerts test`; nothing is wrong.",
    )
    with svc.sessions.begin() as session:
        raised = raise_alert(session, config, alert, sinks=[sink])
    worker = DeliveryWorker(
        svc.sessions, alert_sinks(svc.settings, config), RetryPolicy(max_attempts=1)
    )
    with svc.sessions() as session:
        due = pending_for(session, raised.alert_id)
    for item in due:
        worker.deliver(item)
    with svc.sessions() as session:
        stored = get_alert(session, raised.alert_id)
    delivery = stored.deliveries[0]
    if as_json:
        print_json(stored.to_dict())
        if delivery.status != "delivered":
            raise typer.Exit(1)
        return
    if delivery.status != "delivered":
        raise fail(f"test alert to '{sink}' failed: {delivery.last_error}")
    out.print(f"test alert {stored.id} delivered to '{sink}'", markup=False)


@app.command("deliver")
def deliver(
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep delivering until interrupted.")
    ] = False,
    as_json: _Json = False,
) -> None:
    """Send the deliveries that are due now (once), or keep the worker running.

    `turnout serve` runs the same worker; use this where no server runs it.
    """
    from turnout.alerting import build_alert_worker

    worker = build_alert_worker(services())
    if forever:
        worker.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopping")
        finally:
            worker.stop()
        return
    report = worker.run_once()
    doc = {
        "delivered": len(report.delivered),
        "retrying": len(report.retrying),
        "failed": len(report.failed),
        "errors": {str(k): v for k, v in report.errors.items()},
    }
    if as_json:
        print_json(doc)
        return
    out.print(
        f"{doc['delivered']} delivered, {doc['retrying']} to retry, {doc['failed']} failed",
        markup=False,
    )
    for delivery_id, error in report.errors.items():
        out.print(f"  delivery {delivery_id}: {error}", markup=False)


@app.command("purge")
def purge_cmd(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age such as 30d or 12h (default 30d).")
    ] = "30d",
) -> None:
    """Delete alerts older than this with nothing left to send."""
    from datetime import timedelta

    from migrations.coltypes import utcnow
    from monitors.alerts import parse_duration, purge

    try:
        seconds = parse_duration(older_than)
    except ValueError as exc:
        raise fail(f"--older-than: {exc}") from None
    with services().sessions.begin() as session:
        removed = purge(session, utcnow() - timedelta(seconds=seconds))
    out.print(f"{removed} alerts purged")
