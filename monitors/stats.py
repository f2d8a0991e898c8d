"""Drift statistics: how far a window's distribution of one feature is from the reference.

Pure (standard library, numpy, scipy). Every statistic exists in two forms:

* on **binned counts**: the reference's bin (or category) counts against the window's
  counts on the same bins, as the reference profile and the live input sketches store
  them. Missing values are never in the counts; they are reported by data quality.
* on **samples**: two arrays of raw values (the profile's bounded row sample, a window's
  raw-row sample, or two whole columns offline). Missing (NaN / None) values are dropped
  first; numeric statistics also drop ``+-inf`` (out-of-range data quality counts them).

Effect sizes: PSI, Jensen-Shannon distance (base 2, in [0, 1]), normed Wasserstein,
total variation. Tests (statistic and p-value): Kolmogorov-Smirnov, chi-square,
z-test for two proportions. ``*_batch`` variants compute a statistic for many
simulated windows at once (one row each); the policy's calibration uses them.

An empty side raises ``NotEnoughData`` (a ``MonitorError`` and a ``ValueError``): a
statistic of nothing is not zero, and the policy turns it into a "no data" verdict.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import stats as _st

from monitors.binning import atom_cells, bin_index, quantile_edges
from monitors.errors import NotEnoughData

__all__ = [
    "PSI_FLOOR",
    "Quality",
    "TestResult",
    "bin_samples",
    "category_counts",
    "chi_square",
    "chi_square_samples",
    "js_distance",
    "js_distance_batch",
    "js_distance_samples",
    "ks_binned",
    "ks_binned_batch",
    "ks_samples",
    "normed_wasserstein_binned",
    "normed_wasserstein_samples",
    "psi",
    "psi_batch",
    "psi_samples",
    "quality_numeric",
    "quality_categorical",
    "total_variation",
    "total_variation_batch",
    "wasserstein_binned_batch",
    "wasserstein_sorted",
    "z_proportions",
    "z_proportions_samples",
]

FloatArray = npt.NDArray[np.float64]

# Shares below this are raised to it before PSI takes a logarithm, so a bin that is
# empty on one side adds a large but finite term (a share s against an empty bin adds
# about s * ln(s / 1e-4)) instead of infinity. Not renormalised: the floor only changes
# (near-)empty bins.
PSI_FLOOR: Final = 1e-4


@dataclass(frozen=True, slots=True)
class TestResult:
    """A test's statistic and its two-sided p-value."""

    statistic: float
    p_value: float

    # pytest would otherwise try to collect this class from test modules importing it.
    __test__ = False


@dataclass(frozen=True, slots=True)
class Quality:
    """Data quality of one feature in a window.

    ``rows`` counts values including missing ones. Rates are over ``rows`` for
    ``missing_rate`` and over the present values for the other two; a rate is None
    where it does not apply (``out_of_range`` for categories, ``unseen`` for numbers) or
    there is nothing to divide by.
    """

    rows: int
    missing: int
    out_of_range: int | None = None
    unseen: int | None = None

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def missing_rate(self) -> float | None:
        return self.missing / self.rows if self.rows else None

    @property
    def out_of_range_rate(self) -> float | None:
        if self.out_of_range is None or not self.present:
            return None
        return self.out_of_range / self.present

    @property
    def unseen_rate(self) -> float | None:
        if self.unseen is None or not self.present:
            return None
        return self.unseen / self.present


# --- counts ---------------------------------------------------------------------------


def _counts(values: npt.ArrayLike, what: str) -> FloatArray:
    c = np.asarray(values, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"{what} counts must be a non-empty 1-D array")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"{what} counts must be finite and >= 0")
    if c.sum() <= 0:
        raise NotEnoughData(f"{what} counts sum to zero: there is nothing to compare")
    return c


