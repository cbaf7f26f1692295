"""Rolling forecast and backtest: hand computation, consistency, and no look-ahead.

The no-look-ahead property rewrites everything after the as-of date (outcomes flipped,
amounts and dates changed, deals, history rows and activities added) and asserts that the
forecast as of that date does not move; a control test shows that rewriting the *past*
does move it, so the property can fail.
"""

from __future__ import annotations

from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib import rolling, winprob
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.rolling import (
    backtest,
    backtest_dates,
    backtest_summary,
    rolling_forecast,
    rolling_pipeline,
    stage_win_rates,
)
from salesx2lib.settings import load_settings

from conftest import deal_frames
from worlds.forecast import make_world

US = "datetime64[us]"
T = pd.Timestamp
SETTINGS = load_settings()
ONE = replace(SETTINGS, forecast_min_decided_deals=1)
#: Small data: learn from as few as 3 wins, refit weekly, fewer draws.
MODEL = replace(ONE, forecast_min_training_events=3, forecast_refit_weeks=1, forecast_simulations=200)
OPEN = list(SETTINGS.stage_order)
D = T("2024-03-04")  # a Monday

REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["r1", "r2", "r3"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob", "Cy"], dtype="str"),
        "team": pd.array(["A", "A", "B"], dtype="str"),
        "manager": pd.array(["M", "M", "N"], dtype="str"),
    }
)




HAND = {
    "D1": ("r1", "won", [("2024-01-05", "Prospecting", 10.0, "2024-02-01"), ("2024-01-15", "Qualification", 10.0, "2024-02-01"),
                         ("2024-01-25", "Proposal", 10.0, "2024-02-10"), ("2024-02-10", "Closed Won", 10.0, "2024-02-10")]),
    "D2": ("r1", "lost", [("2024-01-05", "Prospecting", 10.0, "2024-02-01"), ("2024-01-20", "Qualification", 10.0, "2024-02-15"),
                          ("2024-02-15", "Closed Lost", 10.0, "2024-02-15")]),
    "D3": ("r3", "lost", [("2024-01-05", "Prospecting", 10.0, "2024-02-01"), ("2024-02-20", "Closed Lost", 10.0, "2024-02-20")]),
    # Decided after D: invisible to the forecast as of D, counted in its actual.
    "D4": ("r1", "won", [("2024-02-01", "Prospecting", 700.0, "2024-03-15"), ("2024-02-10", "Negotiation", 700.0, "2024-03-15"),
                         ("2024-03-20", "Closed Won", 700.0, "2024-03-20")]),
    "O1": ("r1", "won", [("2024-02-01", "Proposal", 1000.0, "2024-03-20"), ("2024-03-25", "Closed Won", 1000.0, "2024-03-25")]),
    "O2": ("r1", "open", [("2024-02-01", "Qualification", 400.0, "2024-03-10")]),
    "O3": ("r1", "open", [("2024-02-01", "Negotiation", 300.0, "2024-03-30")]),
    "O4": ("r1", "open", [("2024-02-01", "Prospecting", 900.0, "2024-03-15")]),  # below the gate
    "O5": ("r1", "open", [("2024-02-01", "Proposal", 500.0, "2024-05-01")]),  # outside the window
    "O6": ("r1", "open", [("2024-02-01", "Proposal", None, "2024-03-15")]),  # no amount: gate
    "O7": ("r1", "open", [("2024-02-01", "Qualification", 100.0, "2024-04-03")]),  # first day after the window
    "O8": ("r1", "open", [("2024-02-01", "Qualification", 100.0, "2024-04-02")]),  # last day of the window
}
H_OPPS, H_HIST = deal_frames(HAND)


def _dataset(opps: pd.DataFrame, hist: pd.DataFrame | None, as_of: pd.Timestamp, activities: pd.DataFrame | None = None, forecasts: pd.DataFrame | None = None) -> Dataset:
    tables = {"reps": REPS, "opportunities": opps}
    if hist is not None:
        tables["opportunity_history"] = hist
    if forecasts is not None:
        tables["forecasts"] = forecasts
    acts = ibis.memtable(activities) if activities is not None else None
    return Dataset(tables=tables, activities=acts, as_of=as_of)


@pytest.fixture(scope="module")
def hand() -> Dataset:
    return _dataset(H_OPPS, H_HIST, T("2024-06-01"))


