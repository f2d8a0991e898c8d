"""RolloutSpec: validation errors name the field; Flagger shorthand expands into steps."""

from __future__ import annotations

from typing import Any

import pytest

from router.analysis import AnalysisSpec, default_analysis
from router.rollout import (
    Analysis,
    MatchSpec,
    Pause,
    RolloutSpec,
    SetWeight,
    SpecError,
)
from router.traffic import MatchRule, StickyKey

BASE: dict[str, Any] = {"model": "fraud", "candidate": "7"}


def spec(**fields: Any) -> RolloutSpec:
    data = {**BASE, **fields}
    if data.get("strategy", "canary") == "canary" and not {
        "steps",
        "step_weights",
        "step_weight",
        "max_weight",
    } & set(fields):
        data["steps"] = [{"setWeight": 10}]
    return RolloutSpec.from_dict(data)


def error(**fields: Any) -> str:
    with pytest.raises(SpecError) as caught:
        spec(**fields)
    message = str(caught.value)
    assert "\n" not in message
    return message


def weights(s: RolloutSpec) -> list[int]:
    return [item.set_weight for item in s.steps if isinstance(item, SetWeight)]


# -- defaults and round trip ---


def test_defaults() -> None:
    s = spec()
    assert s.strategy == "canary"
    assert s.baseline is None
    assert s.step_duration_s == 60.0
    assert s.analysis == default_analysis()
    assert s.promote_on_success is True
    assert s.sticky.key() == StickyKey()
    assert s.webhooks == () and s.match == ()
    assert s.bluegreen is None and s.abtest is None and s.shadow_percent is None


def test_a_version_may_be_written_as_a_number() -> None:
    s = spec(candidate=7, baseline=6)
    assert (s.candidate, s.baseline) == ("7", "6")


def test_round_trip_through_to_dict() -> None:
    s = spec(
        steps=[{"setWeight": 5}, {"pause": {}}, {"analysis": {"duration": "2m"}}],
        match=[{"name": "x-beta", "value": "yes"}],
        webhooks=[{"type": "confirm-promotion", "url": "https://ci.example/ok"}],
        sticky={"header": None, "cookie": "uid"},
    )
    assert RolloutSpec.from_dict(s.to_dict()) == s
    for strategy in ("bluegreen", "abtest", "shadow"):
        other = spec(strategy=strategy, analysis=None)
        assert RolloutSpec.from_dict(other.to_dict()) == other


def test_specs_are_frozen() -> None:
    s = spec()
    with pytest.raises(ValueError):
        s.candidate = "8"


def test_resolve_fixes_the_baseline() -> None:
    s = spec()
    resolved = s.resolve("6")
    assert resolved.baseline == "6" and s.baseline is None
    assert resolved.resolve("6") is resolved
    with pytest.raises(SpecError, match="^baseline: must differ from candidate"):
        s.resolve("7")


# -- steps ---


def test_steps_are_a_tagged_union() -> None:
    s = spec(
        steps=[
            {"setWeight": 5},
            {"pause": {"duration": "30s"}},
            {"pause": {}},
            {"pause": None},
            {"analysis": {"duration_s": 90}},
            {"analysis": {}},
        ]
    )
    kinds = [type(item) for item in s.steps]
    assert kinds == [SetWeight, Pause, Pause, Pause, Analysis, Analysis]
    assert s.steps[1].pause.duration_s == 30.0  # type: ignore[union-attr]
    assert s.steps[2].pause.duration_s is None  # type: ignore[union-attr]
    assert s.steps[4].duration_s == 90.0  # type: ignore[union-attr]
    # An analysis step without a duration takes step_duration_s.
    assert s.steps[5].duration_s == 60.0  # type: ignore[union-attr]


