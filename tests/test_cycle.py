"""Sales cycle with censoring and the time-bounded win probability, on hand-built fixtures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesx2lib.cycle import CYCLE_COLUMNS, cycle_curve, cycle_durations, sales_cycle, win_within
from salesx2lib.dataset import Dataset

AS_OF = pd.Timestamp("2024-03-01")


def _opps(rows: list[tuple[str, str, str, str, float | None]]) -> pd.DataFrame:
    """(id, rep, created, status, days to close or None) -> an opportunities table."""
    ids, reps, created, status, closed = [], [], [], [], []
    for oid, rep, c, st, days in rows:
        ids.append(oid)
        reps.append(rep)
        created.append(pd.Timestamp(c))
        status.append(st)
        closed.append(pd.Timestamp(c) + pd.Timedelta(days=days) if days is not None else pd.NaT)
    stage = {"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}
    return pd.DataFrame(
        {
            "opportunity_id": pd.array(ids, dtype="str"),
            "rep_id": pd.array(reps, dtype="str"),
            "created_at": pd.Series(created, dtype="datetime64[us]"),
            "amount": 100.0,
            "stage": pd.array([stage[s] for s in status], dtype="str"),
            "status": pd.array(status, dtype="str"),
            "expected_close_date": pd.Series([pd.Timestamp("2024-04-01")] * len(ids), dtype="datetime64[us]"),
            "closed_at": pd.Series(closed, dtype="datetime64[us]"),
        }
    )


REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["a1", "b1"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob"], dtype="str"),
        "team": pd.array(["A", "B"], dtype="str"),
        "manager": pd.array(["M", "M"], dtype="str"),
    }
)

# Team A (created 1 Jan): won at 10 d, lost at 20 d, won at 30 d, two open (60 d old on 1 Mar).
# Team B (created 1 Feb, 29 d old on 1 Mar): won at 5 d, lost at 15 d, one open.
OPPS = _opps(
    [
        ("A1", "a1", "2024-01-01", "won", 10),
        ("A2", "a1", "2024-01-01", "lost", 20),
        ("A3", "a1", "2024-01-01", "won", 30),
        ("A4", "a1", "2024-01-01", "open", None),
        ("A5", "a1", "2024-01-01", "open", None),
        ("B1", "b1", "2024-02-01", "won", 5),
        ("B2", "b1", "2024-02-01", "lost", 15),
        ("B3", "b1", "2024-02-01", "open", None),
    ]
)


@pytest.fixture()
def dataset() -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS}, activities=None, as_of=AS_OF)


def test_durations_censor_open_deals_at_as_of():
    d = cycle_durations(OPPS, AS_OF).set_index("opportunity_id")
    assert d.loc["A1", "days"] == 10 and d.loc["A1", "decided"]
    assert d.loc["A4", "days"] == 60 and not d.loc["A4", "decided"]
    assert d.loc["B3", "days"] == 29 and d.loc["B3", "status"] == "open"


def test_cycle_table_by_hand(dataset):
    out = sales_cycle(dataset)
    assert list(out.columns) == list(CYCLE_COLUMNS)
    assert out["team"].tolist() == ["A", "B", "all"]
    a, b, everyone = (out.iloc[i] for i in range(3))
    # Team A: S(10)=4/5, S(20)=3/5, S(30)=2/5 -> median 30, q25 20, q75 not reached.
    assert (a.n, a.n_won, a.n_lost, a.n_open) == (5, 2, 1, 2)
    assert a.km_median_days == 30 and a.km_q25_days == 20 and math.isnan(a.km_q75_days)
    # The naive median of won deals (10, 30) says 20: it ignores the two open 60-day-old deals.
    assert a.won_median_days == 20 and a.won_mean_days == 20
    # Team B: S(5)=2/3, S(15)=1/3 -> median 15, q25 5.
    assert b.km_median_days == 15 and b.km_q25_days == 5 and b.won_median_days == 5
    # All: S = 7/8, 3/4, 5/8, 1/2 (at 20, exactly), 1/3 -> median 20 (S <= 0.5), q25 10 (S <= 0.75).
    assert everyone.n == 8 and everyone.km_median_days == 20 and everyone.km_q25_days == 10
    assert math.isnan(everyone.km_q75_days)


def test_past_as_of_treats_later_closes_as_open(dataset):
    out = sales_cycle(dataset, as_of="2024-01-25").set_index("team")
    # Only team A exists; A3 (closed on day 30 = 31 Jan) is still open on 25 Jan.
    assert out.loc["A", "n"] == 5
    assert (out.loc["A", "n_won"], out.loc["A", "n_lost"], out.loc["A", "n_open"]) == (1, 1, 3)
    assert out.loc["B", "n"] == 0 and math.isnan(out.loc["B", "km_median_days"])


def test_median_interval_brackets_the_median(dataset):
    row = sales_cycle(dataset).iloc[-1]
    assert row.km_median_ci_low <= row.km_median_days
    assert np.isnan(row.km_median_ci_high) or row.km_median_ci_high >= row.km_median_days


def test_curve_starts_at_one_and_never_rises(dataset):
    curve = cycle_curve(dataset)
    assert set(curve["team"]) == {"A", "B", "all"}
    for _, g in curve.groupby("team"):
        assert g["survival"].iloc[0] == 1.0 and g["days"].iloc[0] == 0.0
        assert (np.diff(g["survival"]) <= 1e-12).all()
    everyone = curve.loc[curve["team"] == "all"].set_index("days")
    assert everyone.loc[20.0, "survival"] == pytest.approx(0.5)
    assert everyone.loc[20.0, "n_at_risk"] == 5  # durations >= 20: 20, 29, 30, 60, 60


def test_win_within_by_hand_with_young_cohorts(dataset):
    out = win_within(dataset, days=[30, 60, 90])
    a = out.loc[out["team"] == "A"].set_index("within_days")
    # A's January cohort: all 5 judged at 30 and 60 days (1 Jan + 60 d = 1 Mar <= as-of);
    # won within 30 d: A1 (10 d) and A3 (30 d, inclusive).
    assert a.loc[30, "n_judged"] == 5 and a.loc[30, "n_won"] == 2
    assert a.loc[30, "win_probability"] == pytest.approx(0.4) and bool(a.loc[30, "complete"])
    assert a.loc[60, "win_probability"] == pytest.approx(0.4)
    # At 90 days nobody is old enough: no rate, all counted as too young.
    assert a.loc[90, "n_too_young"] == 5 and math.isnan(a.loc[90, "win_probability"])
    assert not bool(a.loc[90, "complete"])
    b = out.loc[out["team"] == "B"].set_index("within_days")
    # B's February cohort is 29 days old: B1's win at 5 d is known but the cohort cannot be
    # judged at 30 d; counting it would report 100% from the fast deals alone.
    assert b.loc[30, "n_judged"] == 0 and b.loc[30, "n_too_young"] == 3
    assert math.isnan(b.loc[30, "win_probability"])
    assert out["cohort"].dtype == "datetime64[us]"
    ci = out.dropna(subset=["win_probability"])
    assert ((ci["ci_low"] <= ci["win_probability"]) & (ci["win_probability"] <= ci["ci_high"])).all()


def test_win_within_uses_settings_windows(dataset):
    out = win_within(dataset)
    assert sorted(out["within_days"].unique().tolist()) == [30, 60, 90]
    assert set(out["team"]) == {"A", "B", "all"}


def test_runs_without_optional_tables(dataset):
    # Only reps and opportunities: the cycle needs nothing else.
    assert not dataset.has("opportunity_history") and not dataset.has("forecasts")
    assert len(sales_cycle(dataset)) == 3
