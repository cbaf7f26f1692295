"""Every promise docs/mapping.md and docs/data-model.md make about reading an export, tested.

One test per promise, each on a small export written by the test itself (a fixture of
its own), for a plain mapping file and, where the promise applies to what a preset
maps, for the ``salesforce`` and ``hubspot`` presets too (the exports are written here
with only the columns each preset reads; ``tests/test_preset_*.py`` test the presets'
own rules on their hand-written fixtures).

The promises, in the order of the docs (``[plain|salesforce|hubspot]`` = where tested):

 1. ``values``: an empty cell stays empty, and a cell of spaces is empty
    [plain, hubspot; salesforce: its status expression keeps an empty IsClosed empty]
 2. ``values``: cells are compared after trimming spaces [plain, hubspot]
 3. ``values``: a value not in the map is kept as it is [plain] ...
 4. ... and on a column with fixed values that is an error naming the value [plain]
 5. ``other``: the value for any text not in ``values`` [plain, hubspot]
 6. ``ignore_case``: keys match whatever their case; without it case matters [plain, hubspot]
 7. ``when``: where the condition does not hold the value is empty [plain, salesforce, hubspot]
 8. a condition: every ``column = value(s)`` must hold [plain]
 9. a condition: ``""`` matches an empty cell [plain, hubspot (activities without an assignee)]
10. a condition: ``{ sql = ... }`` may use window functions over the whole file [plain, salesforce]
11. ``exclude``: rows left out and counted, with the reason [plain, salesforce, hubspot]
12. ``exclude``: a filter that excluded nothing says 0 [plain, salesforce, hubspot]
13. ``exclude`` of opportunities leaves out the activities and history on them, counted
    [plain, salesforce, hubspot (a copy of the preset leaving a pipeline out)]
14. ``note``: rows kept and counted [plain, salesforce]
15. ``derive_missing``: an unknown owner becomes a rep of team Unassigned, with a warning
    naming them [plain, salesforce, hubspot]
16. ``derive_missing`` default false: an unknown owner is an error [plain]
17. ``derive_missing`` with an optional reps file absent: every rep is derived
    [plain, salesforce, hubspot]
18. ``match = "loose"`` on rep_id: case and repeated spaces ignored, each loose match
    warned [plain, hubspot]
19. loose owners derived with ``derive_missing`` are one rep, named as most rows spell it
    [plain, hubspot]
20. two listed reps differing only in case and spacing are warned about; a loose name
    goes to the first in sort order [plain]
21. ``lookup``: the value comes from another file [plain, salesforce]
22. ``lookup``: a key not found leaves the value empty, with a warning naming the key
    [plain, salesforce]
23. ``lookup``: a key not found on a column that must have a value is an error [plain]
24. ``lookup`` with ``match = "loose"``: case and repeated spaces ignored; without it
    they count [plain]
25. ``value``: a constant [plain, hubspot]
26. ``sql``: an expression over the file's columns; ``column`` names the column messages
    point at [plain]
27. ``format``: dates as written (day first); a value that does not match is an error
    naming the format [plain, hubspot]
28. without ``format`` ISO 8601 is expected: nothing is guessed [plain]
29. ``format`` with a time of day on a date column keeps the calendar date [plain]
30. ``timezone``: local times converted to UTC; date columns not converted [plain, hubspot]
31. default time zone: times without an offset are UTC; an ISO offset is converted [plain]
32. spaces at either end of a cell are always trimmed [plain, salesforce, hubspot]
33. an unmapped column that may be empty is empty; an unmapped required column is an
    error in the mapping [plain]
34. ``optional``: an absent file means an absent table; by default a missing file is an
    error [plain, salesforce, hubspot]
35. ``delimiter`` (default ``,``) [plain]
36. ``encoding``: latin-1 read when said; by default detected (UTF-8, else Latin-1 with a
    note); ``encoding = "utf-8"`` refuses a file that is not
    [plain, salesforce (a copy of the preset)]
37. ``file``: a pattern matching exactly one file; two matches are an error [plain]
38. ``[[sections]]``: their rows are stacked [plain]
39. a table the mapping does not mention is read from DATA as usual [plain, salesforce, hubspot]
40. errors name the export's file, editor line and column, the canonical column in
    brackets; a quoted cell spanning two lines counts both [plain, salesforce, hubspot]
41. in a Parquet export the line is the row number [plain]
42. a rule broken on many rows lists the first 50 and one more line with the total [plain]
43. ``file`` and a lookup's ``file`` must name a file inside DATA [plain]
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.mapping import UNASSIGNED_TEAM
from salesx2lib.problems import DataError

# ------------------------------------------------------------------------ plain mapping

OWNERS = "Owner,Manager,Office\nJane Smith,Ravi Patel,London\nTom Lee,Ravi Patel,Lisbon\n"
DEALS_HEADER = "Deal,Owner,Stage,Created,Closed,Value,Pipeline\n"

REPS_SECTION = """
[reps]
file = "owners.csv"
{reps_extra}

[reps.columns]
rep_id = "Owner"
rep_name = "Owner"
team = "Office"
manager = "Manager"
"""

OPPS_SECTION = """
[opportunities]
file = "deals.csv"
{opps_extra}

[opportunities.columns]
opportunity_id = "Deal"
rep_id = {rep_id}
created_at = {created_at}
amount = "Value"
stage = "Stage"
status = {status}
closed_at = {closed_at}
expected_close_date = {expected_close_date}
"""

DEFAULTS = {
    "reps_extra": "",
    "opps_extra": "",
    "rep_id": '"Owner"',
    "created_at": '"Created"',
    "status": '{ column = "Stage", values = { "Closed Won" = "won", "Closed Lost" = "lost" }, other = "open" }',
    "closed_at": '{ column = "Closed", when = { Stage = ["Closed Won", "Closed Lost"] } }',
    "expected_close_date": '"Closed"',
}


def deal(
    name: str,
    owner: str = "Jane Smith",
    stage: str = "Proposal",
    created: str = "2026-03-02 10:00:00",
    closed: str = "2026-04-30",
    value: str = "1000",
    pipeline: str = "New",
) -> str:
    """One line of deals.csv (cells quoted only when they need it)."""
    cells = [name, owner, stage, created, closed, value, pipeline]
    return ",".join(f'"{c}"' if ("," in c or '"' in c or "\n" in c) else c for c in cells) + "\n"


def plain(
    folder: Path,
    deals: list[str],
    *,
    owners: str | None = OWNERS,
    extra: str = "",
    reps: bool = True,
    **columns: str,
) -> Path:
    """Write owners.csv, deals.csv and mapping.toml into ``folder``; the mapping's path.

    ``columns`` replace the opportunities' column specs of :data:`DEFAULTS` (and
    ``reps_extra``/``opps_extra``, lines added to the sections); ``extra`` is appended.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if owners is not None:
        (folder / "owners.csv").write_text(owners, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS_HEADER + "".join(deals), encoding="utf-8")
    spec = {**DEFAULTS, **columns}
    text = (REPS_SECTION.format(**spec) if reps else "") + OPPS_SECTION.format(**spec) + extra
    path = folder / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_plain(folder: Path) -> Dataset:
    return load_dataset(folder, mapping=folder / "mapping.toml")


def problems(folder: Path, **how: str | Path) -> list[str]:
    """The errors loading ``folder`` raises (every one, as printed)."""
    with pytest.raises(DataError) as info:
        load_dataset(folder, **how)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems if p.severity == "error"]


def opps(ds: Dataset) -> pd.DataFrame:
    return ds.opportunities.set_index("opportunity_id")


def notes(ds: Dataset) -> list[str]:
    return [str(n) for n in ds.notes]


def warnings(ds: Dataset) -> list[str]:
    return [str(w) for w in ds.warnings]


# ------------------------------------------------------------------------ CRM exports


def _csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})


HS_USERS = ["First Name", "Last Name", "Teams"]
HS_DEALS = ["Record ID", "Deal owner", "Associated Company IDs", "Create Date", "Amount", "Deal Stage", "Close Date", "Pipeline"]
HS_CALLS = ["Record ID", "Activity assigned to", "Activity date", "Associated Deal IDs", "Call duration", "Call direction", "Call outcome"]


def hs_user(first: str, last: str, team: str = "Inside Sales") -> dict[str, str]:
    return {"First Name": first, "Last Name": last, "Teams": team}


