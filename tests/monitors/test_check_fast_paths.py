"""monitors.check's shortcuts give exactly the answers of the plain computations: the
window is counted without sorting it, a large continuous reference is partitioned
rather than sorted, integer columns are sorted by counting, and categories are counted
by factorizing. (They keep check_frames on 50k x 20 features near 1/100 of Evidently.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import monitors.check as check
from monitors.binning import bin_index, partitioned_quantile_edges, quantile_edges
from monitors.shifts import synthetic

values = hnp.arrays(
    np.float64,
    st.integers(1, 300),
    elements=st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, 2.5]),
)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(1, 20))
def test_partitioned_quantile_edges_are_the_sorted_ones(x: np.ndarray, n_bins: int) -> None:
    assert (
        partitioned_quantile_edges(x, n_bins).tolist()
        == quantile_edges(np.sort(x), n_bins).tolist()
    )


@settings(max_examples=60, deadline=None)
@given(values, values)
def test_unsorted_counts_follow_bin_index(reference: np.ndarray, window: np.ndarray) -> None:
    window = np.concatenate([window, [-np.inf, np.inf]])
    for edges in (quantile_edges(np.sort(reference), 10), quantile_edges(np.sort(reference), 40)):
        expected = np.bincount(bin_index(edges, window), minlength=edges.size - 1)
        assert check._unsorted_counts(window, edges).tolist() == expected.tolist()


@pytest.mark.parametrize(
    "x",
    [
        np.random.default_rng(0).integers(0, 17, 5000).astype(float),
        np.random.default_rng(1).integers(-(2**60), 2**60, 3000).astype(float),
        np.r_[np.random.default_rng(2).integers(0, 5, 3000).astype(float), np.nan, np.inf],
        np.r_[-0.0, np.zeros(2000), np.ones(10)],
        np.random.default_rng(3).normal(size=3000),
    ],
)
def test_counting_sort_is_a_sort(x: np.ndarray) -> None:
    np.testing.assert_array_equal(check._sorted(x), np.sort(x))


def test_partitioned_reference_gives_the_sorted_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    ref, cur = synthetic(12_000, rng), synthetic(6000, rng)
    ref.loc[rng.random(len(ref)) < 0.01, "norm1"] = np.inf
    cur.loc[rng.random(len(cur)) < 0.01, "norm2"] = -np.inf
    cur["norm0"] += 0.3
    fast = check.check_frames(ref, cur)
    monkeypatch.setattr(check, "_PARTITION_ROWS", 10**12)
    plain = check.check_frames(ref, cur)
    assert fast.verdict == plain.verdict and fast.drifted == plain.drifted
    for a, b in zip(fast.features, plain.features, strict=True):
        assert (a.name, a.method, a.band, a.quality) == (b.name, b.method, b.band, b.quality)
        assert a.effect == pytest.approx(b.effect, rel=1e-9)
        assert a.drift_threshold == pytest.approx(b.drift_threshold, rel=1e-9)


def test_category_counts_match_value_counts() -> None:
    cases = [
        pd.Series(["a", "b", None, "a", np.nan, "c"]),
        pd.Series(pd.Categorical(["x", "y", "x", None], categories=["x", "y", "z"])),
        pd.Series([True, False, True]),
        pd.Series([1, "1", 1.0, None], dtype=object),  # one text, "1", three values
        pd.Series([0.0, -0.0, np.nan, 1.5]),
        pd.Series(pd.array(["a", None, "b"], dtype="string")),
        pd.Series([None, None]),
    ]
    for column in cases:
        counts, missing = check._text_counts(column)
        plain = column.value_counts(dropna=True)
        expected: dict[str, int] = {}
        for value, n in plain.items():
            if n:
                expected[str(value)] = expected.get(str(value), 0) + int(n)
        assert counts == expected, column.tolist()
        assert missing == int(column.isna().sum())


def test_columns_counted_on_threads_give_the_serial_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    reference, window = synthetic(15_000, rng), synthetic(15_000, rng)  # over the threshold
    categorical = [c for c in reference.columns if c.startswith("cat")]
    monkeypatch.setattr(check, "_COLUMN_THREADS", 3)
    threaded = check.check_frames(reference, window, categorical=categorical).to_dict()
    monkeypatch.setattr(check, "_COLUMN_THREADS", 1)
    serial = check.check_frames(reference, window, categorical=categorical).to_dict()
    assert threaded == serial
    assert [f["name"] for f in threaded["features"]] == list(reference.columns)
