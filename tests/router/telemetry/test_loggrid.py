from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.telemetry import SymLogGrid
from router.telemetry.outputs import OUTPUT_GRID
from router.telemetry.sketch_schema import RAW_GRID

GRIDS = [RAW_GRID, OUTPUT_GRID, SymLogGrid(per_decade=3, decades=2)]


@pytest.mark.parametrize("grid", GRIDS)
def test_edges_are_fixed_decimal_and_increasing(grid: SymLogGrid) -> None:
    assert grid.edges[0] == 0.0
    assert all(a < b for a, b in zip(grid.edges, grid.edges[1:], strict=False))
    assert all(float(f"{e:.6g}") == e for e in grid.edges)
    assert grid == SymLogGrid(grid.per_decade, grid.decades)


@given(st.sampled_from(GRIDS), st.floats(allow_nan=False))
def test_scalar_and_vector_bins_agree_and_hold_the_value(grid: SymLogGrid, x: float) -> None:
    k = grid.bin(x)
    assert int(grid.bins(np.array([x]))[0]) == k
    assert -grid.top - 1 <= k <= grid.top
    lo, hi = grid.bounds(k)
    if x >= 0:
        assert lo <= x < hi or (k == grid.top and x >= lo)
    else:
        assert lo < x <= hi or (k == -grid.top - 1 and x <= hi)


def test_bins_are_mirrored_around_zero() -> None:
    for x in (0.0, 0.3, 7.0, 1e9, math.inf):
        assert RAW_GRID.bin(-x if x else -1e-300) == -1 - RAW_GRID.bin(x if x else 1e-300)


def test_bounds_refuse_ids_off_the_grid() -> None:
    with pytest.raises(ValueError):
        RAW_GRID.bounds(RAW_GRID.top + 1)
