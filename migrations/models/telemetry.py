"""What the gateways measured (mergeable per-second buckets) and what the monitors concluded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["DriftReport", "MetricBucket"]


class MetricBucket(Base):
    """Counters and sketches of one replica for one model version over one time bucket.

    Every field merges by addition (or sketch merge), so the controller sums buckets
    across replicas; the unique key lets a replica re-flush a bucket idempotently.
    """

    __tablename__ = "metric_buckets"
    __table_args__ = (
        UniqueConstraint("model_name", "version", "replica", "bucket_start"),
        Index("ix_metric_buckets_model_name_bucket_start", "model_name", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    replica: Mapped[str] = mapped_column(String(255))
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime())
    width_s: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Split by blame: bad input (4xx), the model itself, and timeouts are judged apart.
    errors_client: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors_model: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors_timeout: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_hist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sketches: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A bounded uniform sample of raw input rows (router.telemetry.rowsample); null
    # when the replica keeps none.
    samples: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DriftReport(Base):
    """The drift verdict for one model version over one window, with per-feature detail."""

    __tablename__ = "drift_reports"
    __table_args__ = (
        Index(
            "ix_drift_reports_model_name_version_window_end",
            "model_name",
            "version",
            "window_end",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
