"""The delivery worker's /metrics samples, on SQLite and PostgreSQL, against real HTTP
receivers: alerts stored, deliveries pending, failed attempts; retention never makes the
alert counter go down; a DB that is down keeps the last values and the loop alive."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from monitors.alerts import (
    DeliveryWorker,
    NewAlert,
    RetryPolicy,
    build_sinks,
    parse_config,
    purge,
    raise_alert,
)
from monitors.alerts.metrics import AlertMetrics
from router.telemetry import names
from router.telemetry.prometheus import render
from tests.monitors.alerts.helpers import Clock, Receiver, free_port

POLICY = RetryPolicy(base_s=10, factor=2, max_delay_s=100, max_attempts=50, jitter=0.0)


def two_sinks(up: str, down: str) -> str:
    """Every alert goes to `up` and `down` (two webhook receivers); drift repeats inside
    an hour are counted, not stored (rollbacks have no cooldown)."""
    return f"""
cooldown = "1h"
[sinks.up]
type = "webhook"
url = "{up}"
timeout_s = 2
[sinks.down]
type = "webhook"
url = "{down}"
timeout_s = 2
[[routes]]
sinks = ["up", "down"]
"""


def drift(feature: str) -> NewAlert:
    return NewAlert(kind="drift", severity="warn", model="fraud", version="1",
                    feature=feature, title=f"{feature} drifted")  # fmt: skip


def rollback(n: int) -> NewAlert:
    return NewAlert(kind="rollout_rollback", severity="critical", model="churn",
                    version="7", title=f"rollout #{n} rolled back")  # fmt: skip


def values(worker: DeliveryWorker) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(metric, sorted labels): value} of the worker's samples."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in worker.samples()}


def alerts_total(model: str, kind: str, severity: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"model": model, "kind": kind, "severity": severity}
    return names.ALERTS_TOTAL, tuple(sorted(labels.items()))


def pending(sink: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return names.ALERT_DELIVERIES_PENDING, (("sink", sink),)


def failures(sink: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return names.ALERT_DELIVERY_FAILURES_TOTAL, (("sink", sink),)


@pytest.fixture
def down() -> Iterator[Receiver]:
    """A receiver whose port is closed (connection refused) until the test starts it."""
    r = Receiver()
    r.stop()
    try:
        yield r
    finally:
        r.stop()


def make_worker(
    sessions: sessionmaker[Session],
    up: Receiver,
    down: Receiver,
    clock: Clock,
    *,
    interval_s: float = 1.0,
    metrics_every_s: float | None = None,
) -> DeliveryWorker:
    sinks = build_sinks(parse_config(two_sinks(up.url, down.url)), {})
    return DeliveryWorker(
        sessions,
        sinks,
        POLICY,
        clock=clock,
        rng=random.Random(1),
        interval_s=interval_s,
        metrics_every_s=metrics_every_s,
    )


def raise_some(sessions: sessionmaker[Session], up: Receiver, down: Receiver, clock: Clock) -> None:
    """Three drift alerts (plus two repeats inside the cooldown) and one rollback."""
    config = parse_config(two_sinks(up.url, down.url))
    with sessions.begin() as s:
        for feature in ("amount", "age", "country", "amount", "age"):
            raise_alert(s, config, drift(feature), now=clock())
        raise_alert(s, config, rollback(1), now=clock())


def test_samples_follow_alerts_raised_delivered_and_failing(
    sessions: sessionmaker[Session], receiver: Receiver, down: Receiver, clock: Clock
) -> None:
    worker = make_worker(sessions, receiver, down, clock)
    # Before any refresh: no DB facts yet, and no failures for any configured sink
    # (`log` always exists).
    assert values(worker) == {failures("up"): 0.0, failures("down"): 0.0, failures("log"): 0.0}

    raise_some(sessions, receiver, down, clock)
    assert pending("up") not in values(worker)  # samples() alone reads nothing
    assert worker.refresh_metrics()
    assert values(worker) == {
        alerts_total("fraud", "drift", "warn"): 3.0,  # the two repeats are not rows
        alerts_total("churn", "rollout_rollback", "critical"): 1.0,
        pending("up"): 4.0,
        pending("down"): 4.0,
        pending("log"): 0.0,
        failures("up"): 0.0,
        failures("down"): 0.0,
        failures("log"): 0.0,
    }

    # One pass: `up` takes all four, `down` refuses the connection four times.
    report = worker.run_once()
    assert len(report.delivered) == 4 and len(report.retrying) == 4
    assert len(receiver.received) == 4
    got = values(worker)
    assert got[failures("down")] == 4.0 and got[failures("up")] == 0.0  # counted at once
    assert got[pending("up")] == 4.0  # the DB facts wait for the next refresh
    assert worker.refresh_metrics()
    got = values(worker)
    assert (got[pending("up")], got[pending("down")]) == (0.0, 4.0)
    assert got[alerts_total("fraud", "drift", "warn")] == 3.0

    # The retries after the backoff fail again: four more failed attempts.
    clock.advance(POLICY.base_s)
    assert len(worker.run_once().retrying) == 4
    assert worker.refresh_metrics()
    got = values(worker)
    assert (got[failures("down")], got[pending("down")]) == (8.0, 4.0)

    # `down` comes back: the four are delivered, nothing is pending, failures stay.
    down.start()
    clock.advance(2 * POLICY.base_s)
    assert len(worker.run_once().delivered) == 4
    assert len(down.received) == 4
    raise_some(sessions, receiver, down, clock)  # only the rollback is new (cooldown)
    assert worker.refresh_metrics()
    assert values(worker) == {
        alerts_total("fraud", "drift", "warn"): 3.0,
        alerts_total("churn", "rollout_rollback", "critical"): 2.0,
        pending("up"): 1.0,
        pending("down"): 1.0,
        pending("log"): 0.0,
        failures("up"): 0.0,
        failures("down"): 8.0,
        failures("log"): 0.0,
    }

    text = render(None, gauges=worker.samples())
    assert "# TYPE turnout_alerts_total counter" in text
    assert "# TYPE turnout_alert_deliveries_pending gauge" in text
    assert "# TYPE turnout_alert_delivery_failures_total counter" in text
    assert 'turnout_alerts_total{model="fraud",kind="drift",severity="warn"} 3.0' in text
    assert 'turnout_alert_deliveries_pending{sink="down"} 1.0' in text
    assert 'turnout_alert_delivery_failures_total{sink="down"} 8.0' in text


def test_pending_counts_deliveries_of_every_sink_in_the_db(
    sessions: sessionmaker[Session], receiver: Receiver, down: Receiver, clock: Clock
) -> None:
    """Another process's config may route to a sink this one does not have: its pending
    deliveries are still a fact of the outbox, and a sink drained to 0 keeps its series."""
    config = parse_config(
        two_sinks(receiver.url, down.url)
        + '[sinks.pager]\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
    )
    with sessions.begin() as s:
        raise_alert(s, config, rollback(1), sinks=["pager"], now=clock())
    worker = make_worker(sessions, receiver, down, clock)
    assert worker.refresh_metrics()
    got = values(worker)
    assert (got[pending("pager")], got[pending("up")], got[pending("down")]) == (1.0, 0.0, 0.0)
    # This worker has no `pager` sink: the attempt fails, and is counted under its name.
    assert len(worker.run_once().retrying) == 1
    assert values(worker)[failures("pager")] == 1.0
    with sessions.begin() as s:  # the other process gives up on it
        s.execute(text("UPDATE alert_deliveries SET status = 'failed'"))
    assert worker.refresh_metrics()
    assert values(worker)[pending("pager")] == 0.0


def test_retention_never_makes_the_alert_counter_go_down(
    sessions: sessionmaker[Session], receiver: Receiver, down: Receiver, clock: Clock
) -> None:
    config = parse_config(two_sinks(receiver.url, down.url))
    worker = make_worker(sessions, receiver, down, clock)
    key = alerts_total("churn", "rollout_rollback", "critical")

    def raise_rollbacks(n: int) -> None:
        with sessions.begin() as s:
            for i in range(n):
                raise_alert(s, config, rollback(i), sinks=[], now=clock())

    raise_rollbacks(2)
    assert worker.refresh_metrics()
    assert values(worker)[key] == 2.0
    clock.advance(worker.metrics.settle.total_seconds() + 1)  # the two are settled now
    raise_rollbacks(1)
    assert worker.refresh_metrics()
    assert values(worker)[key] == 3.0
    # Retention (days, far longer than the settle time) deletes all three, which a
    # refresh has settled by then; they had nothing left to send.
    clock.advance(worker.metrics.settle.total_seconds() + 1)
    assert worker.refresh_metrics()
    with sessions.begin() as s:
        assert purge(s, clock()) == 3
    assert worker.refresh_metrics()
    assert values(worker)[key] == 3.0  # not a counter reset
    raise_rollbacks(2)
    assert worker.refresh_metrics()
    assert values(worker)[key] == 5.0

    # A process that starts after the purge counts what the DB still holds.
    fresh = make_worker(sessions, receiver, down, clock)
    assert fresh.refresh_metrics()
    assert values(fresh)[key] == 2.0


def test_each_alert_is_counted_once_while_the_mark_moves_and_retention_purges(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    """Ten alerts a minute apart; refreshes every 37 s cross every step of the mark, and
    a 2-minute retention deletes each alert soon after it settles: the count is ten
    at every refresh, each alert settled by exactly one step and never counted twice."""
    config = parse_config("")
    t0 = clock()
    with sessions.begin() as s:
        for minute in range(10):
            raise_alert(s, config, rollback(minute), sinks=[], now=t0 + timedelta(minutes=minute))
    metrics = AlertMetrics(["log"], settle_s=60)
    purged = 0
    for step in range(0, 15 * 60, 37):
        now = t0 + timedelta(seconds=step)
        with sessions() as s:
            metrics.refresh(s, now)
        counted = [x.value for x in metrics.samples() if x.name == names.ALERTS_TOTAL]
        assert counted == [10.0], step
        with sessions.begin() as s:
            purged += purge(s, now - timedelta(minutes=2))
    assert purged == 10  # every row is gone, every alert still counted
    with sessions() as s:  # the clock going back does not move the mark back
        metrics.refresh(s, t0)
    assert [x.value for x in metrics.samples() if x.name == names.ALERTS_TOTAL] == [10.0]


def test_a_db_that_is_down_keeps_the_last_values_and_the_loop_going(
    sessions: sessionmaker[Session],
    receiver: Receiver,
    down: Receiver,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker(sessions, receiver, down, clock, interval_s=0.01, metrics_every_s=0.01)
    raise_some(sessions, receiver, down, clock)
    assert worker.refresh_metrics()
    before = values(worker)
    assert before[alerts_total("fraud", "drift", "warn")] == 3.0

    # The control DB goes away (nothing listens on that port).
    gone = create_engine(f"postgresql+psycopg://turnout@127.0.0.1:{free_port()}/control")
    good = worker.sessions
    worker.sessions = sessionmaker(gone)
    try:
        with caplog.at_level(logging.WARNING, logger="monitors.alerts.worker"):
            assert not worker.refresh_metrics()
            assert values(worker) == before
            render(None, gauges=worker.samples())  # /metrics still renders
            worker.start()
            time.sleep(0.5)  # many failed passes and refreshes
            assert worker._thread is not None and worker._thread.is_alive()
            assert values(worker) == before
        warnings = [r for r in caplog.records if "alert metrics" in r.getMessage()]
        assert len(warnings) == 1  # logged once per outage, not once per pass
        assert "keeping the last values" in warnings[0].getMessage()

        # The DB is back: the running loop refreshes on its own.
        with good.begin() as s:
            raise_alert(s, parse_config(two_sinks(receiver.url, down.url)), rollback(2),
                        now=clock())  # fmt: skip
        worker.sessions = good
        deadline = time.monotonic() + 10
        key = alerts_total("churn", "rollout_rollback", "critical")
        while values(worker).get(key) != 2.0:
            assert time.monotonic() < deadline, values(worker)
            time.sleep(0.02)
        assert worker._thread is not None and worker._thread.is_alive()
    finally:
        worker.stop()
        gone.dispose()
