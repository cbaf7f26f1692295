"""Mutation tests of salesx2lib.mapping: the mapping file read back exactly, and the SQL
of each way to read a value run on a tiny table in DuckDB.

Every expected value is written by hand from the small mapping file or table in the
test (line numbers counted in the text shown; SQL results from the cells shown). No test
loads a data folder: the reader is pure Python and the SQL runs on an in-memory table,
so the whole file runs in a few seconds (``scripts/mutation.py`` runs it per mutant).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from salesx2lib import mapping as m
from salesx2lib.mapping import (
    ColumnSpec,
    Condition,
    Filter,
    Lookup,
    Mapping,
    Part,
    read_mapping,
)
from salesx2lib.problems import DataError


def _read(tmp_path: Path, text: str, name: str = "m.toml") -> Mapping:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_mapping(path)


def _errors(tmp_path: Path, text: str, name: str = "m.toml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_mapping(path)
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------- a whole mapping, read back

FULL = """\
name = "Acme export"
null_values = ["n/a", "-"]

[opportunities]
file = "deals.csv"
delimiter = ";"
encoding = "latin-1"
optional = true

[opportunities.columns]
opportunity_id = "Deal"
rep_id = { column = "Owner", match = "loose" }
created_at = { column = "Created", format = "%d/%m/%Y", timezone = "Europe/Lisbon" }
amount = { sql = 'TRY_CAST("Value" AS DOUBLE)', column = "Value" }
stage = { column = "Stage", values = { " Won " = "Closed Won" }, ignore_case = true }
status = { column = "Stage", values = { "Won" = "won", "Lost" = "lost" }, other = "open" }
closed_at = { column = "Closed", when = { Stage = ["Won", "Lost"], Flag = true, N = 1, R = 2.5, Off = false } }
expected_close_date = { value = "" }
account_id = ["Account", { column = "Company", lookup = { file = "companies.csv", key = "Name", value = "Id", match = "loose" } }]

[[opportunities.exclude]]
reason = "test deals"
when = { Pipeline = "Test" }

[[opportunities.note]]
says = "no value"
when = { sql = '"Value" IS NULL' }

[reps]
file = "owners.csv"
derive_missing = true

[reps.columns]
rep_id = "Owner"
rep_name = "Owner"
team = { value = 7 }
manager = { column = "Boss", lookup = { file = "owners.csv", key = "Owner", value = "Boss" } }
hire_date = { value = true }
"""


def test_a_mapping_using_every_key_is_read_back_field_by_field(tmp_path: Path) -> None:
    mp = _read(tmp_path, FULL)
    assert mp.name == "Acme export"
    assert mp.path == tmp_path / "m.toml"
    assert mp.label == "m.toml, Acme export"
    # Canonical table order (reps before opportunities), whatever the file's order.
    assert list(mp.parts) == ["reps", "opportunities"]
    [reps] = mp.parts["reps"]
    [opps] = mp.parts["opportunities"]
    assert reps == Part(
        table="reps",
        file="owners.csv",
        columns={
            "rep_id": ColumnSpec(column="Owner", line=34),
            "rep_name": ColumnSpec(column="Owner", line=35),
            "team": ColumnSpec(value="7", line=36),  # a TOML number as a cell would hold it
            "manager": ColumnSpec(column="Boss", lookup=Lookup("owners.csv", "Owner", "Boss", False), line=37),
            "hire_date": ColumnSpec(value="true", line=38),  # TOML true is the text "true"
        },
        derive_missing=True,
        mapping="m.toml",
        null_values=("n/a", "-"),
    )
    assert opps.table == "opportunities" and opps.file == "deals.csv" and opps.mapping == "m.toml"
    assert (opps.optional, opps.delimiter, opps.encoding, opps.derive_missing) == (True, ";", "latin-1", False)
    assert opps.null_values == ("n/a", "-")
    assert opps.exclude == (Filter("test deals", Condition(equals=(("Pipeline", ("Test",)),)), 23),)
    assert opps.note == (Filter("no value", Condition(sql='"Value" IS NULL'), 27),)
    assert list(opps.columns) == [
        "opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "closed_at", "expected_close_date", "account_id",
    ]
    c = opps.columns
    assert c["opportunity_id"] == ColumnSpec(column="Deal", line=11)
    assert c["rep_id"] == ColumnSpec(column="Owner", match="loose", line=12)
    assert c["created_at"] == ColumnSpec(column="Created", format="%d/%m/%Y", timezone="Europe/Lisbon", line=13)
    assert c["amount"] == ColumnSpec(column="Value", sql='TRY_CAST("Value" AS DOUBLE)', line=14)
    assert c["stage"] == ColumnSpec(column="Stage", values=((" Won ", "Closed Won"),), ignore_case=True, line=15)
    assert c["status"] == ColumnSpec(column="Stage", values=(("Won", "won"), ("Lost", "lost")), other="open", line=16)
    assert c["closed_at"] == ColumnSpec(
        column="Closed",
        when=Condition(equals=(("Stage", ("Won", "Lost")), ("Flag", ("true",)), ("N", ("1",)), ("R", ("2.5",)), ("Off", ("false",)))),
        line=17,
    )
    assert c["expected_close_date"] == ColumnSpec(value="", line=18)
    second = ColumnSpec(column="Company", lookup=Lookup("companies.csv", "Name", "Id", True), line=19)
    assert c["account_id"] == ColumnSpec(column="Account", line=19, fallbacks=(second,))
    # What the parts name, for the checks of validation.
    assert opps.lookups == ()  # only the second way of account_id looks up
    assert reps.lookups == (Lookup("owners.csv", "Owner", "Boss", False),)
    assert opps.file_columns == ("Deal", "Owner", "Created", "Stage", "Closed", "Flag", "N", "R", "Off", "Account", "Pipeline")
    assert opps.sql_file_columns == (
        ("Value", "the sql of opportunities.columns.amount"),
        ("Value", "the condition of note 'no value'"),
    )
    assert opps.origin("amount") == "Value"
    assert opps.origin("expected_close_date") == "expected_close_date"  # a constant has no column
    assert opps.origin("account_id") == "Account"
    assert reps.origin("region") == "region"  # not mapped


def test_the_label_is_the_file_or_the_file_and_its_name(tmp_path: Path) -> None:
    assert Mapping("x", None).label == "x"
    assert Mapping("m", tmp_path / "m.toml").label == "m.toml"
    assert Mapping("Acme", tmp_path / "m.toml").label == "m.toml, Acme"
    # Without a name the file's stem is the name.
    mp = _read(tmp_path, 'null_values = []\n[reps]\nfile = "r.csv"\n[reps.columns]\nrep_id = "A"\nrep_name = "A"\nteam = "T"\n', "plain.toml")
    assert (mp.name, mp.label) == ("plain", "plain.toml")
    assert mp.parts["reps"][0].null_values == ()
    assert mp.parts["reps"][0].derive_missing is False and mp.parts["reps"][0].optional is False
    assert mp.parts["reps"][0].delimiter == "," and mp.parts["reps"][0].encoding is None


# --------------------------------------------------------------- problems in the mapping file

REPS = """\
[reps]
file = "owners.csv"

