"""Mapping files: reading a CRM export as the canonical tables (salesx2lib.mapping).

The fixture ``tests/fixtures/spreadsheet`` is the generic two-file export of
docs/mapping.md: deals with owner names, stage text, two dd/mm/yyyy dates and a value,
and an owners file giving each owner a manager and an office.
"""

from __future__ import annotations

import io
import json
import re
import string
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib.cli import main
from salesx2lib.load import load_dataset
from salesx2lib.sample import NOT_GENERATED
from salesx2lib.mapping import PRESETS, UNASSIGNED_TEAM, preset_path, read_mapping, sql_columns
from salesx2lib.problems import DataError
from salesx2lib.summary import dataset_summary

FIXTURE = Path(__file__).parent / "fixtures" / "spreadsheet"
DOCS = Path(__file__).parents[1] / "docs" / "mapping.md"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A writable copy of the spreadsheet export (mapping.toml inside)."""
    target = tmp_path / "export"
    shutil.copytree(FIXTURE, target)
    return target


def _errors(folder: Path, mapping: Path | None = None) -> list[str]:
    with pytest.raises(DataError) as info:
        load_dataset(folder, mapping=mapping or folder / "mapping.toml")
    return [str(p) for p in info.value.problems if p.severity == "error"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# ------------------------------------------------------------------ the worked example


def test_spreadsheet_export_loads_with_every_value_mapped() -> None:
    ds = load_dataset(FIXTURE, mapping=FIXTURE / "mapping.toml")
    opp = ds.opportunities.set_index("opportunity_id")
    # The Renewals row is excluded; the other seven deals are there.
    assert sorted(opp.index) == sorted(
        ["Acme - 40 seats", "Birch Ltd", "Cobalt GmbH", "Delta pilot", "Elm & Co", "Fjord AS", "Granite Inc"]
    )
    assert opp.loc["Acme - 40 seats", "status"] == "won"
    assert opp.loc["Birch Ltd", "status"] == "lost"
    assert opp.loc["Delta pilot", "status"] == "open"  # other = "open"
    assert opp.loc["Delta pilot", "stage"] == "Negotiation"
    # dd/mm/yyyy read as day first; closed_at only on closed deals.
    assert opp.loc["Acme - 40 seats", "created_at"] == pd.Timestamp("2026-03-02")
    assert opp.loc["Acme - 40 seats", "closed_at"] == pd.Timestamp("2026-03-20")
    assert pd.isna(opp.loc["Delta pilot", "closed_at"])
    assert opp.loc["Delta pilot", "expected_close_date"] == pd.Timestamp("2026-04-30")
    assert pd.isna(opp.loc["Fjord AS", "expected_close_date"])
    assert pd.isna(opp.loc["Delta pilot", "amount"])
    assert opp.loc["Cobalt GmbH", "amount"] == 4500.5
    # "jane  smith" is Jane Smith; "Ana Souza " (trailing space) is Ana Souza.
    assert opp.loc["Birch Ltd", "rep_id"] == "Jane Smith"
    assert opp.loc["Elm & Co", "rep_id"] == "Ana Souza"
    reps = ds.reps.set_index("rep_id")
    assert reps.loc["Jane Smith", ["team", "manager", "region"]].tolist() == ["London", "Ravi Patel", "London"]
    # Sam Reed owns a deal but is not in owners.csv: derived, team Unassigned.
    assert reps.loc["Sam Reed", "team"] == UNASSIGNED_TEAM
    assert "Ben Carter" in reps.index  # listed, no deals: kept
    assert ds.teams == ["Lisbon", "London", UNASSIGNED_TEAM]


def test_spreadsheet_export_reports_what_it_decided() -> None:
    ds = load_dataset(FIXTURE, mapping=FIXTURE / "mapping.toml")
    warnings = [str(w) for w in ds.warnings]
    assert warnings == [
        "deals.csv:3:Owner: warning: 'jane  smith' taken as rep 'Jane Smith' of owners.csv (case and spacing ignored; 1 row)",
        "deals.csv:9:Owner: warning: 'Sam Reed' is not in owners.csv: added as a rep of team 'Unassigned' (1 row)",
        "owners.csv:5:Owner: warning: rep 'Ben Carter' has no opportunity in deals.csv",
    ]
    assert [str(n) for n in ds.notes] == ["deals.csv: note: 1 row excluded from opportunities: renewals are not new business"]
    summary = dataset_summary(ds)
    assert summary["incomplete"] == {
        "open_without_amount": 1,
        "open_without_expected_close": 1,
        "won_without_amount": 0,
        "lost_without_amount": 0,
        "without_account": 7,
    }
    assert summary["source"].endswith("(read with mapping.toml, Acme spreadsheet)")


def test_docs_worked_example_is_the_fixture_mapping() -> None:
    """docs/mapping.md shows the fixture's mapping file and files, character for character."""
    docs = DOCS.read_text()
    blocks = re.findall(r"```toml\n(.*?)```", docs, flags=re.S)
    assert (FIXTURE / "mapping.toml").read_text() in blocks
    csv_blocks = re.findall(r"```csv\n(.*?)```", docs, flags=re.S)
    for name in ("deals.csv", "owners.csv"):
        assert (FIXTURE / name).read_text() in csv_blocks, name


