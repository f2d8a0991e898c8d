"""Metric providers: I/O adapters that measure a metric for the candidate and baseline.

One Protocol (MetricProvider), picked by the metric's ``provider`` name from
``PROVIDERS`` (name -> factory taking a ProviderContext): ``builtin`` (the gateway's
own telemetry, through a reader the controller supplies), ``prometheus`` and ``web``.
``measure_all`` runs a whole spec and sorts the results into what ``judge`` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from router.analysis.errors import ProviderError, SpecError
from router.analysis.measurement import Measurement
from router.analysis.providers.base import BuiltinReader, MetricProvider, ProviderContext, Window
from router.analysis.providers.builtin import BuiltinProvider
from router.analysis.providers.prometheus import PrometheusProvider, render_query
from router.analysis.providers.web import WebProvider, render_url
from router.analysis.spec import AnalysisSpec

__all__ = [
    "PROVIDERS",
    "BuiltinProvider",
    "BuiltinReader",
    "Measured",
    "MetricProvider",
    "PrometheusProvider",
    "ProviderContext",
    "ProviderFactory",
    "WebProvider",
    "Window",
    "make_provider",
    "make_providers",
    "measure_all",
    "render_query",
    "render_url",
]

ProviderFactory = Callable[[ProviderContext], MetricProvider]


def _builtin(ctx: ProviderContext) -> MetricProvider:
    if ctx.read_builtin is None:
        raise SpecError("provider 'builtin' needs the controller's telemetry reader")
    return BuiltinProvider(ctx.read_builtin)


def _prometheus(ctx: ProviderContext) -> MetricProvider:
    if not ctx.prometheus_url:
        raise SpecError("provider 'prometheus' needs the Prometheus server's URL")
    return PrometheusProvider(ctx.prometheus_url, client=ctx.http, timeout_s=ctx.timeout_s)


def _web(ctx: ProviderContext) -> MetricProvider:
    return WebProvider(client=ctx.http, timeout_s=ctx.timeout_s)


PROVIDERS: Final[dict[str, ProviderFactory]] = {
    "builtin": _builtin,
    "prometheus": _prometheus,
    "web": _web,
}


def make_provider(name: str, ctx: ProviderContext) -> MetricProvider:
    """The provider called ``name``; SpecError when unknown or not configured."""
    factory = PROVIDERS.get(name)
    if factory is None:
        raise SpecError(f"unknown metric provider {name!r}: choose one of {sorted(PROVIDERS)}")
    return factory(ctx)


def make_providers(spec: AnalysisSpec, ctx: ProviderContext) -> dict[str, MetricProvider]:
    """One provider per name the spec uses (made once, so the builtin reads are shared)."""
    return {name: make_provider(name, ctx) for name in sorted({m.provider for m in spec.metrics})}


@dataclass(frozen=True, slots=True)
class Measured:
    """What ``judge`` takes as ``measurements=`` and ``provider_errors=``."""

    measurements: dict[str, tuple[Measurement | None, Measurement | None]] = field(
        default_factory=dict
    )
    errors: dict[str, str] = field(default_factory=dict)


def measure_all(
    spec: AnalysisSpec, window: Window, providers: Mapping[str, MetricProvider]
) -> Measured:
    """Measure every metric; a ProviderError becomes that metric's error, not the tick's."""
    measurements: dict[str, tuple[Measurement | None, Measurement | None]] = {}
    errors: dict[str, str] = {}
    for metric in spec.metrics:
        provider = providers.get(metric.provider)
        if provider is None:
            errors[metric.name] = f"provider {metric.provider!r} is not set up"
            continue
        try:
            measurements[metric.name] = provider.measure(metric, window)
        except ProviderError as exc:
            errors[metric.name] = str(exc)
    return Measured(measurements, errors)
