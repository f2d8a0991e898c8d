"""The HTML of every page: one layout, and per page the landmarks its script fills.

Markup is built from strings with every dynamic value escaped (``html.escape``);
the page's parameters travel to its script as JSON in a ``<script type=
"application/json">`` element, with ``<`` escaped so no value can close the element.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from html import escape
from typing import Any, Final

from dashboards.links import Urls

__all__ = ["NAV", "not_found", "render"]

ASSET_VERSION: Final = "2"

# (page kinds that light the entry up, label, path)
NAV: Final = (
    (("overview",), "Overview", ""),
    (("models", "model"), "Models", "models"),
    (("rollouts", "rollout"), "Rollouts", "rollouts"),
    (("drift-index", "drift"), "Drift", "drift"),
    (("alerts",), "Alerts", "alerts"),
)

# Pages that draw charts load the Plotly bundle.
_CHART_PAGES: Final = frozenset({"rollout", "drift"})
_SCRIPTS: Final = {
    "overview": "overview.js",
    "models": "models.js",
    "model": "model.js",
    "rollouts": "rollouts.js",
    "rollout": "rollout.js",
    "drift-index": "drift.js",
    "drift": "drift.js",
    "alerts": "alerts.js",
}


def render(kind: str, title: str, urls: Urls, params: Mapping[str, Any]) -> str:
    body = _BODIES.get(kind, _missing)(urls, params)
    return _layout(kind, title, urls, params, body)


def not_found(urls: Urls) -> str:
    body = (
        '<p class="empty">Nothing lives at this address. '
        f'Go back to the <a href="{escape(urls.to(""))}">overview</a>.</p>'
    )
    return _layout("missing", "Not found", urls, {}, body)


def _layout(kind: str, title: str, urls: Urls, params: Mapping[str, Any], body: str) -> str:
    e = escape
    nav = "".join(
        f'<li><a href="{e(urls.to(path))}"'
        + (' aria-current="page"' if kind in kinds else "")
        + f">{e(label)}</a></li>"
        for kinds, label, path in NAV
    )
    scripts = []
    if kind in _CHART_PAGES:
        scripts.append(urls.static("vendor/plotly.min.js"))
    scripts.append(urls.static(f"core.js?v={ASSET_VERSION}"))
    if kind in _SCRIPTS:
        scripts.append(urls.static(f"{_SCRIPTS[kind]}?v={ASSET_VERSION}"))
    script_tags = "".join(f'<script defer src="{e(s)}"></script>' for s in scripts)
    data = json.dumps(dict(params), default=str).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>{e(title)} · turnout</title>
<link rel="stylesheet" href="{e(urls.static(f"dashboard.css?v={ASSET_VERSION}"))}">
{script_tags}
</head>
<body data-page="{e(kind)}" data-base="{e(urls.base)}" data-site="{e(urls.site)}" \
data-api="{e(urls.api)}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="{e(urls.to(""))}">turnout</a>
<nav aria-label="Main"><ul>{nav}</ul></nav>
<div class="tools">
<span id="live" class="live" role="status" aria-live="polite">connecting…</span>
<button type="button" id="token-button" class="ghost" aria-haspopup="dialog">Token</button>
</div>
</header>
<main id="main" tabindex="-1">
<h1 id="title">{e(title)}</h1>
<noscript><p class="note">These pages fill and update themselves with JavaScript. Turn it \
on, or use <code>turnout rollout status</code> and <code>turnout drift status</code> in a \
terminal.</p></noscript>
{body}
</main>
<div id="toasts" class="toasts" role="status" aria-live="polite"></div>
{_DIALOGS}
<script type="application/json" id="page-params">{data}</script>
</body>
</html>
"""


