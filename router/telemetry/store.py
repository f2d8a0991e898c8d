"""Metric buckets in the control DB: idempotent-by-merge writes, merged reads, pruning.

Repository functions: they take a Session and only ``flush()``; the caller owns the
transaction (``with sessions.begin() as session: ...``). Portable across SQLite and
PostgreSQL: a write selects the row of each key and adds into it, or inserts it. The
unique key (model_name, version, replica, bucket_start) is the safety net: only one
replica writes its own keys, so two writers of one key means a retry racing itself,
and the loser's transaction fails with IntegrityError instead of double counting;
retrying it then merges.

Delivery is at least once: if a commit succeeds but its acknowledgement is lost, the
caller's retry adds the same counts again. That overstates a second of traffic on one
replica rarely, where dropping the bucket would understate it every time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from migrations.models.telemetry import MetricBucket
from router.telemetry.bucket import Bucket
from router.telemetry.merged import MergedStats, add_buckets, merge_buckets

__all__ = ["prune", "read_buckets", "read_merged", "write_buckets"]


def write_buckets(session: Session, buckets: Iterable[Bucket]) -> int:
    """Insert ``buckets``, adding into rows that already have the same key.

    Returns how many rows were written (inserted or updated). Buckets of one key in
    ``buckets`` are added together first.
    """
    combined: dict[tuple[str, str, str, datetime], Bucket] = {}
    for b in buckets:
        prior = combined.get(b.key)
        combined[b.key] = b if prior is None else add_buckets(prior, b)
    for key, bucket in combined.items():
        row = session.scalars(
            select(MetricBucket).where(
                MetricBucket.model_name == key[0],
                MetricBucket.version == key[1],
                MetricBucket.replica == key[2],
                MetricBucket.bucket_start == key[3],
            )
        ).one_or_none()
        if row is None:
            session.add(MetricBucket(**_columns(bucket)))
            continue
        total = add_buckets(_bucket(row), bucket)
        # New dict objects: the JSON columns do not track in-place changes.
        for name, value in _columns(total).items():
            setattr(row, name, value)
    session.flush()
    return len(combined)


def read_buckets(
    session: Session,
    model: str,
    *,
    since: datetime,
    until: datetime | None = None,
    versions: Collection[str] | None = None,
    include_sketches: bool = True,
    include_samples: bool = False,
) -> list[Bucket]:
    """The buckets of ``model`` with ``since <= bucket_start < until``, oldest first.

    Raw-row samples are read only with ``include_samples`` (the drift report wants
    them; nothing else does).
    """
    columns: list[Any] = [
        MetricBucket.model_name,
        MetricBucket.version,
        MetricBucket.replica,
        MetricBucket.bucket_start,
        MetricBucket.width_s,
        MetricBucket.requests,
        MetricBucket.errors_client,
        MetricBucket.errors_model,
        MetricBucket.errors_timeout,
        MetricBucket.latency_hist,
        MetricBucket.outputs,
    ]
    if include_sketches:
        # The widest column by far; the error and latency judges do not need it.
        columns.append(MetricBucket.sketches)
    if include_samples:
        columns.append(MetricBucket.samples)
    query = select(*columns).where(
        MetricBucket.model_name == model, MetricBucket.bucket_start >= since
    )
    if until is not None:
        query = query.where(MetricBucket.bucket_start < until)
    if versions is not None:
        query = query.where(MetricBucket.version.in_(list(versions)))
    query = query.order_by(MetricBucket.bucket_start, MetricBucket.version, MetricBucket.replica)
    out: list[Bucket] = []
    for r in session.execute(query):
        out.append(
            Bucket(
                model_name=r.model_name,
                version=r.version,
                replica=r.replica,
                bucket_start=r.bucket_start,
                width_s=r.width_s,
                requests=r.requests,
                errors_client=r.errors_client,
                errors_model=r.errors_model,
                errors_timeout=r.errors_timeout,
                latency_hist=r.latency_hist or {},
                outputs=r.outputs or {},
                sketches=(r.sketches or {}) if include_sketches else {},
                samples=(r.samples or {}) if include_samples else {},
            )
        )
    return out


def read_merged(
    session: Session,
    model: str,
    *,
    since: datetime,
    until: datetime | None = None,
    versions: Collection[str] | None = None,
    include_sketches: bool = True,
) -> dict[str, MergedStats]:
    """Per version of ``model``, every replica's buckets in the window added together.

    The window holds buckets with ``since <= bucket_start < until`` (``until`` None:
    no upper bound). A version without buckets is absent from the result.
    """
    rows = read_buckets(
        session,
        model,
        since=since,
        until=until,
        versions=versions,
        include_sketches=include_sketches,
    )
    return merge_buckets(rows, include_sketches=include_sketches)


def prune(session: Session, older_than: datetime) -> int:
    """Delete every bucket that started before ``older_than``; how many were deleted."""
    result = session.execute(
        delete(MetricBucket)
        .where(MetricBucket.bucket_start < older_than)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(cast(CursorResult[Any], result).rowcount)


def _columns(b: Bucket) -> dict[str, Any]:
    return {
        "model_name": b.model_name,
        "version": b.version,
        "replica": b.replica,
        "bucket_start": b.bucket_start,
        "width_s": b.width_s,
        "requests": b.requests,
        "errors_client": b.errors_client,
        "errors_model": b.errors_model,
        "errors_timeout": b.errors_timeout,
        "latency_hist": dict(b.latency_hist),
        "outputs": dict(b.outputs),
        "sketches": dict(b.sketches),
        "samples": dict(b.samples) or None,
    }


def _bucket(row: MetricBucket) -> Bucket:
    return Bucket(
        model_name=row.model_name,
        version=row.version,
        replica=row.replica,
        bucket_start=row.bucket_start,
        width_s=row.width_s,
        requests=row.requests,
        errors_client=row.errors_client,
        errors_model=row.errors_model,
        errors_timeout=row.errors_timeout,
        latency_hist=row.latency_hist or {},
        outputs=row.outputs or {},
        sketches=row.sketches or {},
        samples=row.samples or {},
    )
