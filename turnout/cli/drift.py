"""`turnout drift` and `turnout monitor`: drift checks offline, the live monitor's reports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from turnout.cli._common import fail, fmt_time, out, print_json, services
from turnout.cli._common import print_error as _print_error

app = typer.Typer(
    help="Drift of live or batch inputs from the training data.", no_args_is_help=True
)

_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_BAND_STYLE = {"OK": "green", "WARN": "yellow", "DRIFT": "red", "NO_DATA": "dim"}


def _split_model(ref: str) -> tuple[str, str | None]:
    """NAME, NAME@ALIAS or NAME:VERSION -> (name, version reference for registry.resolve)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, f"@{alias}"
    if ":" in ref:
        name, version = ref.split(":", 1)
        return name, version
    return ref, None


@app.command("check")
def check(
    current: Annotated[
        Path, typer.Option("--current", "-c", help="The data to check (CSV or Parquet).")
    ],
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference", "-r", help="Reference data (CSV or Parquet); default: --model's profile."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="NAME, NAME@ALIAS or NAME:VERSION: compare with that version's reference "
            "profile (without --reference), or only its input columns (with it).",
        ),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option("--categorical", help="Treat this column as categorical (repeatable)."),
    ] = None,
    as_json: _Json = False,
) -> None:
    """Compare two tables (or a table with a model's reference profile).

    Exit status: 0 no drift, 1 warning (or nothing comparable), 2 drift. For CI and
    batch jobs: `turnout drift check -r train.parquet -c today.parquet || retrain`.
    """
    from monitors.check import check_frames, evaluate_window, exit_code
    from monitors.errors import MonitorError
    from registry.data import read_table

    if reference is None and model is None:
        raise fail("give --reference, --model, or both")
    cur = read_table(current, what="current data")
    if model is not None:
        profile, label = _model_profile(model)
        columns = [f.name for f in profile.features]
        if reference is None:
            result = evaluate_window(profile, _sketch_of(profile, cur, columns))
            source = f"{label} reference profile ({profile.rows} rows)"
        else:
            ref = read_table(reference, what="reference data")
            shared = [c for c in columns if c in ref.columns]
            result = check_frames(ref[shared], _only(cur, shared), categorical=categorical or ())
            source = f"{reference} (columns of {label})"
    else:
        assert reference is not None
        ref = read_table(reference, what="reference data")
        try:
            result = check_frames(ref, cur, categorical=categorical or ())
        except MonitorError:
            raise
        source = str(reference)
    code = exit_code(result)
    if as_json:
        print_json({**result.to_dict(), "reference": source, "current": str(current)})
    else:
        _print_result(result.to_dict(), title=f"{current} against {source}")
    raise typer.Exit(code)


def _only(frame: Any, columns: list[str]) -> Any:
    from monitors.errors import ColumnMismatch

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnMismatch(f"the current data lacks the model's columns: {', '.join(missing)}")
    return frame[columns]


def _model_profile(ref: str) -> tuple[Any, str]:
    from monitors import profile_from_json
    from registry.client import resolve

    name, version_ref = _split_model(ref)
    svc = services()
    info = resolve(svc.registry, name, version_ref)
    text = svc.registry.reference_profile(name, str(info.version))
    label = f"{name} v{info.version}"
    if text is None:
        raise fail(
            f"{label} has no reference profile: register it with --reference, or pass "
            "--reference to compare two files"
        )
    return profile_from_json(text), label


def _sketch_of(profile: Any, frame: Any, columns: list[str]) -> dict[str, Any]:
    from router.telemetry import InputSketcher

    sketcher = InputSketcher.from_profile(profile, columns)
    sketcher.observe_rows(_only(frame, columns))
    return sketcher.to_dict()


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _print_result(doc: dict[str, Any], *, title: str) -> None:
    verdict = doc.get("verdict", "?")
    style = _BAND_STYLE.get(verdict, "")
    out.print(f"{title}: [{style}]{verdict}[/{style}]" if style else f"{title}: {verdict}")
    drifted = doc.get("drifted") or []
    features = doc.get("features") or []
    out.print(
        f"{len(drifted)} of {len(features)} features drifted; "
        f"{doc.get('rows', '?')} rows against {doc.get('reference_rows', '?')}",
        markup=False,
    )
    table = Table("feature", "method", "effect", "warn at", "drift at", "p (BH)", "band", "quality")
    rows = [*features]
    if doc.get("prediction"):
        rows.append({**doc["prediction"], "name": "(prediction)"})
    for f in rows:
        band = str(f.get("band", "?"))
        quality = f.get("quality") or {}
        issues = "; ".join(quality.get("issues") or []) or quality.get("band", "")
        style = _BAND_STYLE.get(band, "")
        table.add_row(
            str(f.get("name")),
            str(f.get("method") or "-"),
            _fmt(f.get("effect")),
            _fmt(f.get("warn_threshold")),
            _fmt(f.get("drift_threshold")),
            _fmt(f.get("p_adjusted")),
            f"[{style}]{band}[/{style}]" if style else band,
            str(issues),
        )
    out.print(table)
    for note in doc.get("notes") or []:
        out.print(f"note: {note}", markup=False)