_DIALOGS: Final = """<dialog id="confirm-dialog" aria-labelledby="confirm-title">
<form method="dialog" class="dialog">
<h2 id="confirm-title">Confirm</h2>
<p id="confirm-text"></p>
<label for="confirm-reason">Reason (recorded with the action)</label>
<input id="confirm-reason" name="reason" type="text" autocomplete="off" maxlength="500">
<p id="confirm-token-note" class="note" hidden>This needs an operator token: set one with
the Token button first (create it with <code>turnout tokens create NAME --role
operator</code>).</p>
<div class="buttons">
<button type="submit" value="cancel" class="ghost">Cancel</button>
<button type="submit" value="ok" id="confirm-ok" class="danger">Confirm</button>
</div>
</form>
</dialog>
<dialog id="token-dialog" aria-labelledby="token-title">
<form method="dialog" class="dialog">
<h2 id="token-title">Operator token</h2>
<p>Buttons that change a rollout or an alert call the control API with this token.
Create one with <code>turnout tokens create NAME --role operator</code>. It is kept in
this browser tab only.</p>
<label for="token-input">Token</label>
<input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false">
<div class="buttons">
<button type="submit" value="clear" class="ghost">Forget</button>
<button type="submit" value="cancel" class="ghost">Cancel</button>
<button type="submit" value="save" id="token-save">Save</button>
</div>
</form>
</dialog>"""


def _section(ident: str, heading: str, inner: str = "", *, extra: str = "") -> str:
    return (
        f'<section aria-labelledby="{ident}-h"{extra}><h2 id="{ident}-h">{escape(heading)}</h2>'
        f"{inner}</section>"
    )


def _region(ident: str, loading: str = "Loading…") -> str:
    return f'<div id="{ident}" class="region" aria-busy="true"><p class="muted">{loading}</p></div>'


def _overview(urls: Urls, params: Mapping[str, Any]) -> str:
    return (
        '<div id="overview-empty"></div>'
        '<div class="grid">'
        + _section("active", "Active rollouts", _region("active"))
        + _section("glance", "At a glance", _region("glance"))
        + "</div>"
        + _section("finished", "Recently finished rollouts", _region("finished"))
    )


def _models(urls: Urls, params: Mapping[str, Any]) -> str:
    return _region("models")


def _model(urls: Urls, params: Mapping[str, Any]) -> str:
    model = str(params.get("model", ""))
    drift = urls.to(f"models/{model}/drift")
    return (
        f'<p class="sub"><a href="{escape(drift)}">Drift of this model</a></p>'
        + _region("model-head")
        + _section("versions", "Versions", _region("versions"))
        + '<div class="grid">'
        + _section("history", "Champion history", _region("history"))
        + _section("model-rollouts", "Rollouts", _region("model-rollouts-list"))
        + "</div>"
    )


def _rollouts(urls: Urls, params: Mapping[str, Any]) -> str:
    return _region("rollouts")


def _rollout(urls: Urls, params: Mapping[str, Any]) -> str:
    doc = params.get("rollout") or {}
    e = escape
    head = (
        f'<p class="sub" id="rollout-sub">{e(str(doc.get("model", "")))}: '
        f"v{e(str(doc.get('baseline', '')))} → v{e(str(doc.get('candidate', '')))} "
        f"({e(str(doc.get('strategy', '')))})</p>"
        '<div id="rollout-head" class="head">'
        f'<span class="badge phase-{e(str(doc.get("phase", "")))}" id="phase">'
        f"{e(str(doc.get('phase', '')))}</span>"
        f'<span id="step"></span><span id="weight">{e(str(doc.get("weight", "")))}% to the '
        "candidate</span></div>"
        f'<p id="summary">{e(str(doc.get("summary", "")))}</p>'
    )
    actions = "".join(
        f'<button type="button" data-command="{cmd}" class="{cls}">{label}</button>'
        for cmd, label, cls in (
            ("approve", "Approve", ""),
            ("pause", "Pause", ""),
            ("resume", "Resume", ""),
            ("promote", "Promote", ""),
            ("promote-full", "Promote fully", ""),
            ("abort", "Abort", "danger"),
            ("retry", "Retry", "ghost"),
        )
    )
    ranges = "".join(
        f'<option value="{v}"{" selected" if v == "" else ""}>{label}</option>'
        for v, label in (
            ("", "whole rollout"),
            ("300", "last 5 min"),
            ("900", "last 15 min"),
            ("3600", "last hour"),
        )
    )
    chart = '<div class="chart" id="{0}" role="img" aria-label="{1}"></div>'
    return (
        head
        + f'<div id="actions" class="actions" role="group" aria-label="Rollout actions">{actions}'
        "</div>"
        + _section("steps", "Steps", '<ol id="steps" class="steps"></ol>')
        + '<div class="toolbar"><label for="range">Time range</label>'
        f'<select id="range">{ranges}</select></div>'
        + '<div class="charts">'
        + _section("weights", "Traffic weights", chart.format("chart-weights", "Traffic weights"))
        + _section("errors", "Error rate", chart.format("chart-errors", "Error rate per version"))
        + _section(
            "latency", "Latency", chart.format("chart-latency", "Latency percentiles per version")
        )
        + "</div>"
        + _section(
            "analysis",
            "Analysis, tick by tick",
            '<p class="muted">Each metric the controller judges: candidate and baseline values '
            "with the rule's bounds.</p>"
            '<div id="analysis-charts" class="charts"></div>',
        )
        + _section("timeline", "Decisions", _region("timeline"))
    )