def test_cli_validate_json_has_notes_and_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FIXTURE), "--mapping", str(FIXTURE / "mapping.toml"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tables"]["opportunities"]["rows"] == 7
    assert out["teams"] == {"Lisbon": 2, "London": 2, UNASSIGNED_TEAM: 1}
    assert out["notes"] == ["deals.csv: note: 1 row excluded from opportunities: renewals are not new business"]
    assert len(out["warnings"]) == 3


def test_cli_cycle_table_from_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", str(FIXTURE), "--mapping", str(FIXTURE / "mapping.toml"), "--table", "cycle"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    row = table.set_index("team").loc["all"]
    assert (row["n"], row["n_won"], row["n_lost"], row["n_open"]) == (7, 3, 2, 2)


def test_cli_preset_and_mapping_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", str(FIXTURE), "--preset", "salesforce", "--mapping", str(FIXTURE / "mapping.toml")])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# ------------------------------------------------------------------ located errors in the export


def test_bad_cells_are_located_in_the_export_and_named_by_its_columns(export: Path) -> None:
    deals = export / "deals.csv"
    _edit(deals, "Cobalt GmbH,Tom O'Neill,Closed Won,09/03/2026", "Cobalt GmbH,Tom O'Neill,Closed Won,31/02/2026")
    _edit(deals, ",12000,", ",12k,")
    assert _errors(export) == [
        "deals.csv:2:Value: '12k' is not a number [amount]",
        "deals.csv:4:Created: '31/02/2026' is not a date and time (expected format %d/%m/%Y, as mapping.toml says) [created_at]",
    ]


def test_a_value_missing_from_a_value_map_is_an_error_without_other(export: Path) -> None:
    _edit(export / "mapping.toml", ', other = "open" }', " }")
    errors = _errors(export)
    assert "deals.csv:5:Stage: 'Negotiation' is not one of: open, won, lost [status]" in errors
    assert "deals.csv:7:Stage: 'Proposal' is not one of: open, won, lost [status]" in errors
    assert len(errors) == 2


def test_missing_export_column_and_missing_file(export: Path) -> None:
    _edit(export / "deals.csv", "Deal,Owner,Stage,Created,Closed,Value,Pipeline", "Deal,Owner,Stage,Created,Closed,Amount,Pipeline")
    assert _errors(export) == [
        "deals.csv:1:Value: missing column (mapping.toml reads it for opportunities; the file has: "
        "Deal, Owner, Stage, Created, Closed, Amount, Pipeline)"
    ]
    (export / "deals.csv").unlink()
    assert _errors(export) == [
        f"{export}: missing file deals.csv (mapping.toml reads opportunities from it; the folder has: owners.csv)"
    ]


def test_a_column_named_in_sql_that_the_file_lacks_is_a_missing_column(export: Path) -> None:
    """Not DuckDB's binder error: the same message as a plain column, once per column,
    saying which expression reads it."""
    q = "'''"  # a TOML literal string that may hold single quotes
    _edit(export / "mapping.toml", 'amount = "Value"', f'amount = {{ sql = {q}nullif("Valeur", \'\'){q}, column = "Value" }}')
    _edit(export / "mapping.toml", 'expected_close_date = { column = "Closed", format = "%d/%m/%Y" }',
          f'expected_close_date = {{ sql = {q}coalesce("Valeur", "Due", "Closed"){q}, column = "Closed" }}')
    _edit(export / "mapping.toml", 'when = { Pipeline = "Renewals" }', f'when = {{ sql = {q}"Pipe line" = \'Renewals\'{q} }}')
    shown = "Deal, Owner, Stage, Created, Closed, Value, Pipeline"
    assert _errors(export) == [
        f"deals.csv:1:Due: missing column (mapping.toml reads it in the sql of opportunities.columns.expected_close_date; the file has: {shown})",
        f"deals.csv:1:Pipe line: missing column (mapping.toml reads it in the condition of exclude 'renewals are not new business'; the file has: {shown})",
        f"deals.csv:1:Valeur: missing column (mapping.toml reads it in the sql of opportunities.columns.amount; the file has: {shown})",
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('''coalesce("A b", "C", "A b")''', ("A b", "C")),  # in order, once
        ('''CASE WHEN "X" > 1 THEN "Y" || ' ' || "Z" ELSE "W" END''', ("X", "Y", "Z", "W")),  # as written
        ('''list_transform([1], x -> x + "D")''', ("D",)),  # x is the lambda's own
        ('''upper(E)''', ()),  # unquoted: not counted
        ('''"t"."F"''', ()),  # qualified: not a file column
        ('''CASE WHEN ("G" ''', ()),  # does not parse: DuckDB will say why
    ],
)
def test_sql_columns_are_the_double_quoted_names(sql: str, expected: tuple[str, ...]) -> None:
    assert sql_columns(sql) == expected


