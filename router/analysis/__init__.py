"""Canary analysis: measurements of candidate and baseline in, a verdict out.

The judge and the statistics are pure (standard library, numpy, scipy, pydantic). The
I/O adapters live in ``router.analysis.providers`` (httpx), imported on their own so
that importing the judge stays light.
"""

from __future__ import annotations

from router.analysis.adapt import measurement_from_merged, quality_from_version
from router.analysis.errors import AnalysisError, ProviderError, SpecError, StateError
from router.analysis.judge import JUDGE_STATE_VERSION, JudgeState, MetricState, judge
from router.analysis.measurement import LatencyCounts, Measurement, Quality
from router.analysis.sequential import (
    error_test,
    latency_test,
    naive_z_rejects,
    two_proportion_z,
)
from router.analysis.spec import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_EFFECT,
    DEFAULT_PRIOR_STRENGTH,
    METRIC_KINDS,
    PROVIDER_NAMES,
    SEQUENTIAL_KINDS,
    AnalysisSpec,
    MetricKind,
    MetricSpec,
    ProviderName,
    SequentialSpec,
    default_analysis,
    default_shadow_analysis,
    describe_validation_error,
    parse_analysis,
)
from router.analysis.verdict import MetricResult, Phase, Verdict

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_EFFECT",
    "DEFAULT_PRIOR_STRENGTH",
    "JUDGE_STATE_VERSION",
    "METRIC_KINDS",
    "PROVIDER_NAMES",
    "SEQUENTIAL_KINDS",
    "AnalysisError",
    "AnalysisSpec",
    "JudgeState",
    "LatencyCounts",
    "Measurement",
    "MetricKind",
    "MetricResult",
    "MetricSpec",
    "MetricState",
    "Phase",
    "ProviderError",
    "ProviderName",
    "Quality",
    "SequentialSpec",
    "SpecError",
    "StateError",
    "Verdict",
    "default_analysis",
    "default_shadow_analysis",
    "describe_validation_error",
    "error_test",
    "judge",
    "latency_test",
    "measurement_from_merged",
    "naive_z_rejects",
    "parse_analysis",
    "quality_from_version",
    "two_proportion_z",
]
