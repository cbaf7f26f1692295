"""Tests of salesx2lib.scrub written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function, and a module-scoped fixture is
built inside the first test only). The main test pins the whole scrub table of a small
hand-built pipeline, every value worked out by hand in the comments; the others cover
the paths that table does not take (no history, no activities, the current table, the
gate, the stage medians, the flag counts). The survivors left (equivalent mutants) are
listed in docs/mutation.md.

The as-of instant is Saturday 2024-06-01 00:00. Settings are the defaults (forecast
window 30 days, stale activity 14 days, stage duration factor 1.5, amount IQR factor 1.5,
push threshold 2, early stage Prospecting, gate minimum Qualification, required fields
amount and expected_close_date) except ``scrub_min_history = 3``, so that three won deals
are exactly enough.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.scrub import FLAGS, flag_counts, gate, join_reasons, pipeline_state, scrub, stage_durations
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
T = pd.Timestamp
AS_OF = T("2024-06-01")
DATA_AS_OF = T("2024-06-10")  # later: the pipeline of 1 June is rebuilt from the history
SETTINGS = replace(load_settings(), scrub_min_history=3)

# Won deals (all closed before the as-of date unless said otherwise).
# r1: W1..W3 spend 5 days in Prospecting and 10, 20.25, 30 days in Proposal; amounts 10, 100,
# 1000 (log10 1, 2, 3: q1 = 1.5, q3 = 2.5, IQR 1, fences [1.5 - 1.5, 2.5 + 1.5] = [0, 4],
# i.e. amounts 1 to 10,000; middle half 10^1.5 = 31.6 -> "32" to 10^2.5 = 316.2 -> "316").
# W0 is won with amount 0: not a reference amount (amount > 0 only), but its 2 days in
# Prospecting and 3 in Qualification count. r2: X1..X3 won with amounts 1, 100, 100 (log
# 0, 2, 2: q1 = 1, q3 = 2, fences [-0.5, 3.5]). r3 has no won deal.
# Stage medians: Prospecting 7 won deals, 2 and six 5 days -> 5 (limit 7.5); Proposal 3
# deals, 10, 20.25, 30 days -> 20.25 (limit 1.5 x 20.25 = 30.375; the reasons round it to
# 20); Qualification 1 deal (fewer than 3: not used); Negotiation none.
_WON = {
    "W0": ("r1", "won", [("2024-04-01", "Prospecting", 0.0, "2024-04-10"), ("2024-04-03", "Qualification", 0.0, "2024-04-10"),
                         ("2024-04-06", "Closed Won", 0.0, "2024-04-10")]),
    **{
        f"W{i}": ("r1", "won", [("2024-04-01", "Prospecting", a, "2024-05-31"), ("2024-04-06", "Proposal", a, "2024-05-31"),
                                (close, "Closed Won", a, "2024-05-31")])
        for i, (a, close) in enumerate([(10.0, "2024-04-16"), (100.0, "2024-04-26 06:00"), (1000.0, "2024-05-06")], start=1)
    },
    **{
        f"X{i}": ("r2", "won", [("2024-04-01", "Prospecting", a, "2024-04-10"), ("2024-04-06", "Closed Won", a, "2024-04-10")])
        for i, a in enumerate([1.0, 100.0, 100.0], start=1)
    },
    # Lost: neither in the pipeline nor among the reference amounts or stage medians.
    "L1": ("r1", "lost", [("2024-05-01", "Proposal", 5.0, "2024-05-20"), ("2024-05-20", "Closed Lost", 5.0, "2024-05-20")]),
}


def _one(stage: str, amount: float | None, ecd: str | None, created: str = "2024-05-20") -> tuple:
    return ("r1", "open", [(created, stage, amount, ecd)])


_OPEN = {
    # r2 (team A): pushed twice (10 Jun -> 20 Jun -> 20 Jul), 31 days in Negotiation, no activity.
    "R2B": ("r2", "open", [("2024-05-01", "Negotiation", 100.0, "2024-06-10"), ("2024-05-05", "Negotiation", 100.0, "2024-06-20"),
                           ("2024-05-10", "Negotiation", 100.0, "2024-07-20")]),
    "R2A": ("r2", "open", [("2024-05-20", "Negotiation", 100.0, "2024-06-20")]),
    # r1 (team B).
    # Won on 5 June, after the as-of date: open then, 31 days in Proposal (> 30.375), no
    # activity and created 31 days before: stale and quiet; not a won deal for the medians.
    "LATEWIN": ("r1", "won", [("2024-05-01", "Proposal", 50.0, "2024-06-20"), ("2024-06-05", "Closed Won", 50.0, "2024-06-20")]),
    # Pushes: 10 -> 20 Jun (1), 20 -> 15 Jun (pulled in, not a push), 15 -> 25 Jun (2).
    "PUSH2": ("r1", "open", [("2024-05-20", "Qualification", 100.0, "2024-06-10"), ("2024-05-25", "Qualification", 100.0, "2024-06-20"),
                             ("2024-05-28", "Qualification", 100.0, "2024-06-15"), ("2024-05-30", "Qualification", 100.0, "2024-06-25")]),
    "PUSH1": ("r1", "open", [("2024-05-20", "Proposal", 100.0, "2024-06-10"), ("2024-05-20 12:00", "Proposal", 100.0, "2024-06-20")]),
    "PAST": _one("Proposal", 200.0, "2024-05-31", created="2024-05-10"),  # 31 May < 1 Jun; activity at the as-of instant
    "ONDAY": _one("Proposal", 300.0, "2024-06-01", created="2024-05-10"),  # on the as-of day: not past
    "EARLY_BEFORE": _one("Prospecting", 100.0, "2024-05-31", created="2024-05-28"),  # before the window (and past)
    "EARLY_FIRST": _one("Prospecting", 100.0, "2024-06-01", created="2024-05-28"),  # first day of [1 Jun, 1 Jul)
    "EARLY_LAST": _one("Prospecting", 100.0, "2024-06-30", created="2024-05-25"),  # last day; 7 days in stage <= 7.5
    "EARLY_OUT": _one("Prospecting", 100.0, "2024-07-01", created="2024-05-18"),  # after it; 14 days > 7.5: stale
    # 30.375 days in Proposal (= the limit: not stale); last activity 15 days before: quiet.
    "QUIET15": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"),
                               ("2024-05-01 15:00", "Proposal", 100.0, "2024-07-15")]),
    # 29 days in Proposal; last activity exactly 14 days before: not quiet.
    "QUIET14": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"), ("2024-05-03", "Proposal", 100.0, "2024-07-15")]),
    "EDGEHI": _one("Proposal", 10000.0, "2024-07-16"),  # log 4 = upper fence: not an outlier
    "EDGELO": _one("Proposal", 1.0, "2024-07-17"),  # log 0 = lower fence: not an outlier
    "HIGH": _one("Proposal", 20000.0, "2024-07-18"),  # above
    "LOW": _one("Proposal", 0.0, "2024-07-19"),  # log 0 = -inf: below
    "NEG": _one("Proposal", -50.0, "2024-07-20"),  # a negative amount counts as 0: below
    "BARE": _one("Prospecting", None, None, created="2024-05-28"),  # no amount, no expected close date
    # In the current table (Proposal, 100, 15 July) but without a history row: as of a past
    # date nothing is known of it but its creation.
    "NOHIST": _one("Proposal", 100.0, "2024-07-15"),
    # r3 (team B, after r1): no won deal to compare its amount with.
    "R3A": ("r3", "open", [("2024-05-20", "Negotiation", 100.0, "2024-06-20")]),
}
OPPS, HIST = deal_frames({**_WON, **_OPEN})
HIST = HIST.loc[HIST["opportunity_id"] != "NOHIST"].reset_index(drop=True)
REPS = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["B", "A", "B"],
                     "manager": ["M", "M", "M"]}).astype("str")
TEAM = {"r1": "B", "r2": "A", "r3": "B"}
_ACTS = [
    ("PUSH2", "2024-05-31 10:00"), ("PUSH1", "2024-05-31 10:00"), ("ONDAY", "2024-05-31 10:00"), ("R2A", "2024-05-31 10:00"),
    ("PAST", "2024-05-20"), ("PAST", "2024-06-01"), ("PAST", "2024-06-01 00:00:01"),  # the last is after the as-of instant
    ("QUIET15", "2024-05-02"), ("QUIET15", "2024-05-17"), ("QUIET14", "2024-05-18"),
    (None, "2024-05-31 11:00"),  # not tied to a deal
]
ACTIVITIES = pd.DataFrame(
    [(f"a{k}", "r1", when, oid, "email", 0.0) for k, (oid, when) in enumerate(_ACTS)],
    columns=["activity_id", "rep_id", "occurred_at", "opportunity_id", "activity_type", "duration_s"],
).astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})


def _dataset(history: bool = True, activities: bool = True, as_of: pd.Timestamp = DATA_AS_OF,
             opps: pd.DataFrame = OPPS, hist: pd.DataFrame = HIST) -> Dataset:
    tables = {"reps": REPS, "opportunities": opps}
    if history:
        tables["opportunity_history"] = hist
    return Dataset(tables=tables, activities=ibis.memtable(ACTIVITIES) if activities else None, as_of=as_of)


COLUMNS = ["as_of_date", "opportunity_id", "rep_id", "team", "stage", "amount", "expected_close_date", "created_at",
           "days_in_stage", "n_pushes", "last_activity_at", "passes_gate", "gate_reason", *[f"flag_{f}" for f in FLAGS],
           "n_flags", "reasons", "not_checked"]

_PUSHED = "close date pushed {n} times (now {d}): what has to happen for it to close, and who signs?"
_PAST = "expected close date {d} has passed and the deal is still open: close it or give a new date with a reason"
_QUIET = "no activity logged on it in 14+ days (last: {d}): is the buyer still engaged, and what is the next step?"
_STALE = "{n} days in {s} while won deals spent a median {m} days there: what is blocking the next step?"
_AMOUNT = "amount {a} is far from this rep's won deals (middle half 32 to 316): is the amount right?"
_EARLY = "still in Prospecting but expected to close by {d}: can it really close within 30 days?"
_EARLY_GATE = "stage Prospecting is before Qualification"
_R2_NOTE = {"stale_in_stage": "fewer than 3 won deals went through Negotiation"}
_ = None  # a flag that could not be checked (NA)

# One row per open deal, in the order of the opportunities table:
# id, stage, amount, ecd, created, days in stage, pushes, last activity, gate reason ("" = passes),
# flags (pushed, past, quiet, stale, amount, early), {flag: reason}, {flag: why not checked}.
ROWS = [
    ("R2B", "Negotiation", 100.0, "2024-07-20", "2024-05-01", 31.0, 2, None, "", (True, False, True, _, False, False),
     {"pushed": _PUSHED.format(n=2, d="2024-07-20"), "no_recent_activity": _QUIET.format(d="never")}, _R2_NOTE),
    ("R2A", "Negotiation", 100.0, "2024-06-20", "2024-05-20", 12.0, 0, "2024-05-31 10:00", "", (False, False, False, _, False, False),
     {}, _R2_NOTE),
    ("LATEWIN", "Proposal", 50.0, "2024-06-20", "2024-05-01", 31.0, 0, None, "", (False, False, True, True, False, False),
     {"no_recent_activity": _QUIET.format(d="never"), "stale_in_stage": _STALE.format(n=31, s="Proposal", m=20)}, {}),
    ("PUSH2", "Qualification", 100.0, "2024-06-25", "2024-05-20", 12.0, 2, "2024-05-31 10:00", "",
     (True, False, False, _, False, False), {"pushed": _PUSHED.format(n=2, d="2024-06-25")},
     {"stale_in_stage": "fewer than 3 won deals went through Qualification"}),
    ("PUSH1", "Proposal", 100.0, "2024-06-20", "2024-05-20", 12.0, 1, "2024-05-31 10:00", "", (False,) * 6, {}, {}),
    ("PAST", "Proposal", 200.0, "2024-05-31", "2024-05-10", 22.0, 0, "2024-06-01", "", (False, True, False, False, False, False),
     {"past_close_date": _PAST.format(d="2024-05-31")}, {}),
    ("ONDAY", "Proposal", 300.0, "2024-06-01", "2024-05-10", 22.0, 0, "2024-05-31 10:00", "", (False,) * 6, {}, {}),
    ("EARLY_BEFORE", "Prospecting", 100.0, "2024-05-31", "2024-05-28", 4.0, 0, None, _EARLY_GATE,
     (False, True, False, False, False, False), {"past_close_date": _PAST.format(d="2024-05-31")}, {}),
    ("EARLY_FIRST", "Prospecting", 100.0, "2024-06-01", "2024-05-28", 4.0, 0, None, _EARLY_GATE,
     (False, False, False, False, False, True), {"early_stage_in_window": _EARLY.format(d="2024-06-01")}, {}),
    ("EARLY_LAST", "Prospecting", 100.0, "2024-06-30", "2024-05-25", 7.0, 0, None, _EARLY_GATE,
     (False, False, False, False, False, True), {"early_stage_in_window": _EARLY.format(d="2024-06-30")}, {}),
    ("EARLY_OUT", "Prospecting", 100.0, "2024-07-01", "2024-05-18", 14.0, 0, None, _EARLY_GATE,
     (False, False, False, True, False, False), {"stale_in_stage": _STALE.format(n=14, s="Prospecting", m=5)}, {}),
    ("QUIET15", "Proposal", 100.0, "2024-07-15", "2024-05-01", 30.375, 0, "2024-05-17", "",
     (False, False, True, False, False, False), {"no_recent_activity": _QUIET.format(d="2024-05-17")}, {}),
    ("QUIET14", "Proposal", 100.0, "2024-07-15", "2024-05-01", 29.0, 0, "2024-05-18", "", (False,) * 6, {}, {}),
    ("EDGEHI", "Proposal", 10000.0, "2024-07-16", "2024-05-20", 12.0, 0, None, "", (False,) * 6, {}, {}),
    ("EDGELO", "Proposal", 1.0, "2024-07-17", "2024-05-20", 12.0, 0, None, "", (False,) * 6, {}, {}),
    ("HIGH", "Proposal", 20000.0, "2024-07-18", "2024-05-20", 12.0, 0, None, "", (False, False, False, False, True, False),
     {"amount_outlier": _AMOUNT.format(a="20,000")}, {}),
    ("LOW", "Proposal", 0.0, "2024-07-19", "2024-05-20", 12.0, 0, None, "", (False, False, False, False, True, False),
     {"amount_outlier": _AMOUNT.format(a="0")}, {}),
    ("NEG", "Proposal", -50.0, "2024-07-20", "2024-05-20", 12.0, 0, None, "", (False, False, False, False, True, False),
     {"amount_outlier": _AMOUNT.format(a="-50")}, {}),
    ("BARE", "Prospecting", None, None, "2024-05-28", 4.0, 0, None, _EARLY_GATE + "; amount missing; expected_close_date missing",
     (False, _, False, False, _, _), {},
     {"past_close_date": "no expected close date", "amount_outlier": "no amount", "early_stage_in_window": "no expected close date"}),
    ("NOHIST", None, None, None, "2024-05-20", None, None, None, "stage unknown is not an open stage; amount missing; "
     "expected_close_date missing", (_, _, False, _, _, _), {},
     {"pushed": "no history row for this deal by the as-of date", "past_close_date": "no expected close date",
      "stale_in_stage": "fewer than 3 won deals went through this stage", "amount_outlier": "no amount",
      "early_stage_in_window": "no expected close date"}),
    ("R3A", "Negotiation", 100.0, "2024-06-20", "2024-05-20", 12.0, 0, None, "", (False, False, False, _, _, False), {},
     {"stale_in_stage": "fewer than 3 won deals went through Negotiation",
      "amount_outlier": "the rep has fewer than 3 won deals to compare with"}),
]
assert [r[0] for r in ROWS] == list(_OPEN)


def _expected(rows=ROWS, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    """The expected scrub table of ``rows``: reasons and notes joined with "; " in flag order,
    sorted by team, rep, number of flags (most first), expected close date (missing last),
    then the opportunities table's order."""
    rep = {k: v[0] for k, v in {**_WON, **_OPEN}.items()}
    team = TEAM
    pos = {k: i for i, k in enumerate({**_WON, **_OPEN})}

    def key(r):
        n = sum(1 for v in r[9] if v)
        return (team[rep[r[0]]], rep[r[0]], -n, r[3] is None, r[3] or "", pos[r[0]])

    rows = sorted(rows, key=key)
    out = pd.DataFrame({
        "as_of_date": pd.Series([as_of] * len(rows), dtype=US),
        "opportunity_id": pd.array([r[0] for r in rows], dtype="str"),
        "rep_id": pd.array([rep[r[0]] for r in rows], dtype="str"),
        "team": pd.array([team[rep[r[0]]] for r in rows], dtype="str"),
        "stage": pd.array([r[1] for r in rows], dtype="str"),
        "amount": pd.array([np.nan if r[2] is None else r[2] for r in rows], dtype="float64"),
        "expected_close_date": pd.Series([T(r[3]) if r[3] else pd.NaT for r in rows], dtype=US),
        "created_at": pd.Series([T(r[4]) for r in rows], dtype=US),
        "days_in_stage": pd.array([np.nan if r[5] is None else r[5] for r in rows], dtype="float64"),
        "n_pushes": pd.array([r[6] for r in rows], dtype="Int64"),
        "last_activity_at": pd.Series([T(r[7]) if r[7] else pd.NaT for r in rows], dtype=US),
        "passes_gate": np.array([r[8] == "" for r in rows], dtype=bool),
        "gate_reason": pd.array([r[8] for r in rows], dtype="str"),
    })
    for j, f in enumerate(FLAGS):
        out[f"flag_{f}"] = pd.array([r[9][j] for r in rows], dtype="boolean")
    out["n_flags"] = np.array([sum(1 for v in r[9] if v) for r in rows], dtype="int64")
    out["reasons"] = pd.array(["; ".join(r[10][f] for f in FLAGS if f in r[10]) for r in rows], dtype="str")
    out["not_checked"] = pd.array(["; ".join(f"{f}: {r[11][f]}" for f in FLAGS if f in r[11]) for r in rows], dtype="str")
    return out


