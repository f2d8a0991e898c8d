"""One replica's counters for one model version over one time bucket: a metric_buckets row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Bucket"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """Exactly the columns of ``metric_buckets`` (``migrations.models.MetricBucket``).

    ``bucket_start`` is an aware UTC datetime, a multiple of ``width_s`` seconds since
    the epoch, so every replica's buckets line up. ``requests`` counts every outcome;
    the three error counts are parts of it (the rest were ``ok``). ``latency_hist`` is
    ``LatencyHistogram.to_dict()``, ``outputs`` ``OutputSummary.to_dict()`` and
    ``sketches`` ``InputSketch.to_dict()``; the last two are ``{}`` when nothing was
    observed. ``samples`` is ``RowSample.to_dict()`` (raw input rows, see
    ``router.telemetry.rowsample``), ``{}`` without one.
    """

    model_name: str
    version: str
    replica: str
    bucket_start: datetime
    width_s: int
    requests: int
    errors_client: int
    errors_model: int
    errors_timeout: int
    latency_hist: dict[str, Any]
    outputs: dict[str, Any]
    sketches: dict[str, Any]
    samples: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, datetime]:
        """The unique key of the row: (model_name, version, replica, bucket_start)."""
        return (self.model_name, self.version, self.replica, self.bucket_start)
