"""Where the dashboard and the control API are, as seen from the browser.

A page's links are absolute paths built per request: the prefix a reverse proxy
stripped (``X-Forwarded-Prefix``, or the one configured), then the ASGI root path
(uvicorn's ``--root-path`` and any Mount the dashboard sits under). The control API
hangs off the site root, which is the root path of the outermost app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request

__all__ = ["Links", "Urls", "clean_prefix"]

FORWARDED_PREFIX: Final = "x-forwarded-prefix"
_SAFE_PREFIX: Final = re.compile(r"(/[A-Za-z0-9._~-]+)*")


def clean_prefix(value: str | None) -> str:
    """A path prefix without a trailing slash; anything unsafe in a URL path is refused
    (an empty prefix), so a forged header cannot inject markup or another origin."""
    if not value:
        return ""
    value = "/" + value.strip().strip("/")
    if value == "/":
        return ""
    return value if _SAFE_PREFIX.fullmatch(value) else ""


@dataclass(frozen=True)
class Urls:
    """The absolute paths one response uses, without trailing slashes: ``base`` (the
    dashboard's root), ``site`` (the server's root) and ``api`` (the control API)."""

    base: str
    site: str
    api: str

    def to(self, path: str) -> str:
        return self.base + "/" + path.lstrip("/")

    def static(self, path: str) -> str:
        return self.to("static/" + path.lstrip("/"))


@dataclass(frozen=True)
class Links:
    prefix: str = ""
    api_path: str = "/api/v1"

    def for_request(self, request: Request) -> Urls:
        forwarded = clean_prefix(request.headers.get(FORWARDED_PREFIX))
        outer = forwarded or clean_prefix(self.prefix)
        root = clean_prefix(request.scope.get("root_path", ""))
        site = clean_prefix(request.scope.get("app_root_path", request.scope.get("root_path", "")))
        api = "/" + self.api_path.strip("/")
        return Urls(base=outer + root, site=outer + site, api=outer + site + api)

    @staticmethod
    def report_path(report_id: int) -> str:
        """The Evidently report of a drift window, relative to the site root."""
        return f"drift/reports/{report_id}/html"
