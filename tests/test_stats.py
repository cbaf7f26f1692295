"""Tests of salesx2lib.stats: Wilson intervals, the empirical-Bayes prior, shrinkage, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from salesx2lib.stats import (
    cluster_resample_counts,
    fit_beta_prior,
    rank_correlation,
    shrink,
    wilson_interval,
)

# -- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_equals_statsmodels(confidence):
    n = np.array([1, 1, 2, 4, 4, 10, 10, 10, 37, 250, 1000, 1000])
    x = np.array([0, 1, 1, 0, 4, 3, 0, 10, 12, 125, 1, 999])
    lo, hi = wilson_interval(x, n, confidence)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=1e-12)


@given(n=st.integers(1, 100_000), frac=st.floats(0, 1))
def test_wilson_equals_statsmodels_any_counts(n, frac):
    x = math.floor(frac * n)
    lo, hi = wilson_interval(x, n)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12)
    assert hi == pytest.approx(ref_hi, abs=1e-12)
    assert 0 <= lo <= x / n <= hi <= 1


def test_wilson_hand_computed():
    # x = 3, n = 10, z = 1.959964: centre (3 + z²/2)/(10 + z²), half z·sqrt(3·7/10 + z²/4)/(10 + z²)
    z = 1.959963984540054
    centre = (3 + z * z / 2) / (10 + z * z)
    half = z * math.sqrt(2.1 + z * z / 4) / (10 + z * z)
    lo, hi = wilson_interval(3, 10)
    assert float(lo) == pytest.approx(centre - half, abs=1e-12)
    assert float(hi) == pytest.approx(centre + half, abs=1e-12)
    assert round(float(lo), 4) == 0.1078 and round(float(hi), 4) == 0.6032


def test_wilson_zero_trials_is_nan_not_an_error():
    lo, hi = wilson_interval([0, 2], [0, 4])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert np.isfinite(lo[1]) and np.isfinite(hi[1])


@pytest.mark.parametrize(("x", "n"), [(5, 4), (-1, 3), (1, -2)])
def test_wilson_rejects_impossible_counts(x, n):
    with pytest.raises(ValueError):
        wilson_interval(x, n)


def test_wilson_rejects_bad_confidence():
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=95)


# -- empirical-Bayes prior and shrinkage ------------------------------------------------------


def _anova_rho(x, n):
    """The ANOVA intraclass correlation written out term by term (the test's own version)."""
    k, big_n = len(n), sum(n)
    p = [xi / ni for xi, ni in zip(x, n, strict=True)]
    pooled = sum(x) / big_n
    msb = sum(ni * (pi - pooled) ** 2 for ni, pi in zip(n, p, strict=True)) / (k - 1)
    msw = sum(ni * pi * (1 - pi) for ni, pi in zip(n, p, strict=True)) / (big_n - k)
    n0 = (big_n - sum(ni * ni for ni in n) / big_n) / (k - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw), pooled


def test_fit_beta_prior_method_of_moments_by_hand():
    x, n = [3, 14, 5, 24, 9], [40, 40, 50, 60, 30]
    rho, pooled = _anova_rho(x, n)
    assert 0 < rho < 1
    strength = 1 / rho - 1
    assert 1 < strength < sum(n) / len(n)  # inside the bounds: no fallback
    prior = fit_beta_prior(x, n)
    assert prior.method == "moments"
    assert prior.n_reps == 5
    assert prior.mean == pytest.approx(pooled)
    assert prior.strength == pytest.approx(strength)
    assert prior.alpha == pytest.approx(pooled * strength)
    assert prior.beta == pytest.approx((1 - pooled) * strength)


def test_fit_beta_prior_recovers_a_known_prior():
    rng = np.random.default_rng(7)
    p = rng.beta(12.0, 28.0, size=600)  # mean 0.3, strength 40
    n = rng.integers(50, 400, size=600)
    x = rng.binomial(n, p)
    prior = fit_beta_prior(x, n)
    assert prior.method == "moments"
    assert prior.mean == pytest.approx(0.3, abs=0.01)
    assert prior.strength == pytest.approx(40, rel=0.2)


def test_fit_beta_prior_ignores_reps_without_trials():
    with_empty = fit_beta_prior([3, 14, 5, 24, 9, 0], [40, 40, 50, 60, 30, 0])
    without = fit_beta_prior([3, 14, 5, 24, 9], [40, 40, 50, 60, 30])
    assert with_empty == without


def test_fit_beta_prior_no_between_rep_variance_is_capped():
    prior = fit_beta_prior([5, 10, 20], [10, 20, 40])  # every rep at exactly 50%
    assert prior.method == "capped"
    assert prior.mean == pytest.approx(0.5)
    assert prior.strength == pytest.approx(70 / 3)  # the mean trials per rep


def test_fit_beta_prior_too_few_reps_is_weak():
    prior = fit_beta_prior([1, 9], [10, 10])
    assert prior.method == "too_few_reps"
    assert prior.strength == pytest.approx(2.0)
    assert prior.mean == pytest.approx(0.5)


def test_fit_beta_prior_all_zero_keeps_both_parameters_positive():
    prior = fit_beta_prior([0, 0, 0, 0], [5, 10, 5, 3])
    assert prior.alpha > 0 and prior.beta > 0
    assert prior.mean == pytest.approx(0.5 / 24)


def test_fit_beta_prior_no_data():
    prior = fit_beta_prior([0, 0], [0, 0])
    assert (prior.alpha, prior.beta, prior.method) == (1.0, 1.0, "no_data")


def test_shrink_hand_computed():
    np.testing.assert_allclose(shrink([0, 5, 50], [0, 10, 100], 2.0, 8.0), [0.2, 7 / 20, 52 / 110])


def test_shrink_rejects_non_positive_prior():
    with pytest.raises(ValueError):
        shrink(1, 2, 0.0, 1.0)


@given(
    alpha=st.floats(0.05, 500),
    beta=st.floats(0.05, 500),
    successes=st.integers(0, 200),
    extra_failures=st.integers(0, 200),
    factor=st.integers(2, 50),
)
def test_shrinkage_moves_small_samples_more_than_large_ones(alpha, beta, successes, extra_failures, factor):
    n = successes + extra_failures
    if n == 0:
        return
    rate = successes / n
    small = float(shrink(successes, n, alpha, beta))
    large = float(shrink(successes * factor, n * factor, alpha, beta))
    move_small, move_large = abs(small - rate), abs(large - rate)
    prior_mean = alpha / (alpha + beta)
    if abs(rate - prior_mean) > 1e-9:
        assert move_small > move_large
        # both move towards the prior mean, never past it
        assert min(rate, prior_mean) - 1e-12 <= large <= max(rate, prior_mean) + 1e-12
        assert min(rate, prior_mean) - 1e-12 <= small <= max(rate, prior_mean) + 1e-12
    else:
        assert move_small == pytest.approx(0, abs=1e-9) and move_large == pytest.approx(0, abs=1e-9)


# -- bootstrap -------------------------------------------------------------------------------


def test_cluster_resample_counts_is_deterministic_and_sums_to_clusters():
    a = cluster_resample_counts(30, 200, seed=3)
    b = cluster_resample_counts(30, 200, seed=3)
    c = cluster_resample_counts(30, 200, seed=4)
    assert a.shape == (200, 30)
    assert (a.sum(axis=1) == 30).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _clustered(seed, n_reps=40, n_periods=12, slope=1.0):
    rng = np.random.default_rng(seed)
    rep = np.repeat(np.arange(n_reps), n_periods)
    level = rng.normal(size=n_reps)[rep]  # rep effects make periods of one rep alike
    x = level + rng.normal(size=rep.size)
    y = slope * level + rng.normal(size=rep.size)
    return x, y, np.array([f"r{r}" for r in rep])


def test_rank_correlation_point_estimate_is_spearman():
    x, y, reps = _clustered(1)
    x[::7] = np.round(x[::7])  # some ties
    rc = rank_correlation(x, y, reps, n_resamples=200)
    assert rc.rho == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert rc.n_obs == len(x) and rc.n_clusters == 40
    assert rc.ci_low < rc.rho < rc.ci_high


def test_rank_correlation_drops_undefined_pairs():
    x, y, reps = _clustered(2)
    x[:25] = np.nan
    rc = rank_correlation(x, y, reps, n_resamples=100)
    ok = ~np.isnan(x)
    assert rc.n_obs == ok.sum()
    assert rc.rho == pytest.approx(sps.spearmanr(x[ok], y[ok]).statistic, abs=1e-12)


def test_rank_correlation_is_deterministic_for_a_seed():
    x, y, reps = _clustered(3)
    assert rank_correlation(x, y, reps, seed=11) == rank_correlation(x, y, reps, seed=11)
    assert rank_correlation(x, y, reps, seed=11).ci_low != rank_correlation(x, y, reps, seed=12).ci_low


def test_rank_correlation_interval_separates_signal_from_noise():
    x, y, reps = _clustered(4, slope=1.0)
    assert rank_correlation(x, y, reps).ci_low > 0
    x0, y0, reps0 = _clustered(5, slope=0.0)
    x0 = np.random.default_rng(9).permutation(x0)  # no relation at all
    rc = rank_correlation(x0, y0, reps0)
    assert rc.ci_low < 0 < rc.ci_high


def test_cluster_interval_is_wider_than_an_iid_one_on_clustered_data():
    x, y, reps = _clustered(6, n_reps=30, n_periods=20)
    clustered = rank_correlation(x, y, reps, seed=1)
    iid = rank_correlation(x, y, np.arange(len(x)), seed=1)
    assert (clustered.ci_high - clustered.ci_low) > 1.3 * (iid.ci_high - iid.ci_low)


def test_fixed_rank_bootstrap_is_close_to_re_ranking_each_resample():
    """The library ranks once; re-ranking every resample (textbook) gives nearly the same bounds."""
    x, y, reps = _clustered(8, n_reps=40, n_periods=10)
    codes = np.unique(reps, return_inverse=True)[1]
    _, first = np.unique(reps, return_index=True)
    order = np.argsort(first)  # clusters in order of first appearance, as the library draws them
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    codes = remap[codes]
    draws = cluster_resample_counts(40, 500, seed=0).astype(int)
    boot = []
    for weights in draws:
        idx = np.repeat(np.arange(len(x)), weights[codes])
        boot.append(sps.spearmanr(x[idx], y[idx]).statistic)
    exact_lo, exact_hi = np.quantile(boot, [0.025, 0.975])
    rc = rank_correlation(x, y, reps, n_resamples=500, seed=0)
    assert rc.ci_low == pytest.approx(exact_lo, abs=0.03)
    assert rc.ci_high == pytest.approx(exact_hi, abs=0.03)


def test_rank_correlation_constant_metric_is_undefined():
    _, y, reps = _clustered(9)
    rc = rank_correlation(np.zeros_like(y), y, reps)
    assert math.isnan(rc.rho) and math.isnan(rc.ci_low) and math.isnan(rc.ci_high)


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(-5, 5), st.floats(-5, 5)), min_size=3, max_size=40))
def test_rank_correlation_bounds_are_ordered(rows):
    reps, x, y = map(np.array, zip(*rows, strict=True))
    rc = rank_correlation(x, y, reps, n_resamples=50)
    if not math.isnan(rc.rho):
        assert -1 - 1e-9 <= rc.ci_low <= rc.ci_high <= 1 + 1e-9
        assert -1 - 1e-9 <= rc.rho <= 1 + 1e-9