def test_unknown_owner_is_an_error_without_derive_missing(export: Path) -> None:
    _edit(export / "mapping.toml", "derive_missing = true", "derive_missing = false")
    assert _errors(export) == ["deals.csv:9:Owner: unknown rep_id 'Sam Reed' (not in owners.csv) [rep_id]"]


def test_broken_sql_is_located_in_the_mapping_file(export: Path) -> None:
    _edit(export / "mapping.toml", 'amount = "Value"', 'amount = { sql = "Valeu * 1", column = "Value" }')
    [error] = _errors(export)
    assert error.startswith("mapping.toml:22:opportunities.columns.amount: does not run on deals.csv: ")
    assert "Valeu" in error


# ------------------------------------------------------------------ the mapping file itself


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[opportunities.columns]", "[opportunities.columns]\nbogus = \"x\"", "mapping.toml:19:opportunities.columns.bogus: opportunities has no column 'bogus'"),
        ('stage = "Stage"\n', "", "mapping.toml:18:opportunities.columns: does not map stage, which opportunities requires"),
        ('file = "deals.csv"', 'file = "deals.csv"\nfiel = "x"', "mapping.toml:17:opportunities.fiel: unknown key"),
        ("[reps]", "[rep]", "mapping.toml:4:rep: is not a table"),
        ('amount = "Value"', 'amount = { colum = "Value" }', "mapping.toml:22:opportunities.columns.amount.colum: unknown key"),
        ('amount = "Value"', "amount = 3", "mapping.toml:22:opportunities.columns.amount: must be a column name"),
        ('match = "loose"', 'match = "fuzzy"', 'mapping.toml:20:opportunities.columns.rep_id.match: the only match is "loose"'),
        ('when = { Pipeline = "Renewals" }', "when = 5", "mapping.toml:30:opportunities.exclude.when: must be a table"),
        ('name = "Acme spreadsheet"', "name = = 1", "mapping.toml:2: is not valid TOML"),
    ],
)
def test_mapping_file_problems_are_located(export: Path, old: str, new: str, expected: str) -> None:
    _edit(export / "mapping.toml", old, new)
    with pytest.raises(DataError) as info:
        read_mapping(export / "mapping.toml")
    assert any(str(p).startswith(expected) for p in info.value.problems), [str(p) for p in info.value.problems]


def test_presets_are_shipped_mapping_files() -> None:
    for name in PRESETS:
        mapping = read_mapping(preset_path(name))
        assert {"reps", "opportunities"} <= set(mapping.parts), name
    with pytest.raises(DataError, match="unknown preset 'zoho'"):
        preset_path("zoho")


# ------------------------------------------------------------------ features, one by one


def _write(folder: Path, files: dict[str, str], mapping: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "m.toml").write_text(mapping)
    return folder / "m.toml"


REPS = "id,name,team\nr1,Ann,East\nr2,Bob,West\n"
REPS_MAP = """
[reps]
file = "people.csv"
[reps.columns]
rep_id = "id"
rep_name = "name"
team = "team"
"""


def _opps_map(extra: str = "", **columns: str) -> str:
    cols = {
        "opportunity_id": '"id"',
        "rep_id": '"owner"',
        "created_at": '"created"',
        "amount": '"value"',
        "stage": '"stage"',
        "status": '{ column = "stage", values = { won = "won", lost = "lost" }, other = "open" }',
        "expected_close_date": '"close"',
        "closed_at": '{ column = "close", when = { stage = ["won", "lost"] } }',
    }
    cols.update(columns)
    body = "\n".join(f"{k} = {v}" for k, v in cols.items())
    return REPS_MAP + f'\n[opportunities]\nfile = "deals.csv"\n{extra}\n[opportunities.columns]\n{body}\n'


DEALS = "id,owner,created,value,stage,close\nd1,r1,2026-03-02 10:00:00,100,won,2026-03-09\nd2,r2,2026-03-03 11:00:00,,open,2026-04-01\n"


def test_time_zone_converts_local_times_to_utc(tmp_path: Path) -> None:
    m = _write(
        tmp_path,
        {"people.csv": REPS, "deals.csv": DEALS},
        _opps_map(created_at='{ column = "created", timezone = "America/New_York" }'),
    )
    opp = load_dataset(tmp_path, mapping=m).opportunities.set_index("opportunity_id")
    assert opp.loc["d1", "created_at"] == pd.Timestamp("2026-03-02 15:00:00")  # EST, UTC-5
    assert opp.loc["d2", "created_at"] == pd.Timestamp("2026-03-03 16:00:00")


