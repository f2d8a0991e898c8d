from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from router.analysis.shift import MAX_GROUPS, js_distance, output_shift

_tables = st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000), min_size=1)


def test_identical_distributions_are_zero_apart() -> None:
    s = js_distance({"a": 600, "b": 400}, {"a": 600, "b": 400})
    assert s.raw == 0.0 and s.distance == 0.0


def test_raw_distance_is_scipys_base_2_jensen_shannon() -> None:
    p = {"a": 70, "b": 20, "c": 10}
    q = {"a": 40, "b": 40, "c": 20}
    ref = jensenshannon([70, 20, 10], [40, 40, 20], base=2)
    assert js_distance(p, q).raw == pytest.approx(float(ref), abs=1e-12)


def test_disjoint_supports_are_one_apart() -> None:
    s = js_distance({"a": 10_000}, {"b": 10_000})
    assert s.raw == pytest.approx(1.0)
    assert s.distance == pytest.approx(1.0, abs=1e-3)


@given(_tables, _tables)
def test_distance_is_bounded_and_symmetric(p: dict[str, int], q: dict[str, int]) -> None:
    a, b = js_distance(p, q), js_distance(q, p)
    assert 0.0 <= a.distance <= a.raw <= 1.0
    assert a.raw == pytest.approx(b.raw, abs=1e-12)


def test_noise_floor_removes_sampling_noise() -> None:
    # Two samples of one 10-class distribution at the default minimum (500 outputs from
    # the candidate): the raw distance is all noise, the corrected one stays under 0.1.
    rng = np.random.default_rng(7)
    probs = np.full(10, 0.1)
    raw, corrected = [], []
    for _ in range(400):
        a = rng.multinomial(500, probs)
        b = rng.multinomial(4500, probs)
        s = js_distance(dict(enumerate(a.tolist())), dict(enumerate(b.tolist())))
        raw.append(s.raw)
        corrected.append(s.distance)
    assert float(np.mean(raw)) > 0.05
    assert float(np.mean(corrected)) < float(np.mean(raw)) / 2
    assert float(np.max(corrected)) < 0.1


def test_numeric_outputs_are_regrouped_by_pooled_mass() -> None:
    values_c = dict.fromkeys(range(100), 5)
    values_b = dict.fromkeys(range(100), 45)
    s = output_shift({}, values_c, {}, values_b)
    assert s.bins == MAX_GROUPS and s.raw == pytest.approx(0.0, abs=1e-12)
    moved = output_shift({}, {i + 50: 5 for i in range(100)}, {}, values_b)
    assert moved.distance > 0.3


def test_labels_win_over_values() -> None:
    s = output_shift({"a": 10}, {1: 10}, {"a": 10}, {1: 10, 2: 10})
    assert s.bins == 1 and s.raw == 0.0


def test_empty_side_gives_zero() -> None:
    assert js_distance({}, {"a": 1}).raw == 0.0
    assert math.isfinite(output_shift({}, {}, {}, {}).distance)