def test_an_analysis_step_may_carry_its_own_analysis() -> None:
    own = default_analysis().model_dump(mode="json", by_alias=True)
    s = spec(steps=[{"setWeight": 5}, {"analysis": {"duration_s": 30, "spec": own}}])
    assert isinstance(s.steps[1], Analysis)
    assert isinstance(s.steps[1].analysis.spec, AnalysisSpec)


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [(30, 30.0), (1.5, 1.5), ("45", 45.0), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0)],
)
def test_durations_take_seconds_or_units(duration: object, seconds: float) -> None:
    s = spec(steps=[{"pause": {"duration": duration}}])
    assert s.steps[0].pause.duration_s == seconds  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"steps": [{"setWeight": 5}, {"setWeight": 150}]},
            "steps[1].setWeight: must be an integer 0..100, got 150",
        ),
        (
            {"steps": [{"setWeight": True}]},
            "steps[0].setWeight: must be an integer 0..100, got True",
        ),
        ({"steps": [{"setWeight": "5"}]}, "steps[0].setWeight: must be an integer 0..100, got '5'"),
        (
            {"steps": [{"setWeight": 5}, {"setWeight": 10}, {"pause": {"duration": "soon"}}]},
            "steps[2].pause.duration: must be a duration",
        ),
        (
            {"steps": [{"pause": {"duration_s": -1}}]},
            "steps[0].pause.duration_s: must be a duration",
        ),
        ({"steps": [{"pause": {"until": "x"}}]}, "steps[0].pause.until: unknown field"),
        ({"steps": [{"analysis": {"duration_s": 0}}]}, "steps[0].analysis.duration_s: must be > 0"),
        ({"steps": [{"jump": 1}]}, "steps[0]: a step is exactly one of"),
        ({"steps": [{"setWeight": 5, "pause": {}}]}, "steps[0]: a step is exactly one of"),
        (
            {"steps": [{"setWeight": 50}, {"setWeight": 25}]},
            "steps[1].setWeight: 25 is below 50 (steps[0]); weights only grow",
        ),
        ({"steps": []}, "steps: a canary needs steps, step_weights or step_weight"),
        (
            {"steps": [{"setWeight": 5}], "step_weights": [5]},
            "step_weights: give one of steps, step_weights or step_weight",
        ),
    ],
)
def test_step_errors_name_the_field(fields: dict[str, Any], message: str) -> None:
    assert error(**fields).startswith(message)


def test_several_errors_are_counted_on_one_line() -> None:
    message = error(steps=[{"setWeight": 500}, {"setWeight": -1}])
    assert message.startswith("steps[0].setWeight: ")
    assert message.endswith("(and 1 more)")


# -- shorthand ---


def test_step_weights_expand_to_weight_then_analysis() -> None:
    s = spec(step_weights=[5, 25, 50], step_duration_s="2m")
    assert len(s.steps) == 6
    assert weights(s) == [5, 25, 50]
    for weight_step, analysis_step in zip(s.steps[::2], s.steps[1::2], strict=True):
        assert isinstance(weight_step, SetWeight)
        assert isinstance(analysis_step, Analysis)
        assert analysis_step.duration_s == 120.0
        assert analysis_step.analysis.spec is None  # the spec's analysis applies
    assert s.step_weights is None  # gone once expanded: the stored spec only has steps


@pytest.mark.parametrize(
    ("step_weight", "max_weight", "expected"),
    [
        (10, 50, [10, 20, 30, 40, 50]),
        (20, 50, [20, 40, 50]),
        (25, None, [25, 50, 75, 100]),
        (100, None, [100]),
        (30, 30, [30]),
    ],
)
def test_step_weight_grows_to_max_weight(
    step_weight: int, max_weight: int | None, expected: list[int]
) -> None:
    fields: dict[str, Any] = {"step_weight": step_weight}
    if max_weight is not None:
        fields["max_weight"] = max_weight
    assert weights(spec(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"step_weights": [5, 5]}, "step_weights[1]: 5 must be above 5"),
        ({"step_weights": [5, 101]}, "step_weights[1]: must be an integer 0..100"),
        ({"step_weights": []}, "step_weights: give at least one weight"),
        ({"step_weight": 0}, "step_weight: must be 1..100"),
        ({"step_weight": 30, "max_weight": 20}, "max_weight: 20 is below step_weight 30"),
        ({"max_weight": 20}, "max_weight: only together with step_weight"),
        ({"step_weights": [5], "step_weight": 5}, "step_weight: give one of"),
    ],
)
def test_shorthand_errors_name_the_field(fields: dict[str, Any], message: str) -> None:
    assert error(**fields).startswith(message)


