"""`turnout rollout`: start progressive rollouts, watch them, explain and steer them."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from turnout.cli._common import fmt_time, out, print_json, services
from turnout.cli._common import print_error as _print_error
from turnout.cli.backend import backend

app = typer.Typer(
    help="Progressive rollouts: canary, blue-green, A/B and shadow.", no_args_is_help=True
)

_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_Reason = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why; stored in the audit log.")
]
_Id = Annotated[int, typer.Argument(help="Rollout id (see `turnout rollout list`).")]


def _controller() -> Any:
    from turnout.serve import build_controller

    # Commands act at once on the rollout; the compare-and-swap on its row, not the
    # lease, keeps them from racing the running controller.
    return build_controller(services(), lease=False)


def _row_dict(row: Any) -> dict[str, Any]:
    from router.controller.store import rollout_document

    return rollout_document(row, now=time.time())


@app.command("start")
def start(
    name: Annotated[str | None, typer.Argument(help="Model (omit with -f).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Candidate version.")] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", help="canary, bluegreen, abtest or shadow.")
    ] = "canary",
    steps: Annotated[
        str, typer.Option("--steps", help="Canary weights, e.g. 5,25,50,100.")
    ] = "5,25,50,100",
    step_duration: Annotated[
        float, typer.Option("--step-duration", min=1, help="Seconds of analysis per step.")
    ] = 60.0,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Version to compare with (default: champion).")
    ] = None,
    no_analysis: Annotated[
        bool, typer.Option("--no-analysis", help="Timers only, no metric analysis.")
    ] = False,
    no_promote: Annotated[
        bool, typer.Option("--no-promote", help="Do not move the champion alias at the end.")
    ] = False,
    spec_file: Annotated[
        Path | None, typer.Option("-f", "--file", help="Rollout spec (YAML or JSON).")
    ] = None,
    as_json: _Json = False,
) -> None:
    """Start a rollout; the controller (in `turnout serve`) walks it from there."""
    from router.rollout import SpecError, load_spec, spec_from_flags

    if spec_file is not None:
        if not spec_file.is_file():
            raise SpecError(f"spec file not found: {spec_file}")
        spec = load_spec(spec_file.read_text(encoding="utf-8"), source=str(spec_file))
    else:
        if name is None or to is None:
            raise SpecError("give NAME and --to VERSION, or -f SPEC_FILE")
        spec = spec_from_flags(
            name,
            to,
            strategy,
            baseline=baseline,
            steps=steps,
            step_duration_s=step_duration,
            analysis=not no_analysis,
            promote=not no_promote,
        )
    started = backend().start(spec.to_dict())
    if as_json:
        print_json(started)
        return
    resolved = started["spec"]
    out.print(
        f"rollout #{started['id']}: {resolved['model']} v{resolved['baseline']} -> "
        f"v{resolved['candidate']} ({resolved['strategy']}); the controller in "
        "`turnout serve` takes it from here",
        markup=False,
    )


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: _Json = False,
) -> None:
    """Recent rollouts, newest first."""
    rows = backend().rollouts(name, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no rollouts")
        return
    table = Table("id", "model", "strategy", "from", "to", "phase", "where")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["model"],
            r["strategy"],
            r["baseline"],
            r["candidate"],
            r["phase"],
            r["summary"],
        )
    out.print(table)


@app.command("status")
def status(rollout_id: _Id, as_json: _Json = False) -> None:
    """Where a rollout is, and its last verdict."""
    source = backend()
    row = source.rollout(rollout_id)
    last = source.decisions(rollout_id, 1)
    verdict = (
        None
        if not last
        else {"verdict": last[0]["verdict"], "reason": last[0]["reason"], "at": last[0]["at"]}
    )
    if as_json:
        print_json({**row, "last_decision": verdict})
        return
    out.print(
        f"rollout #{row['id']} {row['model']}: v{row['baseline']} -> v{row['candidate']} "
        f"({row['strategy']})",
        markup=False,
    )
    out.print(f"  phase: {row['phase']}  ({row['summary']})", markup=False)
    if row["message"]:
        out.print(f"  message: {row['message']}", markup=False)
    if verdict:
        out.print(f"  last verdict: {verdict['verdict']}: {verdict['reason']}", markup=False)


@app.command("explain")
def explain(
    rollout_id: _Id,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Last N decisions.")] = 20,
    as_json: _Json = False,
) -> None:
    """Every recorded decision: measurements, thresholds, statistics, verdict and why."""
    from router.analysis import Verdict

    docs = backend().decisions(rollout_id, limit)
    if as_json:
        print_json(docs)
        return
    if not docs:
        out.print(f"rollout #{rollout_id}: no decisions yet")
        return
    for d in docs:
        move = (
            d["phase_before"]
            if d["phase_before"] == d["phase_after"]
            else (f"{d['phase_before']} -> {d['phase_after']}")
        )
        out.print(
            f"{fmt_time(datetime.fromisoformat(d['at']))}  step {d['step_index']}  "
            f"{move}  [{d['verdict']}]",
            markup=False,
        )
        evidence = d["evidence"] or {}
        if "phase" in evidence and "metrics" in evidence:
            text = Verdict.from_dict(evidence).explain()
            for line in text.splitlines()[1:]:
                out.print(f"    {line}", markup=False)
        out.print(f"    why: {d['reason']}", markup=False)
        if evidence.get("actions_done"):
            out.print(f"    did: {'; '.join(evidence['actions_done'])}", markup=False)


def _command(kind: str, rollout_id: int, reason: str | None, as_json: bool) -> None:
    result = backend().command(rollout_id, kind, reason or "")
    if as_json:
        print_json(result)
        return
    before, after = result["phase_before"], result["phase"]
    moved = before if before == after else f"{before} -> {after}"
    extra = f" ({'; '.join(result['done'])})" if result["done"] else ""
    out.print(f"rollout #{rollout_id}: {kind}: {moved}{extra}", markup=False)


@app.command("approve")
def approve(rollout_id: _Id, reason: _Reason = None, as_json: _Json = False) -> None:
    """Let a paused step pass (waiting for approval, inconclusive, or no data)."""
    _command("approve", rollout_id, reason, as_json)


@app.command("pause")
def pause(rollout_id: _Id, reason: _Reason = None, as_json: _Json = False) -> None:
    """Hold the rollout where it is."""
    _command("pause", rollout_id, reason, as_json)


@app.command("resume")
def resume(rollout_id: _Id, reason: _Reason = None, as_json: _Json = False) -> None:
    """Continue a paused rollout, judging the current step again from its start."""
    _command("resume", rollout_id, reason, as_json)


@app.command("promote")
def promote(
    rollout_id: _Id,
    full: Annotated[
        bool, typer.Option("--full", help="Also skip a blue-green post-promotion window.")
    ] = False,
    reason: _Reason = None,
    as_json: _Json = False,
) -> None:
    """Skip the remaining steps: 100% to the candidate and move the champion alias."""
    _command("promote_full" if full else "promote", rollout_id, reason, as_json)


@app.command("abort")
def abort(rollout_id: _Id, reason: _Reason = None, as_json: _Json = False) -> None:
    """Stop now: traffic back to the baseline, champion restored if it had moved."""
    _command("abort", rollout_id, reason, as_json)


@app.command("retry")
def retry(rollout_id: _Id, reason: _Reason = None, as_json: _Json = False) -> None:
    """Start a rolled back, aborted or failed rollout again from the beginning."""
    _command("retry", rollout_id, reason, as_json)


@app.command("history")
def history(rollout_id: _Id, as_json: _Json = False) -> None:
    """The rollout's events: start, each step, rollback or promotion, with actors."""
    from sqlalchemy import select

    from migrations.models import Event
    from router.controller.store import get_rollout

    with services().sessions() as session:
        get_rollout(session, rollout_id)
        events = session.scalars(
            select(Event).where(Event.rollout_id == rollout_id).order_by(Event.id)
        ).all()
        docs: list[dict[str, Any]] = [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "reason": e.reason,
                "payload": e.payload,
            }
            for e in events
        ]
    if as_json:
        print_json(docs)
        return
    table = Table("time", "event", "actor", "reason")
    for d in docs:
        table.add_row(
            fmt_time(datetime.fromisoformat(d["at"])), d["kind"], d["actor"], d["reason"] or ""
        )
    out.print(table)


