"""Tests of salesx2lib.waterfall written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function). One small week, S = Monday
16 November 2026 00:00 to E = Monday 23 November, period Q4 2026: the whole waterfall
(levels included) and the whole deal table are written out by hand below. The survivors
left (equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import pandas as pd
import pytest

from salesx2lib import waterfall as wf
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

from conftest import deal_frames

SETTINGS = load_settings()
US = "datetime64[us]"
S, E = pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-23")
OLD = "2026-10-05 10:00"

REPS = pd.DataFrame(
    {"rep_id": ["R1", "R2", "R3"], "rep_name": ["A", "B", "C"], "team": ["North", "South", "East"], "manager": ["M", "M", "M"]}
).astype("str")

DEALS: dict[str, tuple[str, str, list[tuple]]] = {
    # North (R1)
    "A1": ("R1", "open", [(OLD, "Proposal", 1000.0, "2026-12-10"), ("2026-11-17 10:00", "Negotiation", 1250.25, "2026-12-10")]),
    "A2": ("R1", "open", [(OLD, "Proposal", 500.0, "2026-12-10"), ("2026-11-18 10:00", "Proposal", 500.0, None)]),
    "A3": ("R1", "won", [("2026-11-17 09:00", "Proposal", 300.0, "2026-12-01"), ("2026-11-19 09:00", "Closed Won", 300.0, "2026-11-19")]),
    "A8": ("R1", "open", [(OLD, "Proposal", 200.0, "2026-12-10"), ("2026-11-19 10:00", "Proposal", 200.0, "2027-02-01")]),
    "A9": ("R1", "open", [(OLD, "Proposal", 200.0, "2026-12-10"), ("2026-11-19 10:00", "Proposal", 200.0, "2027-02-01")]),
    # South (R2)
    "A4": ("R2", "lost", [(OLD, "Proposal", 800.0, "2026-12-15"), ("2026-11-20 10:00", "Closed Lost", 700.0, "2026-11-20")]),
    "A5": ("R2", "open", [(OLD, "Proposal", 400.0, "2027-01-15"), ("2026-11-18 10:00", "Proposal", 400.0, "2026-12-05")]),
    "A6": ("R2", "open", [(OLD, "Proposal", 2000.0, "2026-12-01")]),
    "A7": ("R2", "open", [("2026-11-18 10:00", "Prospecting", 50.5, "2026-12-20")]),
}

# Per team and step: (signed amount, n_deals, level_before, level_after), by hand.
# North: start A1 1000 + A2 500 + A8 200 + A9 200 = 1900; new A3 300; pushed_out A2 500 + A8 200
# + A9 200 = 900; amount_up A1 1250.25 - 1000 = 250.25; won A3 300; end A1 1250.25.
# 1900 + 300 - 900 + 250.25 - 300 = 1250.25.
# South: start A4 800 + A6 2000 = 2800; new A7 50.5; pulled_in A5 400; amount_down A4 800 - 700 = 100;
# lost A4 700; end A5 400 + A6 2000 + A7 50.5 = 2450.5. 2800 + 50.5 + 400 - 100 - 700 = 2450.5.
WANT = {
    "East": [(0, 0, 0, 0)] * 9,
    "North": [(1900, 4, 0, 1900), (300, 1, 1900, 2200), (0, 0, 2200, 2200), (-900, 3, 2200, 1300),
              (250.25, 1, 1300, 1550.25), (0, 0, 1550.25, 1550.25), (-300, 1, 1550.25, 1250.25),
              (0, 0, 1250.25, 1250.25), (1250.25, 1, 0, 1250.25)],
    "South": [(2800, 2, 0, 2800), (50.5, 1, 2800, 2850.5), (400, 1, 2850.5, 3250.5), (0, 0, 3250.5, 3250.5),
              (0, 0, 3250.5, 3250.5), (-100, 1, 3250.5, 3150.5), (0, 0, 3150.5, 3150.5), (-700, 1, 3150.5, 2450.5),
              (2450.5, 3, 0, 2450.5)],
    # all = North + South: 4700; +350.5; +400; -900; +250.25; -100; -300; -700; end 3700.75.
    "all": [(4700, 6, 0, 4700), (350.5, 2, 4700, 5050.5), (400, 1, 5050.5, 5450.5), (-900, 3, 5450.5, 4550.5),
            (250.25, 1, 4550.5, 4800.75), (-100, 1, 4800.75, 4700.75), (-300, 1, 4700.75, 4400.75),
            (-700, 1, 4400.75, 3700.75), (3700.75, 4, 0, 3700.75)],
}
STEP_ORDER = ["start", "new", "pulled_in", "pushed_out", "amount_up", "amount_down", "won", "lost", "end"]


def _dataset() -> Dataset:
    opps, hist = deal_frames(DEALS)
    return Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist}, activities=None,
                   as_of=pd.Timestamp("2026-11-25 12:00"))


def test_whole_waterfall_with_levels_by_hand() -> None:
    out = wf.waterfall(_dataset(), E, SETTINGS)
    assert list(out.columns) == list(wf.WATERFALL_COLUMNS)
    assert out.index.tolist() == list(range(36))
    assert out["team"].tolist() == [t for t in ["East", "North", "South", "all"] for _ in range(9)]
    assert out["step"].tolist() == STEP_ORDER * 4
    got = list(zip(out["amount"], out["n_deals"], out["level_before"], out["level_after"], strict=True))
    want = [row for team in ["East", "North", "South", "all"] for row in WANT[team]]
    assert got == [tuple(float(x) if i != 1 else x for i, x in enumerate(w)) for w in want]
    assert out.dtypes.astype(str).tolist() == ["str", US, US, US, US, "str", "float64", "int64", "float64", "float64"]
    assert (out["from_date"] == S).all() and (out["to_date"] == E).all()
    assert (out["period_start"] == pd.Timestamp("2026-10-01")).all() and (out["period_end"] == pd.Timestamp("2026-12-31")).all()


# The deal table, by hand: sorted by team (East has none, North, South), step in the waterfall's
# order, largest amount first, then the deal id.
DEAL_ROWS = [
    ("North", "A3", "new", 300.0, "created 2026-11-17, expected to close 2026-11-19, amount 300"),
    ("North", "A2", "pushed_out", -500.0, "expected close 2026-12-10 -> none (out of the period)"),
    ("North", "A8", "pushed_out", -200.0, "expected close 2026-12-10 -> 2027-02-01 (out of the period)"),
    ("North", "A9", "pushed_out", -200.0, "expected close 2026-12-10 -> 2027-02-01 (out of the period)"),
    ("North", "A1", "amount_up", 250.25, "amount 1,000 -> 1,250.25"),
    ("North", "A3", "won", -300.0, "closed won 2026-11-19 at 300"),
    ("South", "A7", "new", 50.5, "created 2026-11-18, expected to close 2026-12-20, amount 50.50"),
    ("South", "A5", "pulled_in", 400.0, "expected close 2027-01-15 -> 2026-12-05 (into the period)"),
    ("South", "A4", "amount_down", -100.0, "amount 800 -> 700"),
    ("South", "A4", "lost", -700.0, "closed lost 2026-11-20 at 700"),
]


def test_whole_deal_table_by_hand() -> None:
    deals = wf.waterfall_deals(_dataset(), E, SETTINGS)
    assert list(deals.columns) == list(wf.WATERFALL_DEAL_COLUMNS)
    assert deals.index.tolist() == list(range(len(DEAL_ROWS)))
    got = list(zip(deals["team"], deals["opportunity_id"], deals["step"], deals["amount"], deals["explanation"], strict=True))
    assert got == DEAL_ROWS
    assert (deals["from_date"] == S).all() and (deals["to_date"] == E).all()
    assert (deals["period_start"] == pd.Timestamp("2026-10-01")).all() and (deals["period_end"] == pd.Timestamp("2026-12-31")).all()
    a4 = deals.loc[deals["step"] == "amount_down"].iloc[0]
    assert (a4.rep_id, a4.stage_start, a4.stage_end, a4.amount_start, a4.amount_end) == ("R2", "Proposal", "Closed Lost", 800.0, 700.0)
    assert (a4.expected_close_start, a4.expected_close_end) == (pd.Timestamp("2026-12-15"), pd.Timestamp("2026-11-20"))
    assert (a4.status_end, a4.created_at, a4.closed_at) == ("lost", pd.Timestamp(OLD), pd.Timestamp("2026-11-20 10:00"))
    a2 = deals.loc[deals["opportunity_id"] == "A2"].iloc[0]
    assert a2.status_end == "open" and pd.isna(a2.expected_close_end) and pd.isna(a2.closed_at)
    assert a2.expected_close_start == pd.Timestamp("2026-12-10")
    dtypes = deals.dtypes.astype(str).to_dict()
    assert {k: dtypes[k] for k in ["team", "rep_id", "opportunity_id", "step", "amount", "explanation", "from_date", "to_date",
                                   "period_start", "period_end"]} == {
        "team": "str", "rep_id": "str", "opportunity_id": "str", "step": "str", "amount": "float64", "explanation": "str",
        "from_date": US, "to_date": US, "period_start": US, "period_end": US}


def test_a_one_day_period_and_times_in_the_period_bounds() -> None:
    # Period 10 December only (the times of day are dropped): at S, A1, A2, A8 and A9 (North)
    # expect to close on 10 December: start 1000 + 500 + 200 + 200 = 1900; South has none.
    out = wf.waterfall(_dataset(), E, SETTINGS, period_start="2026-12-10 15:00", period_end="2026-12-10 08:00")
    assert (out["period_start"] == pd.Timestamp("2026-12-10")).all() and (out["period_end"] == pd.Timestamp("2026-12-10")).all()
    start = out.loc[out["step"] == "start"].set_index("team")
    assert start["amount"].to_dict() == {"East": 0.0, "North": 1900.0, "South": 0.0, "all": 1900.0}
    # At E only A1 (1,250.25) is still expected on 10 December; A2, A8, A9 were pushed out.
    end = out.loc[(out["team"] == "all") & (out["step"] == "end")].iloc[0]
    assert (end["amount"], end["n_deals"]) == (1250.25, 1)


def test_a_start_two_weeks_back() -> None:
    # From Monday 9 November: the same moves (all in the second week) as from S; the
    # from_date is the given start.
    out = wf.waterfall(_dataset(), E, SETTINGS, start="2026-11-09")
    assert (out["from_date"] == pd.Timestamp("2026-11-09")).all()
    rows = out.loc[out["team"] == "all"].set_index("step")
    assert rows["amount"].tolist() == [w[0] for w in WANT["all"]]


def test_refusals_say_what_is_wrong() -> None:
    ds = _dataset()
    with pytest.raises(ValueError, match=r"^start 2026-11-23 00:00:00 must be before the as-of instant 2026-11-23 00:00:00$"):
        wf.waterfall(ds, E, SETTINGS, start="2026-11-23")
    with pytest.raises(ValueError, match=r"^start 2026-11-24 00:00:00 must be before"):
        wf.waterfall_deals(ds, E, SETTINGS, start="2026-11-24")
    with pytest.raises(ValueError, match=r"^period end 2026-11-30 is before period start 2026-12-01$"):
        wf.waterfall(ds, E, SETTINGS, period_start="2026-12-01", period_end="2026-11-30")
    with pytest.raises(ValueError, match=r"^period must be 'quarter' or 'month', not 'year'$"):
        wf.pipeline_period(E, "year")


def test_pipeline_period_month_edges() -> None:
    # The week ending Monday 1 December 00:00 is November's (its Sunday is 30 November).
    assert wf.pipeline_period("2026-12-01", "month") == (pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-30"))
    assert wf.pipeline_period("2026-12-01 00:00:00.000001", "month") == (pd.Timestamp("2026-12-01"), pd.Timestamp("2026-12-31"))
    start, end = wf.pipeline_period("2026-11-23")
    assert (start.unit, end.unit) == ("us", "us")


def test_unreadable_dates_are_named_in_the_message() -> None:
    ds = _dataset()
    with pytest.raises(ValueError, match=r"^date 'soon' is not a date \(expected YYYY-MM-DD\)$"):
        wf.pipeline_period("soon")
    with pytest.raises(ValueError, match=r"^start 'soon' is not a date \(expected YYYY-MM-DD\)$"):
        wf.waterfall(ds, E, SETTINGS, start="soon")
    with pytest.raises(ValueError, match=r"^period start 'soon' is not a date \(expected YYYY-MM-DD\)$"):
        wf.waterfall(ds, E, SETTINGS, period_start="soon")
    with pytest.raises(ValueError, match=r"^period end 'soon' is not a date \(expected YYYY-MM-DD\)$"):
        wf.waterfall(ds, E, SETTINGS, period_end="soon")


def test_a_one_cent_rise_and_the_largest_move_first() -> None:
    # C1 rises by one cent (100.00 -> 100.01); P1 (100) and P2 (300) are pushed out: in the deal
    # table P2 comes first (larger amount) although its id sorts after P1's.
    deals = {
        "C1": ("R1", "open", [(OLD, "Proposal", 100.0, "2026-12-10"), ("2026-11-17 10:00", "Proposal", 100.01, "2026-12-10")]),
        "P1": ("R1", "open", [(OLD, "Proposal", 100.0, "2026-12-10"), ("2026-11-17 10:00", "Proposal", 100.0, "2027-01-10")]),
        "P2": ("R1", "open", [(OLD, "Proposal", 300.0, "2026-12-10"), ("2026-11-17 10:00", "Proposal", 300.0, "2027-01-10")]),
    }
    opps, hist = deal_frames(deals)
    ds = Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist}, activities=None,
                 as_of=pd.Timestamp("2026-11-25 12:00"))
    out = wf.waterfall(ds, E, SETTINGS).set_index(["team", "step"])
    assert (out.loc[("all", "amount_up"), "amount"], out.loc[("all", "amount_up"), "n_deals"]) == (0.01, 1)
    table = wf.waterfall_deals(ds, E, SETTINGS)
    assert list(zip(table["opportunity_id"], table["step"], table["amount"], strict=True)) == [
        ("P2", "pushed_out", -300.0), ("P1", "pushed_out", -100.0), ("C1", "amount_up", 0.01)]
    assert table["explanation"].iloc[2] == "amount 100 -> 100.01"


def test_the_deal_table_follows_the_period_and_the_settings() -> None:
    # November only (month setting, or the same period given): at S no deal of this floor is
    # expected in November; in the week A3 (created in it) and A4 (created before S) close with a
    # close date in November: A3 is new then won, A4 pulled in then lost, at their end amounts.
    ds = _dataset()
    month = type(SETTINGS)(**dict(__import__("dataclasses").asdict(SETTINGS), forecast_waterfall_period="month"))
    by_setting = wf.waterfall_deals(ds, E, month)
    given = wf.waterfall_deals(ds, E, SETTINGS, period_start="2026-11-01", period_end="2026-11-30")
    for t in (by_setting, given):
        assert list(zip(t["opportunity_id"], t["step"], t["amount"], strict=True)) == [
            ("A3", "new", 300.0), ("A3", "won", -300.0), ("A4", "pulled_in", 700.0), ("A4", "lost", -700.0)]
        assert (t["period_start"] == pd.Timestamp("2026-11-01")).all() and (t["period_end"] == pd.Timestamp("2026-11-30")).all()
