"""(pure) How far the candidate's outputs moved from the baseline's on the same traffic.

The Jensen-Shannon distance (base 2, so in [0, 1]) between the two output
distributions: class labels as they are, numeric outputs regrouped into at most
``MAX_GROUPS`` bins of equal pooled mass (the fine value grid would otherwise make
sampling noise look like a shift). Two samples of one distribution still differ by
chance: the divergence of two empirical distributions over k bins has expectation
about ``(k - 1) (1/n_c + 1/n_b) / (8 ln 2)`` (second-order expansion), so that noise
floor is subtracted before the distance is compared with a threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.special import rel_entr

__all__ = ["MAX_GROUPS", "Shift", "js_distance", "output_shift"]

MAX_GROUPS: Final = 10
_LN2: Final = math.log(2.0)

FloatArray: TypeAlias = npt.NDArray[np.float64]


class Shift(NamedTuple):
    """The distance after and before removing the noise floor, and what it came from."""

    distance: float  # sqrt(max(divergence - noise, 0))
    raw: float  # sqrt(divergence)
    noise: float  # expected divergence of two samples of one distribution
    bins: int
    n_candidate: int
    n_baseline: int


def js_distance(p: Mapping[Any, int], q: Mapping[Any, int]) -> Shift:
    """Noise-corrected Jensen-Shannon distance of two count tables over the same keys."""
    keys = sorted(set(p) | set(q), key=str)
    a = np.array([p.get(k, 0) for k in keys], dtype=np.float64)
    b = np.array([q.get(k, 0) for k in keys], dtype=np.float64)
    return _distance(a, b)


def output_shift(
    labels_c: Mapping[str, int],
    values_c: Mapping[int, int],
    labels_b: Mapping[str, int],
    values_b: Mapping[int, int],
) -> Shift:
    """The shift of class labels when either version has any, else of numeric values."""
    if sum(labels_c.values()) or sum(labels_b.values()):
        return js_distance(labels_c, labels_b)
    a, b = _regroup(values_c, values_b)
    return _distance(a, b)


def _regroup(
    values_c: Mapping[int, int], values_b: Mapping[int, int]
) -> tuple[FloatArray, FloatArray]:
    """Adjacent value bins merged into at most MAX_GROUPS groups of about equal pooled mass."""
    ids = sorted(set(values_c) | set(values_b))
    a = np.array([values_c.get(i, 0) for i in ids], dtype=np.float64)
    b = np.array([values_b.get(i, 0) for i in ids], dtype=np.float64)
    pooled = np.cumsum(a + b)
    if len(ids) <= MAX_GROUPS or pooled[-1] == 0:
        return a, b
    # Group g takes the bins whose cumulative pooled mass ends in its 1/MAX_GROUPS slice.
    group = np.minimum((pooled - 1e-9) * MAX_GROUPS // pooled[-1], MAX_GROUPS - 1).astype(np.int64)
    sums_a = np.bincount(group, weights=a, minlength=MAX_GROUPS).astype(np.float64)
    sums_b = np.bincount(group, weights=b, minlength=MAX_GROUPS).astype(np.float64)
    return sums_a, sums_b


def _distance(a: FloatArray, b: FloatArray) -> Shift:
    na = float(a.sum())
    nb = float(b.sum())
    if na == 0 or nb == 0:
        return Shift(0.0, 0.0, 0.0, 0, int(na), int(nb))
    pa = a / na
    pb = b / nb
    m = 0.5 * (pa + pb)
    divergence = 0.5 * float(rel_entr(pa, m).sum() + rel_entr(pb, m).sum()) / _LN2
    divergence = min(max(divergence, 0.0), 1.0)
    bins = int(np.count_nonzero(a + b))
    noise = (bins - 1) * (1.0 / na + 1.0 / nb) / (8.0 * _LN2)
    return Shift(
        distance=math.sqrt(max(divergence - noise, 0.0)),
        raw=math.sqrt(divergence),
        noise=noise,
        bins=bins,
        n_candidate=int(na),
        n_baseline=int(nb),
    )
