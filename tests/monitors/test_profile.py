from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monitors import FeatureProfile, ProfileError, bin_index, compute_profile, profile_to_json
from monitors.binning import MAX_GRID_CELLS, MAX_SUPPORT_VALUES, support_atoms

RNG = np.random.default_rng(7)


def _one(column: pd.Series | list[object], **kwargs: object) -> FeatureProfile:
    frame = pd.DataFrame({"c": column})
    return compute_profile(frame, **kwargs).feature("c")  # type: ignore[arg-type]


def _bins(f: FeatureProfile) -> tuple[list[float], list[int]]:
    assert f.bins is not None
    return f.bins.edges, f.bins.counts


# --- kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([1, 2, 3], dtype="int64"),
        pd.Series([1, 2, 3], dtype="uint8"),
        pd.Series([1.5, 2.5, np.nan], dtype="float32"),
        pd.Series([1, None, 3], dtype="Int64"),
    ],
)
def test_integer_and_float_dtypes_are_numeric(values: pd.Series) -> None:
    f = _one(values)
    assert f.kind == "numeric" and f.dtype == str(values.dtype)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([True, False, True]),
        pd.Series(["a", "b", None], dtype=object),
        pd.Series(["a", "b", None], dtype="string"),
        pd.Series(["a", "b", "a"], dtype="category"),
        pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", None])),
        pd.Series([1, "x", 2.5], dtype=object),
    ],
)
def test_everything_else_is_categorical(values: pd.Series) -> None:
    f = _one(values)
    assert f.kind == "categorical" and f.bins is None and f.categories is not None


def test_categorical_argument_overrides_numeric_dtype() -> None:
    frame = pd.DataFrame({"zip": [10115, 10115, 80331], "x": [1.0, 2.0, 3.0]})
    p = compute_profile(frame, categorical=["zip"])
    assert p.feature("zip").kind == "categorical"
    assert [c.value for c in p.feature("zip").categories or []] == ["10115", "80331"]
    assert p.feature("x").kind == "numeric"


# --- missing values ----------------------------------------------------------------------


def test_missing_values_are_counted_and_excluded_from_stats() -> None:
    f = _one([1.0, np.nan, 3.0, None, 5.0])
    assert (f.count, f.missing) == (3, 2)
    assert (f.min, f.max, f.mean) == (1.0, 5.0, 3.0)
    assert sum(_bins(f)[1]) == 3


def test_categorical_missing_covers_none_nan_and_na() -> None:
    f = _one(pd.Series(["a", None, np.nan, pd.NA, "a"], dtype=object))
    assert (f.count, f.missing, f.n_unique) == (2, 3, 1)
    assert [(c.value, c.count) for c in f.categories or []] == [("a", 2)]


def test_all_missing_numeric_column_has_zero_counts_and_no_stats() -> None:
    f = _one([np.nan, np.nan, np.nan])
    assert (f.kind, f.count, f.missing, f.n_unique) == ("numeric", 0, 3, 0)
    assert f.min is None and f.mean is None and f.quantiles is None and f.bins is None


def test_all_missing_categorical_column() -> None:
    f = _one(pd.Series([None, None], dtype=object))
    assert (f.count, f.missing, f.categories, f.other_count) == (0, 2, [], 0)


def test_infinities_count_as_present_and_land_in_outer_bins() -> None:
    f = _one([-np.inf, 1.0, 2.0, 3.0, np.inf, np.inf])
    edges, counts = _bins(f)
    assert (f.count, f.infinite, f.min, f.max) == (6, 3, 1.0, 3.0)
    assert sum(counts) == 6
    assert counts[0] >= 2 and counts[-1] >= 3
    assert edges[0] == 1.0


# --- numeric statistics and bins -------------------------------------------------------


def test_numeric_statistics_match_numpy() -> None:
    x = RNG.normal(10.0, 2.0, size=5000)
    f = _one(x)
    assert f.mean == pytest.approx(np.mean(x)) and f.std == pytest.approx(np.std(x))
    assert f.quantiles is not None
    assert f.quantiles.p05 == pytest.approx(np.quantile(x, 0.05))
    assert f.quantiles.p99 == pytest.approx(np.quantile(x, 0.99))
    assert f.n_unique == 5000


def test_quantile_edges_strictly_increasing_at_reference_quantiles() -> None:
    x = RNG.exponential(size=10_000)
    f = _one(x, n_bins=8)
    edges, counts = _bins(f)
    assert len(edges) == 9 and len(counts) == 8
    assert all(b > a for a, b in zip(edges, edges[1:], strict=False))
    np.testing.assert_allclose(edges, np.quantile(x, np.linspace(0, 1, 9)))
    # Equal-mass bins, up to the one value sitting on each edge.
    assert max(counts) - min(counts) <= 2