[reps.columns]
rep_id = "Owner"
rep_name = "Owner"
team = "Office"
"""
# lines:  1 [reps]   2 file   3 (blank)   4 [reps.columns]   5 rep_id   6 rep_name   7 team

SPEC_KEYS = "column, format, ignore_case, lookup, match, other, sql, timezone, value, values, when"
PART_KEYS = "columns, delimiter, derive_missing, encoding, exclude, file, note, optional"
LOOKUP_MSG = 'must be { file = "...", key = "column there", value = "column there" } (and match = "loose")'


@pytest.mark.parametrize(
    ("team", "expected"),
    [
        ("3", "m.toml:7:reps.columns.team: must be a column name or a table such as { column = \"...\", format = \"...\" }"),
        ("[]", "m.toml:7:reps.columns.team: a list of ways to read the value must hold one or more columns or tables, tried in order"),
        ('[["a"]]', "m.toml:7:reps.columns.team: a list of ways to read the value must hold one or more columns or tables, tried in order"),
        ('["a", 3]', "m.toml:7:reps.columns.team: must be a column name or a table such as { column = \"...\", format = \"...\" }"),
        ('{ colum = "x", zz = 1 }', f"m.toml:7:reps.columns.team.colum: unknown key (a column takes: {SPEC_KEYS})"),
        ("{ other = \"x\" }", "m.toml:7:reps.columns.team: says neither column, value nor sql: where does the value come from?"),
        ('{ value = "x", column = "y" }', "m.toml:7:reps.columns.team: a constant value takes no column or sql"),
        ('{ value = "x", sql = "1" }', "m.toml:7:reps.columns.team: a constant value takes no column or sql"),
        ("{ column = 1 }", "m.toml:7:reps.columns.team.column: must be text"),
        ('{ sql = 1, column = "x" }', "m.toml:7:reps.columns.team.sql: must be text"),
        ('{ column = "x", other = 1 }', "m.toml:7:reps.columns.team.other: must be text"),
        ('{ column = "x", format = 1 }', "m.toml:7:reps.columns.team.format: must be text"),
        ('{ column = "x", timezone = 1 }', "m.toml:7:reps.columns.team.timezone: must be text"),
        ('{ column = "x", match = 1 }', "m.toml:7:reps.columns.team.match: must be text"),
        ('{ column = "x", values = ["a"] }', 'm.toml:7:reps.columns.team.values: must be a table of "text in the file" = "canonical value"'),
        ('{ column = "x", values = { a = 1 } }', 'm.toml:7:reps.columns.team.values: must be a table of "text in the file" = "canonical value"'),
        ('{ column = "x", match = "exact" }', 'm.toml:7:reps.columns.team.match: the only match is "loose"'),
        ('{ column = "x", match = "loose" }', "m.toml:7:reps.columns.team.match: loose matching is for rep_id only"),
        ('{ column = "x", when = 3 }', 'm.toml:7:reps.columns.team.when: must be a table of column = value(s), such as { Stage = ["Won", "Lost"] }, or { sql = "..." }'),
        ('{ column = "x", when = {} }', 'm.toml:7:reps.columns.team.when: must be a table of column = value(s), such as { Stage = ["Won", "Lost"] }, or { sql = "..." }'),
        ('{ column = "x", when = { A = [] } }', "m.toml:7:reps.columns.team.when.A: must be a value or a list of values"),
        ('{ column = "x", when = { A = ["a", {}] } }', "m.toml:7:reps.columns.team.when.A: must be a value or a list of values"),
        ('{ column = "x", when = { A = {} } }', "m.toml:7:reps.columns.team.when.A: must be a value or a list of values"),
        ('{ column = "x", lookup = "t.csv" }', f"m.toml:7:reps.columns.team.lookup: {LOOKUP_MSG}"),
        ('{ column = "x", lookup = { file = "t.csv", key = "k" } }', f"m.toml:7:reps.columns.team.lookup: {LOOKUP_MSG}"),
        ('{ column = "x", lookup = { file = "t.csv", key = "k", value = "v", extra = "e" } }', f"m.toml:7:reps.columns.team.lookup: {LOOKUP_MSG}"),
        ('{ column = "x", lookup = { file = "t.csv", key = "", value = "v" } }', f"m.toml:7:reps.columns.team.lookup: {LOOKUP_MSG}"),
        ('{ column = "x", lookup = { file = "t.csv", key = 1, value = "v" } }', f"m.toml:7:reps.columns.team.lookup: {LOOKUP_MSG}"),
        ('{ column = "x", lookup = { file = "/t.csv", key = "k", value = "v" } }', "m.toml:7:reps.columns.team.lookup.file: must name a file inside DATA (a relative name)"),
        ('{ column = "x", lookup = { file = "a/../t.csv", key = "k", value = "v" } }', "m.toml:7:reps.columns.team.lookup.file: must name a file inside DATA (a relative name)"),
        ('{ column = "x", lookup = { file = "t.csv", key = "k", value = "v", match = "exact" } }', 'm.toml:7:reps.columns.team.lookup.match: the only match is "loose"'),
        ('{ value = "x", lookup = { file = "t.csv", key = "k", value = "v" } }', "m.toml:7:reps.columns.team.lookup: a constant value takes no lookup"),
    ],
)
def test_each_bad_column_spec_is_one_located_problem(tmp_path: Path, team: str, expected: str) -> None:
    assert _errors(tmp_path, REPS.replace('team = "Office"', f"team = {team}")) == [expected]


def test_a_lookup_without_match_is_exact_and_a_when_sql_must_be_text(tmp_path: Path) -> None:
    spec = '{ column = "x", lookup = { file = "sub/t.csv", key = "k", value = "v" }, when = { sql = 1 } }'
    [part] = _read(tmp_path, REPS.replace('team = "Office"', f"team = {spec}")).parts["reps"]
    # { sql = 1 } is not an SQL condition: it is the column "sql" holding 1.
    assert part.columns["team"] == ColumnSpec(
        column="x", lookup=Lookup("sub/t.csv", "k", "v", False), when=Condition(equals=(("sql", ("1",)),)), line=7
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('fiel = "x"\nzed = 1', [f"m.toml:4:reps.fiel: unknown key (a table section takes: {PART_KEYS})"]),
        ("derive_missing = 1\ndelimiter = 1", ['m.toml:5:reps.delimiter: must be one character, such as "," or ";"']),
        ('delimiter = ";;"', ['m.toml:4:reps.delimiter: must be one character, such as "," or ";"']),
        ('encoding = "utf-16"', ["m.toml:4:reps.encoding: must be one of: utf-8, latin-1"]),
        ('exclude = "x"', ['m.toml:4:reps.exclude: must be a list of { reason = "...", when = ... } ([[...]] sections)']),
        ("note = [1]", ['m.toml:4:reps.note: must be a list of { says = "...", when = ... } ([[...]] sections)']),
    ],
)
def test_each_bad_section_key_is_located(tmp_path: Path, extra: str, expected: list[str]) -> None:
    # The keys go into [reps], before [reps.columns]: lines 4 and 5.
    text = REPS.replace("[reps.columns]", extra + "\n\n[reps.columns]")
    assert _errors(tmp_path, text) == expected


def test_section_problems_that_stop_the_section(tmp_path: Path) -> None:
    assert _errors(tmp_path, REPS.replace('file = "owners.csv"', "file = 3")) == ['m.toml:1:reps: needs file = "name of the file in DATA"']
    assert _errors(tmp_path, REPS.replace('file = "owners.csv"', 'file = ""')) == ['m.toml:1:reps: needs file = "name of the file in DATA"']
    assert _errors(tmp_path, REPS.replace('file = "owners.csv"', 'file = "../x.csv"')) == [
        'm.toml:2:reps.file: must name a file inside DATA (a relative name such as "deals.csv")'
    ]
    assert _errors(tmp_path, REPS.replace('file = "owners.csv"', 'file = "/x.csv"')) == [
        'm.toml:2:reps.file: must name a file inside DATA (a relative name such as "deals.csv")'
    ]
    assert _errors(tmp_path, '[reps]\nfile = "o.csv"\ncolumns = 3\n') == ["m.toml:1:reps: needs a [reps.columns] section"]
    assert _errors(tmp_path, '[reps]\nfile = "o.csv"\n') == ["m.toml:1:reps: needs a [reps.columns] section"]


def test_unknown_and_missing_columns_and_derive_missing_elsewhere(tmp_path: Path) -> None:
    text = REPS.replace('team = "Office"', 'bogus = "B"\nmanager = { column = "M", match = "loose" }')
    assert _errors(tmp_path, text) == [
        "m.toml:4:reps.columns: does not map team, which reps requires",
        "m.toml:7:reps.columns.bogus: reps has no column 'bogus' (columns: rep_id, rep_name, team, manager, region, hire_date)",
        "m.toml:8:reps.columns.manager.match: loose matching is for rep_id only",
    ]
    # manager may be empty: unmapped is fine (no problem above). derive_missing is for reps.
    opps = (
        '[opportunities]\nfile = "d.csv"\nderive_missing = true\n[opportunities.columns]\n'
        'opportunity_id = "D"\nrep_id = "O"\ncreated_at = "C"\nstage = "S"\nstatus = "S"\n'
    )
    assert _errors(tmp_path, opps) == ["m.toml:3:opportunities.derive_missing: is for the reps table only"]
    # derive_missing = false says nothing; amount, expected_close_date and closed_at may be left out.
    assert list(_read(tmp_path, opps.replace("derive_missing = true", "derive_missing = false")).parts) == ["opportunities"]


def test_filters_are_located_at_their_own_when(tmp_path: Path) -> None:
    text = REPS + """
