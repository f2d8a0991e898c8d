"""The one binning rule shared by the reference profile, the gateway and the monitors.

Edges ``e[0] < e[1] < ... < e[n]`` define ``n`` bins. Bin ``i`` holds
``e[i] <= v < e[i + 1]``; the last bin is also closed on the right (``v == e[n]``).
Values outside the reference range are clamped: ``v < e[0]`` counts in bin 0 and
``v > e[n]`` (``+inf`` included) in bin ``n - 1``, so a live window always has exactly
the bins of its reference and the distances (PSI, Jensen-Shannon) compare like with
like. Missing values (NaN) are not binned: callers count them apart.

Two layouts of edges exist (``reference_edges`` picks one):

* **quantile bins** (``quantile_edges``): at most ``n_bins`` bins at the reference's
  quantiles; the layout for continuous features;
* **support grid** (``support_edges``): for a numeric feature that takes few distinct
  values (at most ``MAX_SUPPORT_VALUES``, and the values seen only once make up at
  most ``MAX_SINGLETON_SHARE`` of the rows), one *atom* cell ``[v, nextafter(v))``
  per reference value, each gap between two neighbouring values cut into
  ``GAP_CELLS`` equal cells, and as many cells of the same width over one gap's width
  below the minimum and above the maximum. Quantile bins of such a feature merge
  values, so a shift that stays inside a merged bin is invisible; on the grid every
  reference value sits at its exact position, and a value the reference never had
  lands in a cell where the reference has no mass.

``support_atoms`` recognises the grid from the edges and the reference counts alone
(atom cells are one float wide; the reference has no mass outside them), so a stored
profile needs no extra field and old profiles keep their quantile bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from monitors.quantiles import sorted_quantiles

__all__ = [
    "GAP_CELLS",
    "MAX_GRID_CELLS",
    "MAX_SINGLETON_SHARE",
    "MAX_SUPPORT_VALUES",
    "atom_cells",
    "bin_index",
    "partitioned_quantile_edges",
    "quantile_edges",
    "reference_edges",
    "support_atoms",
    "support_edges",
]

# A numeric feature with at most this many distinct reference values is binned on its
# support (one cell per value, and cells between them) rather than on quantiles.
MAX_SUPPORT_VALUES: Final = 50
# ... provided the values seen only once hold at most this share of the reference:
# their share estimates the chance that a new value is one the reference never had
# (Good-Turing), which the grid would read as drift.
MAX_SINGLETON_SHARE: Final = 0.001
# Each gap between two neighbouring values is cut into this many equal cells (fewer when
# the feature has many values), so the grid never has more than MAX_GRID_CELLS cells.
GAP_CELLS: Final = 4
MAX_GRID_CELLS: Final = 128


def bin_index(
    edges: Sequence[float] | npt.NDArray[np.float64], values: npt.ArrayLike
) -> npt.NDArray[np.intp]:
    """Bin number of each value under the rule in this module's docstring.

    ``edges`` must be finite and strictly increasing with at least two entries;
    ``values`` must not contain NaN (raises ``ValueError``: a NaN has no bin, and
    silently putting it in the last one would look like drift). Vectorised:
    ``numpy.searchsorted``, O(len(values) * log(len(edges))).
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2:
        raise ValueError("edges must be a 1-D sequence of at least two numbers")
    if not np.all(np.isfinite(e)) or not np.all(e[1:] > e[:-1]):  # diff() can overflow
        raise ValueError("edges must be finite and strictly increasing")
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError("values contain NaN; count missing values apart, do not bin them")
    # side="right" makes a value equal to e[i] land in bin i (left-closed bins); the
    # clip then folds both out-of-range tails and v == e[-1] into the outer bins.
    idx = np.searchsorted(e, v, side="right") - 1
    return np.clip(idx, 0, e.size - 2)


