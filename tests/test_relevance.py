"""Tests of salesx2lib.relevance (rank correlation with next period's result) and its charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from salesx2lib import competency, relevance
from salesx2lib.charts import competency as charts

MONDAY = pd.Timestamp("2026-01-05")


def _weekly(n_reps: int = 30, n_weeks: int = 20, seed: int = 0) -> pd.DataFrame:
    """Rollup-shaped weekly counts in which dials drive next week's won revenue and e-mails do not."""
    rng = np.random.default_rng(seed)
    rep = np.repeat(np.arange(n_reps), n_weeks)
    week = np.tile(np.arange(n_weeks), n_reps)
    dials = rng.poisson(rng.uniform(20, 120, n_reps)[rep])
    conversations = rng.binomial(dials, 0.3)
    appointments = rng.binomial(conversations, 0.4)
    opportunities = rng.binomial(appointments, 0.5)
    emails = rng.poisson(40, rep.size)
    prev_dials = np.where(week > 0, np.roll(dials, 1), 0)
    won_amount = np.maximum(0.0, 50.0 * prev_dials + rng.normal(0, 800, rep.size)).round()
    won = np.where(won_amount > 0, rng.integers(1, 4, rep.size), 0)
    lost = rng.integers(0, 4, rep.size)
    zeros = np.zeros(rep.size, dtype="int64")
    return pd.DataFrame(
        {
            "rep_id": [f"r{r:02d}" for r in rep],
            "team": np.where(rep % 2 == 0, "North", "South"),
            "period_start": (MONDAY + pd.to_timedelta(7 * week, unit="D")).astype("datetime64[us]"),
            "dials": dials,
            "conversations": conversations,
            "connected_calls": conversations,
            "appointments": appointments,
            "emails": emails,
            "meetings": zeros,
            "business_cards": zeros,
            "other_activities": zeros,
            "opportunities": opportunities,
            "won": won,
            "lost": lost,
            "won_amount": won_amount,
            "lost_amount": lost * 1000.0,
        }
    ).astype({"rep_id": "str", "team": "str"})


def test_rep_period_metrics_pairs_each_period_with_the_next_periods_result():
    counts = pd.DataFrame(
        {
            "rep_id": ["a", "a", "a", "b", "b"],
            "team": ["T"] * 5,
            "period_start": pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-05", "2026-01-12"]),
            "dials": [10, 0, 7, 4, 5],
            "conversations": [5, 0, 1, 2, 1],
            "connected_calls": [5, 0, 1, 2, 1],
            "appointments": [1, 0, 0, 0, 0],
            "opportunities": [0, 0, 0, 0, 0],
            "won": [0, 1, 2, 0, 0],
            "lost": [0, 0, 0, 0, 1],
            "won_amount": [0.0, 300.0, 900.0, 0.0, 0.0],
            "lost_amount": [0.0, 0.0, 0.0, 0.0, 50.0],
        }
    ).astype({"period_start": "datetime64[us]"})
    m = relevance.rep_period_metrics(counts, "week")
    assert m.columns.tolist() == ["rep_id", "team", "period_start", "metric", "kind", "value", "result"]
    dials = m.loc[m["metric"] == "dials"]
    # a: 5 Jan -> result of 12 Jan (300), 12 Jan -> 19 Jan (900); b: 5 Jan -> 12 Jan (0); last weeks have no next
    assert list(zip(dials["rep_id"], dials["value"], dials["result"], strict=True)) == [
        ("a", 10.0, 300.0), ("a", 0.0, 900.0), ("b", 4.0, 0.0),
    ]
    connect = m.loc[m["metric"] == "connect_rate"]
    # a's second week has no dials: its connect_rate is undefined and left out
    assert list(zip(connect["rep_id"], connect["value"], strict=True)) == [("a", 0.5), ("b", 0.5)]
    assert set(m.loc[m["metric"] == "win_rate", "rep_id"]) == {"a"}  # only a's 12 Jan has closed deals
    assert set(m["kind"]) == {"activity", "competency"}
    assert m.loc[m["metric"] == "win_rate", "kind"].tolist() == ["competency"]


def test_relevance_flags_the_metric_that_predicts_and_the_one_that_does_not():
    out = relevance.relevance(_weekly(), "week", n_resamples=400, seed=1)
    assert out.columns.tolist() == ["metric", "kind", "n_obs", "n_reps", "rho", "ci_low", "ci_high", "label"]
    row = out.set_index("metric")
    assert row.loc["dials", "label"] == "predicts_results"
    assert row.loc["dials", "ci_low"] > 0.3
    assert row.loc["emails", "label"] == "activity_only"
    assert row.loc["emails", "ci_low"] < 0 < row.loc["emails", "ci_high"]
    assert row.loc["meetings", "label"] == "insufficient_data"  # constant: rho undefined
    assert row.loc["dials", "n_obs"] == 30 * 19 and row.loc["dials", "n_reps"] == 30
    assert out["rho"].dropna().is_monotonic_decreasing and out["rho"].isna().sum() == 3  # NaN last