[[reps.exclude]]
reason = "first"
when = { A = "1" }

[[reps.exclude]]
reason = "  "
when = { A = "2" }

[[reps.exclude]]
when = 5
reason = "third"

[[reps.note]]
says = "x"
"""
    # lines: 9 [[reps.exclude]] 10 reason 11 when | 13 header 14 reason 15 when | 17 header 18 when 19 reason
    #        21 [[reps.note]] 22 says (no `when`: the header's own line)
    assert _errors(tmp_path, text) == [
        "m.toml:15:reps.exclude: each entry needs reason (why, in words) and when, and nothing else",
        'm.toml:18:reps.exclude.when: must be a table of column = value(s), such as { Stage = ["Won", "Lost"] }, or { sql = "..." }',
        "m.toml:21:reps.note: each entry needs says (why, in words) and when, and nothing else",
    ]
    ok = REPS + '\n[[reps.exclude]]\nreason = "r"\n# a comment\n  when = { A = "1" }\n'
    [part] = _read(tmp_path, ok).parts["reps"]
    assert part.exclude == (Filter("r", Condition(equals=(("A", ("1",)),)), 12),)
    # Filters given inline (no [[...]] header) have no line.
    inline = REPS.replace("[reps.columns]", 'exclude = [{ reason = "r", when = { A = 1 } }, { reason = "s", when = { sql = "true" } }]\n[reps.columns]')
    [part] = _read(tmp_path, inline).parts["reps"]
    assert part.exclude == (Filter("r", Condition(equals=(("A", ("1",)),)), None), Filter("s", Condition(sql="true"), None))
    assert _errors(tmp_path, REPS.replace("[reps.columns]", 'note = [{ says = 3, when = { A = 1 } }]\n[reps.columns]')) == [
        "m.toml:4:reps.note: each entry needs says (why, in words) and when, and nothing else"
    ]


def test_problems_of_the_whole_file(tmp_path: Path) -> None:
    assert _errors(tmp_path, "name = 3\n" + REPS) == ["m.toml:1:name: must be text"]
    bad = 'must be a list of texts read as empty, such as ["000000000000000AAA"]'
    assert _errors(tmp_path, 'null_values = "x"\n' + REPS) == [f"m.toml:1:null_values: {bad}"]
    assert _errors(tmp_path, 'null_values = ["a", " "]\n' + REPS) == [f"m.toml:1:null_values: {bad}"]
    assert _errors(tmp_path, "null_values = [1]\n" + REPS) == [f"m.toml:1:null_values: {bad}"]
    tables = "reps, activities, opportunities, opportunity_history, forecasts, quotas, trainings"
    assert _errors(tmp_path, REPS + "\n[deals]\nfile = 1\n") == [
        f"m.toml:9:deals: is not a table (tables: {tables}; and name, null_values)"
    ]
    assert _errors(tmp_path, "quotas = 3\n" + REPS) == ["m.toml:1:quotas: must be a [section] or [[sections]]"]
    assert _errors(tmp_path, 'quotas = [3, "x"]\n' + REPS) == ["m.toml:1:quotas: must be a [section] or [[sections]]"]
    assert _errors(tmp_path, REPS + "\nx = = 1\n") == ["m.toml:9: is not valid TOML: Invalid value"]
    # A section that fails leaves its table out; every problem is reported at once.
    two = REPS.replace('team = "Office"', "team = 3") + '\n[quotas]\nfile = "q.csv"\nbogus = 1\n'
    assert _errors(tmp_path, two) == [
        'm.toml:7:reps.columns.team: must be a column name or a table such as { column = "...", format = "..." }',
        "m.toml:9:quotas: needs a [quotas.columns] section",
        f"m.toml:11:quotas.bogus: unknown key (a table section takes: {PART_KEYS})",
    ]


def test_more_locations(tmp_path: Path) -> None:
    # A key written with an escape is not found in the text: the file only, no line.
    tables = "reps, activities, opportunities, opportunity_history, forecasts, quotas, trainings"
    assert _errors(tmp_path, '"x\\u0079z" = 1\n' + REPS) == [f"m.toml:xyz: is not a table (tables: {tables}; and name, null_values)"]
    # A table's key is its header, not the same words inside an earlier value.
    text = REPS.replace('team = "Office"', 'team = { value = " deals = 1" }') + '\n[deals]\nfile = "d.csv"\n'
    assert _errors(tmp_path, text) == [f"m.toml:9:deals: is not a table (tables: {tables}; and name, null_values)"]
    # Sections as an array of inline tables: a key inside the array is on its own line.
    inline = 'reps = [\n  { file = "../x.csv", columns = { rep_id = "A", rep_name = "A", team = "T" } },\n]\n'
    assert _errors(tmp_path, inline) == ['m.toml:2:reps.file: must name a file inside DATA (a relative name such as "deals.csv")']
    # After a table that is not one, the next tables are still read.
    two_bad = 'quotas = 3\n' + REPS + '\n[deals]\nfile = "d.csv"\n\n[forecasts]\nfile = 1\n'
    assert _errors(tmp_path, two_bad) == [
        "m.toml:1:quotas: must be a [section] or [[sections]]",
        f"m.toml:10:deals: is not a table (tables: {tables}; and name, null_values)",
        'm.toml:13:forecasts: needs file = "name of the file in DATA"',
    ]
    # A column spec that fails on its `when` says only that.
    assert _errors(tmp_path, REPS.replace('team = "Office"', 'team = { column = "x", match = "loose", when = 3 }')) == [
        'm.toml:7:reps.columns.team.when: must be a table of column = value(s), such as { Stage = ["Won", "Lost"] }, or { sql = "..." }'
    ]


def test_filters_of_a_second_section_and_second_entries_are_located_at_their_own_lines(tmp_path: Path) -> None:
    text = """\
