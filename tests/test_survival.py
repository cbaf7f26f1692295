"""Kaplan-Meier: hand computations, the quantile convention, and statsmodels as reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
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


# --- delayed entry (left truncation) -------------------------------------------------


def test_delayed_entry_hand_computed():
    # T:     2(e) 4(e) 5(c) 6(e) 7(e)
    # entry: 0    3    0    4    0      (risk set n_i = #{entry_j < t_i <= T_j})
    # t=2: subjects 1, 3, 5 (2 and 4 enter later)                -> n=3, S = 2/3
    # t=4: subjects 2 (entered 3), 3, 4? no: entry 4 is not < 4; 5 -> n=3, S = 2/3 * 2/3
    # t=5: subjects 3, 4 (entered 4 < 5), 5 (censoring only)         -> n=3, S = 4/9
    # t=6: subjects 4 (entered 4), 5                                -> n=2, S = 4/9 * 1/2
    # t=7: subject 5                                                -> n=1, S = 0
    km = kaplan_meier([2, 4, 5, 6, 7], [True, True, False, True, True], entry=[0, 3, 0, 4, 0])
    assert km["time"].tolist() == [2.0, 4.0, 5.0, 6.0, 7.0]
    assert km["n_at_risk"].tolist() == [3, 3, 3, 2, 1]
    np.testing.assert_allclose(km["survival"], [2 / 3, 4 / 9, 4 / 9, 2 / 9, 0.0])
    # Greenwood with the same n_i: 1/(3*2) + 1/(3*2) at t=4
    assert km["se"].iloc[1] == pytest.approx(4 / 9 * math.sqrt(1 / 6 + 1 / 6))
    assert km["se"].iloc[3] == pytest.approx(2 / 9 * math.sqrt(1 / 6 + 1 / 6 + 1 / 2))
    # Ignoring the delayed entry, subject 2 and 4 would be at risk at t=2: S(2) = 4/5.
    assert kaplan_meier([2, 4, 5, 6, 7], [True, True, False, True, True])["survival"].iloc[0] == 0.8


def test_entry_zero_is_no_truncation():
    t = [0.0, 0.0, 2, 3, 3, 5, 8]
    e = [True, False, True, True, False, True, False]
    pd.testing.assert_frame_equal(kaplan_meier(t, e), kaplan_meier(t, e, entry=np.zeros(7)))


def test_entry_equal_to_duration_is_never_at_risk():
    # The third subject enters at 3 and leaves at 3: never in a risk set (entry_j < t <= T_j).
    km = kaplan_meier([2, 5, 3], [True, True, True], entry=[0, 0, 3])
    assert km["time"].tolist() == [2.0, 5.0]
    assert km["n_at_risk"].tolist() == [2, 1]
    assert km["n_events"].tolist() == [1, 1]


@pytest.mark.parametrize("bad", [[0.0, 6.0], [-1.0, 0.0], [float("nan"), 0.0]])
def test_rejects_bad_entry(bad):
    with pytest.raises(ValueError, match="entry"):
        kaplan_meier([3.0, 5.0], [True, True], entry=bad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels takes log(0) at S = 0
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 6, 7])
def test_delayed_entry_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = 200
    # Continuous times plus a block of tied whole days; a third of subjects enter late,
    # some of them exactly at another subject's event time (ties between entry and event).
    t = np.r_[rng.exponential(30, n) + 0.5, np.round(rng.exponential(30, 60)) + 1.0]
    e = rng.random(len(t)) < 0.7
    late = rng.random(len(t)) < 0.35
    entry = np.where(late, t * rng.random(len(t)), 0.0)
    tied = late & (rng.random(len(t)) < 0.3)
    entry = np.where(tied, rng.choice(t[e], len(t)), entry)
    entry = np.where(entry < t, entry, 0.0)  # statsmodels requires entry < time
    assert (np.isin(entry[entry > 0], t[e])).sum() > 5
    km = kaplan_meier(t, e, entry=entry)
    ref = SurvfuncRight(t, e.astype(float), entry=entry)
    ev = km.loc[km["n_events"] > 0]
    np.testing.assert_allclose(ev["time"], ref.surv_times)
    np.testing.assert_array_equal(ev["n_at_risk"], ref.n_risk)
    np.testing.assert_allclose(ev["survival"], ref.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(ev["se"], ref.surv_prob_se, rtol=1e-10, equal_nan=True)
    assert not np.allclose(ev["survival"], kaplan_meier(t, e).loc[lambda k: k["n_events"] > 0, "survival"])
    for q in (0.25, 0.5, 0.75):
        mine, theirs = km_quantile(km, q), ref.quantile(q)
        assert mine == pytest.approx(theirs) or (math.isnan(mine) and math.isnan(theirs))
        lo, hi = km_quantile_ci(km, q)
        rlo, rhi = ref.quantile_ci(q)
        assert lo == pytest.approx(rlo) or (math.isnan(lo) and math.isnan(rlo))
        assert hi == pytest.approx(rhi) or (math.isnan(hi) and math.isinf(rhi))
