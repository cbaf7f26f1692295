"""Date edges of the gate and the scrub: a deal on each edge, a day (or a second) before and after.

Every expected value below is written out by hand from the rule in the scrub's docstring;
nothing is computed with the library. The as-of instant is Saturday 2024-06-01 00:00 and the
data's own date is later (2024-06-10), so the pipeline is rebuilt from the history (the
same path the weekly backtests take); one test checks the current-table path.

Settings used (the defaults): forecast window 30 days, stale activity 14 days, stage
duration factor 1.5, min history 5 won deals, push threshold 2, early stage Prospecting,
gate minimum stage Qualification.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset
from salesx2lib.scrub import gate, scrub, stage_durations
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-06-01")
DATA_AS_OF = pd.Timestamp("2024-06-10")
SETTINGS = load_settings()

# Five won deals: 5 days in Prospecting, 10 days in Proposal -> median 10, stale limit 15 days.
WON = {
    f"W{i}": ("r1", "won", [(f"2024-04-0{i}", "Prospecting", 100.0, "2024-04-30"),
                            (f"2024-04-{i + 5:02d}", "Proposal", 100.0, "2024-04-30"),
                            (f"2024-04-{i + 15:02d}", "Closed Won", 100.0, "2024-04-30")])
    for i in range(1, 6)
}


def _open(stage: str, ecd: str | None, created: str = "2024-05-01") -> tuple:
    return ("r1", "open", [(created, stage, 100.0, ecd)])


DEALS = {
    **WON,
    # past_close_date: expected close date strictly before the as-of day.
    "PC_before": _open("Proposal", "2024-05-31"),
    "PC_on": _open("Proposal", "2024-06-01"),
    "PC_after": _open("Proposal", "2024-06-02"),
    # early_stage_in_window: Prospecting and ecd in [1 Jun, 1 Jun + 30 days) = [1 Jun, 30 Jun].
    "EW_day_before": _open("Prospecting", "2024-05-31"),
    "EW_first_day": _open("Prospecting", "2024-06-01"),
    "EW_second_day": _open("Prospecting", "2024-06-02"),
    "EW_day_before_last": _open("Prospecting", "2024-06-29"),
    "EW_last_day": _open("Prospecting", "2024-06-30"),
    "EW_day_after": _open("Prospecting", "2024-07-01"),
    # stale_in_stage: days in Proposal > 1.5 x 10 = 15.
    "ST_14": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"), ("2024-05-18", "Proposal", 100.0, "2024-07-15")]),
    "ST_15": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"), ("2024-05-17", "Proposal", 100.0, "2024-07-15")]),
    "ST_16": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"), ("2024-05-16", "Proposal", 100.0, "2024-07-15")]),
    "ST_15_plus_1s": ("r1", "open", [("2024-05-01", "Qualification", 100.0, "2024-07-15"),
                                     ("2024-05-16 23:59:59", "Proposal", 100.0, "2024-07-15")]),
    # no_recent_activity: as_of - last activity > 14 days, and as_of - created_at > 14 days.
    "NA_13": _open("Proposal", "2024-07-15"),
    "NA_14": _open("Proposal", "2024-07-15"),
    "NA_15": _open("Proposal", "2024-07-15"),
    "NA_at_as_of": _open("Proposal", "2024-07-15"),
    "NA_just_after": _open("Proposal", "2024-07-15"),
    "YOUNG_13": _open("Proposal", "2024-07-15", created="2024-05-19"),
    "YOUNG_14": _open("Proposal", "2024-07-15", created="2024-05-18"),
    "YOUNG_15": _open("Proposal", "2024-07-15", created="2024-05-17"),
    # pushed: n_pushes >= 2, counting only history rows up to the as-of instant.
    "PU_1": ("r1", "open", [("2024-05-01", "Proposal", 100.0, "2024-07-01"), ("2024-05-10", "Proposal", 100.0, "2024-07-10")]),
    "PU_2_on_as_of": ("r1", "open", [("2024-05-01", "Proposal", 100.0, "2024-07-01"), ("2024-05-10", "Proposal", 100.0, "2024-07-10"),
                                     ("2024-06-01", "Proposal", 100.0, "2024-07-20")]),
    "PU_2_after_as_of": ("r1", "open", [("2024-05-01", "Proposal", 100.0, "2024-07-01"), ("2024-05-10", "Proposal", 100.0, "2024-07-10"),
                                        ("2024-06-01 00:00:01", "Proposal", 100.0, "2024-07-20")]),
    # creation and close at the as-of instant (lost deals do not touch the won medians).
    "CR_on": _open("Proposal", "2024-07-15", created="2024-06-01"),
    "CR_after": _open("Proposal", "2024-07-15", created="2024-06-01 00:00:01"),
    "CL_on": ("r1", "lost", [("2024-05-01", "Proposal", 100.0, "2024-07-15"), ("2024-06-01", "Closed Lost", 100.0, "2024-07-15")]),
    "CL_after": ("r1", "lost", [("2024-05-01", "Proposal", 100.0, "2024-07-15"), ("2024-06-01 00:00:01", "Closed Lost", 100.0, "2024-07-15")]),
}
OPPS, HIST = deal_frames(DEALS)
REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")

_ACTS = [
    ("NA_13", "2024-05-19"), ("NA_14", "2024-05-18"), ("NA_15", "2024-05-17"),
    ("NA_at_as_of", "2024-05-01"), ("NA_at_as_of", "2024-06-01"),
    ("NA_just_after", "2024-05-01"), ("NA_just_after", "2024-06-01 00:00:01"),
]
ACTIVITIES = pd.DataFrame(
    [(f"a{k}", "r1", when, oid, "email", 0.0) for k, (oid, when) in enumerate(_ACTS)],
    columns=["activity_id", "rep_id", "occurred_at", "opportunity_id", "activity_type", "duration_s"],
).astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})


def _dataset(as_of: pd.Timestamp = DATA_AS_OF) -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS, "opportunity_history": HIST},
                   activities=ibis.memtable(ACTIVITIES), as_of=as_of)


@pytest.fixture(scope="module")
def scrubbed() -> pd.DataFrame:
    return scrub(_dataset(), AS_OF, SETTINGS).set_index("opportunity_id")


def _flag(scrubbed: pd.DataFrame, oid: str, name: str) -> bool:
    return bool(scrubbed.loc[oid, f"flag_{name}"])


@pytest.mark.parametrize(("oid", "expected"), [("PC_before", True), ("PC_on", False), ("PC_after", False)])
def test_past_close_date_is_strictly_before_the_as_of_day(scrubbed, oid, expected):
    assert _flag(scrubbed, oid, "past_close_date") is expected


def test_past_close_date_compares_days_not_instants():
    # As of noon on 1 June, a deal expected on 1 June is not late; one expected on 31 May is.
    out = scrub(_dataset(), pd.Timestamp("2024-06-01 12:00"), SETTINGS).set_index("opportunity_id")
    assert not out.loc["PC_on", "flag_past_close_date"]
    assert out.loc["PC_before", "flag_past_close_date"]


@pytest.mark.parametrize(
    ("oid", "expected"),
    [("EW_day_before", False), ("EW_first_day", True), ("EW_second_day", True),
     ("EW_day_before_last", True), ("EW_last_day", True), ("EW_day_after", False)],
)
def test_early_stage_in_window_edges(scrubbed, oid, expected):
    assert _flag(scrubbed, oid, "early_stage_in_window") is expected


@pytest.mark.parametrize(("oid", "expected"), [("ST_14", False), ("ST_15", False), ("ST_16", True), ("ST_15_plus_1s", True)])
def test_stale_in_stage_is_strictly_over_the_limit(scrubbed, oid, expected):
    assert _flag(scrubbed, oid, "stale_in_stage") is expected


def test_days_in_stage_by_hand(scrubbed):
    assert scrubbed.loc["ST_14", "days_in_stage"] == 14.0
    assert scrubbed.loc["ST_15", "days_in_stage"] == 15.0
    assert scrubbed.loc["ST_15_plus_1s", "days_in_stage"] == pytest.approx(15 + 1 / 86400)


@pytest.mark.parametrize(
    ("oid", "expected"),
    [("NA_13", False), ("NA_14", False), ("NA_15", True), ("NA_at_as_of", False), ("NA_just_after", True),
     ("YOUNG_13", False), ("YOUNG_14", False), ("YOUNG_15", True)],
)
def test_no_recent_activity_edges(scrubbed, oid, expected):
    assert _flag(scrubbed, oid, "no_recent_activity") is expected


def test_an_activity_at_the_as_of_instant_is_seen_one_after_is_not(scrubbed):
    assert scrubbed.loc["NA_at_as_of", "last_activity_at"] == pd.Timestamp("2024-06-01")
    assert scrubbed.loc["NA_just_after", "last_activity_at"] == pd.Timestamp("2024-05-01")


@pytest.mark.parametrize(("oid", "pushes", "expected"), [("PU_1", 1, False), ("PU_2_on_as_of", 2, True), ("PU_2_after_as_of", 1, False)])
def test_pushes_count_history_up_to_the_as_of_instant(scrubbed, oid, pushes, expected):
    assert scrubbed.loc[oid, "n_pushes"] == pushes
    assert _flag(scrubbed, oid, "pushed") is expected


def test_created_and_closed_at_the_as_of_instant(scrubbed):
    # Created at the as-of instant: in the pipeline; a second later: not yet.
    assert "CR_on" in scrubbed.index and "CR_after" not in scrubbed.index
    # Closed at the as-of instant: no longer open; a second later: still open then.
    assert "CL_on" not in scrubbed.index and "CL_after" in scrubbed.index
    assert scrubbed.loc["CL_after", "stage"] == "Proposal"


def test_current_table_path_has_the_same_edges():
    # As of the data's own date the current table is used: created_at <= as_of, closed_at <= as_of.
    when = pd.Timestamp("2024-06-01 00:00:01")
    out = scrub(_dataset(as_of=when), when, SETTINGS).set_index("opportunity_id")
    assert "CR_after" in out.index and "CL_after" not in out.index
    out = scrub(_dataset(as_of=when), when + pd.Timedelta(days=9), SETTINGS)
    assert "CL_on" not in set(out["opportunity_id"])


def test_stage_durations_count_a_deal_won_at_the_as_of_instant():
    deals = {"W": ("r1", "won", [("2024-05-01", "Proposal", 1.0, "2024-05-30"), ("2024-05-11", "Closed Won", 1.0, "2024-05-30")])}
    opps, hist = deal_frames(deals)
    on = stage_durations(opps, hist, pd.Timestamp("2024-05-11"), SETTINGS).set_index("stage")
    before = stage_durations(opps, hist, pd.Timestamp("2024-05-10 23:59:59"), SETTINGS).set_index("stage")
    assert on.loc["Proposal", "n_won"] == 1 and on.loc["Proposal", "median_days"] == 10.0
    assert before.loc["Proposal", "n_won"] == 0


def test_gate_minimum_stage_edge():
    # Prospecting is one stage before the minimum (Qualification): fails; Qualification and the next pass.
    snap = pd.DataFrame({
        "stage": pd.array(["Prospecting", "Qualification", "Proposal"], dtype="str"),
        "amount": [1.0, 1.0, 1.0],
        "expected_close_date": pd.Series([pd.Timestamp("2024-06-01")] * 3, dtype=US),
    })
    assert gate(snap, SETTINGS)["passes_gate"].tolist() == [False, True, True]
