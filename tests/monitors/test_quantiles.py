from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitors.quantiles import sorted_quantiles

PROBS = np.linspace(0.0, 1.0, 21)
finite = st.floats(allow_nan=False, allow_infinity=False)


def test_matches_numpy_linear_quantiles() -> None:
    x = np.sort(np.random.default_rng(3).normal(size=1001))
    np.testing.assert_allclose(sorted_quantiles(x, PROBS), np.quantile(x, PROBS), rtol=1e-12)


def test_single_value() -> None:
    assert sorted_quantiles(np.array([4.0]), [0.0, 0.5, 1.0]).tolist() == [4.0, 4.0, 4.0]


def test_rejects_empty_and_bad_probabilities() -> None:
    with pytest.raises(ValueError):
        sorted_quantiles(np.array([]), [0.5])
    with pytest.raises(ValueError):
        sorted_quantiles(np.array([1.0]), [1.5])


def test_no_overflow_at_float_limits() -> None:
    big = float(np.finfo(np.float64).max)
    q = sorted_quantiles(np.array([-big, big]), PROBS)
    assert np.all(np.isfinite(q))
    assert np.all(q[1:] >= q[:-1])


@given(st.lists(finite, min_size=1, max_size=60))
def test_monotone_in_p_and_within_range(values: list[float]) -> None:
    x = np.sort(np.array(values))
    q = sorted_quantiles(x, PROBS)
    assert np.all(np.isfinite(q))
    assert np.all(q[1:] >= q[:-1])
    assert q[0] == x[0] and q[-1] == x[-1]
