"""monitors.stats: each statistic against scipy or a hand computation, and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from monitors import stats
from monitors.binning import bin_index, quantile_edges
from monitors.errors import MonitorError, NotEnoughData

counts_lists = st.lists(st.integers(0, 1000), min_size=2, max_size=12).filter(lambda c: sum(c) > 0)


# --- PSI ------------------------------------------------------------------------------


def test_psi_hand_computed() -> None:
    # shares e = (0.5, 0.5), a = (0.25, 0.75):
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert stats.psi([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.27465, abs=1e-5)


def test_psi_floor_keeps_an_empty_bin_finite() -> None:
    value = stats.psi([100, 0], [90, 10])
    # 0.1 of the window against the 1e-4 floor: (0.1 - 1e-4) ln(0.1 / 1e-4) dominates.
    expected = (0.9 - 1.0) * math.log(0.9) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert value == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(value)


@given(counts_lists)
@settings(max_examples=60, deadline=None)
def test_psi_of_a_distribution_with_itself_is_zero(counts: list[int]) -> None:
    assert stats.psi(counts, counts) == pytest.approx(0.0, abs=1e-15)
    assert stats.js_distance(counts, counts) == pytest.approx(0.0, abs=1e-7)


@given(counts_lists, counts_lists)
@settings(max_examples=60, deadline=None)
def test_psi_and_js_are_symmetric_and_non_negative(a: list[int], b: list[int]) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if sum(a) == 0 or sum(b) == 0:
        return
    assert stats.psi(a, b) == pytest.approx(stats.psi(b, a), rel=1e-12, abs=1e-15)
    assert stats.psi(a, b) >= 0
    assert 0 <= stats.js_distance(a, b) <= 1


def test_psi_samples_bins_on_reference_quantiles() -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=5000), rng.normal(0.3, 1.0, size=4000)
    edges = quantile_edges(np.sort(ref), 10)
    rc = np.bincount(bin_index(edges, ref), minlength=edges.size - 1)
    cc = np.bincount(bin_index(edges, cur), minlength=edges.size - 1)
    assert stats.psi_samples(ref, cur) == pytest.approx(stats.psi(rc, cc))


# --- Jensen-Shannon -------------------------------------------------------------------


def test_js_matches_scipy_base_2() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.integers(0, 50, size=(2, 7))
        p[0] += 1
        q[1] += 1
        expected = jensenshannon(p / p.sum(), q / q.sum(), base=2)
        assert stats.js_distance(p, q) == pytest.approx(expected, abs=1e-12)


def test_js_hand_computed_and_bounds() -> None:
    # p = (1, 0), q = (0.5, 0.5): m = (0.75, 0.25)
    div = 0.5 * math.log2(1 / 0.75) + 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2))
    assert stats.js_distance([4, 0], [2, 2]) == pytest.approx(math.sqrt(div), rel=1e-12)
    assert stats.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)


def test_js_samples_categorical_counts_unseen_values() -> None:
    value = stats.js_distance_samples(["a", "b", "a"], ["a", "c", "c"], categorical=True)
    assert value == pytest.approx(jensenshannon([2 / 3, 1 / 3, 0], [1 / 3, 0, 2 / 3], base=2))


# --- Wasserstein ----------------------------------------------------------------------


def test_normed_wasserstein_samples_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(5, 2, 3000), rng.normal(5.5, 2, 2000)
    expected = sps.wasserstein_distance(ref, cur) / np.std(ref)
    assert stats.normed_wasserstein_samples(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_normed_wasserstein_of_a_constant_reference_is_absolute() -> None:
    assert stats.normed_wasserstein_samples([2.0] * 10, [3.0] * 5) == pytest.approx(1.0)


def test_binned_wasserstein_is_exact_for_piecewise_uniform_data() -> None:
    # Two bins [0, 1) and [1, 3]; reference mass (0.5, 0.5), window (0.25, 0.75).
    # CDF gaps at the edges: 0, -0.25, 0: |gap| is a triangle on each bin.
    value = stats.normed_wasserstein_binned([2, 2], [1, 3], [0.0, 1.0, 3.0], scale=1.0)
    assert value == pytest.approx(0.5 * 1.0 * 0.25 + 0.5 * 2.0 * 0.25)


def test_binned_wasserstein_of_a_flag_is_the_share_difference() -> None:
    edges = quantile_edges(np.sort(np.array([0.0] * 70 + [1.0] * 30)), 10)
    rc = np.bincount(bin_index(edges, [0.0] * 70 + [1.0] * 30), minlength=edges.size - 1)
    cc = np.bincount(bin_index(edges, [0.0] * 50 + [1.0] * 50), minlength=edges.size - 1)
    value = stats.normed_wasserstein_binned(rc, cc, edges, scale=1.0)
    assert value == pytest.approx(0.2, rel=1e-9)


def test_binned_wasserstein_tracks_the_sample_value_on_fine_bins() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=20000), rng.normal(0.3, 1.0, size=20000)
    edges = quantile_edges(np.sort(ref), 100)
    rc = np.bincount(bin_index(edges, ref), minlength=edges.size - 1)
    cc = np.bincount(bin_index(edges, cur), minlength=edges.size - 1)
    binned = stats.normed_wasserstein_binned(rc, cc, edges, scale=float(np.std(ref)))
    assert binned == pytest.approx(stats.normed_wasserstein_samples(ref, cur), rel=0.1)


def test_binned_wasserstein_rejects_bad_scale_and_edges() -> None:
    with pytest.raises(ValueError, match="scale"):
        stats.normed_wasserstein_binned([1, 1], [1, 1], [0, 1, 2], scale=0.0)
    with pytest.raises(ValueError, match="edges"):
        stats.normed_wasserstein_binned([1, 1], [1, 1], [0, 1], scale=1.0)


# --- Kolmogorov-Smirnov ---------------------------------------------------------------


def test_ks_samples_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=400), rng.normal(0.2, 1, size=300)
    res = stats.ks_samples(ref, cur)
    expected = sps.ks_2samp(ref, cur)
    assert res.statistic == pytest.approx(expected.statistic)
    assert res.p_value == pytest.approx(expected.pvalue)


def test_ks_binned_equals_scipy_when_each_value_has_its_own_bin() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 8, 300), rng.integers(0, 9, 500)
    res = stats.ks_binned(np.bincount(a, minlength=9), np.bincount(b, minlength=9))
    expected = sps.ks_2samp(a, b, method="asymp")
    assert res.statistic == pytest.approx(expected.statistic)
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_ks_binned_is_conservative_on_coarse_bins() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=2000), rng.normal(0.15, 1, size=2000)
    edges = quantile_edges(np.sort(ref), 10)
    rc = np.bincount(bin_index(edges, ref), minlength=edges.size - 1)
    cc = np.bincount(bin_index(edges, cur), minlength=edges.size - 1)
    exact = sps.ks_2samp(ref, cur, method="asymp")
    binned = stats.ks_binned(rc, cc)
    assert binned.statistic <= exact.statistic + 1e-12
    assert binned.p_value >= exact.pvalue


# --- chi-square and z -----------------------------------------------------------------


def test_chi_square_matches_scipy_contingency() -> None:
    ref, cur = [30, 50, 20], [40, 35, 25]
    res = stats.chi_square(ref, cur)
    expected = sps.chi2_contingency(np.array([ref, cur]), correction=False)
    assert res.statistic == pytest.approx(expected.statistic)
    assert res.p_value == pytest.approx(expected.pvalue)


def test_chi_square_drops_cells_empty_on_both_sides() -> None:
    assert stats.chi_square([30, 0, 20], [40, 0, 25]) == stats.chi_square([30, 20], [40, 25])
    one = stats.chi_square([5, 0], [7, 0])
    assert (one.statistic, one.p_value) == (0.0, 1.0)


def test_chi_square_samples_with_an_unseen_category() -> None:
    res = stats.chi_square_samples(["a"] * 50 + ["b"] * 50, ["a"] * 40 + ["b"] * 40 + ["c"] * 20)
    expected = sps.chi2_contingency(np.array([[50, 50, 0], [40, 40, 20]]), correction=False)
    assert res.p_value == pytest.approx(expected.pvalue)


def test_z_test_hand_computed() -> None:
    # p_ref = 0.5 of 100, p_cur = 0.6 of 100, pooled 0.55.
    z = 0.1 / math.sqrt(0.55 * 0.45 * (2 / 100))
    res = stats.z_proportions([50, 50], [60, 40])
    assert res.statistic == pytest.approx(z)
    assert res.p_value == pytest.approx(2 * sps.norm.sf(z))
    # The square of z is the 2x2 chi-square.
    assert res.statistic**2 == pytest.approx(stats.chi_square([50, 50], [60, 40]).statistic)


def test_z_test_degenerate_and_wrong_width() -> None:
    res = stats.z_proportions([10, 0], [20, 0])
    assert (res.statistic, res.p_value) == (0.0, 1.0)
    with pytest.raises(ValueError, match="two categories"):
        stats.z_proportions([1, 2, 3], [1, 2, 3])
    assert stats.z_proportions_samples([True, True], [True]).p_value == 1.0


def test_total_variation() -> None:
    assert stats.total_variation([50, 50], [25, 75]) == pytest.approx(0.25)


# --- edge cases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.psi([0, 0], [1, 2]),
        lambda: stats.js_distance([1, 2], [0, 0]),
        lambda: stats.ks_binned([0, 0], [0, 0]),
        lambda: stats.ks_samples([], [1.0]),
        lambda: stats.ks_samples([np.nan, np.nan], [1.0]),
        lambda: stats.normed_wasserstein_samples([1.0], [np.inf, np.nan]),
        lambda: stats.chi_square_samples([None, float("nan")], ["a"]),
        lambda: stats.psi_samples([], []),
    ],
)
def test_empty_or_all_missing_raises_not_enough_data(call: object) -> None:
    assert callable(call)
    with pytest.raises(NotEnoughData) as info:
        call()
    assert isinstance(info.value, MonitorError)


def test_mismatched_bins_and_bad_counts_raise_value_error() -> None:
    with pytest.raises(ValueError, match="not the same bins"):
        stats.psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=">= 0"):
        stats.psi([1, -2], [1, 2])


def test_batch_rows_equal_single_calls() -> None:
    ref = np.array([10.0, 20, 30, 40])
    draws = np.array([[12.0, 18, 31, 39], [5, 25, 30, 40], [10, 20, 30, 40]])
    edges = np.array([0.0, 1, 2, 4, 8])
    for i, row in enumerate(draws):
        assert stats.psi_batch(ref, draws)[i] == pytest.approx(stats.psi(ref, row))
        assert stats.js_distance_batch(ref, draws)[i] == pytest.approx(stats.js_distance(ref, row))
        w = stats.normed_wasserstein_binned(ref, row, edges, scale=1.0)
        assert stats.wasserstein_binned_batch(ref, draws, edges)[i] == pytest.approx(w)
        assert stats.ks_binned_batch(ref, draws)[i] == pytest.approx(
            stats.ks_binned(ref, row).statistic
        )


def test_quality_numeric_counts_missing_and_out_of_range() -> None:
    q = stats.quality_numeric([1.0, np.nan, 5.0, np.inf, -3.0, 2.0], low=0.0, high=4.0)
    assert (q.rows, q.missing, q.out_of_range) == (6, 1, 3)
    assert q.missing_rate == pytest.approx(1 / 6)
    assert q.out_of_range_rate == pytest.approx(3 / 5)
    assert q.unseen_rate is None


def test_quality_categorical_counts_unseen() -> None:
    q = stats.quality_categorical(["a", None, "z", "b", float("nan")], known={"a", "b"})
    assert (q.rows, q.missing, q.unseen) == (5, 2, 1)
    assert q.unseen_rate == pytest.approx(1 / 3)
    assert stats.quality_categorical([None], known={"a"}).unseen_rate is None
