"""Tests of salesx2lib.coaching: priorities come straight from the gap decomposition, ranked by revenue impact."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from salesx2lib import coaching, competency, gaps
from salesx2lib.dataset import Dataset, MissingTableError

START, END = "2026-01-05", "2026-03-30"


def _dataset(with_activities: bool = True) -> Dataset:
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "rep_name": ["Ann", "Bob", "Cy"], "team": "T", "manager": "M"}).astype("str")
    plan = {"a": (200, 40, 10, 8, 5, 3), "b": (200, 20, 8, 6, 4, 2), "c": (100, 20, 10, 8, 4, 4)}  # dials conv appt opp won lost
    acts, opps = [], []
    for rep, (d, c, a, o, w, lost) in plan.items():
        for kind, n in (("dial", d), ("conversation", c), ("appointment", a)):
            acts += [(rep, "2026-01-20 10:00", kind)] * n
        for i in range(o):
            status = "won" if i < w else "lost" if i < w + lost else "open"
            opps.append((f"{rep}{i}", rep, "2026-01-21 10:00", 1000.0 * (1 + i % 2), status,
                         "2026-02-10 10:00" if status != "open" else None))
    act = pd.DataFrame(acts, columns=["rep_id", "occurred_at", "activity_type"])
    act = act.assign(activity_id=[f"x{i}" for i in range(len(act))], occurred_at=pd.to_datetime(act["occurred_at"]).astype("datetime64[us]"),
                     opportunity_id=pd.Series(None, index=act.index, dtype="str"))
    o = pd.DataFrame(opps, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    o = o.assign(created_at=pd.to_datetime(o["created_at"]).astype("datetime64[us]"),
                 closed_at=pd.to_datetime(o["closed_at"]).astype("datetime64[us]"),
                 stage=o["status"], expected_close_date=pd.Timestamp("2026-03-01")).astype(
        {"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "expected_close_date": "datetime64[us]"})
    return Dataset(tables={"reps": reps, "opportunities": o},
                   activities=ibis.memtable(act) if with_activities else None, as_of=pd.Timestamp("2026-03-29"))


def test_priorities_are_the_largest_competency_gaps_ranked():
    ds = _dataset()
    out = coaching.coaching_priorities(ds, START, END)
    assert {"rep_id", "competency", "current_rate", "benchmark_rate", "revenue_impact"} <= set(out.columns)
    decomposition = gaps.gap_decomposition(competency.rep_counts(ds, START, END))
    expected = gaps.largest_gaps(decomposition, gaps.COMPETENCY_FACTORS).set_index("rep_id")
    expected = expected.loc[expected["revenue_uplift"] > 0]
    got = out.set_index("rep_id")
    assert set(got.index) == set(expected.index) and len(got) > 0
    for rep in got.index:
        assert got.loc[rep, "competency"] == expected.loc[rep, "factor"]
        assert got.loc[rep, "revenue_impact"] == pytest.approx(expected.loc[rep, "revenue_uplift"])
        row = decomposition.loc[(decomposition["rep_id"] == rep) & (decomposition["factor"] == got.loc[rep, "competency"])]
        assert got.loc[rep, "current_rate"] == pytest.approx(row["rep_value"].iloc[0])
        assert got.loc[rep, "benchmark_rate"] == pytest.approx(row["benchmark_value"].iloc[0])
        assert got.loc[rep, "current_rate"] < got.loc[rep, "benchmark_rate"]
    assert np.all(np.diff(out["revenue_impact"].to_numpy()) <= 0)
    assert out["rank"].tolist() == list(range(1, len(out) + 1))


def test_needs_activities():
    with pytest.raises(MissingTableError, match="activities"):
        coaching.coaching_priorities(_dataset(with_activities=False), START, END)
