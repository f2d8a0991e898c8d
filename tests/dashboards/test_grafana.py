"""The committed Grafana dashboards are exactly what the metric names generate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dashboards import metric_names
from dashboards.grafana_gen import GRAFANA_DIR, dashboards, main, render
from router.telemetry import names


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_committed_json_matches_the_generator(name: str) -> None:
    committed = (GRAFANA_DIR / name).read_text(encoding="utf-8")
    assert committed == render(dashboards()[name]), (
        f"dashboards/grafana/{name} is out of date: run python -m dashboards.grafana_gen"
    )


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path
    assert main(["--out", str(out)]) == 0
    assert main(["--check", "--out", str(out)]) == 0
    (out / "drift.json").write_text("{}", encoding="utf-8")
    assert main(["--check", "--out", str(out)]) == 1


def _known() -> set[str]:
    known = {spec.name for spec in names.METRICS.values()}
    known |= {f"{names.REQUEST_DURATION}_bucket"}
    known |= {
        value
        for key, value in vars(metric_names).items()
        if key.isupper() and isinstance(value, str) and value.startswith("turnout_")
    }
    return known


def test_every_query_uses_known_metric_names() -> None:
    used: set[str] = set()
    for doc in dashboards().values():
        for panel in doc["panels"]:
            for target in panel.get("targets", []):
                used |= set(re.findall(r"\bturnout_[a-z_]+", target["expr"]))
        assert doc["uid"].startswith("turnout-")
        json.dumps(doc)
    assert used and used <= _known(), used - _known()
    assert names.REQUESTS_TOTAL in used and names.DRIFT_FEATURE_BAND in used
