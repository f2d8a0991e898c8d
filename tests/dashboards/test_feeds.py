"""The dashboard's read models against a control DB with data (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from dashboards.feeds import (
    alerts_list,
    analysis_thresholds,
    drift_models,
    drift_overview,
    feature_distribution,
    feature_entries,
    model_detail,
    models_overview,
    rollout_series,
    traffic_series,
    weight_steps,
)
from dashboards.feeds.models import parse_profile
from migrations.models import Rollout
from monitors.store import report_by_id
from tests.dashboards.conftest import MODEL, NOW, SPEC, T0, Filled

START = T0.timestamp()


def test_traffic_series_merges_buckets_per_step(filled: Filled) -> None:
    with filled.source.sessions() as s:
        doc = traffic_series(s, MODEL, since=START + 20, until=START + 30)
    assert doc["step_s"] == 1 and len(doc["t"]) == 10
    v1, v2 = doc["versions"]["1"], doc["versions"]["2"]
    assert v1["requests"] == [8] * 10 and v2["requests"] == [2] * 10
    assert v2["share"][0] == pytest.approx(0.2)
    assert v2["error_rate"][5] == pytest.approx(0.5) and v2["error_rate"][4] == 0.0
    assert v1["p50"][0] == pytest.approx(0.01, rel=0.3)


def test_traffic_series_coarsens_long_ranges_and_leaves_gaps(filled: Filled) -> None:
    with filled.source.sessions() as s:
        doc = traffic_series(s, MODEL, since=START, until=START + 3600, max_points=120)
    assert doc["step_s"] == 30 and len(doc["t"]) == 120
    v2 = doc["versions"]["2"]
    assert v2["requests"][0] == 20  # seconds 20..29 fall in the first 30 s step
    assert v2["error_rate"][1] is None and v2["p99"][1] is None  # no data is not zero


def test_weight_steps_follow_the_champion_then_the_rollout(filled: Filled) -> None:
    with filled.source.sessions() as s:
        doc = weight_steps(s, MODEL, since=START + 5, until=START + 60)
    points = doc["points"]
    assert points[0]["weights"] == {"1": 100.0} and points[0]["follows_champion"]
    assert points[-1]["weights"] == {"1": 80.0, "2": 20.0}
    assert points[-1]["rollout_id"] is not None


def test_analysis_thresholds_read_both_spellings() -> None:
    th = analysis_thresholds(SPEC)
    assert th["error-rate"]["max"] == 0.05 and th["error-rate"]["kind"] == "error_rate"
    assert th["latency"]["relative_max"] == 1.5 and th["latency"]["quantile"] == 0.99
    assert analysis_thresholds({"analysis": None}) == {}


def test_rollout_series_folds_repeated_ticks(filled: Filled) -> None:
    with filled.source.sessions() as s:
        row = s.get(Rollout, filled.rollout_id)
        assert row is not None
        doc = rollout_series(s, row, now=NOW)
    timeline = doc["timeline"]
    assert [(e["verdict"], e["count"]) for e in timeline] == [("Pending", 5), ("Successful", 1)]
    assert timeline[0]["reason"] == "tick 16" and timeline[1]["actions"] == ["weight 50%"]
    analysis = doc["analysis"]
    assert len(analysis["t"]) == 6
    assert analysis["metrics"]["error-rate"]["value"][0] == pytest.approx(0.12)
    assert set(doc["traffic"]["versions"]) == {"1", "2"}
    assert doc["thresholds"]["error-rate"]["max"] == 0.05


def test_feature_entries_accept_a_list_or_a_mapping() -> None:
    listed = feature_entries(
        {"features": [{"name": "a", "band": "drift", "statistic": "psi", "value": 0.3}]}
    )
    assert listed[0].band == "DRIFT" and listed[0].value == 0.3 and listed[0].threshold is None
    mapped = feature_entries(
        {"features": {"b": {"band": "WARN", "thresholds": {"warn": 0.1, "drift": 0.2}}}}
    )
    assert mapped[0].name == "b" and mapped[0].threshold == 0.2 and mapped[0].warn == 0.1
    assert feature_entries({"features": {"c": {"band": "weird"}}})[0].band == "?"
    assert feature_entries({}) == []


def test_drift_overview_is_a_band_matrix(filled: Filled) -> None:
    with filled.source.sessions() as s:
        doc = drift_overview(s, MODEL)
        models = drift_models(s)
    assert doc["version"] == "2" and doc["versions"] == ["2"]
    assert doc["features"] == ["amount", "country"]
    assert doc["z"] == [[0, 1, 2], [0, 0, 0]]  # oldest window first
    assert [w["verdict"] for w in doc["windows"]] == ["OK", "WARN", "DRIFT"]
    assert models == [
        {
            "model": MODEL,
            "windows": 3,
            "versions": 1,
            "last_window_end": pytest.approx(START + 35),
            "verdict": "DRIFT",
            "version": "2",
        }
    ]


def test_feature_distribution_compares_window_and_reference(filled: Filled) -> None:
    profile = parse_profile(filled.registry.reference_profile(MODEL, "2"))
    with filled.source.sessions() as s:
        report = report_by_id(s, filled.report_ids[0])
        assert report is not None
        numeric = feature_distribution(s, report, "amount", profile)
        categorical = feature_distribution(s, report, "country", profile)
        unknown = feature_distribution(s, report, "nope", profile)
    assert len(numeric["labels"]) == len(numeric["reference"]) == len(numeric["current"]) == 10
    assert sum(numeric["reference"]) == pytest.approx(1.0)
    assert numeric["current"][-1] == 1.0 and numeric["current_rows"] == 10
    assert numeric["entry"]["band"] == "OK"
    assert categorical["labels"][:3] == ["de", "fr", "it"] or "de" in categorical["labels"]
    assert categorical["current"][categorical["labels"].index("de")] == 1.0
    assert unknown["current"] == [] and len(unknown["notes"]) == 2


def test_alerts_list_with_deliveries(filled: Filled) -> None:
    with filled.source.sessions() as s:
        everything = alerts_list(s)
        open_only = alerts_list(s, status="open")
    assert everything["counts"] == {"open": 1, "acked": 1}
    assert [a["kind"] for a in everything["alerts"]] == ["drift", "rollback"]
    (alert,) = open_only["alerts"]
    assert alert["id"] == filled.alert_id
    assert alert["summary"].startswith("amount drifted")
    assert {(d["sink"], d["status"], d["attempts"]) for d in alert["deliveries"]} == {
        ("webhook", "delivered", 1),
        ("slack", "pending", 3),
    }


def test_models_overview_and_detail(filled: Filled) -> None:
    with filled.source.sessions() as s:
        (model,) = models_overview(filled.registry, s)
    assert model["aliases"] == {"champion": "1"}
    assert model["active_rollout"]["id"] == filled.rollout_id
    detail = model_detail(
        filled.registry,
        filled.source.sessions,
        MODEL,
        profile_of=lambda m, v: parse_profile(filled.registry.reference_profile(m, v)),
    )
    assert [v["version"] for v in detail["versions"]] == ["2", "1"]
    ref = detail["versions"][0]["reference"]
    assert ref["rows"] == 400 and ref["features"] == 3 and ref["categorical"] == 1
    assert [e["kind"] for e in detail["history"]] == ["alias.promote", "model.register"]
    assert detail["rollouts"][0]["id"] == filled.rollout_id
