"""The one binning rule shared by the reference profile, the gateway and the monitors.

Edges ``e[0] < e[1] < ... < e[n]`` define ``n`` bins. Bin ``i`` holds
``e[i] <= v < e[i + 1]``; the last bin is also closed on the right (``v == e[n]``).
Values outside the reference range are clamped: ``v < e[0]`` counts in bin 0 and
``v > e[n]`` (``+inf`` included) in bin ``n - 1``, so a live window always has exactly
the bins of its reference and the distances (PSI, Jensen-Shannon) compare like with
like. Missing values (NaN) are not binned: callers count them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitors.quantiles import sorted_quantiles

__all__ = ["bin_index", "quantile_edges"]


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
