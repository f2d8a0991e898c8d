"""Migration 0002 and the constraints of the predictions and feedback tables."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from migrations import current, downgrade, make_engine, upgrade
from migrations.models import Feedback, Prediction
from tests.router.quality.conftest import T0

NEW_TABLES = {"predictions", "feedback"}


def test_0002_upgrades_from_0001_and_downgrades_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        upgrade(engine, "0002")
        assert current(engine) == "0002"
        assert NEW_TABLES <= set(inspect(engine).get_table_names())
        downgrade(engine, "0001")
        tables = set(inspect(engine).get_table_names())
        assert not NEW_TABLES & tables and "rollouts" in tables
    finally:
        engine.dispose()


def _prediction(version: str = "1") -> Prediction:
    return Prediction(request_id="r1", model_name="fraud", version=version, at=T0, label=1)


def test_a_request_row_has_one_prediction_per_version(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add_all([_prediction("1"), _prediction("2")])
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(_prediction("1"))


def test_a_request_row_has_one_label(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add(Feedback(request_id="r1", label=1))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Feedback(request_id="r1", label=0))


def test_server_defaults(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        # SQLite stores naive UTC (see migrations.coltypes.UTCDateTime).
        at = T0.replace(tzinfo=None) if s.get_bind().dialect.name == "sqlite" else T0
        s.execute(
            text(
                "INSERT INTO predictions (request_id, model_name, version, at) "
                "VALUES ('r1', 'fraud', '1', :at)"
            ),
            {"at": at},
        )
        s.execute(
            text("INSERT INTO feedback (request_id, label, received_at) VALUES ('r1', '1', :at)"),
            {"at": at},
        )
    with sessions() as s:
        stored = s.scalars(select(Prediction)).one()
        assert (stored.row_index, stored.shadow, stored.label, stored.scores) == (
            0,
            False,
            None,
            None,
        )
        label = s.scalars(select(Feedback)).one()
        assert (label.row_index, label.label, label.received_at) == (0, 1, T0)
