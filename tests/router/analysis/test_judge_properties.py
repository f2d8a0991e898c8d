"""Properties of the judge: no data is never a pass; the state always round-trips."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from router.analysis import (
    AnalysisSpec,
    JudgeState,
    Measurement,
    MetricSpec,
    Phase,
    Quality,
    SequentialSpec,
    default_analysis,
    judge,
)
from tests.router.analysis.helpers import latency

PALETTE = (
    *default_analysis().metrics,
    MetricSpec(name="err-max", max=0.5),
    MetricSpec(name="acc", kind="accuracy", min=0.1, sequential=SequentialSpec(min_effect=0.05)),
    MetricSpec(name="mae", kind="mae", max=10.0),
    MetricSpec(name="p50", kind="latency", max=10.0),
)


@st.composite
def _short_measurement(draw: st.DrawFn) -> Measurement | None:
    """A measurement with fewer than 100 samples of every kind, or none at all."""
    if draw(st.booleans()):
        return None
    n = draw(st.integers(0, 99))
    errors = draw(st.integers(0, n))
    labelled = draw(st.integers(0, 99))
    return Measurement(
        requests=n,
        errors=errors,
        latency=latency(n=draw(st.integers(0, 99)), at=draw(st.floats(1e-4, 10.0))),
        output_labels={"a": draw(st.integers(0, 99))},
        quality=Quality(labelled=labelled, accuracy=draw(st.floats(0.0, 1.0)), mae=1.0),
    )


_full = st.builds(
    lambda n, e: Measurement(
        requests=n,
        errors=min(e, n),
        latency=latency(n=n, at=0.05),
        output_labels={"a": n},
        quality=Quality(labelled=n, accuracy=0.9, mae=1.0),
    ),
    st.integers(100, 100_000),
    st.integers(0, 100_000),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(PALETTE), min_size=1, max_size=4, unique_by=lambda m: m.name),
    _short_measurement(),
    st.one_of(_short_measurement(), _full),
    st.booleans(),
    st.booleans(),
)
def test_never_successful_without_data(
    metrics: list[MetricSpec],
    candidate: Measurement | None,
    baseline: Measurement | None,
    deadline_passed: bool,
    swap: bool,
) -> None:
    if swap:  # the short side may be either version
        candidate, baseline = baseline, candidate
    verdict, state = judge(
        AnalysisSpec(metrics=tuple(metrics)),
        candidate,
        baseline,
        JudgeState(),
        deadline_passed=deadline_passed,
    )
    # A short measurement on the side a metric reads leaves that metric Pending.
    short_side_is_candidate = not swap
    for result, spec in zip(verdict.metrics, metrics, strict=True):
        reads_baseline = (
            spec.relative_max is not None
            or spec.sequential is not None
            or (spec.kind == "prediction_shift")
        )
        if short_side_is_candidate or reads_baseline:
            assert result.phase is Phase.PENDING, result
    if short_side_is_candidate:
        assert verdict.phase is Phase.PENDING
    assert JudgeState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(PALETTE), min_size=1, max_size=4, unique_by=lambda m: m.name),
    _full,
    _full,
)
def test_one_metric_without_data_blocks_success(
    metrics: list[MetricSpec], candidate: Measurement, baseline: Measurement
) -> None:
    starving = MetricSpec(name="starving", max=1.0, min_samples=10**9)
    spec = AnalysisSpec(metrics=(*metrics, starving))
    verdict, _ = judge(spec, candidate, baseline, JudgeState(), deadline_passed=True)
    assert verdict.phase is not Phase.SUCCESSFUL
    assert verdict.metric("starving").phase is Phase.PENDING
