"""Tests of salesx2lib.relevance written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function). Expected values are worked
out by hand in the comments, or by scipy / statsmodels. The survivors left (equivalent
mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from salesx2lib import relevance
from salesx2lib.competency import rep_counts
from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.settings import load_settings

US = "datetime64[us]"
T = pd.Timestamp
W0, W1, W2, W3 = (T("2026-03-02") + pd.Timedelta(days=7 * k) for k in range(4))


def _weeks(rows: list[tuple]) -> pd.DataFrame:
    """Weekly counts from (rep, team, week, dials, emails, meetings, won, lost, won_amount, lost_amount)."""
    frame = pd.DataFrame(rows, columns=["rep_id", "team", "period_start", "dials", "emails", "meetings", "won", "lost",
                                        "won_amount", "lost_amount"])
    return frame.astype({"rep_id": "str", "team": "str", "period_start": US})


def _tiny() -> pd.DataFrame:
    """Three reps, two weeks: one as-of date (week 1) with lookback 1 and horizon 1.

    Week 0 (the lookback): dials 1, 2, 3; emails 3, 1, 2; win rates 1/4, 1/2, 1/1; deal sizes 10, 20, 60;
    meetings 0 for all (no spread). Week 1 (the result): won 5, 6, 7.
    """
    return _weeks([
        ("a", "T", W0, 1, 3, 0, 1, 3, 10.0, 0.0),
        ("a", "T", W1, 0, 0, 0, 1, 0, 5.0, 0.0),
        ("b", "T", W0, 2, 1, 0, 1, 1, 20.0, 0.0),
        ("b", "T", W1, 0, 0, 0, 1, 0, 6.0, 0.0),
        ("c", "U", W0, 3, 2, 0, 1, 0, 60.0, 0.0),
        ("c", "U", W1, 0, 0, 0, 1, 0, 7.0, 0.0),
    ])


# -- periods_for_days, windows -------------------------------------------------------------------


@pytest.mark.parametrize(("days", "freq", "periods"),
                         [(30.5, "month", 2), (30.4, "month", 1), (14.0, "week", 2), (14.01, "week", 3),
                          (0.5, "day", 1), (2.0, "day", 2)])
def test_periods_for_days_more_edges(days, freq, periods):
    # a month is 365.25 / 12 = 30.4375 days: 30.5 days need 2 months, 30.4 one
    assert relevance.periods_for_days(days, freq) == periods


def test_periods_for_days_refuses_bad_input():
    with pytest.raises(ValueError, match=r"^freq must be one of day, week, month, not 'year'$"):
        relevance.periods_for_days(7.0, "year")
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=rf"^days must be a positive number, not {bad!r}$"):
            relevance.periods_for_days(bad, "week")


def test_windows_from_settings_and_from_the_cycle(valid_folder):
    ds = load_dataset(valid_folder)
    base = load_settings()
    # the measured cycle: 23.17 days (see test_relevance): 24 days, 4 weeks
    assert relevance.windows(ds, "day", settings=base) == (24, 24)
    # horizon set, lookback 0: the lookback is the horizon (10 days: 2 weeks)
    set_h = dataclasses.replace(base, relevance_horizon_days=10, relevance_lookback_days=0)
    assert relevance.windows(ds, "week", settings=set_h) == (2, 2)
    # lookback set, horizon 0: the horizon is measured (4 weeks), the lookback 8 days (2 weeks)
    set_l = dataclasses.replace(base, relevance_horizon_days=0, relevance_lookback_days=8)
    assert relevance.windows(ds, "week", settings=set_l) == (2, 4)
    # a horizon of 1 day is set, not measured; a lookback of 1 day is set, not the horizon
    one = dataclasses.replace(base, relevance_horizon_days=1, relevance_lookback_days=1)
    assert relevance.windows(ds, "day", settings=one) == (1, 1)
    short = dataclasses.replace(base, relevance_horizon_days=3, relevance_lookback_days=1)
    assert relevance.windows(ds, "day", settings=short) == (1, 3)
    # the cycle is measured with the settings' [cycle] data_start: from 20 January, O3 (created 9 January,
    # lost 20 January 09:00) enters at 10.5 days and is alone at risk when it closes at 10.9 days: median
    # 10.9 days, 2 weeks (23.2 days, 4 weeks, from creation)
    late = dataclasses.replace(base, cycle_data_start="2026-01-20")
    assert relevance.windows(ds, "week", settings=late) == (2, 2)


def test_windows_refuses_a_cycle_that_cannot_be_measured(valid_folder):
    ds = load_dataset(valid_folder)
    # as of 25 January only O3 is decided (lost after 10.9 days): survival stays at 2/3, no median
    message = (r"^the sales cycle cannot be measured on this data \(no decided deals, or more than half still "
               r"open\): set \[relevance\] horizon_days in the settings$")
    with pytest.raises(ValueError, match=message):
        relevance.windows(ds, "week", as_of="2026-01-25", settings=load_settings())


def _cycle_dataset(hours: float) -> Dataset:
    """Three deals, each decided ``hours`` after its creation; no activity log."""
    created = pd.to_datetime(["2026-03-02 09:00", "2026-03-03 09:00", "2026-03-04 09:00"]).astype(US)
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2", "o3"], "rep_id": "a", "created_at": created,
                         "amount": 10.0, "stage": "Closed Won", "status": "won",
                         "expected_close_date": created.normalize(), "closed_at": created + pd.Timedelta(hours=hours)})
    opps = opps.astype({"opportunity_id": "str", "rep_id": "str", "stage": "str", "status": "str",
                        "expected_close_date": US, "closed_at": US})
    reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"], "manager": ["M"]}).astype("str")
    return Dataset(tables={"reps": reps, "opportunities": opps}, activities=None, as_of=T("2026-04-01"))


def test_windows_of_a_cycle_shorter_than_a_day_and_of_an_instant_one():
    # every deal decided 12 hours after creation: median half a day, one day
    assert relevance.windows(_cycle_dataset(12), "day", settings=load_settings()) == (1, 1)
    # decided at creation: median 0 days, which measures nothing
    with pytest.raises(ValueError, match=r"^the sales cycle cannot be measured"):
        relevance.windows(_cycle_dataset(0), "day", settings=load_settings())


# -- window_counts -------------------------------------------------------------------------------


def test_window_counts_messages():
    counts = _tiny()
    with pytest.raises(ValueError, match=r"^period_counts has no period_start column: build it with "
                                         r"rep_counts\(\.\.\., freq=\.\.\.\)$"):
        relevance.window_counts(counts.drop(columns="period_start"), "week", lookback=1, horizon=1)
    with pytest.raises(ValueError, match=r"^period_start values are not month starts: pass the freq the counts "
                                         r"were built with$"):
        relevance.window_counts(counts, "month", lookback=1, horizon=1)
    for lookback, horizon in ((1, 0), (0, 1)):
        with pytest.raises(ValueError, match=rf"^lookback and horizon must be at least 1 period, not {lookback} "
                                             rf"and {horizon}$"):
            relevance.window_counts(counts, "week", lookback=lookback, horizon=horizon)


def _assert_empty_windows(out: pd.DataFrame) -> None:
    assert out.empty
    assert out.columns.tolist() == ["rep_id", "team", "as_of", "dials", "emails", "meetings", "won", "lost",
                                    "won_amount", "lost_amount", "result"]
    assert out.dtypes.astype(str).tolist() == ["str", "str", US, "int64", "int64", "int64", "int64", "int64",
                                               "float64", "float64", "float64"]


def test_window_counts_empty_and_too_short():
    _assert_empty_windows(relevance.window_counts(_tiny().iloc[0:0], "week", lookback=1, horizon=1))
    # two weeks cannot hold a lookback of 1 and a horizon of 2
    _assert_empty_windows(relevance.window_counts(_tiny(), "week", lookback=1, horizon=2))
    # the same for months (month starts are not Mondays: the short frame is checked as months too)
    months = _tiny().assign(period_start=lambda f: f["period_start"].map({W0: T("2026-03-01"), W1: T("2026-04-01")}))
    _assert_empty_windows(relevance.window_counts(months.astype({"period_start": US}), "month", lookback=1, horizon=2))


def test_window_counts_by_hand_with_teams_and_float_sums():
    counts = _weeks([
        ("a", "T", W0, 1, 0, 0, 0, 0, 0.1, 0.0),
        ("a", "T", W1, 2, 0, 0, 0, 0, 0.2, 0.0),
        ("a", "T", W2, 4, 0, 0, 0, 0, 0.4, 0.0),
        ("a", "T", W3, 8, 0, 0, 0, 0, 0.8, 0.0),
        ("b", "U", W1, 3, 1, 0, 0, 0, 3.0, 0.0),
        ("b", "U", W2, 5, 1, 0, 0, 0, 5.0, 0.0),
        ("b", "U", W3, 7, 1, 0, 0, 0, 7.0, 0.0),
    ])
    out = relevance.window_counts(counts, "week", lookback=2, horizon=1)
    # as-of W2: weeks 0-1 before, week 2 after; as-of W3: weeks 1-2, week 3. b starts in week 1: W3 only.
    # a's won_amount over weeks 0-1 is 0.1 + 0.2, rounded to 6 decimals: exactly 0.3
    assert out["rep_id"].tolist() == ["a", "a", "b"]
    assert out["team"].tolist() == ["T", "T", "U"]
    assert out["as_of"].tolist() == [W2, W3, W3]
    assert out["dials"].tolist() == [3, 6, 8]
    assert out["emails"].tolist() == [0, 0, 2]
    assert out["won_amount"].tolist() == [0.3, 0.6, 8.0]
    np.testing.assert_allclose(out["result"], [0.4, 0.8, 7.0])
    # lookback 1, horizon 2: as-of W1 (week 0; weeks 1-2) and W2 (week 1; weeks 2-3); b: W2 only
    out = relevance.window_counts(counts, "week", lookback=1, horizon=2)
    assert out[["rep_id", "as_of"]].to_numpy().tolist() == [["a", W1], ["a", W2], ["b", W2]]
    assert out["dials"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(out["result"], [0.6, 1.2, 12.0])


def test_window_counts_daily():
    days = pd.date_range("2026-03-02", periods=3, freq="D")
    counts = pd.DataFrame({"rep_id": "a", "team": "T", "period_start": days, "dials": [1, 2, 3], "won": 0, "lost": 0,
                           "won_amount": [10.0, 20.0, 40.0], "lost_amount": 0.0})
    counts = counts.astype({"rep_id": "str", "team": "str", "period_start": US})
    out = relevance.window_counts(counts, "day", lookback=1, horizon=1)
    assert out["as_of"].tolist() == [T("2026-03-03"), T("2026-03-04")]
    assert out["dials"].tolist() == [1, 2] and out["result"].tolist() == [20.0, 40.0]


# -- ranks, scores, demeaning ----------------------------------------------------------------------


def test_within_scores_unsorted_periods_and_ties():
    # period codes in any order; period 1 has a tie (2, 2) and period 0 four pairs
    x = np.array([2.0, 10.0, 2.0, 30.0, 1.0, 20.0, 40.0])
    y = np.array([1.0, 4.0, 2.0, 3.0, 3.0, 1.0, 2.0])
    period = np.array([1, 0, 1, 0, 1, 0, 0])
    rep = np.arange(7)
    sx, sy, keep = relevance.within_scores(x, y, period, rep)
    assert keep.all()
    # period 1 (n 3): x ranks 2.5, 2.5, 1 -> (r - 2) / 3; y ranks 1, 2, 3
    # period 0 (n 4): x ranks 1, 3, 2, 4 -> (r - 2.5) / 4; y ranks 4, 3, 1, 2
    np.testing.assert_allclose(sx, [1 / 6, -3 / 8, 1 / 6, 1 / 8, -1 / 3, -1 / 8, 3 / 8])
    np.testing.assert_allclose(sy, [-1 / 3, 3 / 8, 0, 1 / 8, 1 / 3, -3 / 8, -1 / 8])
    # scipy's mid-ranks agree
    for t, n in ((0, 4), (1, 3)):
        np.testing.assert_allclose(sx[period == t], (sps.rankdata(x[period == t]) - (n + 1) / 2) / n)


def test_within_scores_when_the_last_period_has_no_usable_pair():
    x = np.array([1.0, 2.0, 3.0, np.nan, np.nan])
    y = np.array([3.0, 2.0, 1.0, 1.0, 2.0])
    sx, sy, keep = relevance.within_scores(x, y, np.array([0, 0, 0, 1, 1]), np.arange(5))
    assert keep.tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(sx, [-1 / 3, 0, 1 / 3])
    np.testing.assert_allclose(sy, [1 / 3, 0, -1 / 3])


def test_within_scores_of_nothing_and_refusals():
    empty = np.zeros(0)
    codes = np.zeros(0, dtype="int64")
    sx, sy, keep = relevance.within_scores(empty, empty, codes, codes)
    assert sx.size == sy.size == keep.size == 0
    sx, sy, keep = relevance.within_scores(empty, empty, codes, codes, "period_and_rep")
    assert sx.size == 0
    with pytest.raises(ValueError, match=r"^within must be one of period, period_and_rep, not 'rep'$"):
        relevance.within_scores(empty, empty, codes, codes, "rep")


def test_period_and_rep_scores_by_hand():
    # three reps, two periods: x ranks (1, 2, 3) then (2, 1, 3): scores (-1/3, 0, 1/3), (0, -1/3, 1/3)
    x = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 3.0])
    y = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    period = np.array([0, 0, 0, 1, 1, 1])
    rep = np.array([0, 1, 2, 0, 1, 2])
    sx, sy, _ = relevance.within_scores(x, y, period, rep, "period_and_rep", gap=1)
    # rep means -1/6, -1/6, 1/3: a (-1/6, 1/6), b (1/6, -1/6), c (0, 0); the period means are then 0 already
    np.testing.assert_allclose(sx, [-1 / 6, 1 / 6, 0, 1 / 6, -1 / 6, 0], atol=1e-12)
    np.testing.assert_allclose(sy, np.zeros(6), atol=1e-12)  # y ranks the same in both periods
    sx_default, _, _ = relevance.within_scores(x, y, period, rep, "period_and_rep")  # gap 1 by default
    np.testing.assert_allclose(sx_default, sx, atol=1e-12)
    # gap 2: the two periods are different phases: each (rep, phase) holds one pair, demeaned to 0
    sx, _, _ = relevance.within_scores(x, y, period, rep, "period_and_rep", gap=2)
    np.testing.assert_allclose(sx, np.zeros(6), atol=1e-12)


def test_period_and_rep_scores_converge_on_an_unbalanced_panel():
    # rep 3 misses period 2: the alternating projections need several rounds to reach zero means
    rng = np.random.default_rng(11)
    period = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    rep = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
    x = rng.normal(size=11) + rep
    sx, _, _ = relevance.within_scores(x, rng.normal(size=11), period, rep, "period_and_rep", gap=1)
    frame = pd.DataFrame({"s": sx, "p": period, "r": rep})
    assert frame.groupby("p")["s"].mean().abs().max() < 1e-11
    assert frame.groupby("r")["s"].mean().abs().max() < 1e-11


# -- adjust_p_values ---------------------------------------------------------------------------------


def test_adjust_p_values_edges():
    assert relevance.adjust_p_values(np.array([])).size == 0
    p = np.array([0.02, 0.01, 0.5, 0.3])
    # default Holm: sorted .01 .02 .3 .5 -> x4, x3, x2, x1 = .04, .06, .6, .5 -> running max .04 .06 .6 .6
    np.testing.assert_allclose(relevance.adjust_p_values(p), [0.06, 0.04, 0.6, 0.6])
    # BH: m p / j = .04, .04, .4, .5 -> running min from the top: .04 .04 .4 .5
    np.testing.assert_allclose(relevance.adjust_p_values(p, "fdr_bh"), [0.04, 0.04, 0.5, 0.4])
    # Holm caps 2 x .6 = 1.2 at 1; one p-value is its own adjustment
    np.testing.assert_allclose(relevance.adjust_p_values([0.6, 0.9], "holm"), [1.0, 1.0])
    np.testing.assert_allclose(relevance.adjust_p_values([0.6, 0.9], "fdr_bh"), [0.9, 0.9])
    assert relevance.adjust_p_values([0.7], "holm").tolist() == [0.7]
    with pytest.raises(ValueError, match=r"^adjust must be one of holm, fdr_bh, not 'bonferroni'$"):
        relevance.adjust_p_values(p, "bonferroni")


# -- the statistic on given resamples and signs ------------------------------------------------------


def test_infer_by_hand():
    # pairs of reps 0, 0, 1, 2; rep 3 has none (it still has a column in the resamples and signs)
    sx = np.array([1.0, 1.0, -1.0, 0.5])
    sy = np.array([1.0, 2.0, -1.0, -1.0])
    rep = np.array([0, 0, 1, 2])
    # per rep: sxy 3, 1, -.5, 0; sxx 2, 1, .25, 0; syy 5, 1, 1, 0 -> rho = 3.5 / sqrt(3.25 x 7)
    resamples = np.array([[1, 1, 1, 1], [3, 0, 0, 1], [0, 3, 0, 1], [0, 0, 3, 1], [2, 1, 0, 1], [0, 0, 0, 4]], float)
    # resampled rho: rho, 9 / sqrt(6 x 15), 3 / 3 = 1, -1.5 / sqrt(.75 x 3) = -1, 7 / sqrt(5 x 11), and 0/0 (NaN,
    # left out); sorted -1, rho, .9439, .9487, 1: the 25% and 75% quantiles are the 2nd and 4th
    signs = np.array([[1, 1, 1, 1], [-1, 1, 1, -1], [1, -1, 1, 1], [1, 1, -1, 1], [-1, -1, 1, 1]], float)
    # |w . sxy| = 3.5, 2.5, 1.5, 4.5, 4.5: 3 of 5 at least the observed 3.5 (a tie counts): p = (1 + 3) / (5 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 0/0 resample is divided quietly
        rho, low, high, p = relevance._infer(sx, sy, rep, 4, resamples, signs, 0.5)
    assert rho == pytest.approx(3.5 / math.sqrt(3.25 * 7), rel=1e-12)
    assert low == pytest.approx(rho, rel=1e-12)
    assert high == pytest.approx(9 / math.sqrt(90), rel=1e-12)
    assert p == pytest.approx(4 / 6, rel=1e-12)
    # confidence .9: the 5% and 95% quantiles (positions .2 and 3.8 of 0..4): -1 + .2 (rho + 1), .9487 + .8 (1 - .9487)
    _, low, high, _ = relevance._infer(sx, sy, rep, 4, resamples, signs, 0.9)
    assert low == pytest.approx(-1 + 0.2 * (rho + 1), rel=1e-12)
    assert high == pytest.approx(9 / math.sqrt(90) + 0.8 * (1 - 9 / math.sqrt(90)), rel=1e-12)


def test_infer_without_spread_is_undefined():
    rep = np.array([0, 1, 2])
    resamples = np.ones((2, 3))
    signs = np.ones((2, 3))
    flat, varied = np.zeros(3), np.array([1.0, -1.0, 0.0])
    for sx, sy in ((flat, varied), (varied, flat)):
        out = relevance._infer(sx, sy, rep, 3, resamples, signs, 0.95)
        assert all(math.isnan(v) for v in out)


# -- relevance -----------------------------------------------------------------------------------------


def test_relevance_by_hand_on_one_as_of_date():
    out = relevance.relevance(_tiny(), "week", horizon=1, n_resamples=99, min_reps=3)
    # one as-of date (week 1), 3 pairs per metric; results 5, 6, 7 rank 1, 2, 3: score (r - 2) / 3
    # dials 1 2 3, win rate 1/4 1/2 1, deal size 10 20 60 rank the same: rho 1; emails 3 1 2:
    # scores (1/3, -1/3, 0) against (-1/3, 0, 1/3): rho = (-1/9) / (2/9) = -1/2; meetings never vary: NaN
    assert out.columns.tolist() == list(relevance.RELEVANCE_COLUMNS)
    assert out["metric"].tolist() == ["dials", "win_rate", "avg_deal_size", "emails", "meetings"]  # by rho, stable
    assert out["kind"].tolist() == ["task", "competency", "competency", "task", "task"]
    np.testing.assert_allclose(out["rho"], [1.0, 1.0, 1.0, -0.5, np.nan])
    assert out["n_obs"].tolist() == [3] * 5
    assert out["n_reps"].tolist() == [3] * 4 + [3]
    assert out["n_periods"].tolist() == [1] * 5
    assert (out["lookback"] == 1).all() and (out["horizon"] == 1).all()
    # every resample of a rho-1 metric gives 1 (or 0/0 when only b, the middle rep, is drawn)
    np.testing.assert_allclose(out["ci_low"][:3], 1.0)
    np.testing.assert_allclose(out["ci_high"][:3], 1.0)
    assert out["label"].tolist()[-1] == "insufficient_data" and np.isnan(out["p_value"].iloc[-1])
    assert (out["label"][:4] != "insufficient_data").all()
    # p = (1 + #{b : |w . s| >= |sum s|}) / (99 + 1): a multiple of 1/100, at least 1/100
    p = out["p_value"][:4].to_numpy()
    np.testing.assert_allclose(p * 100, np.round(p * 100), atol=1e-9)
    assert (p >= 0.01).all() and (p <= 1.0).all()
    np.testing.assert_allclose(out["p_adjusted"][:4], multipletests(p, method="holm")[1])
    assert out.dtypes.astype(str).tolist() == ["str", "str", "int64", "int64", "int64", "float64", "float64",
                                               "float64", "float64", "float64", "str", "int64", "int64"]
    # four reps needed, three there: nothing is judged
    fewer = relevance.relevance(_tiny(), "week", horizon=1, n_resamples=99, min_reps=4)
    assert set(fewer["label"]) == {"insufficient_data"} and fewer["p_value"].isna().all()
    assert fewer["p_adjusted"].isna().all()


def test_relevance_one_rep_carrying_everything_has_p_one():
    counts = _weeks([
        ("a", "T", W0, 1, 0, 0, 0, 0, 0.0, 0.0), ("a", "T", W1, 0, 0, 0, 0, 0, 1.0, 0.0),
        ("b", "T", W0, 2, 0, 0, 0, 0, 0.0, 0.0), ("b", "T", W1, 0, 0, 0, 0, 0, 3.0, 0.0),
        ("c", "T", W0, 3, 0, 0, 0, 0, 0.0, 0.0), ("c", "T", W1, 0, 0, 0, 0, 0, 2.0, 0.0),
    ])
    # dials 1 2 3 -> scores -1/3, 0, 1/3; results 1 3 2 -> -1/3, 1/3, 0: only a contributes, s = (1/9, 0, 0)
    # rho = (1/9) / sqrt(2/9 x 2/9) = 1/2; every sign vector gives |w . s| = 1/9, a tie with the observed
    # sum, so all 9 count: p = (1 + 9) / (9 + 1) = 1
    out = relevance.relevance(counts, "week", horizon=1, n_resamples=9, min_reps=3).set_index("metric")
    assert out.loc["dials", "rho"] == pytest.approx(0.5, rel=1e-12)
    assert out.loc["dials", "p_value"] == 1.0
    assert out.loc["dials", "label"] == "not_predictive"


def test_relevance_refuses_bad_arguments_with_messages():
    counts = _tiny()
    with pytest.raises(ValueError, match=r"^within must be one of period, period_and_rep, not 'rep'$"):
        relevance.relevance(counts, "week", horizon=1, within="rep")
    with pytest.raises(ValueError, match=r"^adjust must be one of holm, fdr_bh, not 'none'$"):
        relevance.relevance(counts, "week", horizon=1, adjust="none")
    for alpha in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=rf"^alpha must be between 0 and 1, not {alpha!r}$"):
            relevance.relevance(counts, "week", horizon=1, alpha=alpha)
    with pytest.raises(ValueError, match=r"^confidence must be between 0 and 1, not 1.0$"):
        relevance.relevance(counts, "week", horizon=1, confidence=1.0)
    with pytest.raises(ValueError, match=r"^need at least one resample$"):
        relevance.relevance(counts, "week", horizon=1, n_resamples=0)
    # one resample and an alpha just below 1 are fine
    out = relevance.relevance(counts, "week", horizon=1, n_resamples=1, alpha=0.999, min_reps=3)
    assert set(out["p_value"].dropna()) <= {0.5, 1.0}


def test_relevance_without_any_window_judges_nothing():
    out = relevance.relevance(_tiny(), "week", horizon=2, n_resamples=9)
    assert out["metric"].tolist() == ["dials", "emails", "meetings", "win_rate", "avg_deal_size"]
    assert (out["n_obs"] == 0).all() and (out["n_reps"] == 0).all() and out["rho"].isna().all()
    assert set(out["label"]) == {"insufficient_data"}
    assert (out["lookback"] == 2).all()  # the lookback defaults to the horizon


def test_relevance_lookback_other_than_horizon():
    # lookback 2, horizon 1 over three weeks: one as-of date, week 2; the lookback sums weeks 0 and 1
    counts = _weeks([
        ("a", "T", W0, 1, 0, 0, 0, 0, 0.0, 0.0), ("a", "T", W1, 5, 0, 0, 0, 0, 0.0, 0.0),
        ("a", "T", W2, 0, 0, 0, 0, 0, 3.0, 0.0),
        ("b", "T", W0, 4, 0, 0, 0, 0, 0.0, 0.0), ("b", "T", W1, 1, 0, 0, 0, 0, 0.0, 0.0),
        ("b", "T", W2, 0, 0, 0, 0, 0, 2.0, 0.0),
        ("c", "T", W0, 0, 0, 0, 0, 0, 0.0, 0.0), ("c", "T", W1, 1, 0, 0, 0, 0, 0.0, 0.0),
        ("c", "T", W2, 0, 0, 0, 0, 0, 1.0, 0.0),
    ])
    # dials over weeks 0-1: 6, 5, 1 rank like the results 3, 2, 1: rho 1 (week 1 alone, 5 1 1, would tie)
    out = relevance.relevance(counts, "week", horizon=1, lookback=2, n_resamples=9, min_reps=3).set_index("metric")
    assert out.loc["dials", "rho"] == pytest.approx(1.0)
    assert out.loc["dials", "lookback"] == 2 and out.loc["dials", "horizon"] == 1


# -- rep_period_metrics ----------------------------------------------------------------------------------


def test_rep_period_metrics_by_hand():
    out = relevance.rep_period_metrics(_tiny(), "week", horizon=1)
    # metric order of the columns (dials, emails, meetings, win_rate, avg_deal_size), then rep
    metrics = ["dials", "emails", "meetings", "win_rate", "avg_deal_size"]
    assert out["metric"].tolist() == [m for m in metrics for _ in range(3)]
    assert out["rep_id"].tolist() == ["a", "b", "c"] * 5
    assert out["team"].tolist() == ["T", "T", "U"] * 5
    assert (out["as_of"] == W1).all()
    assert out["kind"].tolist() == ["task"] * 9 + ["competency"] * 6
    np.testing.assert_allclose(out["value"], [1, 2, 3, 3, 1, 2, 0, 0, 0, 0.25, 0.5, 1.0, 10.0, 20.0, 60.0])
    assert out["result"].tolist() == [5.0, 6.0, 7.0] * 5
    assert out.index.tolist() == list(range(15))


def test_rep_period_metrics_leaves_out_undefined_ratios():
    counts = _tiny()
    counts.loc[counts["rep_id"] == "b", ["won", "lost", "won_amount"]] = [0, 0, 0.0]
    out = relevance.rep_period_metrics(counts, "week", horizon=1)
    # b has no decided deal in week 0: no win rate, no deal size
    assert out.loc[out["metric"] == "win_rate", "rep_id"].tolist() == ["a", "c"]
    assert out.loc[out["metric"] == "avg_deal_size", "rep_id"].tolist() == ["a", "c"]


# -- metric_vs_result, trend ---------------------------------------------------------------------------


def test_metric_vs_result_by_hand():
    counts = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "team": ["T", "T", "S"],
            "dials": [10, 20, 5],
            "won": [1, 3, 0],
            "lost": [1, 1, 0],
            "won_amount": [100.0, 600.0, 0.0],
            "lost_amount": [0.0, 50.0, 0.0],
        }
    )
    out = relevance.metric_vs_result(counts)
    # win rate, shrunk: T has 2 reps (1/2, 3/4): weak prior of strength 2 at 4/6: (1 + 4/3) / 4, (3 + 4/3) / 6;
    # S has no decided deal: Beta(1, 1), .5. Deal size, shrunk with m = 2 to T's 700 / 4 = 175:
    # (100 + 350) / 3, (600 + 350) / 5; c has no won deal in a team without any: no row.
    expected = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "a", "b", "c", "a", "b"],
            "team": ["T", "T", "S", "T", "T", "S", "T", "T"],
            "metric": ["dials"] * 3 + ["win_rate"] * 3 + ["avg_deal_size"] * 2,
            "kind": ["task"] * 3 + ["competency"] * 5,
            "value": [10.0, 20.0, 5.0, 7 / 12, 13 / 18, 0.5, 150.0, 190.0],
            "result": [100.0, 600.0, 0.0, 100.0, 600.0, 0.0, 100.0, 600.0],
        }
    ).astype({"rep_id": "str", "team": "str", "metric": "str", "kind": "str"})
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^metric_vs_result takes counts over one range: build them without freq$"):
        relevance.metric_vs_result(_tiny())


def test_trend_on_three_points_by_hand():
    points = pd.DataFrame({"metric": "m", "value": [0.0, 1.0, 2.0], "result": [0.0, 1.0, 5.0]})
    out = relevance.trend(points)
    # OLS: slope 2.5, intercept -0.5; residuals .5, -1, .5: s² = 1.5 / 1; se of the mean at x:
    # s sqrt(1/3 + (x - 1)² / 2); t quantile with 1 degree of freedom
    assert len(out) == 50
    assert out.columns.tolist() == ["metric", "value", "fit", "ci_low", "ci_high", "slope"]
    grid = np.linspace(0.0, 2.0, 50)
    np.testing.assert_allclose(out["value"], grid)
    np.testing.assert_allclose(out["fit"], -0.5 + 2.5 * grid)
    np.testing.assert_allclose(out["slope"], 2.5)
    half = sps.t.ppf(0.975, 1) * np.sqrt(1.5 * (1 / 3 + (grid - 1) ** 2 / 2))
    np.testing.assert_allclose(out["ci_low"], -0.5 + 2.5 * grid - half)
    np.testing.assert_allclose(out["ci_high"], -0.5 + 2.5 * grid + half)
    narrow = relevance.trend(points, confidence=0.5, n_grid=3)
    half = sps.t.ppf(0.75, 1) * np.sqrt(1.5 * (1 / 3 + (np.array([0.0, 1.0, 2.0]) - 1) ** 2 / 2))
    np.testing.assert_allclose(narrow["ci_high"] - narrow["fit"], half)
    assert narrow["metric"].dtype == "str"


def test_trend_of_nothing_is_an_empty_frame_with_the_columns():
    points = pd.DataFrame({"metric": ["m", "m"], "value": [1.0, 2.0], "result": [1.0, 2.0]})
    out = relevance.trend(points)
    assert out.empty
    assert out.columns.tolist() == ["metric", "value", "fit", "ci_low", "ci_high", "slope"]
    assert out.dtypes.astype(str).tolist() == ["str", "float64", "float64", "float64", "float64", "float64"]


def test_rep_period_metrics_keeps_the_funnel_order_of_the_ratios():
    cols = ["dials", "conversations", "connected_calls", "appointments", "emails", "meetings", "business_cards",
            "other_activities", "prospect_appointments", "opportunities", "won", "lost"]
    rows = []
    for k, rep in enumerate(["a", "b", "c"]):
        rows.append({"rep_id": rep, "team": "T", "period_start": W0, **{c: 2 + k for c in cols},
                     "won_amount": 10.0, "lost_amount": 1.0})
        rows.append({"rep_id": rep, "team": "T", "period_start": W1, **{c: 0 for c in cols},
                     "won_amount": 5.0 + k, "lost_amount": 0.0})
    counts = pd.DataFrame(rows).astype({"rep_id": "str", "team": "str", "period_start": US})
    out = relevance.rep_period_metrics(counts, "week", horizon=1)
    metrics = ["dials", "conversations", "appointments", "emails", "meetings", "business_cards", "other_activities",
               "opportunities", "connect_rate", "conversation_to_appointment", "appointment_to_opportunity",
               "win_rate", "avg_deal_size"]
    assert out["metric"].drop_duplicates().tolist() == metrics
    # every ratio is k/k = 1 (won / (won + lost) = 1/2); deal size 10 / won
    first = out.loc[out["rep_id"] == "a"].set_index("metric")["value"]
    assert first[["connect_rate", "conversation_to_appointment", "appointment_to_opportunity"]].tolist() == [1.0] * 3
    assert first["win_rate"] == 0.5 and first["avg_deal_size"] == 5.0


def test_relevance_defaults():
    # ten reps, one as-of date: dials 1..10 in week 0, results 1..10 in week 1
    rows = [(f"r{k}", "T", W0, k, 0, 0, 0, 0, 0.0, 0.0) for k in range(1, 11)]
    rows += [(f"r{k}", "T", W1, 0, 0, 0, 0, 0, float(k), 0.0) for k in range(1, 11)]
    counts = _weeks(rows)
    out = relevance.relevance(counts, horizon=1)
    explicit = relevance.relevance(counts, "week", horizon=1, lookback=1, within="period", n_resamples=9999,
                                   confidence=0.95, alpha=0.05, adjust="holm", seed=0, min_reps=10)
    pd.testing.assert_frame_equal(out, explicit)
    dials = out.set_index("metric").loc["dials"]
    # ten reps: judged (min_reps 10); p is a multiple of 1/10000
    assert dials["rho"] == pytest.approx(1.0) and dials["label"] == "predicts_results"
    assert dials["p_value"] * 10000 == pytest.approx(round(dials["p_value"] * 10000))


def _two_way_residuals(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Residuals of least squares on the dummies of every grouping: the two-way within transformation."""
    dummies = np.column_stack([(g[:, None] == np.unique(g)[None, :]).astype(float) for g in groups])
    coef, *_ = np.linalg.lstsq(dummies, values, rcond=None)
    return values - dummies @ coef