def hs_deal(rid: str, owner: str = "Jane Smith", stage: str = "Contract sent", close: str = "2026-04-30 00:00", **more: str) -> dict[str, str]:
    row = {"Record ID": rid, "Deal owner": owner, "Create Date": "2026-03-02 10:00", "Amount": "1000", "Deal Stage": stage, "Close Date": close,
           "Pipeline": "Sales Pipeline"}
    return {**row, **more}


def hubspot(folder: Path, deals: list[dict[str, str]], users: list[dict[str, str]] | None = None, calls: list[dict[str, str]] | None = None) -> Path:
    """A HubSpot export: users.csv (unless ``users`` is None), deals.csv, calls.csv when given."""
    folder.mkdir(parents=True, exist_ok=True)
    if users is not None:
        _csv(folder / "users.csv", HS_USERS, users)
    _csv(folder / "deals.csv", HS_DEALS, deals)
    if calls is not None:
        _csv(folder / "calls.csv", HS_CALLS, calls)
    return folder


SF_USERS = ["Id", "FirstName", "LastName", "Name", "Department", "Division", "ManagerId", "CreatedDate", "UserType"]
SF_OPPS = ["Id", "IsDeleted", "OwnerId", "AccountId", "CreatedDate", "Amount", "StageName", "IsClosed", "IsWon", "CloseDate", "LastModifiedDate"]
SF_HISTORY = ["OpportunityId", "IsDeleted", "CreatedDate", "StageName", "Amount", "CloseDate"]
SF_TASKS = ["Id", "IsDeleted", "IsClosed", "OwnerId", "WhatId", "TaskSubtype", "Type", "CallType", "CallDurationInSeconds", "CompletedDateTime", "CreatedDate"]

ANN, BOB, MAX = "0058d00000AnnLeAAJ", "0058d00000BobDzAAJ", "0058d00000MaxRoAAJ"


def sf_user(uid: str, first: str, last: str, manager: str = "", department: str = "East", **more: str) -> dict[str, str]:
    row = {"Id": uid, "FirstName": first, "LastName": last, "Name": f"{first} {last}", "Department": department, "Division": "EMEA",
           "ManagerId": manager, "CreatedDate": "2024-01-08T09:00:00.000Z", "UserType": "Standard"}
    return {**row, **more}


SF_DEFAULT_USERS = [sf_user(ANN, "Ann", "Lee", manager=MAX), sf_user(MAX, "Max", "Ross")]


def sf_opp(oid: str, owner: str = ANN, closed: str = "0", won: str = "0", stage: str = "Proposal", close: str = "2026-04-30", **more: str) -> dict[str, str]:
    row = {"Id": oid, "IsDeleted": "0", "OwnerId": owner, "AccountId": "0018d00000Acc01AAB", "CreatedDate": "2026-03-02T10:00:00.000Z",
           "Amount": "1000", "StageName": stage, "IsClosed": closed, "IsWon": won, "CloseDate": close, "LastModifiedDate": "2026-03-20T10:00:00.000Z"}
    return {**row, **more}


def sf_task(tid: str, what: str, owner: str = ANN) -> dict[str, str]:
    return {"Id": tid, "IsDeleted": "0", "IsClosed": "1", "OwnerId": owner, "WhatId": what, "TaskSubtype": "Call", "CallType": "Outbound",
            "CallDurationInSeconds": "30", "CompletedDateTime": "2026-03-04T09:15:00.000Z", "CreatedDate": "2026-03-04T09:15:00.000Z"}


def salesforce(
    folder: Path,
    opportunities: list[dict[str, str]],
    users: list[dict[str, str]] | None = SF_DEFAULT_USERS,
    tasks: list[dict[str, str]] | None = None,
    history: list[dict[str, str]] | None = None,
) -> Path:
    """A Salesforce Data Export: User.csv (unless None), Opportunity.csv, Task.csv and OpportunityHistory.csv when given."""
    folder.mkdir(parents=True, exist_ok=True)
    if users is not None:
        _csv(folder / "User.csv", SF_USERS, users)
    _csv(folder / "Opportunity.csv", SF_OPPS, opportunities)
    if tasks is not None:
        _csv(folder / "Task.csv", SF_TASKS, tasks)
    if history is not None:
        _csv(folder / "OpportunityHistory.csv", SF_HISTORY, history)
    return folder


# ======================================================================= 1-6 value maps


@pytest.mark.parametrize("blank", ["", "   "])
def test_1_value_map_keeps_an_empty_cell_empty_plain(tmp_path: Path, blank: str) -> None:
    """A blank stage must not fall through to ``other = "open"`` (that would inflate the pipeline)."""
    plain(tmp_path, [deal("d1"), deal("d2", stage=blank)])
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert "deals.csv:3:Stage: is empty (status is required) [status]" in errors
    assert "deals.csv:3:Stage: is empty (stage is required) [stage]" in errors
    # On a column that may be empty, an empty cell is simply empty, not `other`.
    plain(tmp_path, [deal("d1", pipeline="Renewals"), deal("d2", pipeline="Partner"), deal("d3", pipeline=blank)],
          expected_close_date='"Closed"\naccount_id = { column = "Pipeline", values = { "Renewals" = "R" }, other = "N" }')
    o = opps(load_plain(tmp_path))
    assert o.loc["d1", "account_id"] == "R" and o.loc["d2", "account_id"] == "N"
    assert pd.isna(o.loc["d3", "account_id"])


@pytest.mark.parametrize("blank", ["", "   "])
def test_1_value_map_keeps_an_empty_cell_empty_hubspot(tmp_path: Path, blank: str) -> None:
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", stage=blank)], users=[hs_user("Jane", "Smith")])
    errors = problems(tmp_path, preset="hubspot")
    assert "deals.csv:3:Deal Stage: is empty (status is required) [status]" in errors


def test_1_empty_is_closed_stays_empty_salesforce(tmp_path: Path) -> None:
    """Salesforce's status is an expression over IsClosed/IsWon: an empty IsClosed is no status, not open."""
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB"), sf_opp("0068d00000Opp02AAB", closed="", won="")])
    errors = problems(tmp_path, preset="salesforce")
    assert "Opportunity.csv:3:IsClosed: is empty (status is required) [status]" in errors


def test_2_value_map_compares_cells_after_trimming_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("d1", stage="  Closed Won ", closed="2026-03-20"), deal("d2", stage="Closed Lost   ", closed="2026-03-21")],
          closed_at='"Closed"', status='{ column = "Stage", values = { "Closed Won" = "won", " Closed Lost" = "lost" } }')
    o = opps(load_plain(tmp_path))
    assert o["status"].to_dict() == {"d1": "won", "d2": "lost"}  # cells and keys both trimmed
    assert o.loc["d1", "stage"] == "Closed Won"


def test_2_value_map_compares_cells_after_trimming_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1", stage=" Closed won  ", close="2026-03-20 10:00")], users=[hs_user("Jane", "Smith")])
    o = opps(load_dataset(tmp_path, preset="hubspot"))
    assert o.loc["1", "status"] == "won"
    assert o.loc["1", "closed_at"] == pd.Timestamp("2026-03-20 10:00")


def test_3_value_not_in_the_map_is_kept_as_it_is_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("d1", pipeline="Renewals"), deal("d2", pipeline="Partner")],
          expected_close_date='"Closed"\naccount_id = { column = "Pipeline", values = { "Renewals" = "ACC-R" } }')
    o = opps(load_plain(tmp_path))
    assert o["account_id"].to_dict() == {"d1": "ACC-R", "d2": "Partner"}


def test_4_value_not_in_the_map_of_a_fixed_value_column_is_an_error_naming_it_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("d1", stage="Closed Won", closed="2026-03-20"), deal("d2", stage="Negotiation")],
          status='{ column = "Stage", values = { "Closed Won" = "won", "Closed Lost" = "lost", "Proposal" = "open" } }')
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == [
        "deals.csv:3:Stage: 'Negotiation' is not one of: open, won, lost [status]"
    ]


def test_5_other_is_the_value_of_every_text_not_in_the_map_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("d1", stage="Closed Won", closed="2026-03-20"), deal("d2", stage="Negotiation"), deal("d3", stage="won")])
    o = opps(load_plain(tmp_path))
    assert o["status"].to_dict() == {"d1": "won", "d2": "open", "d3": "open"}  # "won" is not a key: other


