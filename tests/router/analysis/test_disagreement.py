"""The disagreement metric: a shadow's share of compared answers that differed."""

from __future__ import annotations

import pytest

from router.analysis import Measurement, default_shadow_analysis
from router.analysis.errors import AnalysisError
from router.analysis.evaluate import Outcome, assess
from router.analysis.spec import MetricSpec, parse_analysis
from router.rollout import RolloutSpec

METRIC = MetricSpec(name="disagreement", kind="disagreement", max=0.05, min_samples=200)


def test_waits_for_enough_compared_answers() -> None:
    a = assess(METRIC, Measurement(requests=500, pairs=150, disagreements=100), None)
    assert a.outcome is Outcome.WAITING and "150/200 compared answers" in a.message


@pytest.mark.parametrize(("disagreements", "outcome"), [(10, Outcome.PASS), (11, Outcome.BREACH)])
def test_threshold_on_the_share_that_differed(disagreements: int, outcome: Outcome) -> None:
    a = assess(METRIC, Measurement(requests=200, pairs=200, disagreements=disagreements), None)
    assert a.outcome is outcome
    assert a.value == pytest.approx(disagreements / 200)
    assert a.statistics == {"pairs": 200.0, "disagreements": float(disagreements)}
    assert f"disagreed on {disagreements} of 200" in a.message


def test_needs_no_baseline_and_refuses_relative_rules() -> None:
    a = assess(METRIC, Measurement(requests=300, pairs=300, disagreements=0), None)
    assert a.outcome is Outcome.PASS
    with pytest.raises((AnalysisError, ValueError), match="use max"):
        parse_analysis({"metrics": [{"name": "d", "kind": "disagreement", "relativeMax": 1.2}]})


def test_measurement_checks_and_round_trips_pairs() -> None:
    m = Measurement(requests=10, pairs=8, disagreements=3)
    assert Measurement.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="disagreements"):
        Measurement(requests=10, pairs=2, disagreements=3)


def test_shadow_rollouts_get_the_shadow_default_only_without_an_analysis() -> None:
    shadow = RolloutSpec.from_dict({"model": "m", "candidate": "2", "strategy": "shadow"})
    assert shadow.analysis == default_shadow_analysis()
    assert [m.kind for m in shadow.analysis.metrics] == ["error_rate", "disagreement"]
    mine = {"metrics": [{"name": "e", "kind": "error_rate", "max": 0.1}]}
    given = RolloutSpec.from_dict(
        {"model": "m", "candidate": "2", "strategy": "shadow", "analysis": mine}
    )
    assert given.analysis is not None and [m.name for m in given.analysis.metrics] == ["e"]
    canary = RolloutSpec.from_dict({"model": "m", "candidate": "2", "step_weights": [50]})
    assert canary.analysis is not None
    assert "disagreement" not in [m.kind for m in canary.analysis.metrics]