def _pair(reference: npt.ArrayLike, current: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    r = _counts(reference, "reference")
    c = _counts(current, "current")
    if r.size != c.size:
        raise ValueError(f"reference has {r.size} bins and current {c.size}: not the same bins")
    return r, c


def _rows(counts: npt.ArrayLike, width: int) -> FloatArray:
    m = np.asarray(counts, dtype=np.float64)
    if m.ndim == 1:
        m = m[np.newaxis, :]
    if m.ndim != 2 or m.shape[1] != width:
        raise ValueError(f"batch counts must have shape (draws, {width})")
    totals = m.sum(axis=1)
    if np.any(totals <= 0):
        raise NotEnoughData("a row of batch counts sums to zero")
    return m


def _shares(m: FloatArray) -> FloatArray:
    out: FloatArray = m / m.sum(axis=-1, keepdims=True)
    return out


def psi_batch(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, floor: float = PSI_FLOOR
) -> FloatArray:
    """PSI of each row of ``current`` (draws x bins) against each row (or the one) of
    ``reference``."""
    width = np.asarray(current).shape[-1]
    e = np.maximum(_shares(_rows(reference, width)), floor)
    a = np.maximum(_shares(_rows(current, width)), floor)
    out: FloatArray = np.sum((a - e) * np.log(a / e), axis=1)
    return out


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, *, floor: float = PSI_FLOOR) -> float:
    """Population stability index ``sum((a - e) * ln(a / e))`` over bins.

    ``e`` and ``a`` are the reference and current shares, each raised to at least
    ``floor`` (``PSI_FLOOR``). 0 for identical shares; symmetric in its two arguments;
    rules of thumb call 0.1 moderate and 0.25 large, but the policy calibrates its own
    thresholds for the window size in use.
    """
    r, c = _pair(reference, current)
    return float(psi_batch(r, c, floor=floor)[0])


def _xlog2y(x: FloatArray, y: FloatArray) -> FloatArray:
    # 0 * log(0 / m) is 0 by continuity; where x > 0, m >= x / 2 > 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(x > 0, x * np.log2(np.where(x > 0, x, 1.0) / y), 0.0)
    return out


def js_distance_batch(reference: npt.ArrayLike, current: npt.ArrayLike) -> FloatArray:
    """Jensen-Shannon distance (base 2) of each row of ``current`` against ``reference``."""
    width = np.asarray(current).shape[-1]
    p = _shares(_rows(reference, width))
    q = _shares(_rows(current, width))
    m = (p + q) / 2.0
    div = 0.5 * np.sum(_xlog2y(p, m), axis=1) + 0.5 * np.sum(_xlog2y(q, m), axis=1)
    out: FloatArray = np.sqrt(np.clip(div, 0.0, 1.0))
    return out


