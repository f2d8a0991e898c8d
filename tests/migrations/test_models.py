"""Constraints the database itself enforces, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from migrations import session_factory
from migrations.models import (
    TERMINAL_ROLLOUT_PHASES,
    Alert,
    AlertDelivery,
    Event,
    MetricBucket,
    Rollout,
    RolloutDecision,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _rollout(model: str = "fraud", phase: str = "Progressing") -> Rollout:
    return Rollout(
        model_name=model,
        strategy="canary",
        baseline_version="1",
        candidate_version="2",
        spec={"steps": [5, 25, 50, 100]},
        phase=phase,
        created_by="tester",
    )


def _bucket(**overrides: Any) -> MetricBucket:
    fields: dict[str, Any] = {
        "model_name": "fraud",
        "version": "2",
        "replica": "gw-1",
        "bucket_start": T0,
        "width_s": 1,
        "requests": 10,
    }
    fields.update(overrides)
    return MetricBucket(**fields)


def test_one_active_rollout_per_model(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    with sessions.begin() as s:
        first = _rollout()
        s.add(first)
        s.add(_rollout(model="churn"))  # another model is independent
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(_rollout())
    with sessions.begin() as s:
        s.get_one(Rollout, first.id).phase = "Aborted"
    with sessions.begin() as s:
        s.add(_rollout())


def test_every_terminal_phase_frees_the_model(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    for phase in TERMINAL_ROLLOUT_PHASES:
        with sessions.begin() as s:
            r = _rollout()
            s.add(r)
        with sessions.begin() as s:
            s.get_one(Rollout, r.id).phase = phase
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Rollout)) == 4


def test_weight_is_a_percentage(migrated_engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_factory(migrated_engine).begin() as s:
        r = _rollout()
        r.weight = 101
        s.add(r)


def test_metric_bucket_key_rejects_a_duplicate(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    with sessions.begin() as s:
        s.add(_bucket())
        s.add(_bucket(replica="gw-2"))
        s.add(_bucket(bucket_start=T0 + timedelta(seconds=1)))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(_bucket(requests=3))


def test_deleting_a_rollout_cascades_decisions_and_keeps_events(
    migrated_engine: Engine,
) -> None:
    sessions = session_factory(migrated_engine)
    with sessions.begin() as s:
        r = _rollout()
        s.add(r)
        s.flush()
        s.add(
            RolloutDecision(
                rollout_id=r.id,
                step_index=0,
                phase_before="Progressing",
                phase_after="Progressing",
                verdict="Pass",
                measurements={"error_rate": 0.0},
                reason="within thresholds",
            )
        )
        s.add(Event(model_name="fraud", kind="rollout.start", actor="tester", rollout_id=r.id))
    with sessions.begin() as s:
        # Core delete, so the database's ON DELETE rules act, not the ORM's cascades.
        s.execute(delete(Rollout))
    with sessions.begin() as s:
        assert s.scalars(select(RolloutDecision)).all() == []
        event = s.scalars(select(Event)).one()
        assert event.rollout_id is None


def test_deleting_an_alert_cascades_its_deliveries(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    with sessions.begin() as s:
        alert = Alert(
            kind="drift",
            severity="warning",
            model_name="fraud",
            dedup_key="drift:fraud:2",
            payload={},
            status="open",
        )
        s.add(alert)
        s.flush()
        s.add(AlertDelivery(alert_id=alert.id, sink="webhook"))
    assert len(alert.id) == 36
    with sessions.begin() as s:
        delivery = s.scalars(select(AlertDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        s.execute(delete(Alert))
    with sessions.begin() as s:
        assert s.scalars(select(AlertDelivery)).all() == []


def test_timestamps_come_back_aware_utc(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    plus_two = timezone(timedelta(hours=2))
    with sessions.begin() as s:
        s.add(_bucket(bucket_start=datetime(2025, 1, 1, 14, 0, tzinfo=plus_two)))
    with sessions.begin() as s:
        stored = s.scalars(select(MetricBucket.bucket_start)).one()
        assert stored == T0
        assert stored.tzinfo == UTC
        # Comparisons bind through the same type, so an aware bound works everywhere.
        assert s.scalars(select(MetricBucket).where(MetricBucket.bucket_start >= T0)).all()


def test_naive_timestamps_are_refused(migrated_engine: Engine) -> None:
    with (
        pytest.raises(StatementError, match="naive"),
        session_factory(migrated_engine).begin() as s,
    ):
        s.add(_bucket(bucket_start=datetime(2025, 1, 1, 12, 0)))