def test_5_the_hubspot_preset_reads_status_from_labels_not_a_value_map_hubspot(tmp_path: Path) -> None:
    """docs/presets/hubspot.md: without HubSpot's closed flags, the label's words decide
    (the preset no longer uses a value map with ``other`` for status)."""
    hubspot(tmp_path, [hs_deal("1", stage="Renewal due"), hs_deal("2", stage="Closed lost", close="2026-03-20 10:00"),
                       hs_deal("3", stage="won", close="2026-03-21 10:00")],
            users=[hs_user("Jane", "Smith")])
    o = opps(load_dataset(tmp_path, preset="hubspot"))
    assert o["status"].to_dict() == {"1": "open", "2": "lost", "3": "won"}
    assert o.loc["1", "stage"] == "Renewal due"  # the stage text itself is kept


def test_6_ignore_case_matches_keys_whatever_their_case_plain(tmp_path: Path) -> None:
    rows = [deal("d1", stage="CLOSED WON", closed="2026-03-20"), deal("d2", stage="closed lost", closed="2026-03-21")]
    plain(tmp_path, rows, closed_at='"Closed"', status='{ column = "Stage", values = { "Closed Won" = "won", "Closed Lost" = "lost" }, other = "open", ignore_case = true }')
    assert opps(load_plain(tmp_path))["status"].to_dict() == {"d1": "won", "d2": "lost"}
    # by default case matters: the same cells are not keys, so they take `other`
    plain(tmp_path, rows, closed_at='{ column = "Closed", when = { Stage = "never" } }')
    assert opps(load_plain(tmp_path))["status"].to_dict() == {"d1": "open", "d2": "open"}


def test_6_ignore_case_matches_keys_whatever_their_case_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1", stage="CLOSED WON", close="2026-03-20 10:00"), hs_deal("2", stage="closed Lost", close="2026-03-21 10:00")],
            users=[hs_user("Jane", "Smith")])
    o = opps(load_dataset(tmp_path, preset="hubspot"))
    assert o["status"].to_dict() == {"1": "won", "2": "lost"}
    assert o["closed_at"].to_dict() == {"1": pd.Timestamp("2026-03-20 10:00"), "2": pd.Timestamp("2026-03-21 10:00")}


# ======================================================================= 7-10 conditions


def test_7_when_leaves_the_value_empty_where_it_does_not_hold_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("won", stage="Closed Won", closed="2026-03-20"), deal("open", stage="Proposal", closed="2026-04-30")])
    o = opps(load_plain(tmp_path))
    assert o.loc["won", "closed_at"] == pd.Timestamp("2026-03-20")
    assert pd.isna(o.loc["open", "closed_at"])  # the Closed cell has a date, but the deal is open
    assert o.loc["open", "expected_close_date"] == pd.Timestamp("2026-04-30")  # read without `when`


def test_7_when_leaves_the_value_empty_where_it_does_not_hold_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB", closed="1", won="1", close="2026-03-20"), sf_opp("0068d00000Opp02AAB", close="2026-04-30")])
    o = opps(load_dataset(tmp_path, preset="salesforce"))
    assert o.loc["0068d00000Opp01AAB", "closed_at"] == pd.Timestamp("2026-03-20")
    assert pd.isna(o.loc["0068d00000Opp02AAB", "closed_at"])
    assert o.loc["0068d00000Opp02AAB", "expected_close_date"] == pd.Timestamp("2026-04-30")


def test_7_when_leaves_the_value_empty_where_it_does_not_hold_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1", stage="Closed won", close="2026-03-20 10:00"), hs_deal("2", stage="Contract sent", close="2026-04-30 00:00")],
            users=[hs_user("Jane", "Smith")])
    o = opps(load_dataset(tmp_path, preset="hubspot"))
    assert o.loc["1", "closed_at"] == pd.Timestamp("2026-03-20 10:00")
    assert pd.isna(o.loc["2", "closed_at"])
    assert o.loc["2", "expected_close_date"] == pd.Timestamp("2026-04-30")


def test_8_every_term_of_a_condition_must_hold_plain(tmp_path: Path) -> None:
    rows = [deal("a", stage="Closed Won", pipeline="Renewals"), deal("b", stage="Closed Won", pipeline="New"), deal("c", stage="Proposal", pipeline="Renewals")]
    extra = '\n[[opportunities.exclude]]\nreason = "won renewals"\nwhen = { Stage = "Closed Won", Pipeline = ["Renewals", "Upsell"] }\n'
    plain(tmp_path, rows, extra=extra, status='{ column = "Stage", values = { "Closed Won" = "won" }, other = "open" }',
          closed_at='{ column = "Closed", when = { Stage = "Closed Won" } }')
    ds = load_plain(tmp_path)
    assert sorted(opps(ds).index) == ["b", "c"]
    assert notes(ds) == ["deals.csv: note: 1 row excluded from opportunities: won renewals"]


def test_9_an_empty_string_in_a_condition_matches_an_empty_cell_plain(tmp_path: Path) -> None:
    extra = '\n[[opportunities.exclude]]\nreason = "no pipeline"\nwhen = { Pipeline = "" }\n'
    plain(tmp_path, [deal("a", pipeline=""), deal("b", pipeline="  "), deal("c", pipeline="New")], extra=extra)
    ds = load_plain(tmp_path)
    assert list(opps(ds).index) == ["c"]
    assert notes(ds) == ["deals.csv: note: 2 rows excluded from opportunities: no pipeline"]


def test_9_an_empty_string_in_a_condition_matches_an_empty_cell_hubspot(tmp_path: Path) -> None:
    """The preset leaves out calls assigned to nobody (``when = { "Activity assigned to" = "" }``)."""
    call = {"Activity date": "2026-03-04 09:15", "Call direction": "Outbound", "Call outcome": "No answer", "Call duration": "0"}
    calls = [{"Record ID": "c1", "Activity assigned to": "Jane Smith", **call}, {"Record ID": "c2", "Activity assigned to": "", **call},
             {"Record ID": "c3", "Activity assigned to": " ", **call}]
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")], calls=calls)
    ds = load_dataset(tmp_path, preset="hubspot")
    assert sorted(ds.activities.to_pandas()["activity_id"]) == ["c1"]
    assert "calls.csv: note: 2 rows excluded from activities (dial): no Activity assigned to: no dial" in notes(ds)


def test_10_a_sql_condition_may_use_a_window_over_the_whole_file_plain(tmp_path: Path) -> None:
    extra = '\n[[opportunities.exclude]]\nreason = "created before the export\'s last day"\nwhen = { sql = \'\'\'CAST("Created" AS DATE) < max(CAST("Created" AS DATE)) OVER ()\'\'\' }\n'
    plain(tmp_path, [deal("a", created="2026-03-01 10:00:00"), deal("b", created="2026-03-05 09:00:00"), deal("c", created="2026-03-05 18:00:00")], extra=extra)
    ds = load_plain(tmp_path)
    assert sorted(opps(ds).index) == ["b", "c"]
    assert notes(ds) == ["deals.csv: note: 1 row excluded from opportunities: created before the export's last day"]


def test_10_a_sql_condition_may_use_a_window_over_the_whole_file_salesforce(tmp_path: Path) -> None:
    """The preset's held meetings: started no later than the export's latest SystemModstamp."""
    header = ["Id", "IsDeleted", "IsChild", "IsAllDayEvent", "OwnerId", "WhatId", "CreatedDate", "StartDateTime", "DurationInMinutes", "SystemModstamp"]
    event = {"IsDeleted": "0", "IsChild": "0", "IsAllDayEvent": "0", "OwnerId": ANN, "WhatId": "", "CreatedDate": "2026-03-01T09:00:00.000Z",
             "DurationInMinutes": "30"}
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")])
    _csv(tmp_path / "Event.csv", header, [
        {"Id": "e1", **event, "StartDateTime": "2026-03-05T10:00:00.000Z", "SystemModstamp": "2026-03-10T12:00:00.000Z"},
        {"Id": "e2", **event, "StartDateTime": "2026-03-10T12:00:00.000Z", "SystemModstamp": "2026-03-01T09:00:00.000Z"},  # on the moment
        {"Id": "e3", **event, "StartDateTime": "2026-03-10T12:00:01.000Z", "SystemModstamp": "2026-03-01T09:00:00.000Z"},  # a second after
    ])
    acts = load_dataset(tmp_path, preset="salesforce").activities.to_pandas()
    assert sorted(acts.loc[acts["activity_type"] == "meeting", "activity_id"]) == ["e1", "e2"]
    assert sorted(acts.loc[acts["activity_type"] == "appointment", "activity_id"]) == ["e1:booked", "e2:booked", "e3:booked"]


