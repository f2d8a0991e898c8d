"""The web dashboard (pages, JSON feeds, static files) and the Grafana dashboards
generated from the gateway's metric names."""

from __future__ import annotations

from dashboards.app import create_dashboard_app
from dashboards.mount import DashboardMount
from dashboards.source import DashboardSource

__all__ = ["DashboardMount", "DashboardSource", "create_dashboard_app"]
