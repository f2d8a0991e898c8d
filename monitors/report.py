"""The human drift report: an Evidently HTML page for one window against the reference.

This is the only module that imports evidently. It renders; it never decides: the
verdicts, bands and alerts come from ``monitors.policy``. Evidently's own per-column
verdicts appear in the page as Evidently computes them, next to a header that states
turnout's verdict for the same window, so a reader sees both.
"""

from __future__ import annotations

import html
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monitors.errors import MonitorError

__all__ = ["ReportError", "render_report"]


class ReportError(MonitorError):
    """The report could not be rendered (no rows, no shared columns, unwritable path)."""


def render_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    out: Path,
    *,
    title: str,
    summary: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
) -> Path:
    """Write Evidently's data-drift report of ``current`` against ``reference`` to ``out``.

    ``columns`` limits the report to those columns (default: the columns both frames
    have). ``summary`` (turnout's verdict: dataset verdict and per-feature bands) is
    shown above Evidently's page. The file is written atomically: a reader never sees
    half a report.
    """
    if reference.empty:
        raise ReportError("the reference sample has no rows: nothing to compare with")
    if current.empty:
        raise ReportError("the window's sample has no rows: nothing to report")
    shared = [c for c in (columns or reference.columns) if c in current.columns]
    if not shared:
        raise ReportError("the reference and the window share no column")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ReportError(f"cannot write the report: folder {str(parent)!r} does not exist")

    with warnings.catch_warnings():
        # Evidently and its plotting stack warn about their own internals.
        warnings.simplefilter("ignore")
        from evidently import Report
        from evidently.presets import DataDriftPreset

        snapshot = Report([DataDriftPreset()]).run(
            current_data=current[shared].reset_index(drop=True),
            reference_data=reference[shared].reset_index(drop=True),
        )
        fd, tmp = tempfile.mkstemp(suffix=".html", dir=parent)
        os.close(fd)
        try:
            snapshot.save_html(tmp)
            page = Path(tmp).read_text(encoding="utf-8")
            Path(tmp).write_text(_with_header(page, title, summary), encoding="utf-8")
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return out


def _with_header(page: str, title: str, summary: Mapping[str, Any] | None) -> str:
    lines = [f"<h1>{html.escape(title)}</h1>"]
    if summary:
        items = "".join(
            f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
            for k, v in summary.items()
        )
        lines.append(f"<p>turnout's verdict for this window:</p><ul>{items}</ul>")
    lines.append(
        "<p>Below: Evidently's DataDriftPreset on the same rows (its own tests and "
        "thresholds, shown for reading, not used for turnout's decision).</p>"
    )
    header = (
        '<div id="turnout-report-header" style="font-family:sans-serif;padding:1em">'
        + "".join(lines)
        + "</div>"
    )
    at = page.find("<body")
    if at < 0:
        return header + page
    close = page.find(">", at)
    return page[: close + 1] + header + page[close + 1 :]
