"""Tests of salesx2lib.routines: each routine by hand, the comparison and gaps, missing tables, the sample."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from salesx2lib import routines as rt
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
from salesx2lib.settings import load_settings

S = replace(load_settings(), routines_next_step_days=3)
START, END = "2026-01-05", "2026-01-19"  # two weeks; next steps judged for deals created before 16 January


def _activities() -> pd.DataFrame:
    rows = [
        ("a", "2026-01-04 10:00", "conversation"),  # before the window
        ("a", "2026-01-05 10:00", "conversation"),
        ("a", "2026-01-05 11:00", "conversation"),  # same day: one conversation day
        ("a", "2026-01-06 09:00", "conversation"),
        ("a", "2026-01-06 15:00", "appointment"),
        ("a", "2026-01-07 09:00", "dial"),  # not a conversation day
        ("a", "2026-01-08 09:00", "conversation"),
        ("a", "2026-01-09 09:00", "appointment"),
        ("a", "2026-01-12 09:00", "conversation"),
        ("a", "2026-01-16 09:00", "appointment"),
        ("a", "2026-01-19 00:00", "conversation"),  # at the end: outside
        ("b", "2026-01-07 09:00", "conversation"),
        ("b", "2026-01-10 09:00", "appointment"),
        ("b", "2026-01-15 09:00", "conversation"),  # no later appointment in the window: left out
    ]
    f = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type"])
    return f.assign(activity_id=[f"x{i}" for i in range(len(f))], occurred_at=pd.to_datetime(f["occurred_at"]).astype("datetime64[us]"))


def _opps() -> pd.DataFrame:
    rows = [
        ("o1", "a", "2026-01-05 09:00", None, "open"),
        ("o2", "a", "2026-01-06 09:00", None, "open"),
        ("o3", "a", "2026-01-08 09:00", None, "open"),
        ("o4", "a", "2026-01-17 09:00", None, "open"),  # too young to judge
        ("o5", "b", "2026-01-10 09:00", "2026-01-11 09:00", "lost"),
        ("o6", "b", "2026-01-12 09:00", None, "open"),
        ("o7", "a", "2026-01-02 09:00", "2026-01-10 09:00", "won"),  # created before the window
        ("o8", "b", "2025-12-20 09:00", "2026-01-11 09:00", "won"),
    ]
    o = pd.DataFrame(rows, columns=["opportunity_id", "rep_id", "created_at", "closed_at", "status"])
    amounts = {"o7": 3000.0, "o8": 1000.0}
    return o.assign(
        created_at=pd.to_datetime(o["created_at"]).astype("datetime64[us]"),
        closed_at=pd.to_datetime(o["closed_at"]).astype("datetime64[us]"),
        amount=o["opportunity_id"].map(amounts).fillna(500.0),
        stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Prospecting"}),
        expected_close_date=pd.Timestamp("2026-03-01"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "expected_close_date": "datetime64[us]"})


def _history() -> pd.DataFrame:
    rows = [
        ("o1", "2026-01-05 09:00", "Prospecting", "2026-03-01"),
        ("o1", "2026-01-07 09:00", "Qualification", "2026-03-01"),  # 2 days: in time
        ("o2", "2026-01-06 09:00", "Prospecting", "2026-03-01"),
        ("o2", "2026-01-12 09:00", "Qualification", "2026-03-01"),  # 6 days: late
        ("o3", "2026-01-08 09:00", "Qualification", None),  # at the gate without a close date...
        ("o3", "2026-01-09 09:00", "Proposal", "2026-03-01"),  # ...set the next day: in time
        ("o5", "2026-01-10 09:00", "Prospecting", "2026-03-01"),
        ("o5", "2026-01-11 09:00", "Closed Lost", "2026-03-01"),  # lost before the gate
        ("o6", "2026-01-12 09:00", "Negotiation", "2026-03-01"),  # created past the gate
    ]
    h = pd.DataFrame(rows, columns=["opportunity_id", "changed_at", "stage", "expected_close_date"])
    return h.assign(
        changed_at=pd.to_datetime(h["changed_at"]).astype("datetime64[us]"),
        expected_close_date=pd.to_datetime(h["expected_close_date"]).astype("datetime64[us]"),
        amount=500.0,
    ).astype({"opportunity_id": "str", "stage": "str"})


def _dataset(full: bool = True) -> Dataset:
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "rep_name": ["Ann", "Bob", "Cy"], "team": "T", "manager": "M"})
    tables = {"reps": reps.astype("str"), "opportunities": _opps()}
    if full:
        tables["opportunity_history"] = _history()
    activities = ibis.memtable(_activities()) if full else None
    return Dataset(tables=tables, activities=activities, as_of=pd.Timestamp("2026-02-15 12:00"))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rt.routines(_dataset(), START, END, settings=S).set_index("rep_id")


def test_daily_activity_in_the_engine():
    days = rt.daily_activity(_dataset(), START, END)
    a = days.loc[days["rep_id"] == "a"].set_index("day")
    assert a.loc[pd.Timestamp("2026-01-05"), "conversations"] == 2
    assert pd.Timestamp("2026-01-07") not in a.index  # a dial only
    assert pd.Timestamp("2026-01-19") not in a.index and pd.Timestamp("2026-01-04") not in a.index
    assert a["appointments"].sum() == 3
    with pytest.raises(MissingTableError, match="activities"):
        rt.daily_activity(_dataset(full=False), START, END)


def test_conversation_days_per_week(table):
    assert table.loc["a", "conversation_days"] == 4  # 5, 6, 8, 12 January
    assert table.loc["a", "conversation_days_per_week"] == pytest.approx(2.0)
    assert table.loc["b", "conversation_days_per_week"] == pytest.approx(1.0)
    assert table.loc["c", "conversation_days_per_week"] == 0.0


def test_days_to_appointment(table):
    # a: 5 -> 6 (1), 6 -> 6 (0), 8 -> 9 (1), 12 -> 16 (4): median 1
    assert table.loc["a", "days_to_appointment"] == pytest.approx(1.0)
    assert table.loc["a", "appointment_gaps"] == 4
    # b: 7 -> 10 (3); 15 has no later appointment
    assert table.loc["b", "days_to_appointment"] == pytest.approx(3.0)
    assert table.loc["b", "appointment_gaps"] == 1
    assert np.isnan(table.loc["c", "days_to_appointment"])


def test_next_step_share(table):
    assert table.loc["a", "next_step_opportunities"] == 3  # o1, o2, o3 (o4 too young, o7 before)
    assert table.loc["a", "next_step_share"] == pytest.approx(2 / 3)
    assert table.loc["b", "next_step_share"] == pytest.approx(1 / 2)  # o6 in time, o5 never gated
    assert table.loc["c", "next_step_opportunities"] == 0 and np.isnan(table.loc["c", "next_step_share"])
    wider = rt.routines(_dataset(), START, END, settings=replace(S, routines_next_step_days=7))
    # 7 days: o2 (6 days) now in time, but the cutoff moves to 12 January: o6 drops out
    assert wider.set_index("rep_id").loc["a", "next_step_share"] == pytest.approx(1.0)


def test_won_revenue_and_top_producers(table):
    assert table["won_revenue"].to_dict() == {"a": 3000.0, "b": 1000.0, "c": 0.0}
    assert table["top_producer"].to_dict() == {"a": True, "b": False, "c": False}  # q75 of (0, 1000, 3000) = 2000


def test_missing_tables_give_na_with_note():
    t = rt.routines(_dataset(full=False), START, END, settings=S)
    assert t[["conversation_days_per_week", "days_to_appointment", "next_step_share"]].isna().all().all()
    assert "activities" in t["note"].iloc[0] and "opportunity_history" in t["note"].iloc[0]


def _frame() -> pd.DataFrame:
    won = np.array([100.0, 200, 300, 400, 500, 600, 700, 800])
    return pd.DataFrame(
        {
            "rep_id": [f"r{i}" for i in range(8)],
            "rep_name": [f"R{i}" for i in range(8)],
            "team": "T",
            "won_revenue": won,
            "top_producer": won >= 650,
            "conversation_days_per_week": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5],  # rises with won revenue
            "days_to_appointment": [8.0, 7, 6, 5, 4, 3, 2, 1],  # falls with won revenue
            "next_step_share": [0.5, 0.1, 0.4, 0.2, 0.6, 0.3, 0.2, 0.5],  # no clear link
        }
    )


def test_routine_comparison_formulas():
    f = _frame()
    c = rt.routine_comparison(f).set_index("routine")
    row = c.loc["conversation_days_per_week"]
    assert (row["n_top"], row["n_rest"]) == (2, 6)
    assert row["mean_top"] == pytest.approx(4.25) and row["mean_rest"] == pytest.approx(2.25)
    assert row["difference"] == pytest.approx(2.0)
    # Welch: se = sqrt(0.125/2 + 0.875/6), df from Welch-Satterthwaite; same as scipy's
    ref = sps.ttest_ind([4.0, 4.5], [1.0, 1.5, 2.0, 2.5, 3.0, 3.5], equal_var=False).confidence_interval()
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ref.low, ref.high))
    assert row["rho"] == pytest.approx(1.0) and row["matters"] and row["better"] == "higher"
    low = c.loc["days_to_appointment"]
    assert low["rho"] == pytest.approx(-1.0) and low["matters"] and low["better"] == "lower"
    ns = c.loc["next_step_share"]
    assert ns["rho"] == pytest.approx(sps.spearmanr(f["next_step_share"], f["won_revenue"]).statistic)
    assert ns["rho_ci_low"] < 0 < ns["rho_ci_high"] and not ns["matters"]


def test_routine_gaps():
    f = _frame()
    g = rt.routine_gaps(f, rt.routine_comparison(f))
    assert set(g["routine"]) == {"conversation_days_per_week", "days_to_appointment"}
    cd = g.loc[g["routine"] == "conversation_days_per_week"].set_index("rep_id")
    assert cd.loc["r0", "top_median"] == pytest.approx(4.25)
    assert cd.loc["r0", "gap"] == pytest.approx(-3.25) and cd.loc["r0", "shortfall"] == pytest.approx(3.25)
    assert cd.loc["r7", "shortfall"] == 0.0  # beyond the top producers' median
    dta = g.loc[g["routine"] == "days_to_appointment"].set_index("rep_id")
    assert dta.loc["r0", "shortfall"] == pytest.approx(8 - 1.5)  # lower is better: 8 days vs 1.5
    assert g.iloc[0]["rep_id"] == "r0"  # largest shortfall first
    none = rt.routine_comparison(f).assign(matters=False)
    assert rt.routine_gaps(f, none).empty


def test_sample():
    d = load_dataset(Path(__file__).resolve().parents[1] / "data" / "sample")
    t = rt.routines(d)
    assert len(t) == len(d.reps)
    assert t["conversation_days_per_week"].between(0, 7).all()
    assert t["next_step_share"].between(0, 1).all()
    assert 0 < t["top_producer"].sum() < len(t)
    c = rt.routine_comparison(t, n_resamples=500)
    assert list(c["routine"]) == list(rt.ROUTINES)
    assert (c["n_top"] + c["n_rest"] <= len(t)).all()


def test_no_won_revenue_no_top_producer():
    t = rt.routines(_dataset(), "2026-02-02", "2026-02-16", settings=S)  # nothing won in these weeks
    assert t["won_revenue"].eq(0).all() and not t["top_producer"].any()
