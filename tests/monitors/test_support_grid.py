"""Numeric features with few distinct values: the support grid (monitors.binning), the
exact Wasserstein distance offline (monitors.policy), the live path on the same grid
(monitors.check), and by seeded simulation their false alarms and detection.

Quantile bins of a discrete feature merge values, so a shift inside a merged bin was
invisible: digits' pixel_5_2 (17 values) shifted by 0.1 sd read a normed Wasserstein of
about 0.06 instead of 0.1, and 0.3 sd was DRIFT in 40% of 10k-row windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn.datasets import load_digits

from monitors import stats
from monitors.binning import (
    MAX_GRID_CELLS,
    MAX_SUPPORT_VALUES,
    atom_cells,
    bin_index,
    quantile_edges,
    reference_edges,
    support_atoms,
    support_edges,
)
from monitors.check import check_frames, evaluate_window, frame_inputs
from monitors.profile import compute_profile

# pixel_5_2 of scikit-learn's digits: counts of the values 0..16 in its 1797 rows.
PIXEL_COUNTS = np.array(
    [642, 58, 51, 56, 52, 39, 38, 34, 51, 35, 50, 49, 86, 85, 76, 114, 281], dtype=float
)
PIXEL_P = PIXEL_COUNTS / PIXEL_COUNTS.sum()
PIXEL_SD = float(np.sqrt(PIXEL_P @ np.arange(17.0) ** 2 - (PIXEL_P @ np.arange(17.0)) ** 2))


def pixels(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(17, size=n, p=PIXEL_P).astype(np.float64)


def _counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.bincount(bin_index(edges, values), minlength=edges.size - 1).astype(float)


# --- the grid -------------------------------------------------------------------------


def test_grid_puts_each_value_in_its_own_cell_and_cuts_the_gaps() -> None:
    x = np.sort(np.array([0.0] * 5 + [1.0] * 3 + [3.0] * 4))
    edges = support_edges(x)
    assert edges is not None
    atoms = atom_cells(edges)
    assert edges[:-1][atoms].tolist() == [0.0, 1.0, 3.0]
    # 3 atoms; 4 cells in each of the 2 gaps and of the 2 outer stretches.
    assert edges.size - 1 == 3 + 4 * 4
    assert (edges[0], edges[-1]) == (-1.0, 5.0)  # one neighbouring gap beyond the range
    counts = _counts(edges, x)
    assert counts[atoms].tolist() == [5.0, 3.0, 4.0] and counts[~atoms].sum() == 0
    # The gap (1, 3) is cut at 1.5, 2 and 2.5: a value's place in it is kept.
    assert [1.5, 2.0, 2.5] == [e for e in edges.tolist() if 1.0 < e < 3.0][1:]
    assert support_atoms(edges, counts) is not None


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.random.default_rng(0).normal(size=500), "continuous: every value once"),
        (np.repeat(np.arange(MAX_SUPPORT_VALUES + 1.0), 20), "too many values"),
        (np.array([0.0] * 900 + [1.0, 2.0, 3.0]), "singletons: 3 of 903 > 0.1%"),
        (np.array([7.0] * 10), "constant"),
    ],
)
def test_grid_is_refused_unless_the_reference_is_visibly_discrete(
    values: np.ndarray, why: str
) -> None:
    x = np.sort(values)
    assert support_edges(x) is None, why
    assert reference_edges(x, 10).tolist() == quantile_edges(x, 10).tolist()


def test_grid_is_kept_for_values_seen_once_in_a_large_reference() -> None:
    x = np.sort(np.array([0.0] * 5000 + [1.0] * 3000 + [2.0]))  # 1 singleton in 8001
    edges = reference_edges(x, 10)
    assert int(atom_cells(edges).sum()) == 3
    assert reference_edges(x, 10, all_finite=False).tolist() == quantile_edges(x, 10).tolist()


def test_many_values_cut_gaps_coarser_and_stay_under_the_cell_cap() -> None:
    edges = support_edges(np.repeat(np.arange(float(MAX_SUPPORT_VALUES)), 3))
    assert edges is not None
    assert int(atom_cells(edges).sum()) == MAX_SUPPORT_VALUES
    assert edges.size - 1 <= MAX_GRID_CELLS


def test_quantile_bins_are_not_taken_for_a_grid() -> None:
    flag = np.sort(np.array([0.0] * 70 + [1.0] * 30))
    edges = quantile_edges(flag, 10)  # [0, 0+, 1, 1+]: the first cell is an atom
    assert support_atoms(edges, _counts(edges, flag)) is None
    normal = np.sort(np.random.default_rng(1).normal(size=1000))
    edges = quantile_edges(normal, 10)
    assert support_atoms(edges, _counts(edges, normal)) is None
    grid = support_edges(np.sort(pixels(2000, np.random.default_rng(2))))
    assert grid is not None
    # Reference mass outside the atoms: not a grid (unseen values could not be told).
    assert support_atoms(grid, np.ones(grid.size - 1)) is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=12, unique=True),
    st.integers(0, 2**32 - 1),
)
def test_binned_wasserstein_on_the_grid_is_exact_for_windows_on_the_support(
    support: list[float], seed: int
) -> None:
    """The basis of the calibration: on the reference's values, the grid's binned
    distance (what the bootstrap simulates) equals the exact distance of raw values."""
    rng = np.random.default_rng(seed)
    values = np.array(sorted(support))
    ref = np.sort(np.repeat(values, rng.integers(2, 30, values.size)))
    cur = np.sort(rng.choice(values, size=200))
    edges = support_edges(ref)
    if edges is None:  # neighbours closer than two floats
        return
    binned = stats.wasserstein_binned_batch(_counts(edges, ref), _counts(edges, cur), edges)[0]
    exact = stats.wasserstein_sorted(ref, cur)
    assert binned == pytest.approx(exact, rel=1e-9, abs=1e-9 * (values[-1] - values[0]))


def test_exact_wasserstein_of_sorted_samples_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    cases = [
        (rng.normal(size=700), rng.normal(0.2, 1.3, size=300)),
        (pixels(1797, rng), pixels(5000, rng) + 0.654),
        (np.array([1.0]), np.array([4.0, 5.0])),
    ]
    for a, b in cases:
        got = stats.wasserstein_sorted(np.sort(a), np.sort(b))
        assert got == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-12)


def test_outer_bin_is_capped_by_its_nearest_inner_bin_that_is_not_an_atom() -> None:
    # Quantile-like edges [0, 10, 10+, 12, ...]: an atom at 10 next to the outer bin.
    # Capping the outer bin by the atom's width (one float) would make mass below 10
    # count as not having moved at all; the 2-wide bin is its neighbour instead.
    edges = np.array([0.0, 10.0, np.nextafter(10.0, np.inf), 12.0, 14.0])
    value = stats.normed_wasserstein_binned([1, 1, 1, 1], [0, 2, 1, 1], edges, scale=1.0)
    assert value == pytest.approx(0.25 * 2.0 / 2)  # a quarter moved across a 2-wide bin


# --- check_frames and the live window ---------------------------------------------------


def _frame(n: int, rng: np.random.Generator, shift_sd: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pixel": pixels(n, rng) + shift_sd * PIXEL_SD,
            "visits": rng.poisson(3, n).astype(np.int64),
            "level": rng.integers(0, 4, n),
            "score": rng.normal(size=n),
        }
    )


def _sketch(profile: Any, window: pd.DataFrame) -> dict[str, Any]:
    from router.telemetry import InputSketcher

    names = [f.name for f in profile.features]
    sketcher = InputSketcher.from_profile(profile, names)
    sketcher.observe_rows(window[names])
    return sketcher.to_dict()


def test_a_discrete_shift_reads_its_size_offline_and_live() -> None:
    rng = np.random.default_rng(4)
    ref, cur = _frame(20_000, rng), _frame(10_000, rng, shift_sd=0.1)
    offline = check_frames(ref, cur).feature("pixel")
    assert offline.method == "wasserstein"
    assert "exact Wasserstein on the raw values (support grid)" in offline.notes
    exact = stats.normed_wasserstein_samples(ref["pixel"], cur["pixel"])
    assert offline.effect == pytest.approx(exact, rel=1e-9)
    assert offline.effect == pytest.approx(0.1, abs=0.03)  # both sides are samples
    # What 10 quantile bins read for the same data: about 0.06.
    edges = quantile_edges(np.sort(ref["pixel"].to_numpy(dtype=float)), 10)
    quantile = stats.normed_wasserstein_binned(
        _counts(edges, ref["pixel"].to_numpy()),
        _counts(edges, cur["pixel"].to_numpy()),
        edges,
        scale=float(np.std(ref["pixel"])),
    )
    assert offline.effect is not None and quantile < 0.7 * offline.effect
    assert offline.band == "DRIFT"
    # Every value left the reference's support; those at 16 also left its range.
    assert offline.quality.unseen_rate == 1.0
    assert offline.quality.out_of_range_rate == pytest.approx(float(np.mean(cur["pixel"] > 16)))
    assert offline.quality.band == "DRIFT"

    profile = compute_profile(ref)
    live = evaluate_window(profile, _sketch(profile, cur)).feature("pixel")
    # Live values in a gap are placed within a quarter of it: 0.654 reads as 0.625.
    assert live.effect == pytest.approx(offline.effect, rel=0.1)
    assert live.band == "DRIFT"
    assert live.quality.unseen_rate == offline.quality.unseen_rate
    assert live.quality.out_of_range_rate == offline.quality.out_of_range_rate


def test_live_and_offline_agree_exactly_on_the_support() -> None:
    rng = np.random.default_rng(5)
    ref = _frame(20_000, rng)
    cur = _frame(10_000, rng)
    cur["visits"] = cur["visits"].clip(upper=int(ref["visits"].max()))
    profile = compute_profile(ref)
    offline = check_frames(ref, cur)
    live = evaluate_window(profile, _sketch(profile, cur))
    for name in ("pixel", "visits", "level", "score"):
        a, b = offline.feature(name), live.feature(name)
        assert a.statistic == pytest.approx(b.statistic, rel=1e-9, abs=1e-12), name
        assert a.drift_threshold == pytest.approx(b.drift_threshold, rel=1e-12), name
        assert a.quality.unseen_rate == b.quality.unseen_rate, name
    assert offline.feature("score").quality.unseen_rate is None  # quantile bins


def test_profile_and_offline_check_use_the_same_grid() -> None:
    rng = np.random.default_rng(6)
    ref = _frame(5000, rng)
    profile = compute_profile(ref)
    inputs = {f.name: f for f in frame_inputs(ref, ref)}
    for fp in profile.features:
        assert fp.bins is not None
        assert fp.bins.edges == inputs[fp.name].edges.tolist()  # type: ignore[union-attr]
        grid = support_atoms(fp.bins.edges, fp.bins.counts) is not None
        assert grid == (fp.name != "score"), fp.name


def test_a_reference_with_infinities_keeps_quantile_bins() -> None:
    ref = pd.DataFrame({"x": [0.0, 1.0, 2.0] * 100 + [np.inf]})
    (f,) = frame_inputs(ref, ref)
    assert f.edges is not None and support_atoms(f.edges, f.reference_counts) is None
    assert f.unseen is None


# --- seeded simulations -----------------------------------------------------------------


def test_undrifted_discrete_windows_do_not_drift() -> None:
    """Seeded: 20 windows of 10k rows from the reference distribution of three discrete
    features and a normal one (20k-row reference). Tolerance: no window DRIFT, no
    feature WARN or worse, no quality issue (the policy's nominal DRIFT rate is 0.1%
    per window, WARN 1%)."""
    rng = np.random.default_rng(7)
    ref = _frame(20_000, rng)
    for _ in range(20):
        result = check_frames(ref, _frame(10_000, rng))
        assert result.verdict == "OK", (result.drifted, result.warned)


def test_digits_windows_flag_a_discrete_shift() -> None:
    """Seeded: 10k-row windows resampled from scikit-learn's digits (1797 rows, the
    reference), pixel_5_2 shifted by 0.3 sd and by 0.1 sd, 10 windows each.

    Tolerance: 0.3 sd is DRIFT in 10 of 10 windows (it was 4 of 10 on quantile bins);
    0.1 sd reads a normed W of 0.1 +- 0.01 on average (quantile bins read about 0.06)
    and is WARN or DRIFT in at least 7 of 10 (about 85% over more windows: the
    DRIFT threshold, about 0.116, is 4.5 standard errors of a 1797-row reference at the
    per-window false-alarm rate of 0.1% over 64 features). Undrifted: 0 of 5 DRIFT.
    """
    ref = load_digits(as_frame=True).frame.drop(columns=["target"])
    sd = float(ref["pixel_5_2"].std())
    rng = np.random.default_rng(8)

    def window() -> pd.DataFrame:
        return ref.iloc[rng.integers(0, len(ref), 10_000)].reset_index(drop=True)

    for _ in range(5):
        assert check_frames(ref, window()).verdict != "DRIFT"
    big = 0
    for _ in range(10):
        w = window()
        w["pixel_5_2"] += 0.3 * sd
        big += check_frames(ref, w).drifted == ("pixel_5_2",)
    assert big == 10
    small = 0
    effects: list[float] = []
    for _ in range(10):
        w = window()
        w["pixel_5_2"] += 0.1 * sd
        f = check_frames(ref, w).feature("pixel_5_2")
        assert f.effect is not None
        effects.append(f.effect)
        small += f.band in ("WARN", "DRIFT")
    assert np.mean(effects) == pytest.approx(0.1, abs=0.01)
    assert small >= 7
