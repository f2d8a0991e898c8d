"""(pure) Anytime-valid tests of "the candidate is worse than the baseline", and a naive one.

The controller judges cumulative counts about once a second. A fixed-sample test
re-run that often raises false alarms far above its level (``naive_z_rejects`` is here
to show it in simulation). The statistics below are e-processes: nonnegative
(super)martingales under "no regression", so by Ville's inequality the chance they
*ever* reach ``1 / alpha`` is at most ``alpha``, however often they are checked.

Error counts (``error_test``; Lindon & Malek, NeurIPS 2022; Lindon, Sanden & Shirikian,
KDD 2022). Under "equal error rates" every error lands on the candidate with
probability ``p0`` = the candidate's share of requests, independently of the others.
Given the sequence of errors, the likelihood of "candidate errors with probability p"
is ``p^x_c (1 - p)^x_b``; mixing p over a Beta(s p0, s (1 - p0)) prior truncated to
``p > p0`` (worse only) gives the likelihood ratio, with I the regularised incomplete
beta, ``S(a, b) = 1 - I_p0(a, b)`` and B the beta function::

    LR = [B(x_c + a, x_b + b) S(x_c + a, x_b + b)] / [B(a, b) S(a, b)]
         / [p0^x_c (1 - p0)^x_b]

a test martingale in the number of errors when p = p0 (and a supermartingale when
p < p0: the candidate is better). The test rejects when ``log LR >= log(1 / alpha)``
*and* the observed difference of error rates is at least ``min_effect``: the second
condition can only remove rejections, so the alpha bound still holds. ``p0`` is the
share of requests in the same window (the traffic weight as it was realised), which
is what "equal rates" predicts as long as the weight does not change inside the
window; the judge's window restarts at every step.

Continuous metrics (``latency_test``; Robbins' normal mixture, Howard, Ramdas,
McAuliffe & Sekhon, Ann. Statist. 2021; Johari, Pekelis & Walsh's mSPRT). For an
estimate ``d`` of a difference of means with variance ``v``, mixing the Gaussian
martingale ``exp(l (d - delta) / v - l^2 / (2 v))`` over ``l ~ N+(0, tau2)`` (one
side) gives, with ``z = (d - delta) tau / sqrt(v (v + tau2))``::

    log E = log 2 + 1/2 log(v / (v + tau2)) + z^2 / 2 + log Phi(z)

and the bounds ``d -+ r`` where ``log E = log(1 / alpha)`` at ``d - delta = r``: each a
one-sided (1 - alpha) confidence sequence. ``v`` uses the sample variances (a plug-in,
so the guarantee is asymptotic, as in Waudby-Smith et al.'s time-uniform CLT; the
judge waits for ``min_samples`` per version first). Latency is compared on the log
scale from histogram bucket centres, so the tested effect is the ratio of geometric
mean latencies; ``tau2 = pooled variance / prior_strength``.

The same normal-mixture sequence on the difference of error rates (rates smoothed by
one pseudo-error and one pseudo-success, so zero errors still have a variance) gives
the upper bound that decides whether a regression of ``min_effect`` is ruled out.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.special import betainc, betaln, log_ndtr, ndtri

from router.analysis.spec import DEFAULT_PRIOR_STRENGTH

__all__ = [
    "LOG_VARIANCE_FLOOR",
    "ErrorTest",
    "LatencyTest",
    "binomial_mixture_log_lr",
    "error_rejects",
    "error_test",
    "latency_test",
    "log_moments",
    "moments_from_sums",
    "naive_z_rejects",
    "normal_mixture_log_e",
    "normal_mixture_radius",
    "two_proportion_z",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

_LOG2: Final = math.log(2.0)
# The variance of a value spread evenly over one histogram bucket in log space
# (ln 1.28, the widest R10 step, squared over 12). Binned latencies of a steady
# service can have zero sample variance; without a floor a one-bucket difference
# would look infinitely significant, and binning hides at least this much spread.
LOG_VARIANCE_FLOOR: Final = math.log(1.28) ** 2 / 12.0
_NEWTON_STEPS: Final = 8
_LOG_SQRT_2PI: Final = 0.5 * math.log(2.0 * math.pi)
# Below this the incomplete beta has lost its digits to underflow.
_TAIL_FLOOR: Final = 1e-250
_CF_TERMS: Final = 200


class ErrorTest(NamedTuple):
    """The error-count test at each input point (arrays broadcast from the inputs)."""

    share: FloatArray  # p0: the candidate's share of requests
    log_lr: FloatArray  # log of the Beta-mixture likelihood ratio
    diff: FloatArray  # candidate rate - baseline rate
    ci_low: FloatArray  # one-sided (1 - alpha) lower bound of the difference
    ci_high: FloatArray  # one-sided (1 - alpha) upper bound of the difference
    rejected: BoolArray  # log_lr >= log(1/alpha) and diff >= min_effect
    ruled_out: BoolArray  # ci_high < min_effect: a regression that matters is excluded


class LatencyTest(NamedTuple):
    """The log-latency test at each input point; ``diff`` = mean log ratio."""

    diff: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    margin: float  # log(1 + min_effect)
    rejected: BoolArray  # ci_low > margin
    ruled_out: BoolArray  # ci_high < margin


def _f(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def binomial_mixture_log_lr(
    x_c: npt.ArrayLike,
    x_b: npt.ArrayLike,
    p0: npt.ArrayLike,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> FloatArray:
    """log LR of "errors land on the candidate with some p > p0" against "p = p0".

    Finite for all counts >= 0 (see ``_log_upper_integral`` for the far tail). A share
    of 0 or 1 carries no information and gives 0.
    """
    xc, xb, share = np.broadcast_arrays(_f(x_c), _f(x_b), _f(p0))
    informative = (share > 0.0) & (share < 1.0)
    p = np.where(informative, share, 0.5)
    a = prior_strength * p
    b = prior_strength * (1.0 - p)
    log_p = np.log(p)
    log_q = np.log1p(-p)
    mixed = _log_upper_integral(xc + a, xb + b, p, log_p, log_q)
    prior = _log_upper_integral(a, b, p, log_p, log_q)
    out = np.where(informative, mixed - prior - (xc * log_p + xb * log_q), 0.0)
    return np.asarray(out, dtype=np.float64)


def _log_upper_integral(
    a: FloatArray, b: FloatArray, p0: FloatArray, log_p0: FloatArray, log_q0: FloatArray
) -> FloatArray:
    """``log of the integral of t^(a-1) (1-t)^(b-1) over (p0, 1)`` = log B(a, b) + log S.

    When the tail probability S underflows (the errors fell on the baseline far more
    than the share predicts), it comes from the continued fraction of the incomplete
    beta instead, ``I_x(b, a) = x^b (1-x)^a CF / (b B(a, b))`` at ``x = 1 - p0``, in which
    B cancels, so the log stays exact where S itself is below the smallest double.
    """
    with np.errstate(divide="ignore", under="ignore"):
        tail = betainc(b, a, 1.0 - p0)
        direct = betaln(a, b) + np.log(np.where(tail > _TAIL_FLOOR, tail, 1.0))
    far = tail <= _TAIL_FLOOR
    if not np.any(far):
        return np.asarray(direct, dtype=np.float64)
    af, bf = a[far], b[far]
    fraction = _beta_continued_fraction(bf, af, 1.0 - p0[far])
    tail_log = bf * log_q0[far] + af * log_p0[far] - np.log(bf) + np.log(fraction)
    out = np.array(direct, dtype=np.float64)
    out[far] = tail_log
    return out


def _beta_continued_fraction(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """The continued fraction of ``I_x(a, b)`` (modified Lentz, Numerical Recipes'
    betacf); it converges fast for ``x < (a + 1) / (a + b + 2)``, which holds wherever
    the tail underflows."""
    tiny = 1e-300
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    for m in range(1, _CF_TERMS + 1):
        m2 = 2.0 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            h = h * d * c
    return np.asarray(h, dtype=np.float64)


def normal_mixture_log_e(
    excess: npt.ArrayLike, v: npt.ArrayLike, tau2: npt.ArrayLike
) -> FloatArray:
    """log of the one-sided normal-mixture e-value for "mean > delta", ``excess = d - delta``."""
    e, var, t2 = np.broadcast_arrays(_f(excess), _f(v), _f(tau2))
    z = e * np.sqrt(t2 / (var * (var + t2)))
    out = _LOG2 + 0.5 * np.log(var / (var + t2)) + 0.5 * z * z + log_ndtr(z)
    return np.asarray(out, dtype=np.float64)


def normal_mixture_radius(v: npt.ArrayLike, tau2: npt.ArrayLike, alpha: float) -> FloatArray:
    """The half-width r of the one-sided (1 - alpha) normal-mixture bounds ``d -+ r``.

    Solves ``h(z) = z^2/2 + log Phi(z) = K`` with
    ``K = log(1/alpha) - log 2 - 1/2 log(v/(v+tau2))`` by Newton's method from
    ``sqrt(2K + 2 log 2)``, where ``h >= K``: h is increasing and convex, so the steps
    come down monotonically onto the root.
    """
    var, t2 = np.broadcast_arrays(_f(v), _f(tau2))
    k = math.log(1.0 / alpha) - _LOG2 - 0.5 * np.log(var / (var + t2))
    z = np.sqrt(2.0 * np.maximum(k, 0.0) + 2.0 * _LOG2)
    for _ in range(_NEWTON_STEPS):
        log_cdf = log_ndtr(z)
        slope = z + np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf)  # z + phi(z) / Phi(z)
        z = z - (0.5 * z * z + log_cdf - k) / slope
    return np.asarray(z * np.sqrt(var * (var + t2) / t2), dtype=np.float64)


def error_test(
    x_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    x_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
    *,
    alpha: float,
    min_effect: float,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> ErrorTest:
    """Is the candidate's error rate higher than the baseline's, by at least ``min_effect``?

    ``x`` errors out of ``n`` requests per version, cumulative over one window (or
    misclassifications out of labelled predictions). See the module docstring.
    """
    nc, nb = np.broadcast_arrays(np.maximum(_f(n_c), 0.0), np.maximum(_f(n_b), 0.0))
    # More errors than requests cannot happen; clipping keeps every statistic defined.
    xc = np.clip(_f(x_c), 0.0, nc)
    xb = np.clip(_f(x_b), 0.0, nb)
    total = nc + nb
    share, log_lr, diff, rejected = _error_evidence(
        xc, nc, xb, nb, alpha, min_effect, prior_strength
    )
    # Smoothed rates: a variance for zero errors, and the pooled one sets the prior scale.
    rc = (xc + 1.0) / (nc + 2.0)
    rb = (xb + 1.0) / (nb + 2.0)
    v = rc * (1.0 - rc) / np.maximum(nc, 1.0) + rb * (1.0 - rb) / np.maximum(nb, 1.0)
    pooled = (xc + xb + 1.0) / (total + 2.0)
    radius = normal_mixture_radius(v, pooled * (1.0 - pooled) / prior_strength, alpha)
    ci_low = diff - radius
    ci_high = diff + radius
    return ErrorTest(share, log_lr, diff, ci_low, ci_high, rejected, ci_high < min_effect)


def error_rejects(
    x_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    x_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
    *,
    alpha: float,
    min_effect: float,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> BoolArray:
    """``error_test(...).rejected`` alone (no bounds), for simulations of many runs."""
    nc, nb = np.broadcast_arrays(np.maximum(_f(n_c), 0.0), np.maximum(_f(n_b), 0.0))
    xc = np.clip(_f(x_c), 0.0, nc)
    xb = np.clip(_f(x_b), 0.0, nb)
    return _error_evidence(xc, nc, xb, nb, alpha, min_effect, prior_strength)[3]


def _error_evidence(
    xc: FloatArray,
    nc: FloatArray,
    xb: FloatArray,
    nb: FloatArray,
    alpha: float,
    min_effect: float,
    prior_strength: float,
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """(share, log LR, rate difference, rejected): the rule error_test and
    error_rejects share, so simulations judge exactly as the judge does."""
    total = nc + nb
    share = np.where(total > 0, nc / np.maximum(total, 1.0), 0.0)
    log_lr = binomial_mixture_log_lr(xc, xb, share, prior_strength)
    diff = xc / np.maximum(nc, 1.0) - xb / np.maximum(nb, 1.0)
    rejected = (log_lr >= math.log(1.0 / alpha)) & (diff >= min_effect)
    return share, log_lr, np.asarray(diff, dtype=np.float64), np.asarray(rejected, dtype=np.bool_)


def log_moments(
    counts: npt.ArrayLike, log_mids: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(n, mean, variance)`` of binned log values along the last axis of ``counts``.

    The variance is the unbiased sample variance (0 for fewer than two values).
    """
    c = _f(counts)
    mids = _f(log_mids)
    return moments_from_sums(c.sum(axis=-1), c @ mids, c @ (mids * mids))