def test_relevance_within_period_and_rep_against_least_squares():
    dials = {"a": [None, 5, 1, 4], "b": [2, 7, 3, 8], "c": [6, 2, 9, 1], "d": [4, 4, 5, 6]}
    won = {"a": [None, 10, 40, 20], "b": [30, 50, 10, 70], "c": [20, 20, 60, 30], "d": [10, 80, 30, 50]}
    weeks = [W0, W1, W2, W3]
    rows = [(rep, "T", weeks[w], dials[rep][w], 0, 0, 0, 0, float(won[rep][w]), 0.0)
            for rep in dials for w in range(4) if dials[rep][w] is not None]
    out = relevance.relevance(_weeks(rows), "week", horizon=1, within="period_and_rep", n_resamples=9,
                              min_reps=3).set_index("metric")
    # the pairs, by hand: as-of week t (1, 2, 3) pairs dials of week t - 1 with won of week t; a joins in week 1,
    # so its first as-of week is 2. Scores: centred mid-ranks within each as-of week (scipy); then the two-way
    # within transformation on (rep, phase) and as-of week, phase = index of the week (0, 1, 2) mod 2 (lookback +
    # horizon): least squares on the dummies, independent of the module's alternating projections.
    pairs = [(rep, t, dials[rep][t - 1], won[rep][t]) for rep in dials for t in (1, 2, 3) if dials[rep][t - 1] is not None]
    frame = pd.DataFrame(pairs, columns=["rep", "t", "x", "y"])
    for col in ("x", "y"):
        n = frame.groupby("t")[col].transform("size")
        rank = frame.groupby("t")[col].transform(lambda v: pd.Series(sps.rankdata(v), index=v.index))
        frame[col + "_s"] = (rank - (n + 1) / 2) / n
    phase = (frame["t"] - 1) % 2
    rep_phase = (frame["rep"] + phase.astype(str)).to_numpy()
    groups = [rep_phase, frame["t"].to_numpy()]
    rx = _two_way_residuals(frame["x_s"].to_numpy(), groups)
    ry = _two_way_residuals(frame["y_s"].to_numpy(), groups)
    rho = (rx * ry).sum() / math.sqrt((rx * rx).sum() * (ry * ry).sum())
    assert out.loc["dials", "n_obs"] == 11 and out.loc["dials", "n_periods"] == 3
    assert out.loc["dials", "rho"] == pytest.approx(rho, abs=1e-9)


