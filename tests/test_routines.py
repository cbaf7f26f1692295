"""Tests of salesx2lib.routines: each routine by hand on a tiny log with its date and time edges,
top producers by attainment within the team, the comparison against scipy, the known-truth
worlds (tests/worlds/routines.py) and the calibration of the labels over many seeds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from salesx2lib import routines as rt
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
from salesx2lib.settings import load_settings
from tests.worlds.routines import WORLD_END, WORLD_START, comparison_world, teachable_world

S = replace(load_settings(), routines_next_step_days=3, routines_block_min_dials=3, routines_block_gap_minutes=5.0)
START, END = "2026-01-05", "2026-01-19"  # two weeks; next steps judged for deals created before 16 January


def _activities() -> pd.DataFrame:
    rows = [
        # a: call blocks of >= 3 dials, pauses of at most 5 minutes (prospecting: no opportunity)
        ("a", "2026-01-05 09:00:00", "dial", None),
        ("a", "2026-01-05 09:05:00", "dial", None),  # exactly 5 minutes: the run goes on
        ("a", "2026-01-05 09:10:00", "dial", None),  # a block of 3
        ("a", "2026-01-05 10:00:00", "dial", None),
        ("a", "2026-01-05 10:05:01", "dial", None),  # 5 min 1 s: a new run
        ("a", "2026-01-05 10:10:00", "dial", None),  # run of 2: no block
        ("a", "2026-01-06 23:58:00", "dial", None),
        ("a", "2026-01-07 00:02:00", "dial", None),
        ("a", "2026-01-07 00:06:00", "dial", None),  # a block of 3 across midnight
        ("a", "2026-01-05 11:00:00", "conversation", None),
        ("a", "2026-01-05 11:30:00", "conversation", None),  # same day: one conversation day
        ("a", "2026-01-08 09:00:00", "conversation", None),
        ("a", "2026-01-12 09:00:00", "conversation", None),
        ("a", "2026-01-19 00:00:00", "conversation", None),  # at the end: outside
        # b: the window's edges cut runs
        ("b", "2026-01-04 23:57:00", "dial", None),  # before the window
        ("b", "2026-01-04 23:59:59", "dial", None),  # before the window
        ("b", "2026-01-05 00:00:00", "dial", None),  # on the start: in
        ("b", "2026-01-05 00:04:00", "dial", None),  # run of 2 inside the window: no block
        ("b", "2026-01-18 23:59:59", "dial", None),  # last second: in
        ("b", "2026-01-19 00:00:00", "dial", None),  # on the end: out
        ("b", "2026-01-19 00:03:00", "dial", None),  # after: out
        ("b", "2026-01-07 09:00:00", "conversation", None),
        ("b", "2026-01-15 09:00:00", "conversation", None),
        # c: same-day follow-up after conversations on deal c1 (and c2)
        ("c", "2026-01-05 10:00:00", "conversation", "c1"),
        ("c", "2026-01-05 10:05:00", "appointment", "c1"),  # followed
        ("c", "2026-01-06 23:58:00", "conversation", "c1"),
        ("c", "2026-01-06 23:59:00", "email", "c1"),  # 23:59 the same day: followed
        ("c", "2026-01-07 23:59:00", "conversation", "c1"),
        ("c", "2026-01-08 00:00:00", "email", "c1"),  # 00:00 the next day: not followed
        ("c", "2026-01-08 14:00:00", "conversation", "c1"),  # only an e-mail before it that day: not followed
        ("c", "2026-01-09 11:00:00", "conversation", "c1"),
        ("c", "2026-01-09 11:00:00", "email", "c1"),  # the same second: followed
        ("c", "2026-01-09 12:00:00", "conversation", "c1"),
        ("c", "2026-01-09 15:00:00", "email", "c2"),  # another deal: not a follow-up of c1
        ("c", "2026-01-09 09:00:00", "conversation", None),  # prospecting: not a deal conversation
        ("c", "2026-01-09 09:10:00", "email", None),
        # d: touches on deals (dial, e-mail, meeting)
        ("d", "2026-01-05 08:00:00", "email", "d3"),  # before d3 was created: not a touch on an open deal
        ("d", "2026-01-05 10:00:00", "dial", "d3"),
        ("d", "2026-01-07 10:00:00", "email", "d3"),  # 2 days after the dial
        ("d", "2026-01-07 10:30:00", "appointment", "d3"),  # first appointment: 2 touches before it
        ("d", "2026-01-07 10:30:00", "email", "d3"),  # the same second: not before it; gap 30 min
        ("d", "2026-01-08 22:00:00", "meeting", "d3"),  # 1.479167 days later
        ("d", "2026-01-15 12:00:00", "dial", "d3"),  # at closed_at: no longer open
        ("d", "2026-01-16 09:00:00", "email", "d3"),  # after the close
        ("d", "2026-01-04 12:00:00", "dial", "d4"),  # before the window
        ("d", "2026-01-05 12:00:00", "email", "d4"),
        ("d", "2026-01-06 09:00:00", "appointment", "d4"),  # d4 was created before the window: not counted
        ("d", "2026-01-10 12:00:00", "email", "d4"),  # 5 days after the previous touch in the window
        ("d", "2026-01-12 08:00:00", "email", "d5"),  # before d5 was created
        ("d", "2026-01-12 09:05:00", "appointment", "d5"),  # 0 touches before it
        ("d", "2026-01-13 10:00:00", "email", "d6"),  # d6: one touch, no appointment
    ]
    f = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type", "opportunity_id"])
    return f.assign(activity_id=[f"x{i:02d}" for i in range(len(f))],
                    occurred_at=pd.to_datetime(f["occurred_at"]).astype("datetime64[us]"))


def _opps() -> pd.DataFrame:
    rows = [
        ("o1", "a", "2026-01-05 09:00", None, "open"),
        ("o2", "a", "2026-01-06 09:00", None, "open"),
        ("o3", "a", "2026-01-08 09:00", None, "open"),
        ("o4", "a", "2026-01-17 09:00", None, "open"),  # too young to judge
        ("o5", "b", "2026-01-10 09:00", "2026-01-11 09:00", "lost"),
        ("o6", "b", "2026-01-12 09:00", None, "open"),
        ("o7", "a", "2026-01-02 09:00", "2026-01-10 09:00", "won"),  # created before the window
        ("o8", "b", "2025-12-20 09:00", "2026-01-11 09:00", "won"),
        ("c1", "c", "2026-01-05 08:00", None, "open"),
        ("c2", "c", "2026-01-09 14:00", None, "open"),
        ("d3", "d", "2026-01-05 09:00", "2026-01-15 12:00", "won"),
        ("d4", "d", "2026-01-02 09:00", None, "open"),
        ("d5", "d", "2026-01-12 09:00", None, "open"),
        ("d6", "d", "2026-01-13 09:00", None, "open"),
    ]
    o = pd.DataFrame(rows, columns=["opportunity_id", "rep_id", "created_at", "closed_at", "status"])
    amounts = {"o7": 3000.0, "o8": 1000.0, "d3": 800.0}
    return o.assign(
        created_at=pd.to_datetime(o["created_at"]).astype("datetime64[us]"),
        closed_at=pd.to_datetime(o["closed_at"]).astype("datetime64[us]"),
        amount=o["opportunity_id"].map(amounts).fillna(500.0),
        stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Prospecting"}),
        expected_close_date=pd.Timestamp("2026-03-01"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "expected_close_date": "datetime64[us]"})


def _history() -> pd.DataFrame:
    rows = [
        ("o1", "2026-01-05 09:00", "Prospecting", "2026-03-01"),
        ("o1", "2026-01-07 09:00", "Qualification", "2026-03-01"),  # 2 days: in time
        ("o2", "2026-01-06 09:00", "Prospecting", "2026-03-01"),
        ("o2", "2026-01-12 09:00", "Qualification", "2026-03-01"),  # 6 days: late
        ("o3", "2026-01-08 09:00", "Qualification", None),  # at the gate without a close date...
        ("o3", "2026-01-09 09:00", "Proposal", "2026-03-01"),  # ...set the next day: in time
        ("o5", "2026-01-10 09:00", "Prospecting", "2026-03-01"),
        ("o5", "2026-01-11 09:00", "Closed Lost", "2026-03-01"),  # lost before the gate
        ("o6", "2026-01-12 09:00", "Negotiation", "2026-03-01"),  # created past the gate
    ]
    h = pd.DataFrame(rows, columns=["opportunity_id", "changed_at", "stage", "expected_close_date"])
    return h.assign(
        changed_at=pd.to_datetime(h["changed_at"]).astype("datetime64[us]"),
        expected_close_date=pd.to_datetime(h["expected_close_date"]).astype("datetime64[us]"),
        amount=500.0,
    ).astype({"opportunity_id": "str", "stage": "str"})


def _dataset(full: bool = True, quotas: bool = False) -> Dataset:
    reps = pd.DataFrame({"rep_id": ["a", "b", "c", "d"], "rep_name": ["Ann", "Bob", "Cy", "Di"], "team": "T",
                         "manager": "M"})
    tables = {"reps": reps.astype("str"), "opportunities": _opps()}
    if full:
        tables["opportunity_history"] = _history()
    if quotas:
        q = pd.DataFrame({"rep_id": ["a", "b", "c", "d"], "period_start": pd.Timestamp("2026-01-01"),
                          "period_end": pd.Timestamp("2026-01-31"), "quota": [31_000.0, 3_100.0, 3_100.0, 3_100.0]})
        tables["quotas"] = q.astype({"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"})
    activities = ibis.memtable(_activities()) if full else None
    return Dataset(tables=tables, activities=activities, as_of=pd.Timestamp("2026-02-15 12:00"))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rt.routines(_dataset(), START, END, settings=S).set_index("rep_id")


def test_call_blocks_in_the_engine():
    b = rt.call_blocks(_dataset(), START, END, min_dials=3, gap_minutes=5).set_index("rep_id")
    assert b.loc["a", ["dials", "block_dials", "call_blocks"]].tolist() == [9, 6, 2]
    assert b.loc["b", ["dials", "block_dials", "call_blocks"]].tolist() == [3, 0, 0]  # 00:00, 00:04, 23:59:59
    # with the two dials before the window, b's 00:00 run would be 4 long; the window cuts it
    wider = rt.call_blocks(_dataset(), "2026-01-04", END, min_dials=3, gap_minutes=5).set_index("rep_id")
    assert wider.loc["b", ["dials", "block_dials", "call_blocks"]].tolist() == [5, 4, 1]
    # a pause of exactly 5 minutes keeps a run going; 4 min 59 s is not enough at 4.98 minutes
    tight = rt.call_blocks(_dataset(), START, END, min_dials=3, gap_minutes=4.98).set_index("rep_id")
    assert tight.loc["a", ["block_dials", "call_blocks"]].tolist() == [3, 1]  # only the midnight block (4-minute pauses)
    with pytest.raises(MissingTableError, match="activities"):
        rt.call_blocks(_dataset(full=False), START, END)


def test_call_block_share(table):
    assert table.loc["a", "call_block_share"] == pytest.approx(6 / 9)
    assert table.loc["b", "call_block_share"] == 0.0
    assert np.isnan(table.loc["c", "call_block_share"]) and table.loc["c", "dials"] == 0


def test_conversation_days_per_week(table):
    assert table.loc["a", "conversation_days"] == 3  # 5, 8, 12 January (19 January is outside)
    assert table.loc["a", "conversation_days_per_week"] == pytest.approx(1.5)
    assert table.loc["c", "conversation_days"] == 5  # 5 to 9 January
    assert table.loc["d", "conversation_days_per_week"] == 0.0


def test_same_day_follow_up(table):
    c = table.loc["c"]
    assert c["deal_conversations"] == 6  # the prospecting conversation is not on a deal
    assert c["same_day_follow_ups"] == 3  # 5 Jan 10:05, 6 Jan 23:59, 9 Jan 11:00 (same second)
    assert c["same_day_follow_up_share"] == pytest.approx(0.5)
    ref = sps.binomtest(3, 6).proportion_ci(method="wilson")
    assert (c["same_day_follow_up_ci_low"], c["same_day_follow_up_ci_high"]) == pytest.approx((ref.low, ref.high))
    assert table.loc["d", "deal_conversations"] == 0 and np.isnan(table.loc["d", "same_day_follow_up_share"])
    wider = replace(S, routines_follow_up_types=("email",))  # appointments no longer count
    assert rt.routines(_dataset(), START, END, settings=wider).set_index("rep_id").loc["c", "same_day_follow_ups"] == 2


def test_follow_up_days(table):
    # d3: 5 Jan 10:00 -> 7 Jan 10:00 -> 7 Jan 10:30 -> 8 Jan 22:00 (the touch before creation and the
    # ones at and after the close are not on an open deal); d4: 5 Jan 12:00 -> 10 Jan 12:00 (the 4 Jan
    # touch is before the window); d5, d6: one touch each
    gaps = [2.0, 30 / 1440, 1 + 11.5 / 24, 5.0]
    assert table.loc["d", "follow_up_gaps"] == 4
    assert table.loc["d", "follow_up_days"] == pytest.approx(np.median(gaps))  # 1.7396: mean of the middle two
    # c1's touches are its e-mails: 6 Jan 23:59 -> 8 Jan 00:00 -> 9 Jan 11:00
    assert table.loc["c", "follow_up_days"] == pytest.approx(np.median([1 + 1 / 1440, 1 + 11 / 24]))
    assert np.isnan(table.loc["a", "follow_up_days"]) and table.loc["a", "follow_up_gaps"] == 0


def test_touches_before_appointment(table):
    # d3: the dial and the 7 Jan 10:00 e-mail (the e-mail at the appointment's second is not before it);
    # d5: none (the e-mail before creation does not count); d4 created before the window; d6 no appointment
    assert table.loc["d", "appointment_opportunities"] == 2
    assert table.loc["d", "touches_before_appointment"] == pytest.approx(1.0)
    # c1: the appointment at 10:05 on 5 Jan comes before any touch
    assert table.loc["c", "appointment_opportunities"] == 1 and table.loc["c", "touches_before_appointment"] == 0.0
    only_dials = replace(S, routines_touch_types=("dial",))
    d = rt.routines(_dataset(), START, END, settings=only_dials).set_index("rep_id").loc["d"]
    assert d["touches_before_appointment"] == pytest.approx(0.5)  # d3: the dial only
    assert d["follow_up_gaps"] == 0  # d3's dials: 10:00 on 5 Jan only while open


def test_next_step_share(table):
    assert table.loc["a", "next_step_opportunities"] == 3  # o1, o2, o3 (o4 too young, o7 before)
    assert table.loc["a", "next_step_share"] == pytest.approx(2 / 3)
    ref = sps.binomtest(2, 3).proportion_ci(method="wilson")
    assert (table.loc["a", "next_step_ci_low"], table.loc["a", "next_step_ci_high"]) == pytest.approx((ref.low, ref.high))
    assert table.loc["b", "next_step_share"] == pytest.approx(1 / 2)  # o6 in time, o5 never gated
    assert table.loc["c", "next_step_opportunities"] == 2 and table.loc["c", "next_step_share"] == 0.0
    wider = rt.routines(_dataset(), START, END, settings=replace(S, routines_next_step_days=7))
    # 7 days: o2 (6 days) now in time, but the cutoff moves to 12 January: o6 drops out
    assert wider.set_index("rep_id").loc["a", "next_step_share"] == pytest.approx(1.0)


def test_top_producers_without_quotas_rank_won_revenue_within_team(table):
    assert table["won_revenue"].to_dict() == {"a": 3000.0, "b": 1000.0, "c": 0.0, "d": 800.0}
    # q75 of (0, 800, 1000, 3000) = 1500: only a
    assert table["top_producer"].to_dict() == {"a": True, "b": False, "c": False, "d": False}
    assert (table["ranked_by"] == "won_revenue").all() and "no quotas table" in table["note"].iloc[0]


def test_top_producers_by_attainment():
    t = rt.routines(_dataset(quotas=True), START, END, settings=S).set_index("rep_id")
    # quota over 5-18 January = 14/31 of the month: a 14,000, the others 1,400
    assert t["quota"].to_dict() == pytest.approx({"a": 14_000.0, "b": 1_400.0, "c": 1_400.0, "d": 1_400.0})
    assert t["attainment"].to_dict() == pytest.approx({"a": 3000 / 14000, "b": 1000 / 1400, "c": 0.0, "d": 800 / 1400})
    # q75 of (0, 0.214, 0.571, 0.714) = 0.607: b, although a won three times as much
    assert t["top_producer"].to_dict() == {"a": False, "b": True, "c": False, "d": False}
    assert (t["ranked_by"] == "attainment").all() and t["note"].iloc[0] == ""


def test_teachable_world_recovers_the_truth():
    ds, truth = teachable_world(seed=0)
    t = rt.routines(ds, WORLD_START, WORLD_END)
    assert sorted(t.loc[t["top_producer"], "rep_id"]) == truth["top"]
    # raw revenue across teams would have picked the big-quota team only
    by_revenue = t.nlargest(len(truth["top"]), "won_revenue")
    assert set(by_revenue["team"]) == {"Big"}
    c = rt.routine_comparison(t).set_index("routine")
    for name, side in truth["differs"].items():
        assert c.loc[name, "label"] == "differs" and c.loc[name, "better"] == side
    for name in truth["uninformative"]:
        assert c.loc[name, "label"] == "uninformative" and c.loc[name, "uninformative"]
        assert np.isnan(c.loc[name, "difference"])
    for name in truth["no_difference"]:
        assert c.loc[name, "label"] == "no_clear_difference"
    assert c.loc["next_step_share", "label"] == "insufficient_data"  # no opportunity_history in this world


def test_recent_hires_are_neither_ranked_nor_compared():
    ds, _ = teachable_world(seed=1)
    reps = ds.reps.assign(hire_date=ds.reps["hire_date"].where(ds.reps["rep_id"] != "B01", pd.Timestamp("2026-01-07")))
    t = rt.routines(replace(ds, tables={**ds.tables, "reps": reps}), WORLD_START, WORLD_END).set_index("rep_id")
    assert not t.loc["B01", "full_window"] and not t.loc["B01", "top_producer"]
    assert t.loc["B02", "full_window"]
    c = rt.routine_comparison(t.reset_index()).set_index("routine")
    assert c.loc["call_block_share", "n_reps"] == 11


def test_shift_interval_against_references():
    rng = np.random.default_rng(3)
    top, rest = rng.normal(1.0, 1.0, 6), rng.normal(0.0, 1.0, 11)
    diff, lo, hi = rt._shift_interval(top, rest, 0.95)
    assert diff == pytest.approx(np.median(np.subtract.outer(top, rest)))  # Hodges-Lehmann
    # the interval is the set of shifts d that the exact two-sided Mann-Whitney test does not reject
    d = np.sort(np.subtract.outer(top, rest).ravel())
    eps = 1e-9
    p = {x: sps.mannwhitneyu(top - x, rest, method="exact").pvalue for x in (lo - eps, lo + eps, hi - eps, hi + eps)}
    assert p[lo - eps] <= 0.05 < p[lo + eps] and p[hi + eps] <= 0.05 < p[hi - eps]
    assert lo in d and hi in d
    # excludes 0 exactly when the Mann-Whitney test rejects, over many random pairs of samples
    for seed in range(60):
        g = np.random.default_rng(seed)
        a, b = g.normal(g.uniform(0, 1.5), 1, g.integers(3, 9)), g.normal(0, 1, g.integers(5, 15))
        _, lo, hi = rt._shift_interval(a, b, 0.9)
        rejects = sps.mannwhitneyu(a, b, method="exact").pvalue <= 0.1
        assert (lo > 0 or hi < 0) == rejects
    # too few reps for the level: 2 and 3 values cannot reach p <= 0.05 (smallest p = 2/10)
    assert rt._shift_interval(np.array([5.0, 6.0]), np.array([1.0, 2.0, 3.0]), 0.95)[1] == -np.inf


def test_comparison_labels_and_bonferroni():
    f = comparison_world(0, shift=3.0)
    f["conversation_days_per_week"] = 5.0  # the same for all
    f.loc[f.index[:3], "follow_up_days"] = np.nan  # undefined for three reps
    f["next_step_share"] = np.nan  # no history
    c = rt.routine_comparison(f).set_index("routine")
    assert c.loc["conversation_days_per_week", "label"] == "uninformative"
    assert c.loc["next_step_share", "label"] == "insufficient_data"
    assert c.loc["follow_up_days", "n_reps"] == len(f) - 3
    k = 4  # informative routines: call_block_share, follow_up_days, touches_before_appointment, same_day_follow_up_share
    assert np.allclose(c["interval_level"], 1 - 0.05 / k)
    assert c.loc["call_block_share", "label"] == "differs" and c.loc["call_block_share", "better"] == "higher"
    top = f.loc[f["top_producer"], "call_block_share"].to_numpy()
    rest = f.loc[~f["top_producer"], "call_block_share"].to_numpy()
    assert (c.loc["call_block_share", "n_top"], c.loc["call_block_share", "n_rest"]) == (len(top), len(rest))
    assert c.loc["call_block_share", "difference"] == pytest.approx(np.median(np.subtract.outer(top, rest)))
    assert c.loc["call_block_share", "mean_top"] == pytest.approx(top.mean())
    # the dispersion rule, by hand: quartiles of (1, 2, ..., 8) are 2.75 and 6.25
    g = comparison_world(1).iloc[:8].copy()
    g["touches_before_appointment"] = np.arange(1.0, 9.0)
    row = rt.routine_comparison(g).set_index("routine").loc["touches_before_appointment"]
    assert row["dispersion"] == pytest.approx((6.25 - 2.75) / (6.25 + 2.75))
    nearly = g.assign(touches_before_appointment=[10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6, 20.0])
    assert rt.routine_comparison(nearly).set_index("routine").loc["touches_before_appointment", "label"] == "uninformative"
    with pytest.raises(ValueError, match="missing column 'full_window'"):
        rt.routine_comparison(f.drop(columns="full_window"))


@pytest.mark.slow
def test_calibration_no_routine_differs_on_noise():
    """300 floors of 32 reps where no routine goes with being a top producer (skewed values):
    the chance that at least one of the six routines is called ``differs`` stays at most 6%."""
    labels = pd.DataFrame([rt.routine_comparison(comparison_world(seed)).set_index("routine")["label"]
                           for seed in range(300)])
    family = (labels == "differs").any(axis=1).mean()
    assert family <= 0.06
    assert (labels == "uninformative").to_numpy().sum() == 0  # lognormal values vary


@pytest.mark.slow
def test_calibration_a_real_difference_is_found():
    """A shift of 1 (about 1.7 standard deviations) on call_block_share is found in most of 150
    floors, and no other routine is called ``differs`` more often than noise allows."""
    labels = pd.DataFrame([rt.routine_comparison(comparison_world(seed, shift=1.0)).set_index("routine")["label"]
                           for seed in range(1000, 1150)])
    assert (labels["call_block_share"] == "differs").mean() >= 0.85
    assert (labels.drop(columns="call_block_share") == "differs").any(axis=1).mean() <= 0.08


def test_routine_gaps():
    f = comparison_world(0, shift=3.0)
    c = rt.routine_comparison(f)
    g = rt.routine_gaps(f, c)
    assert set(g["routine"]) == set(c.loc[c["label"] == "differs", "routine"]) == {"call_block_share"}
    top_median = float(np.median(f.loc[f["top_producer"], "call_block_share"]))
    r = g.set_index("rep_id")
    worst = f.loc[~f["top_producer"]].nsmallest(1, "call_block_share").iloc[0]
    assert g.iloc[0]["rep_id"] == worst["rep_id"]  # largest shortfall first
    assert r.loc[worst["rep_id"], "shortfall"] == pytest.approx(top_median - worst["call_block_share"])
    best = f.nlargest(1, "call_block_share").iloc[0]
    assert r.loc[best["rep_id"], "shortfall"] == 0.0
    assert rt.routine_gaps(f, c.assign(label="no_clear_difference")).empty


def test_missing_tables_give_na_with_note():
    t = rt.routines(_dataset(full=False), START, END, settings=S)
    assert t[list(rt.ROUTINES)].isna().all().all()
    assert "activities" in t["note"].iloc[0] and "opportunity_history" in t["note"].iloc[0]
    c = rt.routine_comparison(t)
    assert (c["label"] == "insufficient_data").all()


def test_no_won_revenue_no_top_producer():
    t = rt.routines(_dataset(), "2026-02-02", "2026-02-16", settings=S)  # nothing won in these weeks
    assert t["won_revenue"].eq(0).all() and not t["top_producer"].any()


@pytest.mark.slow
def test_sample():
    d = load_dataset(Path(__file__).resolve().parents[1] / "data" / "sample")
    t = rt.routines(d)
    assert len(t) == len(d.reps)
    assert (t["ranked_by"] == "attainment").all()
    assert t["call_block_share"].between(0, 1).all() and t["same_day_follow_up_share"].between(0, 1).all()
    assert t["next_step_share"].between(0, 1).all()
    # top producers: about a quarter of each team's full-window reps, from every team
    tops = t.loc[t["top_producer"]]
    assert set(tops["team"]) == set(t["team"]) and len(tops) == 8
    assert not t.loc[~t["full_window"], "top_producer"].any()  # R028-R030 were hired in the window
    c = rt.routine_comparison(t).set_index("routine")
    assert list(c.index) == list(rt.ROUTINES)
    # every established rep converses on (almost) every working day: reported, not compared
    assert c.loc["conversation_days_per_week", "label"] == "uninformative"
    assert set(c["label"]) <= set(rt.LABELS)