[[reps]]
file = "a.csv"
[reps.columns]
rep_id = "A"
rep_name = "A"
team = "T"
[[reps.exclude]]
reason = "a"
when = { A = "1" }

[[reps]]
file = "b.csv"
[reps.columns]
rep_id = "B"
rep_name = "B"
team = "T"
[[reps.exclude]]
reason = "b"
when = { B = "1" }
[[reps.exclude]]
reason = "c"
when = { B = [] }
[[reps.note]]
says = "d"
when = { B = "2" }
[[reps.note]]
says = "e"
"""
    # lines: second section's filters: 17 [[reps.exclude]] 19 when | 20 header 22 when (bad)
    #        23 [[reps.note]] 25 when | 26 [[reps.note]] without when: its header's line
    assert _errors(tmp_path, text) == [
        "m.toml:22:reps.exclude.when.B: must be a value or a list of values",
        "m.toml:26:reps.note: each entry needs says (why, in words) and when, and nothing else",
    ]
    ok = text.replace("when = { B = [] }", 'when = { B = "3" }').replace('says = "e"\n', 'says = "e"\nwhen = { B = "4" }\n')
    a, b = _read(tmp_path, ok).parts["reps"]
    assert [f.line for f in a.exclude] == [9]
    assert [f.line for f in b.exclude] == [19, 22] and [f.line for f in b.note] == [25, 28]


# --------------------------------------------------------------- the SQL, run on tiny tables

SQL_MAPPING = """\
[opportunities]
file = "deals.csv"
delimiter = ";"

[opportunities.columns]
opportunity_id = "Deal"
rep_id = { column = "Owner", match = "loose" }
account_id = { column = "Acc", lookup = { file = "acc.csv", key = "Name", value = "Id", match = "loose" } }
created_at = { column = "Created", format = "%d/%m/%Y %H:%M", timezone = "Europe/Lisbon" }
amount = "Value"
stage = { column = "Stage", values = { " WON " = "Won" }, ignore_case = true }
status = { column = "Stage", values = { " Closed Won" = "won", "Closed Lost" = "lost" }, other = "open" }
expected_close_date = { column = "Due", format = "%d/%m/%Y %H:%M" }
closed_at = { column = "Closed", when = { Stage = ["Closed Won", "Closed Lost"] } }

[[opportunities.exclude]]
reason = "test pipeline"
when = { Pipeline = "Test" }

[[opportunities.exclude]]
reason = "empty open deals"
when = { Stage = "Open", Value = "0" }

[[opportunities.note]]
says = "no value"
when = { Value = "" }

[activities]
file = "calls.csv"

[activities.columns]
activity_id = { sql = 'lower("Id")' }
rep_id = { value = "Jane Smith" }
occurred_at = { column = "When", timezone = "America/New_York" }
activity_type = { column = "Kind", values = { "Call" = "call" }, other = "email" }
opportunity_id = "Deal"
duration_s = { column = "Secs", other = "0", when = { Kind = "Call" } }