def test_semicolon_export_with_ignore_case_values(tmp_path: Path) -> None:
    deals = DEALS.replace(",", ";").replace(";won;", ";WON;")
    m = _write(
        tmp_path,
        {"people.csv": REPS, "deals.csv": deals},
        _opps_map(
            'delimiter = ";"',
            status='{ column = "stage", values = { won = "won", lost = "lost" }, other = "open", ignore_case = true }',
            closed_at='{ column = "close", when = { stage = ["WON", "lost"] } }',
        ),
    )
    opp = load_dataset(tmp_path, mapping=m).opportunities.set_index("opportunity_id")
    assert opp.loc["d1", "status"] == "won"
    assert opp.loc["d1", "stage"] == "WON"


def test_one_table_from_two_sections_and_a_canonical_table_beside_the_export(tmp_path: Path) -> None:
    """A call file read twice (every call a dial, long ones also conversations), plus quotas.csv as is."""
    calls = "call,who,at,secs\nc1,r1,2026-03-02 09:00:00,0\nc2,r1,2026-03-02 09:10:00,240\nc3,r2,2026-03-03 10:00:00,75\n"
    quotas = "rep_id,period_start,period_end,quota\nr1,2026-03-01,2026-03-31,1000\n"
    activities = """
[[activities]]
file = "calls.csv"
[activities.columns]
activity_id = "call"
rep_id = "who"
occurred_at = "at"
activity_type = { value = "dial" }
duration_s = "secs"

[[activities]]
file = "calls.csv"
[activities.columns]
activity_id = { sql = "call || ':talk'", column = "call" }
rep_id = "who"
occurred_at = "at"
activity_type = { value = "conversation" }
duration_s = "secs"
[[activities.exclude]]
reason = "a call shorter than a minute is not a conversation"
when = { sql = "CAST(secs AS INTEGER) < 60" }
"""
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": DEALS, "calls.csv": calls, "quotas.csv": quotas}, _opps_map() + activities)
    ds = load_dataset(tmp_path, mapping=m)
    acts = ds.activities.to_pandas().sort_values("activity_id")
    assert acts["activity_id"].tolist() == ["c1", "c2", "c2:talk", "c3", "c3:talk"]
    assert acts["activity_type"].tolist() == ["dial", "dial", "conversation", "dial", "conversation"]
    assert ds.tables["quotas"]["quota"].tolist() == [1000.0]
    assert [str(n) for n in ds.notes] == ["calls.csv: note: 1 row excluded from activities (conversation): a call shorter than a minute is not a conversation"]


def test_a_key_repeated_across_sections_is_an_error(tmp_path: Path) -> None:
    calls = "call,who,at\nc1,r1,2026-03-02 09:00:00\n"
    part = '\n[[activities]]\nfile = "calls.csv"\n[activities.columns]\nactivity_id = "call"\nrep_id = "who"\noccurred_at = "at"\nactivity_type = { value = "dial" }\n'
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": DEALS, "calls.csv": calls}, _opps_map() + part + part)
    assert _errors(tmp_path, m) == ["calls.csv: 1 activity_id values occur in more than one section of activities"]


def test_optional_file_absent_means_table_absent(tmp_path: Path) -> None:
    part = '\n[activities]\nfile = "calls.csv"\noptional = true\n[activities.columns]\nactivity_id = "call"\nrep_id = "who"\noccurred_at = "at"\nactivity_type = { value = "dial" }\n'
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": DEALS}, _opps_map() + part)
    ds = load_dataset(tmp_path, mapping=m)
    assert not ds.has("activities")


def test_reps_derived_from_owners_when_the_reps_file_is_absent(tmp_path: Path) -> None:
    m = _write(tmp_path, {"deals.csv": DEALS}, _opps_map().replace('file = "people.csv"', 'file = "people.csv"\noptional = true\nderive_missing = true'))
    ds = load_dataset(tmp_path, mapping=m)
    assert sorted(ds.reps["rep_id"]) == ["r1", "r2"]
    assert set(ds.reps["team"]) == {UNASSIGNED_TEAM}
    assert [str(w) for w in ds.warnings] == [
        f"deals.csv: warning: no reps file: 2 reps derived from the owners, named as the owners are, in team {UNASSIGNED_TEAM!r}"
    ]


def test_parquet_export(tmp_path: Path) -> None:
    m = _write(tmp_path, {"people.csv": REPS}, _opps_map().replace('file = "deals.csv"', 'file = "deals.parquet"'))
    pd.read_csv(io.StringIO(DEALS), dtype="str").to_parquet(tmp_path / "deals.parquet")
    opp = load_dataset(tmp_path, mapping=m).opportunities
    assert opp["amount"].tolist()[0] == 100.0


# ------------------------------------------------------------------ loose matching, for all inputs

