"""Drift reports in the control DB: one row per evaluated window of a model version.

Repository functions: they take a Session and only ``flush()``; the caller owns the
transaction. ``features`` holds the whole evaluation document (per-feature statistics,
thresholds and bands, data quality, the dataset verdict, notes) so that the CLI, the
API and the dashboard show exactly what the monitor decided on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from migrations.models.telemetry import DriftReport
from monitors.errors import MonitorError

__all__ = [
    "ReportNotFound",
    "StoredReport",
    "get_report",
    "latest_reports",
    "prune_reports",
    "report_by_id",
    "save_report",
]


class ReportNotFound(MonitorError):
    """No drift report has that id (pruned, or never stored)."""


@dataclass(frozen=True)
class StoredReport:
    id: int
    model: str
    version: str
    window_start: datetime
    window_end: datetime
    rows: int
    verdict: str
    document: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "rows": self.rows,
            "verdict": self.verdict,
            "created_at": self.created_at.isoformat(),
            **{k: v for k, v in self.document.items() if k not in _TOP_LEVEL},
        }


_TOP_LEVEL = frozenset({"id", "model", "version", "window_start", "window_end", "rows"})


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _stored(row: DriftReport) -> StoredReport:
    return StoredReport(
        id=row.id,
        model=row.model_name,
        version=row.version,
        window_start=_aware(row.window_start),
        window_end=_aware(row.window_end),
        rows=row.rows,
        verdict=row.verdict,
        document=dict(row.features or {}),
        created_at=_aware(row.created_at),
    )


def save_report(
    session: Session,
    *,
    model: str,
    version: str,
    window_start: datetime,
    window_end: datetime,
    rows: int,
    verdict: str,
    document: Mapping[str, Any],
) -> StoredReport:
    row = DriftReport(
        model_name=model,
        version=version,
        window_start=window_start,
        window_end=window_end,
        rows=rows,
        verdict=verdict,
        features=dict(document),
    )
    session.add(row)
    session.flush()
    return _stored(row)


def latest_reports(
    session: Session, model: str, version: str | None = None, *, limit: int = 20
) -> list[StoredReport]:
    """The latest reports of ``model`` (one version or all), newest window first."""
    query = select(DriftReport).where(DriftReport.model_name == model)
    if version is not None:
        query = query.where(DriftReport.version == version)
    query = query.order_by(DriftReport.window_end.desc(), DriftReport.id.desc()).limit(limit)
    return [_stored(r) for r in session.scalars(query)]


def report_by_id(session: Session, report_id: int) -> StoredReport | None:
    row = session.get(DriftReport, report_id)
    return _stored(row) if row is not None else None


def get_report(session: Session, report_id: int) -> StoredReport:
    """``report_by_id``, or ``ReportNotFound``."""
    found = report_by_id(session, report_id)
    if found is None:
        raise ReportNotFound(f"no drift report #{report_id}")
    return found


def prune_reports(session: Session, older_than: datetime) -> int:
    result = session.execute(
        delete(DriftReport)
        .where(DriftReport.window_end < older_than)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(cast(CursorResult[Any], result).rowcount)