def controller(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
) -> None:
    """Run only the rollout controller (when gateways run with TURNOUT_ROLE=gateway)."""
    ctl = _controller_leased()
    if once:
        for r in ctl.tick():
            out.print(f"rollout #{r.rollout_id}: {r.phase_before} -> {r.phase_after}", markup=False)
        return
    out.print(f"controller running (tick every {ctl.interval_s:g} s); Ctrl-C to stop")
    try:
        while True:
            try:
                ctl.tick()
            except Exception as exc:  # the DB went away, say: keep trying, as serve does
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                _common_err(f"controller tick failed ({type(exc).__name__}: {reason}); retrying")
            time.sleep(ctl.interval_s)
    except KeyboardInterrupt:
        ctl.stop()


def _common_err(message: str) -> None:
    _print_error(message, label="warning")


def _controller_leased() -> Any:
    from turnout.serve import build_controller

    return build_controller(services(), lease=True)


__all__ = ["app", "controller"]


# -- simulate: replay a spec offline ------------------------------------------------------

_SYNTHETIC_HELP = (
    "Synthetic traffic as key=value pairs: rps, baseline_error, candidate_error, "
    "baseline_latency_ms, candidate_latency_ms, latency_sigma, baseline_positive, "
    "candidate_positive; candidate values default to the baseline's "
    "(default: a healthy candidate at 100 req/s)."
)


