"""Time helpers shared by the feeds: epoch seconds out, aligned steps in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

# Steps a time series may be cut into; chosen so a chart holds at most ~max_points.
_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


def epoch(t: datetime | None) -> float | None:
    """Epoch seconds of an aware (or UTC-naive) datetime; None stays None."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def choose_step(span_s: float, max_points: int = 240) -> int:
    """The smallest step in seconds that cuts ``span_s`` into at most ``max_points``."""
    for step in _STEPS:
        if span_s / step <= max_points:
            return step
    return _STEPS[-1]