def moments_from_sums(
    n: npt.ArrayLike, s1: npt.ArrayLike, s2: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(n, mean, variance)`` from the count, sum and sum of squares of some values."""
    count, total, squares = np.broadcast_arrays(_f(n), _f(s1), _f(s2))
    mean = total / np.maximum(count, 1.0)
    var = np.maximum(squares - total * mean, 0.0) / np.maximum(count - 1.0, 1.0)
    return count, mean, var


def latency_test(
    n_c: npt.ArrayLike,
    mean_c: npt.ArrayLike,
    var_c: npt.ArrayLike,
    n_b: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    var_b: npt.ArrayLike,
    *,
    alpha: float,
    min_effect: float,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> LatencyTest:
    """Is the candidate's geometric-mean latency more than ``1 + min_effect`` times the
    baseline's? Inputs are the count, mean and variance of log latency per version."""
    nc, mc, vc, nb, mb, vb = np.broadcast_arrays(
        _f(n_c), _f(mean_c), _f(var_c), _f(n_b), _f(mean_b), _f(var_b)
    )
    vc = np.maximum(vc, LOG_VARIANCE_FLOOR)
    vb = np.maximum(vb, LOG_VARIANCE_FLOOR)
    nc1 = np.maximum(nc, 1.0)
    nb1 = np.maximum(nb, 1.0)
    v = vc / nc1 + vb / nb1
    pooled = (vc * nc1 + vb * nb1) / (nc1 + nb1)
    radius = normal_mixture_radius(v, pooled / prior_strength, alpha)
    diff = mc - mb
    margin = math.log1p(min_effect)
    ci_low = diff - radius
    ci_high = diff + radius
    return LatencyTest(diff, ci_low, ci_high, margin, ci_low > margin, ci_high < margin)


def two_proportion_z(
    x_c: npt.ArrayLike, n_c: npt.ArrayLike, x_b: npt.ArrayLike, n_b: npt.ArrayLike
) -> FloatArray:
    """The pooled two-proportion z statistic, positive when the candidate errs more.

    A fixed-sample test: valid for one look at a sample size chosen in advance, and
    only for that. 0 when there is nothing to compare (no errors at all).
    """
    xc, nc, xb, nb = np.broadcast_arrays(_f(x_c), _f(n_c), _f(x_b), _f(n_b))
    nc1 = np.maximum(nc, 1.0)
    nb1 = np.maximum(nb, 1.0)
    pooled = (xc + xb) / (nc1 + nb1)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / nc1 + 1.0 / nb1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0.0, (xc / nc1 - xb / nb1) / np.where(se > 0.0, se, 1.0), 0.0)
    return np.asarray(z, dtype=np.float64)


def naive_z_rejects(
    x_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    x_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
    *,
    alpha: float,
) -> BoolArray:
    """One-sided z-test at level ``alpha``: for simulations of repeated looks only."""
    return np.asarray(two_proportion_z(x_c, n_c, x_b, n_b) >= ndtri(1.0 - alpha), dtype=np.bool_)