[reps]
file = "users.csv"

[reps.columns]
rep_id = "Id"
rep_name = "Name"
team = { column = "Dept", lookup = { file = "teams.csv", key = "Code", value = "Team" } }
manager = { column = "Boss", when = { sql = '"Id" = max("Id") OVER ()' } }
hire_date = { value = "2026-01-05" }

[forecasts]
file = "fc.csv"

[forecasts.columns]
rep_id = "R"
submitted_at = { column = "At", format = "%Y%m%d" }
period_start = { column = "S", timezone = "Europe/Lisbon" }
period_end = { column = "E", format = "%d/%m/%Y" }
amount = { column = "A", format = "%d" }
"""

DEALS = (
    ["Deal", "Owner", "Stage", "Value", "Closed", "Created", "Due", "Acc", "Pipeline"],
    [
        ["D1", "jane  SMITH", "Closed Won", "10", "2026-03-20", "01/07/2026 10:30", "01/07/2026 23:59", " acme  corp", "New"],
        ["D2", "Tom Lee", "Closed Lost", "", "2026-03-21", "15/01/2026 10:30", "bad", "Nobody", "New"],
        ["D3", "Ann", "", "  ", "2026-03-22", "2026-01-15 10:30", "", "", "New"],
        ["D4", "Sam", " WoN ", "5", "", "nonsense", "31/12/2026 00:00", "Acme Corp", "New"],
        ["D5", "x", "Open", "1", "", "", "", "", "Test"],
        ["D6", "Ann", "Open", "0", "", "", "", "", "New"],
        ["D7", "Ann", "Open", "7", "", "", "", "Birch", None],
        ["", "Ann", "Open", "1", "", "", "", "", "Test"],
    ],
)
CALLS = (
    ["Id", "When", "Kind", "Deal", "Secs"],
    [
        [" C1 ", "2026-01-15 09:00", "Call", "D1", "60"],
        ["C2", "yesterday", "Mail", "D5", "30"],
        ["C3", "2026-07-01 12:00", "Call", "", ""],
        ["C4", "yesterday", "Visit", "D2", "10"],
    ],
)
USERS = (
    ["Id", "Name", "Boss", "Dept"],
    [["U1", "Ann", "U9", "east"], ["U2", "Bob", "U9", "EAST"], ["U3", "Cy", "U1", " west"], ["U4", "Di", "U2", "dup"]],
)
FC = (
    ["R", "At", "S", "E", "A"],
    [["U1", "20260105", "2026-07-01 23:30", "30/09/2026", "5"], ["U2", "x", "soon", "2026-09-30", "6"]],
)


def _table(con: duckdb.DuckDBPyConnection, name: str, header: list[str], rows: list[list[str | None]], row: bool = True) -> None:
    """A table of text cells as the loader's file views have them (``_row`` = 1, 2, ...)."""
    cols = (["_row BIGINT"] if row else []) + [f'"{c}" VARCHAR' for c in header]
    con.execute(f'CREATE TABLE "{name}" ({", ".join(cols)})')
    for i, r in enumerate(rows, start=1):
        values = ([i] if row else []) + r
        con.execute(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(values))})', values)


@pytest.fixture
def db(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Mapping]:
    return _db(tmp_path)


def _db(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Mapping]:
    """The mapping SQL_MAPPING, and a DuckDB holding its files and lookup files."""
    mp = _read(tmp_path, SQL_MAPPING)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _table(con, "deals", *DEALS)
    _table(con, "calls", *CALLS)
    _table(con, "users", *USERS)
    _table(con, "fc", *FC)
    # Lookup files: the table of each is named after the file and the section's delimiter.
    _table(con, m.file_table(tmp_path / "acc.csv", ";"), ["Name", "Id"], [["Acme Corp", "A1"], ["Birch", "B1"]], row=False)
    teams = [["east", "East"], ["west ", "West"], ["dup", "B"], ["dup", "A"], ["none", " "]]
    _table(con, m.file_table(tmp_path / "teams.csv", ","), ["Code", "Team"], teams, row=False)
    _table(con, m.REP_KEYS, ["key", "rep_id"], [["jane smith", "Jane Smith"], ["tom lee", "Tom Lee"]], row=False)
    return con, mp


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_every_way_to_read_a_value_on_a_tiny_export(db: tuple[duckdb.DuckDBPyConnection, Mapping], tmp_path: Path) -> None:
    con, mp = db
    [opps] = mp.parts["opportunities"]
    got = _run(con, m.part_sql(opps, "deals", folder=tmp_path))
    # columns: _row, opportunity_id, rep_id, account_id, created_at, amount, stage, status,
    # expected_close_date, closed_at. D5 (pipeline Test) and D6 (Open and 0) are excluded.
    assert got == [
        # "jane  SMITH" -> loose key "jane smith" -> Jane Smith; " acme  corp" -> Acme Corp's A1;
        # 10:30 in Lisbon in July (UTC+1) is 09:30 UTC; the due date keeps the calendar day;
        # "Closed Won" is not " WON " (stage kept as it is) but is " Closed Won" (keys trimmed too): won.
        (1, "D1", "Jane Smith", "A1", "2026-07-01 09:30:00+00", "10", "Closed Won", "won", "2026-07-01 00:00:00", "2026-03-20"),
        # no account "Nobody"; January in Lisbon is UTC+0; "bad" is kept for validation to report.
        (2, "D2", "Tom Lee", None, "2026-01-15 10:30:00+00", None, "Closed Lost", "lost", "bad", "2026-03-21"),
        # An empty stage stays empty under both value maps (no `other`), blanks are empty,
        # an ISO time does not match the format: kept behind chr(1) (time zone given);
        # closed_at only where the stage is Closed Won or Closed Lost.
        (3, "D3", "Ann", None, "\x012026-01-15 10:30", None, None, None, None, None),
        # " WoN " matches " WON " ignoring case and spaces; not "Closed Won": other = open.
        (4, "D4", "Sam", "A1", "\x01nonsense", "5", "Won", "open", "2026-12-31 00:00:00", None),
        # Open and 7: the second exclude needs both of its terms; a missing cell is empty.
        (7, "D7", "Ann", "B1", None, "7", "Open", "open", None, None),
    ]
    excluded = m.excluded_ids_sql(opps, "deals", tmp_path)
    assert con.execute(excluded).fetchall() == [("D5",), ("D6",), (None,)]
    con.execute(f"CREATE VIEW {m.EXCLUDED_OPPORTUNITIES} AS {excluded}")

    [calls] = mp.parts["activities"]
    assert m.excluded_ids_sql(calls, "calls", tmp_path) is None  # not opportunities
    # columns: _row, activity_id, rep_id, occurred_at, activity_type, opportunity_id, duration_s
    every = [
        # 09:00 in New York in January (UTC-5) is 14:00 UTC; a Call with seconds: other = "0".
        (1, "c1", "Jane Smith", "2026-01-15 14:00:00+00", "call", "D1", "0"),
        (2, "c2", "Jane Smith", "\x01yesterday", "email", "D5", None),
        # July in New York is UTC-4; no seconds: empty even with `other`.
        (3, "c3", "Jane Smith", "2026-07-01 16:00:00+00", "call", None, None),
        (4, "c4", "Jane Smith", "\x01yesterday", "email", "D2", None),  # not a Call: `when`
    ]
    assert _run(con, m.part_sql(calls, "calls", folder=tmp_path, cascade=False)) == every
    # The call on the excluded deal D5 goes with it (an excluded row without id excludes nothing).
    assert _run(con, m.part_sql(calls, "calls", folder=tmp_path)) == [every[0], every[2], every[3]]

    [users] = mp.parts["reps"]
    # The columns mapped, in canonical order (region is not mapped), after _row.
    assert con.sql(m.part_sql(users, "users", folder=tmp_path)).columns == ["_row", "rep_id", "rep_name", "team", "manager", "hire_date"]
    assert _run(con, m.part_sql(users, "users", folder=tmp_path)) == [
        (1, "U1", "Ann", "East", None, "2026-01-05"),  # manager only where Id is the largest (a window)
        (2, "U2", "Bob", None, None, "2026-01-05"),  # exact lookup: "EAST" is not "east"
        (3, "U3", "Cy", "West", None, "2026-01-05"),  # both sides trimmed
        (4, "U4", "Di", "A", "U2", "2026-01-05"),  # two rows with key dup: the smallest value
    ]

    # Without the data folder no lookup is made: the file's own cell.
    assert [r[3] for r in _run(con, m.part_sql(users, "users"))] == ["east", "EAST", "west", "dup"]

    [fc] = mp.parts["forecasts"]
    # columns: _row, rep_id, submitted_at, period_start, period_end, amount
    assert _run(con, m.part_sql(fc, "fc", folder=tmp_path)) == [
        # a format without time zone: a value that does not parse is kept with no marker;
        # a date column is never shifted by a time zone; a format on a number is ignored.
        (1, "U1", "2026-01-05 00:00:00", "2026-07-01 00:00:00", "2026-09-30 00:00:00", "5"),
        (2, "U2", "x", "soon", "2026-09-30", "6"),  # no marker on a date column
    ]