_name_part = st.text(alphabet=string.ascii_letters + "éÉøØüÜ", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    first=_name_part,
    last=_name_part,
    pad=st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=3, max_size=3),
    flips=st.lists(st.booleans(), min_size=16, max_size=16),
)
@pytest.mark.slow
def test_loose_matching_finds_the_rep_whatever_the_case_and_spacing(
    tmp_path_factory: pytest.TempPathFactory, first: str, last: str, pad: list[str], flips: list[bool]
) -> None:
    name = f"{first} {last}"
    variant = "".join(c.swapcase() if flips[i % 16] else c for i, c in enumerate(f"{pad[0]}{first}{pad[1]}{last}{pad[2]}"))
    folder = tmp_path_factory.mktemp("loose")
    reps = f"id,name,team\n{name},{name},East\nOther Person,Other Person,West\n"
    deals = f"id,owner,created,value,stage,close\nd1,\"{variant}\",2026-03-02 10:00:00,100,won,2026-03-09\n"
    m = _write(folder, {"people.csv": reps, "deals.csv": deals}, _opps_map(rep_id='{ column = "owner", match = "loose" }'))
    if name.lower() == "other person":
        return
    ds = load_dataset(folder, mapping=m)
    assert ds.opportunities["rep_id"].tolist() == [name]


def test_file_pattern_matches_one_dated_export(tmp_path: Path) -> None:
    m = _write(tmp_path, {"people.csv": REPS, "all-deals-2026-11-27.csv": DEALS}, _opps_map().replace('file = "deals.csv"', 'file = "*deals*.csv"'))
    assert len(load_dataset(tmp_path, mapping=m).opportunities) == 2
    (tmp_path / "all-deals-2026-11-20.csv").write_text(DEALS)
    assert _errors(tmp_path, m) == [
        f"{tmp_path}: *deals*.csv matches 2 files (all-deals-2026-11-20.csv, all-deals-2026-11-27.csv); m.toml reads opportunities from one: keep one"
    ]


def test_activities_on_an_excluded_deal_are_excluded_with_it(tmp_path: Path) -> None:
    deals = DEALS + "d3,r1,2026-03-04 09:00:00,50,open,2026-04-02\n"
    calls = "call,who,at,deal\nc1,r1,2026-03-02 09:00:00,d1\nc2,r1,2026-03-04 10:00:00,d3\nc3,r1,2026-03-04 11:00:00,\n"
    part = (
        '\n[activities]\nfile = "calls.csv"\n[activities.columns]\nactivity_id = "call"\nrep_id = "who"\n'
        'occurred_at = "at"\nactivity_type = { value = "dial" }\nopportunity_id = "deal"\n'
    )
    exclude = '[[opportunities.exclude]]\nreason = "test deal"\nwhen = { id = "d3" }\n'
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": deals, "calls.csv": calls}, _opps_map(exclude) + part)
    ds = load_dataset(tmp_path, mapping=m)
    assert sorted(ds.activities.to_pandas()["activity_id"]) == ["c1", "c3"]
    assert [str(n) for n in ds.notes] == [
        "deals.csv: note: 1 row excluded from opportunities: test deal",
        "calls.csv: note: 1 row excluded from activities: their opportunity is excluded",
    ]


def test_owner_spellings_are_one_derived_rep_without_a_reps_file(tmp_path: Path) -> None:
    deals = (
        "id,owner,created,value,stage,close\n"
        "d1,Jane Smith,2026-03-02 10:00:00,100,won,2026-03-09\n"
        "d2,jane  smith,2026-03-03 10:00:00,100,won,2026-03-09\n"
        "d3,Jane Smith,2026-03-04 10:00:00,100,open,2026-04-09\n"
        "d4,Bob Stone,2026-03-04 10:00:00,100,open,2026-04-09\n"
    )
    reps = _opps_map(rep_id='{ column = "owner", match = "loose" }').replace(
        'file = "people.csv"', 'file = "people.csv"\noptional = true\nderive_missing = true'
    )
    m = _write(tmp_path, {"deals.csv": deals}, reps)
    ds = load_dataset(tmp_path, mapping=m)
    assert sorted(ds.reps["rep_id"]) == ["Bob Stone", "Jane Smith"]  # the spelling most rows use
    assert ds.opportunities["rep_id"].tolist() == ["Jane Smith", "Jane Smith", "Jane Smith", "Bob Stone"]
    assert [str(w) for w in ds.warnings] == [
        "deals.csv: warning: no reps file: 2 reps derived from the owners, named as the owners are, in team 'Unassigned'",
        "deals.csv:3:owner: warning: 'jane  smith' taken as rep 'Jane Smith' of the derived reps (case and spacing ignored; 1 row)",
    ]


