"""Kaplan-Meier: hand computations, the quantile convention, and statsmodels as reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from salesx2lib.survival import kaplan_meier, km_quantile, km_quantile_ci, km_survival_at


def test_hand_computed_table():
    # times 2(e) 3(e) 3(c) 5(e) 8(c): at risk 5, 4, 2, 1
    km = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, True, False])
    assert km["time"].tolist() == [2.0, 3.0, 5.0, 8.0]
    assert km["n_at_risk"].tolist() == [5, 4, 2, 1]
    assert km["n_events"].tolist() == [1, 1, 1, 0]
    assert km["n_censored"].tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(km["survival"], [0.8, 0.6, 0.3, 0.3])
    # Greenwood at t=2: 0.8 * sqrt(1 / (5 * 4))
    assert km["se"].iloc[0] == pytest.approx(0.8 * math.sqrt(1 / 20))
    # t=3: 0.6 * sqrt(1/20 + 1/(4*3))
    assert km["se"].iloc[1] == pytest.approx(0.6 * math.sqrt(1 / 20 + 1 / 12))
    assert km_quantile(km, 0.5) == 5.0  # first S <= 0.5
    assert km_quantile(km, 0.25) == 3.0  # first S <= 0.75
    assert math.isnan(km_quantile(km, 0.75))  # S never reaches 0.25: not reached


def test_loglog_interval_matches_formula():
    km = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, True, False])
    s, v = 0.6, 1 / 20 + 1 / 12
    theta = math.sqrt(v) / abs(math.log(s))
    z = 1.959963984540054
    assert km["ci_low"].iloc[1] == pytest.approx(s ** math.exp(z * theta))
    assert km["ci_high"].iloc[1] == pytest.approx(s ** math.exp(-z * theta))
    assert (km["ci_low"] <= km["survival"]).all() and (km["survival"] <= km["ci_high"]).all()


def test_quantile_convention_at_exact_level():
    # S = 0.75, 0.5, 0.25, 0: S equals 0.5 exactly from t=2; lifelines' rule gives 2,
    # SAS/statsmodels (strict S < 0.5) give 3. We document and keep the former.
    km = kaplan_meier([1, 2, 3, 4], [True] * 4)
    assert km_quantile(km, 0.5) == 2.0
    assert SurvfuncRight(np.array([1.0, 2, 3, 4]), np.ones(4)).quantile(0.5) == 3.0


def test_all_censored_has_no_median():
    km = kaplan_meier([5, 9, 12], [False, False, False])
    assert (km["survival"] == 1.0).all()
    assert math.isnan(km_quantile(km, 0.5))
    assert all(math.isnan(x) for x in km_quantile_ci(km, 0.5))


def test_empty_input():
    km = kaplan_meier([], [])
    assert len(km) == 0
    assert math.isnan(km_quantile(km, 0.5))


@pytest.mark.parametrize("bad", [[1.0, -1.0], [1.0, float("nan")]])
def test_rejects_bad_durations(bad):
    with pytest.raises(ValueError, match="durations"):
        kaplan_meier(bad, [True, True])


def test_survival_at_reads_the_step_function():
    km = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, True, False])
    np.testing.assert_allclose(km_survival_at(km, [0, 1.99, 2, 4, 100]), [1.0, 1.0, 0.8, 0.6, 0.3])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels takes log(0) at S = 0
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = 150
    # Continuous times (no exact ties at a quantile level) plus a block of tied whole days.
    t = np.r_[rng.exponential(30, n), np.round(rng.exponential(30, 50))]
    e = rng.random(len(t)) < 0.7
    km = kaplan_meier(t, e)
    ref = SurvfuncRight(t, e.astype(float))
    ev = km.loc[km["n_events"] > 0]
    np.testing.assert_allclose(ev["time"], ref.surv_times)
    np.testing.assert_allclose(ev["survival"], ref.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(ev["se"], ref.surv_prob_se, rtol=1e-10, equal_nan=True)
    np.testing.assert_array_equal(ev["n_at_risk"], ref.n_risk)
    for q in (0.25, 0.5, 0.75):
        mine, theirs = km_quantile(km, q), ref.quantile(q)
        assert mine == pytest.approx(theirs) or (math.isnan(mine) and math.isnan(theirs))
        lo, hi = km_quantile_ci(km, q)
        rlo, rhi = ref.quantile_ci(q)
        assert lo == pytest.approx(rlo)
        assert hi == pytest.approx(rhi) or (math.isnan(hi) and math.isinf(rhi))
