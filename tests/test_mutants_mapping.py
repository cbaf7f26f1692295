"""Mutation tests of salesx2lib.mapping: the mapping file read back exactly, and the SQL
of each way to read a value run on a tiny table in DuckDB.

Every expected value is written by hand from the small mapping file or table in the
test (line numbers counted in the text shown; SQL results from the cells shown). No test
loads a data folder: the reader is pure Python and the SQL runs on an in-memory table,
so the whole file runs in about a second (``scripts/mutation.py`` runs it per mutant).
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
