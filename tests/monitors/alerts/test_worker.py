"""The delivery worker against a real HTTP receiver, on SQLite and PostgreSQL: retries
with backoff, nothing lost when the receiver is down or the worker restarts, no
duplicate sends between two workers, errors recorded, the loop never dies."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping

import pytest
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory
from monitors.alerts import (
    AlertRead,
    AlertSink,
    DeliveryWorker,
    MemorySink,
    NewAlert,
    RetryPolicy,
    build_sinks,
    get_alert,
    list_alerts,
    parse_config,
    raise_alert,
)
from router.controller.signing import SIGNATURE_HEADER, verify
from tests.monitors.alerts.helpers import Clock, Mailbox, Receiver, free_port

SECRET = "worker-secret"
POLICY = RetryPolicy(base_s=10, factor=2, max_delay_s=100, max_attempts=5, jitter=0.0)


def config_for(url: str, cooldown: str = "0s") -> str:
    return f"""
cooldown = "{cooldown}"
[sinks.hook]
type = "webhook"
url = "{url}"
secret_env = "HOOK_SECRET"
timeout_s = 2
[[routes]]
sinks = ["hook"]
"""


def alert(n: int) -> NewAlert:
    return NewAlert(kind="drift", severity="warn", model="fraud", version="1",
                    feature=f"f{n}", title=f"feature f{n} drifted")  # fmt: skip


def raise_many(sessions: sessionmaker[Session], url: str, n: int, clock: Clock) -> list[str]:
    config = parse_config(config_for(url))
    ids = []
    with sessions.begin() as s:
        for i in range(n):
            ids.append(raise_alert(s, config, alert(i), now=clock()).alert_id)
    return ids


def make_worker(
    sessions: sessionmaker[Session],
    url: str,
    clock: Clock,
    policy: RetryPolicy = POLICY,
    sinks: Mapping[str, AlertSink] | None = None,
) -> DeliveryWorker:
    if sinks is None:
        config = parse_config(config_for(url))
        sinks = build_sinks(config, {"HOOK_SECRET": SECRET})
    return DeliveryWorker(sessions, sinks, policy, clock=clock, rng=random.Random(1))


def statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as s:
        return Counter(d.status for a in list_alerts(s, limit=1000) for d in a.deliveries)


def test_delivers_signed_bodies_with_stable_ids(
    sessions: sessionmaker[Session], receiver: Receiver, clock: Clock
) -> None:
    ids = raise_many(sessions, receiver.url, 3, clock)
    report = make_worker(sessions, receiver.url, clock).run_once()
    assert len(report.delivered) == 3 and not report.errors
    assert sorted(b["id"] for b in receiver.bodies()) == sorted(ids)
    for got in receiver.received:
        assert verify(SECRET, got.body, got.headers[SIGNATURE_HEADER])
    with sessions() as s:
        d = get_alert(s, ids[0]).deliveries[0]
    assert (d.status, d.attempts, d.last_error) == ("delivered", 1, None)
    assert d.delivered_at == clock()
    # Nothing is due any more: a second pass sends nothing.
    assert make_worker(sessions, receiver.url, clock).run_once().attempted == 0
    assert len(receiver.received) == 3


def test_receiver_down_then_back_gets_exactly_the_pending_alerts(
    sessions: sessionmaker[Session], receiver: Receiver, clock: Clock
) -> None:
    worker = make_worker(sessions, receiver.url, clock)
    first = raise_many(sessions, receiver.url, 2, clock)
    worker.run_once()
    receiver.status = 500  # answering, but not taking them
    answered_500 = raise_many(sessions, receiver.url, 2, clock)
    worker.run_once()
    receiver.stop()  # and now not even listening
    refused = raise_many(sessions, receiver.url, 2, clock)
    report = worker.run_once()
    assert len(report.retrying) == 2  # the new ones; the two 500s are still backing off
    assert all("ConnectError" in e for e in report.errors.values())
    assert statuses(sessions) == Counter(delivered=2, pending=4)
    # Before the backoff has passed, nothing is retried.
    clock.advance(5)
    assert worker.run_once().attempted == 0
    receiver.status = 200
    receiver.start()  # back on the same port
    clock.advance(60)
    assert len(worker.run_once().delivered) == 4
    got = [b["id"] for b in receiver.bodies()]
    assert sorted(got) == sorted(first + answered_500 + refused)
    assert len(got) == len(set(got))  # each pending alert exactly once
    assert statuses(sessions) == Counter(delivered=6)
    with sessions() as s:
        d = get_alert(s, answered_500[0]).deliveries[0]
    assert d.attempts == 2 and d.last_error is None  # one 500, then delivered


def test_a_restarted_worker_picks_up_where_the_last_left_off(
    db_url: str, receiver: Receiver, clock: Clock
) -> None:
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    receiver.status = 503
    ids = raise_many(sessions, receiver.url, 3, clock)
    make_worker(sessions, receiver.url, clock).run_once()
    engine.dispose()  # the process "dies": no engine, no worker, nothing in memory

    receiver.status = 200
    clock.advance(3600)
    engine2 = make_engine(db_url)
    try:
        restarted = make_worker(session_factory(engine2), receiver.url, clock)
        assert len(restarted.run_once().delivered) == 3
    finally:
        engine2.dispose()
    assert sorted(b["id"] for b in receiver.bodies()) == sorted(ids)


def test_a_worker_that_died_mid_send_is_retried_after_the_lease(
    sessions: sessionmaker[Session], receiver: Receiver, clock: Clock
) -> None:
    class Dies(Exception):
        pass

    class Crash:
        name = "hook"

        def describe(self) -> str:
            return "crash"

        def send(self, alert: AlertRead) -> None:
            raise Dies  # stands in for the process ending after the claim

    [alert_id] = raise_many(sessions, receiver.url, 1, clock)
    crashed = make_worker(sessions, receiver.url, clock, sinks={"hook": Crash()})
    # Simulate the death: claim, then never record an outcome.
    from monitors.alerts.outbox import claim, due_deliveries

    with sessions.begin() as s:
        [due] = due_deliveries(s, clock(), 10)
        assert claim(s, due, clock(), crashed.policy.lease_s)
    healthy = make_worker(sessions, receiver.url, clock)
    assert healthy.run_once().attempted == 0  # leased: not due yet
    clock.advance(POLICY.lease_s)
    assert len(healthy.run_once().delivered) == 1
    assert [b["id"] for b in receiver.bodies()] == [alert_id]


def test_two_workers_never_send_the_same_delivery_twice(
    db_url: str, receiver: Receiver, clock: Clock
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        ids = raise_many(session_factory(engines[0]), receiver.url, 12, clock)
        workers = [make_worker(session_factory(e), receiver.url, clock) for e in engines]
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda w: w.run_once(), workers))
    finally:
        for e in engines:
            e.dispose()
    got = [b["id"] for b in receiver.bodies()]
    assert sorted(got) == sorted(ids)
    assert sum(len(r.delivered) for r in reports) == 12


def test_backoff_grows_then_the_delivery_fails_for_good(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-home"
    [alert_id] = raise_many(sessions, url, 1, clock)
    worker = make_worker(sessions, url, clock)
    waits = []
    for _ in range(POLICY.max_attempts):
        report = worker.run_once()
        assert report.attempted == 1
        with sessions() as s:
            d = get_alert(s, alert_id).deliveries[0]
        if d.status == "failed":
            break
        waits.append((d.next_attempt_at - clock()).total_seconds())
        clock.now = d.next_attempt_at
    assert waits == [10, 20, 40, 80]  # base 10, doubling, no jitter; 5th attempt gives up
    assert d.status == "failed" and d.attempts == 5
    assert d.last_error is not None and "ConnectError" in d.last_error
    clock.advance(10_000)
    assert worker.run_once().attempted == 0  # failed deliveries stay failed


def test_jitter_and_the_cap() -> None:
    policy = RetryPolicy(base_s=1, factor=2, max_delay_s=30, jitter=0.5)
    rng = random.Random(7)
    for attempt in range(1, 12):
        raw = min(30, 2 ** (attempt - 1))
        assert raw / 2 <= policy.delay(attempt, rng) <= raw


def test_too_old_alerts_stop_retrying(sessions: sessionmaker[Session], clock: Clock) -> None:
    url = f"http://127.0.0.1:{free_port()}/x"
    [alert_id] = raise_many(sessions, url, 1, clock)
    clock.advance(POLICY.max_age_s)
    make_worker(sessions, url, clock).run_once()
    with sessions() as s:
        assert get_alert(s, alert_id).deliveries[0].status == "failed"


def test_unconfigured_sinks_and_raising_sinks_are_recorded_not_fatal(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    class Broken:
        name = "hook"

        def describe(self) -> str:
            return "webhook hook (broken)"

        def send(self, alert: AlertRead) -> None:
            raise KeyError("a bug in a sink")

    ids = raise_many(sessions, "http://unused.invalid/x", 1, clock)
    report = make_worker(sessions, "", clock, sinks={"hook": Broken()}).run_once()
    assert report.errors == {
        report.retrying[0]: "webhook hook (broken): KeyError: 'a bug in a sink'"
    }
    clock.advance(100)
    report = make_worker(sessions, "", clock, sinks={}).run_once()
    assert list(report.errors.values()) == ["sink 'hook' is not in the alerts config"]
    with sessions() as s:
        d = get_alert(s, ids[0]).deliveries[0]
    assert d.status == "pending" and d.attempts == 2


def test_the_background_loop_delivers_and_survives_a_broken_database(
    sessions: sessionmaker[Session],
) -> None:
    memory = MemorySink("hook")
    config = parse_config(config_for("http://127.0.0.1:9/x"))
    worker = DeliveryWorker(sessions, {"hook": memory}, POLICY, interval_s=0.02)
    calls = {"n": 0}
    real_run_once = worker.run_once

    def flaky() -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_run_once()

    worker.run_once = flaky  # type: ignore[method-assign]
    worker.start()
    try:
        with sessions.begin() as s:
            raise_alert(s, config, alert(1))
        wait_for(lambda: len(memory.sent) == 1)
    finally:
        worker.stop()
    assert calls["n"] >= 2


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


def test_purges_old_finished_alerts_hourly(sessions: sessionmaker[Session], clock: Clock) -> None:
    memory = MemorySink("hook")
    raise_many(sessions, "http://127.0.0.1:9/x", 2, clock)
    worker = DeliveryWorker(sessions, {"hook": memory}, POLICY, retention_s=86400, clock=clock)
    worker.run_once()
    assert len(memory.sent) == 2
    clock.advance(2 * 86400)
    worker.run_once()
    with sessions() as s:
        assert list_alerts(s) == []


def test_smtp_problems_are_recorded_on_the_delivery(
    sessions: sessionmaker[Session], smtp: tuple[Mailbox, int], clock: Clock
) -> None:
    box, port = smtp
    config = parse_config(
        f"""
