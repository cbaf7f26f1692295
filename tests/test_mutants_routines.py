"""Tests of salesx2lib.routines written to kill mutants `make mutate` would leave surviving.

The whole routines table of the hand-built log of tests/test_routines.py (window 5-19 January
2026) pinned column by column; the engine functions with their default arguments; the
comparison on a hand-made floor of ten reps whose every number is worked out by hand; the
exact Mann-Whitney distribution against a brute-force count; the gaps table by hand.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from test_routines import END, START, S, _activities, _dataset

from salesx2lib import routines as rt
from salesx2lib.dataset import Dataset

T = pd.Timestamp
NAN = float("nan")


def _wilson(x: int, n: int) -> tuple[float, float]:
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def test_whole_routines_table_by_hand():
    out = rt.routines(_dataset(), START, END, settings=S)
    assert out.columns.tolist() == list(rt._ROUTINE_COLUMNS)
    assert out.dtypes.astype(str).tolist() == [
        "str", "str", "str", "datetime64[us]", "datetime64[us]", "bool", "int64", "int64", "int64", "float64",
        "int64", "float64", "int64", "float64", "int64", "int64", "float64", "float64", "float64", "int64",
        "float64", "int64", "float64", "float64", "float64", "float64", "float64", "float64", "str", "bool", "str"]
    t = out.set_index("rep_id")
    assert t.index.tolist() == ["a", "b", "c", "d"] and out.index.tolist() == [0, 1, 2, 3]
    assert t["rep_name"].tolist() == ["Ann", "Bob", "Cy", "Di"] and t["team"].eq("T").all()
    assert t["window_start"].eq(T("2026-01-05")).all() and t["window_end"].eq(T("2026-01-19")).all()
    assert t["full_window"].all()  # no hire dates
    # dials: a 9 (blocks of 3 at 09:00 and across midnight), b 3 (00:00, 00:04, 23:59:59), c none,
    # d 2 (d3 at 10:00 on 5 Jan and 12:00 on 15 Jan: runs of one)
    assert t["dials"].tolist() == [9, 3, 0, 2]
    assert t["block_dials"].tolist() == [6, 0, 0, 0] and t["call_blocks"].tolist() == [2, 0, 0, 0]
    assert t["call_block_share"].tolist()[:2] == pytest.approx([6 / 9, 0.0])
    assert np.isnan(t.loc["c", "call_block_share"]) and t.loc["d", "call_block_share"] == 0.0
    # follow-up gaps: c1's e-mails (2 gaps), d3 and d4 (4 gaps); a and b touch no deal
    assert t["follow_up_gaps"].tolist() == [0, 0, 2, 4]
    assert t.loc["c", "follow_up_days"] == pytest.approx((1 + 1 / 1440 + 1 + 11 / 24) / 2)
    assert t.loc["d", "follow_up_days"] == pytest.approx((1 + 11.5 / 24 + 2.0) / 2)  # gaps 30 min, 1.479, 2, 5
    assert t[["follow_up_days", "touches_before_appointment"]].loc[["a", "b"]].isna().all().all()
    assert t["appointment_opportunities"].tolist() == [0, 0, 1, 2]
    assert t.loc["c", "touches_before_appointment"] == 0.0 and t.loc["d", "touches_before_appointment"] == 1.0
    assert t["deal_conversations"].tolist() == [0, 0, 6, 0] and t["same_day_follow_ups"].tolist() == [0, 0, 3, 0]
    assert t.loc["c", "same_day_follow_up_share"] == 0.5
    assert (t.loc["c", "same_day_follow_up_ci_low"], t.loc["c", "same_day_follow_up_ci_high"]) == pytest.approx(_wilson(3, 6))
    for r in "abd":  # no deal conversation: the share and its interval are undefined
        assert t.loc[r, ["same_day_follow_up_share", "same_day_follow_up_ci_low", "same_day_follow_up_ci_high"]].isna().all()
    # conversation days over a window of 2 weeks: a 5, 8, 12 Jan; b 7, 15 Jan; c 5 to 9 Jan; d none
    assert t["conversation_days"].tolist() == [3, 2, 5, 0]
    assert t["conversation_days_per_week"].tolist() == [1.5, 1.0, 2.5, 0.0]
    # next step (created before the cutoff 16 Jan): a o1, o2, o3 (2 in time); b o5, o6 (o6 in time);
    # c c1, c2 and d d3, d5, d6 without history: none in time
    assert t["next_step_opportunities"].tolist() == [3, 2, 2, 3]
    assert t["next_step_share"].tolist() == pytest.approx([2 / 3, 1 / 2, 0.0, 0.0])
    for r, (x, n) in zip("abcd", [(2, 3), (1, 2), (0, 2), (0, 3)], strict=True):
        assert (t.loc[r, "next_step_ci_low"], t.loc[r, "next_step_ci_high"]) == pytest.approx(_wilson(x, n))
    assert t["won_revenue"].tolist() == [3000.0, 1000.0, 0.0, 800.0]
    assert t["quota"].isna().all() and t["attainment"].isna().all()
    assert t["ranked_by"].eq("won_revenue").all()
    assert t["top_producer"].tolist() == [True, False, False, False]  # q75 of 0, 800, 1000, 3000 = 1500
    assert t["note"].eq("no quotas table: top producers are ranked by won revenue within each team, "
                        "not by attainment").all()


def test_notes_of_every_missing_table_joined():
    out = rt.routines(_dataset(full=False), START, END, settings=S)
    assert out["note"].iloc[0] == (
        "call_block_share, follow_up_days, touches_before_appointment, same_day_follow_up_share "
        "and conversation_days_per_week need the activities table; "
        "next_step_share needs the opportunity_history table; "
        "no quotas table: top producers are ranked by won revenue within each team, not by attainment")
    for c in ("dials", "block_dials", "call_blocks", "conversation_days", "follow_up_gaps", "appointment_opportunities",
              "deal_conversations", "same_day_follow_ups", "next_step_opportunities"):
        assert out[c].eq(0).all() and out[c].dtype == "int64", c
    for c in ("same_day_follow_up_ci_low", "same_day_follow_up_ci_high", "next_step_ci_low", "next_step_ci_high"):
        assert out[c].isna().all(), c
    assert out["won_revenue"].tolist() == [3000.0, 1000.0, 0.0, 800.0]  # the opportunities are still there


def test_quotas_with_a_zero_quota_and_ties_at_the_threshold():
    # quota over 5-18 January (14 of 31 days): a 3,100 -> 1,400 (attainment 3000/1400 = 2.143); b, c 0 (no
    # attainment); d 1,400 -> 800/1400 = 0.571. Only a and d have an attainment: q75 of (0.571, 2.143) =
    # 0.571 + 0.75 * 1.571 = 1.750: a. A quota of 0 leaves the attainment NaN, not infinite.
    ds = _dataset(quotas=True)
    q = ds.tables["quotas"].assign(quota=[3_100.0, 0.0, 0.0, 3_100.0])
    t = rt.routines(replace(ds, tables={**ds.tables, "quotas": q}), START, END, settings=S).set_index("rep_id")
    assert t["quota"].tolist() == pytest.approx([1400.0, 0.0, 0.0, 1400.0])
    assert t.loc["a", "attainment"] == pytest.approx(3000 / 1400) and t.loc["d", "attainment"] == pytest.approx(800 / 1400)
    assert t[["attainment"]].loc[["b", "c"]].isna().all().all()
    assert t["top_producer"].tolist() == [True, False, False, False]
    # at the 0.0 quantile every rep with an attainment and some revenue is a top producer (>=, not >)
    low = rt.routines(replace(ds, tables={**ds.tables, "quotas": q}), START, END,
                      settings=replace(S, routines_top_quantile=0.0)).set_index("rep_id")
    assert low["top_producer"].tolist() == [True, False, False, True]


def test_top_producers_are_ranked_within_each_team():
    # Team T: a 3000, b 1000; team U: c 0, d 800. q75 in T = 1000 + 0.75 * 2000 = 2500: a; in U =
    # 0 + 0.75 * 800 = 600: d (c has no revenue). One pooled ranking would give a only.
    ds = _dataset()
    reps = ds.reps.assign(team=["T", "T", "U", "U"])
    t = rt.routines(replace(ds, tables={**ds.tables, "reps": reps}), START, END, settings=S)
    assert t["rep_id"].tolist() == ["a", "b", "c", "d"] and t["team"].tolist() == ["T", "T", "U", "U"]
    assert t["top_producer"].tolist() == [True, False, False, True]
    # sorted by team first: a rep of team A comes before a of team T
    reps2 = ds.reps.assign(team=["T", "T", "A", "T"])
    t2 = rt.routines(replace(ds, tables={**ds.tables, "reps": reps2}), START, END, settings=S)
    assert t2["rep_id"].tolist() == ["c", "a", "b", "d"]


def test_hire_date_edges_and_rep_name_fallback():
    # hired on the window's first day: full window; a second later: not; no rep_name column: the id
    ds = _dataset()
    reps = ds.reps.drop(columns="rep_name").assign(
        hire_date=pd.Series([T("2026-01-05"), T("2026-01-05 00:00:01"), pd.NaT, T("2020-01-01")], dtype="datetime64[us]"))
    t = rt.routines(replace(ds, tables={**ds.tables, "reps": reps}), START, END, settings=S).set_index("rep_id")
    assert t["full_window"].tolist() == [True, False, True, True]
    assert t["rep_name"].tolist() == ["a", "b", "c", "d"]


def test_default_window_is_the_trailing_weeks_of_the_settings():
    # as of Sunday 15 Feb 2026 12:00 the latest complete week is 9-15 Feb: the window ends on Monday
    # 16 Feb and starts 4 weeks earlier, 19 Jan: only b's dials at 00:00 and 00:03 and a's conversation
    # at 00:00 that day are in it. a's o7, b's o8 and d's d3 were won before: no revenue in the window.
    t = rt.routines(_dataset(), settings=replace(S, routines_window_weeks=4))
    assert t["window_start"].eq(T("2026-01-19")).all() and t["window_end"].eq(T("2026-02-16")).all()
    assert t["dials"].tolist() == [0, 2, 0, 0] and t["conversation_days"].tolist() == [1, 0, 0, 0]
    assert t["conversation_days_per_week"].tolist() == [0.25, 0.0, 0.0, 0.0]
    assert t["won_revenue"].eq(0.0).all()
    # with 13 weeks (17 Nov - 16 Feb) everything of January is in: a's 3 conversation days over 13 weeks
    t13 = rt.routines(_dataset(), settings=S).set_index("rep_id")
    assert t13["window_start"].eq(T("2025-11-17")).all()
    assert t13.loc["a", "conversation_days_per_week"] == pytest.approx(4 / 13)  # 5, 8, 12 and 19 Jan
    assert t13.loc["a", "won_revenue"] == 3000.0


def test_call_blocks_default_arguments():
    # five dials 5 minutes apart (a block of 5 at the defaults), then after a pause of 5.5 minutes four
    # more dials: a block only if a pause of 5.5 minutes were allowed or four dials were enough
    base = T("2026-01-06 09:00")
    times = [base + pd.Timedelta(minutes=5 * i) for i in range(5)]
    times += [times[-1] + pd.Timedelta(minutes=5.5) + pd.Timedelta(minutes=i) for i in range(4)]
    acts = pd.DataFrame({"activity_id": [f"x{i}" for i in range(9)], "rep_id": "z", "occurred_at": times,
                         "activity_type": "dial", "opportunity_id": None, "duration_s": 0.0}).astype(
        {"occurred_at": "datetime64[us]", "rep_id": "str", "activity_id": "str", "activity_type": "str"})
    ds = _dataset()
    ds = replace(ds, activities=ibis.memtable(acts))
    out = rt.call_blocks(ds, START, END)
    assert out.to_dict("list") == {"rep_id": ["z"], "dials": [9], "block_dials": [5], "call_blocks": [1],
                                   "conversation_days": [0]}
    assert out.dtypes.astype(str).tolist() == ["str", "int64", "int64", "int64", "int64"]


def test_call_blocks_order_by_time_then_id_and_both_sides_of_the_merge():
    out = rt.call_blocks(_dataset(), START, END, min_dials=3, gap_minutes=5)
    # c and d: conversations without dials, or dials without conversations; every count an int
    assert out["rep_id"].tolist() == ["a", "b", "c", "d"]
    assert out["dials"].tolist() == [9, 3, 0, 2] and out["conversation_days"].tolist() == [3, 2, 5, 0]
    assert out.index.tolist() == [0, 1, 2, 3]


def test_deal_routines_default_types():
    # touches: dial, e-mail, meeting; follow-ups: e-mail, appointment (as in the settings' defaults)
    out = rt.deal_routines(_dataset(), START, END)
    assert out.columns.tolist() == ["rep_id", "follow_up_gaps", "follow_up_days", "appointment_opportunities",
                                    "touches_before_appointment", "deal_conversations", "same_day_follow_ups"]
    assert out["rep_id"].tolist() == ["c", "d"] and out.index.tolist() == [0, 1]
    assert out["follow_up_gaps"].tolist() == [2, 4]
    assert out["follow_up_days"].tolist() == pytest.approx([(2 + 1 / 1440 + 11 / 24) / 2, (3 + 11.5 / 24) / 2])
    assert out["appointment_opportunities"].tolist() == [1, 2]
    assert out["touches_before_appointment"].tolist() == [0.0, 1.0]
    assert out["deal_conversations"].tolist() == [6, 0] and out["same_day_follow_ups"].tolist() == [3, 0]
    assert out.dtypes.astype(str).tolist() == ["str", "int64", "float64", "int64", "float64", "int64", "int64"]


# --- comparison on a hand-made floor ---------------------------------------------------------------
# Ten full-window reps, 4 top producers (t1-t4) and 6 others (r1-r6), plus a recent hire (n) whose
# extreme values must be left out. Informative routines: call_block_share, follow_up_days,
# conversation_days_per_week and next_step_share (k = 4): level = 1 - 0.05 / 4 = 0.9875, alpha/2 =
# 0.00625. For 4 and 6 values P(U <= 0) = 1/C(10,4) = 1/210 = 0.0048 <= 0.00625 < P(U <= 1) = 2/210,
# so the interval is [smallest, largest] of the 24 differences.
TOPS = ["t1", "t2", "t3", "t4"]
RESTS = ["r1", "r2", "r3", "r4", "r5", "r6"]


def _floor() -> pd.DataFrame:
    f = pd.DataFrame({"rep_id": TOPS + RESTS + ["n"], "rep_name": "x", "team": "T",
                      "full_window": [True] * 10 + [False], "top_producer": [True] * 4 + [False] * 7})
    f["call_block_share"] = [0.6, 0.7, 0.8, 0.9, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 50.0]  # top higher
    f["follow_up_days"] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, -50.0]  # top lower
    f["touches_before_appointment"] = [2.0] * 10 + [9.0]  # the same for everyone: uninformative
    f["same_day_follow_up_share"] = [NAN] * 10 + [0.5]  # nobody eligible has a value
    f["conversation_days_per_week"] = [2.0, 4.0, 6.0, 8.0, 1.0, 3.0, 5.0, 7.0, 9.0, 10.0, 50.0]  # overlap
    f["next_step_share"] = [NAN] * 4 + [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, NAN]  # no top producer has one
    return f


def test_routine_comparison_whole_table_by_hand():
    c = rt.routine_comparison(_floor(), S)
    assert c.columns.tolist() == ["routine", "n_reps", "distinct", "n_top", "n_rest", "median", "q1", "q3",
                                  "dispersion", "mean_top", "mean_rest", "median_top", "median_rest", "difference",
                                  "diff_ci_low", "diff_ci_high", "interval_level", "uninformative", "label",
                                  "better", "note"]
    assert c["routine"].tolist() == list(rt.ROUTINES)
    assert c.dtypes.astype(str).tolist() == ["str"] + ["int64"] * 4 + ["float64"] * 12 + ["bool"] + ["str"] * 3
    c = c.set_index("routine")
    assert c["n_reps"].tolist() == [10, 10, 10, 0, 10, 6]
    assert c["distinct"].tolist() == [10, 10, 1, 0, 10, 6]
    assert c["n_top"].tolist() == [4, 4, 4, 0, 4, 0]
    assert c["n_rest"].tolist() == [6, 6, 6, 0, 6, 6]
    # quartiles (linear): of 0.0..0.9: positions 2.25, 4.5, 6.75 -> 0.225, 0.45, 0.675; of 1..10: 3.25,
    # 5.5, 7.75; of 0.1..0.6: positions 1.25, 2.5, 3.75 -> 0.225, 0.35, 0.475
    got = c[["q1", "median", "q3", "dispersion"]]
    assert got.loc["call_block_share"].tolist() == pytest.approx([0.225, 0.45, 0.675, 0.45 / 0.9])
    assert got.loc["follow_up_days"].tolist() == pytest.approx([3.25, 5.5, 7.75, 4.5 / 11])
    assert got.loc["touches_before_appointment"].tolist() == pytest.approx([2.0, 2.0, 2.0, 0.0])
    assert got.loc["same_day_follow_up_share"].isna().all()
    assert got.loc["conversation_days_per_week"].tolist() == pytest.approx([3.25, 5.5, 7.75, 4.5 / 11])
    assert got.loc["next_step_share"].tolist() == pytest.approx([0.225, 0.35, 0.475, 0.25 / 0.7])
    means = c[["mean_top", "mean_rest", "median_top", "median_rest"]]
    assert means.loc["call_block_share"].tolist() == pytest.approx([0.75, 0.25, 0.75, 0.25])
    assert means.loc["follow_up_days"].tolist() == pytest.approx([2.5, 7.5, 2.5, 7.5])
    assert means.loc["conversation_days_per_week"].tolist() == pytest.approx([5.0, 35 / 6, 5.0, 6.0])
    assert means.loc["touches_before_appointment"].tolist() == [2.0, 2.0, 2.0, 2.0]
    assert means.loc["next_step_share"].tolist()[1] == pytest.approx(0.35)
    assert means.loc["next_step_share"].tolist()[3] == pytest.approx(0.35)
    assert np.isnan(means.loc["next_step_share"].tolist()[0]) and np.isnan(means.loc["next_step_share"].tolist()[2])
    assert means.loc["same_day_follow_up_share"].isna().all()
    # Hodges-Lehmann: top - rest over 0.1 steps is i - j, i in 6..9, j in 0..5: the values 1..9 occur
    # 1, 2, 3, 4, 4, 4, 3, 2, 1 times, so the 12th and 13th of 24 are both 5 -> 0.5; [0.1, 0.9].
    # follow_up_days: the same with the sign turned: -5, [-9, -1]. conversation days: the differences
    # (2, 4, 6, 8) - (1, 3, 5, 7, 9, 10) are 14 negatives (-8 ... -1) and 10 positives; the 12th and 13th
    # are -1 and -1; [-8, 7] holds 0.
    diffs = c[["difference", "diff_ci_low", "diff_ci_high"]]
    assert diffs.loc["call_block_share"].tolist() == pytest.approx([0.5, 0.1, 0.9])
    assert diffs.loc["follow_up_days"].tolist() == pytest.approx([-5.0, -9.0, -1.0])
    assert diffs.loc["conversation_days_per_week"].tolist() == pytest.approx([-1.0, -8.0, 7.0])
    for r in ("touches_before_appointment", "same_day_follow_up_share", "next_step_share"):
        assert diffs.loc[r].isna().all(), r
    assert c["interval_level"].tolist() == pytest.approx([1 - 0.05 / 4] * 6)
    assert c["uninformative"].tolist() == [False, False, True, False, False, False]
    assert c["label"].tolist() == ["differs", "differs", "uninformative", "insufficient_data", "no_clear_difference",
                                   "insufficient_data"]
    assert c["better"].tolist() == ["higher", "lower", "", "", "", ""]
    assert c["note"].tolist() == [
        "", "",
        "1 distinct values, quartile dispersion 0.000: nearly the same for every rep; not compared, not charted",
        "no rep has a value on this data", "", "0 top producers and 6 others with a value"]


def test_routine_comparison_too_few_reps_for_the_level_and_confidence():
    # t1, t2 and r1-r3 only; call_block_share informative alone (k = 1), but 2 and 3 values cannot reach
    # P(U <= 0) = 1/10 <= 0.025: an infinite interval. At confidence 0.75 (alpha/2 = 0.125) they can: k = 1,
    # the interval [smallest, largest] of (0.6, 0.7) - (0.0, 0.1, 0.2) = [0.4, 0.7], median of the six
    # differences (0.4, 0.5, 0.5, 0.6, 0.6, 0.7) = 0.55.
    f = _floor().iloc[[0, 1, 4, 5, 6]].copy()
    for r in rt.ROUTINES[1:]:
        f[r] = NAN
    row = rt.routine_comparison(f, S).set_index("routine").loc["call_block_share"]
    assert row["label"] == "insufficient_data" and row["interval_level"] == pytest.approx(0.95)
    assert row["note"] == "2 top producers and 3 others: too few for a 95.0% interval"
    assert row["difference"] == pytest.approx(0.55)
    assert row["diff_ci_low"] == -np.inf and row["diff_ci_high"] == np.inf
    loose = rt.routine_comparison(f, S, confidence=0.75).set_index("routine").loc["call_block_share"]
    assert loose["interval_level"] == pytest.approx(0.75)
    assert (loose["diff_ci_low"], loose["diff_ci_high"]) == pytest.approx((0.4, 0.7))
    assert loose["label"] == "differs" and loose["better"] == "higher"


def test_routine_comparison_thresholds_of_the_settings():
    # two distinct values among ten (eight 0s and two 1s): q1 = q3 = 0, dispersion 0 (Q3 + Q1 = 0):
    # uninformative at the default 0.05, informative when no dispersion is required and 2 values suffice
    f = _floor()
    f["touches_before_appointment"] = [0.0] * 8 + [1.0, 1.0, 0.0]
    row = rt.routine_comparison(f, S).set_index("routine").loc["touches_before_appointment"]
    assert row["distinct"] == 2 and row["dispersion"] == 0.0 and row["uninformative"]
    assert row["note"].startswith("2 distinct values, quartile dispersion 0.000:")
    lax = replace(S, routines_min_dispersion=0.0, routines_min_distinct=2)
    assert not rt.routine_comparison(f, lax).set_index("routine").loc["touches_before_appointment", "uninformative"]
    # call_block_share has 10 distinct values: uninformative when 11 are required
    strict = replace(S, routines_min_distinct=11)
    c = rt.routine_comparison(f, strict).set_index("routine")
    assert c.loc["call_block_share", "uninformative"] and c.loc["call_block_share", "label"] == "uninformative"
    # follow_up_days' dispersion is (7.75 - 3.25) / (7.75 + 3.25) = 4.5 / 11 (exact quartiles): not below
    # a threshold of exactly that (strictly below is uninformative)
    tie = replace(S, routines_min_dispersion=(7.75 - 3.25) / (7.75 + 3.25))
    assert not rt.routine_comparison(f, tie).set_index("routine").loc["follow_up_days", "uninformative"]


def test_routine_comparison_message():
    with pytest.raises(ValueError, match=r"^routines_frame is missing column 'top_producer' \(see routines.routines\)$"):
        rt.routine_comparison(_floor().drop(columns="top_producer"), S)


def test_u_cdf_against_a_brute_force_count():
    # P(U <= u) with U = #{(i, j): a_i > b_j}, counted over every placement of the m top ranks among m + n
    for m, n in [(1, 1), (2, 2), (2, 3), (3, 2), (4, 6), (1, 5)]:
        counts = np.zeros(m * n + 1)
        for top in itertools.combinations(range(m + n), m):
            rest = [r for r in range(m + n) if r not in top]
            counts[sum(a > b for a in top for b in rest)] += 1
        assert rt._u_cdf(m, n) == pytest.approx(np.cumsum(counts) / counts.sum()), (m, n)
    assert rt._u_cdf(2, 2).tolist() == pytest.approx([1 / 6, 2 / 6, 4 / 6, 5 / 6, 1.0])


def test_shift_interval_indices_by_hand():
    # 4 and 6 values at level 0.9875: k = 1, the first and the last of the sorted differences
    top, rest = np.array([0.9, 0.6, 0.8, 0.7]), np.array([0.5, 0.0, 0.3, 0.1, 0.4, 0.2])
    assert rt._shift_interval(top, rest, 0.9875) == pytest.approx((0.5, 0.1, 0.9))
    # at level 0.9 (alpha/2 = 0.05): P(U <= 2) = 4/210 = 0.019, P(U <= 3) = 7/210 = 0.033, P(U <= 4)
    # = 12/210 = 0.057: k = 4, the 4th and the 21st differences: sorted 0.1, 0.2, 0.2, 0.3, ...: 0.3;
    # from the top 0.9, 0.8, 0.8, 0.7: 0.7
    assert rt._shift_interval(top, rest, 0.9) == pytest.approx((0.5, 0.3, 0.7))


def test_dispersion_by_hand():
    assert rt._dispersion(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx((4 - 2) / (4 + 2))
    assert rt._dispersion(np.array([0.0, 0.0, 0.0, 0.0, 5.0])) == 0.0  # q1 = q3 = 0 (positions 1 and 3)
    assert rt._dispersion(np.array([0.0, 0.0, 0.0, 5.0])) == 1.0  # q3 at position 2.25: 1.25, q1 = 0
    assert isinstance(rt._dispersion(np.array([0.0, 0.0])), float)


def test_routine_gaps_by_hand():
    # call_block_share: top median 0.75, higher is better: shortfall = max(0.75 - value, 0); follow_up_days:
    # top median 2.5, lower is better: shortfall = max(value - 2.5, 0). The recent hire is listed too.
    f = _floor()
    f.loc[f["rep_id"] == "r6", "call_block_share"] = NAN
    c = rt.routine_comparison(_floor(), S)
    g = rt.routine_gaps(f, c)
    assert g.columns.tolist() == ["rep_id", "rep_name", "team", "routine", "value", "top_median", "gap", "shortfall"]
    assert g.index.tolist() == list(range(22))
    calls, follow = g.iloc[:11], g.iloc[11:]
    assert calls["routine"].eq("call_block_share").all() and follow["routine"].eq("follow_up_days").all()
    # sorted by shortfall, largest first, ties in frame order, the undefined value last
    assert calls["rep_id"].tolist() == ["r1", "r2", "r3", "r4", "r5", "t1", "t2", "t3", "t4", "n", "r6"]
    assert calls["shortfall"].tolist()[:9] == pytest.approx([0.75, 0.65, 0.55, 0.45, 0.35, 0.15, 0.05, 0.0, 0.0])
    assert calls["gap"].tolist()[:9] == pytest.approx([-0.75, -0.65, -0.55, -0.45, -0.35, -0.15, -0.05, 0.05, 0.15])
    assert calls["shortfall"].iloc[9] == 0.0 and np.isnan(calls["shortfall"].iloc[10])
    assert follow["rep_id"].tolist() == ["r6", "r5", "r4", "r3", "r2", "r1", "t4", "t3", "t1", "t2", "n"]
    assert follow["shortfall"].tolist() == pytest.approx([7.5, 6.5, 5.5, 4.5, 3.5, 2.5, 1.5, 0.5, 0.0, 0.0, 0.0])
    assert g["top_median"].tolist() == [0.75] * 11 + [2.5] * 11
    assert g["rep_name"].eq("x").all() and g["team"].eq("T").all()
    assert g.dtypes.astype(str).tolist() == ["str", "str", "str", "str", "float64", "float64", "float64", "float64"]


def test_routine_gaps_empty_has_the_columns_and_types():
    g = rt.routine_gaps(_floor(), rt.routine_comparison(_floor(), S).assign(label="no_clear_difference"))
    assert g.columns.tolist() == ["rep_id", "rep_name", "team", "routine", "value", "top_median", "gap", "shortfall"]
    assert g.dtypes.astype(str).tolist() == ["str"] * 4 + ["float64"] * 4 and len(g) == 0


def test_routine_gaps_of_an_integer_routine_are_floats():
    f = _floor().assign(follow_up_days=lambda x: x["follow_up_days"].astype("int64"))
    c = rt.routine_comparison(_floor(), S)
    g = rt.routine_gaps(f, c)
    assert g.loc[g["routine"] == "follow_up_days", "value"].dtype == "float64"


def test_routine_comparison_quietly_leaves_empty_groups_undefined():
    # next_step_share has no top producer and same_day_follow_up_share no value: their means and medians
    # are NaN without the warnings of a mean of nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = rt.routine_comparison(_floor(), S).set_index("routine")
    assert c.loc[["next_step_share", "same_day_follow_up_share"], ["mean_top", "median_top"]].isna().all().all()
    only_top = _floor().assign(next_step_share=[0.1, 0.2, 0.3, 0.4] + [NAN] * 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = rt.routine_comparison(only_top, S).set_index("routine").loc["next_step_share"]
    assert np.isnan(row["mean_rest"]) and np.isnan(row["median_rest"])
    assert row["note"] == "4 top producers and 0 others with a value"


def test_routine_comparison_one_value_and_one_other():
    # same_day_follow_up_share known for t1 only: one distinct value, uninformative (it is not "no rep");
    # with no minimum of distinct values or dispersion it is informative and counts in k: touches (all
    # 2.0) too, so k = 6 and level = 1 - 0.05 / 6; it has no other rep: insufficient data
    f = _floor().assign(same_day_follow_up_share=[0.5] + [NAN] * 10)
    row = rt.routine_comparison(f, S).set_index("routine").loc["same_day_follow_up_share"]
    assert row["n_reps"] == 1 and row["label"] == "uninformative" and row["uninformative"]
    lax = replace(S, routines_min_distinct=1, routines_min_dispersion=0.0)
    c = rt.routine_comparison(f, lax).set_index("routine")
    assert c["interval_level"].tolist() == pytest.approx([1 - 0.05 / 6] * 6)
    assert c.loc["same_day_follow_up_share", "note"] == "1 top producers and 0 others with a value"
    # one other rep is enough for an interval: 4 top producers against r1 alone, at confidence 0.5
    # (k = 1, alpha/2 = 0.25 >= P(U <= 0) = 1/5): [smallest, largest] of (0.6..0.9) - 0.0 = [0.6, 0.9]
    g = _floor().iloc[:5].copy()
    for r in rt.ROUTINES[1:]:
        g[r] = NAN
    row = rt.routine_comparison(g, S, confidence=0.5).set_index("routine").loc["call_block_share"]
    assert (row["n_top"], row["n_rest"]) == (4, 1)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((0.6, 0.9))
    assert row["label"] == "differs" and row["better"] == "higher"


def test_routine_comparison_goes_on_after_an_insufficient_routine():
    # call_block_share (the first routine) known for the others only: insufficient; the routines after
    # it are still compared (follow_up_days differs, lower)
    f = _floor().assign(call_block_share=[NAN] * 4 + [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, NAN])
    c = rt.routine_comparison(f, S).set_index("routine")
    assert c.loc["call_block_share", "label"] == "insufficient_data"
    assert c.loc["follow_up_days", "label"] == "differs" and c.loc["follow_up_days", "better"] == "lower"
    assert c.loc["conversation_days_per_week", "label"] == "no_clear_difference"


def test_an_interval_ending_at_zero_is_no_clear_difference():
    # Two informative routines at joint confidence 0.97: level 1 - 0.03 / 2 = 0.985, alpha/2 = 0.0075, and
    # for 4 and 6 values only P(U <= 0) = 1/210 is below it: the interval is [smallest, largest]
    # difference. call_block_share:
    # top (0.5, 0.7, 0.8, 0.9), others (0.0 ... 0.5): smallest 0.5 - 0.5 = 0; follow_up_days: top (1, 2,
    # 3, 5), others (5 ... 10): largest 5 - 5 = 0. An interval touching 0 does not exclude it.
    f = _floor().iloc[:10].copy()
    f["call_block_share"] = [0.5, 0.7, 0.8, 0.9, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    f["follow_up_days"] = [1.0, 2.0, 3.0, 5.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    for r in rt.ROUTINES[2:]:
        f[r] = NAN
    c = rt.routine_comparison(f, S, confidence=0.97).set_index("routine")
    assert c["interval_level"].tolist() == pytest.approx([0.985] * 6)
    assert c.loc["call_block_share", "diff_ci_low"] == 0.0 and c.loc["follow_up_days", "diff_ci_high"] == 0.0
    assert c.loc[["call_block_share", "follow_up_days"], "label"].tolist() == ["no_clear_difference"] * 2
    assert c.loc[["call_block_share", "follow_up_days"], "better"].tolist() == ["", ""]


def test_shift_interval_counts_a_probability_equal_to_half_alpha():
    # one value each: P(U <= 0) = 1/2 exactly; at level 0, alpha/2 = 1/2: u = 0 counts (<=), k = 1 and
    # the interval is the one difference
    assert rt._shift_interval(np.array([1.0]), np.array([0.0]), 0.0) == (1.0, 1.0, 1.0)


def test_top_producer_needs_some_revenue_however_small():
    # at the 0 quantile both are at the threshold; one won 1.0 (some revenue), the other nothing
    f = pd.DataFrame({"team": ["T", "T"], "full_window": [True, True], "attainment": [0.5, 0.5],
                      "won_revenue": [1.0, 0.0]})
    assert rt._top_producers(f, "attainment", 0.0).tolist() == [True, False]


def test_a_deal_created_at_the_window_start_is_judged_for_a_next_step():
    # the window starts at o1's creation instant (5 Jan 09:00): o1, o2 and o3 are judged, 2 in time
    t = rt.routines(_dataset(), "2026-01-05 09:00", END, settings=S).set_index("rep_id")
    assert t.loc["a", "next_step_opportunities"] == 3 and t.loc["a", "next_step_share"] == pytest.approx(2 / 3)


def test_call_blocks_order_the_dials_whatever_the_log_order():
    # the same log read backwards: the runs follow the dials' times, not the rows' order
    ds = replace(_dataset(), activities=ibis.memtable(_activities().iloc[::-1].reset_index(drop=True)))
    b = rt.call_blocks(ds, START, END, min_dials=3, gap_minutes=5).set_index("rep_id")
    assert b.loc["a", ["dials", "block_dials", "call_blocks"]].tolist() == [9, 6, 2]
    d = rt.deal_routines(ds, START, END).set_index("rep_id")
    assert d.loc["d", "follow_up_gaps"] == 4 and d.loc["d", "follow_up_days"] == pytest.approx((3 + 11.5 / 24) / 2)


@pytest.mark.parametrize("engine", [rt.call_blocks, rt.deal_routines])
def test_engine_functions_name_a_bad_date(engine):
    with pytest.raises(ValueError, match=r"^start 'soon' is not a date \(expected YYYY-MM-DD\)$"):
        engine(_dataset(), "soon", END)
    with pytest.raises(ValueError, match=r"^end 'later' is not a date \(expected YYYY-MM-DD\)$"):
        engine(_dataset(), START, "later")
