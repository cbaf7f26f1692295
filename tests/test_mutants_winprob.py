"""Tests of salesx2lib.winprob written for `make mutate`: small hand cases that pin whole outputs.

Every test calls the library itself on a frame small enough to check on paper (no shared
module-scoped fixture: mutmut links a mutant only to the tests that call the mutated
function). Expected values are worked out in the comments, Wilson intervals by
statsmodels. The many-world calibrations of tests/test_winprob.py are marked ``slow``
and left out of the mutation runs; these tests are what a mutant has to get past.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from conftest import deal_frames
from salesx2lib import winprob
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

T = pd.Timestamp
US = "datetime64[us]"
S = load_settings()
D = T("2024-03-04")  # a Monday
REPS = pd.DataFrame(
    {"rep_id": ["r1", "r2", "r3"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["A", "A", "B"], "manager": ["M", "M", "N"]}
).astype("str")


def _day(*days: str) -> np.ndarray:
    return pd.DatetimeIndex(list(days)).as_unit("us").to_numpy()


# -- the design matrix ----------------------------------------------------------------------------


def _raw(**over) -> pd.DataFrame:
    base = {
        "stage": ["Proposal", "Negotiation", "Closed Won", "Prospecting"],
        "age_days": [30.0, 0.0, -5.0, np.e - 1],
        "days_in_stage": [9.0, np.nan, -3.0, 0.0],
        "n_pushes": [7.0, np.nan, 2.0, 5.0],
        "flag_pushed": [True, False, True, True],
        "days_since_activity": [np.nan, 0.0, 6.0, 99.0],
        "flag_no_recent_activity": [True, False, False, True],
        "amount": [np.nan, 99.0, -10.0, 0.0],
        "close_position": pd.Categorical(["past", "missing", "in_window", "later"], categories=winprob.CLOSE_POSITIONS),
        "flag_early_stage_in_window": [False, True, False, False],
        "passes_gate": [False, True, True, False],
        "rep_win_rate": [0.5, 0.9999, np.nan, 0.0],
    }
    return pd.DataFrame(base | over, index=[10, 11, 12, 13])


def test_design_matrix_by_hand():
    x = winprob.design_matrix(_raw(), S)
    ln31 = np.log(31.0)  # log1p(window_days), the centre of the age slopes
    expected = pd.DataFrame(
        {
            "stage_Qualification": [0.0, 0.0, 0.0, 0.0],
            "stage_Proposal": [1.0, 0.0, 0.0, 0.0],
            "stage_Negotiation": [0.0, 1.0, 0.0, 0.0],
            "stage_unknown": [0.0, 0.0, 1.0, 0.0],  # a stage outside the open stages
            "log_age": [ln31, 0.0, 0.0, 1.0],  # a negative age is clipped to 0; log1p(e - 1) = 1
            "age_x_Qualification": [0.0, 0.0, 0.0, 0.0],
            "age_x_Proposal": [0.0, 0.0, 0.0, 0.0],  # 30 days: exactly one window, the centre
            "age_x_Negotiation": [0.0, -ln31, 0.0, 0.0],
            "log_days_in_stage": [np.log(10.0), 0.0, 0.0, 0.0],  # unknown -> 0, negative clipped to 0
            "pushes": [5.0, 0.0, 2.0, 5.0],  # capped at 5, unknown -> 0
            "flag_pushed": [1.0, 0.0, 1.0, 1.0],
            "log_days_since_activity": [0.0, 0.0, np.log(7.0), np.log(100.0)],
            "never_active": [1.0, 0.0, 0.0, 0.0],
            "flag_no_recent_activity": [1.0, 0.0, 0.0, 1.0],
            "log_amount": [0.0, np.log(100.0), 0.0, 0.0],  # missing -> 0 (and flagged), negative clipped
            "amount_missing": [1.0, 0.0, 0.0, 0.0],
            "close_past": [1.0, 0.0, 0.0, 0.0],
            "close_later": [0.0, 0.0, 0.0, 1.0],
            "close_missing": [0.0, 1.0, 0.0, 0.0],
            "flag_early_stage_in_window": [0.0, 1.0, 0.0, 0.0],
            "passes_gate": [0.0, 1.0, 1.0, 0.0],
            # logit of the rate clipped to [0.001, 0.999]; a missing rate -> 0
            "rep_logit": [0.0, np.log(0.999 / 0.001), 0.0, np.log(0.001 / 0.999)],
        },
        index=[10, 11, 12, 13],
    )
    pd.testing.assert_frame_equal(x, expected, rtol=1e-12)


def test_design_matrix_without_activities_or_per_stage_age_slopes():
    raw = _raw().drop(columns=["days_since_activity", "flag_no_recent_activity"])
    x = winprob.design_matrix(raw, replace(S, forecast_age_slope_per_stage=False, forecast_window_days=10))
    assert list(x.columns) == [
        "stage_Qualification", "stage_Proposal", "stage_Negotiation", "stage_unknown", "log_age", "log_days_in_stage",
        "pushes", "flag_pushed", "log_amount", "amount_missing", "close_past", "close_later", "close_missing",
        "flag_early_stage_in_window", "passes_gate", "rep_logit"]
    centred = winprob.design_matrix(_raw(), replace(S, forecast_window_days=10))
    assert centred["age_x_Proposal"].tolist() == pytest.approx([np.log(31.0) - np.log(11.0), 0.0, 0.0, 0.0])


# -- predict, the reasons and their phrases -------------------------------------------------------


def _model(kind: str = "model") -> winprob.WinModel:
    return winprob.WinModel(
        fit_date=D, columns=("stage_Proposal", "log_amount", "close_past"), center=np.array([0.5, 1.0, 0.0]),
        scale=np.array([0.5, 2.0, 1.0]), params=np.array([0.2, 1.0, -0.6, 0.3]), base_rate=0.3, kind=kind,
        n_rows=10, n_events=3, ratios=np.array([0.5, 1.5]),
    )


def _scored_frame() -> pd.DataFrame:
    return _raw(
        stage=["Proposal", "Qualification", "Proposal", "Prospecting"],
        amount=[np.exp(3.0) - 1, np.nan, np.exp(1.0) - 1, 1234.4],
        close_position=pd.Categorical(["past", "in_window", "in_window", "in_window"], categories=winprob.CLOSE_POSITIONS),
    )


def test_predict_with_a_hand_model():
    frame = _scored_frame()
    p, contrib = winprob.predict(_model(), frame, S)
    # z = (x - centre) / scale; contributions b_j z_j:
    # row 0: stage (1 - .5)/.5 = 1 -> +1.0; log_amount (3 - 1)/2 = 1 -> -0.6; close past 1 -> +0.3; eta 0.9
    # row 1: stage -1 -> -1.0; amount missing: log 0 -> z -0.5 -> +0.3; close 0; eta -0.5
    # row 2: stage +1.0; log_amount 1 -> z 0 -> 0; eta 1.2
    # row 3: stage -1.0; log_amount log(1235.4) -> z (log(1235.4) - 1)/2
    z3 = (np.log(1235.4) - 1) / 2
    expected = pd.DataFrame(
        {"close": [0.3, 0.0, 0.0, 0.0], "log_amount": [-0.6, 0.3, 0.0, -0.6 * z3], "stage": [1.0, -1.0, 1.0, -1.0]},
        index=frame.index,
    )
    pd.testing.assert_frame_equal(contrib, expected, rtol=1e-12)
    eta = np.array([0.9, -0.5, 1.2, 0.2 - 1.0 - 0.6 * z3])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    # an age slope per stage counts in the age's group; a column the frame lacks is 0 (never_active
    # without an activity log): z = (0 - 0.5) / 0.5 = -1
    aged = winprob.WinModel(fit_date=D, columns=("log_age", "age_x_Negotiation", "never_active"),
                            center=np.zeros(3) + [0, 0, 0.5], scale=np.array([1.0, 1.0, 0.5]),
                            params=np.array([0.0, 1.0, 2.0, 0.7]), base_rate=0.3, kind="model", n_rows=10, n_events=3,
                            ratios=np.zeros(0))
    raw = _raw().drop(columns=["days_since_activity", "flag_no_recent_activity"])
    p2, c2 = winprob.predict(aged, raw, S)
    ln31 = np.log(31.0)
    assert list(c2.columns) == ["log_age", "never_active"]
    assert c2["log_age"].tolist() == pytest.approx([ln31, -2 * ln31, 0.0, 1.0])
    assert c2["never_active"].tolist() == pytest.approx([-0.7] * 4)
    p, contrib = winprob.predict(_model("none"), frame, S)
    assert np.isnan(p).all() and len(p) == 4 and p.dtype == "float64"
    assert contrib.empty and list(contrib.index) == [10, 11, 12, 13]


def test_reasons_name_the_three_largest_groups_with_their_log_odds():
    frame = _scored_frame()
    _, contrib = winprob.predict(_model(), frame, S)
    reasons = winprob._reasons(frame, contrib)
    assert reasons.tolist() == [
        "stage Proposal (+1.0); amount 19 (-0.6); close date already past (+0.3)",
        "stage Qualification (-1.0); amount missing (+0.3)",  # the close date adds 0: left out
        "stage Proposal (+1.0)",
        f"amount 1,234 ({-0.6 * (np.log(1235.4) - 1) / 2:+.1f}); stage Prospecting (-1.0)",
    ]
    assert list(reasons.index) == [10, 11, 12, 13] and reasons.dtype == "str"
    assert winprob._reasons(frame, contrib, top=1).tolist()[:2] == ["stage Proposal (+1.0)", "stage Qualification (-1.0)"]
    # groups describing the same thing are summed: pushes and flag_pushed are one "close-date pushes"
    two = pd.DataFrame({"pushes": [0.04, 0.5], "flag_pushed": [0.04, -0.6]}, index=frame.index[:2])
    # 0.04 + 0.04 = 0.08 (+0.1, n_pushes 7 on row 0); 0.5 - 0.6 = -0.1 (row 1, no push count: 0)
    assert winprob._reasons(frame.iloc[:2], two).tolist() == ["7 close-date pushes (+0.1)", "0 close-date pushes (-0.1)"]
    small = pd.DataFrame({"stage": [0.049, -0.05]}, index=frame.index[:2])  # |value| < 0.05 is left out
    assert winprob._reasons(frame.iloc[:2], small).tolist() == ["", "stage Qualification (-0.1)"]
    assert winprob._reasons(frame, pd.DataFrame(index=frame.index)).tolist() == [""] * 4
    # four groups: the three largest by size, in that order; a tie keeps the groups' own order
    many = pd.DataFrame({"stage": [1.0, 0.5], "close": [0.5, -0.5], "log_amount": [-0.3, 0.0],
                         "rep_logit": [0.2, 0.0]}, index=frame.index[:2])
    assert winprob._reasons(frame.iloc[:2], many).tolist() == [
        "stage Proposal (+1.0); close date already past (+0.5); amount 19 (-0.3)",
        "stage Qualification (+0.5); close date in the window (-0.5)"]
    empty = winprob._reasons(frame.iloc[:0], contrib.iloc[:0])
    assert empty.empty and empty.dtype == "str"


def test_describe_each_feature_group():
    frame = pd.DataFrame({
        "stage": ["Proposal", None], "close_position": ["later", "missing"], "n_pushes": [3.0, np.nan],
        "age_days": [12.4, 12.6], "days_in_stage": [4.5, np.nan], "days_since_activity": [4.4, np.nan],
        "amount": [1234.4, np.nan], "passes_gate": [False, True], "gate_reason": ["amount missing", ""],
        "rep_win_rate": [0.456, np.nan],
    }, index=[5, 6])
    words = {g: winprob._describe(frame, g).tolist() for g in [
        "stage", "close", "pushes", "flag_pushed", "log_age", "log_days_in_stage", "log_days_since_activity",
        "never_active", "flag_no_recent_activity", "log_amount", "amount_missing", "flag_early_stage_in_window",
        "passes_gate", "rep_logit", "something_else"]}
    assert words == {
        "stage": ["stage Proposal", "stage unknown"],
        "close": ["close date after the window", "close date missing"],
        "pushes": ["3 close-date pushes", "0 close-date pushes"],
        "flag_pushed": ["3 close-date pushes", "0 close-date pushes"],
        "log_age": ["12 days old", "13 days old"],
        "log_days_in_stage": ["4 days in stage", "? days in stage"],  # 4.5 rounds to even
        "log_days_since_activity": ["last activity 4 days ago", "no activity logged"],
        "never_active": ["last activity 4 days ago", "no activity logged"],
        "flag_no_recent_activity": ["last activity 4 days ago", "no activity logged"],
        "log_amount": ["amount 1,234", "amount missing"],
        "amount_missing": ["amount 1,234", "amount missing"],
        "flag_early_stage_in_window": ["early stage yet due in the window"] * 2,
        "passes_gate": ["amount missing", "passes the gate"],
        "rep_logit": ["rep's win rate 46%", "rep's win rate ?%"],  # a rep without a rate (not a "nan")
        "something_else": ["something_else", "something_else"],
    }
    assert all(list(winprob._describe(frame, g).index) == [5, 6] for g in ("flag_early_stage_in_window", "x"))
    four = pd.DataFrame({"close_position": ["in_window", "past", "later", "missing"], "rep_win_rate": [0.9, 0.995, 0, 1]})
    assert winprob._describe(four, "close").tolist() == [
        "close date in the window", "close date already past", "close date after the window", "close date missing"]
    assert winprob._describe(four, "rep_logit").tolist() == [
        "rep's win rate 90%", "rep's win rate 100%", "rep's win rate 0%", "rep's win rate 100%"]


# -- fitting: the fallback, the fit by hand and the team shock ------------------------------------


def _train(won: list[int], stage: list[str], dates: list[str], won_amount: list[float]) -> pd.DataFrame:
    n = len(won)
    return pd.DataFrame({
        "opportunity_id": [f"o{i}" for i in range(n)], "as_of_date": pd.to_datetime(dates).astype(US), "team": "A",
        "stage": stage, "age_days": 30.0, "days_in_stage": np.nan, "n_pushes": 0.0, "flag_pushed": False,
        "amount": 100.0, "close_position": pd.Categorical(["in_window"] * n, categories=winprob.CLOSE_POSITIONS),
        "flag_early_stage_in_window": False, "passes_gate": True, "rep_win_rate": 0.5,
        "won_in_window": np.array(won, dtype=bool), "won_amount": won_amount,
    })


def _seven() -> pd.DataFrame:
    # Proposal: 2 won of 3; Prospecting (the reference stage): 1 won of 4. First Monday: the 3 wins.
    return _train(
        won=[1, 1, 0, 1, 0, 0, 0],
        stage=["Proposal", "Proposal", "Proposal", "Prospecting", "Prospecting", "Prospecting", "Prospecting"],
        dates=["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08"],
        won_amount=[120.0, 100.0, np.nan, 100.0, np.nan, np.nan, np.nan],
    )


def test_fit_by_hand_with_one_varying_feature_and_its_team_shock():
    s = replace(S, forecast_prior_strength=0, forecast_min_training_events=3)
    model = winprob.fit_win_model(_seven(), T("2024-02-05"), s)
    assert model.kind == "model" and model.fit_date == T("2024-02-05")
    assert (model.n_rows, model.n_events, model.base_rate) == (7, 3, pytest.approx(3 / 7))
    # only stage_Proposal varies (the age is one window: every age slope is 0): one column
    assert model.columns == ("stage_Proposal",)
    c, sd = 3 / 7, np.sqrt(3 / 7 * 4 / 7)
    assert model.center == pytest.approx([c]) and model.scale == pytest.approx([sd])
    # maximum likelihood reproduces each stage's rate: logit(1/4) = -ln 3, logit(2/3) = ln 2;
    # on the standardised scale: slope sd * ln 6, intercept -ln 3 + c ln 6
    assert model.params == pytest.approx([-np.log(3) + c * np.log(6), sd * np.log(6)], rel=1e-6)
    assert model.ratios.tolist() == [1.0, 1.0, 1.2] and model.amount_ratio == pytest.approx(3.2 / 3)
    # team shock: 1 January O = 3, E = 2 (2/3) + 2 (1/4) = 11/6, V = 2 (2/9) + 2 (3/16) = 59/72;
    # 8 January O = 0, E = 2/3 + 2/4 = 7/6, V = 2/9 + 3/8 = 43/72.
    # ((7/6)^2 + (7/6)^2 - 102/72) / ((11/6)^2 + (7/6)^2) = (98/36 - 51/36) / (170/36) = 47/170
    assert model.team_shock_var == pytest.approx(47 / 170, rel=1e-6)


def test_fit_falls_back_without_enough_wins_or_with_nothing_but_wins():
    train = _seven()
    few = winprob.fit_win_model(train, T("2024-02-05"), replace(S, forecast_min_training_events=4))
    assert (few.kind, few.columns, few.n_rows, few.n_events) == ("none", (), 7, 3)
    assert few.base_rate == pytest.approx(3 / 7) and few.ratios.tolist() == [1.0, 1.0, 1.2]
    assert len(few.params) == 0 and few.team_shock_var == 0.0 and few.fit_date == T("2024-02-05")
    wins = train.loc[train["won_in_window"]]
    allwin = winprob.fit_win_model(wins, T("2024-02-05"), replace(S, forecast_min_training_events=0))
    assert (allwin.kind, allwin.base_rate) == ("none", 1.0)
    none = winprob.fit_win_model(train.loc[~train["won_in_window"]], T("2024-02-05"),
                                 replace(S, forecast_min_training_events=0))
    assert (none.kind, none.n_events, none.base_rate) == ("none", 0, 0.0)
    empty = winprob.fit_win_model(train.iloc[:0], T("2024-02-05"), S)
    assert empty.kind == "none" and np.isnan(empty.base_rate) and empty.amount_ratio == 1.0
    sub = winprob.fit_win_model(train, T("2024-02-05"), replace(S, forecast_max_training_rows=6,
                                                                forecast_min_training_events=1))
    assert sub.n_rows == 6  # subsampled to at most max_training_rows


# -- reliability -----------------------------------------------------------------------------------


def test_reliability_table_whole_table_by_hand():
    deals = pd.DataFrame({"win_probability": [0.05, 0.05, 0.15, 0.95, 1.0, np.nan, 0.1],
                          "won_in_window": [0, 1, 0, 1, 1, 1, 0]})
    t = winprob.reliability_table(deals)
    assert list(t.columns) == ["bin", "n_deals", "n_won", "mean_predicted", "observed", "ci_low", "ci_high", "gap",
                               "brier"]
    assert t["bin"].tolist() == [f"0.{i}-{'1.0' if i == 9 else f'0.{i + 1}'}" for i in range(10)] + ["all"]
    assert t["n_deals"].tolist() == [2, 2, 0, 0, 0, 0, 0, 0, 0, 2, 6] and t["n_deals"].dtype == "int64"
    assert t["n_won"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3] and t["n_won"].dtype == "int64"
    # 0.1 falls in 0.1-0.2 (b/bins <= p); 1.0 in the last bin
    mean_p = [0.05, 0.125, *[np.nan] * 7, 0.975, 2.3 / 6]
    observed = [0.5, 0.0, *[np.nan] * 7, 1.0, 0.5]
    brier = [(0.05**2 + 0.95**2) / 2, (0.15**2 + 0.1**2) / 2, *[np.nan] * 7, 0.05**2 / 2,
             (0.05**2 + 0.95**2 + 0.15**2 + 0.05**2 + 0.1**2) / 6]
    np.testing.assert_allclose(t["mean_predicted"], mean_p, rtol=1e-12)
    np.testing.assert_allclose(t["observed"], observed, rtol=1e-12)
    np.testing.assert_allclose(t["brier"], brier, rtol=1e-12)
    np.testing.assert_allclose(t["gap"], np.array(observed) - np.array(mean_p), rtol=1e-12)
    lo, hi = proportion_confint([1, 0, 2, 3], [2, 2, 2, 6], method="wilson")
    np.testing.assert_allclose(t["ci_low"].iloc[[0, 1, 9, 10]], lo, rtol=1e-9)
    np.testing.assert_allclose(t["ci_high"].iloc[[0, 1, 9, 10]], hi, rtol=1e-9)
    assert t["ci_low"].iloc[2:9].isna().all()
    five = winprob.reliability_table(deals, bins=5)
    assert five["bin"].tolist() == ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0", "all"]
    assert five["n_deals"].tolist() == [4, 0, 0, 0, 2, 6]


def test_reliability_table_without_deals():
    t = winprob.reliability_table(pd.DataFrame({"win_probability": [np.nan], "won_in_window": [1]}))
    assert t["n_deals"].tolist() == [0] * 11 and t["n_won"].tolist() == [0] * 11
    assert t.loc[10, "bin"] == "all" and t[["mean_predicted", "observed", "brier", "ci_low"]].isna().all().all()


# -- simulation: cases whose quantiles are exact -----------------------------------------------------


def _nb(rows: list[tuple]) -> pd.DataFrame:
    nb = pd.DataFrame(rows, columns=["as_of_date", "rep_id", "team", "n_windows", "n_new_won", "rate_per_window",
                                     "mean_amount", "amount_cv2", "expected"])
    return nb.assign(as_of_date=pd.to_datetime(nb["as_of_date"]).astype(US))


def _sim_deals(rows: list[tuple]) -> pd.DataFrame:
    d = pd.DataFrame(rows, columns=["as_of_date", "rep_id", "amount", "win_probability", "fit_date"])
    return d.assign(as_of_date=pd.to_datetime(d["as_of_date"]).astype(US), fit_date=pd.to_datetime(d["fit_date"]).astype(US))


def test_simulated_totals_with_certain_deals_and_no_new_business():
    deals = _sim_deals([
        ("2024-03-04", "r3", 40.0, 1.0, "2024-02-26"),
        ("2024-03-04", "r1", 100.0, 1.0, "2024-02-26"),  # certain win
        ("2024-03-04", "r1", 50.0, 0.0, "2024-02-26"),  # certain loss
        ("2024-03-04", "r2", np.nan, 1.0, "2024-02-26"),  # no amount: adds 0
        ("2024-03-04", "r2", 70.0, np.nan, "2024-02-26"),  # no probability: left out
    ])
    nb = _nb([("2024-03-04", r, t, 4, 0, 0.0, 0.0, 1.0, 0.0) for r, t in (("r2", "A"), ("r1", "A"), ("r3", "B"))]
             + [("2024-03-11", r, t, 4, 0, 0.0, 0.0, 1.0, 0.0) for r, t in (("r1", "A"), ("r2", "A"), ("r3", "B"))])
    # won/listed ratios 0.8 and 0.8: m = 0.8, v = 0, so a rep's total is 0.8 x its certain wins
    models = {T("2024-02-26"): replace(_model(), ratios=np.array([0.8, 0.8]))}
    out = winprob.simulate_totals(deals, nb, models, replace(S, forecast_simulations=50))
    assert list(out.columns) == ["as_of_date", "group", "team", "rep_id", "forecast_low", "forecast_high"]
    assert out["as_of_date"].dtype == US and out["group"].dtype == "str" and out["rep_id"].dtype == "str"
    first = out.loc[out["as_of_date"] == T("2024-03-04")]
    assert first["group"].tolist() == ["rep", "rep", "rep", "team", "team", "team"]
    assert first["team"].tolist() == ["A", "A", "B", "A", "B", "all"]
    assert first["rep_id"].iloc[:3].tolist() == ["r1", "r2", "r3"] and first["rep_id"].iloc[3:].isna().all()
    assert first["forecast_low"].tolist() == pytest.approx([80.0, 0.0, 32.0, 80.0, 32.0, 112.0])
    assert first["forecast_high"].tolist() == pytest.approx([80.0, 0.0, 32.0, 80.0, 32.0, 112.0])
    second = out.loc[out["as_of_date"] == T("2024-03-11")]  # no deals that day: nothing
    assert len(second) == 6 and (second[["forecast_low", "forecast_high"]] == 0.0).all().all()
    # without a model the amounts count in full
    bare = winprob.simulate_totals(deals, nb, {}, replace(S, forecast_simulations=50))
    assert bare["forecast_high"].iloc[:6].tolist() == pytest.approx([100.0, 0.0, 40.0, 100.0, 40.0, 140.0])
    assert bare["forecast_low"].iloc[:6].tolist() == pytest.approx([100.0, 0.0, 40.0, 100.0, 40.0, 140.0])


def test_simulated_amount_noise_and_new_business():
    # r1: one certain deal of 100 with ratios 0.5 and 1.5: m = 1, v = 0.25, so the total is
    # 100 + sqrt(0.25 x 100^2) z = N(100, 50^2): 10% and 90% quantiles 100 -+ 1.2816 x 50.
    # r3: new business only, rate 1 a window known almost exactly (n_windows 1e12), amounts of
    # mean 10 with cv2 1e-9 (all but equal): 10 N with N ~ Poisson(1): P(N <= 1) = 0.736 and
    # P(N <= 2) = 0.920, so the quantiles are 0 and 20.
    deals = _sim_deals([("2024-03-04", "r1", 100.0, 1.0, "2024-02-26")])
    # r1's rate is 0: no new business, whatever the team's mean amount (10)
    nb = _nb([("2024-03-04", "r1", "A", 4, 0, 0.0, 10.0, 1.0, 0.0),
              ("2024-03-04", "r3", "B", 10**12, 10**12, 1.0, 10.0, 1e-9, 10.0)])
    models = {T("2024-02-26"): replace(_model(), ratios=np.array([0.5, 1.5]))}
    out = winprob.simulate_totals(deals, nb, models, replace(S, forecast_simulations=20_000)).set_index(["group", "team"])
    assert out.loc[("rep", "A"), "forecast_low"] == pytest.approx(100 - 1.2816 * 50, abs=3)
    assert out.loc[("rep", "A"), "forecast_high"] == pytest.approx(100 + 1.2816 * 50, abs=3)
    assert out.loc[("rep", "B"), "forecast_low"] == 0.0
    assert out.loc[("rep", "B"), "forecast_high"] == pytest.approx(20.0, rel=1e-3)
    # a 40% interval: P(N = 0) = 0.368 > 0.3 and P(N <= 1) = 0.736 >= 0.7, so r3's is [0, 10]: one deal
    narrow = winprob.simulate_totals(deals, nb, models, replace(S, forecast_simulations=20_000, forecast_interval=0.4))
    assert narrow["forecast_low"].iloc[1] == 0.0 and narrow["forecast_high"].iloc[1] == pytest.approx(10.0, rel=1e-3)
    # a wider interval at 95%: 100 -+ 1.96 x 50 for r1
    wide = winprob.simulate_totals(deals, nb, models, replace(S, forecast_simulations=20_000, forecast_interval=0.95))
    assert wide["forecast_low"].iloc[0] == pytest.approx(100 - 1.96 * 50, abs=3)


def test_simulated_totals_of_nothing():
    out = winprob.simulate_totals(_sim_deals([]), _nb([]), {}, S)
    assert out.empty and list(out.columns) == ["as_of_date", "group", "team", "rep_id", "forecast_low", "forecast_high"]
    assert out.dtypes.astype(str).tolist() == [US, "str", "str", "str", "float64", "float64"]


# -- new business and win rates by hand -------------------------------------------------------------


def _nb_dataset() -> Dataset:
    deals = {
        "A": ("r1", "lost", [("2024-01-02", "Proposal", 100.0, "2024-01-20"), ("2024-01-05", "Closed Lost", 100.0, "2024-01-05")]),
        "B": ("r1", "won", [("2024-01-10", "Proposal", 100.0, "2024-01-20"), ("2024-01-20", "Closed Won", 100.0, "2024-01-20")]),
        "C": ("r1", "won", [("2024-01-24", "Proposal", 200.0, "2024-01-26"), ("2024-01-26", "Closed Won", 300.0, "2024-01-26")]),
        "E": ("r2", "lost", [("2024-01-02", "Proposal", 100.0, "2024-01-20"), ("2024-01-04", "Closed Lost", 100.0, "2024-01-04")]),
        "Z": ("zz", "won", [("2024-01-10", "Proposal", 900.0, "2024-01-20"), ("2024-01-20", "Closed Won", 900.0, "2024-01-20")]),
        # lost inside windows of r2: not new business
        "F": ("r2", "lost", [("2024-01-20", "Proposal", 70.0, "2024-01-25"), ("2024-01-25", "Closed Lost", 70.0, "2024-01-25")]),
        # r3's first deal, created 81 days before its win: new business of no window
        "G": ("r3", "won", [("2023-12-01", "Proposal", 50.0, "2024-02-20"), ("2024-02-20", "Closed Won", 50.0, "2024-02-20")]),
    }
    opps, hist = deal_frames(deals)
    # C's amount is changed to 500 after its win: the amount recorded at the win (300) counts
    hist = pd.concat([hist, pd.DataFrame({"opportunity_id": ["C"], "changed_at": [T("2024-02-10")], "stage": ["Closed Won"],
                                          "amount": [500.0], "expected_close_date": [T("2024-01-26")]}).astype(hist.dtypes)],
                     ignore_index=True)
    opps.loc[opps["opportunity_id"] == "C", "amount"] = 500.0
    return Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist}, activities=None,
                   as_of=T("2024-06-01"))


def test_new_business_rates_with_the_amount_spread():
    s = replace(S, forecast_new_business_weeks=10, forecast_new_business_prior_windows=2.0,
                forecast_new_business_prior_deals=1.0)
    nb = winprob.new_business_rates(_nb_dataset(), _day("2024-03-04"), s)
    # Usable Mondays M: 25 Dec <= M, M + 30 d <= 4 Mar, rep's first deal created by M (2 January):
    # 8, 15, 22, 29 January for r1 and r2; for r3 (first deal 1 December) also 25 December and 1 January.
    # New business of M: created after M, won before M + 30 d. B (10 -> 20 Jan): M = 8 Jan.
    # C (24 -> 26 Jan, 300 at the win): 8, 15, 22 Jan. So r1: C = 4 wins, S = 100 + 3 x 300 = 1000,
    # Q = 100^2 + 3 x 300^2 = 280000. Z belongs to no known rep.
    assert nb["rep_id"].tolist() == ["r1", "r2", "r3"] and nb["team"].tolist() == ["A", "A", "B"]
    assert nb["n_windows"].tolist() == [4, 4, 6] and nb["n_new_won"].tolist() == [4, 0, 0]
    # team A: lambda_T = 4 / 8, mu_T = 1000 / 4 = 250, cv2_T = (280000 / 4) / 250^2 - 1 = 0.12
    lam = [(4 + 2 * 0.5) / (4 + 2), (0 + 2 * 0.5) / (4 + 2), 0.0]
    mu = [(1000 + 250) / (4 + 1), (0 + 250) / (0 + 1), 0.0]
    assert nb["rate_per_window"].tolist() == pytest.approx(lam)
    assert nb["mean_amount"].tolist() == pytest.approx(mu)
    assert nb["amount_cv2"].tolist() == pytest.approx([0.12, 0.12, 1.0])  # team B: no data, cv2 1
    assert nb["expected"].tolist() == pytest.approx([lam[0] * mu[0], lam[1] * mu[1], 0.0])
    assert nb["as_of_date"].dtype == US and nb["n_windows"].dtype == "int64"
    # no prior at all: a rep without windows gets 0, not a division by zero
    bare = winprob.new_business_rates(_nb_dataset(), _day("2024-03-04"), replace(
        s, forecast_new_business_prior_windows=0.0, forecast_new_business_prior_deals=0.0))
    assert bare["rate_per_window"].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert bare["mean_amount"].tolist() == pytest.approx([250.0, 0.0, 0.0])


def test_new_business_rates_of_no_date():
    nb = winprob.new_business_rates(_nb_dataset(), np.array([], dtype=US), S)
    assert nb.empty and list(nb.columns) == ["as_of_date", "rep_id", "team", "n_windows", "n_new_won",
                                             "rate_per_window", "mean_amount", "amount_cv2", "expected"]


def test_rep_win_rates_at_several_dates_in_any_zone():
    opps, _ = deal_frames({
        "a": ("r1", "won", [("2024-01-01", "Proposal", 1.0, "2024-02-01"), ("2024-02-01", "Closed Won", 1.0, "2024-02-01")]),
        "b": ("r1", "lost", [("2024-01-01", "Proposal", 1.0, "2024-02-01"), ("2024-03-01", "Closed Lost", 1.0, "2024-03-01")]),
        "c": ("r2", "open", [("2024-01-01", "Proposal", 1.0, "2024-02-01")]),
        "d": ("zz", "won", [("2024-01-01", "Proposal", 1.0, "2024-02-01"), ("2024-01-15", "Closed Won", 1.0, "2024-01-15")]),
    })
    # 1 March 01:00 in Paris is 1 March 00:00 UTC: b closed at that instant counts; dates repeated
    # and unsorted come out once each, in order
    paris = [T("2024-03-01 01:00", tz="Europe/Paris"), T("2024-02-15 01:00", tz="Europe/Paris"),
             T("2024-02-15 01:00", tz="Europe/Paris")]
    r = winprob.rep_win_rates(opps, REPS, paris)
    assert r["as_of_date"].tolist() == [T("2024-02-15")] * 3 + [T("2024-03-01")] * 3
    assert r["rep_id"].tolist() == ["r1", "r2", "r3"] * 2
    assert r["n_decided"].tolist() == [1, 0, 0, 2, 0, 0] and r["n_won"].tolist() == [1, 0, 0, 1, 0, 0]
    assert r["n_decided"].dtype == "int64" and r["as_of_date"].dtype == US and r["team"].dtype == "str"
    # one rep with decided deals in team A: the prior of a single rep
    assert r["win_rate_shrunk"].notna().all()


# -- win_probabilities end to end on a dataset whose model is known -----------------------------------


def _wp_dataset() -> Dataset:
    """Eight deals of r1 created on Friday 1 March 2024, alike but for the stage (amount 100, expected
    close 8 March). With a 7-day window and one training week, the model used on Monday 11 March is
    fitted at 11 March on the deals open on Monday 4 March, judged by 11 March:
    Proposal P1, P2 won (P1 at 150), P3 lost, P4 still open: 2 of 4; Prospecting Q1 won, Q2, Q3
    lost, Q4 open: 1 of 4."""
    ecd = "2024-03-08"

    def deal(stage: str, end: str | None, when: str = "") -> tuple:
        rows = [("2024-03-01", stage, 100.0, ecd)]
        if end == "won":
            rows.append((when, "Closed Won", 150.0 if when == "2024-03-06 10:00" else 100.0, ecd))
        elif end == "lost":
            rows.append((when, "Closed Lost", 100.0, ecd))
        return ("r1", end or "open", rows)

    deals = {
        "P1": deal("Proposal", "won", "2024-03-06 10:00"), "P2": deal("Proposal", "won", "2024-03-07"),
        "P3": deal("Proposal", "lost", "2024-03-06"), "P4": deal("Proposal", None),
        "Q1": deal("Prospecting", "won", "2024-03-06"), "Q2": deal("Prospecting", "lost", "2024-03-06"),
        "Q3": deal("Prospecting", "lost", "2024-03-07"), "Q4": deal("Prospecting", None),
    }
    opps, hist = deal_frames(deals)
    return Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist}, activities=None,
                   as_of=T("2024-06-01"))


WP = replace(S, forecast_window_days=7, forecast_training_weeks=1, forecast_refit_weeks=1,
             forecast_min_training_events=1, forecast_prior_strength=0, forecast_age_slope_per_stage=False,
             gate_minimum_stage="Prospecting", scrub_early_stages=())


def test_win_probabilities_with_a_model_known_by_hand():
    ds = _wp_dataset()
    deals, models = winprob.win_probabilities(ds, ["2024-03-11", "2024-03-05 12:00"], WP, reasons=True)
    # 5 March: fitted on Monday 4 March with the Monday of 26 February, when nothing was open: no model
    assert sorted(models) == [T("2024-03-04"), T("2024-03-11")]
    assert models[T("2024-03-04")].kind == "none" and models[T("2024-03-11")].kind == "model"
    m = models[T("2024-03-11")]
    assert m.columns == ("stage_Proposal",) and (m.n_rows, m.n_events) == (8, 3)
    assert m.ratios.tolist() == [1.0, 1.0, 1.5]  # P1 won at 150 on a listed 100
    early = deals.loc[deals["as_of_date"] == T("2024-03-05 12:00")]
    assert sorted(early["opportunity_id"]) == ["P1", "P2", "P3", "P4", "Q1", "Q2", "Q3", "Q4"]
    assert early["win_probability"].isna().all() and (early["probability_source"] == "none").all()
    assert (early["fit_date"] == T("2024-03-04")).all() and early["expected_amount"].isna().all()
    assert (early["reasons"] == "").all()
    late = deals.loc[deals["as_of_date"] == T("2024-03-11")].set_index("opportunity_id")
    assert sorted(late.index) == ["P4", "Q4"]
    # maximum likelihood: each stage's own rate, 1/2 and 1/4; the amount ratio is (1 + 1 + 1.5) / 3
    assert late.loc["P4", "win_probability"] == pytest.approx(0.5, rel=1e-6)
    assert late.loc["Q4", "win_probability"] == pytest.approx(0.25, rel=1e-6)
    assert (late["probability_source"] == "model").all() and (late["fit_date"] == T("2024-03-11")).all()
    assert late["amount_ratio"].tolist() == pytest.approx([3.5 / 3] * 2)
    assert late.loc["P4", "expected_amount"] == pytest.approx(0.5 * 100 * 3.5 / 3, rel=1e-6)
    assert late.loc["Q4", "expected_amount"] == pytest.approx(0.25 * 100 * 3.5 / 3, rel=1e-6)
    # the stage's contribution: slope sd (logit 1/2 - logit 1/4) = 0.5 ln 3 = 0.55 at z = +-1
    assert late["reasons"].to_dict() == {"P4": "stage Proposal (+0.5)", "Q4": "stage Prospecting (-0.5)"}
    assert deals["fit_date"].dtype == US and deals["probability_source"].dtype == "str"
    assert list(deals.index) == list(range(len(deals)))
    plain, _ = winprob.win_probabilities(ds, [T("2024-03-11")], WP)
    assert "reasons" not in plain.columns
    assert plain["win_probability"].tolist() == pytest.approx(late["win_probability"].tolist(), rel=1e-9)


# -- deal_frame with an activity log: the last activity on each deal as of each date -----------------


def test_deal_frame_activity_features_on_their_edges():
    import ibis

    rows = [("2024-02-01", "Proposal", 100.0, "2024-03-20")]
    deals = {
        "X": ("r1", "open", rows),
        "Y": ("r1", "open", [("2024-02-25", "Proposal", 100.0, "2024-03-20")]),  # 8 days old at D
        "Z": ("r2", "open", [("2024-01-01", "Negotiation", 100.0, "2024-03-20")]),  # never active
        "W": ("r2", "open", [("2024-01-01", "Negotiation", 100.0, "2024-03-20")]),  # last active 14 days before D
        "V": ("r2", "open", [("2024-02-19", "Negotiation", 100.0, "2024-03-20")]),  # 14 days old at D, never active
    }
    opps, hist = deal_frames(deals)
    acts = pd.DataFrame({
        "activity_id": [f"a{i}" for i in range(7)], "rep_id": ["r1", "r1", "r1", "r1", "r1", "r1", "r2"],
        "occurred_at": pd.to_datetime(["2024-02-10 09:00", "2024-03-04 00:00", "2024-03-05 12:00", "2024-03-01",
                                       "2024-03-01", "2024-03-20", "2024-02-19 00:00"], format="ISO8601").astype(US),
        "activity_type": "email",
        "opportunity_id": ["X", "X", "Y", None, "GHOST", "X", "W"],
    })
    ds = Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist},
                 activities=ibis.memtable(acts), as_of=T("2024-06-01"))
    f = winprob.deal_frame(ds, _day("2024-03-11", "2024-03-04"), S)
    f = f.set_index(["as_of_date", "opportunity_id"]).sort_index()
    at = {d: f.loc[T(d)] for d in ("2024-03-04", "2024-03-11")}
    # 4 March: X's activity at that very instant counts (0 days); W's 14 days ago is not "more than 14"
    assert at["2024-03-04"]["last_activity_at"].to_dict() == {
        "V": pd.NaT, "W": T("2024-02-19"), "X": T("2024-03-04"), "Y": pd.NaT, "Z": pd.NaT}
    assert at["2024-03-04"]["days_since_activity"].to_dict() == pytest.approx(
        {"V": np.nan, "W": 14.0, "X": 0.0, "Y": np.nan, "Z": np.nan}, nan_ok=True)
    # no recent activity: quiet (none, or more than 14 days) and older than 14 days
    assert at["2024-03-04"]["flag_no_recent_activity"].to_dict() == {
        "V": False, "W": False, "X": False, "Y": False, "Z": True}
    # 11 March: Y's activity of 5 March 12:00 is 5.5 days old; X's latest is still 4 March
    assert at["2024-03-11"]["days_since_activity"].to_dict() == pytest.approx(
        {"V": np.nan, "W": 21.0, "X": 7.0, "Y": 5.5, "Z": np.nan}, nan_ok=True)
    assert at["2024-03-11"]["flag_no_recent_activity"].to_dict() == {
        "V": True, "W": True, "X": False, "Y": False, "Z": True}
    assert f["days_since_activity"].dtype == "float64" and f["last_activity_at"].dtype == US
    # the design matrix reads them: never active for V, Y and Z on 4 March
    x = winprob.design_matrix(f.reset_index(), S)
    assert x["never_active"].tolist() == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_simulated_team_shock_against_its_integral():
    # Two teams of one rep each, ten deals of amount 1 at p = 1/2, a model with team_shock_var 1:
    # per draw a team's deals are won with chance min(1, p exp(z - 1/2)), z ~ N(0, 1) per team.
    # P(total <= k) = integral of phi(z) BinomCDF(k; 10, min(1, p e^(z - 1/2))) dz, by quadrature:
    # a rep (and its team): P(0) = 0.125 > 0.1 and P(<= 9) = 0.862 < 0.9, so the 80% interval is [0, 10];
    # both teams (independent shocks, the convolution): P(<= 1) = 0.055, P(<= 2) = 0.115,
    # P(<= 13) = 0.870, P(<= 14) = 0.905: [2, 14]. Without the shock: Binomial(10, 1/2), [3, 7].
    from scipy import integrate, stats

    def cdf(k: int) -> float:
        return integrate.quad(lambda z: stats.norm.pdf(z) * stats.binom.cdf(k, 10, min(1.0, 0.5 * np.exp(z - 0.5))),
                              -12, 12, limit=200)[0]

    rep = np.diff(np.r_[0.0, [cdf(k) for k in range(11)]])
    both = np.cumsum(np.convolve(rep, rep))
    assert np.searchsorted(np.cumsum(rep), 0.1) == 0 and np.searchsorted(np.cumsum(rep), 0.9) == 10
    assert np.searchsorted(both, 0.1) == 2 and np.searchsorted(both, 0.9) == 14
    deals = _sim_deals([("2024-03-04", r, 1.0, 0.5, "2024-02-26") for r in ("r1", "r3") for _ in range(10)])
    nb = _nb([("2024-03-04", "r1", "A", 4, 0, 0.0, 0.0, 1.0, 0.0), ("2024-03-04", "r3", "B", 4, 0, 0.0, 0.0, 1.0, 0.0)])
    model = replace(_model(), ratios=np.zeros(0), team_shock_var=1.0)
    s = replace(S, forecast_simulations=20_000)
    out = winprob.simulate_totals(deals, nb, {T("2024-02-26"): model}, s)
    assert out["forecast_low"].tolist() == [0.0, 0.0, 0.0, 0.0, 2.0]
    assert out["forecast_high"].tolist() == [10.0, 10.0, 10.0, 10.0, 14.0]
    calm = winprob.simulate_totals(deals, nb, {T("2024-02-26"): replace(model, team_shock_var=0.0)}, s)
    assert calm["forecast_low"].iloc[:4].tolist() == [3.0] * 4 and calm["forecast_high"].iloc[:4].tolist() == [7.0] * 4


def test_rep_win_rates_with_the_method_of_moments_prior_by_hand():
    # f (team A) and e (team B) have no decided deal; g is alone in team C with none
    reps = pd.DataFrame({"rep_id": ["a", "b", "c", "f", "d", "e", "g"], "team": ["A", "A", "A", "A", "B", "B", "C"]}
                        ).astype("str")

    def decided(rep: str, status: str, when: str) -> tuple:
        stage = "Closed Won" if status == "won" else "Closed Lost"
        return (rep, status, [("2024-01-01", "Proposal", 1.0, "2024-02-01"), (when, stage, 1.0, "2024-02-01")])

    deals = {}
    for rep, won, lost in (("a", 2, 2), ("b", 1, 3), ("c", 4, 0), ("d", 1, 0)):
        for i in range(won):
            deals[f"{rep}w{i}"] = decided(rep, "won", f"2024-02-{10 + i}")
        for i in range(lost):
            deals[f"{rep}l{i}"] = decided(rep, "lost", f"2024-02-{20 + i}")
    deals["a_late"] = decided("a", "lost", "2024-03-10")  # decided after 4 March
    deals["a_on"] = decided("a", "won", "2024-03-04")  # decided at the very instant: counts
    deals["e_open"] = ("e", "open", [("2024-01-01", "Proposal", 1.0, "2024-02-01")])
    deals["ghost"] = decided("zz", "won", "2024-02-10")  # not in the reps table
    opps, _ = deal_frames(deals)
    r = winprob.rep_win_rates(opps, reps, _day("2024-03-04", "2024-03-11"))
    first = r.loc[r["as_of_date"] == T("2024-03-04")].set_index("rep_id")
    assert first.index.tolist() == ["a", "b", "c", "f", "d", "e", "g"]
    assert first["n_won"].tolist() == [3, 1, 4, 0, 1, 0, 0] and first["n_decided"].tolist() == [5, 4, 4, 0, 1, 0, 0]
    # team A, k = 3 reps: N = 13, X = 8, Q = 9/5 + 1/4 + 16/4 = 6.05, S = 25 + 16 + 16 = 57; pooled p = 8/13
    # msb = (Q - N p^2) / 2, msw = (X - Q) / (N - 3), n0 = (N - S / N) / 2,
    # rho = (msb - msw) / (msb + (n0 - 1) msw), strength 1 / rho - 1 (between 1 and N / k)
    n, x, q, s = 13, 8, 6.05, 57
    p = x / n
    msb, msw, n0 = (q - n * p**2) / 2, (x - q) / (n - 3), (n - s / n) / 2
    rho = (msb - msw) / (msb + (n0 - 1) * msw)
    strength = min(max(1 / rho - 1, 1.0), n / 3)
    alpha, beta = p * strength, (1 - p) * strength
    expected_a = [(w + alpha) / (d + alpha + beta) for w, d in ((3, 5), (1, 4), (4, 4), (0, 0))]
    assert first["win_rate_shrunk"].iloc[:4].tolist() == pytest.approx(expected_a)  # f: the prior mean p
    # team B: one rep with decided deals (fewer than 3): the weak prior of strength 2 at the smoothed
    # pooled rate (1 + 0.5) / (1 + 1) = 0.75: d (1 + 1.5) / (1 + 2), e 1.5 / 2
    # team C: no data at all: the prior 1/2 of strength 2
    assert first["win_rate_shrunk"].iloc[4:].tolist() == pytest.approx([2.5 / 3, 0.75, 0.5])
    later = r.loc[r["as_of_date"] == T("2024-03-11")].set_index("rep_id")
    assert later["n_decided"].tolist() == [6, 4, 4, 0, 1, 0, 0] and later["n_won"].tolist() == [3, 1, 4, 0, 1, 0, 0]


def test_new_business_amounts_without_a_history_or_with_one_starting_after_the_win():
    ds = _nb_dataset()
    s = replace(S, forecast_new_business_weeks=10, forecast_new_business_prior_windows=0.0,
                forecast_new_business_prior_deals=0.0)
    # without opportunity_history the current amounts count: C is 500 now, so S = 100 + 3 x 500
    bare = replace(ds, tables={k: v for k, v in ds.tables.items() if k != "opportunity_history"})
    nb = winprob.new_business_rates(bare, _day("2024-03-04"), s).set_index("rep_id")
    assert nb.loc["r1", "n_new_won"] == 4 and nb.loc["r1", "mean_amount"] == pytest.approx(1600 / 4)
    # a history whose only row of C comes after its win: C's current amount too
    hist = ds.table("opportunity_history")
    late = hist.loc[(hist["opportunity_id"] != "C") | (hist["changed_at"] > T("2024-01-26"))]
    nb = winprob.new_business_rates(replace(ds, tables={**ds.tables, "opportunity_history": late}), _day("2024-03-04"),
                                    s).set_index("rep_id")
    assert nb.loc["r1", "mean_amount"] == pytest.approx(1600 / 4)


def test_model_schedule_before_its_anchor_and_refit_weeks_below_one():
    # Wednesday 29 December 1999 is 5 days before the anchor Monday 3 January 2000: week -1 (floor),
    # refit every 4 weeks: week -4, Monday 6 December 1999 (never a date after the one scored)
    fits = winprob.model_schedule(_day("1999-12-29", "2000-01-03", "2000-01-30 23:00"), replace(S, forecast_refit_weeks=4))
    assert list(pd.DatetimeIndex(fits)) == [T("1999-12-06"), T("2000-01-03"), T("2000-01-03")]
    weekly = winprob.model_schedule(_day("2024-03-06"), replace(S, forecast_refit_weeks=0))  # taken as 1
    assert list(pd.DatetimeIndex(weekly)) == [T("2024-03-04")]


def test_fit_with_a_single_win_and_the_ratios_of_usable_wins_only():
    one = _seven().assign(won_in_window=[True] + [False] * 6)
    model = winprob.fit_win_model(one, T("2024-02-05"), replace(S, forecast_min_training_events=1))
    assert (model.kind, model.n_events) == ("model", 1)  # one win is enough when the minimum is 1
    # four wins: 120 on 100 (1.2), 0.5 on 0.5 (1.0); a listed amount of 0 and a won amount of 0
    # give no ratio
    train = _seven().assign(won_in_window=np.array([1, 1, 0, 1, 1, 0, 0], dtype=bool),
                            amount=[100.0, 0.0, 100.0, 0.5, 100.0, 100.0, 100.0],
                            won_amount=[120.0, 100.0, np.nan, 0.5, 0.0, np.nan, np.nan])
    few = winprob.fit_win_model(train, T("2024-02-05"), replace(S, forecast_min_training_events=10))
    assert few.kind == "none" and few.ratios.tolist() == [1.0, 1.2]
