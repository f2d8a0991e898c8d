"""Mounting the dashboard into another app (the gateway) without hiding its routes.

A plain ``Mount("/", dashboard)`` matches every path, so the host app's own answers
for paths it almost knows (405 for a wrong method, its JSON 404) would be replaced by
the dashboard's. ``DashboardMount`` claims a request only when the dashboard has a
route for its path; everything else falls through to the host app as before.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Match, Mount
from starlette.types import Scope

__all__ = ["DashboardMount"]


class DashboardMount(Mount):
    def __init__(self, path: str, app: Starlette, name: str | None = "dashboard") -> None:
        super().__init__(path, app=app, name=name)
        self._dashboard = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return match, child
        inner = {**scope, **child}
        for route in self._dashboard.router.routes:
            found, _ = route.matches(inner)
            if found is Match.FULL:
                return Match.FULL, child
        return Match.NONE, {}
