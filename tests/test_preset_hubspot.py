"""The ``hubspot`` preset: HubSpot's exports read as the canonical tables.

Two sources: ``tests/fixtures/hubspot``, a hand-written export with one row per quirk
(its README lists them; every value read from it is checked here), and the synthetic
sample written by :func:`salesx2lib.sample_crm.hubspot.write_hubspot`, read back through
the preset and compared with the tables it was written from (a round trip).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesx2lib.cli import main
from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.mapping import preset_path
from salesx2lib.problems import DataError
from salesx2lib.sample import generate
from salesx2lib.sample_crm.hubspot import FILES, STAGE_LABELS, write_hubspot

FIXTURE = Path(__file__).parent / "fixtures" / "hubspot"
DOC = Path(__file__).parents[1] / "docs" / "presets" / "hubspot.md"
NA = None

#: The sample's tables, the folder its HubSpot export was written to, and that export read back.
RoundTrip = tuple[dict[str, pd.DataFrame], Path, Dataset]


@pytest.fixture(scope="module")
def fixture_ds() -> Dataset:
    return load_dataset(FIXTURE, preset="hubspot")


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A writable copy of the hand-written export."""
    target = tmp_path / "export"
    shutil.copytree(FIXTURE, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _preset_copy(folder: Path) -> Path:
    """The preset copied next to the export, as docs/presets/hubspot.md tells users to."""
    target = folder / "hubspot-mapping.toml"
    shutil.copyfile(preset_path("hubspot"), target)
    return target


def _doc_toml(start: str) -> str:
    """The TOML block of docs/presets/hubspot.md whose first line starts with ``start``."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    found = [b for b in blocks if b.startswith(start)]
    assert len(found) == 1, start
    return found[0]


def _errors(folder: Path, severity: str = "error", **how: str | Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_dataset(folder, **how)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems if p.severity == severity]


def _ts(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text)


# ------------------------------------------------------------------ the hand-written export


def test_users_become_reps_and_a_missing_owner_is_derived(fixture_ds: Dataset) -> None:
    reps = fixture_ds.reps.set_index("rep_id").sort_index()
    assert reps["team"].to_dict() == {
        "Ana Costa": "Field Sales",
        "Jane Smith": "Inside Sales",
        "Lena Vogel": "Field Sales",
        "Omar Haddad": "Inside Sales",
        "Raj Patel": "Field Sales",
        "Tom Becker": "Unassigned",  # owns deal 15000000011, not in users.csv
    }
    assert (reps["rep_name"] == reps.index).all()
    assert reps["manager"].isna().all()


def test_owner_names_differing_by_case_or_spaces_are_matched_with_a_warning(fixture_ds: Dataset) -> None:
    assert sorted(str(w) for w in fixture_ds.warnings) == [
        "deals.csv:12:Deal owner: warning: 'Tom Becker' is not in users.csv: added as a rep of team 'Unassigned' (1 row)",
        "deals.csv:13:Deal owner: warning: 'LENA VOGEL' taken as rep 'Lena Vogel' of users.csv (case and spacing ignored; 1 row)",
        "deals.csv:7:Deal owner: warning: 'jane smith' taken as rep 'Jane Smith' of users.csv (case and spacing ignored; 1 row)",
        "deals.csv:8:Deal owner: warning: 'Omar  Haddad' taken as rep 'Omar Haddad' of users.csv (case and spacing ignored; 1 row)",
        "users.csv:6:First Name: warning: rep 'Ana Costa' has no opportunity in deals.csv",
    ]


#: Every deal of deals.csv as the preset must read it: rep, account, created, amount,
#: stage, status, expected close date, closed.
DEALS = {
    "15000000001": ("Jane Smith", "9000000001", "2026-01-05 09:12", 12000.0, "Closed won", "won", "2026-02-10", "2026-02-10 15:42"),
    "15000000002": ("Omar Haddad", "9000000002", "2026-01-06 10:30", 8000.0, "Closed lost", "lost", "2026-02-12", "2026-02-12 11:05"),
    "15000000003": ("Jane Smith", "9000000003", "2026-01-20 14:03", 5000.0, "Appointment scheduled", "open", "2026-03-31", NA),
    "15000000004": ("Lena Vogel", "9000000004", "2026-01-22 08:47", NA, "Qualified to buy", "open", "2026-03-15", NA),
    "15000000005": ("Raj Patel", "9000000005", "2026-01-26 16:20", 7500.0, "Presentation scheduled", "open", NA, NA),
    "15000000006": ("Jane Smith", "9000000006", "2026-01-28 11:11", 1499.5, "Closed won", "won", "2026-02-20", "2026-02-20 10:00"),
    "15000000007": ("Omar Haddad", "9000000008", "2026-02-02 09:40", 22000.0, "Contract sent", "open", "2026-03-06", NA),
    "15000000008": ("Raj Patel", NA, "2026-02-03 13:25", NA, "Closed lost", "lost", "2026-02-18", "2026-02-18 17:30"),
    "15000000009": ("Lena Vogel", "9000000001", "2026-02-04 10:00", 9000.0, "Closed Won", "won", "2026-02-25", "2026-02-25 12:00"),
    "15000000010": ("Omar Haddad", "9000000002", "2026-02-05 15:30", 4000.0, "Renewal due", "open", "2026-04-30", NA),
    "15000000011": ("Tom Becker", "9000000009", "2026-01-15 10:05", 3000.0, "Closed lost", "lost", "2026-02-24", "2026-02-24 09:15"),
    "15000000012": ("Lena Vogel", "9000000010", "2026-02-09 14:50", 18000.0, "Decision maker bought-in", "open", "2026-03-20", NA),
}  # fmt: skip


def test_every_deal_is_read_as_the_readme_says(fixture_ds: Dataset) -> None:
    cols = ["rep_id", "account_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"]
    expected = pd.DataFrame(
        [
            (deal, rep, acc, _ts(created), amount, stage, status, _ts(ecd), _ts(closed))
            for deal, (rep, acc, created, amount, stage, status, ecd, closed) in DEALS.items()
        ],
        columns=["opportunity_id", *cols],
    ).astype(
        {
            "opportunity_id": "str",
            "rep_id": "str",
            "account_id": "str",
            "created_at": "datetime64[us]",
            "amount": "float64",
            "stage": "str",
            "status": "str",
            "expected_close_date": "datetime64[us]",
            "closed_at": "datetime64[us]",
        }
    )
    got = fixture_ds.opportunities.sort_values("opportunity_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["opportunity_id", *cols]], expected)


#: Every activity the preset must make of calls.csv, meetings.csv and emails.csv:
#: rep, occurred_at, type, opportunity, duration in seconds.
ACTIVITIES = {
    # calls: a dial each (not the inbound 07, nor the unassigned 10); a conversation each when Connected
    "40000000001": ("Jane Smith", "2026-02-02 09:05", "dial", "15000000003", 245.0),
    "40000000001:talk": ("Jane Smith", "2026-02-02 09:05", "conversation", "15000000003", 245.0),
    "40000000002": ("Jane Smith", "2026-02-02 09:20", "dial", NA, 0.0),
    "40000000003": ("Omar Haddad", "2026-02-02 10:10", "dial", NA, 32.0),
    "40000000004": ("Omar Haddad", "2026-02-02 10:15", "dial", NA, 0.0),
    "40000000005": ("Lena Vogel", "2026-02-03 11:30", "dial", "15000000004", 612.0),
    "40000000005:talk": ("Lena Vogel", "2026-02-03 11:30", "conversation", "15000000004", 612.0),
    "40000000006": ("Raj Patel", "2026-02-03 14:00", "dial", NA, 8.0),
    "40000000007:talk": ("Raj Patel", "2026-02-04 15:45", "conversation", "15000000005", 180.0),
    "40000000008": ("Ana Costa", "2026-02-05 09:00", "dial", NA, 41.0),
    "40000000009": ("Jane Smith", "2026-02-05 16:10", "dial", "15000000006", NA),
    "40000000009:talk": ("Jane Smith", "2026-02-05 16:10", "conversation", "15000000006", NA),
    "40000000011": ("Omar Haddad", "2026-02-06 13:00", "dial", NA, NA),
    # meetings: booked in advance -> appointment at creation; Completed -> meeting + conversation
    "40000000101:booked": ("Jane Smith", "2026-01-08 14:20", "appointment", "15000000001", NA),
    "40000000101": ("Jane Smith", "2026-01-12 10:00", "meeting", "15000000001", 1800.0),
    "40000000101:held": ("Jane Smith", "2026-01-12 10:00", "conversation", "15000000001", 1800.0),
    "40000000102": ("Omar Haddad", "2026-01-13 15:00", "meeting", "15000000002", 2700.0),
    "40000000102:held": ("Omar Haddad", "2026-01-13 15:00", "conversation", "15000000002", 2700.0),
    "40000000103:booked": ("Lena Vogel", "2026-02-25 11:00", "appointment", NA, NA),
    "40000000104:booked": ("Raj Patel", "2026-01-30 10:15", "appointment", "15000000005", NA),
    "40000000105:booked": ("Raj Patel", "2026-02-04 09:30", "appointment", "15000000005", NA),
    "40000000106:booked": ("Jane Smith", "2026-02-09 10:45", "appointment", "15000000006", NA),
    "40000000106": ("Jane Smith", "2026-02-16 13:00", "meeting", "15000000006", 3600.0),
    "40000000106:held": ("Jane Smith", "2026-02-16 13:00", "conversation", "15000000006", 3600.0),
    "40000000107:booked": ("Omar Haddad", "2026-02-12 12:00", "appointment", "15000000007", NA),
    "40000000108:booked": ("Lena Vogel", "2026-02-06 08:00", "appointment", "15000000012", NA),
    # emails
    "40000000201": ("Jane Smith", "2026-01-07 08:55", "email", NA, NA),
    "40000000202": ("Jane Smith", "2026-02-09 17:02", "email", "15000000006", NA),
    "40000000203": ("Lena Vogel", "2026-02-06 10:30", "email", "15000000009", NA),
    "40000000204": ("Ana Costa", "2026-02-20 09:40", "email", NA, NA),
}


def test_every_activity_is_read_as_the_readme_says(fixture_ds: Dataset) -> None:
    expected = pd.DataFrame(
        [(aid, rep, _ts(at), kind, opp, dur) for aid, (rep, at, kind, opp, dur) in sorted(ACTIVITIES.items())],
        columns=["activity_id", "rep_id", "occurred_at", "activity_type", "opportunity_id", "duration_s"],
    ).astype(
        {
            "activity_id": "str",
            "rep_id": "str",
            "occurred_at": "datetime64[us]",
            "activity_type": "str",
            "opportunity_id": "str",
            "duration_s": "float64",
        }
    )
    got = fixture_ds.activities.execute().sort_values("activity_id").reset_index(drop=True)
    text = ("activity_id", "rep_id", "activity_type", "opportunity_id")
    got = got.astype({"occurred_at": "datetime64[us]", **dict.fromkeys(text, "str")})
    pd.testing.assert_frame_equal(got[expected.columns], expected)


def test_the_summary_counts_what_each_rule_left_out(fixture_ds: Dataset) -> None:
    notes = [str(n) for n in fixture_ds.notes if "excluded" in n.message and not n.message.startswith("0 rows")]
    assert notes == [
        "calls.csv: note: 1 row excluded from activities (dial): no Activity assigned to: no dial",  # 40000000010
        "calls.csv: note: 1 row excluded from activities (dial): Call direction is Inbound: no dial",  # 40000000007
        "calls.csv: note: 1 row excluded from activities (conversation): no Activity assigned to: no conversation",  # 40000000010
        "calls.csv: note: 6 rows excluded from activities (conversation): Call outcome is not Connected: no conversation",  # 02 03 04 06 08 11
        "meetings.csv: note: 1 row excluded from activities (appointment): created after it started (logged afterwards, not booked): no appointment",
        "meetings.csv: note: 5 rows excluded from activities (meeting): Meeting outcome is not Completed: no meeting held",  # 103 104 105 107 108
        "meetings.csv: note: 5 rows excluded from activities (conversation): Meeting outcome is not Completed: no conversation",  # the same five
    ]


def test_as_of_is_the_last_deal_closing(fixture_ds: Dataset) -> None:
    # the Scheduled meeting of 2026-03-05 is not an event: only its booking (2026-02-25 11:00) is
    assert fixture_ds.as_of == pd.Timestamp("2026-02-25 12:00")


def test_cli_validates_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FIXTURE), "--preset", "hubspot"]) == 0
    out = capsys.readouterr().out
    assert "valid (as of 2026-02-25 12:00:00, the latest event in the data)" in out
    assert "6 reps in 3 teams: Field Sales (3), Inside Sales (2), Unassigned (1)" in out


def test_call_duration_written_as_hh_mm_ss(export: Path) -> None:
    _edit(export / "calls.csv", "Connected,Outbound,245000,", "Connected,Outbound,00:04:05,")
    acts = load_dataset(export, preset="hubspot").activities.execute().set_index("activity_id")
    assert acts.loc["40000000001", "duration_s"] == 245.0
    assert acts.loc["40000000001:talk", "duration_s"] == 245.0


def test_without_users_every_owner_is_a_rep_of_team_unassigned(export: Path) -> None:
    (export / "users.csv").unlink()
    ds = load_dataset(export, preset="hubspot")
    assert set(ds.reps["team"]) == {"Unassigned"}
    assert {"Jane Smith", "Omar Haddad", "Lena Vogel", "Raj Patel", "Ana Costa", "Tom Becker"} <= set(ds.reps["rep_id"])
    assert any("no reps file" in w.message for w in ds.warnings)


def test_errors_point_at_the_export(export: Path) -> None:
    deals = export / "deals.csv"
    _edit(deals, "Appointment scheduled,2026-03-31 00:00,Jane Smith,", "Appointment scheduled,2026-03-31 00:00,,")
    _edit(deals, "Closed won,2026-02-10 15:42,Jane Smith,12000,", "Closed won,2026-02-10 15:42,Jane Smith,,")
    _edit(deals, "2026-01-06 10:30,Sales Pipeline", "06/01/2026 10:30,Sales Pipeline")
    _edit(deals, "Closed lost,2026-02-18 17:30,", "Closed lost,2026-01-18 17:30,")
    _edit(export / "calls.csv", "40000000004,Prospecting call,2026-02-02 10:15,", "40000000004,Prospecting call,2026-02-02 10h15,")
    errors = _errors(export, preset="hubspot")
    assert (
        "deals.csv:2:Amount: warning: is empty on a won deal: it counts as won, and adds nothing to won revenue [amount]"
    ) in _errors(export, "warning", preset="hubspot")
    assert (
        "deals.csv:3:Create Date: '06/01/2026 10:30' is not a date and time "
        "(expected format %Y-%m-%d %H:%M, as hubspot.toml says) [created_at]"
    ) in errors
    assert "deals.csv:4:Deal owner: is empty (rep_id is required) [rep_id]" in errors
    notes = _errors(export, "note", preset="hubspot")
    assert any(e.startswith("deals.csv:9:Close Date: note: ") and "is before created_at" in e for e in notes), notes
    assert any(e.startswith("calls.csv:5:Activity date: '2026-02-02 10h15' is not a date and time") for e in errors), errors


# ------------------------------------------------------------------ changing the preset (the doc's recipes)


def test_leaving_a_pipeline_out_as_the_doc_shows(export: Path) -> None:
    mapping = _preset_copy(export)
    snippet = _doc_toml("[[opportunities.exclude]]")
    mapping.write_text(mapping.read_text(encoding="utf-8") + "\n" + snippet, encoding="utf-8")
    ds = load_dataset(export, mapping=mapping)
    assert set(ds.opportunities["opportunity_id"]) == set(DEALS) - {"15000000009", "15000000010"}
    notes = [str(n) for n in ds.notes]
    assert "deals.csv: note: 2 rows excluded from opportunities: the Renewals pipeline is not new business" in notes
    # the email on the renewal deal goes with it, counted
    assert "emails.csv: note: 1 row excluded from activities (email): their opportunity is excluded" in notes
    assert "40000000203" not in set(ds.activities.to_pandas()["activity_id"])


def test_time_zone_closed_stages_and_meeting_outcomes_as_the_doc_shows(export: Path) -> None:
    mapping = _preset_copy(export)
    text = mapping.read_text(encoding="utf-8").replace('timezone = "UTC"', 'timezone = "Europe/Berlin"')
    # other closed stages: the doc's two lines replace status and closed_at (lists of ways)
    stages = _doc_toml('status = { column = "Deal Stage", values = { "Closed won" = "won", "Renewed"').splitlines()
    stages = [s.replace('timezone = "UTC"', 'timezone = "Europe/Berlin"') for s in stages]
    text, n = re.subn(r"^status = \[\n.*?^\]$", lambda _: stages[0], text, flags=re.M | re.S)
    text, m = re.subn(r"^closed_at = \[\n.*?^\]$", lambda _: stages[1], text, flags=re.M | re.S)
    assert n == m == 1
    lines = text.splitlines()
    # meetings without an outcome: the doc's condition replaces that of the two "not Completed" rules
    held = _doc_toml("when = { sql = '''lower(trim(\"Meeting outcome\")) IN").strip()
    text = "\n".join(lines)
    assert text.count("Meeting outcome is not Completed") == 2
    text = text.replace("""when = { sql = '''coalesce(lower(trim("Meeting outcome")), '') <> 'completed' ''' }""", held)
    assert text.count(held) == 2
    mapping.write_text(text, encoding="utf-8")
    _edit(export / "deals.csv", "Renewal due,2026-04-30 00:00", "Churned,2026-02-27 16:00")

    ds = load_dataset(export, mapping=mapping)
    opp = ds.opportunities.set_index("opportunity_id")
    # Berlin is UTC+1 in winter: 09:12 there is 08:12 UTC; the expected close date stays as written
    assert opp.loc["15000000001", "created_at"] == pd.Timestamp("2026-01-05 08:12")
    assert opp.loc["15000000001", "closed_at"] == pd.Timestamp("2026-02-10 14:42")
    assert opp.loc["15000000003", "expected_close_date"] == pd.Timestamp("2026-03-31")
    assert (opp.loc["15000000010", "status"], opp.loc["15000000010", "closed_at"]) == ("lost", pd.Timestamp("2026-02-27 15:00"))
    acts = ds.activities.execute()
    held_ids = set(acts.loc[acts["activity_type"] == "meeting", "activity_id"])
    # 108 (no outcome) and 103 (still Scheduled) now count as held; No show, Canceled, Rescheduled do not
    assert held_ids == {"40000000101", "40000000102", "40000000103", "40000000106", "40000000108"}


# ------------------------------------------------------------------ the round trip


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    tables = generate(reps=6, weeks=10, seed=7)
    folder = tmp_path_factory.mktemp("hubspot")
    written = write_hubspot(tables, folder)
    assert [p.name for p in written] == list(FILES)
    return tables, folder, load_dataset(folder, preset="hubspot")


def test_the_exporter_is_deterministic(round_trip: RoundTrip, tmp_path: Path) -> None:
    tables, folder, _ = round_trip
    again = write_hubspot(tables, tmp_path)
    assert all(p.read_bytes() == (folder / p.name).read_bytes() for p in again)


def test_round_trip_keeps_reps_and_teams(round_trip: RoundTrip) -> None:
    tables, _, ds = round_trip
    expected = tables["reps"].set_index("rep_name")["team"].sort_index()
    got = ds.reps.set_index("rep_id")["team"].sort_index()
    assert got.to_dict() == expected.to_dict()
    assert ds.warnings == ()


def test_round_trip_keeps_deals_per_rep(round_trip: RoundTrip) -> None:
    tables, _, ds = round_trip
    name = tables["reps"].set_index("rep_id")["rep_name"]
    opps = tables["opportunities"].assign(rep=lambda d: d["rep_id"].map(name))
    got = ds.opportunities.rename(columns={"rep_id": "rep"})
    for frame in (opps, got):
        assert len(frame) == 398
    counts = [f.groupby(["rep", "status"]).size().sort_index() for f in (opps, got)]
    pd.testing.assert_series_equal(counts[1], counts[0])
    won = [f[f["status"] == "won"].groupby("rep")["amount"].sum().sort_index() for f in (opps, got)]
    pd.testing.assert_series_equal(won[1], won[0])
    # times: HubSpot writes minutes, so each is the original one to the minute
    deal = opps.assign(opportunity_id=[str(15_000_000_001 + i) for i in range(len(opps))]).set_index("opportunity_id")
    read = got.set_index("opportunity_id").loc[deal.index]
    assert (read["created_at"] == deal["created_at"].dt.floor("min")).all()
    assert read["closed_at"].equals(deal["closed_at"].dt.floor("min"))
    assert read["expected_close_date"].equals(deal["expected_close_date"])
    assert set(read["stage"]) <= set(STAGE_LABELS.values())


def test_round_trip_keeps_the_funnel_per_rep(round_trip: RoundTrip) -> None:
    tables, _, ds = round_trip
    name = tables["reps"].set_index("rep_id")["rep_name"]
    kinds = ["dial", "conversation", "appointment", "meeting", "email"]
    acts = tables["activities"]
    expected = acts[acts["activity_type"].isin(kinds)].assign(rep=lambda d: d["rep_id"].map(name))
    got = ds.activities.execute().rename(columns={"rep_id": "rep"})
    counts = [f.groupby(["rep", "activity_type"]).size().sort_index() for f in (expected, got)]
    pd.testing.assert_series_equal(counts[1], counts[0])
    # call durations are exact (milliseconds); meeting times are written to the minute
    dials = [f.loc[f["activity_type"] == "dial", "duration_s"].sum() for f in (expected, got)]
    assert dials[1] == dials[0]


def test_cli_metrics_reads_the_export(round_trip: RoundTrip, capsys: pytest.CaptureFixture[str]) -> None:
    _, folder, _ = round_trip
    assert main(["metrics", str(folder), "--preset", "hubspot", "--table", "cycle"]) == 0
    assert capsys.readouterr().out.startswith("team,n,n_won,n_lost,n_open,")


def test_files_named_as_hubspot_names_them_are_found(export: Path, fixture_ds: Dataset) -> None:
    """HubSpot's own names (object and day) read the same as the renamed files."""
    for name in ("users", "deals", "calls", "meetings", "emails"):
        (export / f"{name}.csv").rename(export / f"hubspot-crm-exports-all-{name}-2026-02-27.csv")
    ds = load_dataset(export, preset="hubspot")
    for table in ("reps", "opportunities", "opportunity_history"):
        if table in fixture_ds.tables:
            pd.testing.assert_frame_equal(ds.tables[table], fixture_ds.tables[table])
    assert ds.activities.count().execute() == fixture_ds.activities.count().execute() > 0


def test_no_deals_file_lists_the_files_found(export: Path) -> None:
    (export / "deals.csv").rename(export / "opportunities-export.csv")
    with pytest.raises(DataError) as info:
        load_dataset(export, preset="hubspot")
    errors = [str(p) for p in info.value.problems if p.severity == "error"]
    assert errors == [
        f"{export}: missing file *deals*.csv (hubspot.toml reads opportunities from it; the folder has: "
        "calls.csv, emails.csv, meetings.csv, opportunities-export.csv, users.csv)"
    ]


def test_two_deals_exports_in_one_folder_are_refused_by_name(export: Path) -> None:
    shutil.copy(export / "deals.csv", export / "hubspot-crm-exports-all-deals-2026-03-06.csv")
    with pytest.raises(DataError) as info:
        load_dataset(export, preset="hubspot")
    assert [str(p) for p in info.value.problems if p.severity == "error"] == [
        f"{export}: *deals*.csv matches 2 files (deals.csv, hubspot-crm-exports-all-deals-2026-03-06.csv); "
        "hubspot.toml reads opportunities from one: keep one"
    ]


def test_an_owner_marked_deactivated_is_the_person_with_a_note(export: Path, fixture_ds: Dataset) -> None:
    """HubSpot writes a deactivated owner as "Jane Smith (Deactivated User)"."""
    _edit(export / "deals.csv", "Appointment scheduled,2026-03-31 00:00,Jane Smith,", "Appointment scheduled,2026-03-31 00:00,Jane Smith (Deactivated User),")
    ds = load_dataset(export, preset="hubspot")
    assert ds.opportunities.set_index("opportunity_id").loc["15000000003", "rep_id"] == "Jane Smith"
    pd.testing.assert_frame_equal(ds.opportunities, fixture_ds.opportunities)
    notes = [str(n) for n in ds.notes if "deactivated" in str(n)]
    assert notes == ["deals.csv: note: 1 row of opportunities: owner marked as a deactivated user in HubSpot: the mark is dropped, the rep is the person"]


def test_a_header_repeating_columns_is_read_with_a_note(export: Path, fixture_ds: Dataset) -> None:
    """"Export all properties" repeats Associated Company and Associated Company IDs."""
    lines = (export / "deals.csv").read_text(encoding="utf-8").splitlines()
    # the repeated copies hold other values: the first copy must be the one read
    lines = [lines[0] + ",Associated Company IDs,Associated Company IDs"] + [line + ",999,998" for line in lines[1:]]
    (export / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = load_dataset(export, preset="hubspot")
    pd.testing.assert_frame_equal(ds.opportunities, fixture_ds.opportunities)
    assert [str(n) for n in ds.notes if "header" in str(n)] == [
        "deals.csv:1:Associated Company IDs: note: appears 3 times in the header: the first copy is read; "
        "the later ones are named Associated Company IDs_1, Associated Company IDs_2"
    ]


def test_a_view_export_without_company_ids_reads_deals_without_accounts(export: Path, fixture_ds: Dataset) -> None:
    """Exports of a saved view have only the view's columns: no Associated Company IDs."""
    lines = (export / "deals.csv").read_text(encoding="utf-8").splitlines()
    (export / "deals.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n", encoding="utf-8")
    assert lines[0].endswith(",Associated Company IDs")
    ds = load_dataset(export, preset="hubspot")
    assert ds.opportunities["account_id"].isna().all()
    pd.testing.assert_frame_equal(ds.opportunities.drop(columns="account_id"), fixture_ds.opportunities.drop(columns="account_id"))
    assert [str(n) for n in ds.notes if "account_id" in str(n)] == [
        "deals.csv: note: opportunities.account_id: the file has no Associated Company IDs: left empty instead"
    ]


_DEALS_HEADER = "Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Create Date,Pipeline"


def _deals_only(folder: Path, rows: list[str], header: str = _DEALS_HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deals.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def test_closed_stages_are_read_from_labels_a_custom_pipeline_writes(tmp_path: Path) -> None:
    """A custom pipeline's labels: won by the word won (or closedwon), lost by lost or
    closed (closedlost, Closed: abandoned), open otherwise ("Won't reply" is not won)."""
    rows = [
        "1,a,Closed: won,2026-02-10 15:42,Jane Smith,100,2026-01-05 09:12,Custom",
        "2,b,Closed: lost,2026-02-11 10:00,Jane Smith,200,2026-01-05 09:12,Custom",
        "3,c,Closed: abandoned,2026-02-12 10:00,Jane Smith,300,2026-01-05 09:12,Custom",
        "4,d,closedwon,2026-02-13 10:00,Jane Smith,400,2026-01-05 09:12,Custom",
        "5,e,closedlost,2026-02-14 10:00,Jane Smith,500,2026-01-05 09:12,Custom",
        "6,f,Won't reply,2026-03-31 00:00,Jane Smith,600,2026-01-05 09:12,Custom",
        "7,g,Demo booked,2026-03-31 00:00,Jane Smith,700,2026-01-05 09:12,Custom",
    ]
    ds = load_dataset(_deals_only(tmp_path, rows), preset="hubspot")
    opp = ds.opportunities.set_index("opportunity_id")
    assert opp["status"].to_dict() == {"1": "won", "2": "lost", "3": "lost", "4": "won", "5": "lost", "6": "open", "7": "open"}
    assert opp["closed_at"].notna().to_dict() == {"1": True, "2": True, "3": True, "4": True, "5": True, "6": False, "7": False}
    assert opp.loc["3", "closed_at"] == pd.Timestamp("2026-02-12 10:00")
    assert "deals.csv: note: opportunities.status: the file has no Is Deal Closed?, Is Closed Won: an expression over Deal Stage instead" in [str(n) for n in ds.notes]
    assert not [w for w in ds.warnings if "look closed" in str(w)]


def test_hubspots_closed_flags_decide_when_the_export_has_them(tmp_path: Path) -> None:
    """The flags win over the labels: a stage called "Renewed" is won by its flags."""
    header = _DEALS_HEADER + ",Is Deal Closed?,Is Closed Won"
    rows = [
        "1,a,Renewed,2026-02-10 15:42,Jane Smith,100,2026-01-05 09:12,Custom,true,true",
        "2,b,Churned,2026-02-11 10:00,Jane Smith,200,2026-01-05 09:12,Custom,true,false",
        "3,c,Closed won,2026-03-31 00:00,Jane Smith,300,2026-01-05 09:12,Custom,false,false",
    ]
    ds = load_dataset(_deals_only(tmp_path, rows, header), preset="hubspot")
    opp = ds.opportunities.set_index("opportunity_id")
    assert opp["status"].to_dict() == {"1": "won", "2": "lost", "3": "open"}
    assert opp["closed_at"].notna().to_dict() == {"1": True, "2": True, "3": False}
    assert not [n for n in ds.notes if "opportunities.status" in str(n)]


def test_an_export_with_no_deal_won_or_lost_but_closed_looking_stages_is_warned(tmp_path: Path) -> None:
    """A mapping that reads every deal as open while stages say otherwise."""
    rows = [
        "1,a,Closed: won,2026-02-10 15:42,Jane Smith,100,2026-01-05 09:12,Custom",
        "2,b,Demo booked,2026-03-31 00:00,Jane Smith,700,2026-01-05 09:12,Custom",
    ]
    folder = _deals_only(tmp_path, rows)
    mapping = tmp_path / "m.toml"
    text = preset_path("hubspot").read_text(encoding="utf-8")
    text = re.sub(r"^status = \[\n.*?^\]$", 'status = { value = "open" }', text, flags=re.M | re.S)
    text = re.sub(r"^closed_at = \[\n.*?^\]$", 'closed_at = { value = "" }', text, flags=re.M | re.S)
    mapping.write_text(text, encoding="utf-8")
    ds = load_dataset(folder, mapping=mapping)
    assert [str(w) for w in ds.warnings if "look closed" in str(w)] == [
        "deals.csv:Deal Stage: warning: no deal reads as won or lost, yet some stages look closed ('Closed: won'): check how status is read"
    ]
