from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models.telemetry import MetricBucket
from router.telemetry import (
    InputSketch,
    LatencyHistogram,
    OutputSummary,
    prune,
    read_buckets,
    read_merged,
    write_buckets,
)

from .conftest import T0, make_bucket


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(MetricBucket)) or 0)


def test_write_then_read_back(sessions: sessionmaker[Session]) -> None:
    b = make_bucket(latencies=(0.01, 0.02), errors_model=1, labels=(1, 0), rows=((1.0, 2.0),))
    with sessions.begin() as s:
        assert write_buckets(s, [b]) == 1
    with sessions() as s:
        [back] = read_buckets(s, "m", since=T0)
    assert back == b


def test_rewriting_the_same_key_merges(sessions: sessionmaker[Session]) -> None:
    b = make_bucket(latencies=(0.01, 0.02), errors_model=1, labels=(1,), rows=((1.0, 2.0),))
    with sessions.begin() as s:
        write_buckets(s, [b])
    with sessions.begin() as s:  # a retried flush, in a new transaction
        write_buckets(s, [b])
    with sessions.begin() as s:  # and twice in one batch
        write_buckets(s, [b, b])
    assert _rows(sessions) == 1
    with sessions() as s:
        [back] = read_buckets(s, "m", since=T0)
    assert back.requests == 8 and back.errors_model == 4
    assert LatencyHistogram.from_dict(back.latency_hist).count == 8
    assert OutputSummary.from_dict(back.outputs).labels == {"1": 4}
    assert InputSketch.from_dict(back.sketches).rows == 4


def test_read_merged_sums_two_replicas_and_three_buckets(sessions: sessionmaker[Session]) -> None:
    rng = np.random.default_rng(1)
    every: list[float] = []
    buckets = []
    for replica in ("r1", "r2"):
        for second in (0, 1, 2):
            lat = tuple(rng.lognormal(-5, 0.7, 200).tolist())
            every += lat
            buckets.append(
                make_bucket(
                    replica=replica,
                    second=second,
                    latencies=lat,
                    errors_timeout=2,
                    errors_client=1,
                    labels=(1,),
                    rows=((0.5, 3.0),),
                )
            )
    buckets.append(make_bucket(version="2", second=1, latencies=(0.3,)))
    buckets.append(make_bucket(second=9))  # outside the window
    buckets.append(make_bucket(model="other"))  # another model
    with sessions.begin() as s:
        write_buckets(s, buckets)
    with sessions() as s:
        merged = read_merged(s, "m", since=T0, until=T0 + timedelta(seconds=3))
    assert set(merged) == {"1", "2"}
    one = merged["1"]
    assert one.requests == 1200 and one.errors_timeout == 12 and one.errors_client == 6
    assert one.error_rate == pytest.approx(12 / 1200)
    assert one.replicas == frozenset({"r1", "r2"}) and one.buckets == 6
    assert one.first_bucket == T0 and one.last_bucket == T0 + timedelta(seconds=2)
    assert one.sketches is not None and one.sketches.rows == 6
    assert one.outputs.labels == {"1": 6}
    for q, est in ((0.5, one.p50), (0.95, one.p95), (0.99, one.p99)):
        true = float(np.quantile(every, q))
        assert est is not None and true / 1.28 <= est <= true * 1.28
    with sessions() as s:
        lean = read_merged(s, "m", since=T0, versions=["1"], include_sketches=False)
    assert set(lean) == {"1"} and lean["1"].sketches is None and lean["1"].requests == 1201


def test_prune_removes_old_rows_only(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        write_buckets(s, [make_bucket(second=sec) for sec in range(5)])
    with sessions.begin() as s:
        assert prune(s, T0 + timedelta(seconds=3)) == 3
    with sessions() as s:
        left = read_buckets(s, "m", since=T0)
    assert [b.bucket_start.second for b in left] == [3, 4]