@pytest.fixture(scope="module")
def world() -> tuple[Dataset, pd.Timestamp]:
    ds, _ = make_world(7, n_reps=6, weeks=40)
    return ds, T("2024-08-05")


def test_stage_win_rates_by_hand():
    r = stage_win_rates(H_OPPS, H_HIST, [D], ONE).set_index("stage")
    # Decided by D: D1 won (Prospecting, Qualification, Proposal), D2 lost (P, Q), D3 lost (P).
    assert (r.loc["Prospecting", "n_decided"], r.loc["Prospecting", "n_won"]) == (3, 1)
    assert r.loc["Qualification", "stage_win_rate"] == pytest.approx(0.5)
    assert r.loc["Proposal", "stage_win_rate"] == 1.0 and r.loc["Proposal", "source"] == "stage"
    assert r.loc["Negotiation", "n_decided"] == 0 and r.loc["Negotiation", "source"] == "pooled"
    assert r.loc["Negotiation", "win_probability"] == pytest.approx(1 / 3)
    early = stage_win_rates(H_OPPS, H_HIST, ["2024-02-01"], ONE)
    assert (early["source"] == "none").all() and early["win_probability"].isna().all()


def test_stage_weighted_baseline_by_hand(hand):
    deals = rolling._stage_weighted_deals(hand, np.array([D.to_datetime64()]).astype(US), ONE).set_index("opportunity_id")
    # D4 is open on D (it closes on 20 Mar) in Negotiation, expected 15 Mar: it counts too.
    assert sorted(deals.index) == ["D4", "O1", "O2", "O3", "O8"]
    assert deals.loc["D4", "weighted_amount"] == pytest.approx(700.0 / 3)
    assert deals.loc["O1", "weighted_amount"] == pytest.approx(1000.0)
    assert deals.loc["O2", "weighted_amount"] == pytest.approx(200.0)
    assert deals.loc["O3", "weighted_amount"] == pytest.approx(100.0)  # pooled 1/3
    assert deals.loc["O8", "weighted_amount"] == pytest.approx(50.0)
    # Default min_decided_deals = 10: every stage falls back to the pooled 1/3.
    pooled = rolling._stage_weighted_deals(hand, np.array([D.to_datetime64()]).astype(US), SETTINGS)
    assert pooled["weighted_amount"].sum() == pytest.approx(2500.0 / 3)


def test_rolling_pipeline_scores_every_open_deal(hand):
    few = replace(MODEL, forecast_min_training_events=30)  # the default: D1's 4 weekly rows are too few
    deals = rolling_pipeline(hand, as_of=D, settings=few).set_index("opportunity_id")
    # every deal open at D, gated or not, in the window or not
    assert sorted(deals.index) == ["D4", "O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8"]
    assert deals.loc["O7", "close_position"] == "later" and deals.loc["O8", "close_position"] == "in_window"
    assert not deals.loc["O4", "passes_gate"] and not deals.loc["O6", "passes_gate"]
    assert (deals["window_start"] == D).all() and (deals["window_end"] == T("2024-04-02")).all()
    # The hand data holds too few past windows to learn from: nothing is guessed.
    assert (deals["probability_source"] == "none").all() and deals["win_probability"].isna().all()
    per_rep = rolling_forecast(hand, as_of=D, settings=few).set_index("rep_id")
    r1 = per_rep.loc["r1"]
    assert r1.n_opportunities == 9 and r1.pipeline_amount == 1000 + 400 + 300 + 900 + 500 + 100 + 100 + 700
    assert np.isnan(r1.forecast) and np.isnan(r1.forecast_low)
    assert r1.actual == 1700.0  # D4 (700, 20 Mar) + O1 (1000, 25 Mar)


