"""The web provider: GET a URL, pick one number out of its JSON with a tiny JSON path.

``$model``, ``$version``, ``$candidate`` and ``$baseline`` in the URL are filled in
(URL-encoded). With ``$version`` the URL is fetched once per version; without it once,
for the candidate only. ``json_path`` such as ``$.data.value`` (no path: the whole body
must be the number); a JSON null is "no data".
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from router.analysis.errors import ProviderError
from router.analysis.jsonpath import parse_path, pick
from router.analysis.measurement import Measurement
from router.analysis.providers._http import get_json, to_number
from router.analysis.providers.base import Window
from router.analysis.spec import MetricSpec

__all__ = ["WebProvider", "render_url"]


def render_url(url: str, window: Window, version: str) -> str:
    """``url`` with its placeholders filled in for ``version``, URL-encoded."""
    values = {
        "$candidate": window.candidate,
        "$baseline": window.baseline or "",
        "$version": version,
        "$model": window.model,
    }
    for key in sorted(values, key=len, reverse=True):
        url = url.replace(key, quote(values[key], safe=""))
    return url


class WebProvider:
    def __init__(self, *, client: httpx.Client | None = None, timeout_s: float = 5.0) -> None:
        self._client = client
        self._timeout_s = timeout_s

    def measure(
        self, metric: MetricSpec, window: Window
    ) -> tuple[Measurement | None, Measurement | None]:
        url = metric.query or ""
        candidate = self._value(metric, url, window, window.candidate)
        if "$version" not in url or window.baseline is None:
            return candidate, None
        return candidate, self._value(metric, url, window, window.baseline)

    def _value(
        self, metric: MetricSpec, url: str, window: Window, version: str
    ) -> Measurement | None:
        what = f"web metric {metric.name!r} ({version})"
        body = get_json(
            self._client,
            render_url(url, window, version),
            params=None,
            timeout_s=self._timeout_s,
            what=what,
        )
        try:
            raw = pick(body, parse_path(metric.json_path or "$"))
        except LookupError as exc:
            raise ProviderError(f"{what}: {metric.json_path}: {exc}") from None
        value = to_number(raw, what)
        return None if value is None else Measurement(value=value)
