"""Specs from YAML / JSON text and from CLI flags; errors carry the source."""

from __future__ import annotations

import json

import pytest

from router.rollout import Analysis, Pause, SetWeight, SpecError, dump_spec, load_spec
from router.rollout import spec_from_flags as flags

YAML = """\
model: fraud
candidate: 7
strategy: canary
steps:
  - setWeight: 5
  - pause: {duration: 30s}
  - analysis: {duration: 2m}
  - setWeight: 50
  - pause: {}
webhooks:
  - {type: confirm-promotion, url: "https://ci.example/gate", timeout_s: 5}
"""


def test_load_yaml() -> None:
    s = load_spec(YAML, source="spec.yaml")
    assert s.model == "fraud" and s.candidate == "7"
    assert [type(x) for x in s.steps] == [SetWeight, Pause, Analysis, SetWeight, Pause]
    assert s.webhooks[0].timeout_s == 5.0


def test_load_json() -> None:
    text = json.dumps({"model": "fraud", "candidate": "7", "step_weights": [10, 100]})
    s = load_spec(text, source="spec.json")
    assert [x.set_weight for x in s.steps if isinstance(x, SetWeight)] == [10, 100]


def test_dump_then_load_is_the_same_spec() -> None:
    s = load_spec(YAML, source="spec.yaml")
    assert load_spec(dump_spec(s), source="again.yaml") == s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            YAML.replace("pause: {duration: 30s}", "pause: {duration: soon}"),
            "spec.yaml: steps[1].pause.duration: must be a duration",
        ),
        (YAML.replace("setWeight: 50", "setWeight: 500"), "spec.yaml: steps[3].setWeight: must be"),
        ("model: [unclosed", "spec.yaml: line 1, column 17: not valid YAML or JSON"),
        ("", "spec.yaml: empty"),
        ("- 1\n- 2\n", "spec.yaml: a rollout spec must be a mapping, got list"),
        ("model: m\n", "spec.yaml: candidate: required"),
    ],
)
def test_errors_name_source_and_field(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(text, source="spec.yaml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_flags_canary() -> None:
    s = flags("fraud", "7", steps="5,25,50,100", step_duration_s=30)
    assert s.strategy == "canary" and s.candidate == "7" and s.baseline is None
    assert [x.set_weight for x in s.steps if isinstance(x, SetWeight)] == [5, 25, 50, 100]
    assert all(x.duration_s == 30 for x in s.steps if isinstance(x, Analysis))
    assert s.analysis is not None


def test_flags_other_strategies() -> None:
    bg = flags("fraud", "7", "bluegreen", step_duration_s=120, baseline="6")
    assert bg.bluegreen is not None and bg.bluegreen.pre_promotion_s == 120
    assert bg.baseline == "6"
    ab = flags("fraud", "7", "abtest", split=20, max_duration_s=600, promote=False)
    assert ab.abtest is not None
    assert (ab.abtest.split, ab.abtest.max_duration_s, ab.abtest.promote_winner) == (
        20,
        600,
        False,
    )
    sh = flags("fraud", "7", "shadow", shadow_percent=25, analysis=False)
    assert sh.shadow_percent == 25 and sh.analysis is None
    assert sh.steps == ()  # --steps is the canary's


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": "5,x,50"}, "--steps: '5,x,50': 'x' is not a weight"),
        ({"steps": "5,0"}, "--steps: '5,0': '0' is not a weight"),
        ({"steps": "50,25"}, "--steps: '50,25': 25 does not grow"),
        ({"steps": ""}, "--steps: '': '' is not a weight"),
        ({"strategy": "rolling"}, "--strategy: 'rolling': expected one of canary, bluegreen"),
        ({"to_version": "v 7"}, "--to: must be a version"),
        ({"step_duration_s": 0}, "--step-duration: must be > 0"),
        ({"strategy": "abtest", "split": 0}, "--split: must be 1..99"),
        ({"strategy": "shadow", "shadow_percent": 0}, "--shadow-percent: must be a number"),
        ({"baseline": "7"}, "--baseline: must differ from candidate"),
    ],
)
def test_flag_errors_name_the_flag(kwargs: dict[str, object], message: str) -> None:
    args = {"model": "fraud", "to_version": "7", **kwargs}
    with pytest.raises(SpecError) as caught:
        flags(**args)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_steps_accept_percent_signs() -> None:
    s = flags("fraud", "7", steps="10%, 50%")
    assert [x.set_weight for x in s.steps if isinstance(x, SetWeight)] == [10, 50]