def test_bin_counts_sum_to_the_non_missing_count() -> None:
    x = RNG.integers(0, 5, size=1000).astype(float)
    x[::3] = np.nan
    f = _one(x)
    assert sum(_bins(f)[1]) == f.count == 1000 - 334


def test_bin_counts_agree_with_bin_index() -> None:
    x = RNG.gamma(2.0, size=3000)
    edges, counts = _bins(_one(x))
    expected = np.bincount(bin_index(edges, x), minlength=len(edges) - 1)
    assert counts == expected.tolist()


def test_repeated_values_collapse_edges() -> None:
    f = _one([0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 5.0])
    edges, counts = _bins(f)
    assert len(edges) < 11
    assert counts[0] == 95


def test_constant_column_has_one_bin() -> None:
    f = _one([7] * 10)
    assert _bins(f) == ([7.0, float(np.nextafter(7.0, np.inf))], [10])
    assert (f.min, f.max, f.std, f.n_unique) == (7.0, 7.0, 0.0, 1)


def test_binary_numeric_column_keeps_two_populated_bins() -> None:
    # Two values: a support grid, each value alone in its atom cell [v, nextafter(v)),
    # the gap and one gap's width below and above cut into 4 cells each.
    edges, counts = _bins(_one([0, 1] * 50))
    assert counts == [0] * 4 + [50] + [0] * 4 + [50] + [0] * 4
    assert edges[4:6] == [0.0, float(np.nextafter(0.0, np.inf))]
    assert edges[9:11] == [1.0, float(np.nextafter(1.0, np.inf))]
    assert (edges[0], edges[-1]) == (-1.0, 2.0)


def test_huge_values_stay_finite() -> None:
    big = float(np.finfo(np.float64).max)
    f = _one([-big, big, big / 2])
    assert f.mean is not None and f.std is not None
    assert np.isfinite(f.mean) and np.isfinite(f.std)
    profile_to_json(compute_profile(pd.DataFrame({"c": [-big, big]})))


# --- categorical -------------------------------------------------------------------------


def test_top_k_categories_and_other_count() -> None:
    values = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"]
    f = _one(values, top_k=3)
    assert [(c.value, c.count) for c in f.categories or []] == [("a", 5), ("b", 4), ("c", 3)]
    assert (f.other_count, f.n_unique) == (3, 5)


def test_ties_are_broken_by_value_for_a_deterministic_cut() -> None:
    f = _one(["z", "y", "x", "w"], top_k=2)
    assert [c.value for c in f.categories or []] == ["w", "x"]


def test_category_values_are_strings_and_merge_equal_texts() -> None:
    f = _one(pd.Series([1, "1", True, 2.5], dtype=object))
    assert [(c.value, c.count) for c in f.categories or []] == [
        ("1", 2),
        ("2.5", 1),
        ("True", 1),
    ]


def test_unobserved_category_levels_are_not_listed() -> None:
    values = pd.Series(pd.Categorical(["a", "a"], categories=["a", "b"]))
    f = _one(values)
    assert [c.value for c in f.categories or []] == ["a"] and f.n_unique == 1


def test_unhashable_values_are_profiled_by_text() -> None:
    f = _one(pd.Series([[1], [1], {"k": 2}], dtype=object))
    assert [(c.value, c.count) for c in f.categories or []] == [("[1]", 2), ("{'k': 2}", 1)]


# --- sample ------------------------------------------------------------------------------


def test_sample_is_bounded_uniform_and_in_source_order() -> None:
    frame = pd.DataFrame({"i": np.arange(10_000)})
    p = compute_profile(frame, sample_size=100)
    picked = [int(row[0] or 0) for row in p.sample.rows]
    assert len(picked) == 100 and len(set(picked)) == 100 and picked == sorted(picked)
    assert p.sample.columns == ["i"]


def test_sample_never_exceeds_the_rows() -> None:
    assert len(compute_profile(pd.DataFrame({"i": [1, 2, 3]})).sample.rows) == 3
    assert compute_profile(pd.DataFrame({"i": [1, 2]}), sample_size=0).sample.rows == []


def test_sample_is_deterministic_in_the_seed() -> None:
    frame = pd.DataFrame({"i": np.arange(5000)})
    a = compute_profile(frame, sample_size=20, seed=1).sample
    b = compute_profile(frame, sample_size=20, seed=1).sample
    c = compute_profile(frame, sample_size=20, seed=2).sample
    assert a == b and a != c