# ======================================================================= 11-14 exclude, note


def test_11_exclude_leaves_rows_out_and_counts_them_with_the_reason_plain(tmp_path: Path) -> None:
    extra = ('\n[[opportunities.exclude]]\nreason = "renewals are not new business"\nwhen = { Pipeline = "Renewals" }\n'
             '\n[[opportunities.exclude]]\nreason = "test deals"\nwhen = { Deal = ["t1", "t2"] }\n')
    plain(tmp_path, [deal("a"), deal("r1", pipeline="Renewals"), deal("r2", pipeline="Renewals"), deal("t1"), deal("t2", pipeline="Renewals")], extra=extra)
    ds = load_plain(tmp_path)
    assert list(opps(ds).index) == ["a"]
    # a row matching two filters is counted once, by the first
    assert notes(ds) == [
        "deals.csv: note: 3 rows excluded from opportunities: renewals are not new business",
        "deals.csv: note: 1 row excluded from opportunities: test deals",
    ]


def test_11_exclude_leaves_rows_out_and_counts_them_with_the_reason_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB"), sf_opp("0068d00000Opp02AAB", IsDeleted="1"), sf_opp("0068d00000Opp03AAB", IsDeleted="true")])
    ds = load_dataset(tmp_path, preset="salesforce")
    assert list(opps(ds).index) == ["0068d00000Opp01AAB"]
    assert "Opportunity.csv: note: 2 rows excluded from opportunities: deleted (in the Recycle Bin: IsDeleted)" in notes(ds)


def test_11_exclude_leaves_rows_out_and_counts_them_with_the_reason_hubspot(tmp_path: Path) -> None:
    call = {"Activity assigned to": "Jane Smith", "Activity date": "2026-03-04 09:15", "Call direction": "Outbound"}
    calls = [{"Record ID": "c1", "Call outcome": "Connected", **call}, {"Record ID": "c2", "Call outcome": "No answer", **call},
             {"Record ID": "c3", "Call outcome": "Busy", **call}]
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")], calls=calls)
    ds = load_dataset(tmp_path, preset="hubspot")
    acts = ds.activities.to_pandas()
    assert sorted(acts.loc[acts["activity_type"] == "conversation", "activity_id"]) == ["c1:talk"]
    assert "calls.csv: note: 2 rows excluded from activities (conversation): Call outcome is not Connected: no conversation" in notes(ds)
    # a filter that excluded nothing says 0 (promise 12)
    assert "calls.csv: note: 0 rows excluded from activities (dial): Call direction is Inbound: no dial" in notes(ds)


def test_12_a_filter_that_excluded_nothing_says_0_plain(tmp_path: Path) -> None:
    extra = '\n[[opportunities.exclude]]\nreason = "renewals"\nwhen = { Pipeline = "Renewal" }\n'  # misspelt: matches nothing
    plain(tmp_path, [deal("a", pipeline="Renewals")], extra=extra)
    ds = load_plain(tmp_path)
    assert list(opps(ds).index) == ["a"]
    assert notes(ds) == ["deals.csv: note: 0 rows excluded from opportunities: renewals"]


def test_12_a_filter_that_excluded_nothing_says_0_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")])
    assert "Opportunity.csv: note: 0 rows excluded from opportunities: deleted (in the Recycle Bin: IsDeleted)" in notes(load_dataset(tmp_path, preset="salesforce"))


def test_13_excluding_an_opportunity_leaves_out_its_activities_and_history_plain(tmp_path: Path) -> None:
    extra = (
        '\n[[opportunities.exclude]]\nreason = "renewals"\nwhen = { Pipeline = "Renewals" }\n'
        '\n[activities]\nfile = "calls.csv"\n[activities.columns]\nactivity_id = "Call"\nrep_id = "Who"\noccurred_at = "At"\n'
        'activity_type = { value = "dial" }\nopportunity_id = "Deal"\n'
        '\n[opportunity_history]\nfile = "changes.csv"\n[opportunity_history.columns]\nopportunity_id = "Deal"\nchanged_at = "At"\n'
        'stage = "Stage"\namount = "Value"\nexpected_close_date = "Close"\n'
    )
    plain(tmp_path, [deal("a"), deal("r", pipeline="Renewals")], extra=extra)
    (tmp_path / "calls.csv").write_text("Call,Who,At,Deal\nc1,Jane Smith,2026-03-03 09:00:00,a\nc2,Jane Smith,2026-03-03 10:00:00,r\n"
                                        "c3,Jane Smith,2026-03-03 11:00:00,r\nc4,Jane Smith,2026-03-03 12:00:00,\n", encoding="utf-8")
    (tmp_path / "changes.csv").write_text("Deal,At,Stage,Value,Close\na,2026-03-02 10:00:00,Proposal,1000,2026-04-30\n"
                                          "r,2026-03-02 10:00:00,Proposal,1000,2026-04-30\n", encoding="utf-8")
    ds = load_plain(tmp_path)
    assert sorted(ds.activities.to_pandas()["activity_id"]) == ["c1", "c4"]
    assert ds.table("opportunity_history")["opportunity_id"].tolist() == ["a"]
    assert sorted(notes(ds)) == [
        "calls.csv: note: 2 rows excluded from activities: their opportunity is excluded",
        "changes.csv: note: 1 row excluded from opportunity_history: their opportunity is excluded",
        "deals.csv: note: 1 row excluded from opportunities: renewals",
    ]


def test_13_excluding_an_opportunity_leaves_out_its_activities_and_history_salesforce(tmp_path: Path) -> None:
    keep, gone = "0068d00000Opp01AAB", "0068d00000Opp02AAB"
    hist = {"IsDeleted": "0", "CreatedDate": "2026-03-02T10:00:00.000Z", "StageName": "Proposal", "Amount": "1000", "CloseDate": "2026-04-30"}
    salesforce(tmp_path, [sf_opp(keep), sf_opp(gone, IsDeleted="1")], tasks=[sf_task("t1", keep), sf_task("t2", gone)],
               history=[{"OpportunityId": keep, **hist}, {"OpportunityId": gone, **hist}])
    ds = load_dataset(tmp_path, preset="salesforce")
    assert ds.activities.to_pandas()["activity_id"].tolist() == ["t1"]
    assert ds.table("opportunity_history")["opportunity_id"].tolist() == [keep]
    assert "OpportunityHistory.csv: note: 1 row excluded from opportunity_history: their opportunity is excluded" in notes(ds)
    assert "Task.csv: note: 1 row excluded from activities (section 1 of 2): their opportunity is excluded" in notes(ds)


def test_13_excluding_an_opportunity_leaves_out_its_activities_hubspot(tmp_path: Path) -> None:
    """docs/presets/hubspot.md, Leaving a pipeline out: the calls on those deals go with them, counted."""
    from salesx2lib.mapping import preset_path

    call = {"Activity assigned to": "Jane Smith", "Activity date": "2026-03-04 09:15", "Call direction": "Outbound", "Call outcome": "No answer"}
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", Pipeline="Renewals")], users=[hs_user("Jane", "Smith")],
            calls=[{"Record ID": "c1", "Associated Deal IDs": "1", **call}, {"Record ID": "c2", "Associated Deal IDs": "2", **call}])
    copy = tmp_path / "hubspot-mapping.toml"
    text = preset_path("hubspot").read_text(encoding="utf-8")
    text = text.replace("# -------------------------------------------------------------------------- activities",
                        '[[opportunities.exclude]]\nreason = "the Renewals pipeline is not new business"\nwhen = { Pipeline = "Renewals" }\n\n'
                        "# -------------------------------------------------------------------------- activities", 1)
    copy.write_text(text, encoding="utf-8")
    ds = load_dataset(tmp_path, mapping=copy)
    assert list(opps(ds).index) == ["1"]
    assert ds.activities.to_pandas()["activity_id"].tolist() == ["c1"]
    assert "deals.csv: note: 1 row excluded from opportunities: the Renewals pipeline is not new business" in notes(ds)
    assert "calls.csv: note: 1 row excluded from activities (dial): their opportunity is excluded" in notes(ds)


def test_14_note_keeps_the_rows_and_counts_them_plain(tmp_path: Path) -> None:
    extra = '\n[[opportunities.note]]\nsays = "value rounded by the spreadsheet"\nwhen = { Value = ["1000", "2000"] }\n'
    plain(tmp_path, [deal("a"), deal("b", value="2000"), deal("c", value="1500")], extra=extra)
    ds = load_plain(tmp_path)
    assert sorted(opps(ds).index) == ["a", "b", "c"]
    assert notes(ds) == ["deals.csv: note: 2 rows of opportunities: value rounded by the spreadsheet"]