def test_a_date_column_with_a_time_format_keeps_the_calendar_date(tmp_path: Path) -> None:
    deals = DEALS.replace("2026-04-01", "2026-04-01 23:30:00")
    m = _write(
        tmp_path,
        {"people.csv": REPS, "deals.csv": deals},
        _opps_map(expected_close_date='{ column = "close", format = "%Y-%m-%d %H:%M:%S", timezone = "Asia/Tokyo" }'),
    )
    opp = load_dataset(tmp_path, mapping=m).opportunities.set_index("opportunity_id")
    assert opp.loc["d2", "expected_close_date"] == pd.Timestamp("2026-04-01")
    assert opp.loc["d1", "expected_close_date"] == pd.Timestamp("2026-03-09")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ('{ sql = "CAST(value AS INTEGER) * 2", column = "value" }', "m.toml:16:opportunities.columns.amount: does not run on deals.csv: Conversion Error"),
        ('{ column = "value", timezone = "Mars/Olympus" }', "m.toml:15:opportunities.columns.created_at: does not run on deals.csv"),
    ],
)
def test_an_expression_failing_on_some_row_is_a_located_problem_not_a_traceback(tmp_path: Path, spec: str, expected: str) -> None:
    deals = DEALS.replace(",100,", ",1e2x,")
    column = "amount" if "CAST" in spec else "created_at"
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": deals}, _opps_map(**{column: spec.replace('"value"', '"created"') if column == "created_at" else spec}))
    errors = _errors(tmp_path, m)
    assert any(e.startswith(expected) for e in errors), errors


def test_lookup_gives_each_rep_a_team_from_another_file(tmp_path: Path) -> None:
    """Reps from the deal owners (one deal each here), their team and manager looked up in a second file."""
    deals = DEALS.replace(",r1,", ",jane smith,").replace(",r2,", ",Ola Berg,")
    teams = "Person,Squad,Boss\nJane  Smith,East,Kim\nNobody,West,Kim\n"
    reps_part = (
        '[reps]\nfile = "deals.csv"\n[reps.columns]\nrep_id = "owner"\nrep_name = "owner"\n'
        'team = { column = "owner", lookup = { file = "teams.csv", key = "Person", value = "Squad", match = "loose" } }\n'
        'manager = { column = "owner", lookup = { file = "teams.csv", key = "Person", value = "Boss", match = "loose" } }\n'
    )
    m = _write(tmp_path, {"deals.csv": deals, "teams.csv": teams}, reps_part + _opps_map().split(REPS_MAP, 1)[1])
    errors = _errors(tmp_path, m)
    # Ola Berg is not in teams.csv: the team is required, so that is an error naming the
    # value and the file (not "is empty": the cell is not), after a warning.
    assert errors == ["deals.csv:3:owner: 'Ola Berg' is not found in teams.csv (Person), and team is required [team]"]
    (tmp_path / "teams.csv").write_text(teams + "Ola Berg,West,Kim\n")
    ds = load_dataset(tmp_path, mapping=m)
    reps = ds.reps.set_index("rep_id")
    assert reps.loc["jane smith", ["team", "manager"]].tolist() == ["East", "Kim"]
    assert reps.loc["Ola Berg", "team"] == "West"


def test_lookup_misses_are_warned_and_a_missing_lookup_file_is_an_error(tmp_path: Path) -> None:
    reps = "id,name,team,boss\nr1,Ann,East,u9\nr2,Bob,West,u1\n"
    users = "Id,Name\nu1,Kim Lee\n"
    reps_part = REPS_MAP.replace('team = "team"', 'team = "team"\nmanager = { column = "boss", lookup = { file = "users.csv", key = "Id", value = "Name" } }')
    m = _write(tmp_path, {"people.csv": reps, "deals.csv": DEALS, "users.csv": users}, reps_part + _opps_map().split(REPS_MAP, 1)[1])
    ds = load_dataset(tmp_path, mapping=m)
    managers = ds.reps.set_index("rep_id")["manager"]
    assert pd.isna(managers["r1"]) and managers["r2"] == "Kim Lee"
    assert "people.csv:2:boss: warning: 1 row with 'u9', not found in users.csv (Id): manager left empty" in [str(w) for w in ds.warnings]
    (tmp_path / "users.csv").unlink()
    assert _errors(tmp_path, m) == [f"{tmp_path}: missing file users.csv (m.toml looks values up in it for reps)"]


def test_docs_validate_output_is_what_validate_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """Every line docs/mapping.md shows from `salesx2 validate` is printed by it (bar the folder name)."""
    block = DOCS.read_text().split("$ salesx2 validate deals-folder --mapping mapping.toml\n", 1)[1].split("```", 1)[0]
    assert main(["validate", str(FIXTURE), "--mapping", str(FIXTURE / "mapping.toml")]) == 0
    printed = capsys.readouterr().out.replace(str(FIXTURE), "deals-folder").splitlines()
    shown = [line for line in block.splitlines() if line.strip() != "..."]
    assert len(shown) > 10
    assert [line for line in shown if line not in printed] == []