def _table_dataset() -> Dataset:
    deals = [
        # id, rep, created, amount, status, closed
        ("a_prev", "a", "2026-02-23 10:00", 1.0, "lost", "2026-02-24 10:00"),  # before the range
        ("a_lost", "a", "2026-03-02 10:00", 5.0, "lost", "2026-03-03 10:00"),
        ("a_win", "a", "2026-03-02 11:00", 10.0, "won", "2026-03-10 10:00"),
        ("a_next", "a", "2026-03-16 10:00", 1.0, "open", None),  # after the range
        ("b_prev", "b", "2026-02-23 10:00", 1.0, "lost", "2026-02-24 10:00"),
        ("b_won0", "b", "2026-03-02 10:00", 7.0, "won", "2026-03-03 10:00"),
        ("b_lost0", "b", "2026-03-02 11:00", 3.0, "lost", "2026-03-04 10:00"),
        ("b_win", "b", "2026-03-02 12:00", 20.0, "won", "2026-03-10 10:00"),
        ("b_next", "b", "2026-03-16 10:00", 1.0, "open", None),
        ("c_prev", "c", "2026-02-23 10:00", 1.0, "lost", "2026-02-24 10:00"),
        ("c_won0", "c", "2026-03-02 10:00", 9.0, "won", "2026-03-03 10:00"),
        ("c_win", "c", "2026-03-02 11:00", 30.0, "won", "2026-03-10 10:00"),
        ("c_open1", "c", "2026-03-03 10:00", 1.0, "open", None),
        ("c_open2", "c", "2026-03-04 10:00", 1.0, "open", None),
        ("c_next", "c", "2026-03-16 10:00", 1.0, "open", None),
    ]
    opps = pd.DataFrame(deals, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    opps = opps.assign(
        created_at=pd.to_datetime(opps["created_at"]).astype(US),
        closed_at=pd.to_datetime(opps["closed_at"]).astype(US),
        stage=opps["status"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}),
        expected_close_date=T("2026-04-30"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "expected_close_date": US})
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "rep_name": ["A", "B", "C"], "team": "T", "manager": "M"})
    return Dataset(tables={"reps": reps.astype("str"), "opportunities": opps}, activities=None,
                   as_of=T("2026-04-01"))


