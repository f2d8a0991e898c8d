"""Generate the Grafana dashboards in ``dashboards/grafana/`` from the metric names.

``python -m dashboards.grafana_gen`` rewrites ``rollout.json`` and ``drift.json``;
``--check`` only compares and exits 1 when a committed file differs from what the
names give. Every PromQL expression is built from the constants in
``router.telemetry.names`` (gateway, drift, alerts), so renaming a metric changes the
dashboards in the same commit or fails the test.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from router.telemetry import names as tm

__all__ = ["GRAFANA_DIR", "dashboards", "main", "render"]

GRAFANA_DIR: Final = Path(__file__).with_name("grafana")
_DS: Final = {"type": "prometheus", "uid": "${datasource}"}
_RATE: Final = "[$__rate_interval]"
_MODEL: Final = f'{tm.LABEL_MODEL}=~"$model"'
_WIDTH: Final = 24


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard document."""
    return {"rollout.json": _rollout(), "drift.json": _drift()}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- the rollout dashboard ---------------------------------------------------------------


def _rollout() -> dict[str, Any]:
    req = tm.REQUESTS_TOTAL
    by_version = f"sum by ({tm.LABEL_VERSION})"
    errors = "|".join((tm.OUTCOME_MODEL_ERROR, tm.OUTCOME_TIMEOUT))
    total = f"{by_version} (rate({req}{{{_MODEL}}}{_RATE}))"
    hist = f"{tm.REQUEST_DURATION}_bucket"
    panels = [
        _row("Traffic"),
        _timeseries(
            "Requests per second by version",
            [(total, "v{{version}}")],
            unit="reqps",
            description="Answered requests (every outcome) per version, all replicas.",
        ),
        _timeseries(
            "Traffic share by version",
            [
                (
                    f"100 * {total} / ignoring({tm.LABEL_VERSION}) group_left "
                    f"sum(rate({req}{{{_MODEL}}}{_RATE}))",
                    "v{{version}}",
                )
            ],
            unit="percent",
            description="What the split actually sends each version (shadow copies excluded).",
            stack=True,
        ),
        _row("Errors and latency"),
        _timeseries(
            "Error rate by version (model errors and timeouts)",
            [
                (
                    f'{by_version} (rate({req}{{{_MODEL}, {tm.LABEL_OUTCOME}=~"{errors}"}}'
                    f"{_RATE})) / {total}",
                    "v{{version}}",
                )
            ],
            unit="percentunit",
            description="The version's own failures: what the rollout analysis judges as "
            "error_rate (client errors excluded).",
        ),
        _timeseries(
            "Client error rate by version",
            [
                (
                    f"{by_version} (rate({req}{{{_MODEL}, "
                    f'{tm.LABEL_OUTCOME}="{tm.OUTCOME_CLIENT_ERROR}"}}{_RATE})) / {total}',
                    "v{{version}}",
                )
            ],
            unit="percentunit",
            description="Requests refused as malformed or not fitting the model (4xx).",
        ),
        *(
            _timeseries(
                f"Latency p{q} by version",
                [
                    (
                        f"histogram_quantile({q / 100}, sum by ({tm.LABEL_VERSION}, le) "
                        f"(rate({hist}{{{_MODEL}}}{_RATE})))",
                        "v{{version}}",
                    )
                ],
                unit="s",
                width=8,
            )
            for q in (50, 95, 99)
        ),
        _row("Shadow traffic"),
        _timeseries(
            "Mirrored requests by outcome",
            [
                (
                    f"sum by ({tm.LABEL_VERSION}, {tm.LABEL_OUTCOME}) "
                    f"(rate({tm.SHADOW_REQUESTS_TOTAL}{{{_MODEL}}}{_RATE}))",
                    "v{{version}} {{outcome}}",
                )
            ],
            unit="reqps",
        ),
        _timeseries(
            "Shadow disagreement rate",
            [
                (
                    f"{by_version} (rate({tm.SHADOW_DISAGREEMENTS_TOTAL}{{{_MODEL}}}{_RATE})) / "
                    f"{by_version} (rate({tm.SHADOW_COMPARISONS_TOTAL}{{{_MODEL}}}{_RATE}))",
                    "v{{version}}",
                )
            ],
            unit="percentunit",
            description="Share of compared mirrored answers that differed from the primary's.",
        ),
        _row("Replicas"),
        _timeseries(
            "Routing-policy revision per replica",
            [(f"max by (instance) ({tm.POLICY_REVISION}{{{_MODEL}}})", "{{instance}}")],
            unit="none",
            width=8,
            description="Replicas that disagree for long are not following the control DB.",
        ),
        _stat(
            "Replicas on a stale policy",
            f"sum({tm.POLICY_STALE})",
            thresholds=[(None, "green"), (1, "red")],
            width=8,
        ),
        _timeseries(
            "Versions loaded",
            [(f"sum by ({tm.LABEL_VERSION}) ({tm.MODEL_LOADED}{{{_MODEL}}})", "v{{version}}")],
            unit="none",
            width=8,
            description="How many replicas hold a warmed session of each version.",
        ),
        _timeseries(
            "Telemetry flush errors and dropped buckets",
            [
                (f"sum(rate({tm.FLUSH_ERRORS_TOTAL}{_RATE}))", "flush errors"),
                (f"sum(rate({tm.FLUSH_DROPPED_TOTAL}{_RATE}))", "dropped buckets"),
            ],
            unit="ops",
            description="Non-zero while the control DB is unreachable: the rollout "
            "controller then judges on partial data.",
        ),
    ]
    return _dashboard(
        uid="turnout-rollout",
        title="turnout · rollouts",
        description="Per-version traffic, errors and latency of the turnout gateway: "
        "what a progressive rollout compares.",
        panels=panels,
        variables=[_datasource_var(), _label_var("model", tm.REQUESTS_TOTAL, tm.LABEL_MODEL)],
    )


