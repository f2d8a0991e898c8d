"""The statistics: the mixture likelihood ratio's formula and martingale property, the
normal-mixture bounds, and the naive z-test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import logsumexp
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from router.analysis.sequential import (
    binomial_mixture_log_lr,
    error_test,
    latency_test,
    log_moments,
    naive_z_rejects,
    normal_mixture_log_e,
    normal_mixture_radius,
    two_proportion_z,
)


def _lr_by_quadrature(x_c: int, x_b: int, p0: float, s: float) -> float:
    a, b = s * p0, s * (1 - p0)
    mass = beta_dist.sf(p0, a, b)

    def integrand(p: float) -> float:
        ratio = (p / p0) ** x_c * ((1 - p) / (1 - p0)) ** x_b
        return float(ratio * beta_dist.pdf(p, a, b) / mass)

    value, _ = integrate.quad(integrand, p0, 1.0, limit=200)
    return float(value)


@pytest.mark.parametrize(
    ("x_c", "x_b", "p0", "s"),
    [
        (0, 0, 0.1, 10.0),
        (3, 10, 0.1, 10.0),
        (12, 20, 0.1, 10.0),
        (5, 5, 0.5, 2.0),
        (0, 30, 0.2, 10.0),
    ],
)
def test_log_lr_matches_the_integral_it_stands_for(x_c: int, x_b: int, p0: float, s: float) -> None:
    ours = float(binomial_mixture_log_lr(x_c, x_b, p0, s))
    assert ours == pytest.approx(math.log(_lr_by_quadrature(x_c, x_b, p0, s)), abs=1e-6)


@pytest.mark.parametrize("p0", [0.05, 0.1, 0.5])
@pytest.mark.parametrize("errors", [1, 10, 100, 400])
def test_lr_has_mean_one_under_the_null(p0: float, errors: int) -> None:
    # E[LR] over x_c ~ Binomial(errors, p0) is exactly 1: a test martingale.
    k = np.arange(errors + 1)
    terms = binom.logpmf(k, errors, p0) + binomial_mixture_log_lr(k, errors - k, p0)
    assert float(logsumexp(terms)) == pytest.approx(0.0, abs=1e-6)


def test_lr_shrinks_when_the_candidate_is_better() -> None:
    # p < p0: the one-sided mixture is a supermartingale (mean below one).
    p0, p, errors = 0.1, 0.05, 200
    k = np.arange(errors + 1)
    terms = binom.logpmf(k, errors, p) + binomial_mixture_log_lr(k, errors - k, p0)
    assert float(logsumexp(terms)) < 0.0


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.floats(0.1, 100.0),
)
def test_log_lr_is_finite_for_any_counts(x_c: int, n_c: int, x_b: int, n_b: int, s: float) -> None:
    t = error_test(x_c, n_c, x_b, n_b, alpha=0.05, min_effect=0.01, prior_strength=s)
    for value in (t.log_lr, t.share, t.diff, t.ci_low, t.ci_high):
        assert math.isfinite(float(value))


def test_log_lr_stays_exact_in_the_far_tail() -> None:
    # Errors piling on the baseline: the tail probability underflows, the log must not jump.
    x_b = np.arange(0, 40_000, dtype=np.float64)
    log_lr = binomial_mixture_log_lr(np.zeros_like(x_b), x_b, 0.1)
    steps = np.diff(log_lr)
    assert np.all(steps <= 1e-12)
    assert np.all(np.abs(np.diff(steps)) < 0.02)
    assert float(binomial_mixture_log_lr(0, 10**9, 0.1)) < 0


def test_no_information_without_a_share() -> None:
    assert float(binomial_mixture_log_lr(5, 0, 0.0)) == 0.0
    assert float(binomial_mixture_log_lr(5, 0, 1.0)) == 0.0


def test_rejection_needs_evidence_and_a_difference_that_matters() -> None:
    strong = error_test(50, 1000, 90, 9000, alpha=0.05, min_effect=0.01)
    assert float(strong.log_lr) > math.log(20) and bool(strong.rejected)
    small = error_test(50, 1000, 90, 9000, alpha=0.05, min_effect=0.05)
    assert not bool(small.rejected)  # the same evidence, but +4 pts < +5 pts
    weak = error_test(2, 100, 9, 900, alpha=0.05, min_effect=0.01)
    assert not bool(weak.rejected)


def test_equal_rates_rule_out_a_regression_with_enough_data() -> None:
    assert bool(error_test(100, 10_000, 900, 90_000, alpha=0.05, min_effect=0.01).ruled_out)
    assert not bool(error_test(1, 100, 9, 900, alpha=0.05, min_effect=0.01).ruled_out)


def test_radius_solves_the_boundary_equation() -> None:
    v = np.array([1e-4, 0.01, 1.0, 50.0])
    tau2 = np.array([0.1, 0.1, 0.01, 1.0])
    r = normal_mixture_radius(v, tau2, 0.05)
    assert np.allclose(normal_mixture_log_e(r, v, tau2), math.log(20.0), atol=1e-9)


def test_evidence_grows_with_the_excess() -> None:
    x = np.linspace(-5, 5, 101)
    e = normal_mixture_log_e(x, 0.5, 0.2)
    assert np.all(np.diff(e) > 0)
    assert np.all(np.isfinite(normal_mixture_log_e(np.array([-1e6, 1e3]), 1.0, 1.0)))


def test_two_proportion_z_by_hand() -> None:
    # 30/1000 vs 100/9000: pooled 130/10000.
    p = 0.013
    se = math.sqrt(p * (1 - p) * (1 / 1000 + 1 / 9000))
    assert float(two_proportion_z(30, 1000, 100, 9000)) == pytest.approx((0.03 - 100 / 9000) / se)
    assert float(two_proportion_z(0, 10, 0, 10)) == 0.0
    assert bool(naive_z_rejects(30, 1000, 100, 9000, alpha=0.05))
    assert not bool(naive_z_rejects(10, 1000, 100, 9000, alpha=0.05))


def test_log_moments_match_numpy() -> None:
    mids = np.array([0.0, 1.0, 2.5])
    counts = np.array([3, 0, 2])
    values = np.repeat(mids, counts)
    n, mean, var = log_moments(counts, mids)
    assert float(n) == 5 and float(mean) == pytest.approx(values.mean())
    assert float(var) == pytest.approx(values.var(ddof=1))


def test_latency_test_sees_a_shift_and_not_its_absence() -> None:
    same = latency_test(500, -3.0, 0.25, 4500, -3.0, 0.25, alpha=0.05, min_effect=0.2)
    assert not bool(same.rejected) and bool(same.ruled_out)
    assert float(same.ci_low) < 0 < float(same.ci_high)
    slower = latency_test(
        500, -3.0 + math.log(1.5), 0.25, 4500, -3.0, 0.25, alpha=0.05, min_effect=0.2
    )
    assert bool(slower.rejected) and float(slower.ci_low) > same.margin