def test_relevance_rho_is_spearman_of_the_rep_period_pairs():
    counts = _weekly(seed=3)
    out = relevance.relevance(counts, "week", n_resamples=50).set_index("metric")
    pairs = relevance.rep_period_metrics(counts, "week")
    for metric in ("dials", "connect_rate", "win_rate"):
        sub = pairs.loc[pairs["metric"] == metric]
        assert out.loc[metric, "rho"] == pytest.approx(sps.spearmanr(sub["value"], sub["result"]).statistic, abs=1e-12)
        assert out.loc[metric, "n_obs"] == len(sub)


def test_without_activities_only_the_opportunity_metrics():
    opp_only = _weekly(seed=5).drop(
        columns=["dials", "conversations", "appointments", "emails", "meetings", "business_cards", "other_activities"]
    )
    out = relevance.relevance(opp_only, "week", n_resamples=50)
    assert sorted(out["metric"]) == ["avg_deal_size", "opportunities", "win_rate"]


def test_relevance_is_deterministic_for_a_seed():
    counts = _weekly(seed=4)
    a = relevance.relevance(counts, "week", n_resamples=200, seed=5)
    b = relevance.relevance(counts, "week", n_resamples=200, seed=5)
    c = relevance.relevance(counts, "week", n_resamples=200, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"].dropna(), c["ci_low"].dropna())


def test_relevance_needs_few_enough_reps_to_judge():
    counts = _weekly(n_reps=4, seed=2)
    out = relevance.relevance(counts, "week", n_resamples=50)
    assert set(out["label"]) == {"insufficient_data"}


def test_relevance_refuses_a_freq_that_does_not_match_the_periods():
    with pytest.raises(ValueError, match="month starts"):
        relevance.relevance(_weekly(n_reps=5, n_weeks=4), "month")
    with pytest.raises(ValueError, match="period_start"):
        relevance.relevance(_weekly().drop(columns="period_start"), "week")


def test_monthly_periods_use_the_next_calendar_month():
    counts = _weekly(n_reps=2, n_weeks=1).assign(
        period_start=pd.Timestamp("2026-01-01")
    )
    feb = counts.assign(period_start=pd.Timestamp("2026-02-01"), won_amount=[111.0, 222.0])
    both = pd.concat([counts, feb], ignore_index=True).astype({"period_start": "datetime64[us]"})
    m = relevance.rep_period_metrics(both, "month")
    assert m.loc[m["metric"] == "dials", "result"].tolist() == [111.0, 222.0]


def test_metric_vs_result_uses_shrunk_rates_and_the_ranges_revenue():
    weekly = _weekly(n_reps=8, n_weeks=6, seed=7)
    counts = weekly.drop(columns="period_start").groupby(["rep_id", "team"], as_index=False).sum()
    points = relevance.metric_vs_result(counts)
    f = competency.funnel(counts)
    mine = points.loc[points["metric"] == "connect_rate"].set_index("rep_id")["value"]
    theirs = f.loc[f["metric"] == "connect_rate"].set_index("rep_id")["shrunk_rate"]
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), check_names=False)
    dials = points.loc[points["metric"] == "dials"].set_index("rep_id")
    assert dials["result"].to_dict() == counts.set_index("rep_id")["won_amount"].to_dict()
    with pytest.raises(ValueError, match="without freq"):
        relevance.metric_vs_result(weekly)


def test_trend_is_the_least_squares_line_with_a_band():
    points = pd.DataFrame(
        {
            "metric": ["dials"] * 5 + ["flat"] * 3 + ["two"] * 2,
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 2.0, 2.0, 1.0, 2.0],
            "result": [2.1, 3.9, 6.2, 7.8, 10.1, 1.0, 2.0, 3.0, 1.0, 2.0],
        }
    )
    t = relevance.trend(points, n_grid=5)
    assert set(t["metric"]) == {"dials"}  # constant value and two points: no trend
    slope, intercept = np.polyfit(points["value"][:5], points["result"][:5], 1)
    assert t["slope"].iloc[0] == pytest.approx(slope)
    np.testing.assert_allclose(t["fit"], intercept + slope * np.linspace(1, 5, 5))
    assert (t["ci_low"] < t["fit"]).all() and (t["fit"] < t["ci_high"]).all()
    middle = t["ci_high"] - t["ci_low"]
    assert middle.iloc[2] < middle.iloc[0]  # narrowest at the mean of x


def test_relevance_and_scatter_charts_build():
    weekly = _weekly(n_reps=10, n_weeks=5, seed=8)
    rel = relevance.relevance(weekly, "week", n_resamples=50)
    spec = charts.relevance_chart(rel).to_dict()
    assert "Spearman" in spec["title"]["subtitle"][0]
    counts = weekly.drop(columns="period_start").groupby(["rep_id", "team"], as_index=False).sum()
    points = relevance.metric_vs_result(counts)
    chart = charts.metric_vs_result_chart(points, relevance.trend(points), "conversation_to_appointment")
    spec = chart.to_dict()
    assert "appointments / conversations" in spec["title"]["subtitle"][0]
    with pytest.raises(ValueError, match="no metric"):
        charts.metric_vs_result_chart(points, relevance.trend(points), "calls")
