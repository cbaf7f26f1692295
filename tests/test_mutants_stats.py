"""Tests of salesx2lib.stats written to kill the mutants `make mutate` found surviving.

Each test names the fault it guards against. Expected values are worked out by hand in
the comments, or computed with scipy / plain numpy written here, never with the
module's own helpers. The survivors left (equivalent mutants) are listed in
docs/mutation.md.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from salesx2lib.stats import (
    cluster_resample_counts,
    fit_beta_prior,
    rank_correlation,
    shrink,
    wilson_interval,
    z_score,
)

# -- input checks: the exact message, and the edge of each check -------------------------------


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_confidence_must_be_strictly_between_0_and_1(confidence):
    with pytest.raises(ValueError, match=r"^confidence must be between 0 and 1"):
        z_score(confidence)


def test_confidence_just_inside_the_bounds_is_accepted():
    # Phi^-1(1 - 0.01/2) = 2.5758...; Phi^-1(1 - 0.99/2) = 0.01253...
    assert z_score(0.99) == pytest.approx(sps.norm.ppf(0.995))
    assert z_score(0.01) == pytest.approx(sps.norm.ppf(0.505))


@pytest.mark.parametrize(("x", "n"), [(1, -1), (-1, 3), (0, -1)])
def test_negative_counts_are_refused_with_their_message(x, n):
    with pytest.raises(ValueError, match=r"^successes and trials must not be negative$"):
        wilson_interval(x, n)


def test_successes_above_trials_are_refused_with_their_message():
    with pytest.raises(
        ValueError, match=r"^successes must not exceed trials \(cap them first, see competency\.funnel\)$"
    ):
        wilson_interval(4, 3)


@pytest.mark.parametrize(("alpha", "beta"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (1.0, -2.0)])
def test_shrink_refuses_a_prior_that_is_not_positive(alpha, beta):
    with pytest.raises(ValueError, match=r"^alpha and beta must be positive$"):
        shrink(1, 2, alpha, beta)


@pytest.mark.parametrize(("clusters", "resamples"), [(0, 5), (5, 0), (0, 0)])
def test_cluster_resample_counts_needs_a_cluster_and_a_resample(clusters, resamples):
    with pytest.raises(ValueError, match=r"^need at least one cluster and one resample$"):
        cluster_resample_counts(clusters, resamples, seed=0)


def test_cluster_resample_counts_accepts_one_cluster_and_one_resample():
    # one cluster drawn once with replacement: it is drawn exactly once
    np.testing.assert_array_equal(cluster_resample_counts(1, 1, seed=3), [[1]])


# -- Wilson: exact bounds at 0 and n, no warning at n = 0 ---------------------------------------


def test_wilson_upper_bound_is_exactly_one_when_every_trial_succeeds():
    # (x + z²/2 + z sqrt(z²/4)) / (n + z²) = 1 exactly at x = n; rounding puts the float
    # expression just below 1 for many n, and a user reads "100%" there, not 99.99999%.
    n = np.arange(1, 2001)
    _, high = wilson_interval(n, n)
    assert np.all(high == 1.0)


def test_wilson_of_zero_trials_is_nan_without_a_runtime_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = wilson_interval([0, 3], [0, 10])
    assert math.isnan(low[0]) and math.isnan(high[0])


# -- empirical-Bayes prior: each fallback at its edge --------------------------------------------


def test_prior_strength_is_at_least_one_when_reps_are_fully_separated():
    # Rates 0, 1, 0, 1 on 10 trials each: X = 20, N = 40, k = 4, p = 0.5, Q = sum x²/n = 20,
    # MSB = (Q - N p²)/(k-1) = 10/3, MSW = (X - Q)/(N - k) = 0, so rho = 1 and
    # 1/rho - 1 = 0, clipped up to the floor 1 (not capped: the cap N/k = 10 is not reached).
    prior = fit_beta_prior([0, 10, 0, 10], [10, 10, 10, 10])
    assert prior.method == "moments"
    assert (prior.alpha, prior.beta, prior.strength) == pytest.approx((0.5, 0.5, 1.0))


def test_prior_of_reps_with_one_trial_each_is_capped_at_one_trial():
    # n_i = 1 for every rep: MSW = 0/0 is undefined, so the strength is capped at N/k = 1.
    # Every rep counts (one trial is "at least one trial").
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prior = fit_beta_prior([1, 0, 1, 0], [1, 1, 1, 1])
    assert prior.n_reps == 4
    assert prior.method == "capped"
    assert (prior.alpha, prior.beta) == pytest.approx((0.5, 0.5))


def test_prior_of_a_group_where_every_trial_succeeded_is_smoothed():
    # Pooled rate 39/39 = 1 is smoothed to (39 + 0.5) / (39 + 1) = 0.9875.
    prior = fit_beta_prior([5, 10, 20, 4], [5, 10, 20, 4])
    assert prior.mean == pytest.approx(0.9875)
    assert prior.beta > 0


def test_prior_of_a_single_trial_is_weak_not_no_data():
    # N = 1 > 0: data, but one rep only -> strength 2 around (1 + 0.5) / (1 + 1) = 0.75.
    prior = fit_beta_prior([1], [1])
    assert prior.method == "too_few_reps"
    assert (prior.alpha, prior.beta) == pytest.approx((1.5, 0.5))


# -- rank correlation -----------------------------------------------------------------------------


def _weighted_spearman_interval(x, y, clusters, counts, confidence):
    """The test's own fixed-rank cluster bootstrap: ranks on the full sample (scipy), each
    resample repeats every observation of a cluster as often as the cluster was drawn,
    Pearson r of the repeated ranks with numpy, percentile interval with np.quantile."""
    x, y, clusters = np.asarray(x, float), np.asarray(y, float), np.asarray(clusters)
    ok = np.isfinite(x) & np.isfinite(y)
    rx, ry = sps.rankdata(x[ok]), sps.rankdata(y[ok])
    labels = list(dict.fromkeys(clusters.tolist()))  # order of first appearance, all rows
    index = np.array([labels.index(c) for c in clusters[ok].tolist()])
    rs = []
    for row in counts:
        w = np.asarray(row, dtype=int)[index]
        if w.sum() < 2:
            rs.append(np.nan)
            continue
        a, b = np.repeat(rx, w), np.repeat(ry, w)
        rs.append(np.nan if a.std() == 0 or b.std() == 0 else np.corrcoef(a, b)[0, 1])
    tail = (1 - confidence) / 2
    return np.nanquantile(rs, [tail, 1 - tail])


def _sample(seed=11, n_clusters=8, per=5):
    rng = np.random.default_rng(seed)
    clusters = np.repeat([f"r{i}" for i in range(n_clusters)], per)
    x = rng.normal(size=n_clusters * per) + np.repeat(rng.normal(size=n_clusters), per)
    y = 0.5 * x + rng.normal(size=n_clusters * per)
    return x, y, clusters


@pytest.mark.parametrize("confidence", [0.95, 0.6])
def test_rank_correlation_interval_equals_a_bootstrap_written_out(confidence):
    x, y, clusters = _sample()
    got = rank_correlation(x, y, clusters, n_resamples=300, confidence=confidence, seed=5)
    counts = cluster_resample_counts(8, 300, seed=5)  # the draws; the statistic is the test's
    low, high = _weighted_spearman_interval(x, y, clusters, counts, confidence)
    assert got.rho == pytest.approx(sps.spearmanr(x, y).statistic)
    assert (got.ci_low, got.ci_high) == pytest.approx((low, high), abs=1e-9)


def test_rank_correlation_with_a_cluster_whose_values_are_all_missing():
    # The last rep has no complete pair: it is still drawn (the resamples depend on the set
    # of clusters) and its rows are dropped after drawing.
    x, y, clusters = _sample()
    x[-5:] = np.nan
    got = rank_correlation(x, y, clusters, n_resamples=200, seed=2)
    counts = cluster_resample_counts(8, 200, seed=2)
    low, high = _weighted_spearman_interval(x, y, clusters, counts, 0.95)
    assert (got.n_obs, got.n_clusters) == (35, 7)
    assert got.rho == pytest.approx(sps.spearmanr(x[:-5], y[:-5]).statistic)
    assert (got.ci_low, got.ci_high) == pytest.approx((low, high), abs=1e-9)


def test_rank_correlation_missing_cluster_label_is_a_cluster_of_its_own():
    x, y, clusters = _sample(n_clusters=4)
    clusters = clusters.astype(object)
    clusters[:5] = None
    got = rank_correlation(x, y, clusters, n_resamples=50)
    assert got.n_clusters == 4
    assert np.isfinite(got.ci_low) and np.isfinite(got.ci_high)


def test_rank_correlation_defaults_are_1000_resamples_and_seed_0():
    x, y, clusters = _sample()
    assert rank_correlation(x, y, clusters) == rank_correlation(
        x, y, clusters, n_resamples=1000, seed=0, confidence=0.95
    )


def test_rank_correlation_of_three_pairs_is_defined():
    # ranks (1, 2, 3) and (1, 3, 2): rho = 1 - 6 * (0 + 1 + 1) / (3 * 8) = 0.5
    got = rank_correlation([1.0, 2.0, 3.0], [10.0, 30.0, 20.0], ["a", "b", "c"], n_resamples=20)
    assert got.rho == pytest.approx(0.5)
    assert (got.n_obs, got.n_clusters) == (3, 3)


def test_rank_correlation_of_two_pairs_reports_its_counts():
    got = rank_correlation([1.0, 2.0, np.nan], [1.0, 2.0, 3.0], ["a", "b", "b"])
    assert math.isnan(got.rho) and math.isnan(got.ci_low) and math.isnan(got.ci_high)
    assert (got.n_obs, got.n_clusters) == (2, 2)


def test_rank_correlation_of_a_constant_variable_reports_its_counts_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rank_correlation([2.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], list("aabbcc"))
    assert math.isnan(got.rho) and math.isnan(got.ci_low) and math.isnan(got.ci_high)
    assert (got.n_obs, got.n_clusters) == (6, 3)


def test_rank_correlation_resample_count_edge():
    x, y, clusters = _sample(n_clusters=4)
    one = rank_correlation(x, y, clusters, n_resamples=1)
    assert np.isfinite(one.ci_low) and one.ci_low == one.ci_high  # one resample: one value
    with pytest.raises(ValueError, match=r"^need at least one resample$"):
        rank_correlation(x, y, clusters, n_resamples=0)


def test_rank_correlation_lengths_must_match_with_its_message():
    with pytest.raises(ValueError, match=r"^x, y and clusters must have the same length$"):
        rank_correlation([1.0, 2.0, 3.0], [1.0, 2.0], ["a", "b", "c"])