def test_14_note_keeps_the_rows_and_counts_them_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB", closed="1", won="1", close="2026-03-02"), sf_opp("0068d00000Opp02AAB", closed="1", won="1", close="2026-03-03")])
    ds = load_dataset(tmp_path, preset="salesforce")
    o = opps(ds)
    assert len(o) == 2
    assert o.loc["0068d00000Opp01AAB", "closed_at"] == pd.Timestamp("2026-03-02 10:00")  # the creation time, later than 00:00
    assert ("Opportunity.csv: note: 1 row of opportunities: closed the day it was created: CloseDate has no time of day, "
            "so closed_at is the creation time") in notes(ds)


# ======================================================================= 15-20 owners


def test_15_derive_missing_adds_an_unknown_owner_to_team_unassigned_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b", owner="Sam Reed"), deal("c", owner="Sam Reed")], reps_extra="derive_missing = true")
    ds = load_plain(tmp_path)
    reps = ds.reps.set_index("rep_id")
    assert reps.loc["Sam Reed", ["rep_name", "team"]].tolist() == ["Sam Reed", UNASSIGNED_TEAM]
    assert pd.isna(reps.loc["Sam Reed", "manager"])
    assert "deals.csv:3:Owner: warning: 'Sam Reed' is not in owners.csv: added as a rep of team 'Unassigned' (2 rows)" in warnings(ds)
    # an owner found only in another table (here a canonical quotas.csv beside the export) too
    (tmp_path / "quotas.csv").write_text("rep_id,period_start,period_end,quota\nOla Berg,2026-03-01,2026-03-31,5000\n", encoding="utf-8")
    ds = load_plain(tmp_path)
    assert ds.reps.set_index("rep_id").loc["Ola Berg", "team"] == UNASSIGNED_TEAM
    assert any(w.startswith("quotas.csv:2:rep_id: warning: 'Ola Berg' is not in owners.csv") for w in warnings(ds))


def test_15_derive_missing_adds_an_unknown_owner_to_team_unassigned_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB"), sf_opp("0068d00000Opp02AAB", owner=BOB)])
    ds = load_dataset(tmp_path, preset="salesforce")
    assert ds.reps.set_index("rep_id").loc[BOB, "team"] == UNASSIGNED_TEAM
    assert f"Opportunity.csv:3:OwnerId: warning: '{BOB}' is not in User.csv: added as a rep of team 'Unassigned' (1 row)" in warnings(ds)


def test_15_derive_missing_adds_an_unknown_owner_to_team_unassigned_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", owner="Tom Becker")], users=[hs_user("Jane", "Smith")])
    ds = load_dataset(tmp_path, preset="hubspot")
    assert ds.reps.set_index("rep_id").loc["Tom Becker", "team"] == UNASSIGNED_TEAM
    assert "deals.csv:3:Deal owner: warning: 'Tom Becker' is not in users.csv: added as a rep of team 'Unassigned' (1 row)" in warnings(ds)


def test_16_without_derive_missing_an_unknown_owner_is_an_error_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b", owner="Sam Reed")])
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and errors[0].startswith("deals.csv:3:Owner: ") and "Sam Reed" in errors[0]


def test_17_with_no_reps_file_every_owner_is_derived_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b", owner="Sam Reed")], owners=None, reps_extra="optional = true\nderive_missing = true")
    ds = load_plain(tmp_path)
    assert ds.reps.set_index("rep_id")["team"].to_dict() == {"Jane Smith": UNASSIGNED_TEAM, "Sam Reed": UNASSIGNED_TEAM}
    assert warnings(ds) == ["deals.csv: warning: no reps file: 2 reps derived from the owners, named as the owners are, in team 'Unassigned'"]


def test_17_with_no_reps_file_every_owner_is_derived_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB"), sf_opp("0068d00000Opp02AAB", owner=BOB)], users=None)
    ds = load_dataset(tmp_path, preset="salesforce")
    assert ds.reps.set_index("rep_id")["team"].to_dict() == {ANN: UNASSIGNED_TEAM, BOB: UNASSIGNED_TEAM}


def test_17_with_no_reps_file_every_owner_is_derived_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", owner="Tom Becker")], users=None)
    ds = load_dataset(tmp_path, preset="hubspot")
    assert ds.reps.set_index("rep_id")["team"].to_dict() == {"Jane Smith": UNASSIGNED_TEAM, "Tom Becker": UNASSIGNED_TEAM}


def test_18_loose_rep_id_ignores_case_and_repeated_spaces_with_a_warning_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b", owner="jane  SMITH"), deal("c", owner="Jane Smith ")], rep_id='{ column = "Owner", match = "loose" }')
    ds = load_plain(tmp_path)
    assert opps(ds)["rep_id"].to_dict() == {"a": "Jane Smith", "b": "Jane Smith", "c": "Jane Smith"}
    assert warnings(ds) == [
        "deals.csv:3:Owner: warning: 'jane  SMITH' taken as rep 'Jane Smith' of owners.csv (case and spacing ignored; 1 row)",
        "owners.csv:3:Owner: warning: rep 'Tom Lee' has no opportunity in deals.csv",
    ]
    # without match = "loose" the same name is an unknown owner
    plain(tmp_path, [deal("a"), deal("b", owner="jane  SMITH")])
    assert any(e.startswith("deals.csv:3:Owner: ") for e in problems(tmp_path, mapping=tmp_path / "mapping.toml"))


def test_18_loose_rep_id_ignores_case_and_repeated_spaces_with_a_warning_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", owner="JANE   smith")], users=[hs_user("Jane", "Smith")])
    ds = load_dataset(tmp_path, preset="hubspot")
    assert opps(ds)["rep_id"].to_dict() == {"1": "Jane Smith", "2": "Jane Smith"}
    assert "deals.csv:3:Deal owner: warning: 'JANE   smith' taken as rep 'Jane Smith' of users.csv (case and spacing ignored; 1 row)" in warnings(ds)


def test_19_loose_derived_owners_are_one_rep_named_as_most_rows_spell_it_plain(tmp_path: Path) -> None:
    rows = [deal("a", owner="sam reed"), deal("b", owner="Sam Reed"), deal("c", owner="Sam  Reed"), deal("d", owner="Sam Reed")]
    plain(tmp_path, rows, reps_extra="derive_missing = true", rep_id='{ column = "Owner", match = "loose" }')
    ds = load_plain(tmp_path)
    assert sorted(ds.reps["rep_id"]) == ["Jane Smith", "Sam Reed", "Tom Lee"]
    assert set(opps(ds)["rep_id"]) == {"Sam Reed"}


def test_19_loose_derived_owners_are_one_rep_named_as_most_rows_spell_it_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1", owner="tom becker"), hs_deal("2", owner="Tom Becker"), hs_deal("3", owner="Tom Becker"), hs_deal("4", owner="TOM BECKER")], users=None)
    ds = load_dataset(tmp_path, preset="hubspot")
    assert ds.reps["rep_id"].tolist() == ["Tom Becker"]
    assert set(opps(ds)["rep_id"]) == {"Tom Becker"}


def test_20_listed_reps_differing_only_in_case_are_warned_and_the_first_gets_loose_names_plain(tmp_path: Path) -> None:
    owners = OWNERS + "jane smith,Kim Lee,Lisbon\n"
    plain(tmp_path, [deal("a", owner="JANE SMITH")], owners=owners, rep_id='{ column = "Owner", match = "loose" }')
    ds = load_plain(tmp_path)
    assert opps(ds).loc["a", "rep_id"] == "Jane Smith"  # 'Jane Smith' sorts before 'jane smith'
    assert ("owners.csv:2:Owner: warning: reps 'Jane Smith' and 'jane smith' differ only in case and spacing: "
            "a name matched loosely goes to 'Jane Smith'") in warnings(ds)


# ======================================================================= 21-24 lookups

TEAMS = "Person,Squad,Boss\nJane Smith,East,Kim\nTom  LEE,West,Kim\n"
LOOKUP_REPS = """
[reps]
file = "deals.csv"

[reps.columns]
rep_id = "Owner"
rep_name = "Owner"
team = {team}
manager = {manager}
"""