@app.command("status")
def status(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="One version (default: every one).")
    ] = None,
    windows: Annotated[int, typer.Option("--windows", "-n", min=1, max=200)] = 6,
    as_json: _Json = False,
) -> None:
    """The latest windows per feature: a band per feature and window, newest on the right."""
    from monitors.store import latest_reports

    with services().sessions() as session:
        reports = latest_reports(session, name, version, limit=windows * 20)
    by_version: dict[str, list[Any]] = {}
    for r in reports:
        kept = by_version.setdefault(r.version, [])
        if len(kept) < windows:
            kept.append(r)
    if as_json:
        print_json({v: [r.to_dict() for r in reversed(rs)] for v, rs in sorted(by_version.items())})
        return
    if not by_version:
        out.print(
            f"no drift reports for {name}"
            + (f" v{version}" if version else "")
            + " yet: the monitor stores one per window of live traffic "
            "(`turnout serve` runs it; `turnout monitor` alone)",
            markup=False,
        )
        return
    for v, rs in sorted(by_version.items()):
        rs = list(reversed(rs))
        table = Table(title=f"{name} v{v}", title_justify="left")
        table.add_column("feature")
        for r in rs:
            table.add_column(r.window_end.astimezone().strftime("%H:%M:%S"))
        names: list[str] = []
        for r in rs:
            for f in r.document.get("features", []):
                if f.get("name") not in names:
                    names.append(str(f.get("name")))
        table.add_row("[bold]dataset[/bold]", *[_cell(r.verdict) for r in rs])
        table.add_row("rows", *[str(r.rows) for r in rs])
        for feature in names:
            cells = []
            for r in rs:
                found = next(
                    (f for f in r.document.get("features", []) if f.get("name") == feature), None
                )
                cells.append(_cell(found.get("band") if found else None))
            table.add_row(feature, *cells)
        if any(r.document.get("prediction") for r in rs):
            table.add_row(
                "(prediction)",
                *[_cell((r.document.get("prediction") or {}).get("band")) for r in rs],
            )
        out.print(table)
        last = rs[-1]
        out.print(
            f"latest report #{last.id}: {fmt_time(last.window_start)} .. "
            f"{fmt_time(last.window_end)}; `turnout drift show {last.id}` for its numbers",
            markup=False,
        )


def _cell(band: str | None) -> str:
    if band is None:
        return "[dim]-[/dim]"
    style = _BAND_STYLE.get(band, "")
    return f"[{style}]{band}[/{style}]" if style else band


@app.command("show")
def show(
    report_id: Annotated[int, typer.Argument(help="Report id (see `turnout drift status`).")],
    as_json: _Json = False,
) -> None:
    """One stored window's verdict: every feature's statistic, thresholds and band."""
    from monitors.store import report_by_id

    with services().sessions() as session:
        report = report_by_id(session, report_id)
    if report is None:
        raise fail(f"no drift report #{report_id}")
    if as_json:
        print_json(report.to_dict())
        return
    _print_result(
        {**report.document, "verdict": report.verdict, "rows": report.rows},
        title=f"#{report.id} {report.model} v{report.version} "
        f"{fmt_time(report.window_start)} .. {fmt_time(report.window_end)}",
    )


@app.command("report")
def report(
    name: Annotated[str, typer.Argument(help="Model name.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML page.")],
    window: Annotated[
        int | None,
        typer.Option("--window", "-w", help="Report id (default: the latest window)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Latest window of this version.")
    ] = None,
) -> None:
    """Write the Evidently report of a window: its raw-row sample against the reference."""
    import shutil

    from monitors.store import get_report, latest_reports
    from monitors.window_report import window_report

    svc = services()
    with svc.sessions() as session:
        if window is None:
            found = latest_reports(session, name, version, limit=1)
            if not found:
                raise fail(f"no drift reports for {name}" + (f" v{version}" if version else ""))
            chosen = found[0]
        else:
            chosen = get_report(session, window)
            if chosen.model != name:
                raise fail(f"drift report #{window} is of {chosen.model}, not {name}")
    cache = svc.settings.resolved_state_dir() / "reports"
    page = window_report(svc.sessions, svc.registry, chosen.id, cache)
    if not out_path.parent.is_dir():
        raise fail(f"cannot write {out_path}: folder {str(out_path.parent)!r} does not exist")
    shutil.copyfile(page, out_path)
    out.print(
        f"report #{chosen.id} ({chosen.model} v{chosen.version}, {chosen.verdict}, "
        f"{fmt_time(chosen.window_start)} .. {fmt_time(chosen.window_end)}) -> {out_path}",
        markup=False,
    )


def monitor(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    deliver: Annotated[
        bool,
        typer.Option("--deliver/--no-deliver", help="Also deliver alerts (the outbox worker)."),
    ] = True,
) -> None:
    """Run only the drift monitor (when gateways run with TURNOUT_ROLE=gateway)."""
    from turnout.alerting import build_alert_worker
    from turnout.monitoring import build_monitor

    svc = services()
    mon = build_monitor(svc)
    if once:
        reports = mon.tick()
        for r in reports:
            out.print(
                f"{r.model} v{r.version} {fmt_time(r.window_start)} .. "
                f"{fmt_time(r.window_end)}: {r.verdict} ({r.rows} rows) report #{r.id}",
                markup=False,
            )
        for (m, v), message in sorted(mon.last_errors.items()):
            _print_error(f"{m} v{v}: {message}", label="warning")
        if not reports:
            out.print("no complete window to judge", markup=False)
        if deliver:
            build_alert_worker(svc).run_once()
        return
    worker = build_alert_worker(svc) if deliver else None
    out.print(
        f"drift monitor running (windows of {mon.config.spec.describe()}, a tick every "
        f"{mon.config.interval_s:g} s); Ctrl-C to stop",
        markup=False,
    )
    if worker is not None:
        worker.start()
    mon.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        mon.stop()
        if worker is not None:
            worker.stop()


__all__ = ["app", "monitor"]
