"""Linear-interpolation quantiles of an already sorted sample.

The profile sorts each column once and reads every order statistic it needs from the
sorted array, which is several times faster than repeated ``numpy.quantile`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["sorted_quantiles"]


def sorted_quantiles(
    sorted_values: npt.NDArray[np.float64], probs: Sequence[float] | npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Quantiles of ``sorted_values`` at ``probs`` (numpy's default "linear" method).

    ``sorted_values`` must be non-empty, finite and sorted ascending; ``probs`` lie in
    [0, 1]. The result never leaves the data's range and never overflows, even for
    values near the float64 limits where ``a + (b - a) * g`` would.
    """
    x = np.asarray(sorted_values, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("sorted_quantiles needs a non-empty 1-D array")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("probabilities must lie in [0, 1]")
    position = p * (x.size - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, x.size - 1)
    frac = position - lower
    a = x[lower]
    b = x[upper]
    with np.errstate(over="ignore", invalid="ignore"):
        result = a + (b - a) * frac
        # b - a overflows when a and b are huge with opposite signs; the weighted
        # form cannot, so it is the fallback for those few positions only.
        bad = ~np.isfinite(result)
        if np.any(bad):
            result[bad] = a[bad] * (1.0 - frac[bad]) + b[bad] * frac[bad]
    # Rounding may step an ulp outside [a, b]; clamping keeps quantiles monotone in p.
    return np.minimum(np.maximum(result, a), b)
