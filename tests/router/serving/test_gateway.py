"""The gateway core without HTTP: routing, outcomes, deadline, shadow, prediction log."""

from __future__ import annotations

import time

import numpy as np
import pytest

from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.inference import InputMismatchError
from router.quality import PredictionBuffer
from router.serving.attach import attach_with
from router.serving.errors import UnknownModel, UnknownVersion
from router.serving.gateway import Gateway, ModelFailed, ModelTimedOut
from router.serving.pool import ModelPool
from router.telemetry import Recorder
from router.traffic import Route, RoutingPolicy, RoutingTable, Shadow
from tests.onnx_models import failing_model, plain_model, slow_model

MODEL = "m"
ROW = {"input": np.arange(30, dtype=np.float32).reshape(1, 30) / 30}


@pytest.fixture
def gateway() -> Gateway:
    reg = InMemoryRegistry()
    for raw in (plain_model(), failing_model(), slow_model()):
        reg.create_version(
            NewVersion(
                name=MODEL, onnx_bytes=raw, input_example={}, outputs={}, source_format="onnx"
            )
        )
    recorder = Recorder("test")
    pool = ModelPool(reg, attach=attach_with(recorder))
    assert pool.ensure([(MODEL, v) for v in ("1", "2", "3")]) == {}
    table = RoutingTable()
    table.replace(
        {MODEL: RoutingPolicy(model=MODEL, routes=(Route("1", 100),), shadow=Shadow("2", 100.0))}
    )
    return Gateway(table, pool, recorder, PredictionBuffer(), deadline_s=0.03)


def test_route_picks_policy_version_and_shadow(gateway: Gateway) -> None:
    target = gateway.route(MODEL, None, {}, {})
    assert target.primary.version == "1"
    assert target.shadow is not None and target.shadow.version == "2"
    assert gateway.route(MODEL, "1", {}, {}).shadow is None  # pinned requests are not mirrored


def test_unknown_model_and_unserved_version(gateway: Gateway) -> None:
    with pytest.raises(UnknownModel):
        gateway.route("other", None, {}, {})
    with pytest.raises(UnknownVersion, match="served: 1, 2"):
        gateway.route(MODEL, "3", {}, {})


def test_run_records_ok_and_logs_predictions(gateway: Gateway) -> None:
    loaded = gateway.route(MODEL, None, {}, {}).primary
    out = gateway.run(loaded, ROW, request_id="r1", rows=1, started=time.perf_counter())
    assert set(out) == {"label", "probabilities"}
    drained = gateway.predictions.drain()
    assert [(p.request_id, p.version, p.shadow) for p in drained] == [("r1", "1", False)]
    assert drained[0].scores is not None and len(drained[0].scores) == 2
    buckets = gateway.recorder.drain(force=True)
    assert [(b.version, b.requests, b.errors_model) for b in buckets] == [("1", 1, 0)]
    assert buckets[0].sketches  # the row was sketched


def test_model_failure_and_client_error_are_counted_apart(gateway: Gateway) -> None:
    broken = gateway.pool.get(MODEL, "2")
    assert broken is not None
    with pytest.raises(ModelFailed):
        gateway.run(broken, ROW, request_id="r2", rows=1, started=time.perf_counter())
    ok = gateway.pool.get(MODEL, "1")
    assert ok is not None
    with pytest.raises(InputMismatchError):
        gateway.run(
            ok,
            {"input": np.zeros((1, 3), dtype=np.float32)},
            request_id="r3",
            rows=1,
            started=time.perf_counter(),
        )
    buckets = {b.version: b for b in gateway.recorder.drain(force=True)}
    assert (buckets["2"].errors_model, buckets["1"].errors_client) == (1, 1)


def test_an_answer_after_the_deadline_is_a_timeout(gateway: Gateway) -> None:
    slow = gateway.pool.get(MODEL, "3")
    assert slow is not None
    with pytest.raises(ModelTimedOut, match="over the 0.03 s deadline"):
        gateway.run(slow, ROW, request_id="r4", rows=1, started=time.perf_counter())
    [bucket] = gateway.recorder.drain(force=True)
    assert (bucket.version, bucket.errors_timeout) == ("3", 1)


def test_shadow_failure_is_recorded_and_never_raises(gateway: Gateway) -> None:
    target = gateway.route(MODEL, None, {}, {})
    assert target.shadow is not None
    out = gateway.run(target.primary, ROW, request_id="r5", rows=1, started=time.perf_counter())
    assert gateway.try_shadow()
    assert not gateway.try_shadow()  # one mirrored call at a time: a second copy is dropped
    gateway.run_shadow(target.shadow, ROW, out, primary_version="1", request_id="r5")
    assert gateway.try_shadow()  # the slot came back when the shadow call ended
    assert gateway.shadow_skipped == 1
    buckets = {b.version: b for b in gateway.recorder.drain(force=True)}
    assert buckets["2"].errors_model == 1
