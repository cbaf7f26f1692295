"""Date and threshold edges of the milestones not pinned by test_milestones.py, by hand:
a rep hired on the as-of day is judged and one hired the day after is not; a forecast exactly
15% off is within the tolerance and one a unit further is not."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from salesx2lib import milestones as ms
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

US = "datetime64[us]"
T = pd.Timestamp
AS_OF = T("2026-03-01 09:00")  # latest complete month: February
S = replace(load_settings(), milestones_ladder=("forecast_accuracy",), milestones_history_weeks=9)


def _dataset() -> Dataset:
    reps = pd.DataFrame({"rep_id": ["p", "q", "new_on", "new_after"], "rep_name": ["P", "Q", "N1", "N2"], "team": "T",
                         "manager": "M", "hire_date": [T("2020-01-01"), T("2020-01-01"), T("2026-03-01"), T("2026-03-02")]}
                        ).astype({"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": US})
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "rep_id": ["p", "q"], "created_at": [T("2026-01-20")] * 2,
                         "amount": [1000.0, 1000.0], "stage": "Closed Won", "status": "won",
                         "expected_close_date": [T("2026-02-10")] * 2, "closed_at": [T("2026-02-10")] * 2}
                        ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
                                  "expected_close_date": US, "closed_at": US})
    fc = pd.DataFrame({"rep_id": ["p", "q"], "submitted_at": [T("2026-01-30")] * 2, "period_start": [T("2026-02-01")] * 2,
                       "period_end": [T("2026-02-28")] * 2, "amount": [1150.0, 1151.0], "category": "commit"}
                      ).astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})
    return Dataset(tables={"reps": reps, "opportunities": opps, "forecasts": fc}, activities=None, as_of=AS_OF)


def test_forecast_tolerance_edge_and_hire_date_edge():
    out = ms.milestones(_dataset(), settings=S).set_index("rep_id")
    assert sorted(out.index) == ["new_on", "p", "q"]  # hired the day after the as-of day: not yet a rep
    assert bool(out.loc["p", "met"]) is True  # |1150 - 1000| = 150 = 15% of 1000
    assert bool(out.loc["q", "met"]) is False  # 151 > 150
    assert bool(out.loc["new_on", "met"]) is False  # no forecast for February
