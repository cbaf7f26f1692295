"""Headline KPIs of the weekly report on a small hand-computed dataset (salesx2lib.kpis).

The fixture, weeks starting Monday 2026-11-02, 11-09 and 11-16 (the report week):

- team A: r1 (quota 3,000 for November = 100/day), r2 (1,500 for November = 50/day);
  team B: r3 (6,000 for November = 200/day). Team A's weekly quota is 7 x 150 = 1,050.
- won: 1,000 (r1, Monday 11-16 00:00) and 500 (r2, Sunday 11-22 23:59) in the report
  week, 200 (r1) the week before; 700 (r3, team B) in the report week. Not counted: 300
  won on Monday 11-23 00:00 (next week), a lost deal, an open deal with no amount.
- team A activities: report week 10 conversations, 6 appointments; previous week 5 and 1;
  the week before only dials.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import kpis
from salesx2lib.dataset import Dataset

WEEK = pd.Timestamp("2026-11-16")


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601")).astype("datetime64[us]")


def _activities() -> pd.DataFrame:
    rows: list[tuple[str, str, str]] = []
    rows += [("r1", "2026-11-16 09:00", "conversation")] * 5 + [("r1", "2026-11-22 23:59:59", "conversation")]
    rows += [("r1", "2026-11-17 10:00", "appointment")] * 4
    rows += [("r2", "2026-11-18 10:00", "conversation")] * 4 + [("r2", "2026-11-19 10:00", "appointment")] * 2
    rows += [("r1", "2026-11-10 10:00", "conversation")] * 5 + [("r2", "2026-11-11 10:00", "appointment")]
    rows += [("r1", "2026-11-03 10:00", "dial")] * 7
    rows += [("r1", "2026-11-23 00:00", "conversation")] * 3  # next week
    rows += [("r3", "2026-11-17 10:00", "conversation")] * 3  # team B
    df = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type"])
    df.insert(0, "activity_id", [f"a{i}" for i in range(len(df))])
    df["occurred_at"] = _ts(df["occurred_at"].tolist())
    return df.astype({"activity_id": "str", "rep_id": "str", "activity_type": "str"})


def make_dataset(*, activities: bool = True, quotas: bool = True) -> Dataset:
    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2", "r3"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["A", "A", "B"], "manager": ["M", "M", "N"]}
    ).astype("str")
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "rep_id": ["r1", "r2", "r1", "r1", "r1", "r3", "r2"],
            "created_at": _ts(["2026-10-01"] * 7),
            "amount": [1000.0, 500.0, 300.0, 999.0, 200.0, 700.0, np.nan],
            "stage": ["Closed Won", "Closed Won", "Closed Won", "Closed Lost", "Closed Won", "Closed Won", "Proposal"],
            "status": ["won", "won", "won", "lost", "won", "won", "open"],
            "expected_close_date": _ts(["2026-11-20"] * 7),
            "closed_at": _ts(
                ["2026-11-16 00:00", "2026-11-22 23:59", "2026-11-23 00:00", "2026-11-18", "2026-11-09 10:00", "2026-11-17", None]
            ),
        }
    ).astype({"opportunity_id": "str", "rep_id": "str", "stage": "str", "status": "str"})
    tables = {"reps": reps, "opportunities": opps}
    if quotas:
        tables["quotas"] = pd.DataFrame(
            {
                "rep_id": ["r1", "r2", "r3", "r1"],
                "period_start": _ts(["2026-11-01", "2026-11-01", "2026-11-01", "2026-12-01"]),
                "period_end": _ts(["2026-11-30", "2026-11-30", "2026-11-30", "2026-12-31"]),
                "quota": [3000.0, 1500.0, 6000.0, 3100.0],
            }
        ).astype({"rep_id": "str"})
    acts = ibis.memtable(_activities()) if activities else None
    return Dataset(tables=tables, activities=acts, as_of=pd.Timestamp("2026-11-23"))


def _values(weekly: pd.DataFrame, kpi: str) -> list[float]:
    return weekly.loc[weekly["kpi"] == kpi, "value"].tolist()


@pytest.fixture(scope="module")
def team_a() -> pd.DataFrame:
    return kpis.weekly_kpis(make_dataset().for_team("A"), WEEK, n_weeks=3)


def test_weekly_frame_shape_and_dtypes(team_a: pd.DataFrame) -> None:
    assert list(team_a.columns) == [
        "week_start", "weeks_before", "kpi", "value", "numerator", "denominator", "ci_low", "ci_high", "note",
    ]
    assert team_a["kpi"].unique().tolist() == list(kpis.KPIS)
    assert str(team_a["week_start"].dtype) == "datetime64[us]"
    first = team_a.loc[team_a["kpi"] == "won_revenue"]
    assert first["week_start"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert first["weeks_before"].tolist() == [2, 1, 0]


def test_won_revenue_counts_closed_at_in_the_week(team_a: pd.DataFrame) -> None:
    assert _values(team_a, "won_revenue") == [0.0, 200.0, 1500.0]
    everyone = kpis.weekly_kpis(make_dataset(), WEEK, n_weeks=1)
    assert _values(everyone, "won_revenue") == [2200.0]


def test_prorated_quota_by_days() -> None:
    quotas = make_dataset().tables["quotas"]
    r1 = quotas.loc[quotas["rep_id"] == "r1"]
    # A week inside November: 7/30 of 3,000.
    assert kpis.prorated_quota(r1, pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-23")) == pytest.approx(700.0)
    # Across the month end: 1/30 of 3,000 (30 Nov) + 6/31 of 3,100 (1-6 Dec).
    assert kpis.prorated_quota(r1, pd.Timestamp("2026-11-30"), pd.Timestamp("2026-12-07")) == pytest.approx(700.0)
    # Partly outside any quota period.
    assert kpis.prorated_quota(r1, pd.Timestamp("2026-10-29"), pd.Timestamp("2026-11-05")) == pytest.approx(400.0)
    assert kpis.prorated_quota(r1, pd.Timestamp("2027-02-01"), pd.Timestamp("2027-02-08")) == 0.0


def test_quota_attainment(team_a: pd.DataFrame) -> None:
    rows = team_a.loc[team_a["kpi"] == "quota_attainment"]
    assert rows["denominator"].tolist() == pytest.approx([1050.0, 1050.0, 1050.0])
    assert rows["numerator"].tolist() == [0.0, 200.0, 1500.0]
    assert rows["value"].tolist() == pytest.approx([0.0, 200 / 1050, 1500 / 1050])


def test_conversations_and_ratio_with_wilson_interval(team_a: pd.DataFrame) -> None:
    assert _values(team_a, "conversations") == [0.0, 5.0, 10.0]
    ratio = team_a.loc[team_a["kpi"] == "conversation_to_appointment"].set_index("weeks_before")
    assert ratio.loc[0, "value"] == pytest.approx(0.6)
    assert ratio.loc[0, ["numerator", "denominator"]].tolist() == [6.0, 10.0]
    # Hand computation for 6/10, z = 1.96: centre 0.5722, half-width 0.2596.
    assert ratio.loc[0, "ci_low"] == pytest.approx(0.3127, abs=1e-4)
    assert ratio.loc[0, "ci_high"] == pytest.approx(0.8318, abs=1e-4)
    low, high = proportion_confint(1, 5, method="wilson")
    assert ratio.loc[1, ["ci_low", "ci_high"]].tolist() == pytest.approx([low, high])
    # No conversations: no ratio, and the note says why.
    assert math.isnan(ratio.loc[2, "value"]) and math.isnan(ratio.loc[2, "ci_low"])
    assert ratio.loc[2, "note"] == "no conversations in this week"


def test_headline_summary(team_a: pd.DataFrame) -> None:
    summary = kpis.headline_kpis(team_a, trailing_weeks=2).set_index("kpi")
    assert summary.index.tolist() == list(kpis.KPIS)
    won = summary.loc["won_revenue"]
    assert (won["this_week"], won["previous_week"], won["trailing_average"]) == (1500.0, 200.0, 100.0)
    assert (won["change_vs_previous"], won["change_vs_trailing"]) == (1300.0, 1400.0)
    # Ratios pool the trailing weeks: (200 + 0) / (1050 + 1050); 1 / (5 + 0).
    assert summary.loc["quota_attainment", "trailing_average"] == pytest.approx(200 / 2100)
    assert summary.loc["conversations", "trailing_average"] == 2.5
    c2a = summary.loc["conversation_to_appointment"]
    assert c2a["this_week"] == pytest.approx(0.6) and c2a["n"] == 10.0
    assert c2a["trailing_average"] == pytest.approx(0.2)
    assert c2a["change_vs_previous"] == pytest.approx(0.4)
    assert c2a["ci_low"] == pytest.approx(0.3127, abs=1e-4)
    assert (summary["note"] == "").all()


def test_headline_needs_enough_weeks(team_a: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="3 are needed"):
        kpis.headline_kpis(team_a.loc[team_a["weeks_before"] < 2], trailing_weeks=2)


def test_missing_activities_explained_revenue_still_computed() -> None:
    weekly = kpis.weekly_kpis(make_dataset(activities=False).for_team("A"), WEEK, n_weeks=3)
    summary = kpis.headline_kpis(weekly, trailing_weeks=2).set_index("kpi")
    assert summary.loc["won_revenue", "this_week"] == 1500.0
    assert summary.loc["quota_attainment", "this_week"] == pytest.approx(1500 / 1050)
    for kpi in ("conversations", "conversation_to_appointment"):
        assert math.isnan(summary.loc[kpi, "this_week"])
        assert summary.loc[kpi, "note"] == (
            "needs the activities table (activities.csv or activities.parquet), which this dataset does not have"
        )


def test_missing_quotas_explained() -> None:
    weekly = kpis.weekly_kpis(make_dataset(quotas=False), WEEK, n_weeks=2)
    summary = kpis.headline_kpis(weekly, trailing_weeks=1).set_index("kpi")
    assert math.isnan(summary.loc["quota_attainment", "this_week"])
    assert "needs the quotas table" in summary.loc["quota_attainment", "note"]
    assert summary.loc["conversations", "this_week"] == 13.0


def test_headline_json_is_valid_json_with_nulls() -> None:
    weekly = kpis.weekly_kpis(make_dataset(activities=False), WEEK, n_weeks=3)
    record = kpis.headline_json(kpis.headline_kpis(weekly, trailing_weeks=2))
    text = json.dumps(record, allow_nan=False)
    back = json.loads(text)
    assert list(back) == list(kpis.KPIS)
    assert back["won_revenue"]["this_week"] == 2200.0
    assert back["won_revenue"]["note"] is None
    assert back["conversations"]["this_week"] is None
    assert back["conversations"]["note"].startswith("needs the activities table")
    assert back["conversation_to_appointment"]["formula"] == kpis.KPI_FORMULAS["conversation_to_appointment"]


def test_headline_table_formats_units(team_a: pd.DataFrame) -> None:
    table = kpis.headline_table(kpis.headline_kpis(team_a, trailing_weeks=2), trailing_weeks=2)
    assert table.index.tolist() == [kpis.KPI_LABELS[k] for k in kpis.KPIS]
    assert table.loc["Won revenue", "This week"] == "1,500"
    assert table.loc["Won revenue", "Change vs previous"] == "+1,300"
    assert table.loc["Conversations", "Trailing 2-week average"] == "2.5"
    assert table.loc["Conversation to appointment", "This week"] == "60.0% (31%–83%, n=10)"
    assert table.loc["Conversation to appointment", "Change vs previous"] == "+40.0 pts"
    assert "Note" not in table.columns  # only when a KPI has a note
    missing = kpis.headline_table(
        kpis.headline_kpis(kpis.weekly_kpis(make_dataset(activities=False), WEEK, n_weeks=3), 2), 2
    )
    assert missing.loc["Conversations", "This week"] == "–"
    assert missing.loc["Conversations", "Note"].startswith("needs the activities table")


def test_format_value_missing() -> None:
    assert kpis.format_value(float("nan"), "amount") == "–"


def test_more_appointments_than_conversations_is_capped() -> None:
    acts = pd.DataFrame(
        {
            "activity_id": ["x1", "x2", "x3"],
            "rep_id": ["r3"] * 3,
            "occurred_at": _ts(["2026-11-17 10:00"] * 3),
            "activity_type": ["conversation", "appointment", "appointment"],
        }
    ).astype({"activity_id": "str", "rep_id": "str", "activity_type": "str"})
    dataset = replace(make_dataset(), activities=ibis.memtable(acts))
    row = kpis.weekly_kpis(dataset, WEEK, n_weeks=1).set_index("kpi").loc["conversation_to_appointment"]
    assert row["value"] == 1.0 and row["numerator"] == 2.0 and row["denominator"] == 1.0
    assert row["ci_high"] == 1.0 and row["ci_low"] == pytest.approx(proportion_confint(1, 1, method="wilson")[0])
    assert row["note"] == "more appointments than conversations in this week: capped at 100%"


def test_won_revenue_says_how_many_won_deals_lacked_an_amount() -> None:
    # two won deals of r2 without an amount: one in the report week (Sunday 23:59, its last
    # minute), one on Monday 11-23 00:00 (the next week, not counted)
    ds = make_dataset()
    extra = pd.DataFrame(
        {
            "opportunity_id": ["o8", "o9"], "rep_id": ["r2", "r2"], "created_at": _ts(["2026-10-01"] * 2),
            "amount": [np.nan, np.nan], "stage": ["Closed Won"] * 2, "status": ["won"] * 2,
            "expected_close_date": _ts(["2026-11-20"] * 2), "closed_at": _ts(["2026-11-22 23:59", "2026-11-23 00:00"]),
        }
    ).astype({"opportunity_id": "str", "rep_id": "str", "stage": "str", "status": "str"})
    tables = {**ds.tables, "opportunities": pd.concat([ds.tables["opportunities"], extra], ignore_index=True)}
    weekly = kpis.weekly_kpis(replace(ds, tables=tables).for_team("A"), WEEK, n_weeks=2)
    for kpi in ("won_revenue", "quota_attainment"):
        rows = weekly.loc[weekly["kpi"] == kpi]
        assert rows["note"].tolist() == ["", "1 won deal without an amount, not in the sum"], kpi
    assert _values(weekly, "won_revenue") == [200.0, 1500.0]  # the sum is unchanged