def _drift_index(urls: Urls, params: Mapping[str, Any]) -> str:
    return _region("drift-models")


def _drift(urls: Urls, params: Mapping[str, Any]) -> str:
    return (
        '<div class="toolbar"><label for="version">Version</label>'
        '<select id="version"></select></div>'
        + _region("drift-summary")
        + _section(
            "heatmap",
            "Per-feature band over windows",
            '<p class="muted">Rows are features (and the model\'s predictions, last), columns '
            "windows (oldest left); grey is a feature that could not be judged. Choose a "
            "cell, or a window below, to see the window feature by feature.</p>"
            '<div class="chart tall" id="chart-heatmap" role="img" '
            'aria-label="Drift bands per feature and window"></div>',
        )
        + _section(
            "window",
            "One window, feature by feature",
            '<div class="toolbar"><label for="window">Window</label><select id="window"></select>'
            '<a id="report-link" class="button ghost" hidden>Evidently report of this window</a>'
            "</div>"
            '<div id="window-summary"></div>'
            '<p class="muted">Effect is the value held to the thresholds (the distance itself, '
            "KS D, total variation for chi-square, the share difference for the z-test); tests "
            "also need their Benjamini-Hochberg adjusted p-value below the alpha level. The bar "
            "runs to twice the DRIFT threshold; its ticks are WARN and DRIFT.</p>"
            + _region("window-features")
            + '<ul id="window-notes" class="notes"></ul>',
        )
        + _section(
            "dist",
            "Reference vs current",
            '<div class="toolbar"><label for="feature">Feature</label>'
            '<select id="feature"></select></div>'
            '<div id="dist-entry" class="muted"></div>'
            '<div class="chart" id="chart-distribution" role="img" '
            'aria-label="Reference and current distribution"></div>'
            '<ul id="dist-notes" class="notes"></ul>',
        )
    )


def _alerts(urls: Urls, params: Mapping[str, Any]) -> str:
    options = "".join(
        f'<option value="{v}"{" selected" if v == "open" else ""}>{label}</option>'
        for v, label in (("open", "open"), ("acked", "acknowledged"), ("", "all"))
    )
    return (
        '<div class="toolbar"><label for="status">Show</label>'
        f'<select id="status">{options}</select><span id="alert-counts" class="muted"></span>'
        "</div>" + _region("alerts")
    )


def _missing(urls: Urls, params: Mapping[str, Any]) -> str:
    what = escape(str(params.get("what", "Nothing here.")))
    return (
        f'<p class="empty">{what} See <a href="{escape(urls.to("rollouts"))}">all rollouts</a>.</p>'
    )


_BODIES: Final[dict[str, Callable[[Urls, Mapping[str, Any]], str]]] = {
    "overview": _overview,
    "models": _models,
    "model": _model,
    "rollouts": _rollouts,
    "rollout": _rollout,
    "drift-index": _drift_index,
    "drift": _drift,
    "alerts": _alerts,
    "missing": _missing,
}
