"""Tests of salesx2lib.milestones: each rung by hand, missing tables, open milestones, the sample."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ibis
import pandas as pd
import pytest

from salesx2lib import milestones as ms
from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.settings import load_settings

# Lookback of 9 weeks as of Sunday 2026-03-01: [2025-12-29, 2026-03-02); weeks Dec 29 ... Feb 23;
# complete months January and February.
S = replace(load_settings(), milestones_lookback_weeks=9, milestones_conversation_weeks=3)
AS_OF = pd.Timestamp("2026-03-01 18:00")
WEEKS = pd.date_range("2025-12-29", periods=9, freq="7D")
# Appointments per 10 conversations each week: a is always top, b and c take turns in the middle.
APPOINTMENTS = {"a": [5] * 9, "b": [4, 4, 1, 4, 4, 4, 1, 1, 4], "c": [1, 1, 4, 1, 1, 1, 4, 4, 1]}


def _activities() -> pd.DataFrame:
    rows = []
    for rep, appts in APPOINTMENTS.items():
        for week, n in zip(WEEKS, appts, strict=True):
            rows += [(rep, week + pd.Timedelta(hours=34), "conversation")] * 10
            rows += [(rep, week + pd.Timedelta(hours=58), "appointment")] * n
    f = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type"])
    return f.assign(activity_id=[f"x{i}" for i in range(len(f))], occurred_at=f["occurred_at"].astype("datetime64[us]"))


def _opps() -> pd.DataFrame:
    deals = [
        ("a", "2026-01-20", 1000.0, "won"),  # exactly at quota in January
        ("a", "2026-02-10", 1200.0, "won"),
        ("b", "2025-12-30", 5000.0, "won"),  # December: not a complete month of the lookback
        ("b", "2026-01-20", 999.0, "won"),  # one short of quota
        ("b", "2026-02-10", 2000.0, "won"),
        ("b", "2026-02-11", 700.0, "lost"),
        ("c", "2026-02-10", 3000.0, "won"),  # no quota: never "at quota"
    ]
    o = pd.DataFrame(deals, columns=["rep_id", "closed_at", "amount", "status"])
    closed = pd.to_datetime(o["closed_at"]).astype("datetime64[us]")
    return o.assign(
        opportunity_id=[f"o{i}" for i in range(len(o))],
        created_at=closed - pd.Timedelta(days=20),
        closed_at=closed,
        stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost"}),
        expected_close_date=closed,
    ).astype({"rep_id": "str", "status": "str", "stage": "str", "opportunity_id": "str"})


def _forecasts() -> pd.DataFrame:
    rows = [
        ("a", "2025-12-29 09:00", "2026-01-01", "2026-01-31", 1100.0),  # 10% off: within 15%
        ("a", "2026-01-15 09:00", "2026-01-01", "2026-01-31", 5000.0),  # made inside the month: ignored
        ("b", "2025-12-29 09:00", "2026-01-01", "2026-01-31", 1200.0),  # 1200 vs 999: 20% off
        ("b", "2026-01-26 09:00", "2026-02-01", "2026-02-28", 3000.0),  # superseded by the next one
        ("b", "2026-02-01 08:00", "2026-02-01", "2026-02-28", 2200.0),  # on the first day: 10% off
    ]
    f = pd.DataFrame(rows, columns=["rep_id", "submitted_at", "period_start", "period_end", "amount"])
    return f.astype(
        {"rep_id": "str", "submitted_at": "datetime64[us]", "period_start": "datetime64[us]", "period_end": "datetime64[us]"}
    ).assign(category="commit")


def _dataset(full: bool = True) -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "rep_name": ["Ann", "Bob", "Cy", "Dee"],
            "team": "T",
            "manager": "M",
            "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01", "2026-06-01"]),
        }
    ).astype({"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": "datetime64[us]"})
    months = pd.date_range("2025-12-01", "2026-03-01", freq="MS", unit="us")
    quotas = pd.DataFrame(
        [(r, m, m + pd.offsets.MonthEnd(0), 1000.0) for r in "ab" for m in months],
        columns=["rep_id", "period_start", "period_end", "quota"],
    ).astype({"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"})
    tables = {"reps": reps, "opportunities": _opps()}
    if full:
        tables |= {"quotas": quotas, "forecasts": _forecasts()}
    activities = ibis.memtable(_activities()) if full else None
    return Dataset(tables=tables, activities=activities, as_of=AS_OF)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return ms.milestones(_dataset(), settings=S).set_index(["rep_id", "milestone"])


def test_one_row_per_rep_per_rung(table):
    assert list(table.index.get_level_values("rep_id").unique()) == ["a", "b", "c"]  # d hired after as-of
    assert list(table.loc["a"].index) == list(S.milestones_ladder)
    assert table["met"].dtype == "boolean"


def test_conversation_to_appointment_weeks(table):
    a, b, c = (table.loc[(r, "conversation_to_appointment")] for r in "abc")
    assert a["met"] and a["met_at"] == pd.Timestamp("2026-01-18")  # third week ends Sunday 18 January
    assert b["met"] and b["met_at"] == pd.Timestamp("2026-02-08")  # weeks of 26 Jan, 2 Feb... run 3,4,5
    assert b["progress"] == "3 of 3 weeks"
    assert not c["met"] and pd.isna(c["met_at"])
    assert c["progress"] == "2 of 3 weeks" and c["note"] == "current run 0 of 3 weeks"


def test_months_at_quota(table):
    a, b, c = (table.loc[(r, "months_at_quota")] for r in "abc")
    assert a["met"] and a["met_at"] == pd.Timestamp("2026-02-28")  # 1000 >= 1000 in January, 1200 in February
    assert not b["met"] and b["progress"] == "1 of 2 months"  # 999 < 1000 in January; December does not count
    assert not c["met"] and c["note"] == "no quota in 2 of 2 months"


def test_forecast_accuracy(table):
    a, b, c = (table.loc[(r, "forecast_accuracy")] for r in "abc")
    assert a["met"] and a["met_at"] == pd.Timestamp("2026-01-31")
    assert b["met"] and b["met_at"] == pd.Timestamp("2026-02-28")  # 2200 vs 2000, not 3000
    assert not c["met"] and c["progress"] == "0 of 1 periods"


def test_tighter_tolerance_fails_ten_percent():
    t = ms.milestones(_dataset(), settings=replace(S, milestones_forecast_tolerance=0.05))
    assert not t.loc[t["milestone"] == "forecast_accuracy", "met"].any()


def test_missing_tables_are_not_checkable():
    t = ms.milestones(_dataset(full=False), settings=S).set_index(["rep_id", "milestone"])
    assert t["met"].isna().all()
    assert t["progress"].eq("not checkable").all()
    assert "activities" in t.loc[("a", "conversation_to_appointment"), "note"]
    assert "quotas" in t.loc[("a", "months_at_quota"), "note"]
    assert "forecasts" in t.loc[("a", "forecast_accuracy"), "note"]
    assert ms.open_milestones(t.reset_index())["open_milestones"].eq("").all()


def test_ladder_is_configurable():
    t = ms.milestones(_dataset(), settings=replace(S, milestones_ladder=("months_at_quota",)))
    assert t["milestone"].unique().tolist() == ["months_at_quota"]
    with pytest.raises(ValueError, match="unknown milestone 'calls'"):
        ms.milestones(_dataset(), settings=replace(S, milestones_ladder=("calls",)))


def test_open_milestones(table):
    out = ms.open_milestones(table.reset_index()).set_index("rep_id")["open_milestones"]
    assert out["a"] == ""
    assert out["b"] == "months_at_quota (1 of 2 months)"
    assert out["c"] == (
        "conversation_to_appointment (2 of 3 weeks); months_at_quota (0 of 2 months); forecast_accuracy (0 of 1 periods)"
    )


def test_sample():
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    d = load_dataset(sample)
    t = ms.milestones(d)
    assert len(t) == len(d.reps) * len(load_settings().milestones_ladder)
    assert (t["met"].fillna(False) == t["met_at"].notna()).all()
    assert t["met"].notna().all()  # the sample has activities, quotas and forecasts
    assert 0 < t["met"].sum() < len(t)


def test_settings_file_overrides(tmp_path):
    path = tmp_path / "team.toml"
    path.write_text('[milestones]\nladder = ["forecast_accuracy"]\nforecast_tolerance = 0.25\n\n[routines]\nnext_step_days = 7\n')
    s = load_settings(path)
    assert s.milestones_ladder == ("forecast_accuracy",) and s.milestones_forecast_tolerance == 0.25
    assert s.routines_next_step_days == 7 and s.milestones_quota_months == 2
