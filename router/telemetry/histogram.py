"""Mergeable latency histograms over one fixed set of log-spaced buckets.

Every process uses the same bucket bounds, so histograms from any replica and any
time bucket merge by adding counts: merging is exact, associative and commutative.

Bounds: the Renard R10 preferred numbers (1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8)
times each power of ten from 10 us to 100 s (71 bounds), plus ``+Inf``. They are ten
per decade like ``10 ** (k / 10)`` but round in decimal, so ``le`` labels read
``0.005``, ``0.25``, ``2.5``. Bucket ``i`` holds ``bounds[i - 1] < v <= bounds[i]``
(Prometheus' ``le`` rule); bucket 0 also holds 0, bucket 71 everything above 100 s.

Quantiles are interpolated linearly inside the bucket that holds the rank, as
Prometheus' ``histogram_quantile`` does, so the estimate lies in the same bucket as the
true value: its relative error is at most one bucket's relative width, ``hi / lo - 1
<= 0.28`` (``1.6 / 1.25``). Above 100 s the estimate is 100 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from router.telemetry.errors import InvalidObservation, SchemaVersionError

__all__ = [
    "HISTOGRAM_SCHEMA_VERSION",
    "LATENCY_BOUNDS",
    "N_BUCKETS",
    "LatencyHistogram",
    "bucket_index",
]

HISTOGRAM_SCHEMA_VERSION: Final = 1

_R10: Final = ("1", "1.25", "1.6", "2", "2.5", "3.15", "4", "5", "6.3", "8")
# Parsed from decimal text so every platform gets the same floats (parsing is
# correctly rounded; a pow() may differ in the last bit between libms).
LATENCY_BOUNDS: Final[tuple[float, ...]] = (
    *(float(f"{m}e{k}") for k in range(-5, 2) for m in _R10),
    100.0,
)
N_BUCKETS: Final = len(LATENCY_BOUNDS) + 1  # the last one is +Inf

_INF: Final = math.inf
_FIRST: Final = LATENCY_BOUNDS[0]
_TOP: Final = N_BUCKETS - 1
_BOUNDS_INF: Final = (*LATENCY_BOUNDS, _INF)
# bound i is close to 10 ** (i / 10 - 5): the log gives the index up to one step.
_OFFSET: Final = 50
_log10 = math.log10
_ceil = math.ceil


def bucket_index(seconds: float) -> int:
    """The bucket of a latency: the first bound ``>= seconds`` (72 buckets, 71 = +Inf).

    O(1): the log10 of the value names the bucket up to one step, because each R10
    bound lies within 1% of ``10 ** (i / 10 - 5)`` (less than half a step), and one
    comparison with each neighbour settles it. Equal to
    ``bisect.bisect_left(LATENCY_BOUNDS, seconds)``. Raises ``InvalidObservation`` for
    a negative, NaN or infinite value.
    """
    if not 0.0 <= seconds < _INF:  # False for NaN too
        raise InvalidObservation(f"latency must be finite and >= 0 seconds, got {seconds!r}")
    if seconds <= _FIRST:
        return 0
    i = _ceil(_log10(seconds) * 10.0) + _OFFSET
    if i > _TOP:
        i = _TOP
    if seconds > _BOUNDS_INF[i]:
        return i + 1
    if seconds <= _BOUNDS_INF[i - 1]:
        return i - 1
    return i


class LatencyHistogram:
    """Counts of latencies per fixed bucket, and their sum (for the mean)."""

    __slots__ = ("counts", "sum")

    def __init__(self, counts: list[int] | None = None, total: float = 0.0) -> None:
        if counts is None:
            counts = [0] * N_BUCKETS
        elif len(counts) != N_BUCKETS:
            raise ValueError(f"a latency histogram has {N_BUCKETS} buckets, got {len(counts)}")
        self.counts = counts
        self.sum = total

    def observe(self, seconds: float) -> None:
        """Count one latency (O(1)); ``InvalidObservation`` if it is negative or not finite."""
        self.counts[bucket_index(seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        """How many latencies were observed."""
        return sum(self.counts)

    def merge(self, other: LatencyHistogram) -> None:
        """Add ``other``'s counts into this histogram (in place)."""
        mine = self.counts
        for i, n in enumerate(other.counts):
            if n:
                mine[i] += n
        self.sum += other.sum

    def copy(self) -> LatencyHistogram:
        return LatencyHistogram(list(self.counts), self.sum)

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0 <= q <= 1), or None when nothing was observed.

        Linear interpolation inside the bucket holding rank ``q * count``; see the
        module docstring for the error bound.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        total = self.count
        if total == 0:
            return None
        rank = q * total
        below = 0
        for i, n in enumerate(self.counts):
            if n and below + n >= rank:
                if i == _TOP:
                    return LATENCY_BOUNDS[-1]
                lo = LATENCY_BOUNDS[i - 1] if i else 0.0
                hi = LATENCY_BOUNDS[i]
                return lo + (hi - lo) * max(rank - below, 0.0) / n
            below += n
        return LATENCY_BOUNDS[-1]  # pragma: no cover - rank <= total always lands above

    def to_dict(self) -> dict[str, Any]:
        """``{"v": 1, "counts": {"<bucket index>": n, ...}, "sum": seconds}``, sparse."""
        return {
            "v": HISTOGRAM_SCHEMA_VERSION,
            "counts": {str(i): n for i, n in enumerate(self.counts) if n},
            "sum": self.sum,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> LatencyHistogram:
        """Read ``to_dict``'s shape; an empty mapping is an empty histogram."""
        if not doc:
            return cls()
        if doc.get("v") != HISTOGRAM_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"latency histogram version {doc.get('v')!r} is not supported "
                f"(this build reads {HISTOGRAM_SCHEMA_VERSION})"
            )
        raw = doc.get("counts")
        total = doc.get("sum")
        if not isinstance(raw, Mapping) or not isinstance(total, int | float):
            raise SchemaVersionError("latency histogram needs a 'counts' mapping and a 'sum'")
        counts = [0] * N_BUCKETS
        for key, n in raw.items():
            i = int(key)
            if not 0 <= i < N_BUCKETS or type(n) is not int or n < 0:
                raise SchemaVersionError(f"latency histogram has a bad bucket {key!r}: {n!r}")
            counts[i] += n
        return cls(counts, float(total))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return self.counts == other.counts and self.sum == other.sum

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self.count}, sum={self.sum!r})"
