"""Tests of salesx2lib.competency (counts, funnel, benchmarks, deal size) and its funnel chart.

The fixture is small enough to count by hand; every expected number below is written out.
Range used: [2026-01-05, 2026-01-19), two Monday-to-Sunday weeks.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import competency
from salesx2lib.charts import competency as charts
from salesx2lib.dataset import Dataset

START, END = "2026-01-05", "2026-01-19"


def _activities() -> pd.DataFrame:
    rows: list[tuple[str, str, str]] = []

    def add(rep: str, when: str, kind: str, n: int) -> None:
        rows.extend((rep, when, kind) for _ in range(n))

    add("r1", "2026-01-05 09:00", "dial", 10)
    add("r1", "2026-01-12 09:00", "dial", 10)
    add("r1", "2026-01-05 09:00", "conversation", 8)  # 8 of the 10 dials connected (same second)
    add("r1", "2026-01-07 10:00", "appointment", 2)
    add("r1", "2026-01-14 10:00", "appointment", 2)
    add("r1", "2026-01-19 00:00", "dial", 1)  # at END: outside (end exclusive)
    add("r1", "2026-01-04 23:59", "dial", 1)  # before START: outside
    add("r2", "2026-01-08 11:00", "dial", 10)  # ten dials, no conversation
    add("r3", "2026-01-09 11:00", "dial", 5)
    add("r3", "2026-01-09 11:00", "conversation", 2)  # 2 of the 5 dials connected
    add("r3", "2026-01-09 12:00", "conversation", 4)  # meetings held: conversations without a dial
    add("r3", "2026-01-13 12:00", "appointment", 3)
    add("r3", "2026-01-13 12:30", "email", 4)
    frame = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type"])
    # r1's two appointments on 14 January are follow-ups booked on its open deal o1:
    # appointments, but not prospect appointments (trials of appointment_to_opportunity)
    on_deal = (frame["rep_id"] == "r1") & frame["occurred_at"].str.startswith("2026-01-14")
    return frame.assign(
        activity_id=[f"a{i}" for i in range(len(frame))],
        occurred_at=pd.to_datetime(frame["occurred_at"]).astype("datetime64[us]"),
        opportunity_id=pd.Series("o1", index=frame.index, dtype="str").where(on_deal),
    )


def _dataset(with_activities: bool = True) -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4"],
            "rep_name": ["Ann", "Bob", "Cy", "Dee"],
            "team": ["North", "North", "North", "South"],
            "manager": ["M", "M", "M", "S"],
        }
    ).astype("str")
    o = [
        # id, rep, created, amount, status, closed
        ("o1", "r1", "2026-01-06 10:00", 1000.0, "won", "2026-01-15 10:00"),
        ("o2", "r1", "2025-12-20 10:00", 3000.0, "won", "2026-01-10 10:00"),  # created before, won inside
        ("o3", "r1", "2026-01-07 10:00", 900.0, "lost", "2026-01-19 00:00"),  # lost at END: outside
        ("o4", "r2", "2026-01-08 10:00", np.nan, "lost", "2026-01-12 10:00"),  # lost without amount
        ("o5", "r3", "2026-01-18 23:59", 500.0, "open", None),
        ("o6", "r3", "2026-01-05 00:00", 200.0, "lost", "2026-01-09 10:00"),
        ("o7", "r4", "2026-01-10 10:00", 700.0, "won", "2026-01-11 10:00"),
    ]
    opps = pd.DataFrame(o, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    opps = opps.assign(
        created_at=pd.to_datetime(opps["created_at"]).astype("datetime64[us]"),
        closed_at=pd.to_datetime(opps["closed_at"]).astype("datetime64[us]"),
        stage=opps["status"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}),
        expected_close_date=pd.Timestamp("2026-02-01"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str",
              "expected_close_date": "datetime64[us]"})
    activities = ibis.memtable(_activities()) if with_activities else None
    return Dataset(
        tables={"reps": reps, "opportunities": opps}, activities=activities, as_of=pd.Timestamp("2026-01-31")
    )


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return competency.rep_counts(_dataset(), START, END)


@pytest.fixture(scope="module")
def funnel(counts) -> pd.DataFrame:
    return competency.funnel(counts)


def _row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        mask &= (frame[col] == value).to_numpy()
    assert mask.sum() == 1, where
    return frame.loc[mask].iloc[0]


# -- counts ---------------------------------------------------------------------------------


def test_rep_counts_by_hand(counts):
    expected = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4"],
            "team": ["North", "North", "North", "South"],
            "dials": [20, 10, 5, 0],
            "conversations": [8, 0, 6, 0],
            "appointments": [4, 0, 3, 0],
            "emails": [0, 0, 4, 0],
            "meetings": [0, 0, 0, 0],
            "business_cards": [0, 0, 0, 0],
            "other_activities": [0, 0, 0, 0],
            "prospect_appointments": [2, 0, 3, 0],
            "connected_calls": [8, 0, 2, 0],  # conversations in the same second as a dial
            "opportunities": [2, 1, 2, 1],  # created in range: o1 o3 | o4 | o5 o6 | o7
            "won": [2, 0, 0, 1],  # by close date: o1 and o2 (created before the range)
            "lost": [0, 1, 1, 0],  # o3 closed at END is outside
            "won_amount": [4000.0, 0.0, 0.0, 700.0],
            "lost_amount": [0.0, 0.0, 200.0, 0.0],  # o4 has no amount: counts 0
            "won_without_amount": [0, 0, 0, 0],  # every won deal has one
        }
    ).astype({"rep_id": "str", "team": "str"})
    pd.testing.assert_frame_equal(counts, expected)


def test_rep_counts_whole_range_includes_the_boundary_events():
    whole = competency.rep_counts(_dataset())
    r1 = _row(whole, rep_id="r1")
    assert (r1["dials"], r1["opportunities"], r1["won"], r1["lost"]) == (22, 3, 2, 1)


def test_rep_counts_weekly_grid_has_idle_weeks_and_nothing_before_the_first_event():
    weekly = competency.rep_counts(_dataset(), freq="week")
    r1 = weekly.loc[weekly["rep_id"] == "r1"]
    # o2 created 2025-12-20 (week of 15 Dec) is r1's first event; 22 Dec is an idle week
    assert r1["period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-12-15", "2025-12-22", "2025-12-29", "2026-01-05", "2026-01-12", "2026-01-19",
    ]
    idle = _row(weekly, rep_id="r1", period_start=pd.Timestamp("2025-12-22"))
    assert idle[["dials", "conversations", "opportunities", "won"]].tolist() == [0, 0, 0, 0]
    assert (weekly["period_start"].dt.day_of_week == 0).all()
    week2 = _row(weekly, rep_id="r1", period_start=pd.Timestamp("2026-01-12"))
    assert (week2["dials"], week2["appointments"], week2["won"], week2["won_amount"]) == (10, 2, 1, 1000.0)
    # the weekly counts add up to the counts over the whole range
    whole = competency.rep_counts(_dataset())
    summed = weekly.groupby("rep_id")[["dials", "won", "won_amount"]].sum()
    assert summed.loc["r1"].tolist() == whole.set_index("rep_id").loc["r1", ["dials", "won", "won_amount"]].tolist()


def test_rep_counts_rejects_a_backwards_range():
    with pytest.raises(ValueError, match="after start"):
        competency.rep_counts(_dataset(), END, START)


# -- funnel ---------------------------------------------------------------------------------


def test_funnel_columns_and_metrics(funnel):
    assert funnel.columns.tolist() == [
        "rep_id", "team", "metric", "successes", "trials", "rate", "ci_low", "ci_high",
        "shrunk_rate", "prior_alpha", "prior_beta", "defined", "capped",
    ]
    assert funnel["metric"].unique().tolist() == [
        "connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate",
    ]
    assert len(funnel) == 4 * 4


def test_funnel_rates_by_hand(funnel):
    r1 = funnel.loc[funnel["rep_id"] == "r1"].set_index("metric")
    assert r1.loc["connect_rate", ["successes", "trials", "rate"]].tolist() == [8, 20, 0.4]
    assert r1.loc["conversation_to_appointment", "rate"] == 0.5
    # 2 opportunities from 2 prospect appointments (the 2 follow-ups on o1 are not trials)
    assert r1.loc["appointment_to_opportunity", ["successes", "trials", "rate"]].tolist() == [2, 2, 1.0]
    assert r1.loc["win_rate", ["successes", "trials", "rate"]].tolist() == [2, 2, 1.0]


def test_funnel_wilson_bounds_equal_statsmodels(funnel):
    ok = funnel.loc[funnel["defined"]]
    x = np.minimum(ok["successes"], ok["trials"])
    lo, hi = proportion_confint(x, ok["trials"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(ok["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(ok["ci_high"], hi, atol=1e-12)


def test_zero_conversations_is_explicitly_undefined(funnel):
    row = _row(funnel, rep_id="r2", metric="conversation_to_appointment")
    assert (row["successes"], row["trials"]) == (0, 0)
    assert not row["defined"]
    assert np.isnan(row["rate"]) and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    # the shrunk rate of a rep without trials is the team prior's mean
    assert row["shrunk_rate"] == pytest.approx(row["prior_alpha"] / (row["prior_alpha"] + row["prior_beta"]))


def test_a_rep_with_no_activity_at_all_does_not_crash(funnel):
    r4 = funnel.loc[funnel["rep_id"] == "r4"].set_index("metric")
    assert not r4.loc[["connect_rate", "conversation_to_appointment"], "defined"].any()
    assert r4["shrunk_rate"].notna().all()
    assert r4.loc["win_rate", "rate"] == 1.0


def test_connect_rate_counts_connected_calls_not_meetings(funnel):
    # r3: 5 dials, 6 conversations of which 4 are meetings held: 2 connected calls
    row = _row(funnel, rep_id="r3", metric="connect_rate")
    assert (row["successes"], row["trials"], row["rate"], row["capped"]) == (2, 5, 0.4, False)
    assert _row(funnel, rep_id="r3", metric="conversation_to_appointment")[["successes", "trials"]].tolist() == [3, 6]


def test_more_successes_than_trials_is_capped_and_flagged(funnel):
    counts = pd.DataFrame({"rep_id": ["a"], "team": ["t"], "conversations": [5], "appointments": [6]})
    counts = counts.assign(dials=10, connected_calls=5)
    row = _row(competency.funnel(counts), rep_id="a", metric="conversation_to_appointment")
    assert (row["successes"], row["trials"], row["rate"], row["capped"]) == (6, 5, 1.0, True)
    assert row["ci_high"] == 1.0 and row["ci_low"] < 1.0
    inbound = _row(funnel, rep_id="r2", metric="appointment_to_opportunity")  # 1 opportunity, 0 appointments
    assert inbound["capped"] and not inbound["defined"] and np.isnan(inbound["rate"])
    assert not _row(funnel, rep_id="r1", metric="connect_rate")["capped"]


def test_shrunk_rate_uses_a_prior_fitted_across_the_team(funnel):
    north = funnel.loc[(funnel["team"] == "North") & (funnel["metric"] == "connect_rate")]
    # By hand (the ANOVA estimate of fit_beta_prior's docstring) for x = 8, 0, 2 of n = 20, 10, 5:
    # p = 10/35 = 2/7; MSB = (20 (4/35)^2 + 10 (2/7)^2 + 5 (4/35)^2) / 2 = 4/7; MSW = (4.8 + 0 + 1.2) / 32
    # = 3/16; n0 = (35 - 525/35) / 2 = 10; rho = (4/7 - 3/16) / (4/7 + 9 x 3/16) = 43/253;
    # strength = 253/43 - 1 = 210/43 (inside [1, 35/3]); alpha = 2/7 x 210/43 = 60/43, beta = 150/43.
    assert north["prior_alpha"].unique().tolist() == pytest.approx([60 / 43])
    assert north["prior_beta"].unique().tolist() == pytest.approx([150 / 43])
    # shrunk = (x + 60/43) / (n + 210/43): 404/1070, 60/640, 146/425
    np.testing.assert_allclose(north["shrunk_rate"], [404 / 1070, 60 / 640, 146 / 425])


def test_the_prior_is_per_team(counts):
    changed = counts.assign(
        dials=counts["dials"].where(counts["team"] != "South", 1000),
        connected_calls=counts["connected_calls"].where(counts["team"] != "South", 900),
    )
    before = competency.funnel(counts)
    after = competency.funnel(changed)
    north = (before["team"] == "North").to_numpy()
    pd.testing.assert_frame_equal(before.loc[north], after.loc[north])
    assert not before.loc[~north, "shrunk_rate"].equals(after.loc[~north, "shrunk_rate"])


def test_shrinkage_moves_the_small_sample_more_within_a_team():
    counts = pd.DataFrame(
        {
            "rep_id": ["small", "large", "b", "c", "d"],
            "team": ["T"] * 5,
            "won": [4, 400, 10, 30, 20],
            "lost": [1, 100, 40, 70, 30],
        }
    )
    f = competency.funnel(counts).set_index("rep_id")
    assert f.loc["small", "rate"] == f.loc["large", "rate"] == 0.8
    assert abs(f.loc["small", "shrunk_rate"] - 0.8) > abs(f.loc["large", "shrunk_rate"] - 0.8)
    assert f.loc["small", "shrunk_rate"] < f.loc["large", "shrunk_rate"] < 0.8


def test_funnel_per_period_fits_one_prior_per_team_and_period():
    weekly = competency.rep_counts(_dataset(), START, END, freq="week")
    f = competency.funnel(weekly)
    assert "period_start" in f.columns
    per = f.groupby(["team", "period_start", "metric"])["prior_alpha"].nunique()
    assert (per == 1).all()
    week1 = f.loc[(f["period_start"] == pd.Timestamp(START)) & (f["rep_id"] == "r1")].set_index("metric")
    assert week1.loc["connect_rate", ["successes", "trials"]].tolist() == [8, 10]


def test_without_activities_only_the_win_rate():
    ds = _dataset(with_activities=False)
    counts = competency.rep_counts(ds, START, END)
    assert counts.columns.tolist() == ["rep_id", "team", *competency.OPPORTUNITY_COUNT_COLUMNS]
    f = competency.funnel(counts)
    assert f["metric"].unique().tolist() == ["win_rate"]
    assert _row(f, rep_id="r1")["rate"] == 1.0


def test_team_funnel_pools_the_counts(counts):
    team = competency.team_funnel(counts)
    north = team.loc[team["team"] == "North"].set_index("metric")
    assert north.loc["connect_rate", ["n_reps", "successes", "trials"]].tolist() == [3, 10, 35]
    assert north.loc["connect_rate", "rate"] == pytest.approx(10 / 35)
    assert north.loc["win_rate", ["successes", "trials"]].tolist() == [2, 4]
    lo, hi = proportion_confint(2, 4, method="wilson")
    assert (north.loc["win_rate", "ci_low"], north.loc["win_rate", "ci_high"]) == pytest.approx((lo, hi))


def test_team_benchmarks_by_hand(funnel):
    bench = competency.team_benchmarks(funnel)
    assert bench.columns.tolist() == ["team", "metric", "n_reps", "median", "top_quartile"]
    row = _row(bench, team="North", metric="connect_rate")
    shrunk = funnel.loc[(funnel["team"] == "North") & (funnel["metric"] == "connect_rate"), "shrunk_rate"]
    assert row["n_reps"] == 3
    assert row["median"] == pytest.approx(np.median(shrunk))
    assert row["top_quartile"] == pytest.approx(np.quantile(shrunk, 0.75))
    # r2 has no conversations: left out of the conversation_to_appointment benchmark
    c2a = _row(bench, team="North", metric="conversation_to_appointment")
    assert c2a["n_reps"] == 2
    none = _row(bench, team="South", metric="connect_rate")
    assert none["n_reps"] == 0 and np.isnan(none["median"])


def test_deal_size_by_hand(counts):
    d = competency.deal_size(counts).set_index("rep_id")
    assert d.loc["r1", "avg_deal_size"] == 2000.0
    assert d.loc["r1", "team_avg_deal_size"] == 2000.0  # North: 4000 / 2 won deals
    assert d.loc["r1", "win_rate_value"] == 1.0
    assert np.isnan(d.loc["r2", "avg_deal_size"]) and not d.loc["r2", "defined"]
    assert d.loc["r2", "shrunk_avg_deal_size"] == 2000.0  # (0 + 2 * 2000) / (0 + 2)
    assert np.isnan(d.loc["r2", "win_rate_value"])  # lost deal without amount: 0 / 0
    assert d.loc["r3", "win_rate_value"] == 0.0
    assert d.loc["r4", "shrunk_avg_deal_size"] == 700.0
    richer = counts.assign(won_amount=counts["won_amount"].where(counts["rep_id"] != "r1", 5000.0))
    shrunk = competency.deal_size(richer)
    r1 = _row(shrunk, rep_id="r1")
    assert r1["shrunk_avg_deal_size"] == pytest.approx((5000 + 2 * 2500) / 4)


# -- chart ----------------------------------------------------------------------------------


def test_funnel_chart_draws_the_rep_and_team_funnels(funnel, counts):
    spec = charts.funnel_chart(funnel).to_dict()
    assert "Wilson" in spec["title"]["text"]
    assert any("conversation_to_appointment = appointments / conversations" in s for s in spec["title"]["subtitle"])
    team = charts.funnel_chart(competency.team_funnel(counts)).to_dict()
    assert "shrunk" not in " ".join(team["title"]["subtitle"])


def test_funnel_chart_refuses_too_many_rows(funnel):
    big = pd.concat([funnel] * 400, ignore_index=True)
    with pytest.raises(ValueError, match="one team"):
        charts.funnel_chart(big)


def test_funnel_comparison_pools_each_window_by_hand():
    ds = _dataset()
    out = competency.funnel_comparison(ds, "2026-01-12", END, START)
    north = out.loc[out["team"] == "North"].set_index(["window", "metric"])
    # current week 12-18 Jan: North dials r1 10 (12 Jan); baseline 5-11 Jan: r1 10 + r2 10 + r3 5
    assert north.loc[("current", "connect_rate"), "trials"] == 10
    assert north.loc[("baseline", "connect_rate"), ["successes", "trials"]].tolist() == [10, 25]
    assert north.loc[("baseline", "connect_rate"), "rate"] == pytest.approx(10 / 25)
    assert set(out["window_start"].dt.strftime("%Y-%m-%d")) == {"2026-01-12", START}
    current = competency.team_funnel(competency.rep_counts(ds, "2026-01-12", END))
    pd.testing.assert_frame_equal(
        out.loc[out["window"] == "current", current.columns].reset_index(drop=True), current
    )
