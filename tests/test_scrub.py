"""Gates and scrub flags on a hand-built pipeline: each flag raised (and not) where expected."""

from __future__ import annotations

from dataclasses import replace

import ibis
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.scrub import FLAGS, flag_counts, gate, scrub, stage_durations
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-06-01")
SETTINGS = load_settings()
T = pd.Timestamp




DEALS = {
    # r1's won deals: 5 days in Prospecting, 10 in Proposal; amounts 100..140.
    **{
        f"W{i}": (
            "r1",
            "won",
            [
                (f"2024-04-{i:02d}", "Prospecting", 100.0 + 10 * (i - 1), "2024-04-30"),
                (f"2024-04-{i + 5:02d}", "Proposal", 100.0 + 10 * (i - 1), "2024-04-30"),
                (f"2024-04-{i + 15:02d}", "Closed Won", 100.0 + 10 * (i - 1), "2024-04-30"),
            ],
        )
        for i in range(1, 6)
    },
    "P1": ("r1", "open", [("2024-05-20", "Prospecting", 120.0, "2024-06-10"), ("2024-05-28", "Proposal", 120.0, "2024-06-10"),
                          ("2024-05-29", "Proposal", 120.0, "2024-06-20"), ("2024-05-30", "Proposal", 120.0, "2024-06-30")]),
    "P2": ("r1", "open", [("2024-04-20", "Proposal", 125.0, "2024-05-20"), ("2024-05-10", "Negotiation", 125.0, "2024-05-20")]),
    "P3": ("r1", "open", [("2024-05-01", "Prospecting", 110.0, "2024-07-15"), ("2024-05-15", "Proposal", 110.0, "2024-07-15")]),
    "P4": ("r1", "open", [("2024-05-01", "Prospecting", 110.0, "2024-07-15"), ("2024-05-18", "Proposal", 110.0, "2024-07-15")]),
    "P5": ("r1", "open", [("2024-05-25", "Proposal", 1000.0, "2024-07-15")]),
    "P5b": ("r1", "open", [("2024-05-25", "Proposal", 20.0, "2024-07-15")]),
    "P6": ("r1", "open", [("2024-05-28", "Prospecting", 120.0, "2024-06-15")]),
    "P7": ("r1", "open", [("2024-04-01", "Qualification", 120.0, "2024-08-01")]),
    "P8": ("r1", "open", [("2024-05-25", "Proposal", 120.0, "2024-08-01")]),
    "Q1": ("r2", "open", [("2024-05-30", "Proposal", 500.0, None)]),
}
OPPS, HIST = deal_frames(DEALS)
REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["r1", "r2"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob"], dtype="str"),
        "team": pd.array(["A", "B"], dtype="str"),
        "manager": pd.array(["M", "M"], dtype="str"),
    }
)
_recent = [(f"a{k}", "r1", "2024-05-30 10:00", oid) for k, oid in enumerate(["P1", "P2", "P3", "P4", "P5", "P5b", "P6"])]
ACTIVITIES = pd.DataFrame(
    [*_recent, ("b1", "r1", "2024-05-01 10:00", "P7"), ("b2", "r1", "2024-06-10 10:00", "P7"), ("b3", "r1", "2024-05-31 10:00", None)],
    columns=["activity_id", "rep_id", "occurred_at", "opportunity_id"],
).assign(activity_type="conversation", duration_s=60.0)
ACTIVITIES = ACTIVITIES.astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})


def _dataset(history: bool = True, activities: bool = True) -> Dataset:
    tables = {"reps": REPS, "opportunities": OPPS}
    if history:
        tables["opportunity_history"] = HIST
    acts = ibis.memtable(ACTIVITIES) if activities else None
    return Dataset(tables=tables, activities=acts, as_of=AS_OF)


@pytest.fixture(scope="module")
def scrubbed() -> pd.DataFrame:
    return scrub(_dataset(), AS_OF).set_index("opportunity_id")


def _flags(row: pd.Series) -> dict[str, object]:
    return {f: (None if pd.isna(row[f"flag_{f}"]) else bool(row[f"flag_{f}"])) for f in FLAGS}


def test_one_row_per_open_deal(scrubbed):
    assert sorted(scrubbed.index) == sorted(k for k, v in DEALS.items() if v[1] == "open")
    assert (scrubbed["as_of_date"] == AS_OF).all()


@pytest.mark.parametrize(
    ("oid", "raised"),
    [
        ("P1", {"pushed"}),  # close date 10 Jun -> 20 Jun -> 30 Jun
        ("P2", {"past_close_date"}),  # expected 20 May, still open on 1 Jun
        ("P3", {"stale_in_stage"}),  # 17 days in Proposal > 1.5 x 10
        ("P4", set()),  # 14 days in Proposal: fine
        ("P5", {"amount_outlier"}),  # 1000 vs won 100..140
        ("P5b", {"amount_outlier"}),  # 20: far below too
        ("P6", {"early_stage_in_window"}),  # Prospecting, expected 15 Jun
        ("P7", {"no_recent_activity"}),  # last activity 1 May (the 10 Jun one is after the as-of date)
        ("P8", set()),  # no activity, but only 7 days old
        ("Q1", set()),
    ],
)
def test_each_flag(scrubbed, oid, raised):
    row = scrubbed.loc[oid]
    flags = _flags(row)
    assert {f for f, v in flags.items() if v} == raised
    assert row["n_flags"] == len(raised)
    assert (row["reasons"] == "") == (not raised)
    assert row["reasons"].count("; ") == max(len(raised) - 1, 0)