def test_latin_1_export(tmp_path: Path) -> None:
    reps = "id,name,team\nr1,Zoë Müller,Zürich\nr2,Bob,West\n"
    (tmp_path / "people.csv").write_bytes(reps.encode("latin-1"))
    m = _write(tmp_path, {"deals.csv": DEALS}, _opps_map().replace('file = "people.csv"', 'file = "people.csv"\nencoding = "latin-1"'))
    reps_read = load_dataset(tmp_path, mapping=m).reps.set_index("rep_id")
    assert reps_read.loc["r1", ["rep_name", "team"]].tolist() == ["Zoë Müller", "Zürich"]
    # without encoding, the file is found not to be UTF-8 and read as Latin-1, with a note
    m.write_text(m.read_text().replace('encoding = "latin-1"\n', ""))
    ds = load_dataset(tmp_path, mapping=m)
    assert ds.reps.set_index("rep_id").loc["r1", ["rep_name", "team"]].tolist() == ["Zoë Müller", "Zürich"]
    assert [str(n) for n in ds.notes if "UTF-8" in str(n)] == [
        "people.csv: note: is not UTF-8 (byte 0xeb on line 2): read as Latin-1 (ISO-8859-1)"
    ]
    # a section that says utf-8 is held to it
    m.write_text(m.read_text().replace('file = "people.csv"', 'file = "people.csv"\nencoding = "utf-8"'))
    [error] = _errors(tmp_path, m)
    assert error.startswith("people.csv:2: is not UTF-8 text (byte 0xeb)")


def test_utf8_with_a_byte_order_mark_is_utf8(tmp_path: Path) -> None:
    reps = "id,name,team\nr1,Zoë Müller,Zürich\nr2,Bob,West\n"
    (tmp_path / "people.csv").write_bytes(reps.encode("utf-8-sig"))
    m = _write(tmp_path, {"deals.csv": DEALS}, _opps_map())
    ds = load_dataset(tmp_path, mapping=m)
    assert ds.reps.set_index("rep_id").loc["r1", ["rep_name", "team"]].tolist() == ["Zoë Müller", "Zürich"]
    assert not [n for n in ds.notes if "UTF-8" in str(n)]


def test_reps_that_differ_only_in_case_are_warned_when_matching_loosely(tmp_path: Path) -> None:
    reps = "id,name,team\nJane Smith,Jane,East\njane smith,Jane 2,West\nBob,Bob,West\n"
    deals = DEALS.replace(",r1,", ",JANE SMITH,").replace(",r2,", ",Bob,")
    m = _write(tmp_path, {"people.csv": reps, "deals.csv": deals}, _opps_map(rep_id='{ column = "owner", match = "loose" }'))
    ds = load_dataset(tmp_path, mapping=m)
    assert ds.opportunities.set_index("opportunity_id").loc["d1", "rep_id"] == "Jane Smith"
    assert (
        "people.csv:2:id: warning: reps 'Jane Smith' and 'jane smith' differ only in case and spacing: "
        "a name matched loosely goes to 'Jane Smith'"
    ) in [str(w) for w in ds.warnings]


@pytest.mark.slow
def test_an_identity_mapping_reads_the_sample_exactly_as_the_canonical_loader(tmp_path: Path) -> None:
    """Every table of data/sample through a mapping that renames nothing: the same frames."""
    from salesx2lib.schema import TABLES

    sample = Path(__file__).parents[1] / "data" / "sample"
    sections = []
    for name, table in TABLES.items():
        file = next(p.name for p in sample.iterdir() if p.stem == name)
        written = [c for c in table.columns if c.name not in NOT_GENERATED.get(name, ())]
        columns = "\n".join(f'{c.name} = "{c.name}"' for c in written)
        sections.append(f'[{name}]\nfile = "{file}"\n[{name}.columns]\n{columns}\n')
    mapping = tmp_path / "identity.toml"
    mapping.write_text("\n".join(sections))
    canonical = load_dataset(sample)
    mapped = load_dataset(sample, mapping=mapping)
    assert mapped.as_of == canonical.as_of
    for name in canonical.tables:
        pd.testing.assert_frame_equal(mapped.tables[name], canonical.tables[name], obj=name)
    order = ["activity_id"]
    pd.testing.assert_frame_equal(
        mapped.activities.to_pandas().sort_values(order, ignore_index=True),
        canonical.activities.to_pandas().sort_values(order, ignore_index=True),
    )


def test_file_must_be_inside_data(export: Path) -> None:
    _edit(export / "mapping.toml", 'file = "deals.csv"', 'file = "/etc/deals.csv"')
    with pytest.raises(DataError) as info:
        read_mapping(export / "mapping.toml")
    assert [str(p) for p in info.value.problems] == [
        'mapping.toml:16:opportunities.file: must name a file inside DATA (a relative name such as "deals.csv")'
    ]


