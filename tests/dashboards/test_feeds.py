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
    prediction_entry,
    report_detail,
    report_summary,
    rollout_series,
    traffic_series,
    weight_steps,
)
from dashboards.feeds.models import parse_profile
from migrations.models import Rollout
from monitors.check import check_frames
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


def test_feature_entries_read_the_monitors_result(filled: Filled) -> None:
    current = filled.reference.sample(200, random_state=1).reset_index(drop=True)
    current["amount"] = current["amount"] + 20
    result = check_frames(filled.reference, current, categorical=("country",))
    doc = result.to_dict()
    entries = feature_entries(doc)
    assert [e.name for e in entries] == [f.name for f in result.features]
    amount = entries[0]
    (judged,) = (f for f in result.features if f.name == "amount")
    assert amount.band == judged.band == "DRIFT"
    assert amount.kind == "numeric" and amount.method == judged.method == "ks"
    assert amount.effect == judged.effect and amount.statistic == judged.statistic
    assert amount.p_adjusted == judged.p_adjusted and amount.p_value == judged.p_value
    assert (amount.warn_threshold, amount.drift_threshold) == (
        judged.warn_threshold,
        judged.drift_threshold,
    )
    assert amount.ratio is not None and amount.ratio > 1
    assert amount.reference_count == 400 and amount.current_count == 200
    assert amount.quality is not None and amount.quality.band == judged.quality.band
    assert amount.to_dict()["quality"]["issues"] == list(judged.quality.issues)
    assert prediction_entry(doc) is None


def test_feature_entries_are_lenient() -> None:
    (odd,) = feature_entries(
        {"features": [{"name": "a", "band": "weird", "effect": "x", "quality": 3}, "junk"]}
    )
    assert odd.band == "?" and odd.effect is None and odd.quality is None and odd.method is None
    assert feature_entries({"features": {"a": {}}}) == [] and feature_entries({}) == []
    assert report_summary({})["verdict"] == "?" and report_summary({})["drifted"] == []
    nan = feature_entries({"features": [{"name": "b", "band": "NO_DATA", "effect": float("nan")}]})
    assert nan[0].band == "NO_DATA" and nan[0].effect is None


def test_drift_overview_is_a_band_matrix(filled: Filled) -> None:
    with filled.source.sessions() as s:
        doc = drift_overview(s, MODEL)
        models = drift_models(s)
    assert doc["version"] == "2" and doc["versions"] == ["2"]
    assert doc["features"] == ["amount", "age", "country", "score"]
    # oldest window first; -1 is NO_DATA (score all missing in the last window)
    assert doc["z"] == [[0, 1, 2], [0, 0, 0], [0, 0, 0], [0, 0, -1]]
    assert [w["verdict"] for w in doc["windows"]] == ["OK", "WARN", "DRIFT"]
    assert [w["streak"] for w in doc["windows"]] == [0, 0, 1]
    assert doc["windows"][2]["drifted"] == 1
    cell = doc["cells"][0][2]
    assert cell["band"] == "DRIFT" and cell["method"] == "ks"
    assert cell["effect"] > cell["drift"] > cell["warn"] > 0 and cell["p_adjusted"] < 0.001
    # Only the last window judged the predictions.
    assert doc["prediction"]["z"] == [None, None, 2]
    assert doc["prediction"]["cells"][2]["method"] == "z"
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


def test_report_detail_puts_the_worst_features_first(filled: Filled) -> None:
    with filled.source.sessions() as s:
        report = report_by_id(s, filled.report_ids[2])
        assert report is not None
        doc = report_detail(report)
    summary = doc["summary"]
    assert summary["verdict"] == "DRIFT" and summary["drifted"] == ["amount"]
    assert summary["rows"] == 200 and summary["reference_rows"] == 400
    assert summary["drift_share"] == pytest.approx(1 / 3)  # score (NO_DATA) is not judged
    assert summary["streak"] == 1 and summary["window_kind"] == "time"
    assert summary["replicas"] == ["r1"] and summary["alpha_drift"] == 0.001
    bands = [(f["name"], f["band"]) for f in doc["features"]]
    assert bands[0] == ("amount", "DRIFT") and bands[-1] == ("score", "NO_DATA")
    age = next(f for f in doc["features"] if f["name"] == "age")
    assert age["band"] == "OK" and age["quality"]["band"] == "DRIFT"
    assert age["quality"]["missing_rate"] == pytest.approx(0.15)
    assert any("missing rate" in i for i in age["quality"]["issues"])
    prediction = doc["prediction"]
    assert prediction["name"] == "prediction" and prediction["band"] == "DRIFT"
    assert prediction["method"] == "z" and prediction["p_adjusted"] is not None


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
    assert ref["rows"] == 400 and ref["features"] == 4 and ref["categorical"] == 1
    assert [e["kind"] for e in detail["history"]] == ["alias.promote", "model.register"]
    assert detail["rollouts"][0]["id"] == filled.rollout_id