def test_reasons_say_what_to_ask(scrubbed):
    assert "pushed 2 times" in scrubbed.loc["P1", "reasons"]
    assert "2024-05-20 has passed" in scrubbed.loc["P2", "reasons"]
    assert "17 days in Proposal" in scrubbed.loc["P3", "reasons"] and "median 10 days" in scrubbed.loc["P3", "reasons"]
    assert "amount 1,000" in scrubbed.loc["P5", "reasons"] and "middle half 110 to 130" in scrubbed.loc["P5", "reasons"]
    assert "still in Prospecting" in scrubbed.loc["P6", "reasons"]
    assert "last: 2024-05-01" in scrubbed.loc["P7", "reasons"]


def test_uncheckable_flags_are_na_with_a_reason(scrubbed):
    # Nobody won through Negotiation or Qualification: no median to compare with.
    assert pd.isna(scrubbed.loc["P2", "flag_stale_in_stage"])
    assert "stale_in_stage: fewer than 5 won deals went through Negotiation" in scrubbed.loc["P2", "not_checked"]
    # r2 has no won deals: no amount history; and no expected close date.
    assert pd.isna(scrubbed.loc["Q1", "flag_amount_outlier"]) and pd.isna(scrubbed.loc["Q1", "flag_past_close_date"])
    assert "amount_outlier: the rep has fewer than 5 won deals" in scrubbed.loc["Q1", "not_checked"]
    assert "past_close_date: no expected close date" in scrubbed.loc["Q1", "not_checked"]
    assert scrubbed.loc["P4", "not_checked"] == ""


def test_gate_columns(scrubbed):
    assert not scrubbed.loc["P6", "passes_gate"]
    assert scrubbed.loc["P6", "gate_reason"] == "stage Prospecting is before Qualification"
    assert not scrubbed.loc["Q1", "passes_gate"] and scrubbed.loc["Q1", "gate_reason"] == "expected_close_date missing"
    assert scrubbed.loc["P1", "passes_gate"] and scrubbed.loc["P1", "gate_reason"] == ""


def test_gate_function_directly():
    snap = pd.DataFrame(
        {"stage": pd.array(["Negotiation", "Prospecting", "Closed Won", None], dtype="str"), "amount": [1.0, None, 1.0, 1.0], "expected_close_date": pd.Series([T("2024-01-01")] * 4, dtype=US)}
    )
    g = gate(snap, SETTINGS)
    assert g["passes_gate"].tolist() == [True, False, False, False]
    assert g["gate_reason"].iloc[1] == "stage Prospecting is before Qualification; amount missing"
    assert g["gate_reason"].iloc[2] == "stage Closed Won is not an open stage"
    with pytest.raises(ValueError, match="account_id"):
        gate(snap, replace(SETTINGS, gate_required_fields=("account_id",)))


def test_stage_durations_by_hand():
    d = stage_durations(OPPS, HIST, AS_OF, SETTINGS).set_index("stage")
    assert d.loc["Prospecting", "median_days"] == 5 and d.loc["Prospecting", "n_won"] == 5
    assert d.loc["Proposal", "median_days"] == 10 and d.loc["Proposal", "n_won"] == 5
    assert d.loc["Qualification", "n_won"] == 0 and pd.isna(d.loc["Qualification", "median_days"])
    # As of 10 April only W1..W4... none is won yet (first close on 16 April).
    assert (stage_durations(OPPS, HIST, T("2024-04-10"), SETTINGS)["n_won"] == 0).all()


def test_without_activities_the_activity_flag_is_na():
    out = scrub(_dataset(activities=False), AS_OF).set_index("opportunity_id")
    assert out["flag_no_recent_activity"].isna().all()
    assert out["not_checked"].str.contains("no_recent_activity: needs the activities table").all()
    assert bool(out.loc["P1", "flag_pushed"])  # the rest still runs


def test_without_history_only_history_flags_are_na():
    out = scrub(_dataset(history=False), AS_OF).set_index("opportunity_id")
    assert out["flag_pushed"].isna().all() and out["flag_stale_in_stage"].isna().all()
    assert out["not_checked"].str.contains("pushed: needs the opportunity_history table").all()
    assert bool(out.loc["P2", "flag_past_close_date"]) and bool(out.loc["P5", "flag_amount_outlier"])
    assert bool(out.loc["P7", "flag_no_recent_activity"])


def test_past_as_of_needs_history():
    with pytest.raises(MissingTableError, match="opportunity_history"):
        scrub(_dataset(history=False), as_of="2024-05-26")


def test_past_as_of_uses_the_pipeline_of_then():
    out = scrub(_dataset(), as_of="2024-05-26").set_index("opportunity_id")
    assert "P6" not in out.index  # created 28 May
    assert out.loc["P1", "stage"] == "Prospecting" and out.loc["P1", "n_pushes"] == 0
    assert not out.loc["P1", "flag_pushed"]


def test_flag_counts_long_format(scrubbed):
    counts = flag_counts(scrubbed.reset_index())
    assert list(counts.columns) == ["team", "rep_id", "flag", "n", "n_open", "checked"]
    r1 = counts.loc[counts["rep_id"] == "r1"].set_index("flag")
    assert r1.loc["amount_outlier", "n"] == 2 and r1.loc["pushed", "n"] == 1 and r1.loc["pushed", "n_open"] == 9
    assert len(counts) == 2 * len(FLAGS)


def test_min_history_below_one_is_refused(tmp_path) -> None:
    """With no won deal to compare with, the amount fences are NaN and the flag would read
    False (checked) instead of NA (not checked): the setting must be at least 1."""
    from salesx2lib.problems import DataError
    from salesx2lib.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text("[scrub]\nmin_history = 1\n", encoding="utf-8")
    assert load_settings(path).scrub_min_history == 1
    path.write_text("[scrub]\nmin_history = 0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"scrub.min_history: 0 is below 1"):
        load_settings(path)
