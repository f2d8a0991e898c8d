"""Analysis specs: names and aliases, defaults, and one test per validation rule."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from router.analysis import (
    DEFAULT_MIN_EFFECT,
    AnalysisSpec,
    MetricSpec,
    SequentialSpec,
    SpecError,
    default_analysis,
    parse_analysis,
)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        parse_analysis({"metrics": [data]})
    return str(info.value)


def test_snake_and_camel_names_are_both_accepted() -> None:
    snake = MetricSpec.model_validate(
        {
            "name": "e",
            "max": 0.1,
            "failure_limit": 2,
            "inconclusive_limit": 1,
            "consecutive_error_limit": 3,
            "min_samples": 50,
            "interval_s": 5,
        }
    )
    camel = MetricSpec.model_validate(
        {
            "name": "e",
            "max": 0.1,
            "failureLimit": 2,
            "inconclusiveLimit": 1,
            "consecutiveErrorLimit": 3,
            "minSamples": 50,
            "interval": 5,
        }
    )
    assert snake == camel
    assert camel.failure_limit == 2 and camel.interval_s == 5.0


def test_sequential_spec_takes_camel_case() -> None:
    s = SequentialSpec.model_validate({"alpha": 0.01, "minEffect": 0.3, "priorStrength": 4})
    assert (s.alpha, s.min_effect, s.prior_strength) == (0.01, 0.3, 4.0)


def test_dump_by_alias_reads_back() -> None:
    spec = default_analysis()
    doc = spec.model_dump(by_alias=True)
    assert "failureLimit" in doc["metrics"][0]
    assert "interval" in doc["metrics"][0]
    assert parse_analysis(doc) == spec


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("1m", 60.0), ("250ms", 0.25), ("2", 2.0)]
)
def test_interval_takes_durations(text: str, seconds: float) -> None:
    assert MetricSpec(name="e", max=0.1, interval_s=seconds).interval_s == seconds
    assert (
        MetricSpec.model_validate({"name": "e", "max": 0.1, "interval": text}).interval_s == seconds
    )


def test_defaults_follow_argo() -> None:
    m = MetricSpec(name="e", max=0.1)
    assert (m.failure_limit, m.inconclusive_limit, m.consecutive_error_limit) == (0, 0, 4)
    assert (m.provider, m.kind, m.min_samples, m.interval_s) == ("builtin", "error_rate", 100, 10.0)


def test_default_min_effect_depends_on_kind() -> None:
    s = SequentialSpec()
    assert s.effect_for("error_rate") == DEFAULT_MIN_EFFECT["error_rate"] == 0.01
    assert s.effect_for("latency") == 0.2
    assert SequentialSpec(min_effect=0.05).effect_for("latency") == 0.05


def test_default_analysis() -> None:
    spec = default_analysis()
    names = [m.name for m in spec.metrics]
    assert names == ["error-rate", "latency", "prediction-shift"]
    err, lat, shift = spec.metrics
    assert err.sequential is not None and err.sequential.alpha == 0.05
    assert lat.quantile == 0.99 and lat.relative_max == 1.5 and lat.sequential is not None
    assert shift.max == 0.1


def test_specs_are_frozen() -> None:
    m = MetricSpec(name="e", max=0.1)
    with pytest.raises(ValidationError):
        m.max = 0.2


def test_unknown_fields_are_rejected_with_their_name() -> None:
    assert "metrics[0].maximum: Extra inputs are not permitted" in _error(
        {"name": "e", "maximum": 1}
    )


def test_messages_point_at_the_field() -> None:
    assert _error({"name": "e", "max": 1, "failureLimit": -1}).startswith(
        "metrics[0].failureLimit: "
    )


def test_quantile_only_for_latency() -> None:
    assert "metrics[0].quantile: only latency metrics take a quantile" in _error(
        {"name": "e", "kind": "error_rate", "quantile": 0.9, "max": 1}
    )


@pytest.mark.parametrize("q", [0.0, 1.0, 1.5])
def test_quantile_is_inside_zero_one(q: float) -> None:
    assert "metrics[0].quantile" in _error(
        {"name": "l", "kind": "latency", "quantile": q, "max": 1}
    )


def test_min_must_not_exceed_max() -> None:
    assert "metrics[0].min: must be <= max" in _error({"name": "e", "max": 0.1, "min": 0.2})


def test_a_metric_must_be_able_to_fail() -> None:
    assert "can never fail" in _error({"name": "e"})


def test_sequential_only_for_supported_kinds() -> None:
    text = _error({"name": "l", "kind": "log_loss", "sequential": {}})
    assert text.startswith("metrics[0].sequential: a sequential test exists for")


def test_relative_max_not_for_prediction_shift() -> None:
    assert "metrics[0].relativeMax" in _error(
        {"name": "s", "kind": "prediction_shift", "relativeMax": 1.2}
    )


def test_remote_providers_measure_custom_metrics_only() -> None:
    assert "metrics[0].kind: prometheus metrics give one number" in _error(
        {"name": "p", "provider": "prometheus", "kind": "error_rate", "query": "up", "max": 1}
    )
    assert "metrics[0].kind: custom metrics come from" in _error(
        {"name": "c", "kind": "custom", "max": 1}
    )


def test_remote_providers_need_a_query() -> None:
    assert "metrics[0].query: prometheus metrics need a PromQL query" in _error(
        {"name": "p", "provider": "prometheus", "kind": "custom", "max": 1}
    )
    assert "metrics[0].query: web metrics need a URL" in _error(
        {"name": "w", "provider": "web", "kind": "custom", "max": 1}
    )
    assert "metrics[0].query: only prometheus and web" in _error(
        {"name": "b", "query": "up", "max": 1}
    )


def test_json_path_is_for_web_and_must_parse() -> None:
    web = {"name": "w", "provider": "web", "kind": "custom", "query": "http://x", "max": 1}
    assert (
        MetricSpec.model_validate({**web, "jsonPath": "$.data.value"}).json_path == "$.data.value"
    )
    assert "metrics[0].jsonPath: bad JSON path" in _error({**web, "jsonPath": "$.a..b"})
    assert "metrics[0].jsonPath: only web metrics" in _error(
        {
            "name": "p",
            "provider": "prometheus",
            "kind": "custom",
            "query": "up",
            "max": 1,
            "jsonPath": "a",
        }
    )


def test_unknown_provider_is_named() -> None:
    assert "metrics[0].provider" in _error({"name": "x", "provider": "datadog", "max": 1})


def test_alpha_and_min_effect_ranges() -> None:
    assert "metrics[0].sequential.alpha" in _error({"name": "e", "sequential": {"alpha": 0}})
    assert "metrics[0].sequential.minEffect" in _error(
        {"name": "e", "sequential": {"minEffect": 0}}
    )


def test_non_finite_thresholds_are_rejected() -> None:
    assert "metrics[0].max" in _error({"name": "e", "max": float("inf")})


def test_metric_names_are_unique_and_present() -> None:
    with pytest.raises(SpecError, match="'e' appears twice"):
        parse_analysis({"metrics": [{"name": "e", "max": 1}, {"name": "e", "max": 2}]})
    with pytest.raises(SpecError, match="metrics"):
        parse_analysis({"metrics": []})
    with pytest.raises(SpecError, match="metrics\\[0\\].name"):
        parse_analysis({"metrics": [{"name": " ", "max": 1}]})


def test_lookup_by_name() -> None:
    spec = AnalysisSpec(metrics=(MetricSpec(name="a", max=1.0),))
    assert spec.metric("a").max == 1.0
    with pytest.raises(KeyError):
        spec.metric("b")


def test_parse_passes_a_spec_through() -> None:
    spec = default_analysis()
    assert parse_analysis(spec) is spec
