"""Tests that kill the mutants of salesx2lib/rolling.py (see docs/mutation.md).

One small hand-written dataset (five reps in three teams, a Monday ``D``) on which the win
model is exactly an intercept: its only training rows are two deals ``X`` (won) and ``Y``
(lost) of the same rep, created on the same Sunday and closed the same Thursday, so they are
open at one training Monday only, with the same stage, age, amount, close date and rep win
rate. Every design-matrix column is then constant and dropped, the fit is
``logit p = log(1/1) = 0`` and **every open deal gets p = 1/2** (the amount ratio is
``100/100 = 1``). The forecast, its parts, the actuals, the baselines, the summary and the
calibration are then hand arithmetic, with the real model and no stub.

The simulated intervals come from winprob's seeded draws; a rep's interval is written by
hand only where it is forced: with one or two deals of p = 1/2 and no new business, each
outcome (nothing won, one deal, both) has probability >= 1/4 > 10%, so the 10% and 90%
quantiles are the smallest and the largest outcome.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import rolling
from salesx2lib.dataset import Dataset
from salesx2lib.rolling import (
    backtest,
    backtest_dates,
    backtest_summary,
    calibration,
    commit_comparison,
    rolling_forecast,
    rolling_pipeline,
    stage_win_rates,
)
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
T = pd.Timestamp
D = T("2024-03-04")  # a Monday; window 4 Mar .. 2 Apr (30 days), outcome known from 3 Apr 00:00
#: Learn from a single win, refit every week (the model at D is fitted at D), stage rates from
#: one decided deal, and a data start (1 Jan) that cuts the run-rate's 91 days to 63.
S = replace(
    load_settings(), forecast_min_training_events=1, forecast_refit_weeks=1, forecast_min_decided_deals=1,
    cycle_data_start="2024-01-01",
)

REPS = pd.DataFrame(
    {
        "rep_id": ["r1", "r2", "r3", "r4", "r5"],
        "rep_name": ["Ann", "Bob", "Cy", "Di", "Ed"],
        # teams sorted: East, West, north (a lowercase name sorts after "all": the team order is
        # the teams' then "all", not the alphabet's); in rep order they first appear West, East, north
        "team": ["West", "East", "north", "north", "West"],
        "manager": ["M", "N", "O", "O", "M"],
    }
).astype("str")

DEALS = {
    # r4's first deal (so r4 is "active" from Mon 11 Dec), never open at a Monday
    "W": ("r4", "lost", [("2023-12-05 10:00", "Prospecting", 5.0, "2023-12-20"), ("2023-12-06 10:00", "Closed Lost", 5.0, "2023-12-06")]),
    # r4's new business: created Tue 9 Jan, won Thu 11 Jan, never open at a Monday
    "Z": ("r4", "won", [("2024-01-09 10:00", "Proposal", 50.0, "2024-01-20"), ("2024-01-11 10:00", "Closed Won", 50.0, "2024-01-11")]),
    # the training pair: open at Mon 29 Jan only, identical but for the outcome
    "X": ("r1", "won", [("2024-01-28 10:00", "Proposal", 100.0, "2024-02-10"), ("2024-02-01", "Closed Won", 100.0, "2024-02-01")]),
    "Y": ("r1", "lost", [("2024-01-28 10:00", "Proposal", 100.0, "2024-02-10"), ("2024-02-01", "Closed Lost", 100.0, "2024-02-01")]),
    # open at D
    "A1": ("r1", "won", [("2024-02-05", "Qualification", 400.0, "2024-03-10"), ("2024-03-20", "Closed Won", 400.0, "2024-03-20")]),
    "A2": ("r1", "open", [("2024-02-06", "Negotiation", 300.0, "2024-04-10")]),
    "P1": ("r2", "open", [("2024-02-06", "Prospecting", 60.0, "2024-03-20")]),  # below the gate
    "N1": ("r2", "open", [("2024-02-06", "Proposal", None, "2024-03-20")]),  # no amount: fails the gate
    "B1": ("r3", "open", [("2024-02-07", "Proposal", 1000.0, "2024-03-15")]),
    "B2": ("r3", "open", [("2024-02-07", "Proposal", 2000.0, "2024-03-03")]),  # close date past
    # r4's deals on the edges of the actual's window (D, 3 Apr 00:00)
    "E0": ("r4", "won", [("2024-02-20", "Proposal", 1.0, "2024-03-04"), ("2024-03-04", "Closed Won", 1.0, "2024-03-04")]),
    "E1": ("r4", "won", [("2024-02-20", "Proposal", 10.0, "2024-03-04"), ("2024-03-04 00:00:01", "Closed Won", 10.0, "2024-03-04")]),
    "E2": ("r4", "won", [("2024-02-20", "Qualification", 100.0, "2024-04-02"), ("2024-04-02 23:59:59", "Closed Won", 100.0, "2024-04-02")]),
    "E3": ("r4", "won", [("2024-02-20", "Qualification", 1000.0, "2024-04-03"), ("2024-04-03", "Closed Won", 1000.0, "2024-04-03")]),
    # created after D and won in its window: in the actual only
    "K1": ("r2", "won", [("2024-03-10", "Proposal", 500.0, "2024-03-15"), ("2024-03-15", "Closed Won", 500.0, "2024-03-15")]),
    "K2": ("r3", "won", [("2024-03-05", "Proposal", 9000.0, "2024-03-10"), ("2024-03-10", "Closed Won", 9000.0, "2024-03-10")]),
}
OPPS, HIST = deal_frames(DEALS)

#: Commits. Window 4 Mar .. 2 Apr: 28 of March's 31 days, 2 of April's 30.
FORECASTS = pd.DataFrame(
    [
        ("r1", "2024-02-28 16:30", "2024-03-01", "2024-03-31", 620.0, "commit"),  # 620 * 28/31 = 560
        ("r1", "2024-03-01", "2024-04-01", "2024-04-30", 300.0, "commit"),  # 300 * 2/30 = 20
        ("r2", "2024-03-04", "2024-03-01", "2024-03-31", 310.0, "commit"),  # made at D exactly: 280
        ("r2", "2024-03-04 00:00:01", "2024-03-01", "2024-03-31", 3100.0, "commit"),  # after D
        ("r3", "2024-02-01", "2024-03-01", "2024-03-31", 3100.0, "commit"),  # superseded
        ("r3", "2024-02-20", "2024-03-01", "2024-03-31", 31.0, "commit"),  # 28
        ("r3", "2024-02-20", "2024-02-27", "2024-03-04", 70.0, "commit"),  # 7 days (29 Feb) ending on D: 70/7 = 10
        ("r4", "2024-03-01", "2024-04-01", "2024-04-30", 3000.0, "commit"),  # 200
        ("r4", "2024-03-01", "2024-04-01", "2024-04-30", 9999.0, "best_case"),  # not a commit
        ("r5", "2024-03-01", "2024-02-04", "2024-03-03", 2900.0, "commit"),  # ends the day before
        ("r5", "2024-03-01", "2024-04-03", "2024-04-30", 2800.0, "commit"),  # starts the day after
    ],
    columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"],
).astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})


def _dataset(as_of: pd.Timestamp = T("2024-06-01"), forecasts: bool = False) -> Dataset:
    tables = {"reps": REPS, "opportunities": OPPS, "opportunity_history": HIST}
    if forecasts:
        tables["forecasts"] = FORECASTS
    return Dataset(tables=tables, activities=None, as_of=as_of)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return _dataset()


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def _at(*days: str) -> np.ndarray:
    return np.array([T(x).to_datetime64() for x in days]).astype(US)


# -- the forecast at D -----------------------------------------------------------------------------

#: Per rep at D (p = 1/2 for every open deal):
#: r1: A1 400 + A2 300 -> 350; actual A1 (won 20 Mar) 400; interval {0, 300, 400, 700} -> [0, 700]
#: r2: P1 60 + N1 (no amount, counts 0) -> 30; actual K1 500; interval {0, 60} -> [0, 60]
#: r3: B1 1000 + B2 2000 -> 1500; actual K2 9000
#: r4: E1 10 + E2 100 + E3 1000 -> 555; actual E1 + E2 = 110 (E0 closed at D exactly: not
#:     after D; E3 closed at 3 Apr 00:00: not before the end of 2 Apr)
#: r5: nothing -> 0, interval [0, 0], actual 0
#: New business (deals created after a past Monday M and won in (M, M + 30 days)), over the
#: Mondays M <= D - 30 days = 3 Feb, at most 26 weeks back, once the rep has created a deal:
#: r4 (active from Mon 11 Dec): M = 11 Dec .. 29 Jan, n = 8 windows; Z (created 9 Jan, won
#: 11 Jan) is new business of M = 18 Dec, 25 Dec, 1 Jan, 8 Jan: C = 4, S = 4 * 50 = 200.
#: Team north (r3 has no window: first deal 7 Feb): lambda_T = 4/8, mu_T = 200/4 = 50;
#: r4: lambda = (4 + 8 * 0.5) / (8 + 8) = 0.5, mu = (200 + 5 * 50) / (4 + 5) = 50 -> 25;
#: r3: lambda = (0 + 8 * 0.5) / (0 + 8) = 0.5, mu = (0 + 5 * 50) / (0 + 5) = 50 -> 25.
#: West: r1 has one window (29 Jan) and no new business (X was created before r1 was active):
#: lambda_T = 0 -> 0; East: r2 none -> 0.
REP_ROWS = [
    # rep, team, n_opportunities, pipeline_amount, from_pipeline, from_new_business, forecast, actual
    ("r1", "West", 2, 700.0, 350.0, 0.0, 350.0, 400.0),
    ("r2", "East", 2, 60.0, 30.0, 0.0, 30.0, 500.0),
    ("r3", "north", 2, 3000.0, 1500.0, 25.0, 1525.0, 9000.0),
    ("r4", "north", 3, 1110.0, 555.0, 25.0, 580.0, 110.0),
    ("r5", "West", 0, 0.0, 0.0, 0.0, 0.0, 0.0),
]
COLS = ["n_opportunities", "pipeline_amount", "from_pipeline", "from_new_business", "forecast", "actual"]


def test_rolling_forecast_per_rep_by_hand(ds):
    got = rolling_forecast(ds, D, S)
    assert got.columns.tolist() == [
        "as_of_date", "window_start", "window_end", "team", "rep_id", "n_opportunities", "pipeline_amount",
        "from_pipeline", "from_new_business", "forecast", "forecast_low", "forecast_high", "actual", "error",
    ]
    assert got["rep_id"].tolist() == ["r1", "r2", "r3", "r4", "r5"]  # every rep, in the reps' order
    assert got["team"].tolist() == ["West", "East", "north", "north", "West"]
    assert (got["as_of_date"] == D).all() and (got["window_start"] == D).all()
    assert (got["window_end"] == T("2024-04-02")).all()
    assert got.dtypes["as_of_date"] == US and got.dtypes["window_end"] == US
    assert got.dtypes["n_opportunities"] == "int64" and got.dtypes["team"] == "str"
    want = pd.DataFrame([r[2:] for r in REP_ROWS], columns=COLS).astype({"n_opportunities": "int64"})
    pd.testing.assert_frame_equal(got[COLS], want)
    np.testing.assert_allclose(got["error"], [-50.0, -470.0, -7475.0, 470.0, 0.0])
    g = got.set_index("rep_id")
    assert (g.loc["r1", "forecast_low"], g.loc["r1", "forecast_high"]) == (0.0, 700.0)
    assert (g.loc["r2", "forecast_low"], g.loc["r2", "forecast_high"]) == (0.0, 60.0)
    assert (g.loc["r5", "forecast_low"], g.loc["r5", "forecast_high"]) == (0.0, 0.0)
    # r3 and r4 add drawn new business: only the ordering is certain
    assert (g["forecast_low"] <= g["forecast"]).all() and (g["forecast"] <= g["forecast_high"]).all()
    # r4's 10% quantile is at most 10 (E2, E3 lost and no new deal: 1/4 * e^-0.5 > 10%) and its 90%
    # quantile at least 1000 (E3 won: 1/2)
    assert g.loc["r4", "forecast_low"] <= 10.0 and g.loc["r4", "forecast_high"] >= 1000.0


def test_rolling_forecast_per_team_by_hand(ds):
    got = rolling_forecast(ds, D, S, by="team")
    assert got.columns.tolist() == [
        "as_of_date", "window_start", "window_end", "team", "n_opportunities", "pipeline_amount",
        "from_pipeline", "from_new_business", "forecast", "forecast_low", "forecast_high", "actual", "error",
    ]
    assert got["team"].tolist() == ["East", "West", "north", "all"]  # sorted, then all
    # East = r2; West = r1 + r5; north = r3 + r4; all = everyone
    want = pd.DataFrame(
        [
            (2, 60.0, 30.0, 0.0, 30.0, 500.0),
            (2, 700.0, 350.0, 0.0, 350.0, 400.0),
            (5, 4110.0, 2055.0, 50.0, 2105.0, 9110.0),
            (9, 4870.0, 2435.0, 50.0, 2485.0, 10010.0),
        ],
        columns=COLS,
    ).astype({"n_opportunities": "int64"})
    pd.testing.assert_frame_equal(got[COLS], want)
    np.testing.assert_allclose(got["error"], [-470.0, -50.0, 2105.0 - 9110.0, 2485.0 - 10010.0])
    g = got.set_index("team")
    # a team's interval is its own (the sum of its reps' draws), not a rep's
    assert (g.loc["East", "forecast_low"], g.loc["East", "forecast_high"]) == (0.0, 60.0)
    assert (g.loc["West", "forecast_low"], g.loc["West", "forecast_high"]) == (0.0, 700.0)
    # north: all of B1, B2, E2, E3 lost has probability 1/16 < 10%, so its low is above 110;
    # its high is below 9110 (every amount, 4110, plus a few new deals of about 50)
    assert 110.0 < g.loc["north", "forecast_low"] < g.loc["north", "forecast"] < g.loc["north", "forecast_high"] < 9110.0
    assert g.loc["all", "forecast_low"] < g.loc["all", "forecast"] < g.loc["all", "forecast_high"]
    assert g.loc["all", "forecast_low"] > 0.0  # everything lost: 1/2^9, not the 10% quantile


def test_by_must_be_team_or_rep(ds):
    with pytest.raises(ValueError, match=r"^by must be 'team' or 'rep', not 'manager'$"):
        rolling_forecast(ds, D, S, by="manager")


def test_as_of_with_a_time_zone_is_read_in_utc(ds):
    # 4 Mar 01:00 in Paris (UTC+1) is D itself: the same forecast
    got = rolling_forecast(ds, T("2024-03-04 01:00", tz="Europe/Paris"), S)
    pd.testing.assert_frame_equal(got, rolling_forecast(ds, D, S))


def test_actual_is_known_once_the_window_is_over():
    # the window's outcome is known from 3 Apr 00:00 (end of its last day), not a microsecond sooner
    on = rolling_forecast(_dataset(T("2024-04-03")), D, S)
    assert on["actual"].tolist() == [400.0, 500.0, 9000.0, 110.0, 0.0]
    before = rolling_forecast(_dataset(T("2024-04-02 23:59:59.999999")), D, S)
    assert before["actual"].isna().all() and before["error"].isna().all()
    assert before["forecast"].tolist() == on["forecast"].tolist()
    teams = rolling_forecast(_dataset(T("2024-04-02 23:59:59.999999")), D, S, by="team")
    assert teams["actual"].isna().all() and teams["forecast"].notna().all()  # unknown, not 0


# -- the backtest: dates without a model ------------------------------------------------------------


def test_backtest_dates_span_and_snapping(ds):
    # first decided deal: W, 6 Dec 10:00 -> from 7 Dec -> first Monday 11 Dec; the weekly as-of of
    # Sat 1 Jun is Mon 27 May, minus 30 days = 27 Apr -> last Monday 22 Apr
    got = backtest_dates(ds, S)
    assert got[0] == T("2023-12-11") and got[-1] == T("2024-04-22") and len(got) == 20
    assert got.dtype == US and (got.day_of_week == 0).all()
    # start and end snap to the Monday on or after them; end is included
    assert backtest_dates(ds, S, start="2024-02-06", end="2024-03-04").tolist() == [
        T("2024-02-12"), T("2024-02-19"), T("2024-02-26"), T("2024-03-04"),
    ]
    assert backtest_dates(ds, S, start="2024-02-05", end="2024-02-05").tolist() == [T("2024-02-05")]
    # a first decided deal closed on a Monday at midnight: that Monday is out (nothing known at it)
    o = OPPS.assign(closed_at=OPPS["closed_at"].where(OPPS["opportunity_id"] != "W", T("2023-12-11")))
    early = Dataset(tables={"reps": REPS, "opportunities": o, "opportunity_history": HIST}, activities=None, as_of=T("2024-06-01"))
    assert backtest_dates(early, S)[0] == T("2023-12-18")
    # without W, the first decided deal is Z, won Thu 11 Jan 10:00 -> Mon 15 Jan
    no_w = OPPS.loc[OPPS["opportunity_id"] != "W"].reset_index(drop=True)
    won_first = Dataset(tables={"reps": REPS, "opportunities": no_w, "opportunity_history": HIST}, activities=None, as_of=T("2024-06-01"))
    assert backtest_dates(won_first, S)[0] == T("2024-01-15")
    # no decided deal: no date
    undecided = OPPS.loc[~OPPS["status"].isin(["won", "lost"])].reset_index(drop=True)
    empty = backtest_dates(Dataset(tables={"reps": REPS, "opportunities": undecided}, activities=None, as_of=T("2024-06-01")), S)
    assert len(empty) == 0 and empty.dtype == US
    # the window length moves the end: 60 days before 27 May is Thu 28 Mar -> Mon 25 Mar
    assert backtest_dates(ds, replace(S, forecast_window_days=60))[-1] == T("2024-03-25")


def test_backtest_without_a_model_is_unknown(ds):
    # The model at a Monday M learns from Mondays up to M - 30 days: X and Y (open at 29 Jan)
    # are first usable at 28 Feb, so only D has a model; earlier forecasts are NaN (not 0),
    # while the pipeline counts and the actuals are known.
    got = backtest(ds, S, start="2024-02-05", end=D)
    mondays = [T("2024-02-05"), T("2024-02-12"), T("2024-02-19"), T("2024-02-26"), D]
    assert got["as_of_date"].tolist() == [m for m in mondays for _ in range(4)]
    assert got["team"].tolist() == ["East", "West", "north", "all"] * 5
    # open deals (East, West, north): 5 Feb: A1 only (created that day at 00:00); 12 and 19 Feb:
    # P1 N1 | A1 A2 | B1 B2; 26 Feb adds E0..E3 (created 20 Feb) to north
    assert got["n_opportunities"].tolist() == [0, 1, 0, 1, 2, 2, 2, 6, 2, 2, 2, 6, 2, 2, 6, 10, 2, 2, 5, 9]
    assert got["pipeline_amount"].tolist()[:4] == [0.0, 400.0, 0.0, 400.0]
    assert got["pipeline_amount"].tolist()[12:16] == [60.0, 700.0, 4111.0, 4871.0]
    # actuals, window (M, M + 30 days): 5 Feb -> 5 Mar 24:00: E0 1 + E1 10 (north);
    # 12 Feb: + K2 9000 (north); 19 Feb: + K1 500 (East), A1 400 (20 Mar) not yet;
    # 26 Feb (to 27 Mar): + A1 400 (West)
    assert got["actual"].tolist()[:16] == [
        0.0, 0.0, 11.0, 11.0, 0.0, 0.0, 9011.0, 9011.0, 500.0, 0.0, 9011.0, 9511.0, 500.0, 400.0, 9011.0, 9911.0,
    ]
    early = got.loc[got["as_of_date"] < D]
    for c in ("from_pipeline", "from_new_business", "forecast", "forecast_low", "forecast_high", "error"):
        assert early[c].isna().all(), c
    last = got.loc[got["as_of_date"] == D].reset_index(drop=True)
    pd.testing.assert_frame_equal(last, rolling_forecast(ds, D, S, by="team"))
    reps = backtest(ds, S, start="2024-02-05", end=D, by="rep")
    assert len(reps) == 25 and reps["rep_id"].tolist()[:5] == ["r1", "r2", "r3", "r4", "r5"]
    assert reps.loc[reps["as_of_date"] < D, "forecast"].isna().all()
    assert reps.loc[reps["as_of_date"] == D, "forecast"].tolist() == [350.0, 30.0, 1525.0, 580.0, 0.0]


# -- stage win rates and the baselines --------------------------------------------------------------


def test_stage_win_rates_table_by_hand():
    # Decided by D (closed_at <= D): W lost (Prospecting), Z won, X won, Y lost, E0 won at D
    # exactly (Proposal). A second before D, E0 is not decided yet.
    got = stage_win_rates(OPPS, HIST, ["2024-03-04", "2024-03-03 23:59:59"], S)
    stages = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    rows = []
    for when, prop_won, prop_n, pool_won, pool_n in ((T("2024-03-03 23:59:59"), 2, 3, 2, 4), (D, 3, 4, 3, 5)):
        pooled = pool_won / pool_n
        for stage, (w, n) in zip(stages, [(0, 1), (0, 0), (prop_won, prop_n), (0, 0)], strict=True):
            lo, hi = _wilson(w, n)
            rate = w / n if n else np.nan
            rows.append(
                (when, stage, n, w, rate, lo, hi, pool_n, pooled, rate if n else pooled, "stage" if n else "pooled")
            )
    want = pd.DataFrame(
        rows,
        columns=["as_of_date", "stage", "n_decided", "n_won", "stage_win_rate", "ci_low", "ci_high", "n_pooled",
                 "pooled_win_rate", "win_probability", "source"],
    ).astype({"as_of_date": US, "stage": "str", "source": "str"})
    pd.testing.assert_frame_equal(got, want)
    # dates with a time zone are read in UTC, duplicates count once
    paris = stage_win_rates(OPPS, HIST, [T("2024-03-04 01:00", tz="Europe/Paris")] * 2, S)
    pd.testing.assert_frame_equal(paris, want.loc[want["as_of_date"] == D].reset_index(drop=True))
    # min_decided_deals = 0 still needs one decided deal for a stage rate (else pooled)
    zero = stage_win_rates(OPPS, HIST, [D], replace(S, forecast_min_decided_deals=0)).set_index("stage")
    assert zero.loc["Qualification", "source"] == "pooled" and zero.loc["Qualification", "win_probability"] == 0.6
    # two decided deals needed: Prospecting (1) falls back to the pool, Proposal (4) does not
    two = stage_win_rates(OPPS, HIST, [D], replace(S, forecast_min_decided_deals=2)).set_index("stage")
    assert two["source"].tolist() == ["pooled", "pooled", "stage", "pooled"]
    four = stage_win_rates(OPPS, HIST, [D], replace(S, forecast_min_decided_deals=4)).set_index("stage")
    assert four.loc["Proposal", "source"] == "stage"  # exactly the minimum
    # before anything was decided: no rate at all
    none = stage_win_rates(OPPS, HIST, ["2023-12-06 09:00"], S)
    assert (none["source"] == "none").all() and none["win_probability"].isna().all()
    assert none["pooled_win_rate"].isna().all() and (none["n_pooled"] == 0).all()
    assert none["stage_win_rate"].isna().all() and none["ci_low"].isna().all()
    for c in ("stage_win_rate", "ci_low", "ci_high", "pooled_win_rate", "win_probability"):
        assert none.dtypes[c] == "float64", c
    # one decided deal (W lost, 6 Dec 10:00): Prospecting 0/1 from the stage, the rest pooled 0/1
    one = stage_win_rates(OPPS, HIST, ["2023-12-06 10:00"], S)
    assert one["source"].tolist() == ["stage", "pooled", "pooled", "pooled"]
    assert one["win_probability"].tolist() == [0.0] * 4 and one["stage_win_rate"].isna().tolist() == [False, True, True, True]
    # many dates: each date's rows keep the stage order (a stable sort by date)
    mondays = pd.date_range("2023-12-04", periods=14, freq="W-MON")
    many = stage_win_rates(OPPS, HIST, mondays, S)
    assert many["stage"].tolist() == stages * 14 and many["as_of_date"].tolist() == [m for m in mondays for _ in stages]


def test_baselines_by_hand():
    ds = _dataset(forecasts=True)
    run = rolling._run(ds, _at("2024-03-04"), S, baselines=True)
    got = run.per_rep.set_index("rep_id")
    # stage-weighted: gated deals (Qualification or later, amount and close date) due in
    # [4 Mar, 3 Apr), times the stage rate of test_stage_win_rates_table_by_hand
    # (Qualification: pooled 3/5, Proposal 3/4): A1 400 * 0.6; B1 1000 * 0.75; E1 (due on D)
    # 10 * 0.75 + E2 (due 2 Apr) 100 * 0.6. Out: A2, E3 (due after), B2 (past), P1, N1 (gate).
    np.testing.assert_allclose(got["stage_weighted"], [240.0, 0.0, 750.0, 7.5 + 60.0, 0.0])
    # run-rate: won in (lo, D] x 30 / days(D - lo), lo = max(D - 91 days, 1 Jan) = 1 Jan (63 days):
    # r1 X 100; r4 Z 50 + E0 1 (closed at D: known at D)
    np.testing.assert_allclose(got["run_rate"], [100 * 30 / 63, 0.0, 0.0, 51 * 30 / 63, 0.0])
    # commits prorated (see FORECASTS); r5's periods end the day before the window and start the
    # day after it: no commit
    np.testing.assert_allclose(got["submitted"], [580.0, 280.0, 28.0 + 10.0, 200.0, np.nan])
    deals = rolling._stage_weighted_deals(ds, _at("2024-03-04"), S)
    assert sorted(deals["opportunity_id"]) == ["A1", "B1", "E1", "E2"]
    assert deals.set_index("opportunity_id")["probability_source"].to_dict() == {
        "A1": "pooled", "B1": "stage", "E1": "stage", "E2": "pooled",
    }
    # without a forecasts table there is no commit
    plain = rolling._run(_dataset(), _at("2024-03-04"), S, baselines=True)
    assert plain.per_rep["submitted"].isna().all() and plain.per_rep.dtypes["submitted"] == "float64"
    # a 35-day run-rate: lo = max(D - 35 days, 1 Jan) = 29 Jan: r1 X 100, r4 E0 1, x 30/35
    short = rolling._run(_dataset(), _at("2024-03-04"), replace(S, forecast_run_rate_days=35), baselines=True)
    np.testing.assert_allclose(short.per_rep["run_rate"], [100 * 30 / 35, 0.0, 0.0, 30 / 35, 0.0])


def test_stage_weighted_leaves_out_a_deal_without_close_date():
    # With a gate that does not ask for a close date, a deal without one passes the gate but is
    # not due in the window: r5's Proposal deal without a date adds nothing
    extra = {"Q1": ("r5", "open", [("2024-02-08", "Proposal", 70.0, None)])}
    o, h = deal_frames(extra)
    ds = Dataset(
        tables={"reps": REPS, "opportunities": pd.concat([OPPS, o], ignore_index=True),
                "opportunity_history": pd.concat([HIST, h], ignore_index=True)},
        activities=None, as_of=T("2024-06-01"),
    )
    s = replace(S, gate_required_fields=("amount",))
    run = rolling._run(ds, _at("2024-03-04"), s, baselines=True)
    np.testing.assert_allclose(run.per_rep["stage_weighted"], [240.0, 0.0, 750.0, 67.5, 0.0])
    # a gate without the amount: r2's N1 (Proposal, no amount, due 20 Mar) passes and weighs 0
    deals = rolling._stage_weighted_deals(ds, _at("2024-03-04"), replace(S, gate_required_fields=("expected_close_date",)))
    assert sorted(deals["opportunity_id"]) == ["A1", "B1", "E1", "E2", "N1"]
    assert deals.set_index("opportunity_id").loc["N1", "weighted_amount"] == 0.0


def test_stage_weighted_is_unknown_before_any_decision():
    # On Mon 4 Dec nothing was decided (W closes on the 6th): no stage rate, so the
    # stage-weighted forecast of a rep with a gated deal due in the window is NaN, not 0
    deals = {
        "G": ("r1", "open", [("2023-11-20", "Proposal", 80.0, "2023-12-20")]),
        "F": ("r1", "open", [("2023-11-20", "Proposal", None, "2023-12-20")]),  # fails the gate
        "L": ("r2", "lost", [("2023-11-20", "Proposal", 20.0, "2023-12-20"), ("2023-12-06", "Closed Lost", 20.0, "2023-12-06")]),
    }
    o, h = deal_frames(deals)
    ds = Dataset(tables={"reps": REPS, "opportunities": o, "opportunity_history": h}, activities=None, as_of=T("2024-06-01"))
    run = rolling._run(ds, _at("2023-12-04", "2023-12-11"), S, baselines=True)
    sw = run.per_rep.set_index(["as_of_date", "rep_id"])["stage_weighted"]
    # (L is still open on 4 Dec and due in the window too); r3 has no deal: 0
    assert np.isnan(sw[(T("2023-12-04"), "r1")]) and np.isnan(sw[(T("2023-12-04"), "r2")])
    assert sw[(T("2023-12-04"), "r3")] == 0.0
    # a week later L (lost) is decided: Proposal 0/1, G weighs 80 * 0
    assert sw[(T("2023-12-11"), "r1")] == 0.0 and sw[(T("2023-12-11"), "r2")] == 0.0


# -- the summary --------------------------------------------------------------------------------


def test_backtest_summary_by_hand():
    ds = _dataset(forecasts=True)
    got = backtest_summary(ds, S, start=D, end=D)
    assert got.columns.tolist() == [
        "team", "method", "horizon_bucket", "n", "forecast", "actual", "bias", "wape", "accuracy", "hit_rate",
        "hit_rate_ci_low", "hit_rate_ci_high", "mape", "n_zero_actual", "skill", "coverage", "coverage_ci_low",
        "coverage_ci_high",
    ]
    methods = ["rolling", "submitted", "run_rate", "stage_weighted"]
    assert got["team"].tolist() == [t for t in ("East", "West", "north", "all") for _ in methods]
    assert got["method"].tolist() == methods * 4
    assert (got["horizon_bucket"] == "0-30").all()  # 30 days: the first bucket, 0-30
    # Judged: r1..r4 (r5 has no commit). Per rep: rolling, submitted, run-rate, stage-weighted,
    # actual: r1 350, 580, 100*30/63, 240, 400 | r2 30, 280, 0, 0, 500 |
    #         r3 1525, 38, 0, 750, 9000 | r4 580, 200, 51*30/63, 67.5, 110
    rr1, rr4 = 100 * 30 / 63, 51 * 30 / 63
    f = {
        "rolling": [350.0, 30.0, 1525.0, 580.0],
        "submitted": [580.0, 280.0, 38.0, 200.0],
        "run_rate": [rr1, 0.0, 0.0, rr4],
        "stage_weighted": [240.0, 0.0, 750.0, 67.5],
    }
    a = np.array([400.0, 500.0, 9000.0, 110.0])
    members = {"East": [1], "West": [0], "north": [2, 3], "all": [0, 1, 2, 3]}
    rows = got.set_index(["team", "method"])
    for team, idx in members.items():
        wape_rr = np.abs(np.array(f["run_rate"])[idx] - a[idx]).sum() / a[idx].sum()
        for m in methods:
            err = np.array(f[m])[idx] - a[idx]
            row = rows.loc[(team, m)]
            assert row["n"] == len(idx)
            assert row["forecast"] == pytest.approx(np.array(f[m])[idx].sum())
            assert row["actual"] == pytest.approx(a[idx].sum())
            assert row["bias"] == pytest.approx(err.sum() / a[idx].sum())
            assert row["wape"] == pytest.approx(np.abs(err).sum() / a[idx].sum())
            assert row["skill"] == pytest.approx(1 - (np.abs(err).sum() / a[idx].sum()) / wape_rr)
    # coverage (rolling rows only): r1 400 in [0, 700]; r2 500 above [0, 60]; r3 9000 above
    # its interval (at most its 3000 plus a few new deals); r4 110 inside (see the per-rep test)
    for team, (k, n) in {"East": (0, 1), "West": (1, 1), "north": (1, 2), "all": (2, 4)}.items():
        row = rows.loc[(team, "rolling")]
        lo, hi = _wilson(k, n)
        assert row["coverage"] == pytest.approx(k / n)
        assert row["coverage_ci_low"] == pytest.approx(lo) and row["coverage_ci_high"] == pytest.approx(hi)
    assert got.loc[got["method"] != "rolling", ["coverage", "coverage_ci_low", "coverage_ci_high"]].isna().all().all()
    assert got.dtypes["team"] == "str" and got.dtypes["method"] == "str" and got.dtypes["horizon_bucket"] == "str"
    assert got.dtypes["coverage"] == "float64" and got.dtypes["skill"] == "float64"


def test_backtest_summary_without_forecasts():
    # no forecasts table: no submitted row, and r5 (no commit) is judged too: West = r1 + r5
    got = backtest_summary(_dataset(), S, start=D, end=D)
    assert got["method"].tolist() == ["rolling", "run_rate", "stage_weighted"] * 4
    west = got.loc[got["team"] == "West"].set_index("method")
    assert west["n"].tolist() == [2, 2, 2]
    assert west.loc["rolling", "coverage"] == 1.0  # r1 400 in [0, 700]; r5 0 in [0, 0] (both edges)
    # a window not over yet is not judged: nothing to summarise
    early = backtest_summary(_dataset(T("2024-04-02")), S, start=D, end=D)
    assert early.empty and early.columns.tolist() == got.columns.tolist()


def test_summary_judges_only_rep_windows_every_method_forecast():
    # Before the model (5 Feb .. 26 Feb) the rolling forecast is unknown: those rep-windows are
    # not judged, even though the baselines exist; only D's are.
    got = backtest_summary(_dataset(), S, start="2024-02-05", end=D)
    assert got.loc[got["team"] == "all", "n"].tolist() == [5, 5, 5]
    # with commits: r3's March commit covers the early windows too, still only D's r1..r4
    fc = backtest_summary(_dataset(forecasts=True), S, start="2024-02-05", end=D)
    assert fc.loc[fc["team"] == "all", "n"].tolist() == [4, 4, 4, 4]
    # the run-rate is unknown with fewer than 28 days observed: those windows are not judged
    # for any method
    s = replace(S, cycle_data_start="2024-02-10")  # D - 10 Feb = 23 days: no run-rate at D
    assert backtest_summary(_dataset(), s, start=D, end=D).empty


def test_an_empty_span_gives_empty_tables():
    # start after end: no Monday, empty tables with their usual columns and types
    ds = _dataset(forecasts=True)
    bt = backtest(ds, S, start="2024-03-11", end=D)
    assert bt.empty and bt.columns.tolist() == rolling_forecast(ds, D, S, by="team").columns.tolist()
    assert bt.dtypes["as_of_date"] == US and bt.dtypes["forecast"] == "float64"
    run = rolling._run(ds, np.array([], dtype=US), S, baselines=True)
    assert run.per_rep.empty and run.per_rep.dtypes["submitted"] == "float64"


def test_the_span_and_the_settings_reach_the_dates(ds):
    # start and end pick the Mondays: only 11 Mar (its model learns from 29 Jan too); an earlier
    # start would add D's rep-windows and deals
    one = backtest_summary(ds, S, start="2024-03-11", end="2024-03-11")
    assert one.loc[one["team"] == "all", "n"].tolist() == [5, 5, 5]
    cal = calibration(ds, S, start="2024-03-11", end="2024-03-11").set_index("kind")
    # open at 11 Mar: A1 A2 P1 N1 B1 B2 E2 E3 K1 (E1 and K2 are closed)
    assert cal.loc["all", "n_deals"] == 9 and cal.loc["interval_rep", "n_deals"] == 5
    # the settings pick the default end: with 60-day windows, the last Monday 60 days before
    # 27 May (25 Mar); no Monday up to it has a model yet (29 Jan + 60 days = 29 Mar), later ones would
    s60 = replace(S, forecast_window_days=60)
    assert backtest(ds, s60, start="2024-03-18")["as_of_date"].drop_duplicates().tolist() == [
        T("2024-03-18"), T("2024-03-25"),
    ]
    assert backtest_summary(ds, s60, start="2024-03-18").empty
    assert calibration(ds, s60, start="2024-03-18").set_index("kind").loc["all", "n_deals"] == 0


# -- calibration ------------------------------------------------------------------------------------


def test_calibration_by_hand(ds):
    got = calibration(ds, S, start="2024-02-05", end=D)
    assert got.columns.tolist() == [
        "kind", "bin", "n_deals", "n_won", "mean_predicted", "observed", "ci_low", "ci_high", "gap", "brier",
    ]
    assert got["kind"].tolist() == ["decile"] * 10 + ["all", "interval_rep", "interval_team"]
    assert got.index.tolist() == list(range(13))
    assert got["bin"].tolist()[-3:] == ["all", "80%", "80%"]
    # Only D has a model: its 9 open deals, p = 1/2; won in (D, 3 Apr): A1, E1, E2 (not E3)
    lo, hi = _wilson(3, 9)
    assert got["n_deals"].tolist()[:10] == [0, 0, 0, 0, 0, 9, 0, 0, 0, 0]
    for i in (5, 10):
        row = got.iloc[i]
        assert (row["n_deals"], row["n_won"]) == (9, 3)
        assert row["mean_predicted"] == 0.5 and row["observed"] == pytest.approx(1 / 3)
        assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)
        assert row["gap"] == pytest.approx(1 / 3 - 0.5) and row["brier"] == pytest.approx(0.25)  # (1/2)^2
    # Intervals at D: reps r1 in, r2 out, r3 out, r4 in, r5 in ([0, 0] holds 0) -> 3 of 5;
    # teams (not all): East out (500 > 60), West in, north out (9110) -> 1 of 3
    for i, (k, n) in ((11, (3, 5)), (12, (1, 3))):
        row = got.iloc[i]
        lo, hi = _wilson(k, n)
        assert (row["n_deals"], row["n_won"]) == (n, k)
        assert row["mean_predicted"] == 0.8 and row["observed"] == pytest.approx(k / n)
        assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)
        assert row["gap"] == pytest.approx(k / n - 0.8) and np.isnan(row["brier"])
    assert got.dtypes["n_deals"] == "int64" and got.dtypes["n_won"] == "int64" and got.dtypes["kind"] == "str"
    assert got.dtypes["bin"] == "str"


def test_calibration_waits_for_complete_windows():
    # As of 2 Apr the deals' windows (to 3 Apr 00:00) are not over: no deal, no window
    got = calibration(_dataset(T("2024-04-02 23:59:59")), S, start=D, end=D)
    assert (got["n_deals"] == 0).all() and (got["n_won"] == 0).all()
    assert got["observed"].isna().all() and got["gap"].isna().all()
    # exactly at 3 Apr 00:00 they are
    on = calibration(_dataset(T("2024-04-03")), S, start=D, end=D)
    assert on.set_index("kind").loc["all", "n_deals"] == 9
    assert on.set_index("kind").loc["interval_rep", "n_deals"] == 5
    five = calibration(_dataset(), S, start=D, end=D, bins=5)
    assert five["bin"].tolist()[:5] == ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"]
    assert five["n_deals"].tolist()[:6] == [0, 0, 9, 0, 0, 9]
    wide = calibration(_dataset(), replace(S, forecast_interval=0.5), start=D, end=D).set_index("kind")
    assert wide.loc["interval_rep", "bin"] == "50%" and wide.loc["interval_rep", "mean_predicted"] == 0.5


# -- the pipeline table and the commits ---------------------------------------------------------


def test_rolling_pipeline_by_hand(ds):
    got = rolling_pipeline(ds, D, S)
    base = [
        "as_of_date", "window_start", "window_end", "opportunity_id", "rep_id", "team", "stage", "amount",
        "expected_close_date", "close_position", "passes_gate", "gate_reason", "win_probability",
        "probability_source", "weighted_amount", "probability_reasons",
    ]
    assert got.columns.tolist()[: len(base)] == base
    assert got.columns.tolist()[len(base):len(base) + 2] == ["n_flags", "reasons"]
    assert all(c.startswith("flag_") for c in got.columns[len(base) + 2:]) and "flag_pushed" in got.columns
    # sorted by team, then rep (most likely first: every p is 1/2 here, so the deals' order)
    assert got["opportunity_id"].tolist() == ["P1", "N1", "A1", "A2", "B1", "B2", "E1", "E2", "E3"]
    assert got["team"].tolist() == ["East"] * 2 + ["West"] * 2 + ["north"] * 5
    assert got["close_position"].tolist() == [
        "in_window", "in_window", "in_window", "later", "in_window", "past", "in_window", "in_window", "later",
    ]
    assert got["passes_gate"].tolist() == [False, False] + [True] * 7
    assert (got["win_probability"] == 0.5).all() and (got["probability_source"] == "model").all()
    np.testing.assert_allclose(got["weighted_amount"], [30.0, 0.0, 200.0, 150.0, 500.0, 1000.0, 5.0, 50.0, 500.0])
    assert (got["window_start"] == D).all() and (got["window_end"] == T("2024-04-02")).all()
    assert got.dtypes["n_flags"] == "int64" and got.dtypes["close_position"] == "str"
    assert got.dtypes["gate_reason"] == "str"
    # B2's close date is past, P1 is early-stage yet due in the window: one flag each
    assert got.set_index("opportunity_id")["n_flags"].to_dict() == {
        "P1": 1, "N1": 0, "B1": 0, "B2": 1, "E1": 0, "E2": 0, "E3": 0, "A1": 0, "A2": 0,
    }
    plain = rolling_pipeline(ds, D, S, with_scrub=False)
    assert plain.columns.tolist() == base
    pd.testing.assert_frame_equal(plain, got[base])
    # without an as-of instant: the weekly rule's, Monday 27 May after the last full week to Sat 1 Jun
    default = rolling_pipeline(ds, None, S, with_scrub=False)
    assert (default["as_of_date"] == T("2024-05-27")).all() and (default["window_end"] == T("2024-06-25")).all()
    # the scrub runs with the given settings: Qualification counted early too flags A1 and E2
    early = replace(S, scrub_early_stages=("Prospecting", "Qualification"))
    flags = rolling_pipeline(ds, D, early).set_index("opportunity_id")["n_flags"]
    assert flags[["P1", "A1", "E2", "E3"]].tolist() == [1, 1, 1, 0]  # E3 is due after the window


def test_rolling_pipeline_sorts_most_likely_first(ds, monkeypatch):
    # The real model's rows with other probabilities put in (the sort is rolling's): within a
    # rep, from the most to the least likely.
    from salesx2lib import winprob

    probs = {"A1": 0.2, "A2": 0.9, "B1": 0.1, "B2": 0.7, "E1": 0.3, "E2": 0.8, "E3": 0.5, "P1": 0.4, "N1": 0.6}

    def fake(*args, **kwargs):
        out, models = winprob.win_probabilities(*args, **kwargs)
        return out.assign(win_probability=out["opportunity_id"].map(probs)), models

    monkeypatch.setattr(rolling, "win_probabilities", fake)
    got = rolling_pipeline(ds, D, S, with_scrub=False)
    # East: r2 N1 .6, P1 .4 | West: r1 A2 .9, A1 .2 | north: r3 B2 .7, B1 .1, then r4 E2 .8, E3 .5, E1 .3
    assert got["opportunity_id"].tolist() == ["N1", "P1", "A2", "A1", "B2", "B1", "E2", "E3", "E1"]


def test_commit_comparison_reads_the_interval():
    ds = _dataset(forecasts=True)
    got = commit_comparison(ds, D, S).set_index("rep_id")
    # commits 580 | 280 | 38 | 200 | none against [0, 700] | [0, 60] | [0, ~3000] | [<=10, >=1000] | [0, 0]
    np.testing.assert_allclose(got["commit"], [580.0, 280.0, 38.0, 200.0, np.nan])
    assert got["commit_vs_interval"].tolist()[:4] == ["inside", "above", "inside", "inside"]
    assert pd.isna(got.loc["r5", "commit_vs_interval"]) and pd.isna(got.loc["r5", "commit_periods"])
    assert got.loc["r1", "commit_periods"] == (
        "2024-03-01..2024-03-31 (submitted 2024-02-28); 2024-04-01..2024-04-30 (submitted 2024-03-01)"
    )
    assert got.loc["r3", "commit_periods"] == (
        "2024-03-01..2024-03-31 (submitted 2024-02-20); 2024-02-27..2024-03-04 (submitted 2024-02-20)"
    )
    assert got.dtypes["commit"] == "float64" and got.dtypes["commit_periods"] == "str"
    assert got.dtypes["commit_vs_interval"] == "str"
    no_fc = commit_comparison(_dataset(), D, S)
    assert no_fc["commit"].isna().all() and no_fc["commit_periods"].isna().all()
    assert no_fc.dtypes["commit"] == "float64" and no_fc.dtypes["commit_periods"] == "str"
    assert no_fc["commit_vs_interval"].isna().all() and no_fc.dtypes["commit_vs_interval"] == "str"


def test_commit_vs_interval_keeps_the_table_index():
    table = pd.DataFrame(
        {"commit": [50.0, 150.0, np.nan], "forecast_low": [100.0] * 3, "forecast_high": [200.0] * 3},
        index=["r7", "r8", "r9"],
    )
    got = rolling._commit_vs_interval(table)
    assert got.index.tolist() == ["r7", "r8", "r9"] and got.tolist()[:2] == ["below", "inside"]
    assert pd.isna(got["r9"])

