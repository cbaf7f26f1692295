"""Validation: every rule of the data contract, located as an editor counts lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib.cli import main
from salesx2lib.load import load_dataset
from salesx2lib.problems import DataError
from salesx2lib.validate import MAX_PROBLEMS_PER_RULE, csv_record_lines

from conftest import VALID_TABLES, write_tables

OPP_HEADER = "opportunity_id,rep_id,account_id,created_at,amount,stage,status,expected_close_date,closed_at\n"


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_dataset(folder)
    return [str(p) for p in info.value.problems]


def with_row(table: str, row: str) -> dict[str, str]:
    return {table: VALID_TABLES[table] + row + "\n"}


CASES = [
    # (what, tables to replace, the exact problem line expected)
    ("missing required table", {"reps": None}, "{folder}: missing table reps (reps.csv or reps.parquet is required)"),
    (
        "missing column",
        {"quotas": "rep_id,period_start,quota\nR1,2026-01-01,5\n"},
        "quotas.csv:1:period_end: missing column (required; the file has: rep_id, period_start, quota)",
    ),
    (
        "unparseable number",
        with_row("opportunities", "O9,R1,,2026-01-07,12k,Prospecting,open,,"),
        "opportunities.csv:5:amount: '12k' is not a number",
    ),
    (
        "non-finite number",
        with_row("opportunities", "O9,R1,,2026-01-07,inf,Prospecting,open,,"),
        "opportunities.csv:5:amount: 'inf' is not a number",
    ),
    (
        "unparseable timestamp",
        with_row("opportunities", "O9,R1,,07/01/2026,5,Prospecting,open,,"),
        "opportunities.csv:5:created_at: '07/01/2026' is not a date and time (expected ISO 8601 such as 2026-03-02 14:05:00)",
    ),
    (
        "impossible date",
        with_row("opportunities", "O9,R1,,2026-01-07,5,Prospecting,open,2026-02-30,"),
        "opportunities.csv:5:expected_close_date: '2026-02-30' is not a date (expected ISO 8601 such as 2026-03-02)",
    ),
    (
        "date with a time of day",
        with_row("quotas", "R3,2026-01-01 10:00:00,2026-01-31,5"),
        "quotas.csv:4:period_start: '2026-01-01 10:00:00' has a time of day; period_start is a date",
    ),
    (
        "negative amount",
        with_row("opportunities", "O9,R1,,2026-01-07,-5,Prospecting,open,,"),
        "opportunities.csv:5:amount: -5 is negative (amount must be >= 0)",
    ),
    (
        "duplicate id",
        with_row("opportunities", "O2,R1,,2026-01-07,5,Prospecting,open,,"),
        "opportunities.csv:5:opportunity_id: duplicate opportunity_id 'O2' (first at line 3)",
    ),
    (
        "duplicate composite key",
        with_row("quotas", "R1,2026-01-01,2026-01-31,10"),
        "quotas.csv:4: duplicate rep_id + period_start 'R1', '2026-01-01' (first at line 2)",
    ),
    (
        "unknown rep_id",
        with_row("opportunities", "O9,R404,,2026-01-07,5,Prospecting,open,,"),
        "opportunities.csv:5:rep_id: unknown rep_id 'R404' (not in reps.csv)",
    ),
    (
        "unknown opportunity_id",
        with_row("opportunity_history", "O404,2026-01-08 12:00:00,Prospecting,,"),
        "opportunity_history.csv:7:opportunity_id: unknown opportunity_id 'O404' (not in opportunities.csv)",
    ),
    (
        "unknown status",
        with_row("opportunities", "O9,R1,,2026-01-07,5,Prospecting,Open,,"),
        "opportunities.csv:5:status: 'Open' is not one of: open, won, lost",
    ),
    (
        "closed_at missing on a won deal",
        with_row("opportunities", "O9,R1,,2026-01-07,5,Closed Won,won,,"),
        "opportunities.csv:5:closed_at: is empty but status is won (a won or lost deal has a close time)",
    ),
    (
        "closed_at on an open deal",
        with_row("opportunities", "O9,R1,,2026-01-07,5,Proposal,open,,2026-01-09"),
        "opportunities.csv:5:closed_at: '2026-01-09' is set but status is open (an open deal has no close time)",
    ),
    (
        "period_end before period_start",
        with_row("forecasts", "R2,2026-01-05,2026-02-01,2026-01-31,5,commit"),
        "forecasts.csv:3:period_end: '2026-01-31' is before period_start '2026-02-01'",
    ),
    (
        "required cell empty",
        with_row("activities", "A9,,2026-01-05 09:00:00,dial,,"),
        "activities.csv:7:rep_id: is empty (rep_id is required)",
    ),
    (
        "unknown activity type",
        with_row("activities", "A9,R1,2026-01-05 09:00:00,call,,"),
        "activities.csv:7:activity_type: 'call' is not one of: dial, conversation, appointment, email, meeting, business_card, other",
    ),
    (
        "ragged row",
        with_row("reps", "R4,Dee,South"),
        "reps.csv:5: has 3 fields but the header has 6",
    ),
    (
        "repeated header column",
        {"trainings": "rep_id,competency,completed_at,rep_id\nR2,win_rate,2026-01-15,R2\n"},
        "trainings.csv:1:rep_id: column appears twice in the header",
    ),
]


@pytest.mark.parametrize(("what", "tables", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_is_reported_with_its_location(tmp_path, what, tables, expected):
    folder = write_tables(tmp_path / "data", tables)
    assert expected.format(folder=folder) in problems_of(folder)


def test_all_problems_are_reported_at_once(tmp_path):
    folder = write_tables(
        tmp_path / "data",
        {
            "opportunities": VALID_TABLES["opportunities"]
            + "O9,R404,,2026-01-07,-5,Prospecting,open,,\nO10,R1,,nope,5,Prospecting,maybe,,\n",
            "quotas": "rep_id,period_start,period_end,quota\nR1,2026-02-01,2026-01-31,5\n",
        },
    )
    found = problems_of(folder)
    assert found == [
        "opportunities.csv:5:amount: -5 is negative (amount must be >= 0)",
        "opportunities.csv:5:rep_id: unknown rep_id 'R404' (not in reps.csv)",
        "opportunities.csv:6:created_at: 'nope' is not a date and time (expected ISO 8601 such as 2026-03-02 14:05:00)",
        "opportunities.csv:6:status: 'maybe' is not one of: open, won, lost",
        "quotas.csv:2:period_end: '2026-01-31' is before period_start '2026-02-01'",
    ]


def test_lines_count_quoted_line_breaks_and_blank_lines(tmp_path):
    text = (
        OPP_HEADER
        + 'O1,R1,"Acme\nGmbH",2026-01-07,5,Prospecting,open,,\n'
        + "\n"
        + "O2,R1,,2026-01-07,-1,Prospecting,open,,\n"
    )
    folder = write_tables(tmp_path / "data", {"opportunities": text, "opportunity_history": None})
    assert problems_of(folder) == ["opportunities.csv:5:amount: -1 is negative (amount must be >= 0)"]


def test_a_value_with_a_line_break_stays_on_one_line(tmp_path):
    folder = write_tables(tmp_path / "data", with_row("opportunities", 'O9,R1,,2026-01-07,"1\n000",Prospecting,open,,'))
    assert "opportunities.csv:5:amount: '1\\n000' is not a number" in problems_of(folder)


def test_a_systematic_error_is_capped_and_counted(tmp_path):
    rows = "".join(f"X{i},R1,2026-01-05 09:00:00,tweet,,\n" for i in range(MAX_PROBLEMS_PER_RULE + 7))
    folder = write_tables(tmp_path / "data", {"activities": VALID_TABLES["activities"] + rows})
    found = problems_of(folder)
    located = [p for p in found if "'tweet' is not one of" in p]
    assert len(located) == MAX_PROBLEMS_PER_RULE
    assert located[0].startswith("activities.csv:7:activity_type:")
    summary = f"activities.csv:activity_type: {MAX_PROBLEMS_PER_RULE + 7:,} rows in all break this rule (the first {MAX_PROBLEMS_PER_RULE} are listed)"
    assert summary in found


def test_the_closing_count_counts_problems_not_printed_lines(tmp_path, capsys):
    """57 bad rows: 50 listed plus one summary line, and the count says 57, not 51."""
    rows = "".join(f"X{i},R1,2026-01-05 09:00:00,tweet,,\n" for i in range(MAX_PROBLEMS_PER_RULE + 7))
    folder = write_tables(tmp_path / "data", {"activities": VALID_TABLES["activities"] + rows})
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == MAX_PROBLEMS_PER_RULE + 1 + 1  # the listed rows, the summary line, the count
    assert err[-1] == f"salesx2 validate: {MAX_PROBLEMS_PER_RULE + 7} errors; nothing was written"


def test_parquet_problems_are_located_by_row(tmp_path):
    folder = write_tables(tmp_path / "data", {"activities": None})
    acts = pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3"],
            "rep_id": ["R1", "R1", "R2"],
            "occurred_at": pd.to_datetime(["2026-01-05 09:00", "2026-01-05 10:00", "2026-01-06 10:00"]),
            "activity_type": ["dial", "dial", "fax"],
            "duration_s": [1.0, -3.0, None],
        }
    )
    acts.to_parquet(folder / "activities.parquet", index=False)
    assert problems_of(folder) == [
        "activities.parquet:2:duration_s: -3.0 is negative (duration_s must be >= 0)",
        "activities.parquet:3:activity_type: 'fax' is not one of: dial, conversation, appointment, email, meeting, business_card, other",
    ]


def test_a_table_in_two_formats_is_ambiguous(valid_folder):
    pd.DataFrame({"rep_id": ["R1"], "competency": ["win_rate"], "completed_at": ["2026-01-01"]}).to_parquet(
        valid_folder / "trainings.parquet"
    )
    assert f"{valid_folder}: both trainings.csv and trainings.parquet exist; keep one" in problems_of(valid_folder)


def test_not_utf8_is_located(tmp_path):
    folder = write_tables(tmp_path / "data")
    (folder / "reps.csv").write_bytes(VALID_TABLES["reps"].encode() + b"R4,J\xf6rg,South,Sue,US,\n")
    found = problems_of(folder)
    assert any(p.startswith("reps.csv:5: is not UTF-8 text (byte 0xf6)") for p in found), found


def test_soft_problems_warn_and_do_not_stop(tmp_path):
    folder = write_tables(
        tmp_path / "data",
        {"reps": VALID_TABLES["reps"].replace("hire_date\n", "hire_date,shoe_size\n").replace("\n", ",\n").replace("shoe_size,\n", "shoe_size\n")
         + "R4,Dee Fox,South,Sue Kim,US,2026-01-05,\n"},
    )
    (folder / "notes.csv").write_text("a\n1\n")
    ds = load_dataset(folder)
    warnings = [str(w) for w in ds.warnings]
    assert "reps.csv:1:shoe_size: warning: unknown column, ignored (known: rep_id, rep_name, team, manager, region, hire_date)" in warnings
    assert "reps.csv:5:rep_id: warning: rep 'R4' (Dee Fox) has no opportunity in opportunities.csv and no activity in activities.csv" in warnings
    assert any(w.startswith("notes.csv: warning: not a table of the data contract") for w in warnings)
    assert "shoe_size" not in ds.reps.columns


@settings(max_examples=30, deadline=None)
@given(
    breaks=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6),
    blanks=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_record_lines_match_an_editor(tmp_path_factory, breaks, blanks):
    """Each record's line is where an editor shows its first character."""
    lines = ["h1,h2"]
    expected = []
    for i, n_breaks in enumerate(breaks):
        if blanks[i]:
            lines.append("")
        expected.append(sum(line.count("\n") + 1 for line in lines) + 1)
        cell = '"' + "\n".join(["x"] * (n_breaks + 1)) + '"'
        lines.append(f"{i},{cell}")
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    found, problems = csv_record_lines(path)
    assert problems == []
    assert found == expected


