"""The builtin metric reader: a version's merged gateway buckets (and feedback quality)
over a window, from the control DB."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

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
        return measurement_from_merged(stats, labelled.get(version))

    return read