def test_sample_values_are_json_safe_python_scalars() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf],
            "i": np.array([1, 2, 3], dtype=np.int32),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "b": [True, False, True],
            "s": ["x", None, "z"],
            "t": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
        }
    )
    rows = compute_profile(frame).sample.rows
    assert rows[0] == [1.5, 1, 1, True, "x", "2024-01-01 00:00:00"]
    assert rows[1] == [None, 2, None, False, None, None]
    assert rows[2][0] is None  # inf has no strict-JSON form
    assert all(type(v) in (float, int, bool, str, type(None)) for row in rows for v in row)


# --- argument errors ---------------------------------------------------------------------


def test_empty_frame_raises() -> None:
    with pytest.raises(ProfileError, match="no rows"):
        compute_profile(pd.DataFrame({"x": pd.Series([], dtype=float)}))


def test_frame_without_columns_raises() -> None:
    with pytest.raises(ProfileError, match="no columns"):
        compute_profile(pd.DataFrame(index=range(3)))


def test_duplicate_column_names_raise() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ProfileError, match="repeated: a"):
        compute_profile(frame)


def test_unknown_categorical_names_raise() -> None:
    with pytest.raises(ProfileError, match="unknown columns: nope"):
        compute_profile(pd.DataFrame({"x": [1]}), categorical=["nope"])


def test_categorical_as_a_bare_string_raises() -> None:
    with pytest.raises(ProfileError, match="not a string"):
        compute_profile(pd.DataFrame({"x": [1]}), categorical="x")


@pytest.mark.parametrize("kwargs", [{"n_bins": 0}, {"top_k": -1}, {"sample_size": -1}])
def test_out_of_range_arguments_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(ProfileError):
        compute_profile(pd.DataFrame({"x": [1.0]}), **kwargs)  # type: ignore[arg-type]


def test_not_a_dataframe_raises() -> None:
    with pytest.raises(ProfileError, match="DataFrame"):
        compute_profile([1, 2, 3])  # pandas is untyped here, so mypy lets a list through


# --- properties --------------------------------------------------------------------------

floats_with_gaps = hnp.arrays(
    np.float64,
    st.integers(1, 200),
    elements=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 1.0]),
)


@given(floats_with_gaps, st.integers(1, 16))
def test_bin_counts_always_sum_to_non_missing_count(x: np.ndarray, n_bins: int) -> None:
    f = _one(x, n_bins=n_bins, sample_size=5)
    non_missing = int(np.count_nonzero(~np.isnan(x)))
    assert f.count == non_missing and f.missing == x.size - non_missing
    if f.bins is None:
        assert f.infinite == f.count  # no finite value to place edges on
    else:
        assert sum(f.bins.counts) == non_missing
        if support_atoms(f.bins.edges, f.bins.counts) is None:
            assert len(f.bins.counts) <= n_bins
        else:  # a support grid: one atom cell per value, gaps and outside cut finer
            atoms = support_atoms(f.bins.edges, f.bins.counts)
            assert atoms is not None and int(atoms.sum()) == f.n_unique <= MAX_SUPPORT_VALUES
            assert len(f.bins.counts) <= MAX_GRID_CELLS


@settings(max_examples=50)
@given(floats_with_gaps, st.integers(0, 2**32 - 1))
def test_same_data_and_seed_give_the_same_profile(x: np.ndarray, seed: int) -> None:
    frame = pd.DataFrame({"x": x, "c": (x > 0).astype(str)})
    a = compute_profile(frame, seed=seed, sample_size=10)
    b = compute_profile(frame.copy(), seed=seed, sample_size=10)
    assert profile_to_json(a) == profile_to_json(b)


# --- performance -------------------------------------------------------------------------


def test_half_a_million_rows_by_thirty_columns_is_fast() -> None:
    n = 500_000
    rng = np.random.default_rng(0)
    columns: dict[str, object] = {f"x{i}": rng.normal(size=n) for i in range(24)}
    levels = np.array([f"level-{i}" for i in range(100)], dtype=object)
    columns.update({f"c{i}": levels[rng.integers(0, 100, size=n)] for i in range(6)})
    frame = pd.DataFrame(columns)
    start = time.perf_counter()
    compute_profile(frame)
    # About 0.5 s on a 2-core CI box; the bound only catches a fall back to row loops.
    assert time.perf_counter() - start < 10.0
