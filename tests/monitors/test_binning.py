from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monitors.binning import bin_index, quantile_edges

EDGES = [0.0, 1.0, 2.0, 3.0]
finite = st.floats(allow_nan=False, allow_infinity=False)


def test_left_closed_bins() -> None:
    assert bin_index(EDGES, np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])).tolist() == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]


def test_last_bin_closed_on_the_right() -> None:
    assert bin_index(EDGES, np.array([3.0])).tolist() == [2]


def test_out_of_range_values_clamp_to_outer_bins() -> None:
    values = np.array([-1e300, -np.inf, -0.1, 3.1, 1e300, np.inf])
    assert bin_index(EDGES, values).tolist() == [0, 0, 0, 2, 2, 2]


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        bin_index(EDGES, np.array([1.0, np.nan]))


@pytest.mark.parametrize("edges", [[1.0], [0.0, 0.0], [1.0, 0.0], [0.0, np.inf], [[0.0, 1.0]]])
def test_bad_edges_are_refused(edges: list[float]) -> None:
    with pytest.raises(ValueError, match="edges"):
        bin_index(edges, np.array([0.5]))


def test_quantile_edges_are_the_reference_quantiles() -> None:
    x = np.arange(101, dtype=np.float64)
    assert quantile_edges(x, 4).tolist() == [0.0, 25.0, 50.0, 75.0, 100.0]


def test_quantile_edges_collapse_repeats() -> None:
    x = np.sort(np.array([0.0] * 90 + list(range(1, 11)), dtype=np.float64))
    edges = quantile_edges(x, 10)
    assert edges[0] == 0.0 and np.all(edges[1:] > edges[:-1]) and edges.size < 11


def test_top_atom_keeps_a_bin_of_its_own() -> None:
    x = np.sort(np.array([0.0, 1.0] * 50))
    edges = quantile_edges(x, 10)
    counts = np.bincount(bin_index(edges, x), minlength=edges.size - 1)
    assert edges[-1] == np.nextafter(1.0, np.inf)
    assert counts[0] == 50 and counts[-1] == 50


def test_constant_sample_gets_one_bin() -> None:
    assert quantile_edges(np.array([5.0, 5.0]), 10).tolist() == [5.0, np.nextafter(5.0, np.inf)]
    big = float(np.finfo(np.float64).max)
    assert quantile_edges(np.array([big]), 10).tolist() == [np.nextafter(big, -np.inf), big]


@given(
    st.lists(finite, min_size=2, max_size=12, unique=True).map(sorted),
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(allow_nan=False)),
)
def test_bin_index_is_monotone_and_in_range(edges: list[float], values: np.ndarray) -> None:
    ordered = np.sort(values)
    idx = bin_index(edges, ordered)
    assert idx.min() >= 0 and idx.max() <= len(edges) - 2
    assert np.all(np.diff(idx) >= 0)


@given(st.lists(finite, min_size=1, max_size=80), st.integers(1, 20))
def test_quantile_edges_strictly_increasing_and_bounded(values: list[float], n_bins: int) -> None:
    x = np.sort(np.array(values))
    edges = quantile_edges(x, n_bins)
    assert 2 <= edges.size <= n_bins + 1
    assert np.all(np.isfinite(edges)) and np.all(edges[1:] > edges[:-1])
    assert bin_index(edges, x).size == x.size


def test_zero_inflated_sample_keeps_the_tail_apart_from_the_zeros() -> None:
    x = np.sort(np.array([0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 5.0]))
    edges = quantile_edges(x, 10)
    counts = np.bincount(bin_index(edges, x), minlength=edges.size - 1)
    assert edges.tolist() == [0.0, np.nextafter(0.0, np.inf), 5.0]
    assert counts.tolist() == [95, 5]
