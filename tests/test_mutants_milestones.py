"""Tests of salesx2lib.milestones written to kill mutants `make mutate` found surviving.

Uses the hand-built fixtures of tests/test_milestones.py (as of Sunday 1 March 2026, a
history of 9 weeks: the weeks 29 Dec ... 23 Feb; complete months January and February);
every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest
from test_milestones import AS_OF, S, _dataset

from salesx2lib import milestones as ms

T = pd.Timestamp
NaT = pd.NaT
CONV = "conversation_to_appointment at or above the team median in each of the latest 3 complete weeks"
QUOTA = "at quota in each of the latest 2 complete calendar months"
FC = "forecast within 15% of the actual in each of the latest 1 complete calendar month(s)"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return ms.milestones(_dataset(), settings=S)


def test_whole_table_by_hand(table):
    # Weeks (need 3): a is the top rep every week, so its run is all 9 weeks and reached 3 at the end of
    # the third week (Mon 12 Jan + 6 days = Sun 18 Jan); the window is the latest 3 weeks, [9 Feb, 2 Mar).
    # b (4, 4, 1, 4, 4, 4, 1, 1, 4 appointments per 10 conversations, the team median when at 4) holds in
    # the latest week only; c (1 in the latest week) in none.
    # Months (need 2; quota 1000 for a and b, none for c): a 1000 and 1200 -> met at 28 Feb; b 999 then
    # 2000 -> 1 of 2; c has no quota in January or February.
    # Forecast (need 1; the months January and February are judged): a 1100 vs 1000 in January (10%
    # off) but no forecast for February; b 2200 vs 2000 in February (the 3000 submitted earlier is
    # superseded), 10% <= 15%: met at 28 Feb; c has no forecast.
    expected = pd.DataFrame(
        [
            ("a", "Ann", CONV, True, T("2026-01-18"), "2026-02-09", "2026-03-02", "3 of 3 weeks", ""),
            ("a", "Ann", QUOTA, True, T("2026-02-28"), "2026-01-01", "2026-03-01", "2 of 2 months", ""),
            ("a", "Ann", FC, False, NaT, "2026-02-01", "2026-03-01", "0 of 1 months", "no forecast for 2026-02"),
            ("b", "Bob", CONV, False, NaT, "2026-02-09", "2026-03-02", "1 of 3 weeks",
             "held in the latest 1 of the 3 weeks needed"),
            ("b", "Bob", QUOTA, False, NaT, "2026-01-01", "2026-03-01", "1 of 2 months",
             "held in the latest 1 of the 2 months needed"),
            ("b", "Bob", FC, True, T("2026-02-28"), "2026-02-01", "2026-03-01", "1 of 1 months", ""),
            ("c", "Cy", CONV, False, NaT, "2026-02-09", "2026-03-02", "0 of 3 weeks",
             "held in the latest 0 of the 3 weeks needed"),
            ("c", "Cy", QUOTA, False, NaT, "2026-01-01", "2026-03-01", "0 of 2 months",
             "no quota in 2 of the latest 2 months"),
            ("c", "Cy", FC, False, NaT, "2026-02-01", "2026-03-01", "0 of 1 months", "no forecast for 2026-02"),
        ],
        columns=["rep_id", "rep_name", "description", "met", "met_at", "window_start", "window_end", "progress", "note"],
    )
    expected.insert(2, "team", "T")
    expected.insert(3, "milestone", ["conversation_to_appointment", "months_at_quota", "forecast_accuracy"] * 3)
    expected = expected.astype({"rep_id": "str", "rep_name": "str", "team": "str", "milestone": "str",
                                "description": "str", "met": "boolean", "met_at": "datetime64[us]",
                                "window_start": "datetime64[us]", "window_end": "datetime64[us]",
                                "progress": "str", "note": "str"})
    pd.testing.assert_frame_equal(table, expected)


def test_not_checkable_rows_say_which_table_is_missing():
    t = ms.milestones(_dataset(full=False), settings=S)
    a = t.loc[t["rep_id"] == "a"].set_index("milestone")
    assert a["note"].to_dict() == {
        "conversation_to_appointment": "not checkable: needs the activities table",
        "months_at_quota": "not checkable: needs the quotas table",
        "forecast_accuracy": "not checkable: the dataset has no forecasts table",
    }
    assert a["met"].isna().all() and a["met_at"].isna().all()
    assert a["window_start"].isna().all() and a["window_end"].isna().all()
    assert a["rep_name"].eq("Ann").all() and a["team"].eq("T").all()
    assert a["description"].tolist() == [CONV, QUOTA, FC]
    assert t["met"].dtype == "boolean" and str(t["met_at"].dtype) == "datetime64[us]"


def test_two_forecast_months_name_every_missing_one():
    # need 2: January and February. a: January within 10%, no February forecast -> run 0;
    # c: no forecast at all, both months named, comma-separated, oldest first.
    t = ms.milestones(_dataset(), settings=replace(S, milestones_forecast_months=2))
    f = t.loc[t["milestone"] == "forecast_accuracy"].set_index("rep_id")
    assert f.loc["c", "note"] == "no forecast for 2026-01, 2026-02"
    assert f.loc["a", "note"] == "no forecast for 2026-02" and f.loc["a", "progress"] == "0 of 2 months"
    # b: January 1200 vs 999 is 20% off, February within: held 1 of the 2 months
    assert f.loc["b", "note"] == "held in the latest 1 of the 2 months needed" and not f.loc["b", "met"]
    assert (f["window_start"] == T("2026-01-01")).all() and (f["window_end"] == T("2026-03-01")).all()
    assert f["description"].eq("forecast within 15% of the actual in each of the latest 2 complete calendar month(s)").all()


def test_unknown_milestone_message_lists_the_known_ones():
    msg = ("milestones.ladder has unknown milestone 'calls' "
           "(known: conversation_to_appointment, months_at_quota, forecast_accuracy)")
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        ms.milestones(_dataset(), settings=replace(S, milestones_ladder=("months_at_quota", "calls", "x")))


def test_reps_without_a_name_are_shown_by_their_id():
    ds = _dataset()
    reps = ds.reps.drop(columns="rep_name")
    t = ms.milestones(replace(ds, tables={**ds.tables, "reps": reps}),
                      settings=replace(S, milestones_ladder=("months_at_quota",)))
    assert t["rep_name"].tolist() == ["a", "b", "c"]


def test_open_milestones_message():
    with pytest.raises(ValueError, match=r"^milestones_frame is missing column 'met' \(see milestones.milestones\)$"):
        ms.open_milestones(pd.DataFrame({"rep_id": ["a"], "milestone": ["x"], "progress": ["1 of 2 weeks"]}))


def test_open_milestones_keeps_the_frame_order_and_skips_not_checkable():
    # rep z first in the frame; y's only rung is not checkable (NA): listed with an empty text
    frame = pd.DataFrame({
        "rep_id": ["z", "z", "y", "x"],
        "milestone": ["m1", "m2", "m1", "m2"],
        "met": pd.array([False, True, pd.NA, False], dtype="boolean"),
        "progress": ["1 of 3 weeks", "2 of 2 months", "not checkable", "0 of 2 months"],
    })
    out = ms.open_milestones(frame)
    assert out.columns.tolist() == ["rep_id", "open_milestones"]
    assert out["rep_id"].tolist() == ["z", "y", "x"]
    assert out["open_milestones"].tolist() == ["m1 (1 of 3 weeks)", "", "m2 (0 of 2 months)"]
    assert out.index.tolist() == [0, 1, 2]
    assert str(out["open_milestones"].dtype) == "str"


REVIEW_COLUMNS = ["rep_id", "segment", "status", "competency", "current_rate", "target_rate"]


def test_next_milestones_every_kind_with_its_sentence(table):
    # a: hands_on with a priority on avg_deal_size (money, no %); b: developing, no priority: its first
    # open rung (conversation, before months_at_quota); c: developing, every rung checkable is open, but
    # not when judged on a frame where c has nothing open -> kind none. Target: Sun 1 Mar + 8 weeks.
    frame = table.loc[~((table["rep_id"] == "c") & (table["met"] == False))]  # noqa: E712
    review = pd.DataFrame({
        "rep_id": ["a", "b", "c", "d"], "team": "T",
        "segment": ["hands_on", "developing", "developing", "ramping"],
        "status": ["priority", "no_clear_gap", "backed_off", "priority"],
        "competency": ["avg_deal_size", "connect_rate", "win_rate", "win_rate"],
        "current_rate": [12345.6, 0.2, 0.3, 0.1], "target_rate": [20000.0, 0.21, 0.35, 0.2],
    })
    out = ms.next_milestones(frame, review, AS_OF, S)
    assert out.columns.tolist() == ["rep_id", "rep_name", "team", "segment", "next_milestone", "kind",
                                    "current_value", "target_value", "target_date", "sentence"]
    assert out["rep_id"].tolist() == ["a", "b", "c"]  # d is ramping: not given a milestone
    assert out["rep_name"].tolist() == ["a", "b", "c"]  # the review has no rep_name: the id stands in
    assert out["team"].tolist() == ["T"] * 3
    assert out["segment"].tolist() == ["hands_on", "developing", "developing"]
    assert out["next_milestone"].tolist() == ["avg_deal_size", "conversation_to_appointment", ""]
    assert out["kind"].tolist() == ["competency", "ladder", "none"]
    assert out["current_value"].tolist()[0] == 12345.6 and out["target_value"].tolist()[0] == 20000.0
    assert out[["current_value", "target_value"]].iloc[1:].isna().all().all()
    assert (out["target_date"] == T("2026-04-26")).all() and str(out["target_date"].dtype) == "datetime64[us]"
    assert out["sentence"].tolist() == [
        "a (a, hands_on): avg_deal_size from 12,346 to 20,000 by 26 April 2026.",
        f"b (b, developing): {CONV} by 26 April 2026 (now 1 of 3 weeks).",
        "c (c, developing): no open milestone and no certain competency gap; see the segment's open criteria.",
    ]
    assert out.index.tolist() == [0, 1, 2]
    assert out.dtypes.astype(str).tolist() == ["str"] * 6 + ["float64", "float64", "datetime64[us]", "str"]


def test_next_milestones_rate_sentence_and_not_checkable_rungs():
    # Without the activities, quotas and forecasts every rung is NA: nothing open, kind none.
    na = ms.milestones(_dataset(full=False), settings=S)
    review = pd.DataFrame({"rep_id": ["b", "c"], "rep_name": ["Bob", "Cy"], "team": "T",
                           "segment": ["developing", "hands_on"], "status": ["no_clear_gap", "priority"],
                           "competency": ["connect_rate", "conversation_to_appointment"],
                           "current_rate": [0.2, 0.25], "target_rate": [0.21, 0.365]})
    out = ms.next_milestones(na, review, "2026-03-01 18:00", replace(S, milestones_target_weeks=1)).set_index("rep_id")
    assert out.loc["b", "kind"] == "none"
    assert out.loc["c", "sentence"] == "Cy (c, hands_on): conversation_to_appointment from 25.0% to 36.5% by 08 March 2026."


def test_open_milestones_aligns_on_the_frame_index():
    # a filtered frame keeps its index (here 10-13): the texts must still go with their own rep
    frame = pd.DataFrame({"rep_id": ["z", "z", "y", "x"], "milestone": ["m1", "m2", "m1", "m2"],
                          "met": pd.array([False, False, True, False], dtype="boolean"),
                          "progress": ["1 of 3 weeks", "0 of 2 months", "3 of 3 weeks", "0 of 2 months"]},
                         index=[10, 11, 12, 13])
    out = ms.open_milestones(frame)
    assert out["open_milestones"].tolist() == ["m1 (1 of 3 weeks); m2 (0 of 2 months)", "", "m2 (0 of 2 months)"]


def test_next_milestones_without_a_developing_rep_is_an_empty_table(table):
    review = pd.DataFrame({"rep_id": ["a"], "team": "T", "segment": ["self_sustained"], "status": ["priority"],
                           "competency": ["win_rate"], "current_rate": [0.3], "target_rate": [0.4]})
    out = ms.next_milestones(table, review, AS_OF, S)
    assert out.columns.tolist() == ["rep_id", "rep_name", "team", "segment", "next_milestone", "kind",
                                    "current_value", "target_value", "target_date", "sentence"]
    assert len(out) == 0 and str(out["target_date"].dtype) == "datetime64[us]"


def test_next_milestones_names_a_bad_as_of_date(table):
    review = pd.DataFrame({c: [] for c in REVIEW_COLUMNS})
    with pytest.raises(ValueError, match=r"^as-of date 'someday' is not a date \(expected YYYY-MM-DD\)$"):
        ms.next_milestones(table, review, "someday", S)


def test_next_milestones_message():
    review = pd.DataFrame({c: [] for c in REVIEW_COLUMNS if c != "status"})
    with pytest.raises(ValueError, match=r"^review is missing column 'status' \(see coaching.coaching_review\)$"):
        ms.next_milestones(pd.DataFrame(), review, AS_OF, S)


def _more_forecasts():
    """The dataset with two more forecasts of a: December, submitted 30 November, 0 against nothing won
    (0 <= 15% of 0: within), and February, submitted 30 January, 1250 against 1200 won (4% off)."""
    ds = _dataset()
    extra = pd.DataFrame({"rep_id": ["a", "a"], "submitted_at": [T("2025-11-30 09:00"), T("2026-01-30 09:00")],
                          "period_start": [T("2025-12-01"), T("2026-02-01")],
                          "period_end": [T("2025-12-31"), T("2026-02-28")], "amount": [0.0, 1250.0],
                          "category": ["commit", "commit"]}).astype(
        {"rep_id": "str", "submitted_at": "datetime64[us]", "period_start": "datetime64[us]",
         "period_end": "datetime64[us]", "category": "str"})
    fc = pd.concat([ds.tables["forecasts"], extra], ignore_index=True)
    return replace(ds, tables={**ds.tables, "forecasts": fc})


def test_history_dates_the_run_and_weeks_back():
    # a's forecasts are within in December, January and February. With the 9-week history (from
    # Mon 29 Dec) the months judged are January and February: the run reached the 1 month needed at
    # the end of January. With 14 weeks (from 23 Nov) December is judged too: met at 31 December.
    # With a 3-week history (Mar 1 - 21 days = 8 Feb) only February is judged, and only the weeks of
    # 9, 16 and 23 February: a's conversation run reached 3 weeks on Sunday 1 March.
    ds = _more_forecasts()
    nine = ms.milestones(ds, settings=S).set_index(["rep_id", "milestone"])
    assert nine.loc[("a", "forecast_accuracy"), "met_at"] == T("2026-01-31")
    assert nine.loc[("a", "forecast_accuracy"), "progress"] == "1 of 1 months"
    fourteen = ms.milestones(ds, settings=replace(S, milestones_history_weeks=14)).set_index(["rep_id", "milestone"])
    assert fourteen.loc[("a", "forecast_accuracy"), "met_at"] == T("2025-12-31")
    three = ms.milestones(ds, settings=replace(S, milestones_history_weeks=3)).set_index(["rep_id", "milestone"])
    assert three.loc[("a", "forecast_accuracy"), "met_at"] == T("2026-02-28")
    assert three.loc[("a", "conversation_to_appointment"), "met_at"] == T("2026-03-01")


def test_a_history_starting_on_the_first_of_a_month_keeps_that_month():
    # as of Thursday 5 March, 9 weeks back is Thursday 1 January: January is complete and judged, so
    # a's run (January and February) reached 1 month at the end of January
    t = ms.milestones(_more_forecasts(), as_of="2026-03-05 10:00", settings=S).set_index(["rep_id", "milestone"])
    assert t.loc[("a", "forecast_accuracy"), "met_at"] == T("2026-01-31")


def test_fourteen_weeks_judge_three_months():
    # Mar 1 - 14 weeks = 23 Nov: the complete months from 1 December: December, January, February.
    # a: December nothing won, January 1000, February 1200 -> held the latest 2, met at 28 Feb;
    # b: December 5000, January 999, February 2000 -> 1 of 2; window: the latest two months.
    t = ms.milestones(_dataset(), settings=replace(S, milestones_history_weeks=14))
    q = t.loc[t["milestone"] == "months_at_quota"].set_index("rep_id")
    assert bool(q.loc["a", "met"]) and q.loc["a", "met_at"] == T("2026-02-28")
    assert q.loc["b", "progress"] == "1 of 2 months" and not q.loc["b", "met"]
    assert q.loc["a", "window_start"] == T("2026-01-01") and q.loc["a", "window_end"] == T("2026-03-01")


def test_as_of_given_overrides_the_datasets():
    # as of Friday 27 February the latest complete month is January: December and January are judged;
    # a won nothing in December: 1 of 2. The weeks end on Sunday 22 February.
    t = ms.milestones(_dataset(), as_of="2026-02-27 12:00", settings=S).set_index(["rep_id", "milestone"])
    a = t.loc[("a", "months_at_quota")]
    assert (a["window_start"], a["window_end"]) == (T("2025-12-01"), T("2026-02-01"))
    assert not a["met"] and a["progress"] == "1 of 2 months"
    assert t.loc[("a", "conversation_to_appointment"), "window_end"] == T("2026-02-23")


def test_as_of_that_is_not_a_date_is_named():
    with pytest.raises(ValueError, match=r"^as-of date 'someday' is not a date \(expected YYYY-MM-DD\)$"):
        ms.milestones(_dataset(), as_of="someday", settings=S)


def test_a_quota_of_one_is_a_quota():
    # a's quota is 1.0 a month: 1000 and 1200 won are at quota; a quota above 0 counts, however small
    ds = _dataset()
    q = ds.tables["quotas"].assign(quota=lambda x: x["quota"].where(x["rep_id"] != "a", 1.0))
    t = ms.milestones(replace(ds, tables={**ds.tables, "quotas": q}),
                      settings=replace(S, milestones_ladder=("months_at_quota",))).set_index("rep_id")
    assert bool(t.loc["a", "met"]) and t.loc["a", "note"] == ""


def test_no_rep_hired_yet_gives_an_empty_table():
    ds = _dataset()
    reps = ds.reps.assign(hire_date=pd.Series([T("2027-01-01")] * 4, dtype="datetime64[us]"))
    t = ms.milestones(replace(ds, tables={**ds.tables, "reps": reps}), settings=S)
    assert len(t) == 0
    assert t.columns.tolist() == ["rep_id", "rep_name", "team", "milestone", "description", "met", "met_at",
                                  "window_start", "window_end", "progress", "note"]
    assert str(t["met"].dtype) == "boolean" and str(t["window_end"].dtype) == "datetime64[us]"


def test_a_month_without_a_row_counts_as_nothing_won():
    # Without the activity log, only a's deal of 20 January (1000) and b's of 10 February (2000), each
    # created 5 days before: over 14 weeks the months judged are December (nobody has a row), January and
    # February (a has no row: after its last deal). a's quota is 1.0 a month: at quota in January only,
    # not in the latest two months.
    ds = _dataset()
    o = ds.opportunities
    opps = o.loc[o["closed_at"].isin([T("2026-01-20"), T("2026-02-10")]) & (o["status"] == "won") & o["rep_id"].isin(["a", "b"])]
    opps = opps.loc[~((opps["rep_id"] == "a") & (opps["closed_at"] == T("2026-02-10")))]
    opps = opps.loc[~((opps["rep_id"] == "b") & (opps["closed_at"] == T("2026-01-20")))]
    opps = opps.assign(created_at=opps["closed_at"] - pd.Timedelta(days=5))
    q = ds.tables["quotas"].assign(quota=lambda x: x["quota"].where(x["rep_id"] != "a", 1.0))
    q = pd.concat([q, q.loc[q["rep_id"] == "a"].assign(rep_id="c")], ignore_index=True)  # c: 1.0 a month too
    ds = replace(ds, activities=None, tables={**ds.tables, "opportunities": opps, "quotas": q})
    t = ms.milestones(ds, settings=replace(S, milestones_history_weeks=14,
                                           milestones_ladder=("months_at_quota",))).set_index("rep_id")
    assert opps["amount"].tolist() == [1000.0, 2000.0]
    # c has no row in any month (no deal, no activity log): nothing won, not at quota
    assert not t.loc["c", "met"] and t.loc["c", "note"] == "held in the latest 0 of the 2 months needed"
    assert not t.loc["a", "met"] and t.loc["a", "progress"] == "0 of 2 months"
    assert bool(t.loc["b", "met"]) is False and t.loc["b", "progress"] == "1 of 2 months"


def test_a_rep_without_any_activity_fails_every_week():
    # e has no activity in the 9 weeks: not in the weekly funnel at all; each of the 3 weeks fails
    ds = _dataset()
    e = pd.DataFrame({"rep_id": ["e"], "rep_name": ["Eve"], "team": ["T"], "manager": ["M"],
                      "hire_date": [T("2020-01-01")]}).astype(ds.reps.dtypes.to_dict())
    ds = replace(ds, tables={**ds.tables, "reps": pd.concat([ds.reps, e], ignore_index=True)})
    t = ms.milestones(ds, settings=replace(S, milestones_ladder=("conversation_to_appointment",))).set_index("rep_id")
    assert t.loc["e", "progress"] == "0 of 3 weeks" and not t.loc["e", "met"]
    assert t.loc["e", "note"] == "held in the latest 0 of the 3 weeks needed"
    assert t.loc["e", "window_start"] == T("2026-02-09")