def test_relevance_table_reads_the_settings_and_the_range():
    ds = _table_dataset()
    settings = dataclasses.replace(load_settings(), relevance_horizon_days=7, relevance_lookback_days=7,
                                   relevance_min_reps=3, relevance_n_resamples=9, relevance_alpha=0.99,
                                   relevance_adjust="fdr_bh", relevance_within="period")
    out = relevance.relevance_table(ds, "2026-03-02", "2026-03-16", "week", settings=settings).set_index("metric")
    # [2 Mar, 16 Mar), weeks 0 and 1, one as-of date (week 1). Week 0: opportunities 2, 3, 4; win rates 0/1,
    # 1/2, 1/1; deal sizes -, 7, 9 (two reps: not enough). Week 1 (the result): won 10, 20, 30.
    assert out.index.tolist() == ["opportunities", "win_rate", "avg_deal_size"]
    assert out["n_obs"].tolist() == [3, 3, 0]
    assert (out["lookback"] == 1).all() and (out["horizon"] == 1).all()
    np.testing.assert_allclose(out["rho"][:2], [1.0, 1.0])
    # the same scores: the same p-value, a multiple of 1/10 (9 sign vectors); adjusted by Benjamini-Hochberg
    p = out["p_value"][:2].to_numpy()
    assert p[0] == p[1] and p[0] * 10 == pytest.approx(round(p[0] * 10)) and p[0] < 1.0
    np.testing.assert_allclose(out["p_adjusted"][:2], multipletests(p, method="fdr_bh")[1])
    assert not np.allclose(out["p_adjusted"][:2], multipletests(p, method="holm")[1])
    assert out["label"].tolist() == ["predicts_results", "predicts_results", "insufficient_data"]
    # compared within each rep too: one as-of date leaves nothing to compare
    within = dataclasses.replace(settings, relevance_within="period_and_rep")
    out = relevance.relevance_table(ds, "2026-03-02", "2026-03-16", "week", settings=within)
    assert set(out["label"]) == {"insufficient_data"}
    # daily counts, one-day windows: [2 Mar, 5 Mar) runs
    daily = dataclasses.replace(settings, relevance_horizon_days=1, relevance_lookback_days=1)
    out = relevance.relevance_table(ds, "2026-03-02", "2026-03-05", "day", settings=daily)
    assert (out["lookback"] == 1).all() and (out["horizon"] == 1).all()
    # the cycle as of 23 February noon: nothing decided yet
    measured = dataclasses.replace(settings, relevance_horizon_days=0)
    with pytest.raises(ValueError, match="cannot be measured"):
        relevance.relevance_table(ds, "2026-03-02", "2026-03-16", "week", as_of="2026-02-23 12:00", settings=measured)


