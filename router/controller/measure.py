"""The builtin metric reader: a version's merged gateway buckets (and feedback quality)
over a window, from the control DB."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitors.store import latest_reports
from router.analysis import Measurement, measurement_from_merged
from router.analysis.providers.base import BuiltinReader
from router.quality import quality
from router.telemetry import read_merged


def builtin_reader(sessions: sessionmaker[Session]) -> BuiltinReader:
    def read(model: str, version: str, since: datetime, until: datetime) -> Measurement | None:
        with sessions() as session:
            merged = read_merged(session, model, since=since, until=until, versions=[version])
            stats = merged.get(version)
            if stats is None or stats.requests == 0:
                return None  # no data is neither pass nor fail: the judge waits
            labelled = quality(session, model, since=since, until=until, include_shadow=False)
            drift = _input_drift(session, model, version, since)
        measured = measurement_from_merged(stats, labelled.get(version))
        return replace(measured, input_drift=drift)

    return read


_BAND_VALUE = {"OK": 0.0, "WARN": 1.0, "DRIFT": 2.0}


def _input_drift(session: Session, model: str, version: str, since: datetime) -> float | None:
    """The verdict of the version's newest drift window that ended after ``since``."""
    newest = latest_reports(session, model, version, limit=1)
    if not newest or newest[0].window_end < since:
        return None
    return _BAND_VALUE.get(newest[0].verdict)  # NO_DATA: nothing judged, the metric waits