# -- the drift dashboard -----------------------------------------------------------------


def _drift() -> dict[str, Any]:
    sel = f'{_MODEL}, {tm.LABEL_VERSION}=~"$version"'
    band_mappings = [
        {
            "type": "value",
            "options": {
                str(value): {"text": band, "color": color, "index": value}
                for band, value, color in (
                    ("NO_DATA", tm.BAND_VALUES["NO_DATA"], "text"),
                    ("OK", tm.BAND_VALUES["OK"], "green"),
                    ("WARN", tm.BAND_VALUES["WARN"], "orange"),
                    ("DRIFT", tm.BAND_VALUES["DRIFT"], "red"),
                )
            },
        }
    ]
    panels = [
        _row("Verdicts"),
        _state_timeline(
            "Dataset band per version",
            f"max by ({tm.LABEL_VERSION}) ({tm.DRIFT_DATASET_BAND}{{{sel}}})",
            "v{{version}}",
            band_mappings,
        ),
        _timeseries(
            "Features in band DRIFT",
            [
                (
                    f"max by ({tm.LABEL_VERSION}) ({tm.DRIFT_DRIFTED_FEATURES}{{{sel}}})",
                    "v{{version}}",
                )
            ],
            unit="none",
        ),
        _state_timeline(
            "Per-feature band",
            f"max by ({tm.LABEL_FEATURE}) ({tm.DRIFT_FEATURE_BAND}{{{sel}}})",
            "{{feature}}",
            band_mappings,
            height=12,
            width=_WIDTH,
        ),
        _row("Statistics"),
        _timeseries(
            "Feature effect / its DRIFT threshold",
            [
                (
                    f"max by ({tm.LABEL_FEATURE}) ({tm.DRIFT_FEATURE_EFFECT}{{{sel}}}) / "
                    f"max by ({tm.LABEL_FEATURE}) ({tm.DRIFT_FEATURE_THRESHOLD}"
                    f'{{{sel}, {tm.LABEL_LEVEL}="{tm.LEVEL_DRIFT}"}})',
                    "{{feature}}",
                )
            ],
            unit="none",
            description="Above 1 the effect crosses the DRIFT threshold (for distances the "
            "calibrated one; tests also need their adjusted p-value below alpha).",
            width=_WIDTH,
            thresholds=[(None, "green"), (1, "red")],
        ),
        _timeseries(
            "Windows evaluated by verdict",
            [
                (
                    f"sum by ({tm.LABEL_VERDICT}) "
                    f"(increase({tm.DRIFT_WINDOWS_TOTAL}{{{sel}}}[$__range]))",
                    "{{verdict}}",
                )
            ],
            unit="none",
        ),
        _row("Alerts"),
        # Stored alerts and pending deliveries are facts of the control DB: every
        # process running the delivery worker shows the same numbers, so they are
        # aggregated across processes with max (sum would count them once per process).
        # Failed attempts are counted by each process: those add up.
        _timeseries(
            "Alerts raised",
            [
                (
                    f"sum by ({tm.LABEL_KIND}, {tm.LABEL_SEVERITY}) "
                    f"(max by ({tm.LABEL_MODEL}, {tm.LABEL_KIND}, {tm.LABEL_SEVERITY}) "
                    f"(increase({tm.ALERTS_TOTAL}{{{_MODEL}}}{_RATE})))",
                    "{{kind}} {{severity}}",
                )
            ],
            unit="none",
            description="Alerts stored in the outbox (repeats inside a cooldown not "
            "included), all processes on the control DB.",
        ),
        _timeseries(
            "Deliveries pending and failing",
            [
                (
                    f"max by ({tm.LABEL_SINK}) ({tm.ALERT_DELIVERIES_PENDING})",
                    "{{sink}} pending",
                ),
                (
                    f"sum by ({tm.LABEL_SINK}) (rate({tm.ALERT_DELIVERY_FAILURES_TOTAL}{_RATE}))",
                    "{{sink}} failures/s",
                ),
            ],
            unit="none",
            description="Pending deliveries are retried until the receiver acknowledges; "
            "failures/s counts failed attempts, every process added.",
        ),
    ]
    return _dashboard(
        uid="turnout-drift",
        title="turnout · drift",
        description="Drift bands, statistics against their calibrated thresholds, and the "
        "alert outbox.",
        panels=panels,
        variables=[
            _datasource_var(),
            _label_var("model", tm.DRIFT_DATASET_BAND, tm.LABEL_MODEL),
            _label_var("version", f"{tm.DRIFT_DATASET_BAND}{{{_MODEL}}}", tm.LABEL_VERSION),
        ],
    )


