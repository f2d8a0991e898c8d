from __future__ import annotations

import json

import pytest

from router.analysis import MetricResult, Phase, Verdict


def _verdict() -> Verdict:
    return Verdict(
        Phase.FAILED,
        (
            MetricResult(
                "error-rate",
                Phase.FAILED,
                0.05,
                0.01,
                "sequential test (alpha 0.05)",
                {"log_lr": 4.2, "n_candidate": 1000.0, "ci_high": float("inf")},
                "candidate 5.00% vs baseline 1.00%",
            ),
            MetricResult("latency", Phase.PENDING, message="waiting for data: candidate 37/100"),
        ),
        "error-rate failed: ...",
    )


def test_phases_use_argo_names() -> None:
    assert [p.value for p in Phase] == ["Successful", "Failed", "Inconclusive", "Error", "Pending"]
    assert Phase("Failed") is Phase.FAILED


def test_to_dict_is_json_and_reads_back() -> None:
    v = _verdict()
    doc = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert doc["phase"] == "Failed"
    assert doc["metrics"][0]["statistics"]["ci_high"] == "inf"
    assert set(doc["metrics"][0]) == {
        "name",
        "phase",
        "value",
        "baseline",
        "threshold",
        "statistics",
        "message",
    }
    assert Verdict.from_dict(doc) == v


def test_explain_shows_every_metric_and_its_numbers() -> None:
    text = _verdict().explain()
    assert text.splitlines()[0] == "Failed: error-rate failed: ..."
    assert "error-rate: Failed. candidate 5.00% vs baseline 1.00%" in text
    assert "log_lr=4.2" in text and "n_candidate=1000" in text
    assert "latency: Pending. waiting for data" in text


def test_metric_lookup() -> None:
    v = _verdict()
    assert v.metric("latency").phase is Phase.PENDING
    with pytest.raises(KeyError):
        v.metric("nope")
