"""The Prometheus text exposition (format 0.0.4) of a replica's telemetry, for /metrics.

Written by hand: the format is a few lines of rules and turnout does not ship
prometheus_client. HELP and TYPE come from ``names.METRICS``; label values are
escaped (backslash, double quote, newline) and HELP text too (backslash, newline).

The latency histogram exposes a coarser subset of its fixed bounds: 1, 2.5 and 5
per decade from 10 us to 100 s (``1e-05, 2.5e-05, 5e-05, ..., 50.0, 100.0``, 22
bounds) plus ``+Inf``. Each is one of the fine bounds, so the cumulative counts are
exact; the fine buckets stay in the control DB for the controller's quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from router.telemetry.errors import UnknownMetric
from router.telemetry.histogram import LATENCY_BOUNDS, LatencyHistogram
from router.telemetry.names import (
    LABEL_MODEL,
    LABEL_OUTCOME,
    LABEL_PRIMARY_VERSION,
    LABEL_VERSION,
    METRICS,
    OUTCOMES,
    REQUEST_DURATION,
    REQUESTS_TOTAL,
    ROWS_TOTAL,
    SHADOW_COMPARISONS_TOTAL,
    SHADOW_DISAGREEMENTS_TOTAL,
    SHADOW_REQUESTS_TOTAL,
)
from router.telemetry.recorder import Recorder
from router.telemetry.totals import Totals

__all__ = ["CONTENT_TYPE", "EXPOSED_BOUNDS", "Sample", "render"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

# Fine bound indices whose R10 mantissa is 1, 2.5 or 5 (positions 0, 4, 7 of a decade).
_EXPOSED_INDEX: Final = tuple(i for i in range(len(LATENCY_BOUNDS)) if i % 10 in (0, 4, 7))
EXPOSED_BOUNDS: Final = tuple(LATENCY_BOUNDS[i] for i in _EXPOSED_INDEX)
_FROM_RECORDER: Final = frozenset(
    {
        REQUESTS_TOTAL,
        ROWS_TOTAL,
        REQUEST_DURATION,
        SHADOW_REQUESTS_TOTAL,
        SHADOW_COMPARISONS_TOTAL,
        SHADOW_DISAGREEMENTS_TOTAL,
    }
)


@dataclass(frozen=True)
class Sample:
    """One value of a metric declared in ``names.METRICS`` (a gauge, or an outside counter)."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


def render(
    recorder: Recorder | Totals | None,
    *,
    gauges: Mapping[str, float] | Iterable[Sample] = (),
) -> str:
    """The /metrics page: the recorder's counters and histograms, then ``gauges``.

    ``gauges`` is either ``{metric name: value}`` for label-less metrics or
    ``Sample`` objects; each must name a metric of ``names.METRICS`` with exactly
    its labels and must not be one the recorder renders (``UnknownMetric``).
    """
    samples: dict[str, list[tuple[Mapping[str, str], str]]] = {}
    histograms: list[tuple[Mapping[str, str], LatencyHistogram]] = []
    totals = recorder.totals() if isinstance(recorder, Recorder) else recorder
    if totals is not None:
        _collect(totals, samples, histograms)
    extra = (
        [Sample(name, value) for name, value in gauges.items()]
        if isinstance(gauges, Mapping)
        else list(gauges)
    )
    for sample in extra:
        _check(sample)
        samples.setdefault(sample.name, []).append((sample.labels, _number(sample.value)))
    lines: list[str] = []
    for name, spec in METRICS.items():
        if name == REQUEST_DURATION:
            if histograms:
                _header(lines, name)
                for labels, hist in histograms:
                    _histogram_lines(lines, name, labels, hist)
            continue
        series = samples.get(name)
        if series:
            _header(lines, name)
            ordered = spec.labels
            for labels, value in series:
                lines.append(f"{name}{_labels([(k, labels[k]) for k in ordered])} {value}")
    return "\n".join(lines) + "\n" if lines else ""


def _collect(
    totals: Totals,
    samples: dict[str, list[tuple[Mapping[str, str], str]]],
    histograms: list[tuple[Mapping[str, str], LatencyHistogram]],
) -> None:
    for v in totals.versions:
        mv = {LABEL_MODEL: v.model, LABEL_VERSION: v.version}
        for outcome in OUTCOMES:
            samples.setdefault(REQUESTS_TOTAL, []).append(
                ({**mv, LABEL_OUTCOME: outcome}, str(v.outcomes.get(outcome, 0)))
            )
        samples.setdefault(ROWS_TOTAL, []).append((mv, str(v.rows)))
        histograms.append((mv, v.latency))
    for s in totals.shadows:
        sv = {
            LABEL_MODEL: s.model,
            LABEL_VERSION: s.version,
            LABEL_PRIMARY_VERSION: s.primary_version,
        }
        for outcome in OUTCOMES:
            samples.setdefault(SHADOW_REQUESTS_TOTAL, []).append(
                ({**sv, LABEL_OUTCOME: outcome}, str(s.outcomes.get(outcome, 0)))
            )
        samples.setdefault(SHADOW_COMPARISONS_TOTAL, []).append((sv, str(s.comparisons)))
        samples.setdefault(SHADOW_DISAGREEMENTS_TOTAL, []).append((sv, str(s.disagreements)))


def _check(sample: Sample) -> None:
    spec = METRICS.get(sample.name)
    if spec is None:
        raise UnknownMetric(
            f"metric {sample.name!r} is not declared in router.telemetry.names.METRICS"
        )
    if sample.name in _FROM_RECORDER:
        raise UnknownMetric(f"metric {sample.name!r} is rendered from the recorder")
    if set(sample.labels) != set(spec.labels):
        raise UnknownMetric(
            f"metric {sample.name!r} takes labels {list(spec.labels)}, got {sorted(sample.labels)}"
        )


def _header(lines: list[str], name: str) -> None:
    spec = METRICS[name]
    text = spec.help.replace("\\", "\\\\").replace("\n", "\\n")
    lines.append(f"# HELP {name} {text}")
    lines.append(f"# TYPE {name} {spec.type}")


def _histogram_lines(
    lines: list[str], name: str, labels: Mapping[str, str], hist: LatencyHistogram
) -> None:
    base = [(LABEL_MODEL, labels[LABEL_MODEL]), (LABEL_VERSION, labels[LABEL_VERSION])]
    counts = hist.counts
    cumulative = 0
    start = 0
    for i, bound in zip(_EXPOSED_INDEX, EXPOSED_BOUNDS, strict=True):
        cumulative += sum(counts[start : i + 1])
        start = i + 1
        lines.append(f"{name}_bucket{_labels([*base, ('le', repr(bound))])} {cumulative}")
    total = cumulative + sum(counts[start:])
    lines.append(f"{name}_bucket{_labels([*base, ('le', '+Inf')])} {total}")
    lines.append(f"{name}_sum{_labels(base)} {_number(hist.sum)}")
    lines.append(f"{name}_count{_labels(base)} {total}")


def _labels(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(x)
