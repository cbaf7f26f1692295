"""Date edges of the sales cycle and the time-bounded win probability.

As of 2024-06-30 00:00 with a data start of 2024-03-01 (set in the settings); each rule has
a deal on its edge, a day (or a second) before and after, and the expected values are
written out by hand from the docstrings of :func:`cycle_durations` and :func:`win_within`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from salesx2lib.cycle import cycle_durations, win_within
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings
from salesx2lib.survival import kaplan_meier

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-06-30")
START = "2024-03-01"
SETTINGS = replace(load_settings(), cycle_data_start=START)
T = pd.Timestamp


def _opps(rows: list[tuple]) -> pd.DataFrame:
    """rows: (id, created_at, status, closed_at or None)."""
    df = pd.DataFrame(
        [(oid, "r1", T(c), 100.0, "x", s, T(c), T(x) if x else pd.NaT) for oid, c, s, x in rows],
        columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
    )
    return df.astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
                      "expected_close_date": US, "closed_at": US})


REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")


def _dataset(opps: pd.DataFrame) -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": opps}, activities=None, as_of=AS_OF)


def test_cycle_durations_as_of_edges():
    opps = _opps([
        ("created_on", "2024-06-30", "open", None),
        ("created_after", "2024-06-30 00:00:01", "open", None),
        ("closed_on", "2024-06-20", "won", "2024-06-30"),
        ("closed_after", "2024-06-20", "won", "2024-06-30 00:00:01"),
        ("closed_before", "2024-06-20", "lost", "2024-06-29"),
    ])
    d = cycle_durations(opps, AS_OF).set_index("opportunity_id")
    assert sorted(d.index) == ["closed_after", "closed_before", "closed_on", "created_on"]
    assert d.loc["created_on", "days"] == 0.0 and not d.loc["created_on", "decided"]
    assert d.loc["closed_on", "days"] == 10.0 and d.loc["closed_on", "won"] and d.loc["closed_on", "status"] == "won"
    # Closed a second after the as-of instant: still open then, censored at its age (10 days).
    assert d.loc["closed_after", "days"] == 10.0 and not d.loc["closed_after", "decided"]
    assert d.loc["closed_after", "status"] == "open"
    assert d.loc["closed_before", "days"] == 9.0 and d.loc["closed_before", "decided"] and not d.loc["closed_before", "won"]


def test_delayed_entry_edges():
    opps = _opps([
        ("day_before_start", "2024-02-29", "open", None),
        ("on_start", "2024-03-01", "open", None),
        ("day_after_start", "2024-03-02", "open", None),
        ("ten_days_before", "2024-02-20", "won", "2024-03-05"),
    ])
    d = cycle_durations(opps, AS_OF, T(START)).set_index("opportunity_id")
    assert d.loc["day_before_start", "entry_days"] == 1.0
    assert d.loc["on_start", "entry_days"] == 0.0
    assert d.loc["day_after_start", "entry_days"] == 0.0
    assert d.loc["ten_days_before", "entry_days"] == 10.0 and d.loc["ten_days_before", "days"] == 14.0


def test_kaplan_meier_delayed_entry_by_hand():
    # A subject is at risk at t when entry < t <= duration (entry 0 counts from age 0).
    # t=2: 2 at risk (the entry-2 subject enters *at* 2, so not yet), 1 event -> S = 1/2.
    # t=3: 2 at risk (3 and 5), 1 event -> S = 1/4; t=5: 1 at risk, 1 event -> 0.
    km = kaplan_meier([2.0, 3.0, 5.0], [True, True, True], entry=[0.0, 2.0, 0.0])
    assert km["n_at_risk"].tolist() == [2, 2, 1]
    assert km["survival"].tolist() == pytest.approx([0.5, 0.25, 0.0])
    # entry == duration > 0: never at risk, left out (its event not counted).
    km = kaplan_meier([2.0, 3.0, 4.0], [True, True, True], entry=[0.0, 3.0, 0.0])
    assert km["time"].tolist() == [2.0, 4.0] and km["n_events"].tolist() == [1, 1]
    assert km["survival"].tolist() == pytest.approx([0.5, 0.0])
    # entry 1 just below the duration 3 keeps it (and it is not at risk at t=1).
    km = kaplan_meier([1.0, 3.0], [True, True], entry=[0.0, 1.0])
    assert km["n_at_risk"].tolist() == [1, 1] and km["survival"].tolist() == pytest.approx([0.0, 0.0])


def _row(out: pd.DataFrame, cohort: str, w: int) -> pd.Series:
    sel = out.loc[(out["team"] == "all") & (out["cohort"] == T(cohort)) & (out["within_days"] == w)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_win_within_judges_a_deal_exactly_w_days_old():
    # Window 30 days, as of 30 June 00:00: created 31 May 00:00 is exactly 30 days old -> judged;
    # created 1 June is 29 days old -> too young; created 30 May -> judged.
    opps = _opps([
        ("age_31", "2024-05-30", "open", None),
        ("age_30", "2024-05-31", "open", None),
        ("age_29", "2024-06-01", "open", None),
    ])
    out = win_within(_dataset(opps), AS_OF, SETTINGS, days=[30], freq="month")
    may, june = _row(out, "2024-05-01", 30), _row(out, "2024-06-01", 30)
    assert (may["n"], may["n_judged"], may["n_too_young"], may["n_won"]) == (2, 2, 0, 0)
    assert (june["n"], june["n_judged"], june["n_too_young"]) == (1, 0, 1)
    assert may["complete"] and not june["complete"]
    assert np.isnan(june["win_probability"])


def test_win_within_counts_a_win_exactly_w_days_after_creation():
    # All created 1 April (judged for 30 days by 30 June); won after 29, 30 and 31 days.
    opps = _opps([
        ("won_29", "2024-04-01", "won", "2024-04-30"),
        ("won_30", "2024-04-01", "won", "2024-05-01"),
        ("won_31", "2024-04-01", "won", "2024-05-02"),
        ("won_30_plus_1s", "2024-04-01", "won", "2024-05-01 00:00:01"),
    ])
    row = _row(win_within(_dataset(opps), AS_OF, SETTINGS, days=[30]), "2024-04-01", 30)
    assert (row["n_judged"], row["n_won"]) == (4, 2)
    assert row["win_probability"] == 0.5


def test_win_within_data_start_edges():
    # A deal created the day before the data start is never judged; one created on it is.
    # The March cohort starts on the data start -> can be complete; February's cannot.
    opps = _opps([
        ("before", "2024-02-29", "won", "2024-03-10"),
        ("on", "2024-03-01", "won", "2024-03-10"),
        ("after", "2024-03-02", "lost", "2024-03-10"),
    ])
    out = win_within(_dataset(opps), AS_OF, SETTINGS, days=[30])
    feb, mar = _row(out, "2024-02-01", 30), _row(out, "2024-03-01", 30)
    assert (feb["n"], feb["n_before_start"], feb["n_judged"]) == (1, 1, 0) and not feb["complete"]
    assert (mar["n"], mar["n_before_start"], mar["n_judged"], mar["n_won"]) == (2, 0, 2, 1) and mar["complete"]


def test_win_within_week_cohorts_start_on_monday():
    # Sunday 2 June 23:59 belongs to the week of Monday 27 May; Monday 3 June 00:00 starts a new one.
    opps = _opps([("sun", "2024-06-02 23:59:59", "open", None), ("mon", "2024-06-03", "open", None)])
    out = win_within(_dataset(opps), AS_OF, SETTINGS, days=[30], freq="week")
    assert _row(out, "2024-05-27", 30)["n"] == 1 and _row(out, "2024-06-03", 30)["n"] == 1


def test_a_cohort_that_starts_before_the_data_start_is_never_complete():
    # Data start 15 March: the March cohort's deals from the 1st to the 14th may be missing, so
    # even with every deal it holds judged, it is not complete.
    opps = _opps([("mid", "2024-03-15", "won", "2024-03-20"), ("late", "2024-03-20", "lost", "2024-03-25")])
    out = win_within(_dataset(opps), AS_OF, replace(SETTINGS, cycle_data_start="2024-03-15"), days=[30])
    row = _row(out, "2024-03-01", 30)
    assert (row["n_judged"], row["n_too_young"], row["n_before_start"]) == (2, 0, 0)
    assert not row["complete"]