def test_the_flagged_file_has_a_column_per_filter_and_lookup_key(db: tuple[duckdb.DuckDBPyConnection, Mapping]) -> None:
    con, mp = db
    [opps] = mp.parts["opportunities"]
    rel = con.sql(m.flagged_sql(opps, "deals"))
    assert rel.columns == ["_row", *DEALS[0], "_exclude_0", "_exclude_1", "_note_0", "_key_account_id"]
    got = sorted(con.execute(f"SELECT _row, _exclude_0, _exclude_1, _note_0, _key_account_id FROM ({m.flagged_sql(opps, 'deals')})").fetchall())
    assert got == [
        (1, False, False, False, "acme  corp"),
        (2, False, False, True, "Nobody"),
        (3, False, False, True, None),  # "  " is empty
        (4, False, False, False, "Acme Corp"),
        (5, True, False, False, None),
        (6, False, True, False, None),
        (7, False, False, False, "Birch"),
        (8, True, False, False, None),
    ]
    [users] = mp.parts["reps"]
    assert con.sql(m.flagged_sql(users, "users")).columns == ["_row", *USERS[0], "_key_team"]
    # A section without filters or lookups: the file as it is, every row kept.
    [fc] = mp.parts["forecasts"]
    assert m.flagged_sql(fc, "fc") == "SELECT * FROM fc"
    assert "WHERE NOT (false)" in m.part_sql(fc, "fc")


def test_an_opportunities_section_without_exclude_excludes_nothing(tmp_path: Path) -> None:
    mp = _read(tmp_path, '[opportunities]\nfile = "d.csv"\n[opportunities.columns]\nopportunity_id = "D"\nrep_id = "O"\ncreated_at = "C"\nstage = "S"\nstatus = "S"\n')
    [opps] = mp.parts["opportunities"]
    assert m.excluded_ids_sql(opps, "d") is None


def test_excluded_ids_are_the_mapped_ids(tmp_path: Path) -> None:
    text = (
        '[opportunities]\nfile = "d.csv"\ndelimiter = "|"\n[opportunities.columns]\n'
        'opportunity_id = { column = "D", lookup = { file = "ids.csv", key = "Name", value = "Id" } }\n'
        'rep_id = "O"\ncreated_at = "C"\nstage = "S"\nstatus = "S"\n'
        '[[opportunities.exclude]]\nreason = "r"\nwhen = { S = "x" }\n'
    )
    [opps] = _read(tmp_path, text).parts["opportunities"]
    con = duckdb.connect()
    _table(con, "d", ["D", "O", "C", "S"], [["a", "o", "c", "x"], ["b", "o", "c", "y"]])
    _table(con, m.file_table(tmp_path / "ids.csv", "|"), ["Name", "Id"], [["a", "ID-A"], ["b", "ID-B"]], row=False)
    assert con.execute(m.excluded_ids_sql(opps, "d", tmp_path)).fetchall() == [("ID-A",)]


def test_sql_columns_in_duckdb_syntax() -> None:
    assert m.sql_columns('"A" // 2') == ("A",)  # DuckDB's integer division: other dialects fail
    assert m.sql_columns('upper(E) || "F" || "t"."G"') == ("F",)  # unquoted or qualified: not a file column