def test_a_required_looked_up_value_names_the_missing_key_or_says_empty(tmp_path: Path) -> None:
    """Three reps: a code found, a code not in the lookup file, no code at all."""
    reps = "id,name,code\nr1,Ann,E\nr2,Bob,Q\nr3,Cy,\n"
    teams = "Code,Team\nE,East\n"
    reps_part = REPS_MAP.replace('team = "team"', 'team = { column = "code", lookup = { file = "teams.csv", key = "Code", value = "Team" } }')
    deals = DEALS.replace(",r2,", ",r1,")
    m = _write(tmp_path, {"people.csv": reps, "deals.csv": deals, "teams.csv": teams}, reps_part + _opps_map().split(REPS_MAP, 1)[1])
    assert _errors(tmp_path, m) == [
        "people.csv:3:code: 'Q' is not found in teams.csv (Code), and team is required [team]",
        "people.csv:4:code: is empty (team is required) [team]",
    ]


def test_a_reps_file_that_fails_is_not_reported_as_absent(export: Path) -> None:
    """owners.csv is there but lacks a column: that error alone, not "no reps file" and
    every owner derived."""
    _edit(export / "owners.csv", "Owner,Manager,Office", "Owner,Manager,Desk")
    with pytest.raises(DataError) as info:
        load_dataset(export, mapping=export / "mapping.toml")
    assert [str(p) for p in info.value.problems if p.severity != "note"] == [
        "owners.csv:1:Office: missing column (mapping.toml reads it for reps; the file has: Owner, Manager, Desk)"
    ]


# ------------------------------------------------------------ ways to read a value, in order

ALTERNATIVES = REPS_MAP.replace(
    'rep_name = "name"',
    "rep_name = [\"name\", { sql = '''concat_ws(' ', \"first\", \"last\")''', column = \"last\" }, { value = \"?\" }]",
).replace('team = "team"', 'team = ["team", "office", { value = "Unassigned" }]')


def _reps_read(tmp_path: Path, reps: str) -> tuple[pd.DataFrame, list[str]]:
    m = _write(tmp_path, {"people.csv": reps, "deals.csv": DEALS}, ALTERNATIVES + _opps_map().split(REPS_MAP, 1)[1])
    ds = load_dataset(tmp_path, mapping=m)
    return ds.reps.set_index("rep_id")[["rep_name", "team"]], [str(n) for n in ds.notes if "the file has no" in str(n)]


def test_a_value_is_read_the_first_way_the_file_allows(tmp_path: Path) -> None:
    """The first way whose columns the file has, and a note saying what it lacked."""
    reps, notes = _reps_read(tmp_path, "id,name,team\nr1,Ann Lee,East\nr2,Bob Diaz,West\n")
    assert reps.to_dict("index") == {"r1": {"rep_name": "Ann Lee", "team": "East"}, "r2": {"rep_name": "Bob Diaz", "team": "West"}}
    assert notes == []
    reps, notes = _reps_read(tmp_path, "id,first,last,office\nr1,Ann,Lee,Oslo\nr2,Bob,Diaz,Rome\n")
    assert reps.to_dict("index") == {"r1": {"rep_name": "Ann Lee", "team": "Oslo"}, "r2": {"rep_name": "Bob Diaz", "team": "Rome"}}
    assert notes == [
        "people.csv: note: reps.rep_name: the file has no name: an expression over first, last instead",
        "people.csv: note: reps.team: the file has no team: column office instead",
    ]
    # first and last are both needed by the expression: with one of them, the constant
    reps, notes = _reps_read(tmp_path, "id,first\nr1,Ann\nr2,Bob\n")
    assert reps.to_dict("index") == {"r1": {"rep_name": "?", "team": "Unassigned"}, "r2": {"rep_name": "?", "team": "Unassigned"}}
    assert notes == [
        "people.csv: note: reps.rep_name: the file has no name: the constant '?' instead",
        "people.csv: note: reps.team: the file has no team: the constant 'Unassigned' instead",
    ]


def test_when_no_way_fits_the_first_ways_columns_are_missing(tmp_path: Path) -> None:
    mapping = REPS_MAP.replace('rep_name = "name"', 'rep_name = ["name", "full_name"]')
    m = _write(tmp_path, {"people.csv": "id,nom,team\nr1,Ann,East\n", "deals.csv": DEALS}, mapping + _opps_map().split(REPS_MAP, 1)[1])
    assert _errors(tmp_path, m) == ["people.csv:1:name: missing column (m.toml reads it for reps; the file has: id, nom, team)"]


@pytest.mark.parametrize(("spec", "message"), [("[]", "a list of ways"), ('[["a"]]', "a list of ways"), ('["name", 3]', "must be a column name")])
def test_a_bad_list_of_ways_is_a_mapping_error(tmp_path: Path, spec: str, message: str) -> None:
    m = _write(tmp_path, {"people.csv": REPS, "deals.csv": DEALS}, REPS_MAP.replace('rep_name = "name"', f"rep_name = {spec}") + _opps_map().split(REPS_MAP, 1)[1])
    [error] = _errors(tmp_path, m)
    assert error.startswith("m.toml:") and message in error, error