def test_rolling_forecast_adds_up(world):
    ds, when = world
    deals = rolling_pipeline(ds, as_of=when, settings=MODEL, with_scrub=False)
    assert (deals["probability_source"] == "model").all() and deals["win_probability"].between(0, 1).all()
    assert (deals["probability_reasons"].str.len() > 0).mean() > 0.9
    per_rep = rolling_forecast(ds, as_of=when, settings=MODEL)
    by_rep = deals.groupby("rep_id")["weighted_amount"].sum()
    got = per_rep.set_index("rep_id")
    np.testing.assert_allclose(got.loc[by_rep.index, "from_pipeline"], by_rep.to_numpy())
    np.testing.assert_allclose(got["forecast"], got["from_pipeline"] + got["from_new_business"])
    assert (got["forecast_low"] <= got["forecast"]).all() and (got["forecast"] <= got["forecast_high"]).all()
    nb = winprob.new_business_rates(ds, np.array([when.to_datetime64()]).astype(US), MODEL).set_index("rep_id")
    np.testing.assert_allclose(got["from_new_business"], nb.loc[got.index, "expected"])
    team = rolling_forecast(ds, as_of=when, settings=MODEL, by="team").set_index("team")
    assert team.loc["all", "forecast"] == pytest.approx(got["forecast"].sum())
    # a team's interval comes from summed draws: narrower than the sum of its reps' intervals
    width = got.groupby("team").apply(lambda g: (g["forecast_high"] - g["forecast_low"]).sum())
    assert ((team.loc[width.index, "forecast_high"] - team.loc[width.index, "forecast_low"]) < width).all()


def test_actual_unknown_until_window_is_over():
    ds = _dataset(H_OPPS, H_HIST, T("2024-03-20"))
    assert rolling_forecast(ds, as_of=D)["actual"].isna().all()


def test_needs_history():
    with pytest.raises(MissingTableError, match="opportunity_history"):
        rolling_forecast(_dataset(H_OPPS, None, T("2024-06-01")))


def test_control_rewriting_the_past_moves_the_forecast():
    # Outcomes decided well before the as-of date flipped: the model learns other odds.
    opps, hist, acts, fc = _random(0)
    when = T("2024-04-22")
    past = opps["closed_at"] < when - pd.Timedelta(days=40)
    flipped = opps.assign(status=opps["status"].where(~past, opps["status"].map({"won": "lost", "lost": "won"})))
    base = rolling_forecast(_dataset(opps, hist, T("2024-07-01"), acts), as_of=when, settings=MODEL)
    changed = rolling_forecast(_dataset(flipped, hist, T("2024-07-01"), acts), as_of=when, settings=MODEL)
    assert base["from_pipeline"].notna().all()
    assert not np.allclose(base["from_pipeline"], changed["from_pipeline"])


# -- random datasets for the properties -----------------------------------------------------------