def test_the_whole_scrub_table_by_hand():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # log10(0) of LOW must stay silent
        out = scrub(_dataset(), AS_OF, SETTINGS)
    assert out.columns.tolist() == COLUMNS
    pd.testing.assert_frame_equal(out, _expected())


def _replace(row: tuple, **changes) -> tuple:
    names = ["id", "stage", "amount", "ecd", "created", "days", "pushes", "last", "gate", "flags", "reasons", "notes"]
    values = dict(zip(names, row, strict=True))
    values.update(changes)
    return tuple(values[n] for n in names)


def _current_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same deals as of the data's own date (LATEWIN left out: it is closed later), with
    ONDAY missing from the history too and PUSH1 moved to Negotiation in the current table only."""
    opps = OPPS.loc[OPPS["opportunity_id"] != "LATEWIN"].reset_index(drop=True)
    opps.loc[opps["opportunity_id"] == "PUSH1", "stage"] = "Negotiation"
    hist = HIST.loc[~HIST["opportunity_id"].isin(["LATEWIN", "ONDAY"])].reset_index(drop=True)
    return opps, hist


def _current_rows() -> list[tuple]:
    rows = []
    for r in ROWS:
        if r[0] == "LATEWIN":
            continue
        if r[0] in ("ONDAY", "NOHIST"):  # no history row: pushes and stage entry unknown
            if r[0] == "NOHIST":  # the current row is known
                r = _replace(r, stage="Proposal", amount=100.0, ecd="2024-07-15", gate="")
            r = _replace(r, days=None, pushes=None, flags=(_, False, False, _, False, False),
                         notes={"pushed": "no history row for this deal by the as-of date",
                                "stale_in_stage": "stage entry date unknown"})
        if r[0] == "PUSH1":  # the history says Proposal: the entry into Negotiation is unknown
            r = _replace(r, stage="Negotiation", days=None, flags=(False, False, False, _, False, False),
                         notes={"stale_in_stage": "fewer than 3 won deals went through Negotiation"})
        rows.append(r)
    return rows


def test_the_current_table_path_takes_pushes_and_stage_entry_from_the_history():
    opps, hist = _current_tables()
    out = scrub(_dataset(as_of=AS_OF, opps=opps, hist=hist), AS_OF, SETTINGS)
    pd.testing.assert_frame_equal(out, _expected(_current_rows()))


def test_without_history_the_history_flags_are_not_checked():
    # The current table only: no pushes, no stage entry (days NaN), pushed and stale NA.
    opps, _hist = _current_tables()
    rows = []
    for r in _current_rows():
        f = r[9]
        notes = {"pushed": "needs the opportunity_history table", "stale_in_stage": "needs the opportunity_history table"}
        notes |= {k: v for k, v in r[11].items() if k not in notes}
        reasons = {k: v for k, v in r[10].items() if k not in ("pushed", "stale_in_stage")}
        rows.append(_replace(r, days=None, pushes=None, flags=(_, f[1], f[2], _, f[4], f[5]), reasons=reasons, notes=notes))
    out = scrub(_dataset(history=False, as_of=AS_OF, opps=opps), AS_OF, SETTINGS)
    pd.testing.assert_frame_equal(out, _expected(rows))


def test_without_activities_the_activity_flag_is_not_checked():
    rows = []
    for r in ROWS:
        f = r[9]
        notes = {**r[11], "no_recent_activity": "needs the activities table"}
        reasons = {k: v for k, v in r[10].items() if k != "no_recent_activity"}
        rows.append(_replace(r, last=None, flags=(f[0], f[1], _, f[3], f[4], f[5]), reasons=reasons, notes=notes))
    out = scrub(_dataset(activities=False), AS_OF, SETTINGS)
    pd.testing.assert_frame_equal(out, _expected(rows))


def _state_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    deals = {
        "A": ("r1", "open", [("2024-05-01", "Prospecting", 10.0, "2024-06-10"), ("2024-05-10", "Proposal", 10.0, "2024-06-20")]),
        "B": ("r1", "won", [("2024-05-01", "Proposal", 20.0, "2024-06-01"), ("2024-06-01", "Closed Won", 20.0, "2024-06-01")]),
        "C": ("r1", "lost", [("2024-05-01", "Proposal", 30.0, "2024-06-01"), ("2024-06-01 00:00:01", "Closed Lost", 30.0, "2024-06-01")]),
        "D": ("r1", "open", [("2024-06-01 00:00:01", "Prospecting", 40.0, "2024-07-01")]),
        "E": ("r1", "open", [("2024-06-01", "Prospecting", 50.0, "2024-07-01")]),
        "F": ("r1", "open", [("2024-05-01", "Proposal", 60.0, "2024-07-01")]),
        "G": ("r2", "open", [("2024-05-01", "Proposal", 70.0, "2024-07-01")]),
    }
    opps, hist = deal_frames(deals)
    opps.loc[opps["opportunity_id"] == "F", "stage"] = "Negotiation"  # the history still says Proposal
    return opps, hist.loc[hist["opportunity_id"] != "G"].reset_index(drop=True)  # G has no history


def test_pipeline_state_at_the_data_date_is_the_current_table_with_history_details():
    opps, hist = _state_tables()
    out = pipeline_state(_dataset(as_of=AS_OF, opps=opps, hist=hist), "2024-06-01")
    # D is created a second after the as-of instant: left out. B closed at the instant: won;
    # C closed a second later: still open then (status and closed_at undone, the current
    # table's stage kept). Pushes and stage entry from the history: A pushed once (10 -> 20
    # June), in Proposal since 10 May; F's current stage disagrees with the history (entry
    # unknown); G has no history row (both unknown).
    expected = pd.DataFrame({
        "opportunity_id": pd.array(["A", "B", "C", "E", "F", "G"], dtype="str"),
        "rep_id": pd.array(["r1"] * 5 + ["r2"], dtype="str"),
        "created_at": pd.Series([T("2024-05-01")] * 3 + [T("2024-06-01")] + [T("2024-05-01")] * 2, dtype=US),
        "amount": [10.0, 20.0, 30.0, 50.0, 60.0, 70.0],
        "stage": pd.array(["Proposal", "Closed Won", "Closed Lost", "Prospecting", "Negotiation", "Proposal"], dtype="str"),
        "status": pd.array(["open", "won", "open", "open", "open", "open"], dtype="str"),
        "expected_close_date": pd.Series([T("2024-06-20"), T("2024-06-01"), T("2024-06-01")] + [T("2024-07-01")] * 3, dtype=US),
        "closed_at": pd.Series([pd.NaT, T("2024-06-01")] + [pd.NaT] * 4, dtype=US),
        "n_pushes": pd.array([1, 0, 0, 0, 0, None], dtype="Int64"),
        "stage_entered_at": pd.Series([T("2024-05-10"), T("2024-06-01"), pd.NaT, T("2024-06-01"), pd.NaT, pd.NaT], dtype=US),
    })
    pd.testing.assert_frame_equal(out, expected)
    # Without an as-of date, the weekly rule's: data ending Saturday 1 June gives Monday 27
    # May 00:00, rebuilt from the history (E, created 1 June, is not there yet).
    past = pipeline_state(_dataset(as_of=AS_OF, opps=opps, hist=hist))
    assert past["as_of_date"].unique().tolist() == [T("2024-05-27")]
    assert past["opportunity_id"].tolist() == ["A", "B", "C", "F", "G"]


def test_pipeline_state_before_the_data_date_without_history_is_refused_with_both_dates():
    opps, _hist = _state_tables()
    ds = _dataset(history=False, as_of=T("2024-06-01 12:30"), opps=opps)
    msg = ("needs the opportunity_history table (opportunity_history.csv or opportunity_history.parquet), which this "
           "dataset does not have (to rebuild the pipeline as of 2024-05-31 08:15, before the data's own date "
           "2024-06-01 12:30; give that date as the as-of to use the current pipeline)")
    with pytest.raises(MissingTableError) as err:
        pipeline_state(ds, "2024-05-31 08:15")
    assert str(err.value) == msg
    with pytest.raises(MissingTableError) as err:
        scrub(ds, "2024-05-31 08:15", SETTINGS)
    assert str(err.value) == msg
    # At or after the data's own date the current table serves without history (D, created
    # at 00:00:01, is in by 12:30); pushes and stage entry are unknown.
    state = pipeline_state(ds, "2024-06-01 12:30")
    assert state.columns.tolist() == [*opps.columns, "n_pushes", "stage_entered_at"]
    assert state["opportunity_id"].tolist() == ["A", "B", "C", "D", "E", "F", "G"]
    assert state.index.tolist() == list(range(7))
    pd.testing.assert_series_equal(state["n_pushes"], pd.Series([pd.NA] * 7, dtype="Int64", name="n_pushes"))
    pd.testing.assert_series_equal(state["stage_entered_at"], pd.Series([pd.NaT] * 7, dtype=US, name="stage_entered_at"))


def test_gate_says_every_failed_condition_in_order():
    ecd = T("2024-07-01")
    snap = pd.DataFrame(
        {
            "stage": pd.array(["Negotiation", "Qualification", "Prospecting", "Closed Won", None, "Proposal", "Proposal", "Foo"],
                              dtype="str"),
            "amount": [1.0, 1.0, None, 1.0, None, None, 1.0, 1.0],
            "expected_close_date": pd.Series([ecd, ecd, ecd, ecd, pd.NaT, pd.NaT, pd.NaT, ecd], dtype=US).to_numpy(),
        },
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )
    expected = pd.DataFrame(
        {
            "passes_gate": [True, True, False, False, False, False, False, False],
            "gate_reason": pd.array([
                "",
                "",  # the minimum stage itself passes
                "stage Prospecting is before Qualification; amount missing",
                "stage Closed Won is not an open stage",
                "stage unknown is not an open stage; amount missing; expected_close_date missing",
                "amount missing; expected_close_date missing",
                "expected_close_date missing",
                "stage Foo is not an open stage",
            ], dtype="str"),
        },
        index=snap.index,
    )
    pd.testing.assert_frame_equal(gate(snap, SETTINGS), expected)
    # The fields are checked in the order the settings give them.
    swapped = replace(SETTINGS, gate_required_fields=("expected_close_date", "amount"))
    assert gate(snap, swapped)["gate_reason"].tolist()[4:6] == [
        "stage unknown is not an open stage; expected_close_date missing; amount missing",
        "expected_close_date missing; amount missing",
    ]
    # A higher minimum stage: Qualification now fails, Proposal passes.
    later = gate(snap, replace(SETTINGS, gate_minimum_stage="Proposal"))
    assert later["passes_gate"].tolist() == [True, False, False, False, False, False, False, False]
    assert later["gate_reason"].iloc[1] == "stage Qualification is before Proposal"
    with pytest.raises(ValueError) as err:
        gate(snap, replace(SETTINGS, gate_required_fields=("amount", "account_id", "owner")))
    assert str(err.value) == "gate.required_fields names 'account_id', which the opportunities table does not have"


def _duration_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    deals = {
        # Prospecting 1 -> 6 Apr (5 days; the 3 Apr row is the same run), Proposal 6 -> 10 and
        # 12 -> 20 Apr (4 + 8 = 12 days), Negotiation 10 -> 12 Apr (2 days).
        "V1": ("r1", "won", [("2024-04-01", "Prospecting", 1.0, "2024-05-01"), ("2024-04-03", "Prospecting", 2.0, "2024-05-01"),
                             ("2024-04-06", "Proposal", 2.0, "2024-05-01"), ("2024-04-10", "Negotiation", 2.0, "2024-05-01"),
                             ("2024-04-12", "Proposal", 2.0, "2024-05-01"), ("2024-04-20", "Closed Won", 2.0, "2024-05-01")]),
        "V2": ("r1", "won", [("2024-04-01", "Proposal", 1.0, "2024-05-01"), ("2024-04-05", "Closed Won", 1.0, "2024-05-01")]),  # 4
        "V3": ("r1", "won", [("2024-04-01", "Proposal", 1.0, "2024-05-01"), ("2024-04-27", "Closed Won", 1.0, "2024-05-01")]),  # 26
        # Won at the as-of instant: counts (Qualification 10 days; Negotiation 0 days, entered
        # at the very instant it closed, still counts as a passage).
        "V4": ("r1", "won", [("2024-04-21", "Qualification", 1.0, "2024-05-01"), ("2024-05-01", "Negotiation", 1.0, "2024-05-01"),
                             ("2024-05-01", "Closed Won", 1.0, "2024-05-01")]),
        # Won a second after it, lost, open, or in a stage outside the order: do not count.
        "V5": ("r1", "won", [("2024-04-01", "Proposal", 1.0, "2024-05-01"), ("2024-05-01 00:00:01", "Closed Won", 1.0, "2024-05-01")]),
        "V6": ("r1", "lost", [("2024-04-01", "Proposal", 1.0, "2024-05-01"), ("2024-04-02", "Closed Lost", 1.0, "2024-05-01")]),
        "V7": ("r1", "open", [("2024-04-01", "Proposal", 1.0, "2024-05-01")]),
        "V8": ("r1", "won", [("2024-04-01", "Discovery", 1.0, "2024-05-01"), ("2024-04-03", "Closed Won", 1.0, "2024-05-01")]),
        # Last in the table, its history has no closing row: Proposal until the close on 11 April (10 days).
        "V9": ("r1", "won", [("2024-04-01", "Proposal", 1.0, "2024-05-01")]),
    }
    opps, hist = deal_frames(deals)
    opps.loc[opps["opportunity_id"] == "V9", "closed_at"] = T("2024-04-11")
    return opps, hist


def test_stage_durations_whole_table_by_hand():
    opps, hist = _duration_tables()
    # Proposal: V1 12, V2 4, V3 26, V9 10 -> median (10 + 12) / 2 = 11 (the mean would be 13);
    # Prospecting V1 5; Qualification V4 10; Negotiation V1 2, V4 0 -> median 1.
    expected = pd.DataFrame({
        "stage": pd.array(["Prospecting", "Qualification", "Proposal", "Negotiation"], dtype="str"),
        "n_won": np.array([1, 1, 4, 2], dtype="int64"),
        "median_days": [5.0, 10.0, 11.0, 1.0],
    })
    out = stage_durations(opps, hist, T("2024-05-01"), SETTINGS)
    pd.testing.assert_frame_equal(out, expected)
    # Earlier, only V2 (won 5 April) is in: the other stages have no won deal.
    early = stage_durations(opps, hist, T("2024-04-05"), SETTINGS)
    pd.testing.assert_frame_equal(early, pd.DataFrame({
        "stage": pd.array(["Prospecting", "Qualification", "Proposal", "Negotiation"], dtype="str"),
        "n_won": np.array([0, 0, 1, 0], dtype="int64"),
        "median_days": [np.nan, np.nan, 4.0, np.nan],
    }))


def test_stage_durations_ignore_time_after_the_close():
    # Closed on 3 April, yet a Negotiation row dated 5 April: Proposal 1 -> 5 April (4 days);
    # the Negotiation run would last -2 days and is left out.
    opps, hist = deal_frames({"U": ("r1", "won", [("2024-04-01", "Proposal", 1.0, "2024-05-01"),
                                                  ("2024-04-05", "Negotiation", 1.0, "2024-05-01")])})
    opps["closed_at"] = pd.Series([T("2024-04-03")], dtype=US)
    out = stage_durations(opps, hist, T("2024-05-01"), SETTINGS)
    pd.testing.assert_frame_equal(out, pd.DataFrame({
        "stage": pd.array(["Prospecting", "Qualification", "Proposal", "Negotiation"], dtype="str"),
        "n_won": np.array([0, 0, 1, 0], dtype="int64"),
        "median_days": [np.nan, np.nan, 4.0, np.nan],
    }))


def test_join_reasons_skips_empty_and_missing_pieces():
    index = pd.Index([7, 3, 5, 9])
    parts = [
        pd.Series(["a", "", None, "b"], index=index, dtype="str"),
        pd.Series(["c", "d", None, ""], index=index, dtype="str"),
        pd.Series([None, "e", "", "f"], index=index, dtype="str"),
    ]
    out = join_reasons(parts, index)
    pd.testing.assert_series_equal(out, pd.Series(["a; c", "d; e", "", "b; f"], index=index, dtype="str"))
    pd.testing.assert_series_equal(join_reasons([], index), pd.Series([""] * 4, index=index, dtype="str"))


def test_flag_counts_whole_table_by_hand():
    na = None
    rows = [  # team, rep, then the six flags in FLAGS order
        ("B", "r1", (True, False, na, True, na, False)),
        ("B", "r1", (True, True, na, False, na, na)),
        ("A", "r2", (False, na, na, na, na, na)),
    ]
    scrubbed = pd.DataFrame({"opportunity_id": ["o1", "o2", "o3"], "team": [r[0] for r in rows], "rep_id": [r[1] for r in rows]})
    for j, f in enumerate(FLAGS):
        scrubbed[f"flag_{f}"] = pd.array([r[2][j] for r in rows], dtype="boolean")
    out = flag_counts(scrubbed)
    # r2 (team A) first; per rep the flags in FLAGS order. n = Trues, n_open = deals,
    # checked = at least one deal not NA.
    expected = pd.DataFrame({
        "team": pd.array(["A"] * 6 + ["B"] * 6, dtype="str"),
        "rep_id": pd.array(["r2"] * 6 + ["r1"] * 6, dtype="str"),
        "flag": pd.array(list(FLAGS) * 2, dtype="str"),
        "n": np.array([0, 0, 0, 0, 0, 0, 2, 1, 0, 1, 0, 0], dtype="int64"),
        "n_open": np.array([1] * 6 + [2] * 6, dtype="int64"),
        "checked": [True, False, False, False, False, False, True, True, False, True, False, True],
    })
    pd.testing.assert_frame_equal(out, expected)


def test_scrub_defaults_to_the_weekly_as_of_and_the_default_settings():
    # Data ending Saturday 1 June 12:00: the weekly rule scrubs as of Monday 27 May 00:00
    # (after the latest complete week), from the history. By then PUSH2 was pushed once
    # (25 May), and the deals created on 28 May did not exist yet. The default settings
    # ask for 5 won deals per stage and per rep: 3 through Proposal and 3 won amounts of r1
    # are too few, so those flags are NA.
    out = scrub(_dataset(as_of=T("2024-06-01 12:00"))).set_index("opportunity_id")
    assert (out["as_of_date"] == T("2024-05-27")).all()
    assert sorted(out.index) == sorted(set(_OPEN) - {"EARLY_BEFORE", "EARLY_FIRST", "BARE"})
    assert out.loc["PUSH2", "n_pushes"] == 1 and not out.loc["PUSH2", "flag_pushed"]
    assert pd.isna(out.loc["HIGH", "flag_amount_outlier"]) and pd.isna(out.loc["HIGH", "flag_stale_in_stage"])
    assert out.loc["HIGH", "not_checked"] == ("stale_in_stage: fewer than 5 won deals went through Proposal; "
                                              "amount_outlier: the rep has fewer than 5 won deals to compare with")


def test_no_open_deal_gives_an_empty_table_with_the_documented_dtypes():
    # On 1 March no deal exists yet.
    out = scrub(_dataset(), "2024-03-01", SETTINGS)
    pd.testing.assert_frame_equal(out, _expected([], as_of=T("2024-03-01")))


def test_a_rep_without_won_deals_is_not_judged_even_when_one_is_enough():
    # min_history = 1: r1's single won deal (B, 20) is enough, r2 (G) has none: NA, not False.
    opps, _hist = _state_tables()
    ds = _dataset(history=False, as_of=T("2024-06-01 12:30"), opps=opps)
    out = scrub(ds, "2024-06-01 12:30", replace(SETTINGS, scrub_min_history=1)).set_index("opportunity_id")
    assert pd.isna(out.loc["G", "flag_amount_outlier"])
    assert "amount_outlier: the rep has fewer than 1 won deals to compare with" in out.loc["G", "not_checked"]
    # Fences of one amount are that amount: 10, 40, 50 and 60 are all outside.
    assert out.loc[["A", "D", "E", "F"], "flag_amount_outlier"].tolist() == [True] * 4
