"""(pure) What a provider measured for one version over the analysis window.

A Measurement holds counts that add up over the window (requests, errors, histogram
buckets, output counts), so the judge can run count-based tests on it, plus the
summaries the quality join gives (accuracy, log loss, MAE, RMSE) and one ``value`` for
custom metrics. Everything is JSON-ready through ``to_dict`` / ``from_dict``, because
each controller tick stores the measurements it judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LatencyCounts", "Measurement", "Quality"]


@dataclass(frozen=True, slots=True)
class LatencyCounts:
    """A latency histogram: ``counts[i]`` holds ``bounds[i - 1] < v <= bounds[i]``.

    ``bounds`` are ascending upper bounds in seconds; ``counts`` has one bucket more,
    the last one above ``bounds[-1]`` (Prometheus' ``le`` rule, as in
    router.telemetry's LatencyHistogram).
    """

    bounds: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.bounds) < 2:
            raise ValueError("a latency histogram needs at least two bounds")
        if len(self.counts) != len(self.bounds) + 1:
            raise ValueError(
                f"{len(self.bounds)} bounds need {len(self.bounds) + 1} counts, "
                f"got {len(self.counts)}"
            )
        if any(b <= a for a, b in zip(self.bounds, self.bounds[1:], strict=False)):
            raise ValueError("latency bounds must be strictly ascending")
        if self.bounds[0] <= 0.0:
            raise ValueError("latency bounds must be > 0 (the judge works on log latency)")
        if any(n < 0 for n in self.counts):
            raise ValueError("latency counts must be >= 0")

    @property
    def total(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile, interpolated linearly inside its bucket (None when empty).

        The same rule as LatencyHistogram.quantile and Prometheus' histogram_quantile;
        above the last bound the answer is the last bound.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        total = self.total
        if total == 0:
            return None
        rank = q * total
        below = 0
        top = len(self.counts) - 1
        for i, n in enumerate(self.counts):
            if n and below + n >= rank:
                if i == top:
                    return self.bounds[-1]
                lo = self.bounds[i - 1] if i else 0.0
                hi = self.bounds[i]
                return lo + (hi - lo) * max(rank - below, 0.0) / n
            below += n
        return self.bounds[-1]  # pragma: no cover - rank <= total always lands above

    def log_midpoints(self) -> tuple[float, ...]:
        """The log-scale centre of each bucket, the value a binned latency stands for.

        Buckets are (nearly) equal steps in log latency, so the centre of
        ``(ln lo, ln hi]`` is the natural representative; the first and last buckets,
        open on one side, get one step like their neighbour's.
        """
        logs = [math.log(b) for b in self.bounds]
        mids = [logs[0] - (logs[1] - logs[0]) / 2.0]
        mids.extend((a + b) / 2.0 for a, b in zip(logs, logs[1:], strict=False))
        mids.append(logs[-1] + (logs[-1] - logs[-2]) / 2.0)
        return tuple(mids)

    def to_dict(self) -> dict[str, Any]:
        """Sparse counts: ``{"bounds": [...], "counts": {"<index>": n}}``."""
        return {
            "bounds": list(self.bounds),
            "counts": {str(i): n for i, n in enumerate(self.counts) if n},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> LatencyCounts:
        bounds = tuple(float(b) for b in doc["bounds"])
        counts = [0] * (len(bounds) + 1)
        for key, n in dict(doc.get("counts", {})).items():
            counts[int(key)] = int(n)
        return cls(bounds, tuple(counts))


@dataclass(frozen=True, slots=True)
class Quality:
    """Quality of one version's labelled predictions over the window (router.quality)."""

    labelled: int
    accuracy: float | None = None
    log_loss: float | None = None
    mae: float | None = None
    rmse: float | None = None

    def __post_init__(self) -> None:
        if self.labelled < 0:
            raise ValueError("labelled must be >= 0")
        if self.accuracy is not None and not 0.0 <= self.accuracy <= 1.0:
            raise ValueError(f"accuracy must be in [0, 1], got {self.accuracy}")

    @property
    def misclassified(self) -> int | None:
        """Wrong predictions, recovered from accuracy (exact: accuracy = correct / labelled)."""
        if self.accuracy is None:
            return None
        return round(self.labelled * (1.0 - self.accuracy))


@dataclass(frozen=True, slots=True)
class Measurement:
    """One version over one window. Counts are cumulative over the window.

    ``errors`` are the errors the version is to blame for (model errors and timeouts,
    not bad client input). ``output_labels`` counts class labels by ``str(label)``;
    ``output_values`` counts numeric outputs by ordered bin id (router.telemetry's
    OUTPUT_GRID, where a larger id is a larger value). ``value`` is a custom metric's
    number. ``pairs`` counts mirrored requests whose answer was compared with the
    primary's, ``disagreements`` those where the answers differed (a shadow's).
    ``input_drift`` is the drift monitor's verdict on the version's newest window
    ending inside the analysis window, as a number (0 OK, 1 WARN, 2 DRIFT), None
    without one.
    """

    requests: int = 0
    errors: int = 0
    latency: LatencyCounts | None = None
    output_labels: Mapping[str, int] = field(default_factory=dict)
    output_values: Mapping[int, int] = field(default_factory=dict)
    quality: Quality | None = None
    value: float | None = None
    pairs: int = 0
    disagreements: int = 0
    input_drift: float | None = None

    def __post_init__(self) -> None:
        if self.requests < 0 or self.errors < 0:
            raise ValueError("requests and errors must be >= 0")
        if not 0 <= self.disagreements <= self.pairs:
            raise ValueError(
                f"need 0 <= disagreements ({self.disagreements}) <= pairs ({self.pairs})"
            )
        if self.errors > self.requests:
            raise ValueError(f"errors ({self.errors}) cannot exceed requests ({self.requests})")

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "latency": None if self.latency is None else self.latency.to_dict(),
            "output_labels": dict(self.output_labels),
            "output_values": {str(k): n for k, n in sorted(self.output_values.items())},
            "quality": None
            if self.quality is None
            else {
                "labelled": self.quality.labelled,
                "accuracy": self.quality.accuracy,
                "log_loss": self.quality.log_loss,
                "mae": self.quality.mae,
                "rmse": self.quality.rmse,
            },
            "value": _json_number(self.value),
            "pairs": self.pairs,
            "disagreements": self.disagreements,
            "input_drift": self.input_drift,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Measurement:
        latency = doc.get("latency")
        quality = doc.get("quality")
        value = doc.get("value")
        return cls(
            requests=int(doc.get("requests", 0)),
            errors=int(doc.get("errors", 0)),
            latency=None if latency is None else LatencyCounts.from_dict(latency),
            output_labels={str(k): int(n) for k, n in dict(doc.get("output_labels", {})).items()},
            output_values={int(k): int(n) for k, n in dict(doc.get("output_values", {})).items()},
            quality=None if quality is None else Quality(**quality),
            value=None if value is None else float(value),
            pairs=int(doc.get("pairs", 0)),
            disagreements=int(doc.get("disagreements", 0)),
            input_drift=None if doc.get("input_drift") is None else float(doc["input_drift"]),
        )


def _json_number(value: float | None) -> float | str | None:
    """JSON has no infinities: they travel as the strings float() reads back."""
    if value is None or math.isfinite(value):
        return value
    return str(value)
