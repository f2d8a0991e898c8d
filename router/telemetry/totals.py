"""Cumulative counters of a replica since it started: what Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.telemetry.histogram import LatencyHistogram

__all__ = ["ShadowTotals", "Totals", "VersionTotals"]


@dataclass(frozen=True)
class VersionTotals:
    """Requests served to clients by one model version (mirrored ones excluded)."""

    model: str
    version: str
    outcomes: Mapping[str, int]  # every outcome in router.telemetry.names.OUTCOMES
    rows: int
    latency: LatencyHistogram


@dataclass(frozen=True)
class ShadowTotals:
    """Requests mirrored to ``version`` while ``primary_version`` answered the client."""

    model: str
    version: str
    primary_version: str
    outcomes: Mapping[str, int]
    comparisons: int
    disagreements: int


@dataclass(frozen=True)
class Totals:
    """A consistent snapshot of every cumulative counter of one recorder."""

    replica: str
    versions: tuple[VersionTotals, ...]
    shadows: tuple[ShadowTotals, ...]
