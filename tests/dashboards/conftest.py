"""A control DB (SQLite and PostgreSQL) filled with what the dashboard shows: a model
with two versions and a reference profile, a canary rollout with policy revisions and
decisions, a second of traffic per version, drift reports (``DriftResult.to_dict()`` of
``monitors.check.check_frames`` plus the runner's fields, as the monitor stores them) and
alerts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dashboards import DashboardSource
from migrations import ensure_schema, make_engine, session_factory
from migrations.models import Alert, AlertDelivery, Event, Rollout, RolloutDecision
from migrations.models import RoutingPolicy as PolicyRow
from monitors import compute_profile, profile_to_json
from monitors.check import check_frames
from monitors.store import save_report
from registry import names
from registry.fake import InMemoryRegistry
from registry.types import NewVersion
from router.telemetry.bucket import Bucket
from router.telemetry.histogram import LatencyHistogram
from router.telemetry.sketch_schema import FeatureSketch, InputSketch
from router.telemetry.store import write_buckets

MODEL = "fraud"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW = (T0 + timedelta(seconds=120)).timestamp()

SPEC: dict[str, Any] = {
    "model": MODEL,
    "candidate": "2",
    "baseline": "1",
    "strategy": "canary",
    "steps": [
        {"setWeight": 20},
        {"analysis": {"duration_s": 60.0, "spec": None}},
        {"setWeight": 50},
    ],
    "step_duration_s": 60.0,
    "analysis": {
        "metrics": [
            {"name": "error-rate", "kind": "error_rate", "max": 0.05},
            {"name": "latency", "kind": "latency", "quantile": 0.99, "relativeMax": 1.5},
        ]
    },
}


@dataclass
class Filled:
    source: DashboardSource
    registry: InMemoryRegistry
    rollout_id: int
    report_ids: list[int]
    alert_id: str
    reference: pd.DataFrame


def _profile_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 10, 400),
            "age": rng.normal(40, 5, 400),
            "country": rng.choice(["de", "fr", "it"], 400),
            "score": rng.uniform(0, 1, 400),
        }
    )


def _windows(reference: pd.DataFrame) -> list[pd.DataFrame]:
    """Three windows of 200 rows: undrifted (OK); ``amount`` shifted by 0.35 sd (WARN);
    ``amount`` shifted by 1.5 sd, 15% of ``age`` missing and ``score`` all missing
    (DRIFT, data quality issues, a NO_DATA feature)."""
    out = []
    for k, shift in enumerate((0.0, 3.5, 15.0)):
        rng = np.random.default_rng(2 if k == 1 else k + 1)
        current = pd.DataFrame(
            {
                "amount": rng.normal(100 + shift, 10, 200),
                "age": rng.normal(40, 5, 200),
                "country": rng.choice(["de", "fr", "it"], 200),
                "score": rng.uniform(0, 1, 200),
            }
        )
        if k == 2:
            current.loc[:29, "age"] = np.nan
            current["score"] = np.nan
        out.append(current)
    return out


def _runner_fields(k: int) -> dict[str, Any]:
    """What the monitor's runner adds to ``DriftResult.to_dict()``."""
    return {
        "streak": 1 if k == 2 else 0,
        "window_kind": "time",
        "window_size": 5,
        "requests": 200,
        "replicas": ["r1"],
    }


def _hist(*seconds: float) -> dict[str, Any]:
    h = LatencyHistogram()
    for s in seconds:
        h.observe(s)
    return h.to_dict()


