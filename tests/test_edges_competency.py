"""Date edges of the one definition of a range ``[start, end)``: ``competency.rep_counts`` (won,
lost and created deals, activities) and ``Dataset.between`` (every table), by hand."""

from __future__ import annotations

import ibis
import pandas as pd

from salesx2lib.competency import closed_deals, rep_counts
from salesx2lib.dataset import Dataset

US = "datetime64[us]"
T = pd.Timestamp
START, END = T("2024-06-03"), T("2024-06-10")
SEC = pd.Timedelta(seconds=1)
# One event a second before the start, at the start, a second before the end and at the end.
EDGES = [START - SEC, START, END - SEC, END]
AMOUNTS = [1.0, 10.0, 100.0, 1000.0]
REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")
OPPS = pd.DataFrame(
    [(f"w{k}", "r1", t, a, "Closed Won", "won", t.normalize(), t) for k, (t, a) in enumerate(zip(EDGES, AMOUNTS, strict=True))]
    + [(f"n{k}", "r1", t, a, "Prospecting", "open", t.normalize(), pd.NaT) for k, (t, a) in enumerate(zip(EDGES, AMOUNTS, strict=True))],
    columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
          "expected_close_date": US, "closed_at": US})
ACTS = pd.DataFrame(
    [(f"c{k}", "r1", t, "dial", None, 0.0) for k, t in enumerate(EDGES)],
    columns=["activity_id", "rep_id", "occurred_at", "activity_type", "opportunity_id", "duration_s"],
).astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "activity_type": "str", "opportunity_id": "str"})
FORECASTS = pd.DataFrame({"rep_id": ["r1"] * 4, "submitted_at": EDGES, "period_start": [T("2024-07-01")] * 4,
                          "period_end": [T("2024-07-31")] * 4, "amount": AMOUNTS}).astype(
    {"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US})
QUOTAS = pd.DataFrame({"rep_id": ["r1"] * 3, "period_start": [T("2024-05-01"), T("2024-06-01"), T("2024-06-10")],
                       "period_end": [T("2024-06-02"), T("2024-06-03"), T("2024-06-30")], "quota": [1.0, 10.0, 100.0]}).astype(
    {"rep_id": "str", "period_start": US, "period_end": US})


def _dataset() -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS, "forecasts": FORECASTS, "quotas": QUOTAS},
                   activities=ibis.memtable(ACTS), as_of=T("2024-06-30"))


def test_closed_deals_range_includes_its_start_and_excludes_its_end():
    assert sorted(closed_deals(OPPS, START, END)["amount"]) == [10.0, 100.0]


def test_rep_counts_edges():
    row = rep_counts(_dataset(), START, END).iloc[0]
    assert row["won"] == 2 and row["won_amount"] == 110.0
    assert row["opportunities"] == 4  # created at the start and a second before the end: 2 won + 2 open
    assert row["dials"] == 2


def test_between_edges_for_every_table():
    ds = _dataset().between(START, END)
    # Opportunities alive in the range: created before the end, not closed before the start.
    # (each won deal is created at its close: w0 closed before the start, w3 created at the end.)
    assert sorted(ds.opportunities["opportunity_id"]) == ["n0", "n1", "n2", "w1", "w2"]
    assert sorted(ds.table("forecasts")["amount"]) == [10.0, 100.0]
    assert ds.activities.count().execute() == 2
    # Quotas overlapping the range: a period ending the day before the start is out, one ending on it is in,
    # one starting on the (excluded) end day is out.
    assert ds.table("quotas")["quota"].tolist() == [10.0]
    assert ds.as_of == END