def lookup_export(folder: Path, deals: list[str], team: str, manager: str = '{ value = "" }') -> Path:
    """Reps taken from the deal owners, their team (and manager) looked up in teams.csv."""
    plain(folder, deals, reps=False, extra="")
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    text = LOOKUP_REPS.format(team=team, manager=manager) + (folder / "mapping.toml").read_text(encoding="utf-8")
    (folder / "mapping.toml").write_text(text, encoding="utf-8")
    return folder


def test_21_lookup_takes_the_value_from_another_file_plain(tmp_path: Path) -> None:
    lookup_export(tmp_path, [deal("a")], team='{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Squad" } }',
                  manager='{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Boss" } }')
    reps = load_plain(tmp_path).reps.set_index("rep_id")
    assert reps.loc["Jane Smith", ["team", "manager"]].tolist() == ["East", "Kim"]


def test_21_lookup_takes_the_value_from_another_file_salesforce(tmp_path: Path) -> None:
    """The preset's manager: the Name of the user ManagerId points to, in User.csv itself."""
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")], users=[sf_user(ANN, "Ann", "Lee", manager=MAX), sf_user(MAX, "Max", "Ross", Name="Maximilian Ross")])
    reps = load_dataset(tmp_path, preset="salesforce").reps.set_index("rep_id")
    assert reps.loc[ANN, "manager"] == "Maximilian Ross"
    assert pd.isna(reps.loc[MAX, "manager"])


def test_22_a_lookup_key_not_found_leaves_the_value_empty_with_a_warning_plain(tmp_path: Path) -> None:
    lookup_export(tmp_path, [deal("a")], team='"Owner"', manager='{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Boss" } }')
    (tmp_path / "teams.csv").write_text("Person,Squad,Boss\nNobody,West,Kim\n", encoding="utf-8")
    ds = load_plain(tmp_path)
    assert pd.isna(ds.reps.set_index("rep_id").loc["Jane Smith", "manager"])
    assert "deals.csv:2:Owner: warning: 1 row with 'Jane Smith', not found in teams.csv (Person): manager left empty" in warnings(ds)


def test_22_a_lookup_key_not_found_leaves_the_value_empty_with_a_warning_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")], users=[sf_user(ANN, "Ann", "Lee", manager="0058d00000GoneXAAJ")])
    ds = load_dataset(tmp_path, preset="salesforce")
    assert pd.isna(ds.reps.set_index("rep_id").loc[ANN, "manager"])
    assert "User.csv:2:ManagerId: warning: 1 row with '0058d00000GoneXAAJ', not found in User.csv (Id): manager left empty" in warnings(ds)


def test_23_a_lookup_miss_on_a_required_column_is_an_error_plain(tmp_path: Path) -> None:
    lookup_export(tmp_path, [deal("a"), deal("b", owner="Ola Berg")], team='{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Squad" } }')
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == [
        "deals.csv:3:Owner: 'Ola Berg' is not found in teams.csv (Person), and team is required [team]"
    ]


def test_24_loose_lookup_ignores_case_and_repeated_spaces_plain(tmp_path: Path) -> None:
    rows = [deal("a", owner="jane smith"), deal("b", owner="Tom Lee")]
    loose = '{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Squad", match = "loose" } }'
    lookup_export(tmp_path, rows, team=loose)
    assert load_plain(tmp_path).reps.set_index("rep_id")["team"].to_dict() == {"jane smith": "East", "Tom Lee": "West"}
    # an exact lookup does not find either spelling: the team is required, so both are errors
    lookup_export(tmp_path, rows, team=loose.replace(', match = "loose"', ""))
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == [
        "deals.csv:2:Owner: 'jane smith' is not found in teams.csv (Person), and team is required [team]",
        "deals.csv:3:Owner: 'Tom Lee' is not found in teams.csv (Person), and team is required [team]",
    ]


# ======================================================================= 25-26 value, sql


def test_25_value_is_a_constant_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b")], expected_close_date='"Closed"\naccount_id = { value = "ACME" }')
    assert opps(load_plain(tmp_path))["account_id"].tolist() == ["ACME", "ACME"]


def test_25_value_is_a_constant_hubspot(tmp_path: Path) -> None:
    """The preset's manager is the constant "": an empty value, i.e. no manager."""
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")])
    assert load_dataset(tmp_path, preset="hubspot").reps["manager"].isna().all()


def test_26_sql_expression_over_the_files_columns_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", value="1000"), deal("b", value="12k")], expected_close_date='"Closed"\naccount_id = { sql = \'\'\'upper("Pipeline") || \'-\' || "Deal"\'\'\' }')
    text = (tmp_path / "mapping.toml").read_text(encoding="utf-8").replace('amount = "Value"', 'amount = { sql = \'\'\'CAST("Value" AS VARCHAR)\'\'\', column = "Value" }')
    (tmp_path / "mapping.toml").write_text(text, encoding="utf-8")
    # the value the SQL gives is checked like any other, and the message points at `column`
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == ["deals.csv:3:Value: '12k' is not a number [amount]"]
    plain(tmp_path, [deal("a", value="1000")], expected_close_date='"Closed"\naccount_id = { sql = \'\'\'upper("Pipeline") || \'-\' || "Deal"\'\'\' }')
    assert opps(load_plain(tmp_path)).loc["a", "account_id"] == "NEW-a"


# ======================================================================= 27-31 dates and times


def test_27_format_reads_day_first_dates_and_names_itself_when_a_value_does_not_match_plain(tmp_path: Path) -> None:
    fmt = {"created_at": '{ column = "Created", format = "%d/%m/%Y" }', "expected_close_date": '{ column = "Closed", format = "%d/%m/%Y" }',
           "closed_at": '{ column = "Closed", format = "%d/%m/%Y", when = { Stage = ["Closed Won", "Closed Lost"] } }'}
    plain(tmp_path, [deal("a", created="02/03/2026", closed="01/04/2026")], **fmt)
    o = opps(load_plain(tmp_path))
    assert (o.loc["a", "created_at"], o.loc["a", "expected_close_date"]) == (pd.Timestamp("2026-03-02"), pd.Timestamp("2026-04-01"))
    plain(tmp_path, [deal("a", created="02/03/2026", closed="01/04/2026"), deal("b", created="31/02/2026", closed="1.4.2026")], **fmt)
    assert sorted(problems(tmp_path, mapping=tmp_path / "mapping.toml")) == [
        "deals.csv:3:Closed: '1.4.2026' is not a date (expected format %d/%m/%Y, as mapping.toml says) [expected_close_date]",
        "deals.csv:3:Created: '31/02/2026' is not a date and time (expected format %d/%m/%Y, as mapping.toml says) [created_at]",
    ]
    # a value written in ISO 8601 is still read as ISO where no time zone applies
    plain(tmp_path, [deal("a", created="2026-03-02 10:00:00", closed="2026-04-01")], **fmt)
    o = opps(load_plain(tmp_path))
    assert (o.loc["a", "created_at"], o.loc["a", "expected_close_date"]) == (pd.Timestamp("2026-03-02 10:00"), pd.Timestamp("2026-04-01"))


def test_27_format_reads_the_exports_dates_and_names_itself_when_a_value_does_not_match_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1", **{"Create Date": "2026-03-02 10:07"}), hs_deal("2", **{"Create Date": "03/02/2026 10:07 AM"})], users=[hs_user("Jane", "Smith")])
    assert problems(tmp_path, preset="hubspot") == [
        "deals.csv:3:Create Date: '03/02/2026 10:07 AM' is not a date and time (expected format %Y-%m-%d %H:%M, as hubspot.toml says) [created_at]"
    ]
    # docs/presets/hubspot.md: a time written with seconds is reported too (the preset's times carry a time zone)
    hubspot(tmp_path, [hs_deal("1", **{"Create Date": "2026-03-02 10:07:00"})], users=[hs_user("Jane", "Smith")])
    assert problems(tmp_path, preset="hubspot") == [
        "deals.csv:2:Create Date: '2026-03-02 10:07:00' is not a date and time (expected format %Y-%m-%d %H:%M, as hubspot.toml says) [created_at]"
    ]
    hubspot(tmp_path, [hs_deal("1", **{"Create Date": "2026-03-02 10:07"})], users=[hs_user("Jane", "Smith")])
    assert opps(load_dataset(tmp_path, preset="hubspot")).loc["1", "created_at"] == pd.Timestamp("2026-03-02 10:07")