def _fill(sessions: sessionmaker[Session]) -> Filled:
    registry = InMemoryRegistry()
    frame = _profile_frame()
    profile = compute_profile(frame)
    for _ in range(2):
        registry.create_version(
            NewVersion(
                name=MODEL,
                onnx_bytes=b"onnx",
                input_example={},
                outputs={},
                source_format="onnx",
                tags={names.TAG_REFERENCE: "runs:/x/turnout/reference_profile.json"},
                reference_profile_json=profile_to_json(profile),
            )
        )
    registry.set_alias(MODEL, names.CHAMPION, "1")
    with sessions.begin() as s:
        s.add(Event(model_name=MODEL, kind=names.EVENT_REGISTER, actor="t", to_version="1", at=T0))
        s.add(
            Event(
                model_name=MODEL,
                kind=names.EVENT_PROMOTE,
                actor="t",
                alias=names.CHAMPION,
                to_version="1",
                at=T0 + timedelta(seconds=1),
            )
        )
        row = Rollout(
            model_name=MODEL,
            strategy="canary",
            baseline_version="1",
            candidate_version="2",
            spec=SPEC,
            phase="Progressing",
            step_index=1,
            weight=20,
            message="step 2/3",
            created_by="tester",
            created_at=T0 + timedelta(seconds=10),
            status={},
        )
        s.add(row)
        s.flush()
        rollout_id = row.id
        s.add(
            PolicyRow(
                model_name=MODEL,
                revision=1,
                policy={"mode": "champion"},
                created_by="tester",
                created_at=T0 + timedelta(seconds=2),
            )
        )
        s.add(
            PolicyRow(
                model_name=MODEL,
                revision=2,
                policy={
                    "model": MODEL,
                    "routes": [{"version": "1", "weight": 80}, {"version": "2", "weight": 20}],
                    "shadow": None,
                },
                created_by="controller",
                created_at=T0 + timedelta(seconds=11),
                rollout_id=rollout_id,
            )
        )
        for i in range(5):  # five identical Pending ticks, then a step change
            s.add(_decision(rollout_id, 12 + i, "Pending", "Progressing", "Progressing", []))
        s.add(_decision(rollout_id, 17, "Successful", "Progressing", "Progressing", ["weight 50%"]))
        buckets = []
        for sec in range(20, 30):
            at = T0 + timedelta(seconds=sec)
            buckets.append(_bucket("1", at, requests=8, errors=0, latency=0.01))
            buckets.append(_bucket("2", at, requests=2, errors=1 if sec == 25 else 0, latency=0.02))
        write_buckets(s, buckets)
        report_ids = []
        for k, current in enumerate(_windows(frame)):
            outputs = {}
            if k == 2:  # the last window also judges the model's outputs
                outputs = {
                    "reference_outputs": (frame["amount"] > 100).to_numpy(),
                    "current_outputs": (current["amount"] > 100).to_numpy(),
                }
            result = check_frames(frame, current, categorical=("country",), **outputs)
            stored = save_report(
                s,
                model=MODEL,
                version="2",
                window_start=T0 + timedelta(seconds=20 + 5 * k),
                window_end=T0 + timedelta(seconds=25 + 5 * k),
                rows=len(current),
                verdict=result.verdict,
                document={**result.to_dict(), **_runner_fields(k)},
            )
            report_ids.append(stored.id)
        alert = Alert(
            kind="drift",
            severity="critical",
            model_name=MODEL,
            version="2",
            dedup_key=f"{MODEL}:2:drift:amount",
            payload={"summary": "amount drifted (psi 0.15 > 0.12)"},
            status="open",
            created_at=T0 + timedelta(seconds=40),
        )
        s.add(alert)
        s.flush()
        alert_id = alert.id
        s.add(AlertDelivery(alert_id=alert_id, sink="webhook", status="delivered", attempts=1))
        s.add(
            AlertDelivery(
                alert_id=alert_id, sink="slack", status="pending", attempts=3, last_error="503"
            )
        )
        s.add(
            Alert(
                kind="rollback",
                severity="warn",
                model_name=MODEL,
                version="3",
                dedup_key="x",
                payload={},
                status="acked",
                acked_by="ops",
                created_at=T0,
            )
        )
    source = DashboardSource(sessions, registry, clock=lambda: NOW)
    return Filled(source, registry, rollout_id, report_ids, alert_id, frame)


def _decision(
    rollout_id: int, sec: int, verdict: str, before: str, after: str, done: list[str]
) -> RolloutDecision:
    metrics = [
        {
            "name": "error-rate",
            "phase": verdict,
            "value": 0.01 * sec,
            "baseline": 0.0,
            "threshold": "value <= 5.00%",
            "statistics": {},
            "message": "",
        },
    ]
    return RolloutDecision(
        rollout_id=rollout_id,
        at=T0 + timedelta(seconds=sec),
        step_index=1,
        phase_before=before,
        phase_after=after,
        verdict=verdict,
        measurements={"phase": verdict, "reason": "r", "metrics": metrics, "actions_done": done},
        reason=f"tick {sec}",
    )


def _bucket(version: str, at: datetime, *, requests: int, errors: int, latency: float) -> Bucket:
    sketch = InputSketch(
        rows=requests,
        features={
            "amount": FeatureSketch(kind="numeric", bins=[0] * 9 + [requests]),
            "country": FeatureSketch(kind="categorical", counts={"de": requests}),
        },
    )
    return Bucket(
        model_name=MODEL,
        version=version,
        replica="r1",
        bucket_start=at,
        width_s=1,
        requests=requests,
        errors_client=0,
        errors_model=errors,
        errors_timeout=0,
        latency_hist=_hist(*([latency] * requests)),
        outputs={},
        sketches=sketch.to_dict(),
    )


@pytest.fixture
def filled(db_url: str) -> Iterator[Filled]:
    engine = make_engine(db_url)
    ensure_schema(engine, auto_upgrade=True)
    try:
        yield _fill(session_factory(engine))
    finally:
        engine.dispose()
