"""Date edges of the segments not pinned by test_segments.py, with hand-written expectations:

* a calendar month counts in the trailing window when at least ``min_month_days`` (14) of its
  days are inside it: 14 days counts, 13 does not;
* a rep hired on the as-of day is scored (tenure 0), one hired the day after is not;
* :func:`current_segments` uses the evaluation on the as-of date itself, and scores a rep hired
  on that day who is not in the history yet.
"""

from __future__ import annotations

import pandas as pd
import pytest

from salesx2lib import segments
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

US = "datetime64[us]"
T = pd.Timestamp
S = load_settings()


def _dataset() -> Dataset:
    reps = pd.DataFrame({"rep_id": ["r1", "r_on", "r_after"], "rep_name": ["A", "B", "C"], "team": "T", "manager": "M",
                         "hire_date": [T("2020-01-01"), T("2024-01-14"), T("2024-01-15")]}
                        ).astype({"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": US})
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS", unit="us")
    quotas = pd.DataFrame([(r, m, m + pd.offsets.MonthEnd(0), 1000.0) for r in ("r1", "r_on", "r_after") for m in months],
                          columns=["rep_id", "period_start", "period_end", "quota"]).astype(
        {"rep_id": "str", "period_start": US, "period_end": US})
    opps = pd.DataFrame({"opportunity_id": ["o1"], "rep_id": ["r1"], "created_at": [T("2023-09-01")], "amount": [500.0],
                         "stage": ["Closed Won"], "status": ["won"], "expected_close_date": [T("2023-11-10")],
                         "closed_at": [T("2023-11-10")]}).astype(
        {"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
         "expected_close_date": US, "closed_at": US})
    return Dataset(tables={"reps": reps, "opportunities": opps, "quotas": quotas}, activities=None, as_of=T("2024-12-31"))


@pytest.mark.parametrize(
    ("as_of", "window", "months"),
    [
        # window [16 Oct 2023, 15 Jan 2024): 16 days of October, Nov, Dec, 14 days of January -> 4 months
        ("2024-01-14", ("2023-10-16", "2024-01-15"), 4),
        # window [15 Jul 2024, 14 Oct 2024): 17 days of July, Aug, Sep, 13 days of October (left out) -> 3
        ("2024-10-13", ("2024-07-15", "2024-10-14"), 3),
    ],
)
def test_a_month_counts_from_14_days_in_the_window(as_of, window, months):
    scores = segments.rep_scores(_dataset(), T(as_of), S).set_index("rep_id")
    assert (scores.loc["r1", "window_start"], scores.loc["r1", "window_end"]) == (T(window[0]), T(window[1]))
    assert scores.loc["r1", "months"] == months


def test_a_rep_hired_on_the_as_of_day_is_scored_the_next_day_is_not():
    scores = segments.rep_scores(_dataset(), T("2024-01-14 12:00"), S).set_index("rep_id")
    assert sorted(scores.index) == ["r1", "r_on"]
    assert scores.loc["r_on", "tenure_days"] == 0.0


def test_current_segments_uses_the_evaluation_on_the_as_of_date():
    ds = _dataset()
    history = segments.segment_history(ds, S, dates=[T("2023-11-30"), T("2023-12-31")])
    now = segments.current_segments(ds, T("2023-12-31"), S, history=history).set_index("rep_id")
    assert list(now.index) == ["r1"]
    assert now.loc["r1", "evaluated_as_of"] == T("2023-12-31")
    # As of 14 January the history ends on 31 December; r_on, hired that day, is scored then (ramping).
    later = segments.current_segments(ds, T("2024-01-14"), S, history=history).set_index("rep_id")
    assert sorted(later.index) == ["r1", "r_on"]
    assert later.loc["r_on", "segment"] == "ramping" and later.loc["r_on", "evaluated_as_of"] == T("2024-01-14")