def test_trend_keeps_the_metric_order_and_skips_the_short_ones():
    points = pd.DataFrame({
        "metric": ["z"] * 3 + ["m"] * 2 + ["a"] * 4,
        "value": [0.0, 1.0, 2.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0],
        "result": [0.0, 1.0, 5.0, 1.0, 2.0, 1.0, 3.0, 5.0, 7.0],
    })
    out = relevance.trend(points, n_grid=2)
    # z: fit -0.5 + 2.5 x; m has two points: no trend; a lies on 1 + 2 x
    assert out["metric"].tolist() == ["z", "z", "a", "a"]
    assert out.index.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(out["fit"], [-0.5, 4.5, 1.0, 7.0], atol=1e-12)
    np.testing.assert_allclose(out["slope"], [2.5, 2.5, 2.0, 2.0])
    one = relevance.trend(points.loc[points["metric"] == "z"], n_grid=1)
    np.testing.assert_allclose(one[["value", "fit"]].to_numpy(), [[0.0, -0.5]], atol=1e-12)


def test_relevance_table_passes_the_lookback_on_and_weeks_are_the_default():
    """A lookback of 14 days (2 weeks) other than the horizon (1 week) reaches relevance;
    and windows, rep_period_metrics and relevance_table default to weeks."""
    ds = _table_dataset()
    settings = dataclasses.replace(load_settings(), relevance_horizon_days=7, relevance_lookback_days=14,
                                   relevance_min_reps=3, relevance_n_resamples=9)
    out = relevance.relevance_table(ds, "2026-02-23", "2026-03-16", "week", settings=settings)
    assert (out["lookback"] == 2).all() and (out["horizon"] == 1).all()
    pd.testing.assert_frame_equal(relevance.relevance_table(ds, "2026-02-23", "2026-03-16", settings=settings), out)
    assert relevance.windows(ds, settings=settings) == relevance.windows(ds, "week", settings=settings) == (2, 1)
    counts = rep_counts(ds, "2026-02-23", "2026-03-16", "week")
    pd.testing.assert_frame_equal(
        relevance.rep_period_metrics(counts, horizon=1, lookback=2), relevance.rep_period_metrics(counts, "week", horizon=1, lookback=2)
    )
