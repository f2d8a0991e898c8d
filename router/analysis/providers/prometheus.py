"""The prometheus provider: one PromQL instant query per version.

Placeholders in the query: ``$model``, ``$version`` (the version measured), ``$baseline``
and ``$candidate`` (the two versions by role) and ``$window`` (the window length as a
PromQL duration, e.g. ``rate(x[$window])``). Label values are escaped for a
double-quoted PromQL string. A query with ``$version`` runs once per version;
without it, once, for the candidate only (absolute thresholds). The result must be one
number: a scalar, or a vector of one series (an empty vector or NaN is "no data").
"""

from __future__ import annotations

from typing import Any

import httpx

from router.analysis.errors import ProviderError
from router.analysis.measurement import Measurement
from router.analysis.providers._http import get_json, to_number
from router.analysis.providers.base import Window
from router.analysis.spec import MetricSpec

__all__ = ["PrometheusProvider", "render_query"]


def render_query(query: str, window: Window, version: str) -> str:
    """``query`` with its placeholders filled in for ``version`` (longest names first)."""
    values = {
        "$candidate": _promql_string(window.candidate),
        "$baseline": _promql_string(window.baseline or ""),
        "$version": _promql_string(version),
        "$window": f"{max(int(window.seconds), 1)}s",
        "$model": _promql_string(window.model),
    }
    for key in sorted(values, key=len, reverse=True):
        query = query.replace(key, values[key])
    return query


def _promql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


class PrometheusProvider:
    def __init__(
        self, base_url: str, *, client: httpx.Client | None = None, timeout_s: float = 5.0
    ) -> None:
        self._url = base_url.rstrip("/") + "/api/v1/query"
        self._client = client
        self._timeout_s = timeout_s

    def measure(
        self, metric: MetricSpec, window: Window
    ) -> tuple[Measurement | None, Measurement | None]:
        query = metric.query or ""
        candidate = self._value(metric, query, window, window.candidate)
        if "$version" not in query or window.baseline is None:
            return candidate, None
        return candidate, self._value(metric, query, window, window.baseline)

    def _value(
        self, metric: MetricSpec, query: str, window: Window, version: str
    ) -> Measurement | None:
        what = f"prometheus metric {metric.name!r} ({version})"
        params = {
            "query": render_query(query, window, version),
            "time": f"{window.until.timestamp():.3f}",
        }
        body = get_json(
            self._client, self._url, params=params, timeout_s=self._timeout_s, what=what
        )
        value = _instant_value(body, what)
        return None if value is None else Measurement(value=value)


def _instant_value(body: Any, what: str) -> float | None:
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        detail = error if error else repr(body)[:200]
        raise ProviderError(f"{what}: query failed: {detail}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise ProviderError(f"{what}: the answer has no 'data' object")
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return to_number(_sample(result, what), what)
    if kind == "vector":
        if not isinstance(result, list):
            raise ProviderError(f"{what}: a vector result must be a list")
        if not result:
            return None
        if len(result) > 1:
            raise ProviderError(
                f"{what}: the query returned {len(result)} series; aggregate it to one "
                "(sum, avg or max by nothing)"
            )
        series = result[0]
        value = series.get("value") if isinstance(series, dict) else None
        return to_number(_sample(value, what), what)
    raise ProviderError(f"{what}: cannot judge a {kind!r} result: use an instant vector or scalar")


def _sample(pair: Any, what: str) -> Any:
    if not isinstance(pair, list) or len(pair) != 2:
        raise ProviderError(f"{what}: expected a [timestamp, value] sample, got {pair!r}")
    return pair[1]
