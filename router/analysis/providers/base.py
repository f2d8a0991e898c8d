"""The MetricProvider protocol, the window it measures, and what factories are given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

import httpx

from router.analysis.measurement import Measurement
from router.analysis.spec import MetricSpec

__all__ = ["BuiltinReader", "MetricProvider", "ProviderContext", "Window"]

# (model, version, since, until) -> that version's measurement, or None without data.
BuiltinReader: TypeAlias = Callable[[str, str, datetime, datetime], Measurement | None]


@dataclass(frozen=True, slots=True)
class Window:
    """The analysis window: one model, the two versions compared, and the time span.

    ``baseline`` is None when there is nothing to compare with (a first rollout).
    ``baseline_since`` / ``baseline_until``, when set, are where the baseline is read
    instead of ``since`` / ``until``: a historical control, for when the baseline serves
    nothing now (blue-green after its 100% switch is judged against the baseline's own
    traffic just before the switch). The builtin provider honours them; the Prometheus
    and web providers' queries state their own ranges.
    """

    model: str
    candidate: str
    baseline: str | None
    since: datetime
    until: datetime
    baseline_since: datetime | None = None
    baseline_until: datetime | None = None

    @property
    def baseline_span(self) -> tuple[datetime, datetime]:
        """Where the baseline is measured."""
        return (self.baseline_since or self.since, self.baseline_until or self.until)

    @property
    def seconds(self) -> float:
        return max((self.until - self.since).total_seconds(), 0.0)


class MetricProvider(Protocol):
    """Measures one metric for the candidate and the baseline over a window.

    Returns (candidate, baseline); None for a version that has no data (the judge
    waits). Raises ProviderError when it cannot measure (the judge counts it).
    """

    def measure(
        self, metric: MetricSpec, window: Window
    ) -> tuple[Measurement | None, Measurement | None]: ...


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What the controller hands the provider factories.

    ``read_builtin`` reads a version's telemetry (the controller's DB access, so this
    package never touches the DB). ``http`` is a shared client (tests pass one on an
    httpx.MockTransport); without it each request opens its own with ``timeout_s``.
    """

    read_builtin: BuiltinReader | None = None
    prometheus_url: str | None = None
    http: httpx.Client | None = None
    timeout_s: float = 5.0