def test_detect_encoding_streams_across_chunks(tmp_path):
    from salesx2lib.validate import detect_encoding

    split = tmp_path / "split.csv"  # a two-byte character cut by the 1 MiB chunk boundary
    split.write_bytes(b"a" * ((1 << 20) - 1) + "é\n".encode())
    assert detect_encoding(split) == ("utf-8", None, None)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,name\n1,Ann\n2,Ren\xe9\n")
    assert detect_encoding(latin) == ("latin-1", 3, 0xE9)
    cut = tmp_path / "cut.csv"  # a UTF-8 sequence that never ends
    cut.write_bytes(b"id\n\xc3")
    assert detect_encoding(cut) == ("latin-1", 2, None)


# -- rows the contract reads all the same, with a note or a warning ------------------------

def test_a_deal_closed_before_it_was_created_closes_at_its_creation_with_a_note(tmp_path):
    # three lost deals created 2026-01-07 12:00: closed a second before, exactly at, and a
    # second after their creation; only the first is noted, and it closes at its creation
    folder = write_tables(
        tmp_path / "d",
        {
            "opportunities": VALID_TABLES["opportunities"]
            + "O7,R1,,2026-01-07 12:00:00,5,Closed Lost,lost,,2026-01-07 11:59:59\n"
            + "O8,R1,,2026-01-07 12:00:00,5,Closed Lost,lost,,2026-01-07 12:00:00\n"
            + "O9,R1,,2026-01-07 12:00:00,5,Closed Lost,lost,,2026-01-07 12:00:01\n"
        },
    )
    ds = load_dataset(folder)
    assert [str(n) for n in ds.notes] == [
        "opportunities.csv:5:closed_at: note: '2026-01-07 11:59:59' is before created_at '2026-01-07 12:00:00': "
        "closed at its creation (a cycle of 0)"
    ]
    closed = ds.opportunities.set_index("opportunity_id")["closed_at"]
    assert closed["O7"] == pd.Timestamp("2026-01-07 12:00:00")
    assert closed["O8"] == pd.Timestamp("2026-01-07 12:00:00")
    assert closed["O9"] == pd.Timestamp("2026-01-07 12:00:01")


def test_a_won_deal_without_an_amount_is_a_warning_and_counted(tmp_path):
    from salesx2lib.summary import dataset_summary

    folder = write_tables(tmp_path / "d", with_row("opportunities", "O9,R1,,2026-01-07,,Closed Won,won,,2026-01-09"))
    ds = load_dataset(folder)
    assert "opportunities.csv:5:amount: warning: is empty on a won deal: it counts as won, and adds nothing to won revenue" in [
        str(w) for w in ds.warnings
    ]
    # O1 (1200) and O9 (no amount) are the won deals
    assert dataset_summary(ds)["incomplete"]["won_without_amount"] == 1
    assert (ds.opportunities["status"] == "won").sum() == 2
