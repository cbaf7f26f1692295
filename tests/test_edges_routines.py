"""Date edges of the routines, by hand. Window ``[5 Jan, 19 Jan 2026)``, next step within 3 days:

* a deal is judged for a next step when created before ``cutoff = min(end, as_of) - 3 days``
  (16 January 00:00): a second before counts, the cutoff itself does not;
* the next step (first gated stage with a close date) in time when reached at most 3 days
  after creation: exactly 3 days is in time, a second later is not;
* ``full_window``: hired on or before the window's start;
* a touch at the deal's creation instant is on the open deal (counts for follow-up gaps).
"""

from __future__ import annotations

from dataclasses import replace

import ibis
import pandas as pd
import pytest

from salesx2lib import routines as rt
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
T = pd.Timestamp
S = replace(load_settings(), routines_next_step_days=3)
START, END = "2026-01-05", "2026-01-19"

DEALS = {
    "on_time": ("r1", "open", [("2026-01-06", "Prospecting", 1.0, "2026-02-10"), ("2026-01-09", "Qualification", 1.0, "2026-02-10")]),
    "late": ("r1", "open", [("2026-01-06", "Prospecting", 1.0, "2026-02-10"),
                            ("2026-01-09 00:00:01", "Qualification", 1.0, "2026-02-10")]),
    "before_cutoff": ("r1", "open", [("2026-01-15 23:59:59", "Prospecting", 1.0, "2026-02-10")]),
    "at_cutoff": ("r1", "open", [("2026-01-16", "Prospecting", 1.0, "2026-02-10"), ("2026-01-16 01:00", "Qualification", 1.0, "2026-02-10")]),
    "touched": ("r2", "open", [("2026-01-06 10:00", "Prospecting", 1.0, "2026-02-10")]),
}
OPPS, HIST = deal_frames(DEALS)
REPS = pd.DataFrame({"rep_id": ["r1", "r2"], "rep_name": ["A", "B"], "team": "T", "manager": "M",
                     "hire_date": [T(START), T(START) + pd.Timedelta(days=1)]}).astype(
    {"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": US})
ACTS = pd.DataFrame({"activity_id": ["e1", "e2"], "rep_id": ["r2", "r2"],
                     "occurred_at": [T("2026-01-06 10:00"), T("2026-01-08 10:00")],
                     "activity_type": ["email", "email"], "opportunity_id": ["touched", "touched"], "duration_s": [0.0, 0.0]}
                    ).astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "activity_type": "str",
                              "opportunity_id": "str"})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    ds = Dataset(tables={"reps": REPS, "opportunities": OPPS, "opportunity_history": HIST},
                 activities=ibis.memtable(ACTS), as_of=T("2026-02-01"))
    return rt.routines(ds, START, END, settings=S).set_index("rep_id")


def test_next_step_cutoff_and_deadline_edges(table):
    assert table.loc["r1", "next_step_opportunities"] == 3  # on_time, late, before_cutoff
    assert table.loc["r1", "next_step_share"] == pytest.approx(1 / 3)  # on_time only


def test_full_window_means_hired_on_or_before_the_start(table):
    assert bool(table.loc["r1", "full_window"]) and not bool(table.loc["r2", "full_window"])


def test_a_touch_at_the_creation_instant_is_on_the_open_deal(table):
    assert table.loc["r2", "follow_up_gaps"] == 1 and table.loc["r2", "follow_up_days"] == 2.0
