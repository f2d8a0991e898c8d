"""A fixed, symmetric log-spaced grid of bins for values of unknown range.

Used where no reference says where the data lies (the "raw quantile sketch" of an
input without a profile, and the value histogram of numeric model outputs). Bins are
equal steps of ``t = sign(x) * log10(1 + |x|)``, so they are fine near zero and
relative (a constant ratio of ``1 + |x|``) far from it, on both sides of zero.

Edges ``E[0] = 0 < E[1] < ... < E[K]`` with ``E[k] = 10 ** (k / per_decade) - 1``
rounded to 6 significant digits (decimal text parses to the same float on every
platform, so every process bins alike and sketches merge bin by bin). For ``x >= 0``
bin ``k`` holds ``E[k] <= x < E[k + 1]`` and bin ``K`` holds ``x >= E[K]`` (``+inf``
included); a negative ``x`` goes to the mirror bin ``-1 - k`` of ``|x|``. Bin ids thus
run from ``-K - 1`` to ``K``. NaN has no bin: callers count missing values apart.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import numpy.typing as npt

__all__ = ["SymLogGrid"]


class SymLogGrid:
    """The grid for ``per_decade`` bins per decade of ``1 + |x|`` up to ``10 ** decades``."""

    __slots__ = ("_array", "decades", "edges", "per_decade")

    def __init__(self, per_decade: int, decades: int) -> None:
        if per_decade < 1 or decades < 1:
            raise ValueError("a grid needs per_decade >= 1 and decades >= 1")
        self.per_decade = per_decade
        self.decades = decades
        k_max = per_decade * decades
        self.edges: tuple[float, ...] = tuple(
            float(f"{10.0 ** (k / per_decade) - 1.0:.6g}") for k in range(k_max + 1)
        )
        self._array = np.asarray(self.edges, dtype=np.float64)

    @property
    def top(self) -> int:
        """The largest bin id, ``K``; the smallest is ``-K - 1``."""
        return len(self.edges) - 1

    def bin(self, x: float) -> int:
        """Bin id of one value (not NaN): a bisection over the edges."""
        if x < 0.0:
            return -bisect_right(self.edges, -x)
        return bisect_right(self.edges, x) - 1

    def bins(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Bin ids of many values (none NaN); the same answer as ``bin`` on each."""
        x = np.asarray(values, dtype=np.float64)
        j = np.searchsorted(self._array, np.abs(x), side="right").astype(np.int64) - 1
        return np.where(x < 0.0, -j - 1, j)

    def bounds(self, bin_id: int) -> tuple[float, float]:
        """``(lo, hi)`` of a bin: ``lo <= x < hi`` (mirrored: ``lo < x <= hi``)."""
        top = self.top
        if not -top - 1 <= bin_id <= top:
            raise ValueError(f"bin id {bin_id} is outside the grid [-{top + 1}, {top}]")
        if bin_id < 0:
            lo, hi = self.bounds(-1 - bin_id)
            return -hi, -lo
        hi = self.edges[bin_id + 1] if bin_id < top else float("inf")
        return self.edges[bin_id], hi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SymLogGrid):
            return NotImplemented
        return (self.per_decade, self.decades) == (other.per_decade, other.decades)

    def __hash__(self) -> int:
        return hash((self.per_decade, self.decades))

    def __repr__(self) -> str:
        return f"SymLogGrid(per_decade={self.per_decade}, decades={self.decades})"