def test_sql_building_blocks() -> None:
    con = duckdb.connect()
    one = lambda sql: con.execute(f"SELECT {sql}").fetchone()[0]  # noqa: E731
    assert m.lookup_key("team") == '"_key_team"'
    # Loose key: lower case, trimmed, runs of any white space (tab too) made one space.
    assert one(m.loose_key_sql("'  Jane \t  SMITH  '")) == "jane smith"
    assert m.loose_key_sql("x") == "lower(trim(regexp_replace(x, '\\s+', ' ', 'g')))"
    cond = Condition(equals=(("A", ("1", "")), ("B", ("x",))))
    t = "(SELECT * FROM (VALUES (NULL, 'x'), ('1', 'x'), (' 1 ', 'y'), ('2', 'x')) t(\"A\", \"B\"))"
    got = con.execute(f"SELECT {m.condition_sql(cond)} FROM {t}").fetchall()
    assert got == [(True,), (True,), (False,), (False,)]  # "" matches an empty cell; both terms hold
    assert one(m.condition_sql(Condition(sql="NULL"))) is False  # never NULL
    assert one(m.source_sql(ColumnSpec(value="O'Neill"))) == "O'Neill"
    assert one(m.source_sql(ColumnSpec(sql="'  a  '"))) == "a"
    assert one(m.source_sql(ColumnSpec(sql="'   '"))) is None
    # the key arrives trimmed (flagged_sql); the file's key and value are trimmed here
    assert one(m.lookup_sql(Lookup("f", "k", "v"), "'A'", "(SELECT ' a ' AS k, 'x' AS v UNION ALL SELECT 'A', ' y ')")) == "y"
    assert one(m.lookup_sql(Lookup("f", "k", "v", True), "'A'", "(SELECT ' a ' AS k, 'x' AS v UNION ALL SELECT 'B', 'y')")) == "x"


def test_file_table_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = m.file_table(tmp_path / "a.csv")
    assert re.fullmatch(r"file_[0-9a-f]{16}", name)
    assert m.file_table(tmp_path / "a.csv", ",") == name  # "," is the default
    assert m.file_table(tmp_path / "a.csv", ";") != name
    assert m.file_table(tmp_path / "b.csv") != name
    monkeypatch.chdir(tmp_path)
    assert m.file_table(Path("a.csv")) == name  # the same file named relatively


# --------------------------------------------------------------- lists of ways, by file header

WAYS = """\
[reps]
file = "u.csv"

[reps.columns]
rep_id = "Id"
rep_name = ["Full Name", { sql = "\\"First\\" || ' ' || \\"Last\\"", when = { Active = "1" } }, { column = "Login", lookup = { file = "l.csv", key = "k", value = "v" } }]
team = ["Dept", { value = "" }]
manager = ["Boss", { sql = "'none'", when = { sql = "\\"Id\\" > ''" } }]
region = ["Office", { value = "HQ" }]
hire_date = [{ column = "Hired", when = { Flag = "1" } }, { column = "Start", when = { sql = "true" } }]
"""


def test_each_column_is_read_the_first_way_the_file_allows_with_a_note(tmp_path: Path) -> None:
    [part] = _read(tmp_path, WAYS).parts["reps"]
    first = {name: m.replace(spec, fallbacks=()) for name, spec in part.columns.items()}
    # Every first way's columns are there: no note, the first ways (without their fallbacks).
    resolved, notes = m.resolve_part(part, ["Id", "Full Name", "Dept", "Boss", "Office", "Hired", "Flag"], "u.csv")
    assert (resolved.columns, notes) == (first, [])
    assert resolved.file == "u.csv" and resolved.table == "reps"
    resolved, notes = m.resolve_part(part, ["Id", "First", "Last", "Active", "Start"], "u.csv")
    assert [str(n) for n in notes] == [
        "u.csv: note: reps.rep_name: the file has no Full Name: an expression over First, Last where Active says so instead",
        "u.csv: note: reps.team: the file has no Dept: left empty instead",
        "u.csv: note: reps.manager: the file has no Boss: an expression over the file where Id says so instead",
        "u.csv: note: reps.region: the file has no Office: the constant 'HQ' instead",
        "u.csv: note: reps.hire_date: the file has no Hired, Flag: column Start where its condition says so instead",
    ]
    assert resolved.columns["rep_name"] == part.columns["rep_name"].fallbacks[0]
    assert resolved.columns["team"] == ColumnSpec(value="", line=7)
    # The second way of rep_name needs First, Last and Active: the third is read.
    resolved, notes = m.resolve_part(part, ["Id", "Login", "First", "Last"], "u.csv")
    assert str(notes[0]) == "u.csv: note: reps.rep_name: the file has no Full Name: column Login, looked up in l.csv instead"
    assert resolved.columns["rep_name"] == ColumnSpec(column="Login", lookup=Lookup("l.csv", "k", "v"), line=6)
    # No way fits: the first is kept (validation names its missing columns), no note.
    resolved, notes = m.resolve_part(part, ["Id", "Start"], "u.csv")
    assert resolved.columns["rep_name"] == first["rep_name"]
    assert [n.message.split(":")[0] for n in notes] == ["reps.team", "reps.manager", "reps.region", "reps.hire_date"]
    assert all((n.file, n.line, n.column, n.severity) == ("u.csv", None, None, "note") for n in notes)
    # A header of exactly the first way's columns reads the first way.
    resolved, notes = m.resolve_part(part, ["Dept"], "u.csv")
    assert resolved.columns["team"] == first["team"] and "reps.team" not in [n.message.split(":")[0] for n in notes]