def quantile_edges(sorted_finite: npt.NDArray[np.float64], n_bins: int) -> npt.NDArray[np.float64]:
    """Bin edges at the reference quantiles 0, 1/n, ..., 1 of a sorted finite sample.

    Rule:

    1. take the quantiles (numpy's "linear" method) and drop repeats, so heavy values
       collapse neighbouring edges;
    2. a value whose quantile repeats holds at least one bin's worth of mass by itself
       (the zero of a zero-inflated feature, either value of a 0/1 flag); it gets a bin
       of its own, ``[v, nextafter(v, +inf))``, so the values just above it are not
       merged into it and a shift between the two stays visible;
    3. a constant column is the extreme case of 2: ``[v, nextafter(v, +inf)]``
       (``[nextafter(v, -inf), v]`` when ``v`` is the largest float).

    Each repeat that adds an edge in 2 removed one in 1, so the result has between 2
    and ``n_bins + 1`` entries; it is finite and strictly increasing. Bins may be empty
    (for example between the two values of a 0/1 flag).
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    x = np.asarray(sorted_finite, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("quantile_edges needs a non-empty 1-D array")
    raw = sorted_quantiles(x, np.linspace(0.0, 1.0, n_bins + 1))
    edges, repeats = np.unique(raw, return_counts=True)
    with np.errstate(over="ignore"):
        above_atoms = np.nextafter(edges[repeats > 1], np.inf)
    # The largest float has no finite successor; it shares the bin below instead.
    edges = np.union1d(edges, above_atoms[np.isfinite(above_atoms)])
    if edges.size == 1:
        edges = np.array([np.nextafter(edges[0], -np.inf), edges[0]])
    return edges


def partitioned_quantile_edges(
    finite: npt.NDArray[np.float64], n_bins: int
) -> npt.NDArray[np.float64]:
    """``quantile_edges`` of a finite sample in any order, without sorting it.

    The quantiles read only the order statistics at ``floor`` and ``floor + 1`` of each
    position ``p (n - 1)``; ``numpy.partition`` puts exactly those in place (fewer
    passes than a full sort), and ``quantile_edges`` then reads the same values it
    would read from the sorted sample, so the edges are identical.
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    x = np.asarray(finite, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("quantile_edges needs a non-empty 1-D array")
    # sorted_quantiles' positions, exactly.
    position = np.linspace(0.0, 1.0, n_bins + 1) * (x.size - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, x.size - 1)
    placed = np.partition(x, np.unique(np.concatenate([lower, upper])))
    return quantile_edges(placed, n_bins)


def support_edges(sorted_finite: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """Edges of the support grid of a sorted finite sample, or None when the sample is
    not visibly discrete.

    With distinct values ``v1 < ... < vk``, each value gets an atom cell ``[v, v+)``
    (``v+ = nextafter(v, +inf)``) that holds exactly ``v``; each gap ``(v, w)`` between
    neighbours is cut into ``s`` equal cells; and ``s`` cells of the same width reach
    one neighbouring gap below ``v1`` and above ``vk`` (with the clamping rule they
    hold every value outside the range). ``s = GAP_CELLS`` (4), fewer for many values,
    so the grid has ``k + (k + 1) s <= MAX_GRID_CELLS`` cells. A value between two
    reference values is then placed within a quarter of their gap, and the binned
    Wasserstein distance of the grid is exact for values on the support.

    None (use quantile bins) unless ``2 <= k <= MAX_SUPPORT_VALUES``, the values seen
    once hold at most ``MAX_SINGLETON_SHARE`` of the sample, and every edge is finite
    with each gap wider than one float.
    """
    x = np.asarray(sorted_finite, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        return None
    changes = x[1:] != x[:-1]
    k = int(np.count_nonzero(changes)) + 1
    if k < 2 or k > MAX_SUPPORT_VALUES:
        return None
    starts = np.flatnonzero(np.concatenate([[True], changes]))
    counts = np.diff(np.append(starts, x.size))
    if np.count_nonzero(counts == 1) > MAX_SINGLETON_SHARE * x.size:
        return None
    values = x[starts]
    cuts = max(1, min(GAP_CELLS, (MAX_GRID_CELLS - k) // (k + 1)))
    with np.errstate(over="ignore", invalid="ignore"):
        after = np.nextafter(values, np.inf)
        gaps = np.diff(values)
        steps = np.arange(1, cuts + 1) / cuts
        inner = (values[:-1, None] + gaps[:, None] * steps[None, :-1]).ravel()
        below = values[0] - gaps[0] * steps
        above = values[-1] + gaps[-1] * steps
    points = np.concatenate([values, after, inner, below, above])
    if not np.all(np.isfinite(points)) or not np.all(after[:-1] < values[1:]):
        return None
    left = np.repeat(after[:-1], cuts - 1)
    right = np.repeat(values[1:], cuts - 1)
    inner = inner[(inner > left) & (inner < right)]
    below = below[below < values[0]]
    above = above[above > after[-1]]
    if below.size == 0 or above.size == 0:
        return None
    edges: npt.NDArray[np.float64] = np.unique(np.concatenate([values, after, inner, below, above]))
    # Each value keeps its atom; a gap cut down to one float would read as one.
    if int(np.count_nonzero(atom_cells(edges))) != k:
        return None
    return edges


def reference_edges(
    sorted_finite: npt.NDArray[np.float64],
    n_bins: int,
    *,
    all_finite: bool = True,
    n_unique: int | None = None,
) -> npt.NDArray[np.float64]:
    """The edges the profile and the offline check use for a numeric feature: its
    support grid when it is visibly discrete (``support_edges``), else ``n_bins``
    quantile bins (``quantile_edges``). ``all_finite=False`` (the reference also holds
    ``+-inf``, which land in the outer cells) keeps quantile bins: the grid promises an
    empty outer cell. ``n_unique``: the sample's distinct values when the caller knows
    them, which skips the grid's own count for continuous features."""
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    few = n_unique is None or 2 <= n_unique <= MAX_SUPPORT_VALUES
    grid = support_edges(sorted_finite) if all_finite and few else None
    return grid if grid is not None else quantile_edges(sorted_finite, n_bins)


def atom_cells(edges: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which cells are one float wide (``[v, nextafter(v))``: they hold the value ``v``
    alone, whatever the layout)."""
    e = np.asarray(edges, dtype=np.float64)
    with np.errstate(over="ignore"):
        out: npt.NDArray[np.bool_] = e[1:] == np.nextafter(e[:-1], np.inf)
    return out


def support_atoms(
    edges: Sequence[float] | npt.NDArray[np.float64],
    reference_counts: Sequence[float] | npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_] | None:
    """The atom mask when ``edges`` with ``reference_counts`` form a support grid:
    the two outer cells are not atoms and the reference has no mass outside its atoms.
    None for any other layout (quantile bins always hold the reference minimum in their
    first cell). On a grid, window counts outside the atoms are values the reference
    never had, and those before the first atom or after the last are the values
    outside its range."""
    e = np.asarray(edges, dtype=np.float64)
    r = np.asarray(reference_counts, dtype=np.float64)
    if e.ndim != 1 or e.size < 4 or r.shape != (e.size - 1,):
        return None
    atoms = atom_cells(e)
    if atoms[0] or atoms[-1] or not atoms.any() or np.any(r[~atoms] != 0):
        return None
    return atoms