# -- strategies ---


def test_bluegreen_defaults_to_a_preview_header() -> None:
    s = spec(strategy="bluegreen")
    assert s.bluegreen is not None
    assert s.bluegreen.preview_match == MatchSpec(name="x-turnout-preview", value="true")
    assert (s.bluegreen.pre_promotion_s, s.bluegreen.post_promotion_s) == (60.0, 60.0)
    assert s.steps == ()


def test_abtest_and_shadow_defaults() -> None:
    ab = spec(strategy="abtest")
    assert ab.abtest is not None
    assert (ab.abtest.split, ab.abtest.max_duration_s, ab.abtest.promote_winner) == (
        50,
        3600.0,
        False,
    )
    assert ab.abtest.decide_after_s == 3600.0
    assert spec(strategy="abtest", abtest={"min_duration_s": 60}).abtest.decide_after_s == 60  # type: ignore[union-attr]
    assert spec(strategy="shadow").shadow_percent == 100.0
    assert spec(strategy="shadow", shadow_percent=20).shadow_percent == 20.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"strategy": "rolling"},
            "strategy: must be 'canary', 'bluegreen', 'abtest' or 'shadow', got 'rolling'",
        ),
        (
            {"strategy": "bluegreen", "steps": [{"setWeight": 5}]},
            "steps: only for strategy canary, not bluegreen",
        ),
        ({"strategy": "shadow", "step_weights": [5]}, "step_weights: only for strategy canary"),
        ({"bluegreen": {}}, "bluegreen: only for strategy bluegreen, not canary"),
        ({"strategy": "shadow", "abtest": {}}, "abtest: only for strategy abtest, not shadow"),
        ({"shadow_percent": 10}, "shadow_percent: only for strategy shadow"),
        (
            {"strategy": "shadow", "shadow_percent": 0},
            "shadow_percent: must be a number in (0, 100], got 0",
        ),
        (
            {"strategy": "shadow", "shadow_percent": 101},
            "shadow_percent: must be a number in (0, 100]",
        ),
        (
            {"strategy": "shadow", "match": [{"name": "x", "value": "y"}]},
            "match: the shadow strategy sends no user",
        ),
        (
            {"strategy": "bluegreen", "bluegreen": {"pre_promotion_s": 0}},
            "bluegreen.pre_promotion_s: must be > 0",
        ),
        (
            {"strategy": "bluegreen", "bluegreen": {"preview_match": None}},
            "bluegreen.preview_match: give preview_match or mirror_percent",
        ),
        (
            {"strategy": "bluegreen", "bluegreen": {"mirror_percent": 200}},
            "bluegreen.mirror_percent: must be a number in (0, 100]",
        ),
        (
            {
                "strategy": "bluegreen",
                "bluegreen": {"preview_match": {"name": "x", "op": "like", "value": "y"}},
            },
            "bluegreen.preview_match.op: must be 'exact', 'prefix' or 'regex'",
        ),
        ({"strategy": "abtest", "abtest": {"split": 100}}, "abtest.split: must be 1..99"),
        (
            {"strategy": "abtest", "abtest": {"max_duration_s": 0}},
            "abtest.max_duration_s: must be > 0",
        ),
        (
            {"strategy": "abtest", "abtest": {"max_duration_s": 60, "min_duration_s": 120}},
            "abtest.min_duration_s: 120 s is above max_duration_s 60 s",
        ),
    ],
)
def test_strategy_errors_name_the_field(fields: dict[str, Any], message: str) -> None:
    assert error(**fields).startswith(message)


def test_bluegreen_may_mirror_instead_of_matching() -> None:
    s = spec(strategy="bluegreen", bluegreen={"preview_match": None, "mirror_percent": 10})
    assert s.bluegreen is not None and s.bluegreen.mirror_percent == 10.0