def js_distance(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen-Shannon distance with base-2 logarithms: the square root of the JS
    divergence, 0 for identical shares and 1 for disjoint ones (what
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` returns)."""
    r, c = _pair(reference, current)
    return float(js_distance_batch(r, c)[0])


def total_variation_batch(reference: npt.ArrayLike, current: npt.ArrayLike) -> FloatArray:
    """Total variation distance of each row of ``current`` against ``reference``."""
    width = np.asarray(current).shape[-1]
    out: FloatArray = 0.5 * np.abs(
        _shares(_rows(current, width)) - _shares(_rows(reference, width))
    ).sum(axis=1)
    return out


def total_variation(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Half the L1 distance of the shares: the share of mass that would have to move."""
    r, c = _pair(reference, current)
    return float(total_variation_batch(r, c)[0])


def _check_edges(edges: npt.ArrayLike, bins: int) -> FloatArray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size != bins + 1:
        raise ValueError(f"{bins} bins need {bins + 1} edges, got {e.size}")
    if not np.all(np.isfinite(e)) or not np.all(e[1:] > e[:-1]):
        raise ValueError("edges must be finite and strictly increasing")
    return e


def _cdf_gaps(reference: FloatArray, current: FloatArray) -> FloatArray:
    """F_current - F_reference at every edge (first and last are 0), one row per draw."""
    gaps = np.cumsum(_shares(current) - _shares(reference), axis=1)
    gaps[:, -1] = 0.0  # exactly, not 1e-17
    zero = np.zeros((gaps.shape[0], 1))
    out: FloatArray = np.concatenate([zero, gaps], axis=1)
    return out


def wasserstein_binned_batch(
    reference: npt.ArrayLike, current: npt.ArrayLike, edges: npt.ArrayLike
) -> FloatArray:
    """Wasserstein-1 distance (in the feature's units) of each row of ``current``
    against ``reference``, both spread evenly within their bins (see
    ``normed_wasserstein_binned``)."""
    width = np.asarray(current).shape[-1]
    e = _check_edges(edges, width)
    d = _cdf_gaps(_rows(reference, width), _rows(current, width))
    a, b = d[:, :-1], d[:, 1:]
    abs_a, abs_b = np.abs(a), np.abs(b)
    same_sign = a * b >= 0
    total = abs_a + abs_b
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(total > 0, (a * a + b * b) / (2.0 * total), 0.0)
    per_bin = np.where(same_sign, total / 2.0, crossing)
    out: FloatArray = per_bin @ _spread_widths(e)
    return out


def _spread_widths(edges: FloatArray) -> FloatArray:
    """Bin widths, the outer two capped at their inner neighbour's width.

    An outer bin reaches the reference's extreme value, which one outlier can put far
    away; spreading the tail's mass evenly out to it would let that outlier dominate
    the distance and its noise. Capped, the tail's mass counts as lying within one
    neighbouring bin's width of the edge. The neighbour is the nearest inner bin wider
    than one float: an atom bin ``[v, nextafter(v))`` (a heavy value of quantile bins,
    every value of a support grid) is a point, not a width.
    """
    widths = np.diff(edges)
    if widths.size >= 3:
        # The neighbour is the nearest inner cell that is not one float wide: an atom
        # cell (a value of its own) has no width to cap by.
        wide = np.flatnonzero(~atom_cells(edges)[1:-1]) + 1
        left, right = (wide[0], wide[-1]) if wide.size else (1, widths.size - 2)
        widths[0] = min(widths[0], widths[left])
        widths[-1] = min(widths[-1], widths[right])
    out: FloatArray = widths
    return out


def normed_wasserstein_binned(
    reference: npt.ArrayLike, current: npt.ArrayLike, edges: npt.ArrayLike, *, scale: float
) -> float:
    """Wasserstein-1 distance between two binned distributions, divided by ``scale``.

    The approximation: each bin's mass is spread evenly over the bin, so both CDFs are
    piecewise linear through their values at the edges and the distance is the exact
    integral of ``|F_current - F_reference|`` for those two distributions. The two
    outer bins (with three bins or more) count as no wider than their inner neighbour:
    they reach the reference's extremes, and one far outlier would otherwise dominate.
    Values outside the reference range were clamped into the outer bins by the binning
    rule, so they count as if they were inside it (out-of-range data quality reports
    them). ``scale`` is the reference standard
    deviation; pass 1.0 for a constant reference (the value is then in the feature's
    units). A mean shift of ``d`` standard deviations of normal data reads about
    ``0.85 d`` on 10 quantile bins, and close to ``d`` on finer bins.
    """
    r, c = _pair(reference, current)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError("scale must be a finite number > 0")
    return float(wasserstein_binned_batch(r, c, edges)[0]) / scale


def ks_binned_batch(reference: npt.ArrayLike, current: npt.ArrayLike) -> FloatArray:
    """The largest CDF gap at the bin edges, for each row of ``current``."""
    width = np.asarray(current).shape[-1]
    out: FloatArray = np.abs(_cdf_gaps(_rows(reference, width), _rows(current, width))).max(axis=1)
    return out


def _ks_p(d: float, n_ref: float, n_cur: float) -> float:
    en = n_ref * n_cur / (n_ref + n_cur)
    return float(np.clip(_st.kstwo.sf(d, max(1, round(en))), 0.0, 1.0))


def ks_binned(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """Kolmogorov-Smirnov on binned counts: the largest gap between the two CDFs at the
    bin edges, with the asymptotic two-sample p-value (``scipy.stats.kstwo`` at
    ``n m / (n + m)``, as ``ks_2samp(method="asymp")``). Binning can only hide gaps
    between edges, so the statistic is at most the exact one and the p-value is
    conservative; with one bin per distinct value they are equal."""
    r, c = _pair(reference, current)
    d = float(ks_binned_batch(r, c)[0])
    return TestResult(d, _ks_p(d, r.sum(), c.sum()))


def chi_square(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """Chi-square test of homogeneity on the 2 x k table (reference row, current row).

    Both sides are samples, so this is ``scipy.stats.chi2_contingency`` without the
    continuity correction rather than a goodness-of-fit test against fixed reference
    shares. Cells empty on both sides are dropped (they carry no information and would
    divide by zero); with fewer than two categories left the statistic is 0, p = 1.
    """
    r, c = _pair(reference, current)
    keep = (r + c) > 0
    if np.count_nonzero(keep) < 2:
        return TestResult(0.0, 1.0)
    res = _st.chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False)
    return TestResult(float(res.statistic), float(res.pvalue))


def z_proportions(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """Two-proportion z-test (pooled variance) on the share of the first of two
    categories; statistic is z (current minus reference). When the pooled share is 0
    or 1 the two samples agree exactly: z = 0, p = 1."""
    r, c = _pair(reference, current)
    if r.size != 2:
        raise ValueError(f"the z-test compares two categories, got {r.size}")
    n_r, n_c = r.sum(), c.sum()
    p_r, p_c = r[0] / n_r, c[0] / n_c
    pooled = (r[0] + c[0]) / (n_r + n_c)
    var = pooled * (1.0 - pooled) * (1.0 / n_r + 1.0 / n_c)
    if var <= 0:
        return TestResult(0.0, 1.0)
    z = float((p_c - p_r) / math.sqrt(var))
    return TestResult(z, float(2.0 * _st.norm.sf(abs(z))))


# --- samples --------------------------------------------------------------------------


def _finite(values: npt.ArrayLike, what: str) -> FloatArray:
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise NotEnoughData(f"the {what} sample has no finite value")
    return x


def _present(values: Sequence[object] | npt.ArrayLike, what: str) -> list[str]:
    out = [str(v) for v in np.asarray(values, dtype=object).ravel() if not _is_missing(v)]
    if not out:
        raise NotEnoughData(f"the {what} sample has no present value")
    return out


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float | np.floating):
        return bool(np.isnan(v))
    # pandas' NA and NaT compare unequal to themselves without being floats.
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return False


def bin_samples(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, n_bins: int = 10
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Counts of both finite samples on the reference's quantile bins.

    Returns ``(edges, reference_counts, current_counts)``; the edges follow
    ``monitors.binning.quantile_edges`` and values are binned by ``bin_index`` (the
    profile's and the gateway's rule), so a sample statistic and a sketch statistic of
    the same data agree.
    """
    r = np.sort(_finite(reference, "reference"))
    c = _finite(current, "current")
    edges = quantile_edges(r, n_bins)
    k = edges.size - 1
    rc = np.bincount(bin_index(edges, r), minlength=k).astype(np.float64)
    cc = np.bincount(bin_index(edges, c), minlength=k).astype(np.float64)
    return edges, rc, cc


def category_counts(
    reference: Sequence[object] | npt.ArrayLike, current: Sequence[object] | npt.ArrayLike
) -> tuple[list[str], FloatArray, FloatArray]:
    """Counts of ``str(value)`` on both sides over the union of categories (sorted)."""
    r = _present(reference, "reference")
    c = _present(current, "current")
    labels = sorted(set(r) | set(c))
    index = {label: i for i, label in enumerate(labels)}
    rc = np.bincount([index[v] for v in r], minlength=len(labels)).astype(np.float64)
    cc = np.bincount([index[v] for v in c], minlength=len(labels)).astype(np.float64)
    return labels, rc, cc


def psi_samples(
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    n_bins: int = 10,
    floor: float = PSI_FLOOR,
) -> float:
    """PSI of two numeric samples on ``n_bins`` quantile bins of the reference."""
    _, rc, cc = bin_samples(reference, current, n_bins=n_bins)
    return psi(rc, cc, floor=floor)


def js_distance_samples(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, n_bins: int = 10, categorical: bool = False
) -> float:
    """JS distance of two samples: by category when ``categorical``, else on ``n_bins``
    quantile bins of the reference."""
    if categorical:
        _, rc, cc = category_counts(reference, current)
    else:
        _, rc, cc = bin_samples(reference, current, n_bins=n_bins)
    return js_distance(rc, cc)


def normed_wasserstein_samples(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """``scipy.stats.wasserstein_distance`` of the finite values divided by the
    reference's (population) standard deviation. A constant reference has no spread to
    divide by: the absolute distance is returned (in the feature's units)."""
    r = _finite(reference, "reference")
    c = _finite(current, "current")
    w = float(_st.wasserstein_distance(r, c))
    std = float(np.std(r))
    return w / std if std > 0 and math.isfinite(std) else w


def wasserstein_sorted(reference: FloatArray, current: FloatArray) -> float:
    """Exact Wasserstein-1 distance between two sorted finite samples (in the feature's
    units): the integral of ``|F_current - F_reference|`` between consecutive distinct
    values. Equals ``scipy.stats.wasserstein_distance``, but works on the distinct
    values only, so a discrete feature costs a pass over each sorted sample and a few
    binary searches."""
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    if r.size == 0 or c.size == 0:
        raise NotEnoughData("the exact Wasserstein distance needs values on both sides")
    points = np.union1d(_distinct_sorted(r), _distinct_sorted(c))
    if points.size < 2:
        return 0.0
    at = points[:-1]
    f_r = np.searchsorted(r, at, side="right") / r.size
    f_c = np.searchsorted(c, at, side="right") / c.size
    return float(np.abs(f_c - f_r) @ np.diff(points))


def _distinct_sorted(x: FloatArray) -> FloatArray:
    if x.size < 2:
        return x
    out: FloatArray = x[np.concatenate([[True], x[1:] != x[:-1]])]
    return out


def ks_samples(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """``scipy.stats.ks_2samp`` of the finite values (exact p-value for small samples,
    asymptotic once either side has more than 10 000 values)."""
    r = _finite(reference, "reference")
    c = _finite(current, "current")
    method = "asymp" if max(r.size, c.size) > 10_000 else "auto"
    res = _st.ks_2samp(r, c, method=method)
    return TestResult(float(res.statistic), float(res.pvalue))


def chi_square_samples(
    reference: Sequence[object] | npt.ArrayLike, current: Sequence[object] | npt.ArrayLike
) -> TestResult:
    """``chi_square`` on the category counts of two samples (by ``str(value)``)."""
    _, rc, cc = category_counts(reference, current)
    return chi_square(rc, cc)


def z_proportions_samples(
    reference: Sequence[object] | npt.ArrayLike, current: Sequence[object] | npt.ArrayLike
) -> TestResult:
    """``z_proportions`` on two samples of at most two categories (by ``str(value)``)."""
    labels, rc, cc = category_counts(reference, current)
    if len(labels) > 2:
        raise ValueError(f"the z-test compares two categories, the samples have {len(labels)}")
    if len(labels) == 1:
        return TestResult(0.0, 1.0)
    return z_proportions(rc, cc)


# --- data quality ---------------------------------------------------------------------


def quality_numeric(
    values: npt.ArrayLike, *, low: float | None = None, high: float | None = None
) -> Quality:
    """Missing (NaN) and out-of-range (outside the reference ``[low, high]``, infinities
    included) counts of a numeric sample. Without a range nothing is out of range."""
    x = np.asarray(values, dtype=np.float64).ravel()
    missing = np.isnan(x)
    present = x[~missing]
    out = 0
    if low is not None and high is not None:
        out = int(np.count_nonzero((present < low) | (present > high)))
    return Quality(rows=int(x.size), missing=int(missing.sum()), out_of_range=out)


def quality_categorical(
    values: Sequence[object] | npt.ArrayLike, *, known: Collection[str]
) -> Quality:
    """Missing and unseen counts of a categorical sample; ``known`` is the set of
    ``str(value)`` the reference holds."""
    seq = np.asarray(values, dtype=object).ravel()
    present = [str(v) for v in seq if not _is_missing(v)]
    seen = frozenset(known)
    unseen = sum(1 for v in present if v not in seen)
    return Quality(rows=int(seq.size), missing=int(seq.size - len(present)), unseen=unseen)