@app.command("simulate")
def simulate(
    spec_file: Annotated[Path, typer.Option("-f", "--file", help="Rollout spec (YAML or JSON).")],
    synthetic: Annotated[str | None, typer.Option("--synthetic", help=_SYNTHETIC_HELP)] = None,
    traffic: Annotated[
        Path | None,
        typer.Option(
            "--traffic",
            help="Logged traffic, CSV or Parquet: t (s from start), version, error (0/1), "
            "latency_ms; optional label, prediction.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same replay.")] = 0,
    max_seconds: Annotated[
        float, typer.Option("--max-seconds", min=1, help="Simulated seconds at most.")
    ] = 7200.0,
    as_json: _Json = False,
) -> None:
    """Replay a spec offline through the real judge and state machine (no server, no DB)."""
    from router.controller.replay import ReplayError, SyntheticTraffic, TrafficLog, replay
    from router.rollout import SpecError, load_spec
    from turnout.cli._common import err, fail

    if not spec_file.is_file():
        raise SpecError(f"spec file not found: {spec_file}")
    spec = load_spec(spec_file.read_text(encoding="utf-8"), source=str(spec_file))
    if synthetic is not None and traffic is not None:
        raise fail("give --synthetic or --traffic, not both")
    source: SyntheticTraffic | TrafficLog
    try:
        if traffic is not None:
            from registry.data import read_table

            frame = read_table(traffic, what="traffic")
            source = TrafficLog.from_frame(frame, spec, source=str(traffic))
            described = f"traffic log {traffic}"
        else:
            source = SyntheticTraffic.parse(synthetic or "")
            described = f"synthetic traffic ({source.describe()})"
        with err.status("replaying...", spinner="dots"):
            result = replay(spec, source, seed=seed, max_seconds=max_seconds)
    except ReplayError as exc:
        raise fail(str(exc)) from None
    baseline = spec.baseline or source.baseline_for(spec)
    if as_json:
        print_json(
            {
                "model": spec.model,
                "strategy": spec.strategy,
                "baseline": baseline,
                "candidate": spec.candidate,
                "traffic": described,
                "seed": seed,
                **result.to_dict(),
            }
        )
        return
    out.print(
        f"replay of {spec.strategy} {spec.model} v{baseline} -> v{spec.candidate} on "
        f"{described}, seed {seed}",
        markup=False,
    )
    for event in result.timeline:
        out.print(
            f"{event.t:>7.0f} s  {event.phase:<13} {event.weight:>3}%  {event.note}", markup=False
        )
    if result.decided_at is None:
        out.print(
            f"final: {result.final_phase} (no decision within {result.ended_at:g} s)", markup=False
        )
    else:
        out.print(
            f"final: {result.final_phase}, decided after {result.decided_at:g} s", markup=False
        )
    if result.verdict is not None:
        label = "decisive verdict" if result.decided_at is not None else "last verdict"
        out.print(f"{label}:", markup=False)
        for line in result.verdict.explain().splitlines():
            out.print(f"  {line}", markup=False)