[sinks.no-tls]
type = "email"
host = "127.0.0.1"
port = {port}
starttls = true
from = "turnout@example.com"
to = ["oncall@example.com"]
[sinks.closed]
type = "email"
host = "127.0.0.1"
port = {free_port()}
starttls = false
from = "turnout@example.com"
to = ["oncall@example.com"]
[sinks.ok]
type = "email"
host = "127.0.0.1"
port = {port}
starttls = false
from = "turnout@example.com"
to = ["oncall@example.com"]
[[routes]]
sinks = ["no-tls", "closed", "ok"]
"""
    )
    with sessions.begin() as s:
        alert_id = raise_alert(s, config, alert(1), now=clock()).alert_id
    worker = DeliveryWorker(sessions, build_sinks(config, {}), POLICY, clock=clock)
    report = worker.run_once()
    assert len(report.delivered) == 1 and len(report.retrying) == 2
    with sessions() as s:
        by_sink = {d.sink: d for d in get_alert(s, alert_id).deliveries}
    assert by_sink["ok"].status == "delivered" and len(box.messages) == 1
    assert "STARTTLS" in (by_sink["no-tls"].last_error or "")
    assert "ConnectionRefusedError" in (by_sink["closed"].last_error or "")
    assert by_sink["closed"].status == by_sink["no-tls"].status == "pending"
