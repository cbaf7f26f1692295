"""Date edges of the weekly KPIs: a week is ``[Monday 00:00, next Monday 00:00)``; a quota is
prorated by the calendar days of ``[start, end)`` inside ``[period_start, period_end]``;
the trailing average covers weeks 1..T before the report week. Hand-written expectations."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset
from salesx2lib.kpis import headline_kpis, prorated_quota, weekly_kpis

US = "datetime64[us]"
T = pd.Timestamp
REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")
# Won 1 the last second of the week of 27 May, 10 and 100 at the first and last second of the week
# of 3 June, 1000 at the first instant of the week of 10 June.
EDGES = ["2024-06-02 23:59:59", "2024-06-03 00:00", "2024-06-09 23:59:59", "2024-06-10 00:00"]
OPPS = pd.DataFrame(
    [(f"o{k}", "r1", T("2024-05-01"), amt, "Closed Won", "won", T(c).normalize(), T(c))
     for k, (c, amt) in enumerate(zip(EDGES, [1.0, 10.0, 100.0, 1000.0], strict=True))],
    columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
          "expected_close_date": US, "closed_at": US})
# One conversation at each edge, and one appointment at the first three.
ACTS = pd.DataFrame(
    [(f"c{k}", "r1", T(c), "conversation", None, 60.0) for k, c in enumerate(EDGES)]
    + [(f"a{k}", "r1", T(c), "appointment", None, None) for k, c in enumerate(EDGES[:3])],
    columns=["activity_id", "rep_id", "occurred_at", "activity_type", "opportunity_id", "duration_s"],
).astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "activity_type": "str", "opportunity_id": "str",
          "duration_s": "float64"})
QUOTAS = pd.DataFrame({"rep_id": ["r1"], "period_start": [T("2024-06-01")], "period_end": [T("2024-06-30")],
                       "quota": [3000.0]}).astype({"rep_id": "str", "period_start": US, "period_end": US})


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    ds = Dataset(tables={"reps": REPS, "opportunities": OPPS, "quotas": QUOTAS}, activities=ibis.memtable(ACTS),
                 as_of=T("2024-06-16"))
    return weekly_kpis(ds, "2024-06-05", 2)


def _values(weekly: pd.DataFrame, kpi: str) -> list[float]:
    return weekly.loc[weekly["kpi"] == kpi].sort_values("week_start")["value"].tolist()


def test_week_edges_for_won_revenue(weekly):
    assert sorted(set(weekly["week_start"])) == [T("2024-05-27"), T("2024-06-03")]
    assert _values(weekly, "won_revenue") == [1.0, 110.0]


def test_week_edges_for_conversations_and_their_ratio(weekly):
    assert _values(weekly, "conversations") == [1.0, 2.0]
    assert _values(weekly, "conversation_to_appointment") == [1.0, 1.0]


def test_quota_of_a_week_across_the_start_of_the_quota_period(weekly):
    # Week of 27 May: 1 and 2 June are in June (30 days, 3000): quota 200; attainment 1 / 200.
    # Week of 3 June: 7 days inside: 700; attainment 110 / 700.
    att = weekly.loc[weekly["kpi"] == "quota_attainment"].sort_values("week_start")
    assert att["denominator"].tolist() == pytest.approx([200.0, 700.0])
    assert att["value"].tolist() == pytest.approx([1 / 200, 110 / 700])


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2024-05-25", "2024-06-01", 0.0),  # ends the day the period starts (end excluded)
        ("2024-05-26", "2024-06-02", 100.0),  # 1 June only
        ("2024-06-30", "2024-07-07", 100.0),  # 30 June only (period_end included)
        ("2024-07-01", "2024-07-08", 0.0),  # the day after the period
        ("2024-06-24", "2024-07-01", 700.0),  # 24..30 June
    ],
)
def test_prorated_quota_edges(start, end, expected):
    assert prorated_quota(QUOTAS, T(start), T(end)) == pytest.approx(expected)


def test_trailing_average_covers_weeks_1_to_t():
    # Four weeks of won revenue 1, 10, 100, 1000 (oldest first); T = 2 -> mean of 100 and 10.
    weeks = pd.date_range("2024-05-13", periods=4, freq="7D", unit="us")
    rows = []
    for kpi in ("won_revenue", "quota_attainment", "conversations", "conversation_to_appointment"):
        for i, (w, v) in enumerate(zip(weeks, [1.0, 10.0, 100.0, 1000.0], strict=True)):
            num, den = (v, 2 * v) if kpi in ("quota_attainment", "conversation_to_appointment") else (v, float("nan"))
            rows.append({"week_start": w, "weeks_before": 3 - i, "kpi": kpi, "value": num / den if den == den else v,
                         "numerator": num, "denominator": den, "ci_low": float("nan"), "ci_high": float("nan"), "note": ""})
    head = headline_kpis(pd.DataFrame(rows), 2).set_index("kpi")
    assert head.loc["won_revenue", "trailing_average"] == 55.0
    assert head.loc["won_revenue", "previous_week"] == 100.0 and head.loc["won_revenue", "this_week"] == 1000.0
    assert head.loc["quota_attainment", "trailing_average"] == pytest.approx(110 / 220)