# -- watch: a live view of one rollout ----------------------------------------------------

_BAR_WIDTH = 40


def _weight_bar(weight: int) -> str:
    filled = round(_BAR_WIDTH * weight / 100)
    return "█" * filled + "░" * (_BAR_WIDTH - filled)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _watch_frame(rollout_id: int) -> tuple[Any, bool]:
    """One frame of `rollout watch`, and whether the rollout has ended."""
    from rich.console import Group
    from rich.text import Text
    from sqlalchemy import select

    from migrations.models import Event
    from router.analysis import Verdict
    from router.controller.store import decisions, get_rollout
    from router.rollout import RolloutSpec, RolloutStatus, describe_status

    with services().sessions() as session:
        row = get_rollout(session, rollout_id)
        spec = RolloutSpec.from_dict(row.spec)
        status = RolloutStatus.from_dict(row.status)
        recent = decisions(session, rollout_id, limit=20)
        judged = next((d for d in reversed(recent) if "metrics" in (d.measurements or {})), None)
        verdict = None if judged is None else Verdict.from_dict(judged.measurements)
        verdict_at = None if judged is None else judged.at
        events = list(
            session.scalars(
                select(Event)
                .where(Event.rollout_id == rollout_id)
                .order_by(Event.id.desc())
                .limit(5)
            )
        )[::-1]
        head = (
            f"rollout #{row.id} {row.model_name}: v{row.baseline_version} -> "
            f"v{row.candidate_version} ({row.strategy})"
        )
        updated = fmt_time(row.updated_at)
        event_rows = [
            (
                fmt_time(e.at),
                e.kind,
                e.actor,
                e.reason or str((e.payload or {}).get("message", "")),
            )
            for e in events
        ]
    parts: list[Any] = [
        Text(head, style="bold"),
        Text(f"phase: {status.phase}  (updated {updated})"),
        Text(describe_status(status, spec, now=time.time())),
        Text(f"weight {_weight_bar(status.weight)} {status.weight:>3}% to v{spec.candidate}"),
    ]
    if verdict is None:
        parts.append(Text("no verdict yet"))
    else:
        parts.append(Text(f"last verdict ({fmt_time(verdict_at)}): {verdict.phase}"))
        table = Table("metric", "phase", "candidate", "baseline", "why", expand=False)
        for m in verdict.metrics:
            table.add_row(m.name, m.phase, _number(m.value), _number(m.baseline), m.message)
        parts.append(table)
    if event_rows:
        table = Table("time", "event", "actor", "detail", title="recent events")
        for cells in event_rows:
            table.add_row(*cells)
        parts.append(table)
    return Group(*parts), status.is_terminal


@app.command("watch")
def watch(
    rollout_id: _Id,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between refreshes.")
    ] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Print one frame and exit.")] = False,
) -> None:
    """A live view of a rollout until it ends (Ctrl-C to stop watching)."""
    from rich.live import Live

    frame, done = _watch_frame(rollout_id)
    if once or done:
        out.print(frame)
        return
    try:
        with Live(frame, console=out, auto_refresh=False) as live:
            while not done:
                time.sleep(interval)
                frame, done = _watch_frame(rollout_id)
                live.update(frame, refresh=True)
    except KeyboardInterrupt:
        return