def test_28_without_format_iso_is_expected_and_nothing_is_guessed_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", created="02/03/2026")])
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and errors[0].startswith("deals.csv:2:Created: '02/03/2026' is not a date and time") and errors[0].endswith("[created_at]")


def test_29_a_time_format_on_a_date_column_keeps_the_calendar_date_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", closed="2026-04-30 23:59:00"), deal("b", closed="2026-05-01 00:01:00")],
          expected_close_date='{ column = "Closed", format = "%Y-%m-%d %H:%M:%S", timezone = "America/New_York" }',
          closed_at='{ column = "Closed", when = { Stage = "never" } }')
    o = opps(load_plain(tmp_path))
    assert o["expected_close_date"].to_dict() == {"a": pd.Timestamp("2026-04-30"), "b": pd.Timestamp("2026-05-01")}


def test_30_timezone_converts_local_times_to_utc_plain(tmp_path: Path) -> None:
    rows = [deal("winter", created="2026-03-02 23:30:00"), deal("summer", created="2026-07-01 10:00:00", closed="2026-07-31")]
    plain(tmp_path, rows, created_at='{ column = "Created", timezone = "Europe/Berlin" }')
    o = opps(load_plain(tmp_path))
    assert o.loc["winter", "created_at"] == pd.Timestamp("2026-03-02 22:30:00")  # CET, UTC+1
    assert o.loc["summer", "created_at"] == pd.Timestamp("2026-07-01 08:00:00")  # CEST, UTC+2
    # a time that does not match the format is an error, even in ISO 8601: read as ISO it
    # would be UTC, the time zone silently skipped
    plain(tmp_path, [deal("a", created="02/03/2026 23:30"), deal("b", created="2026-03-02 23:30:00")],
          created_at='{ column = "Created", format = "%d/%m/%Y %H:%M", timezone = "Europe/Berlin" }')
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == [
        "deals.csv:3:Created: '2026-03-02 23:30:00' is not a date and time (expected format %d/%m/%Y %H:%M, as mapping.toml says) [created_at]"
    ]
    # date columns are calendar dates, never moved
    plain(tmp_path, rows, expected_close_date='{ column = "Closed", timezone = "Pacific/Auckland" }')
    assert opps(load_plain(tmp_path)).loc["winter", "expected_close_date"] == pd.Timestamp("2026-04-30")


def test_30_timezone_converts_local_times_to_utc_hubspot(tmp_path: Path) -> None:
    """docs/presets/hubspot.md: replace every timezone = "UTC" in a copy of the preset."""
    from salesx2lib.mapping import preset_path

    hubspot(tmp_path, [hs_deal("1", stage="Closed won", close="2026-03-20 00:30", **{"Create Date": "2026-03-02 10:07"})], users=[hs_user("Jane", "Smith")])
    copy = tmp_path / "hubspot-mapping.toml"
    copy.write_text(preset_path("hubspot").read_text(encoding="utf-8").replace('timezone = "UTC"', 'timezone = "Europe/Berlin"'), encoding="utf-8")
    o = opps(load_dataset(tmp_path, mapping=copy))
    assert o.loc["1", "created_at"] == pd.Timestamp("2026-03-02 09:07")
    assert o.loc["1", "closed_at"] == pd.Timestamp("2026-03-19 23:30")
    assert o.loc["1", "expected_close_date"] == pd.Timestamp("2026-03-20")  # the calendar date as written


def test_31_times_without_an_offset_are_utc_and_an_iso_offset_is_converted_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", created="2026-03-02 10:00:00"), deal("b", created="2026-03-02T10:00:00+02:00"), deal("c", created="2026-03-02")])
    assert opps(load_plain(tmp_path))["created_at"].to_dict() == {
        "a": pd.Timestamp("2026-03-02 10:00"), "b": pd.Timestamp("2026-03-02 08:00"), "c": pd.Timestamp("2026-03-02 00:00"),
    }


# ======================================================================= 32-40 cells, sections, files, messages


def test_32_spaces_at_either_end_of_a_cell_are_trimmed_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal(" a ", owner=" Jane Smith", stage=" Proposal  ", value=" 1000 ")])
    o = opps(load_plain(tmp_path))
    assert list(o.index) == ["a"]
    assert (o.loc["a", "rep_id"], o.loc["a", "stage"], o.loc["a", "amount"]) == ("Jane Smith", "Proposal", 1000.0)


def test_32_spaces_at_either_end_of_a_cell_are_trimmed_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal(" 1 ", owner="Jane Smith  ", stage=" Contract sent ")], users=[hs_user(" Jane", "Smith ")])
    ds = load_dataset(tmp_path, preset="hubspot")
    assert list(opps(ds).index) == ["1"] and opps(ds).loc["1", "stage"] == "Contract sent"
    assert ds.reps["rep_id"].tolist() == ["Jane Smith"]
    assert not [w for w in warnings(ds) if "taken as rep" in w]  # trimmed, not a loose match


def test_32_spaces_at_either_end_of_a_cell_are_trimmed_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp(" 0068d00000Opp01AAB ", owner=f"{ANN} ", stage=" Proposal", IsDeleted=" 0")])
    o = opps(load_dataset(tmp_path, preset="salesforce"))
    assert list(o.index) == ["0068d00000Opp01AAB"]
    assert (o.iloc[0]["rep_id"], o.iloc[0]["stage"], o.iloc[0]["status"]) == (ANN, "Proposal", "open")


def test_33_an_unmapped_column_that_may_be_empty_is_empty_and_a_required_one_is_an_error_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a")])
    text = (tmp_path / "mapping.toml").read_text(encoding="utf-8").replace('manager = "Manager"\n', "")
    (tmp_path / "mapping.toml").write_text(text, encoding="utf-8")
    assert load_plain(tmp_path).reps["manager"].isna().all()
    (tmp_path / "mapping.toml").write_text(text.replace('created_at = "Created"\n', ""), encoding="utf-8")
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and errors[0].startswith("mapping.toml:") and errors[0].endswith("does not map created_at, which opportunities requires")


def test_34_an_optional_file_absent_is_an_absent_table_and_otherwise_an_error_plain(tmp_path: Path) -> None:
    part = '\n[activities]\nfile = "calls.csv"\n{opt}\n[activities.columns]\nactivity_id = "Call"\nrep_id = "Who"\noccurred_at = "At"\nactivity_type = { value = "dial" }\n'
    plain(tmp_path, [deal("a")], extra=part.replace("{opt}", "optional = true"))
    assert not load_plain(tmp_path).has("activities")
    plain(tmp_path, [deal("a")], extra=part.replace("{opt}", ""))
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and "calls.csv" in errors[0] and "missing" in errors[0]


def test_34_an_optional_file_absent_is_an_absent_table_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")])
    ds = load_dataset(tmp_path, preset="salesforce")
    assert not ds.has("activities") and not ds.has("opportunity_history")
    (tmp_path / "Opportunity.csv").unlink()
    assert any("Opportunity.csv" in e for e in problems(tmp_path, preset="salesforce"))


def test_34_an_optional_file_absent_is_an_absent_table_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")])
    assert not load_dataset(tmp_path, preset="hubspot").has("activities")
    call = {"Record ID": "c1", "Activity assigned to": "Jane Smith", "Activity date": "2026-03-04 09:15", "Call direction": "Outbound", "Call outcome": "Connected"}
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")], calls=[call])
    acts = load_dataset(tmp_path, preset="hubspot").activities.to_pandas()  # calls alone: no meetings, no emails
    assert sorted(acts["activity_type"]) == ["conversation", "dial"]


def test_35_delimiter_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", value="1000.5")], opps_extra='delimiter = ";"')
    (tmp_path / "deals.csv").write_text((DEALS_HEADER + deal("a", value="1000.5")).replace(",", ";"), encoding="utf-8")
    assert opps(load_plain(tmp_path)).loc["a", "amount"] == 1000.5
    # by default the separator is the comma: the semicolon file is one column, whose names are missing
    plain(tmp_path, [deal("a")])
    (tmp_path / "deals.csv").write_text((DEALS_HEADER + deal("a")).replace(",", ";"), encoding="utf-8")
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml")