def _random(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Consistent random opportunities, history, activities and forecasts (Jan-Jun 2024)."""
    rng = np.random.default_rng(seed)
    end = T("2024-06-30")
    deals, acts = {}, []
    for i in range(int(rng.integers(60, 90))):
        t = T("2024-01-01") + pd.Timedelta(hours=int(rng.integers(0, 24 * 140)))
        stage, amount = int(rng.integers(0, 2)), float(rng.integers(1, 60) * 100)
        ecd = (t + pd.Timedelta(days=int(rng.integers(5, 50)))).normalize()
        rows, status = [(t, OPEN[stage], amount, ecd)], "open"
        for _ in range(int(rng.integers(1, 7))):
            t = t + pd.Timedelta(hours=int(rng.integers(1, 24 * 15)))
            if t > end:
                break
            if rng.random() < 0.3:
                acts.append((f"a{len(acts)}", f"r{i % 3 + 1}", t, f"o{i}"))
            roll = rng.random()
            if roll < 0.2 and stage >= 1:
                status = "won" if rng.random() < 0.2 + 0.2 * stage else "lost"
                rows.append((t, "Closed Won" if status == "won" else "Closed Lost", amount, t.normalize()))
                break
            if roll < 0.55:
                stage = min(stage + 1, 3)
            elif roll < 0.8:
                ecd = ecd + pd.Timedelta(days=int(rng.integers(1, 20)))
            else:
                amount = round(amount * float(rng.uniform(0.6, 1.4)), 0)
            rows.append((t, OPEN[stage], amount, ecd))
        deals[f"o{i}"] = (f"r{i % 3 + 1}", status, rows)
    opps, hist = deal_frames(deals)
    activities = pd.DataFrame(acts, columns=["activity_id", "rep_id", "occurred_at", "opportunity_id"]).assign(activity_type="conversation", duration_s=60.0)
    activities = activities.astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})
    months = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
    fc = [
        (f"r{r}", m - pd.Timedelta(days=int(lag)), m, m + pd.offsets.MonthEnd(0), float(rng.integers(0, 40) * 100), "commit")
        for r in (1, 2, 3)
        for m in months
        for lag in (5, 35, 65)
    ]
    forecasts = pd.DataFrame(fc, columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"])
    forecasts = forecasts.astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})
    return opps, hist, activities, forecasts


def _rewrite_future(opps, hist, acts, when, rng):
    """Everything after ``when`` changed; nothing at or before it."""
    flip = {"won": "lost", "lost": "won", "open": "open"}
    flip_stage = {"Closed Won": "Closed Lost", "Closed Lost": "Closed Won"}
    later = opps["closed_at"] > when
    opps2 = opps.assign(
        status=opps["status"].where(~later, opps["status"].map(flip)),
        stage=opps["stage"].where(~later, opps["stage"].replace(flip_stage)),
        closed_at=opps["closed_at"].where(~later, opps["closed_at"] + pd.Timedelta(days=3)),
        amount=opps["amount"] * 5,  # the current table is "now": all of it is the future
        expected_close_date=opps["expected_close_date"] + pd.Timedelta(days=9),
    )
    future = hist["changed_at"] > when
    hist2 = hist.assign(
        amount=hist["amount"].where(~future, hist["amount"] * 5),
        stage=hist["stage"].where(~future, hist["stage"].replace(flip_stage)),
        expected_close_date=hist["expected_close_date"].where(~future, hist["expected_close_date"] - pd.Timedelta(days=4)),
    )
    # New history rows after `when` for deals open then, and brand-new deals.
    open_then = opps.loc[(opps["created_at"] <= when) & ~(opps["closed_at"] <= when), "opportunity_id"]
    extra = pd.DataFrame(
        {
            "opportunity_id": open_then.to_numpy(),
            "changed_at": when + pd.Timedelta(hours=1),
            "stage": "Negotiation",
            "amount": 99_999.0,
            "expected_close_date": when.normalize() + pd.Timedelta(days=3),
        }
    )
    new_ids = [f"new{i}" for i in range(5)]
    new_opps = pd.DataFrame(
        {
            "opportunity_id": new_ids,
            "rep_id": [f"r{i % 3 + 1}" for i in range(5)],
            "created_at": when + pd.Timedelta(minutes=1),
            "amount": 12_345.0,
            "stage": "Negotiation",
            "status": "open",
            "expected_close_date": when.normalize() + pd.Timedelta(days=2),
            "closed_at": pd.NaT,
        }
    )
    new_hist = new_opps[["opportunity_id", "created_at", "stage", "amount", "expected_close_date"]].rename(columns={"created_at": "changed_at"})
    opps2 = pd.concat([opps2, new_opps.astype(opps.dtypes.to_dict())], ignore_index=True).astype(opps.dtypes.to_dict())
    hist2 = pd.concat([hist2, extra, new_hist], ignore_index=True).astype(hist.dtypes.to_dict())
    hist2 = hist2.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).sort_values("changed_at", kind="stable")
    acts_future = pd.DataFrame(
        {"activity_id": [f"f{i}" for i in range(len(open_then))], "rep_id": "r1", "occurred_at": when + pd.Timedelta(hours=2), "opportunity_id": open_then.to_numpy(), "activity_type": "conversation", "duration_s": 60.0}
    )
    acts2 = pd.concat([acts, acts_future.astype(acts.dtypes.to_dict())], ignore_index=True).astype(acts.dtypes.to_dict())
    return opps2, hist2.reset_index(drop=True), acts2


FORECAST_COLS = [
    "as_of_date", "window_start", "window_end", "team", "rep_id", "n_opportunities", "pipeline_amount",
    "from_pipeline", "from_new_business", "forecast", "forecast_low", "forecast_high",
]


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 100_000), week=st.integers(6, 20))
def test_property_no_look_ahead(seed, week):
    opps, hist, acts, fc = _random(seed)
    when = T("2024-01-01") + pd.Timedelta(weeks=week)  # a Monday
    as_of = T("2024-07-01")
    before_ds = _dataset(opps, hist, as_of, acts, fc)
    o2, h2, a2 = _rewrite_future(opps, hist, acts, when, np.random.default_rng(seed))
    after_ds = _dataset(o2, h2, as_of, a2, fc)
    before = rolling_forecast(before_ds, as_of=when, settings=MODEL)[FORECAST_COLS]
    after = rolling_forecast(after_ds, as_of=when, settings=MODEL)[FORECAST_COLS]
    pd.testing.assert_frame_equal(before, after)
    rates_before = stage_win_rates(opps, hist, [when], ONE)
    rates_after = stage_win_rates(o2, h2, [when], ONE)
    pd.testing.assert_frame_equal(rates_before, rates_after)
    deals_before = rolling_pipeline(before_ds, as_of=when, settings=MODEL).drop(columns=["reasons"])
    deals_after = rolling_pipeline(after_ds, as_of=when, settings=MODEL).drop(columns=["reasons"])
    pd.testing.assert_frame_equal(deals_before, deals_after)


def test_no_look_ahead_example_is_not_vacuous():
    # One fixed case of the property above, with deals and decided deals on both sides.
    opps, hist, acts, fc = _random(0)
    when = T("2024-03-25")
    o2, h2, a2 = _rewrite_future(opps, hist, acts, when, np.random.default_rng(0))
    before = rolling_forecast(_dataset(opps, hist, T("2024-07-01"), acts, fc), as_of=when, settings=MODEL)
    after = rolling_forecast(_dataset(o2, h2, T("2024-07-01"), a2, fc), as_of=when, settings=MODEL)
    assert before["n_opportunities"].sum() >= 8 and before["from_pipeline"].notna().all() and before["forecast"].sum() > 0
    assert before["from_new_business"].sum() > 0 and (before["forecast_high"] > before["forecast_low"]).any()
    assert (opps["closed_at"] > when).sum() >= 10 and (opps["closed_at"] <= when).sum() >= 10
    pd.testing.assert_frame_equal(before[FORECAST_COLS], after[FORECAST_COLS])
    assert not before["actual"].equals(after["actual"])  # the future did change


def test_backtest_rows_equal_rolling_forecast_as_of_each_monday():
    opps, hist, acts, fc = _random(11)
    ds = _dataset(opps, hist, T("2024-07-01"), acts, fc)
    s = replace(MODEL, forecast_refit_weeks=4)  # the refit calendar is the same for both
    bt = backtest(ds, settings=s)
    dates = backtest_dates(ds, s)
    assert (dates.day_of_week == 0).all() and len(dates) > 5
    assert (dates + pd.Timedelta(days=30) <= ds.as_of).all()
    assert bt["as_of_date"].drop_duplicates().tolist() == list(dates)
    assert bt["forecast"].notna().sum() > 10
    for monday in dates[1::3]:
        one = rolling_forecast(ds, as_of=monday, settings=s, by="team")
        pd.testing.assert_frame_equal(bt.loc[bt["as_of_date"] == monday].reset_index(drop=True), one)


@pytest.mark.slow
def test_backtest_summary_formulas():
    opps, hist, acts, fc = _random(5)
    ds = _dataset(opps, hist, T("2024-07-01"), acts, fc)
    summary = backtest_summary(ds, settings=MODEL)
    assert summary["method"].drop_duplicates().tolist() == ["rolling", "submitted", "run_rate", "stage_weighted"]
    assert (summary["horizon_bucket"] == "0-30").all()
    run = rolling._run(ds, backtest_dates(ds, MODEL).to_numpy(), MODEL, baselines=True)
    judged = run.per_rep.loc[run.per_rep[["actual", "forecast", "stage_weighted", "submitted", "run_rate"]].notna().all(axis=1)]
    assert len(judged) > 10
    rows = summary.loc[summary["team"] == "all"].set_index("method")
    a = judged["actual"]
    for method, col in (("rolling", "forecast"), ("submitted", "submitted"), ("run_rate", "run_rate"), ("stage_weighted", "stage_weighted")):
        f = judged[col]
        assert rows.loc[method, "n"] == len(judged)  # every method on the same rep-windows
        assert rows.loc[method, "bias"] == pytest.approx((f - a).sum() / a.sum())
        assert rows.loc[method, "wape"] == pytest.approx((f - a).abs().sum() / a.sum())
    assert rows.loc["rolling", "skill"] == pytest.approx(1 - rows.loc["rolling", "wape"] / rows.loc["run_rate", "wape"])
    assert rows.loc["run_rate", "skill"] == 0.0
    covered = ((judged["forecast_low"] <= a) & (a <= judged["forecast_high"])).mean()
    assert rows.loc["rolling", "coverage"] == pytest.approx(covered) and np.isnan(rows.loc["run_rate", "coverage"])
    # The run-rate by hand for rep-windows: won in (lo, D] x 30 / days(D - lo), where
    # lo = max(D - 91 days, the data's start = midnight of the earliest activity's day).
    start = acts["occurred_at"].min().normalize()
    checked = 0
    for row in judged.iloc[:: max(len(judged) // 6, 1)].itertuples():
        lo = max(row.as_of_date - pd.Timedelta(days=91), start)
        won = opps.loc[(opps["rep_id"] == row.rep_id) & (opps["status"] == "won")]
        won = won.loc[(won["closed_at"] >= lo) & (won["closed_at"] <= row.as_of_date)]  # a close exactly at the start counts
        assert row.run_rate == pytest.approx(won["amount"].sum() * 30 / ((row.as_of_date - lo) / pd.Timedelta(days=1)))
        checked += (lo == start)
    assert checked >= 1  # at least one window cut at the data's start
    # Without forecasts there is no submitted row.
    no_fc = backtest_summary(_dataset(opps, hist, T("2024-07-01")), settings=MODEL)
    assert no_fc["method"].drop_duplicates().tolist() == ["rolling", "run_rate", "stage_weighted"]


def test_run_rate_edges():
    # The run-rate window is (D - 91 days, D] (horizon.run_rate_baseline; no activities, so no
    # data start cuts it): won exactly at D counts (known at D), one second after does not;
    # exactly 91 days before does not, one second later does.
    deals = {
        "a": ("r1", "won", [("2023-11-01", "Proposal", 91.0, "2023-12-01"), ("2023-12-04", "Closed Won", 91.0, "2023-12-04")]),
        "b": ("r1", "won", [("2023-11-01", "Proposal", 182.0, "2023-12-01"), ("2023-12-03 23:59:59", "Closed Won", 182.0, "2023-12-03")]),
        "c": ("r1", "won", [("2024-01-01", "Proposal", 910.0, "2024-03-01"), ("2024-03-04", "Closed Won", 910.0, "2024-03-04")]),
        "d": ("r1", "won", [("2024-01-01", "Proposal", 9100.0, "2024-03-01"), ("2024-03-04 00:00:01", "Closed Won", 9100.0, "2024-03-04")]),
        "e": ("r1", "won", [("2023-11-01", "Proposal", 364.0, "2023-12-01"), ("2023-12-04 00:00:01", "Closed Won", 364.0, "2023-12-04")]),
    }
    o, h = deal_frames(deals)
    ds = _dataset(o, h, T("2024-06-01"))
    run = rolling._run(ds, np.array([D.to_datetime64()]).astype(US), MODEL, baselines=True)
    r1 = run.per_rep.set_index("rep_id").loc["r1"]
    # D - 91 days = 2023-12-04 00:00: "a" on the edge and "b" before it are out, "e" after it is in.
    assert r1["run_rate"] == pytest.approx((364.0 + 910.0) * 30 / 91)
    assert r1["actual"] == 9100.0


def test_forecast_charts_build_from_results():
    from salesx2lib.charts import forecast as charts
    from salesx2lib.cycle import cycle_curve, sales_cycle, win_within
    from salesx2lib.horizon import horizon_accuracy
    from salesx2lib.scrub import flag_counts, scrub

    opps, hist, acts, fc = _random(5)
    ds = _dataset(opps, hist, T("2024-07-01"), acts, fc)
    cycle_days = sales_cycle(ds).set_index("team").loc["all", "km_median_days"]
    hz = horizon_accuracy(ds)
    spec = charts.horizon_accuracy_chart(hz.loc[hz["team"] == "all"], cycle_days).to_dict()
    assert any(layer.get("mark", {}).get("type") == "rule" for layer in spec["layer"])
    with pytest.raises(ValueError, match="one team"):
        charts.horizon_accuracy_chart(hz)
    bt = backtest(ds, settings=ONE)
    curve, win = cycle_curve(ds), win_within(ds)
    for chart in (
        charts.cycle_curve_chart(curve),
        charts.backtest_chart(bt.loc[bt["team"] == "all"]),
        charts.scrub_flags_chart(flag_counts(scrub(ds))),
        charts.win_within_chart(win.loc[win["team"] == "all"]),
    ):
        assert "$schema" in chart.to_dict()


def test_commit_comparison_prorates_the_latest_commit_by_days(hand):
    from salesx2lib.rolling import commit_comparison

    # Window as of D (Mon 4 Mar 2024) with 30 days: 4 Mar .. 2 Apr inclusive.
    fc = pd.DataFrame(
        [
            ("r1", "2024-02-26", "2024-03-01", "2024-03-31", 3100.0, "commit"),  # superseded below
            ("r1", "2024-03-04", "2024-03-01", "2024-03-31", 6200.0, "commit"),  # 28 of 31 days: 5600
            ("r1", "2024-03-04", "2024-04-01", "2024-04-30", 3000.0, "commit"),  # 2 of 30 days: 200
            ("r1", "2024-03-04", "2024-04-01", "2024-04-30", 9000.0, "best_case"),  # not a commit
            ("r1", "2024-03-05", "2024-03-01", "2024-03-31", 99.0, "commit"),  # after D: unknown then
            ("r3", "2024-03-04", "2024-05-01", "2024-05-31", 500.0, "commit"),  # outside the window
        ],
        columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"],
    ).astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})
    ds = _dataset(H_OPPS, H_HIST, T("2024-06-01"), forecasts=fc)
    out = commit_comparison(ds, D, ONE).set_index("rep_id")
    assert out.loc["r1", "commit"] == pytest.approx(5600.0 + 200.0)
    pd.testing.assert_series_equal(out["forecast"], rolling_forecast(ds, D, ONE).set_index("rep_id")["forecast"])
    run = rolling._run(ds, np.array([D.to_datetime64()]).astype(US), ONE, baselines=True)
    assert run.per_rep.set_index("rep_id").loc["r1", "submitted"] == pytest.approx(5600.0 + 200.0)  # the same proration
    assert "2024-03-01..2024-03-31 (submitted 2024-03-04)" in out.loc["r1", "commit_periods"]
    assert pd.isna(out.loc["r2", "commit"]) and pd.isna(out.loc["r3", "commit"])


def test_commit_comparison_without_forecasts_still_forecasts(hand):
    from salesx2lib.rolling import commit_comparison

    out = commit_comparison(hand, D, ONE)
    assert out["commit"].isna().all() and out["commit_vs_interval"].isna().all()
    pd.testing.assert_frame_equal(out.drop(columns=["commit", "commit_periods", "commit_vs_interval"]), rolling_forecast(hand, D, ONE))


def test_calibration_rows_agree_with_the_backtest(world):
    ds, _ = world
    s = replace(MODEL, forecast_refit_weeks=4)
    cal = rolling.calibration(ds, s, start="2024-05-06")
    assert cal["kind"].tolist() == ["decile"] * 10 + ["all", "interval_rep", "interval_team"]
    run = rolling._run(ds, backtest_dates(ds, s, start="2024-05-06").to_numpy(), s)
    deals = run.deals.loc[(run.deals["outcome_by"] <= ds.as_of) & (run.deals["probability_source"] == "model")]
    total = cal.set_index("kind").loc["all"]
    assert total["n_deals"] == len(deals) and total["n_won"] == deals["won_in_window"].sum()
    assert total["brier"] == pytest.approx(((deals["win_probability"] - deals["won_in_window"]) ** 2).mean())
    assert cal.loc[cal["kind"] == "decile", "n_deals"].sum() == len(deals)
    reps = run.per_rep.loc[run.per_rep["actual"].notna() & run.per_rep["forecast_low"].notna()]
    inside = ((reps["forecast_low"] <= reps["actual"]) & (reps["actual"] <= reps["forecast_high"])).sum()
    row = cal.set_index("kind").loc["interval_rep"]
    assert (row["n_deals"], row["n_won"]) == (len(reps), inside) and row["mean_predicted"] == 0.8
    teams = backtest(ds, s, start="2024-05-06")
    teams = teams.loc[(teams["team"] != "all") & teams["actual"].notna() & teams["forecast_low"].notna()]
    assert cal.set_index("kind").loc["interval_team", "n_deals"] == len(teams)


def test_commit_vs_interval_reads_each_side_of_the_range():
    from salesx2lib.rolling import _commit_vs_interval

    table = pd.DataFrame(
        {
            "commit": [50.0, 100.0, 150.0, 200.0, 201.0, np.nan, 120.0],
            "forecast_low": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, np.nan],
            "forecast_high": [200.0, 200.0, 200.0, 200.0, 200.0, 200.0, np.nan],
        }
    )
    # below | on the low edge (inside) | inside | on the high edge (inside) | above | no commit | no interval
    assert _commit_vs_interval(table).tolist()[:5] == ["below", "inside", "inside", "inside", "above"]
    assert _commit_vs_interval(table).isna().tolist() == [False] * 5 + [True, True]
