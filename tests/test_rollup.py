"""Tests of salesx2lib.rollup: engine rollups and the pandas periods that match them."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.rollup import activity_counts, activity_totals, connected_calls, next_period, period_start


def _dataset(rows: list[tuple[str, str, str]] | None) -> Dataset:
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "rep_name": ["A", "B"], "team": ["t", "t"], "manager": ["m", "m"]})
    opps = pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype="str"),
            "rep_id": pd.Series(dtype="str"),
            "created_at": pd.Series(dtype="datetime64[us]"),
            "amount": pd.Series(dtype="float64"),
            "stage": pd.Series(dtype="str"),
            "status": pd.Series(dtype="str"),
            "expected_close_date": pd.Series(dtype="datetime64[us]"),
            "closed_at": pd.Series(dtype="datetime64[us]"),
        }
    )
    activities = None
    if rows is not None:
        acts = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type"])
        acts = acts.assign(
            activity_id=[f"a{i}" for i in range(len(acts))],
            occurred_at=pd.to_datetime(acts["occurred_at"]).astype("datetime64[us]"),
        )
        activities = ibis.memtable(acts)
    return Dataset(tables={"reps": reps.astype("str"), "opportunities": opps}, activities=activities,
                   as_of=pd.Timestamp("2026-12-31"))


ROWS = [
    ("r1", "2026-11-22 23:59:59", "dial"),  # Sunday: week of Monday 16 November
    ("r1", "2026-11-23 00:00:00", "dial"),  # Monday: a new week
    ("r1", "2026-11-23 08:00:00", "dial"),
    ("r1", "2026-11-25 10:00:00", "conversation"),
    ("r2", "2026-11-30 09:00:00", "dial"),
    ("r2", "2026-12-01 09:00:00", "email"),
]


def test_weeks_start_on_monday():
    out = activity_counts(_dataset(ROWS), "week")
    expected = pd.DataFrame(
        {
            "rep_id": ["r1", "r1", "r1", "r2", "r2"],
            "period_start": pd.to_datetime(["2026-11-16", "2026-11-23", "2026-11-23", "2026-11-30", "2026-11-30"]),
            "activity_type": ["dial", "conversation", "dial", "dial", "email"],
            "count": [1, 1, 2, 1, 1],
            "prospecting": [1, 1, 2, 1, 1],
        }
    ).astype({"period_start": "datetime64[us]", "rep_id": "str", "activity_type": "str"})
    pd.testing.assert_frame_equal(out, expected)
    assert (out["period_start"].dt.day_of_week == 0).all()


def test_day_and_month_periods():
    days = activity_counts(_dataset(ROWS), "day")
    assert days.loc[days["rep_id"] == "r1", "period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-11-22", "2026-11-23", "2026-11-25",
    ]
    months = activity_counts(_dataset(ROWS), "month")
    assert sorted(months["period_start"].dt.strftime("%Y-%m-%d").unique()) == ["2026-11-01", "2026-12-01"]
    assert months["count"].sum() == len(ROWS)


def test_activity_totals_are_the_sum_of_the_periods():
    ds = _dataset(ROWS)
    totals = activity_totals(ds)
    weekly = activity_counts(ds, "week").groupby(["rep_id", "activity_type"], as_index=False)[["count", "prospecting"]].sum()
    pd.testing.assert_frame_equal(totals, weekly.astype({"rep_id": "str", "activity_type": "str"}))
    assert totals["count"].tolist() == [1, 3, 1, 1]


def test_rollups_need_the_activity_log():
    with pytest.raises(MissingTableError, match="activities table"):
        activity_counts(_dataset(None), "week")
    with pytest.raises(MissingTableError, match="activities table"):
        activity_totals(_dataset(None))


def test_unknown_freq_is_refused():
    with pytest.raises(ValueError, match="freq"):
        activity_counts(_dataset(ROWS), "quarter")
    with pytest.raises(ValueError, match="freq"):
        period_start(pd.Series(pd.to_datetime(["2026-01-01"])), "year")


@pytest.mark.parametrize("freq", ["day", "week", "month"])
def test_pandas_periods_match_the_engine(freq):
    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 400 * 86400, size=300)
    ts = pd.Timestamp("2025-12-25") + pd.to_timedelta(seconds, unit="s")
    rows = [("r1", str(t), "dial") for t in ts]
    engine = activity_counts(_dataset(rows), freq)
    local = (
        pd.DataFrame({"period_start": period_start(pd.Series(ts), freq)})
        .groupby("period_start", as_index=False)
        .size()
    )
    assert engine["period_start"].tolist() == local["period_start"].tolist()
    assert engine["count"].tolist() == local["size"].tolist()


def test_period_start_by_hand():
    ts = pd.Series(pd.to_datetime(["2026-11-22 23:59", "2026-11-23 00:00", "2026-02-28 10:00"]))
    assert period_start(ts, "week").dt.strftime("%Y-%m-%d").tolist() == ["2026-11-16", "2026-11-23", "2026-02-23"]
    assert period_start(ts, "month").dt.strftime("%Y-%m-%d").tolist() == ["2026-11-01", "2026-11-01", "2026-02-01"]
    assert period_start(ts, "day").dt.strftime("%Y-%m-%d").tolist() == ["2026-11-22", "2026-11-23", "2026-02-28"]
    assert period_start(ts, "week").dtype == "datetime64[us]"


def test_next_period():
    starts = pd.Series(pd.to_datetime(["2026-01-26", "2026-01-31", "2026-12-01"]))
    assert next_period(starts, "day").dt.strftime("%Y-%m-%d").tolist() == ["2026-01-27", "2026-02-01", "2026-12-02"]
    assert next_period(starts, "week").dt.strftime("%Y-%m-%d").tolist() == ["2026-02-02", "2026-02-07", "2026-12-08"]
    assert next_period(pd.Series(pd.to_datetime(["2026-01-01", "2026-12-01"])), "month").dt.strftime(
        "%Y-%m-%d"
    ).tolist() == ["2026-02-01", "2027-01-01"]


def test_prospecting_counts_activities_not_tied_to_an_opportunity():
    ds = _dataset(ROWS)
    acts = ds.activities.to_pandas().assign(opportunity_id=[None, "o1", "o1", None, None, "o2"])
    ds = Dataset(tables=dict(ds.tables), activities=ibis.memtable(acts), as_of=ds.as_of)
    totals = activity_totals(ds)
    assert totals["count"].tolist() == [1, 3, 1, 1]
    assert totals["prospecting"].tolist() == [1, 1, 1, 0]  # r1 dials: 2 of 3 on o1; r2 email on o2


# -- connected calls: a conversation in the same second as a dial ---------------------------

CALLS = [
    ("r1", "2026-11-22 23:59:59", "dial"),  # Sunday, last second of the week of 16 November...
    ("r1", "2026-11-22 23:59:59", "conversation"),  # ...connected: counted in that week
    ("r1", "2026-11-23 00:00:00", "dial"),  # Monday, first second of the next week
    ("r1", "2026-11-23 00:00:00", "conversation"),  # connected: next week
    ("r1", "2026-11-23 00:00:00", "conversation"),  # a second conversation, no second dial: not paired
    ("r1", "2026-11-23 08:00:00", "dial"),
    ("r1", "2026-11-23 08:00:01", "conversation"),  # one second after the dial: a meeting, not a call
    ("r1", "2026-11-24 10:00:00", "meeting"),
    ("r1", "2026-11-24 10:00:00", "conversation"),  # a meeting held: no dial beside it
    ("r1", "2026-11-25 09:00:00", "dial"),
    ("r1", "2026-11-25 09:00:00", "dial"),  # two dials, one conversation in the same second: 1
    ("r1", "2026-11-25 09:00:00", "conversation"),
    ("r2", "2026-11-25 09:00:00", "conversation"),  # another rep's conversation at r1's dial: not paired
    ("r2", "2026-11-30 09:00:00", "dial"),
]


def test_connected_calls_pair_a_conversation_with_a_dial_of_the_same_rep_and_second():
    weekly = connected_calls(_dataset(CALLS), "week")
    assert weekly.columns.tolist() == ["rep_id", "period_start", "connected_calls"]
    assert weekly["rep_id"].tolist() == ["r1", "r1"]  # r2 has none
    assert weekly["period_start"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-16", "2026-11-23"]
    assert weekly["connected_calls"].tolist() == [1, 2]  # Sunday 23:59:59 | Monday 00:00 + the double dial
    totals = connected_calls(_dataset(CALLS))
    assert totals.columns.tolist() == ["rep_id", "connected_calls"]
    assert totals.to_dict("records") == [{"rep_id": "r1", "connected_calls": 3}]
    assert str(totals["connected_calls"].dtype) == "int64"


def test_connected_calls_never_exceed_dials_or_conversations():
    counts = activity_totals(_dataset(CALLS)).pivot(index="rep_id", columns="activity_type", values="count")
    paired = connected_calls(_dataset(CALLS)).set_index("rep_id")["connected_calls"].reindex(counts.index, fill_value=0)
    assert (paired <= counts["dial"]).all() and (paired <= counts["conversation"]).all()


def test_connected_calls_need_activities():
    with pytest.raises(MissingTableError):
        connected_calls(_dataset(None))
