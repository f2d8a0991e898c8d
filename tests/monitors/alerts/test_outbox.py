"""The outbox on SQLite and PostgreSQL: raise (routing, one transaction), dedup and
cooldown, list/show/ack, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import Alert, AlertDelivery
from monitors.alerts import (
    AlertNotFound,
    FeatureDrift,
    NewAlert,
    UnknownSink,
    ack_alert,
    get_alert,
    list_alerts,
    parse_config,
    purge,
    raise_alert,
)
from monitors.alerts.outbox import claim, due_deliveries, mark_delivered
from tests.monitors.alerts.helpers import Clock

CONFIG = parse_config(
    """
cooldown = "1h"
[sinks.hook]
type = "webhook"
url = "http://127.0.0.1:9/hook"
[sinks.retrain]
type = "webhook"
url = "http://127.0.0.1:9/retrain"
format = "retraining"

[[routes]]
kinds = ["drift", "data_quality"]
min_severity = "warn"
sinks = ["hook", "log"]
[[routes]]
kinds = ["drift"]
min_severity = "critical"
sinks = ["retrain"]
"""
)


def drift(severity: str = "warn", feature: str | None = None, model: str = "fraud") -> NewAlert:
    return NewAlert(
        kind="drift",
        severity=severity,
        model=model,
        version="7",
        feature=feature,
        title=f"{model} drifted",
        features=(FeatureDrift("amount", "psi", 0.3, 0.1),),
    )


def count(session: Session, table: type[Alert] | type[AlertDelivery]) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_raise_stores_the_alert_and_one_delivery_per_routed_sink(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        raised = raise_alert(s, CONFIG, drift("critical"), now=clock())
    assert not raised.suppressed
    assert raised.sinks == ("hook", "log", "retrain")
    with sessions() as s:
        alert = get_alert(s, raised.alert_id)
    assert alert.status == "open" and alert.repeats == 0
    assert [(d.sink, d.status, d.attempts) for d in alert.deliveries] == [
        ("hook", "pending", 0),
        ("log", "pending", 0),
        ("retrain", "pending", 0),
    ]
    assert alert.payload["features"][0]["feature"] == "amount"
    assert alert.dedup_key == "fraud|7|drift|*"


def test_an_alert_routed_nowhere_is_still_stored(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        raised = raise_alert(s, CONFIG, drift("info"))
    assert raised.sinks == ()
    with sessions() as s:
        assert get_alert(s, raised.alert_id).deliveries == ()


def test_alert_and_deliveries_commit_or_roll_back_together(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as s:
        raise_alert(s, CONFIG, drift("critical"))
        raise RuntimeError("the caller's transaction fails after raising")
    with sessions() as s:
        assert count(s, Alert) == 0 and count(s, AlertDelivery) == 0


def test_explicit_sinks_bypass_routing_and_must_exist(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        raised = raise_alert(s, CONFIG, drift("info"), sinks=["retrain", "retrain"])
    assert raised.sinks == ("retrain",)
    with pytest.raises(UnknownSink, match="nope"), sessions.begin() as s:
        raise_alert(s, CONFIG, drift("info"), sinks=["nope"])


def test_a_repeat_within_the_cooldown_is_counted_not_sent(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        first = raise_alert(s, CONFIG, drift(), now=clock())
    for _ in range(3):
        clock.advance(600)
        with sessions.begin() as s:
            again = raise_alert(s, CONFIG, drift(), now=clock())
        assert again.suppressed and again.alert_id == first.alert_id and again.sinks == ()
    with sessions() as s:
        assert count(s, Alert) == 1 and count(s, AlertDelivery) == 2
        stored = get_alert(s, first.alert_id)
    assert stored.repeats == 3
    assert stored.last_seen_at == clock()


def test_after_the_cooldown_the_condition_alerts_again(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        first = raise_alert(s, CONFIG, drift(), now=clock())
    clock.advance(3600)
    with sessions.begin() as s:
        second = raise_alert(s, CONFIG, drift(), now=clock())
    assert not second.suppressed and second.alert_id != first.alert_id


def test_an_escalation_is_sent_inside_the_cooldown(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        raise_alert(s, CONFIG, drift("warn"), now=clock())
    clock.advance(60)
    with sessions.begin() as s:
        worse = raise_alert(s, CONFIG, drift("critical"), now=clock())
    assert not worse.suppressed and "retrain" in worse.sinks
    clock.advance(60)
    with sessions.begin() as s:  # back to warn: still inside the critical one's cooldown
        assert raise_alert(s, CONFIG, drift("warn"), now=clock()).suppressed


def test_the_dedup_key_separates_models_versions_and_features(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        a = raise_alert(s, CONFIG, drift(feature="amount"), now=clock())
        b = raise_alert(s, CONFIG, drift(feature="age"), now=clock())
        c = raise_alert(s, CONFIG, drift(feature="amount", model="churn"), now=clock())
    assert not (a.suppressed or b.suppressed or c.suppressed)


def test_rollbacks_are_events_without_a_cooldown(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    rollback = NewAlert(kind="rollout_rollback", severity="critical", model="m", title="rb")
    with sessions.begin() as s:
        first = raise_alert(s, CONFIG, rollback, now=clock())
        second = raise_alert(s, CONFIG, rollback, now=clock())
    assert first.alert_id != second.alert_id and not second.suppressed


def test_list_filters_and_orders_newest_first(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    ids = []
    for model, severity in [("fraud", "warn"), ("churn", "critical"), ("fraud", "info")]:
        clock.advance(1)
        alert = drift(severity, model=model, feature=severity)
        with sessions.begin() as s:
            ids.append(raise_alert(s, CONFIG, alert, now=clock()).alert_id)
    with sessions() as s:
        assert [a.id for a in list_alerts(s)] == ids[::-1]
        assert [a.id for a in list_alerts(s, model="fraud")] == [ids[2], ids[0]]
        assert [a.id for a in list_alerts(s, min_severity="warn")] == [ids[1], ids[0]]
        assert [a.id for a in list_alerts(s, kind="drift", limit=1)] == [ids[2]]
        assert list_alerts(s, kind="data_quality") == []
        with pytest.raises(ValueError, match="unknown severity"):
            list_alerts(s, min_severity="loud")


def test_show_by_prefix_and_unknown_ids(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        raised = raise_alert(s, CONFIG, drift())
    with sessions() as s:
        assert get_alert(s, raised.alert_id[:8]).id == raised.alert_id
        with pytest.raises(AlertNotFound, match="no alert with id 'abc'"):
            get_alert(s, "abc")  # too short for a prefix
        with pytest.raises(AlertNotFound):
            get_alert(s, "zzzzzzzz")


def test_ack_records_who_and_when_once(sessions: sessionmaker[Session], clock: Clock) -> None:
    with sessions.begin() as s:
        raised = raise_alert(s, CONFIG, drift(), now=clock())
    with sessions.begin() as s:
        acked = ack_alert(s, raised.alert_id, "alice", now=clock())
    assert (acked.status, acked.acked_by, acked.acked_at) == ("acked", "alice", clock())
    clock.advance(5)
    with sessions.begin() as s:
        again = ack_alert(s, raised.alert_id, "bob", now=clock())
    assert (again.acked_by, again.acked_at) == ("alice", acked.acked_at)
    with sessions() as s:
        assert [a.id for a in list_alerts(s, status="acked")] == [raised.alert_id]
        assert list_alerts(s, status="open") == []
        # Acking does not cancel the deliveries still in the outbox.
        assert {d.status for d in get_alert(s, raised.alert_id).deliveries} == {"pending"}
    with pytest.raises(AlertNotFound), sessions.begin() as s:
        ack_alert(s, "00000000-0000-4000-8000-000000000000", "alice")


def test_purge_keeps_recent_alerts_and_anything_still_pending(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as s:
        old_done = raise_alert(s, CONFIG, drift(feature="a"), now=clock())
        old_pending = raise_alert(s, CONFIG, drift(feature="b"), now=clock())
    with sessions.begin() as s:
        for due in due_deliveries(s, clock(), 100):
            if due.alert_id == old_done.alert_id:
                assert claim(s, due, clock(), 60)
                mark_delivered(s, due.id, clock())
    clock.advance(40 * 86400)
    with sessions.begin() as s:
        recent = raise_alert(s, CONFIG, drift(feature="c"), now=clock())
    with sessions.begin() as s:
        removed = purge(s, clock() - timedelta(days=30))
    assert removed == 1
    with sessions() as s:
        left = {a.id for a in list_alerts(s)}
        assert left == {old_pending.alert_id, recent.alert_id}
        assert count(s, AlertDelivery) == 4  # the purged alert's deliveries went with it
