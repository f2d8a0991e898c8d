from __future__ import annotations

import re

import pytest

from router.telemetry import (
    EXPOSED_BOUNDS,
    LATENCY_BOUNDS,
    Recorder,
    Sample,
    UnknownMetric,
    render,
)
from router.telemetry.names import (
    METRICS,
    MODEL_LOADED,
    POLICY_REVISION,
    POLICY_STALE,
    REQUEST_DURATION,
    REQUESTS_TOTAL,
    ROWS_TOTAL,
    SHADOW_DISAGREEMENTS_TOTAL,
)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)$")


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            out.append({"\\": "\\", '"': '"', "n": "\n"}[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """A strict little reader of the 0.0.4 text format: TYPE lines and samples."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: list[tuple[str, dict[str, str], float]] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"second TYPE line for {name}"
            types[name] = kind
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = {k: _unescape(v) for k, v in re.findall(_LABEL, m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(len(m.groups())))))
    return types, samples


@pytest.fixture
def recorder() -> Recorder:
    rec = Recorder("r1", clock=lambda: 50.0)
    for latency in (0.0001, 0.003, 0.003, 0.07, 0.4, 2.0, 300.0):
        rec.record("fraud", "7", latency_s=latency, outcome="ok")
    rec.record("fraud", "7", latency_s=0.01, outcome="model_error", rows=3)
    rec.record("fraud", "8", latency_s=0.01, outcome="client_error")
    rec.record_shadow("fraud", "7", "9", latency_s=0.01, outcome="ok", agreed=False)
    return rec


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    [v] = [s[2] for s in samples if s[0] == name and s[1] == labels]
    return v


def test_counters_are_present_with_their_labels(recorder: Recorder) -> None:
    types, samples = parse(render(recorder))
    assert types[REQUESTS_TOTAL] == "counter" and types[REQUEST_DURATION] == "histogram"
    assert _value(samples, REQUESTS_TOTAL, model="fraud", version="7", outcome="ok") == 7
    assert _value(samples, REQUESTS_TOTAL, model="fraud", version="7", outcome="model_error") == 1
    assert _value(samples, REQUESTS_TOTAL, model="fraud", version="8", outcome="ok") == 0
    assert _value(samples, ROWS_TOTAL, model="fraud", version="7") == 10
    assert (
        _value(samples, SHADOW_DISAGREEMENTS_TOTAL, model="fraud", version="9", primary_version="7")
        == 1
    )
    for name, labels, _ in samples:
        base = (
            re.sub(r"_(bucket|sum|count)$", "", name) if name.startswith(REQUEST_DURATION) else name
        )
        assert base in types
        expected = set(METRICS[base].labels) | ({"le"} if name.endswith("_bucket") else set())
        assert set(labels) == expected


def test_histogram_buckets_are_cumulative_and_monotone(recorder: Recorder) -> None:
    _, samples = parse(render(recorder))
    series = [
        (labels["le"], v)
        for name, labels, v in samples
        if name == REQUEST_DURATION + "_bucket" and labels["version"] == "7"
    ]
    les = [float(le) for le, _ in series]
    counts = [v for _, v in series]
    assert les[-1] == float("inf") and les[:-1] == list(EXPOSED_BOUNDS)
    assert les == sorted(les)
    assert all(a <= b for a, b in zip(counts, counts[1:], strict=False))
    assert (
        counts[-1] == 8 == _value(samples, REQUEST_DURATION + "_count", model="fraud", version="7")
    )
    assert (
        _value(samples, REQUEST_DURATION + "_bucket", model="fraud", version="7", le="0.005") == 3
    )
    assert (
        _value(samples, REQUEST_DURATION + "_bucket", model="fraud", version="7", le="100.0") == 7
    )
    total = _value(samples, REQUEST_DURATION + "_sum", model="fraud", version="7")
    assert total == pytest.approx(0.0001 + 0.006 + 0.07 + 0.4 + 2.0 + 300.0 + 0.01)


def test_exposed_bounds_are_a_subset_of_the_fixed_bounds() -> None:
    assert set(EXPOSED_BOUNDS) <= set(LATENCY_BOUNDS)
    assert len(EXPOSED_BOUNDS) == 22
    assert {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0} <= set(EXPOSED_BOUNDS)


def test_label_values_are_escaped() -> None:
    rec = Recorder("r1", clock=lambda: 0.0)
    nasty = 'a"b\\c\nd'
    rec.record(nasty, "1", latency_s=0.01, outcome="ok")
    text = render(rec)
    assert 'model="a\\"b\\\\c\\nd"' in text
    _, samples = parse(text)
    assert _value(samples, REQUESTS_TOTAL, model=nasty, version="1", outcome="ok") == 1


def test_gauges_from_a_mapping_and_samples() -> None:
    text = render(
        None,
        gauges=[
            Sample(POLICY_REVISION, 12, {"model": "fraud"}),
            Sample(MODEL_LOADED, 1, {"model": "fraud", "version": "7"}),
            Sample(MODEL_LOADED, 0, {"model": "fraud", "version": "8"}),
        ],
    )
    types, samples = parse(text)
    assert types[POLICY_REVISION] == "gauge"
    assert _value(samples, POLICY_REVISION, model="fraud") == 12
    assert _value(samples, MODEL_LOADED, model="fraud", version="8") == 0
    assert text.count(f"# TYPE {MODEL_LOADED} ") == 1
    _, samples = parse(render(None, gauges={POLICY_STALE: 1.0}))
    assert _value(samples, POLICY_STALE) == 1.0


@pytest.mark.parametrize(
    "sample",
    [
        Sample("turnout_made_up", 1),
        Sample(POLICY_REVISION, 1),  # lacks its label
        Sample(POLICY_STALE, 1, {"model": "x"}),  # an extra label
        Sample(REQUESTS_TOTAL, 1, {"model": "m", "version": "1", "outcome": "ok"}),
    ],
)
def test_undeclared_or_recorder_owned_samples_are_refused(sample: Sample) -> None:
    with pytest.raises(UnknownMetric):
        render(None, gauges=[sample])


def test_empty_render_is_empty() -> None:
    assert render(None) == ""


def test_special_values() -> None:
    _, samples = parse(render(None, gauges={POLICY_STALE: float("nan")}))
    assert samples[0][2] != samples[0][2]