def test_36_encoding_latin_1_when_said_detected_by_default_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("Café Noël")], opps_extra='encoding = "latin-1"')
    (tmp_path / "deals.csv").write_bytes((DEALS_HEADER + deal("Café Noël")).encode("latin-1"))
    assert list(opps(load_plain(tmp_path)).index) == ["Café Noël"]
    plain(tmp_path, [deal("Café Noël")])
    (tmp_path / "deals.csv").write_bytes((DEALS_HEADER + deal("Café Noël")).encode("latin-1"))
    ds = load_plain(tmp_path)
    assert list(opps(ds).index) == ["Café Noël"]
    assert [str(n) for n in ds.notes if "UTF-8" in str(n)] == [
        "deals.csv: note: is not UTF-8 (byte 0xe9 on line 2): read as Latin-1 (ISO-8859-1)"
    ]
    plain(tmp_path, [deal("Café Noël")], opps_extra='encoding = "utf-8"')
    (tmp_path / "deals.csv").write_bytes((DEALS_HEADER + deal("Café Noël")).encode("latin-1"))
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert errors and all("deals.csv" in e and "is not UTF-8" in e for e in errors)


def test_36_a_latin_1_export_reads_with_the_stock_preset_salesforce(tmp_path: Path) -> None:
    """docs/presets/salesforce.md: an export made in ISO-8859-1 is read too, with a note per file."""
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")], users=[sf_user(ANN, "Jürgen", "Müller", department="Vertrieb Süd")])
    for name in ("User.csv", "Opportunity.csv"):
        path = tmp_path / name
        path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    ds = load_dataset(tmp_path, preset="salesforce")
    assert ds.reps.set_index("rep_id").loc[ANN, ["rep_name", "team"]].tolist() == ["Jürgen Müller", "Vertrieb Süd"]
    assert sorted(str(n).split(":")[0] for n in ds.notes if "read as Latin-1" in str(n)) == ["User.csv"]


def test_37_a_file_pattern_must_match_exactly_one_file_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a")])
    (tmp_path / "deals.csv").rename(tmp_path / "hubspot-crm-exports-all-deals-2026-11-27.csv")
    text = (tmp_path / "mapping.toml").read_text(encoding="utf-8").replace('file = "deals.csv"', 'file = "*deals*.csv"')
    (tmp_path / "mapping.toml").write_text(text, encoding="utf-8")
    assert list(opps(load_plain(tmp_path)).index) == ["a"]
    (tmp_path / "old-deals.csv").write_text(DEALS_HEADER + deal("b"), encoding="utf-8")
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and "old-deals.csv" in errors[0] and "hubspot-crm-exports-all-deals-2026-11-27.csv" in errors[0]


def test_38_sections_of_one_table_are_stacked_plain(tmp_path: Path) -> None:
    section = ('\n[[activities]]\nfile = "calls.csv"\n[activities.columns]\nactivity_id = {aid}\nrep_id = "Who"\noccurred_at = "At"\n'
               'activity_type = {{ value = "{kind}" }}\n')
    extra = section.format(aid='"Call"', kind="dial") + section.format(aid='{ sql = \'\'\'"Call" || \':talk\'\'\'\', column = "Call" }', kind="conversation")
    plain(tmp_path, [deal("a")], extra=extra)
    (tmp_path / "calls.csv").write_text("Call,Who,At\nc1,Jane Smith,2026-03-03 09:00:00\nc2,Tom Lee,2026-03-03 10:00:00\n", encoding="utf-8")
    acts = load_plain(tmp_path).activities.to_pandas().sort_values("activity_id")
    assert acts[["activity_id", "activity_type"]].values.tolist() == [
        ["c1", "dial"], ["c1:talk", "conversation"], ["c2", "dial"], ["c2:talk", "conversation"],
    ]


def test_39_a_table_the_mapping_does_not_mention_is_read_as_usual_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a")])
    (tmp_path / "quotas.csv").write_text("rep_id,period_start,period_end,quota\nJane Smith,2026-03-01,2026-03-31,5000\n", encoding="utf-8")
    q = load_plain(tmp_path).table("quotas")
    assert q[["rep_id", "quota"]].values.tolist() == [["Jane Smith", 5000.0]]


def test_39_a_table_the_mapping_does_not_mention_is_read_as_usual_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB")])
    (tmp_path / "quotas.csv").write_text(f"rep_id,period_start,period_end,quota\n{ANN},2026-03-01,2026-03-31,5000\n", encoding="utf-8")
    assert load_dataset(tmp_path, preset="salesforce").table("quotas")["quota"].tolist() == [5000.0]


def test_39_a_table_the_mapping_does_not_mention_is_read_as_usual_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1")], users=[hs_user("Jane", "Smith")])
    (tmp_path / "quotas.csv").write_text("rep_id,period_start,period_end,quota\nJane Smith,2026-03-01,2026-03-31,5000\n", encoding="utf-8")
    assert load_dataset(tmp_path, preset="hubspot").table("quotas")[["rep_id", "quota"]].values.tolist() == [["Jane Smith", 5000.0]]


def test_40_errors_name_the_exports_file_line_and_column_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a", owner="Jane Smith", stage="Quote\nsent"), deal("b", value="12k"), deal("c", value="-5")])
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == [
        "deals.csv:4:Value: '12k' is not a number [amount]",  # line 4: the quoted cell of a spans lines 2 and 3
        "deals.csv:5:Value: -5 is negative (amount must be >= 0) [amount]",
    ]


def test_40_errors_name_the_exports_file_line_and_column_hubspot(tmp_path: Path) -> None:
    hubspot(tmp_path, [hs_deal("1"), hs_deal("2", Amount="1,200.00")], users=[hs_user("Jane", "Smith")])
    assert problems(tmp_path, preset="hubspot") == ["deals.csv:3:Amount: '1,200.00' is not a number [amount]"]


def test_40_errors_name_the_exports_file_line_and_column_salesforce(tmp_path: Path) -> None:
    salesforce(tmp_path, [sf_opp("0068d00000Opp01AAB"), sf_opp("0068d00000Opp02AAB", Amount="12k", closed="1", won="1", close="2026-03-10")])
    assert problems(tmp_path, preset="salesforce") == ["Opportunity.csv:3:Amount: '12k' is not a number [amount]"]


def test_41_in_a_parquet_export_the_line_is_the_row_number_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal("a"), deal("b", value="12k")])
    pd.read_csv(tmp_path / "deals.csv", dtype="str", keep_default_na=False).to_parquet(tmp_path / "deals.parquet")
    (tmp_path / "deals.csv").unlink()
    text = (tmp_path / "mapping.toml").read_text(encoding="utf-8").replace('file = "deals.csv"', 'file = "deals.parquet"')
    (tmp_path / "mapping.toml").write_text(text, encoding="utf-8")
    assert problems(tmp_path, mapping=tmp_path / "mapping.toml") == ["deals.parquet:2:Value: '12k' is not a number [amount]"]


def test_42_a_rule_broken_on_many_rows_lists_the_first_50_and_the_total_plain(tmp_path: Path) -> None:
    plain(tmp_path, [deal(f"d{i}", value="n/a") for i in range(60)])
    with pytest.raises(DataError) as info:
        load_plain(tmp_path)
    shown = [str(p) for p in info.value.problems if p.severity == "error"]
    assert shown == ["deals.csv:Value: 60 rows in all break this rule (the first 50 are listed)"] + [
        f"deals.csv:{line}:Value: 'n/a' is not a number [amount]" for line in range(2, 52)
    ]


@pytest.mark.parametrize("where", ['file = "deals.csv"', 'lookup = { file = "teams.csv"'])
def test_43_files_must_be_inside_data_plain(tmp_path: Path, where: str) -> None:
    lookup_export(tmp_path, [deal("a")], team='{ column = "Owner", lookup = { file = "teams.csv", key = "Person", value = "Squad" } }')
    text = (tmp_path / "mapping.toml").read_text(encoding="utf-8")
    assert where in text
    (tmp_path / "mapping.toml").write_text(text.replace(where, where.replace('"deals.csv"', '"../deals.csv"').replace('"teams.csv"', '"/etc/teams.csv"'), 1), encoding="utf-8")
    errors = problems(tmp_path, mapping=tmp_path / "mapping.toml")
    assert len(errors) == 1 and errors[0].startswith("mapping.toml:") and "must name a file inside DATA" in errors[0]


def test_every_promise_of_the_docstring_has_a_test() -> None:
    """The numbered list above and the tests stay in step."""
    numbers = {int(name.split("_")[1]) for name in globals() if name.startswith("test_") and name.split("_")[1].isdigit()}
    assert numbers == set(range(1, 44))
    doc = __doc__ or ""
    listed = {int(n) for n in re.findall(r"^\s*(\d+)\. ", doc, flags=re.M)}
    assert listed == numbers

