"""The Evidently HTML report: written atomically, with turnout's verdict on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitors.report import ReportError, render_report


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    cur = pd.DataFrame({"a": rng.normal(1.0, 1.0, size=200), "b": rng.normal(size=200)})
    return ref, cur


def test_report_is_written_with_the_verdict_header(tmp_path: Path) -> None:
    ref, cur = frames()
    out = render_report(
        ref,
        cur,
        tmp_path / "w.html",
        title="fraud v2, window 12:00-12:05",
        summary={"verdict": "DRIFT", "a": "DRIFT <script>"},
    )
    page = out.read_text(encoding="utf-8")
    assert page.index("turnout-report-header") < page.index("</body>")
    assert "fraud v2, window 12:00-12:05" in page
    assert "DRIFT &lt;script&gt;" in page  # escaped
    assert "evidently" in page.lower()
    assert [p.name for p in tmp_path.iterdir()] == ["w.html"]  # no temporary left


@pytest.mark.parametrize(
    ("ref_rows", "cur_rows", "message"),
    [(0, 10, "reference sample has no rows"), (10, 0, "window's sample has no rows")],
)
def test_empty_sides_are_refused(
    tmp_path: Path, ref_rows: int, cur_rows: int, message: str
) -> None:
    ref, cur = frames()
    with pytest.raises(ReportError, match=message):
        render_report(ref.head(ref_rows), cur.head(cur_rows), tmp_path / "x.html", title="t")


def test_no_shared_column_and_missing_folder(tmp_path: Path) -> None:
    ref, cur = frames()
    with pytest.raises(ReportError, match="share no column"):
        render_report(ref, cur.rename(columns={"a": "x", "b": "y"}), tmp_path / "x.html", title="t")
    with pytest.raises(ReportError, match="does not exist"):
        render_report(ref, cur, tmp_path / "nope" / "x.html", title="t")
