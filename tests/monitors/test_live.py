"""The monitor end to end on a real DB: real profile, real sketches, policy, outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from migrations import make_engine, session_factory, upgrade
from migrations.models import Alert, AlertDelivery
from monitors import compute_profile, profile_to_json
from monitors.alerts import parse_config
from monitors.live import drift_alert_hook, policy_evaluator
from monitors.runner import DriftMonitor, MonitorConfig
from monitors.store import latest_reports
from monitors.windows import WindowSpec
from router.telemetry import Bucket, InputSketcher, OutputSummary, write_buckets

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
CONFIG = parse_config(
    """
[sinks.retrain]
type = "webhook"
url = "http://127.0.0.1:9/retrain"

[[routes]]
kinds = ["drift"]
sinks = ["retrain"]
"""
)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    return frame.astype("float64")


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


class Profiles:
    def __init__(self, text: str | None) -> None:
        self.text = text

    def reference_profile(self, name: str, version: str) -> str | None:
        return self.text


def window(
    sessions: sessionmaker[Session], sketcher: InputSketcher, minute: int, rows: np.ndarray
) -> None:
    s = sketcher.fresh()
    s.observe_rows(rows)
    out = OutputSummary("label")
    out.observe([int(v > 0) for v in rows[:, 0] - np.median(rows[:, 0])])
    with sessions.begin() as session:
        write_buckets(
            session,
            [
                Bucket(
                    model_name="bc",
                    version="1",
                    replica="r1",
                    bucket_start=T0 + timedelta(minutes=minute, seconds=7),
                    width_s=1,
                    requests=len(rows),
                    errors_client=0,
                    errors_model=0,
                    errors_timeout=0,
                    latency_hist={},
                    outputs=out.to_dict(),
                    sketches=s.to_dict(),
                )
            ],
        )


def test_drifted_windows_store_reports_and_raise_one_alert(
    sessions: sessionmaker[Session], data: pd.DataFrame
) -> None:
    profile = compute_profile(data)
    sketcher = InputSketcher.from_profile(profile, list(data.columns))
    clock = [T0]
    monitor = DriftMonitor(
        sessions,
        Profiles(profile_to_json(profile)),
        policy_evaluator(),
        config=MonitorConfig(spec=WindowSpec(kind="time", size=60, grace_s=2), hysteresis=2),
        alert=drift_alert_hook(CONFIG),
        clock=lambda: clock[0],
    )
    rng = np.random.default_rng(3)
    values = data.to_numpy()
    shifted = values.copy()
    std = values[:, 0].std()
    shifted[:, 0] += 1.0 * std  # one feature moves by one standard deviation
    plan = [values, values, shifted, shifted, shifted]
    for minute, source in enumerate(plan):
        rows = source[rng.integers(0, len(source), size=2000)]
        window(sessions, sketcher, minute, rows)
        clock[0] = T0 + timedelta(minutes=minute + 1, seconds=3)
        assert len(monitor.tick()) == 1
    with sessions() as s:
        reports = list(reversed(latest_reports(s, "bc", "1", limit=10)))
        verdicts = [r.verdict for r in reports]
        assert verdicts[:2] == ["OK", "OK"], verdicts
        assert verdicts[2:] == ["DRIFT", "DRIFT", "DRIFT"], verdicts
        drifted = reports[2].document["drifted"]
        assert data.columns[0] in drifted
        [alert] = s.scalars(select(Alert)).all()  # one alert for the run of three
        assert alert.kind == "drift" and alert.version == "1"
        assert alert.payload["features"][0]["feature"] == data.columns[0]
        assert alert.payload["report_url"].endswith(f"/drift/reports/{reports[3].id}/html")
        [delivery] = s.scalars(select(AlertDelivery)).all()
        assert delivery.sink == "retrain" and delivery.status == "pending"
    # /metrics of the process running the monitor: its newest window.
    from router.telemetry.prometheus import render

    text = render(None, gauges=monitor.samples())
    first = data.columns[0]
    assert 'turnout_drift_dataset_band{model="bc",version="1"} 2.0' in text
    assert f'turnout_drift_feature_band{{model="bc",version="1",feature="{first}"}} 2.0' in text
    assert 'turnout_drift_windows_total{model="bc",version="1",verdict="DRIFT"} 3.0' in text
    assert "# TYPE turnout_drift_feature_effect gauge" in text


def test_without_a_profile_the_report_says_so(
    sessions: sessionmaker[Session], data: pd.DataFrame
) -> None:
    sketcher = InputSketcher.from_profile(None, list(data.columns))
    monitor = DriftMonitor(
        sessions,
        Profiles(None),
        policy_evaluator(),
        config=MonitorConfig(spec=WindowSpec(kind="time", size=60, grace_s=2)),
        alert=drift_alert_hook(CONFIG),
        clock=lambda: T0 + timedelta(minutes=1, seconds=3),
    )
    window(sessions, sketcher, 0, data.to_numpy()[:300])
    [report] = monitor.tick()
    assert report.verdict == "NO_DATA"
    assert any("no reference profile" in n for n in report.document["notes"])
    rates = {f["name"]: f["quality"]["missing_rate"] for f in report.document["features"]}
    assert rates[data.columns[0]] == 0.0


def test_a_feature_gone_missing_raises_a_data_quality_alert(
    sessions: sessionmaker[Session], data: pd.DataFrame
) -> None:
    from monitors.live import quality_alert_hook

    profile = compute_profile(data)
    sketcher = InputSketcher.from_profile(profile, list(data.columns))
    monitor = DriftMonitor(
        sessions,
        Profiles(profile_to_json(profile)),
        policy_evaluator(),
        config=MonitorConfig(spec=WindowSpec(kind="time", size=60, grace_s=2)),
        quality_alert=quality_alert_hook(CONFIG),
        clock=lambda: T0 + timedelta(minutes=1, seconds=3),
    )
    rows = data.to_numpy()[np.random.default_rng(5).integers(0, len(data), size=2000)]
    rows[::2, 3] = np.nan  # half of one feature's values missing (none in training)
    window(sessions, sketcher, 0, rows)
    [report] = monitor.tick()
    broken = next(f for f in report.document["features"] if f["name"] == data.columns[3])
    assert broken["quality"]["band"] == "DRIFT"
    with sessions() as s:
        alerts = s.scalars(select(Alert)).all()
    assert [(a.kind, a.payload["feature"]) for a in alerts] == [("data_quality", data.columns[3])]
    assert alerts[0].payload["details"]["missing_rate"] == pytest.approx(0.5)
