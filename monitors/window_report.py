"""The human report of one stored drift window: its raw-row sample against the reference.

The reference side is the bounded sample kept in the version's reference profile; the
window side is the uniform sample of raw input rows the gateways kept for that window
(``router.telemetry.rowsample``). The page is rendered once (Evidently is slow to import
and to run) and cached under ``out_dir`` by report id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from monitors.errors import MonitorError
from monitors.profile_schema import profile_from_json
from monitors.report import ReportError, render_report
from monitors.store import get_report
from monitors.windows import Window, merge_window

__all__ = ["ProfileSource", "window_report"]


class ProfileSource(Protocol):
    def reference_profile(self, name: str, version: str) -> str | None: ...


def window_report(
    sessions: sessionmaker[Session],
    profiles: ProfileSource,
    report_id: int,
    out_dir: Path,
    *,
    refresh: bool = False,
) -> Path:
    """The HTML page of drift report ``report_id`` (rendered on first use, then cached).

    ``ReportNotFound`` for an unknown id; ``ReportError`` when there is nothing to show
    (no reference profile, no raw rows kept for the window, no shared column).
    """
    with sessions() as session:
        report = get_report(session, report_id)
    out = out_dir / f"drift-report-{report_id}.html"
    if out.is_file() and not refresh:
        return out
    text = profiles.reference_profile(report.model, report.version)
    if text is None:
        raise ReportError(
            f"{report.model} v{report.version} has no reference profile: nothing to compare "
            "the window with"
        )
    try:
        profile = profile_from_json(text)
    except MonitorError as exc:
        raise ReportError(f"the reference profile cannot be read: {exc}") from exc
    reference = pd.DataFrame(profile.sample.rows, columns=profile.sample.columns)
    with sessions() as session:
        data = merge_window(
            session, report.model, report.version, Window(report.window_start, report.window_end)
        )
    current = data.sample_frame()
    if current is None:
        raise ReportError(
            f"no raw input rows were kept for report #{report_id}'s window (the gateways "
            "keep TURNOUT_SAMPLE_ROWS per second; 0 turns it off, and old buckets are pruned)"
        )
    drifted = report.document.get("drifted") or []
    summary = {
        "verdict": report.verdict,
        "window": f"{report.window_start.isoformat()} .. {report.window_end.isoformat()}",
        "rows in the window": report.rows,
        "rows in this sample": len(current),
        "drifted features": ", ".join(drifted) if drifted else "none",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    return render_report(
        reference,
        current,
        out,
        title=f"{report.model} v{report.version}: drift report #{report_id}",
        summary=summary,
    )
