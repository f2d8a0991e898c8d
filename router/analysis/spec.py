"""(pure) What an analysis judges: its metrics, thresholds, sequential tests and limits.

These models are embedded in rollout specs, so every field takes its snake_case name or
its camelCase alias (``failure_limit`` or ``failureLimit``; ``interval_s`` is spelled
``interval`` and takes seconds or a duration such as ``"30s"`` / ``"1m"``). Invalid
input raises pydantic's ValidationError whose location names the field;
``parse_analysis`` turns it into one SpecError line (``metrics[0].quantile: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from router.analysis.errors import SpecError
from router.analysis.jsonpath import parse_path

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_EFFECT",
    "DEFAULT_PRIOR_STRENGTH",
    "METRIC_KINDS",
    "PROVIDER_NAMES",
    "SEQUENTIAL_KINDS",
    "AnalysisSpec",
    "MetricKind",
    "MetricSpec",
    "ProviderName",
    "SequentialSpec",
    "default_analysis",
    "default_shadow_analysis",
    "describe_validation_error",
    "parse_analysis",
]

MetricKind: TypeAlias = Literal[
    "error_rate",
    "latency",
    "prediction_shift",
    "disagreement",
    "input_drift",
    "accuracy",
    "log_loss",
    "mae",
    "rmse",
    "custom",
]
ProviderName: TypeAlias = Literal["builtin", "prometheus", "web"]
METRIC_KINDS: Final[tuple[str, ...]] = get_args(MetricKind)
PROVIDER_NAMES: Final[tuple[str, ...]] = get_args(ProviderName)

# Kinds whose per-request data supports an anytime-valid test: counts of failures
# (error_rate; accuracy via misclassifications) and a histogram (latency). Means of
# log loss / MAE / RMSE come without a variance, so they are judged by thresholds only.
SEQUENTIAL_KINDS: Final = frozenset({"error_rate", "latency", "accuracy"})

DEFAULT_ALPHA: Final = 0.05
# Pseudo-observations in the mixture prior (see router.analysis.sequential): 10 was among
# the fastest of 1..50 in simulation (10% canary) for both 1% -> 2% and 1% -> 5% errors.
DEFAULT_PRIOR_STRENGTH: Final = 10.0
# The smallest regression that matters, in each kind's own units:
#   error_rate: absolute increase of the error rate (0.01 = one percentage point);
#   latency:    relative increase of the typical (geometric mean) latency (0.2 = +20%);
#   accuracy:   absolute decrease of accuracy (0.02 = two points).
DEFAULT_MIN_EFFECT: Final[Mapping[str, float]] = MappingProxyType(
    {"error_rate": 0.01, "latency": 0.2, "accuracy": 0.02}
)

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        allow_inf_nan=False,
    )


class SequentialSpec(_Model):
    """An anytime-valid comparison of the candidate with the live baseline.

    ``alpha`` bounds the chance of a false rollback over the whole analysis, however
    often it is checked. ``min_effect`` is the smallest regression that matters, in the
    units of ``DEFAULT_MIN_EFFECT`` (None: that default for the metric's kind); a
    regression is only Failed when it is at least this large, and at the step deadline
    a metric is Inconclusive unless a regression this large is ruled out.
    ``prior_strength`` is how many observations the mixture prior is worth: smaller
    finds large regressions sooner, larger finds small ones sooner.
    """

    alpha: float = Field(default=DEFAULT_ALPHA, gt=0.0, le=0.5)
    min_effect: float | None = Field(default=None, gt=0.0)
    prior_strength: float = Field(default=DEFAULT_PRIOR_STRENGTH, gt=0.0)

    def effect_for(self, kind: str) -> float:
        """``min_effect``, or the default for ``kind``."""
        if self.min_effect is not None:
            return self.min_effect
        return DEFAULT_MIN_EFFECT[kind]


class MetricSpec(_Model):
    """One metric of an analysis: where it comes from, and what makes it fail.

    Thresholds: ``max`` / ``min`` bound the candidate's value; ``relative_max`` requires
    ``candidate <= baseline * relative_max``. ``min_samples`` is the data each version
    needs before any judgement (requests; latency observations; labelled predictions
    for quality kinds; outputs for prediction_shift; compared answers for
    disagreement). Limits follow Argo Rollouts: the metric is Failed once more than
    ``failure_limit`` breaches were counted, Inconclusive after more than
    ``inconclusive_limit`` ambiguous results, and Error after more than
    ``consecutive_error_limit`` provider errors in a row; a breach, ambiguity or error
    is counted at most once per ``interval_s``.
    """

    name: str = Field(min_length=1, max_length=200)
    provider: ProviderName = "builtin"
    kind: MetricKind = "error_rate"
    quantile: float | None = Field(default=None, gt=0.0, lt=1.0)
    max: float | None = None
    min: float | None = None
    relative_max: float | None = Field(default=None, gt=0.0)
    sequential: SequentialSpec | None = None
    min_samples: int = Field(default=100, ge=0)
    failure_limit: int = Field(default=0, ge=0)
    inconclusive_limit: int = Field(default=0, ge=0)
    consecutive_error_limit: int = Field(default=4, ge=0)
    query: str | None = Field(default=None, validate_default=True)
    json_path: str | None = None
    interval_s: float = Field(
        default=10.0,
        gt=0.0,
        validation_alias=AliasChoices("interval", "intervalS", "interval_s"),
        serialization_alias="interval",
    )

    @field_validator("name")
    @classmethod
    def _name_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("kind")
    @classmethod
    def _kind_fits_provider(cls, value: str, info: ValidationInfo) -> str:
        provider = info.data.get("provider")
        if provider is None:
            return value
        if provider != "builtin" and value != "custom":
            raise ValueError(
                f"{provider} metrics give one number per version: use kind 'custom' "
                f"(the builtin provider measures {value})"
            )
        if provider == "builtin" and value == "custom":
            raise ValueError("custom metrics come from the prometheus or web provider")
        return value

    @field_validator("quantile")
    @classmethod
    def _quantile_only_for_latency(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("kind", "latency") != "latency":
            raise ValueError("only latency metrics take a quantile")
        return value

    @field_validator("min")
    @classmethod
    def _min_below_max(cls, value: float | None, info: ValidationInfo) -> float | None:
        high = info.data.get("max")
        if value is not None and high is not None and value > high:
            raise ValueError(f"must be <= max ({high}), got {value}")
        return value

    @field_validator("relative_max")
    @classmethod
    def _relative_needs_a_value(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if value is not None and kind in ("prediction_shift", "disagreement", "input_drift"):
            raise ValueError(f"{kind} has no baseline value to be relative to: use max")
        return value

    @field_validator("sequential")
    @classmethod
    def _sequential_kind(
        cls, value: SequentialSpec | None, info: ValidationInfo
    ) -> SequentialSpec | None:
        kind = info.data.get("kind")
        if value is not None and kind is not None and kind not in SEQUENTIAL_KINDS:
            kinds = ", ".join(sorted(SEQUENTIAL_KINDS))
            raise ValueError(f"a sequential test exists for {kinds}; judge {kind} by thresholds")
        return value

    @field_validator("query")
    @classmethod
    def _query_for_remote(cls, value: str | None, info: ValidationInfo) -> str | None:
        provider = info.data.get("provider")
        if provider == "builtin" and value is not None:
            raise ValueError("only prometheus and web metrics take a query")
        if provider in {"prometheus", "web"} and not (value and value.strip()):
            what = "a PromQL query" if provider == "prometheus" else "a URL"
            raise ValueError(f"{provider} metrics need {what}")
        return value

    @field_validator("json_path")
    @classmethod
    def _json_path_for_web(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("provider") != "web":
            raise ValueError("only web metrics take a JSON path")
        parse_path(value)  # ValueError names the bad step
        return value

    @field_validator("interval_s", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _DURATION.match(value)
            if m is None:
                raise ValueError(
                    f"expected seconds or a duration like '30s' or '1m', got {value!r}"
                )
            return float(m.group(1)) * _UNIT_S[m.group(2) or "s"]
        return value

    @model_validator(mode="after")
    def _can_fail(self) -> MetricSpec:
        rules = (self.max, self.min, self.relative_max, self.sequential)
        if all(rule is None for rule in rules):
            raise ValueError(
                f"metric {self.name!r} needs max, min, relativeMax or sequential: "
                "without one it can never fail"
            )
        return self

    @property
    def latency_quantile(self) -> float:
        """The quantile a latency metric reports and thresholds (p50 when not given)."""
        return 0.5 if self.quantile is None else self.quantile


class AnalysisSpec(_Model):
    """The metrics an analysis judges; every one must pass for the analysis to pass."""

    metrics: tuple[MetricSpec, ...] = Field(min_length=1)

    @field_validator("metrics")
    @classmethod
    def _unique_names(cls, value: tuple[MetricSpec, ...]) -> tuple[MetricSpec, ...]:
        seen: set[str] = set()
        for metric in value:
            if metric.name in seen:
                raise ValueError(f"metric names must be unique: {metric.name!r} appears twice")
            seen.add(metric.name)
        return value

    def metric(self, name: str) -> MetricSpec:
        """The metric called ``name``; KeyError if there is none."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)


def default_analysis() -> AnalysisSpec:
    """The analysis a rollout gets when its spec names none.

    - ``error-rate``: sequential test, alpha 0.05, Failed only for a regression of at
      least one percentage point.
    - ``latency``: p99 at most 1.5x the baseline's, and a sequential test on the typical
      (geometric mean) latency, Failed for a +20% regression.
    - ``prediction-shift``: Jensen-Shannon distance (base 2, noise-corrected) of the
      candidate's outputs from the baseline's at most 0.1 (Evidently's default distance
      threshold), from 500 outputs each, where sampling noise alone stays well under it.
    """
    return AnalysisSpec(
        metrics=(
            MetricSpec(
                name="error-rate",
                kind="error_rate",
                sequential=SequentialSpec(alpha=DEFAULT_ALPHA, min_effect=0.01),
            ),
            MetricSpec(
                name="latency",
                kind="latency",
                quantile=0.99,
                relative_max=1.5,
                sequential=SequentialSpec(alpha=DEFAULT_ALPHA, min_effect=0.2),
            ),
            MetricSpec(name="prediction-shift", kind="prediction_shift", max=0.1, min_samples=500),
        )
    )


def default_shadow_analysis() -> AnalysisSpec:
    """The analysis a shadow rollout gets when its spec names none.

    A shadow serves nobody: its answers are compared with the baseline's on the same
    requests, and its outputs are not summarised, so prediction shift and quality have
    no data. Its latency is the model call alone (the baseline's includes the HTTP
    work), so it is not compared either.

    - ``error-rate``: the sequential test as for a canary (both versions see the same
      requests, so the test compares like with like).
    - ``disagreement``: the candidate answered otherwise on at most 5% of the compared
      requests, from 200 comparisons.
    """
    return AnalysisSpec(
        metrics=(
            MetricSpec(
                name="error-rate",
                kind="error_rate",
                sequential=SequentialSpec(alpha=DEFAULT_ALPHA, min_effect=0.01),
            ),
            MetricSpec(name="disagreement", kind="disagreement", max=0.05, min_samples=200),
        )
    )


def parse_analysis(data: Mapping[str, Any] | AnalysisSpec) -> AnalysisSpec:
    """An AnalysisSpec from a plain mapping (YAML / JSON); SpecError names the field."""
    if isinstance(data, AnalysisSpec):
        return data
    try:
        return AnalysisSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """pydantic's errors as ``path: message`` parts joined by ``; `` (one line)."""
    parts = []
    for err in exc.errors():
        where = _where(err.get("loc", ()))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