# -- building blocks -----------------------------------------------------------------------


def _dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    panels: list[dict[str, Any]],
    variables: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["turnout"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "10s",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": list(_placed(panels)),
        "version": 1,
    }


def _placed(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Give every panel an id and a grid position, left to right, top to bottom."""
    x = y = row_height = 0
    for i, panel in enumerate(panels, start=1):
        w, h = panel.pop("_w"), panel.pop("_h")
        if x + w > _WIDTH:
            x, y, row_height = 0, y + row_height, 0
        yield {"id": i, "gridPos": {"h": h, "w": w, "x": x, "y": y}, **panel}
        x += w
        row_height = max(row_height, h)
        if x >= _WIDTH:
            x, y, row_height = 0, y + row_height, 0


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": _WIDTH, "_h": 1}


def _targets(queries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"datasource": _DS, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
        for i, (expr, legend) in enumerate(queries)
    ]


def _threshold_steps(steps: list[tuple[float | None, str]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def _timeseries(
    title: str,
    queries: list[tuple[str, str]],
    *,
    unit: str,
    description: str = "",
    stack: bool = False,
    width: int = 12,
    thresholds: list[tuple[float | None, str]] | None = None,
) -> dict[str, Any]:
    custom: dict[str, Any] = {"lineWidth": 2, "fillOpacity": 10 if stack else 0, "spanNulls": False}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    if thresholds is not None:
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": _DS,
        "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": custom,
                "thresholds": _threshold_steps(thresholds or [(None, "green")]),
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "_w": width,
        "_h": 8,
    }


def _stat(
    title: str, expr: str, *, thresholds: list[tuple[float | None, str]], width: int = 6
) -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "datasource": _DS,
        "targets": _targets([(expr, "")]),
        "fieldConfig": {
            "defaults": {"unit": "none", "thresholds": _threshold_steps(thresholds)},
            "overrides": [],
        },
        "options": {"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}},
        "_w": width,
        "_h": 8,
    }


def _state_timeline(
    title: str,
    expr: str,
    legend: str,
    mappings: list[dict[str, Any]],
    *,
    height: int = 8,
    width: int = 12,
) -> dict[str, Any]:
    return {
        "type": "state-timeline",
        "title": title,
        "datasource": _DS,
        "targets": _targets([(expr, legend)]),
        "fieldConfig": {
            "defaults": {
                "mappings": mappings,
                "thresholds": _threshold_steps([(None, "green")]),
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
        "_w": width,
        "_h": height,
    }


def _datasource_var() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }


def _label_var(name: str, metric: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": _DS,
        "query": {"query": f"label_values({metric}, {label})", "refId": f"{name}-values"},
        "definition": f"label_values({metric}, {label})",
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "current": {},
        "sort": 1,
        "hide": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards.grafana_gen",
        description="Generate the Grafana dashboards from the metric names.",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare only; exit 1 if a file differs"
    )
    parser.add_argument("--out", type=Path, default=GRAFANA_DIR, help="folder to write into")
    args = parser.parse_args(argv)
    stale = []
    for name, doc in dashboards().items():
        path = args.out / name
        text = render(doc)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        sys.stderr.write(f"out of date: {', '.join(stale)}; run python -m dashboards.grafana_gen\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