# -- the rest of the fields ---


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": ""}, "model: must be a model name"),
        ({"model": " fraud"}, "model: must be a model name"),
        ({"candidate": "v 7"}, "candidate: must be a version like '3'"),
        ({"baseline": "7"}, "baseline: must differ from candidate '7'"),
        ({"step_duration_s": 0}, "step_duration_s: must be > 0"),
        (
            {"match": [{"name": "x", "op": "regex", "value": "("}]},
            "match[0].value: invalid regex '('",
        ),
        (
            {"match": [{"source": "query", "name": "x", "value": "y"}]},
            "match[0].source: must be 'header' or 'cookie'",
        ),
        ({"match": [{"name": "", "value": "y"}]}, "match[0].name: must be a non-empty string"),
        ({"sticky": {"header": " x"}}, "sticky.header: must be a non-empty string"),
        (
            {"webhooks": [{"type": "pre-promotion", "url": "https://x"}]},
            "webhooks[0].type: must be 'confirm-rollout', ",
        ),
        (
            {"webhooks": [{"type": "event", "url": "ftp://x"}]},
            "webhooks[0].url: must be an http:// or https:// URL",
        ),
        (
            {"webhooks": [{"type": "event", "url": "https://x", "timeout_s": 0}]},
            "webhooks[0].timeout_s: must be > 0",
        ),
        (
            {"webhooks": [{"type": "event", "url": "https://x", "secret_env": "A-B"}]},
            "webhooks[0].secret_env: must be an environment variable name",
        ),
        ({"webhooks": [{"url": "https://x"}]}, "webhooks[0].type: required"),
        ({"colour": "blue"}, "colour: unknown field"),
    ],
)
def test_field_errors_name_the_field(fields: dict[str, Any], message: str) -> None:
    assert error(**fields).startswith(message)


def test_missing_required_fields() -> None:
    with pytest.raises(SpecError, match="^candidate: required"):
        RolloutSpec.from_dict({"model": "m", "steps": [{"setWeight": 5}]})


def test_a_spec_is_a_mapping() -> None:
    with pytest.raises(SpecError, match="^x.yaml: a rollout spec must be a mapping, got list"):
        RolloutSpec.from_dict([1], source="x.yaml")


def test_analysis_errors_point_inside_the_analysis() -> None:
    message = error(analysis={"metrics": [{"bogus_field": 1}]})
    assert message.startswith("analysis.metrics[0]")


def test_analysis_may_be_turned_off() -> None:
    assert spec(analysis=None).analysis is None


def test_match_rules_become_traffic_rules() -> None:
    s = spec(match=[{"name": "X-Beta", "op": "prefix", "value": "y"}])
    assert s.match[0].rule("7") == MatchRule("header", "x-beta", "prefix", "y", "7")


def test_webhooks_by_kind() -> None:
    s = spec(
        webhooks=[
            {"type": "confirm-promotion", "url": "https://a"},
            {"type": "event", "url": "https://b"},
        ]
    )
    assert [w.url for w in s.webhooks_of("event")] == ["https://b"]
    assert s.has_gate("confirm-promotion")
    assert not s.has_gate("event")  # notified, not a gate
    assert not s.has_gate("confirm-rollout")


def test_camel_case_fields_of_argo_and_flagger_specs_are_read() -> None:
    camel = RolloutSpec.from_dict(
        {
            "model": "m",
            "candidate": "2",
            "stepWeight": 10,
            "maxWeight": 30,
            "stepDurationS": 20,
            "promoteOnSuccess": False,
        }
    )
    snake = RolloutSpec.from_dict(
        {
            "model": "m",
            "candidate": "2",
            "step_weight": 10,
            "max_weight": 30,
            "step_duration_s": 20,
            "promote_on_success": False,
        }
    )
    assert camel == snake
    assert "promote_on_success" in camel.to_dict()  # written in snake_case
    listed = RolloutSpec.from_dict({"model": "m", "candidate": "2", "stepWeights": [5, 50]})
    plain = RolloutSpec.from_dict({"model": "m", "candidate": "2", "step_weights": [5, 50]})
    assert listed == plain