def test_the_file_columns_a_way_needs(tmp_path: Path) -> None:
    assert ColumnSpec(column="A").file_columns == ("A",)
    assert ColumnSpec(value="x").file_columns == ()
    # With sql, the column only names the messages' column: the sql's columns are needed.
    assert ColumnSpec(column="A", sql='"B" || "C" || "B"').file_columns == ("B", "C")
    when = Condition(equals=(("D", ("1",)), ("A", ("2",))))
    assert ColumnSpec(column="A", when=when).file_columns == ("A", "D")
    assert ColumnSpec(column="A", when=Condition(sql='"E" > 1')).file_columns == ("A", "E")
    assert ColumnSpec(value="x", when=Condition(sql="true")).file_columns == ()
    assert ColumnSpec(column="A").describe() == "column A"
    assert ColumnSpec(sql="1").describe() == "an expression over the file"
    assert ColumnSpec(column="A", when=when).describe() == "column A where D, A says so"
    assert ColumnSpec(value="x", when=when).describe() == "the constant 'x'"
    assert Condition(equals=(("D", ("1",)),)).columns == ("D",) and Condition(sql='"D"').columns == ()
    # A part's file columns: plain columns (not those of sql), conditions', filters'.
    part = Part(
        "reps",
        "u.csv",
        {"rep_id": ColumnSpec(column="A", sql='"Z"'), "team": ColumnSpec(column="B", when=when)},
        exclude=(Filter("x", Condition(equals=(("F", ("1",)),))),),
        note=(Filter("y", Condition(equals=(("B", ("1",)), ("G", ("1",))))), Filter("z", Condition(sql='"H" AND "Z"'))),
    )
    assert part.file_columns == ("B", "D", "A", "F", "G")
    assert part.sql_file_columns == (
        ("Z", "the sql of reps.columns.rep_id"),
        ("H", "the condition of note 'z'"),
        ("Z", "the condition of note 'z'"),
    )
    part = Part("reps", "u.csv", {"team": ColumnSpec(column="B", when=Condition(sql='"W" = 1'))}, exclude=(Filter("x", Condition(sql='"V"')),))
    assert part.sql_file_columns == (("W", "the when of reps.columns.team"), ("V", "the condition of exclude 'x'"))


def test_presets_and_resolving_a_mapping(tmp_path: Path) -> None:
    for name in ("salesforce", "hubspot"):
        path = m.preset_path(name)
        assert path.name == f"{name}.toml" and path.parent.name == "presets" and path.is_file()
        assert m.resolve_mapping(preset=name) == read_mapping(path)
    assert m.PRESETS == ("salesforce", "hubspot")
    with pytest.raises(DataError) as info:
        m.preset_path("zoho")
    assert [str(p) for p in info.value.problems] == ["--preset: unknown preset 'zoho' (presets: salesforce, hubspot)"]
    with pytest.raises(DataError) as info:
        m.resolve_mapping(preset="salesforce", mapping=tmp_path / "m.toml")
    assert [str(p) for p in info.value.problems] == ["--mapping: give either a preset or a mapping file, not both"]
    assert m.resolve_mapping() is None
    (tmp_path / "m.toml").write_text(REPS)
    assert m.resolve_mapping(mapping=str(tmp_path / "m.toml")) == read_mapping(tmp_path / "m.toml")
    assert m.resolve_mapping(mapping=tmp_path / "m.toml").name == "m"


def test_a_mapping_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        read_mapping(tmp_path / "nope.toml")
    assert [str(p) for p in info.value.problems] == [f"{tmp_path / 'nope.toml'}: no such mapping file"]
    (tmp_path / "bad.toml").write_bytes(b"\xff = 1\n")
    with pytest.raises(DataError) as info:
        read_mapping(str(tmp_path / "bad.toml"))
    assert [str(p) for p in info.value.problems] == [
        "bad.toml: cannot be read: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    ]
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(DataError) as info:
        read_mapping(tmp_path / "dir.toml")
    assert [str(p) for p in info.value.problems] == [f"dir.toml: cannot be read: [Errno 21] Is a directory: '{tmp_path / 'dir.toml'}'"]
    # TOML errors: located when tomllib says the line, else the file only.
    assert _errors(tmp_path, 'a = "') == ["m.toml: is not valid TOML: Unterminated string (at end of document)"]
    assert _errors(tmp_path, "[x]\n[x]\n") == ["m.toml:2: is not valid TOML: Cannot declare ('x',) twice"]


def test_lines_of_keys_in_headers_quotes_arrays_and_later_sections(tmp_path: Path) -> None:
    text = """\
[reps]
file = "owners.csv"

[reps.columns]
"rep_id" = 1
'rep_name' = 2
team = [
  "Dept",
  { column = "X", format = 1 },
]

[reps.columns.manager]
column = "M"
timezone = 3
"""
    assert _errors(tmp_path, text) == [
        "m.toml:5:reps.columns.rep_id: must be a column name or a table such as { column = \"...\", format = \"...\" }",
        "m.toml:6:reps.columns.rep_name: must be a column name or a table such as { column = \"...\", format = \"...\" }",
        "m.toml:9:reps.columns.team.format: must be text",  # inside the array, on its own line
        "m.toml:14:reps.columns.manager.timezone: must be text",
    ]
    # Dotted keys; a key found on the line of the one before it, though a later line has it too.
    dotted = """\
[reps]
file = "o.csv"
columns.rep_id = { column = "A", format = 1 }
columns.rep_name = "A"
columns.team = 3

[reps.columns.manager]
column = "M"
format = 3
"""
    assert _errors(tmp_path, dotted) == [
        "m.toml:3:reps.columns.rep_id.format: must be text",
        "m.toml:5:reps.columns.team: must be a column name or a table such as { column = \"...\", format = \"...\" }",
        "m.toml:9:reps.columns.manager.format: must be text",
    ]
    # Two [[sections]] of one table: each problem in its own section.
    two = """\
[[reps]]
file = "a.csv"
[reps.columns]
rep_id = "A"
rep_name = "A"
team = 1

[[ reps ]]
file = "b.csv"
[reps.columns]
rep_id = "B"
rep_name = "B"
team = 2
"""
    assert _errors(tmp_path, two) == [
        "m.toml:6:reps.columns.team: must be a column name or a table such as { column = \"...\", format = \"...\" }",
        "m.toml:13:reps.columns.team: must be a column name or a table such as { column = \"...\", format = \"...\" }",
    ]
    ok = two.replace("team = 1", 'team = "T"').replace("team = 2", 'team = "U"')
    a, b = _read(tmp_path, ok).parts["reps"]
    assert (a.file, a.columns["team"].line, b.file, b.columns["team"].line) == ("a.csv", 6, "b.csv", 13)


def test_a_mapping_file_is_read_as_utf_8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as UTF-8 explicitly: under a Windows locale (cp1252) "São Paulo" would be mangled."""
    import codecs

    asked: list[str | None] = []
    read_text = Path.read_text

    def spy(self: Path, encoding: str | None = None, errors: str | None = None) -> str:
        asked.append(encoding)
        return read_text(self, encoding=encoding, errors=errors)

    monkeypatch.setattr(Path, "read_text", spy)
    mp = _read(tmp_path, REPS.replace('team = "Office"', 'team = { value = "São Paulo" }'))
    assert mp.parts["reps"][0].columns["team"].value == "São Paulo"
    assert asked and all(a is not None and codecs.lookup(a).name == "utf-8" for a in asked)
