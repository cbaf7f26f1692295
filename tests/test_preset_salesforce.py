"""The ``salesforce`` preset: a Salesforce Data Export read as the canonical tables.

Two sources: ``tests/fixtures/salesforce``, a hand-written export with one row per quirk
(its README lists them; every value read from it is checked here), and the synthetic
sample written by :func:`salesx2lib.sample_crm.salesforce.write_salesforce`, read back
through the preset and compared with the tables it was written from (a round trip).
"""

from __future__ import annotations

import csv
import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from salesx2lib.cli import main
from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.mapping import preset_path
from salesx2lib.sample import DEFAULT_END, generate
from salesx2lib.sample_crm.salesforce import FILES, KEY_PREFIXES, case_safe_id, write_salesforce

FIXTURE = Path(__file__).parent / "fixtures" / "salesforce"
T = pd.Timestamp
NAT = pd.NaT

ANN, BOB, CY, DEE, MAX = (
    "0058d00000AnnLeAAJ",
    "0058d00000BobDzAAJ",
    "0058d00000CyPrkAAF",
    "0058d00000DeeMsAAJ",
    "0058d00000MaxRoAAJ",
)


def opp(n: int) -> str:
    return f"0068d00000Opp{n:02d}AAB"


def task(n: int) -> str:
    return f"00T8d00000Tsk{n:02d}EAB"


def event(n: int) -> str:
    return f"00U8d00000Evt{n:02d}EAB"


def notes(ds: Dataset, file: str) -> list[str]:
    return [p.message for p in ds.notes if p.file == file]


_EXCLUDED = re.compile(r"^([\d,]+) rows? excluded(?: from \w+(?: \([^)]*\))?)?: (.*)$")
_NOTED = re.compile(r"^([\d,]+) rows?(?: of \w+(?: \([^)]*\))?)?: (.*)$")


def excluded(ds: Dataset, file: str, reason: str) -> list[int]:
    """How many rows of ``file`` each section's ``exclude`` with ``reason`` left out."""
    found = [_EXCLUDED.match(m) for m in notes(ds, file)]
    return [int(f[1].replace(",", "")) for f in found if f is not None and f[2] == reason]


def noted(ds: Dataset, file: str, says: str) -> list[int]:
    """How many rows of ``file`` a ``note`` counted (an empty list if it said nothing)."""
    found = [_NOTED.match(m) for m in notes(ds, file) if not _EXCLUDED.match(m)]
    return [int(f[1].replace(",", "")) for f in found if f is not None and f[2] == says]


def activities(ds: Dataset) -> pd.DataFrame:
    assert ds.activities is not None
    return ds.activities.execute().set_index("activity_id").sort_index()


@pytest.fixture(scope="module")
def fixture_ds() -> Dataset:
    return load_dataset(FIXTURE, preset="salesforce")


# ------------------------------------------------------------------ the hand-written export
def test_reps_come_from_user_csv(fixture_ds):
    reps = fixture_ds.reps.set_index("rep_id").sort_index()
    assert list(reps.index) == sorted([ANN, BOB, CY, DEE, MAX])
    assert reps.loc[ANN, ["rep_name", "team", "manager", "region"]].tolist() == ["Ann Lee", "East", "Max Roe", "EMEA"]  # ManagerId looked up
    assert reps.loc[BOB, "team"] == "East"  # inactive, still a rep: he owns deals
    assert pd.isna(reps.loc[CY, "manager"]) and reps.loc[CY, "team"] == "West"
    assert reps.loc[DEE, "team"] == "Americas"  # no Department: the Division
    assert reps.loc[MAX, "team"] == "East"
    assert reps["hire_date"].to_dict() == {
        ANN: T("2024-01-08"), BOB: T("2025-06-02"), CY: T("2023-02-13"), DEE: T("2026-02-02"), MAX: T("2022-09-01"),
    }  # fmt: skip
    reason = "not a Standard user (automated process, integration, portal, guest or Chatter user)"
    assert excluded(fixture_ds, "User.csv", reason) == [1]
    warned = {(w.file, w.line) for w in fixture_ds.warnings}
    assert warned == {("User.csv", 6)}  # Max, the manager: no deal, no activity


def test_status_comes_from_is_closed_and_is_won(fixture_ds):
    status = fixture_ds.opportunities.set_index("opportunity_id")["status"].to_dict()
    assert status == {
        opp(1): "won", opp(2): "lost", opp(3): "open", opp(4): "won", opp(5): "open", opp(6): "lost",
        opp(7): "won", opp(9): "open", opp(10): "won", opp(11): "open", opp(12): "lost",
    }  # fmt: skip


def test_closed_at_is_the_close_day_never_before_creation(fixture_ds):
    o = fixture_ds.opportunities.set_index("opportunity_id")
    assert o["closed_at"].to_dict() == {
        opp(1): T("2026-03-12"), opp(2): T("2026-03-10"), opp(3): NAT, opp(4): T("2026-03-05 15:20"),
        opp(5): NAT, opp(6): T("2026-03-18"), opp(7): T("2026-03-20"), opp(9): NAT,
        opp(10): T("2026-03-16 11:00"), opp(11): NAT, opp(12): T("2026-03-17"),
    }  # fmt: skip
    assert (o["closed_at"].dropna() >= o.loc[o["closed_at"].notna(), "created_at"]).all()
    same_day = "closed the day it was created: CloseDate has no time of day, so closed_at is the creation time"
    before = (
        "closed before it was created (CloseDate earlier than CreatedDate: entered after the fact), "
        "so closed_at is the creation time"
    )
    assert noted(fixture_ds, "Opportunity.csv", same_day) == [1]
    assert noted(fixture_ds, "Opportunity.csv", before) == [1]


def test_values_as_written(fixture_ds):
    o = fixture_ds.opportunities.set_index("opportunity_id")
    assert pd.isna(o.loc[opp(3), "amount"]) and pd.isna(o.loc[opp(6), "amount"])  # open and lost without Amount
    assert o.loc[opp(7), "amount"] == 15000.5
    assert pd.isna(o.loc[opp(5), "account_id"])
    assert o.loc[opp(1), "account_id"] == "0018d00000Acc01AAB"
    assert o.loc[opp(4), ["rep_id", "stage", "created_at"]].tolist() == [BOB, "Closed Won", T("2026-03-05 15:20")]
    assert o.loc[opp(3), "expected_close_date"] == T("2026-04-15")
    assert o.loc[opp(10), "expected_close_date"] == T("2026-03-13")


def test_deleted_records_are_left_out_and_counted(fixture_ds):
    assert opp(8) not in set(fixture_ds.opportunities["opportunity_id"])
    assert opp(8) not in set(fixture_ds.table("opportunity_history")["opportunity_id"])
    deleted = "deleted (in the Recycle Bin: IsDeleted)"
    assert excluded(fixture_ds, "Opportunity.csv", deleted) == [1]
    assert excluded(fixture_ds, "OpportunityHistory.csv", deleted) == [1]
    assert excluded(fixture_ds, "Task.csv", deleted) == [1, 1]  # in each of its two sections
    assert excluded(fixture_ds, "Event.csv", deleted) == [1, 1, 1]
    acts = activities(fixture_ds)
    assert task(13) not in acts.index and event(7) not in acts.index


def test_history(fixture_ds):
    h = fixture_ds.table("opportunity_history")
    assert len(h) == 20
    o1 = h.loc[h["opportunity_id"] == opp(1)].sort_values("changed_at")
    assert o1["stage"].tolist() == ["Prospecting", "Proposal", "Closed Won"]
    assert o1["amount"].tolist() == [10000.0, 12000.0, 12000.0]
    assert o1["expected_close_date"].tolist() == [T("2026-03-31"), T("2026-03-31"), T("2026-03-12")]


def test_activity_types(fixture_ds):
    acts = activities(fixture_ds)
    by_type = acts.groupby("activity_type").size().to_dict()
    assert by_type == {"dial": 8, "conversation": 8, "email": 3, "other": 2, "appointment": 3, "meeting": 3}
    ids = lambda kind: sorted(acts.index[acts["activity_type"] == kind])  # noqa: E731
    assert ids("dial") == sorted(task(n) for n in (1, 2, 3, 4, 5, 6, 14, 17))
    assert ids("conversation") == sorted(
        [f"{task(n)}:talk" for n in (1, 4, 7, 14, 17)] + [f"{event(n)}:talk" for n in (1, 2, 3)]
    )
    assert ids("email") == [task(9), task(10), task(16)]
    assert ids("other") == [task(11), task(15)]
    assert ids("appointment") == [f"{event(n)}:booked" for n in (1, 2, 4)]
    assert ids("meeting") == [event(n) for n in (1, 2, 3)]  # Evt04 starts after the export's last change


def test_calls(fixture_ds):
    acts = activities(fixture_ds)
    assert acts.loc[task(4), "duration_s"] == 60 and f"{task(4)}:talk" in acts.index  # 60 s is a conversation
    assert acts.loc[task(5), "duration_s"] == 59 and f"{task(5)}:talk" not in acts.index
    assert pd.isna(acts.loc[task(6), "duration_s"])  # logged by hand: a dial only
    assert task(7) not in acts.index and acts.loc[f"{task(7)}:talk", "duration_s"] == 300  # inbound: no dial
    assert not any(i.startswith(task(8)) for i in acts.index)  # inbound, 20 s: nothing
    assert task(12) not in acts.index  # not done yet
    assert acts.loc[task(14), "activity_type"] == "dial"  # no TaskSubtype: Type says Call
    assert acts.loc[task(17), "occurred_at"] == T("2026-03-18 10:00")  # CompletedDateTime, not CreatedDate
    assert acts.loc[task(16), "occurred_at"] == T("2026-03-18 08:30")  # no CompletedDateTime: CreatedDate
    first = acts.loc[task(1), ["rep_id", "occurred_at", "opportunity_id"]].tolist()
    assert first == [ANN, T("2026-03-04 09:15"), opp(1)]
    assert excluded(fixture_ds, "Task.csv", "an inbound or internal call is not a dial") == [2]
    assert excluded(fixture_ds, "Task.csv", "an open task (not done yet: a plan, not an activity)") == [1, 1]


def test_opportunity_id_only_from_an_opportunity(fixture_ds):
    acts = activities(fixture_ds)
    assert pd.isna(acts.loc[task(11), "opportunity_id"])  # WhatId is an Account
    assert pd.isna(acts.loc[task(2), "opportunity_id"])  # no WhatId
    assert acts.loc[task(15), "opportunity_id"] == opp(1)
    assert acts.loc[task(9), "opportunity_id"] == opp(2)


def test_events(fixture_ds):
    acts = activities(fixture_ds)
    assert acts.loc[f"{event(1)}:booked", ["occurred_at", "opportunity_id"]].tolist() == [T("2026-03-02 10:10"), opp(1)]
    assert acts.loc[event(1), ["occurred_at", "duration_s"]].tolist() == [T("2026-03-05 14:00"), 2700.0]
    assert acts.loc[f"{event(1)}:talk", ["occurred_at", "duration_s"]].tolist() == [T("2026-03-05 14:00"), 2700.0]
    assert pd.isna(acts.loc[f"{event(2)}:booked", "opportunity_id"])  # a first meeting with a prospect
    assert f"{event(3)}:booked" not in acts.index  # logged after it happened
    assert acts.loc[event(3), "duration_s"] == 3600
    for n in (5, 6, 7):  # all-day, an invitee's copy, deleted
        assert not any(i.startswith(event(n)) for i in acts.index)
    child = "an invitee's copy of a group event (IsChild): counted once, for its owner"
    assert excluded(fixture_ds, "Event.csv", child) == [1, 1, 1]
    all_day = "an all-day event (out of office, trade show): not a sales meeting"
    assert excluded(fixture_ds, "Event.csv", all_day) == [1, 1, 1]
    logged = "logged after it started, not booked in advance: no appointment"
    assert excluded(fixture_ds, "Event.csv", logged) == [1]


def test_other_files(fixture_ds):
    assert len(fixture_ds.table("quotas")) == 4  # canonical, next to the export
    assert "forecasts" not in fixture_ds.tables
    assert "1 other files not read: Account.csv" in notes(fixture_ds, str(FIXTURE))


# ------------------------------------------------------------------------------ variants
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)\.000Z$")


def _rewrite(path: Path) -> None:
    """Checkboxes as true/false and date-times as '2026-03-02 14:05:00' (Data Loader style)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    flags = [i for i, name in enumerate(header) if name.startswith("Is")]
    for row in body:
        for i, cell in enumerate(row):
            if i in flags:
                row[i] = {"1": "true", "0": "false"}.get(cell, cell)
            else:
                row[i] = _DATETIME.sub(r"\1 \2", cell)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *body])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def variant_ds(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """No User.csv, Data Loader formats, a meeting booked for 30 days from now, and the
    deleted deal's call and history row not marked deleted."""
    folder = tmp_path_factory.mktemp("variant") / "export"
    shutil.copytree(FIXTURE, folder)
    (folder / "User.csv").unlink()
    for name in ("Opportunity.csv", "OpportunityHistory.csv", "Task.csv", "Event.csv"):
        _rewrite(folder / name)
    # the call and history row of the deleted Opp08 not marked deleted themselves
    cy_call = '"Normal","0058d00000CyPrkAAF","","Call",'
    _edit(folder / "Task.csv", cy_call + '"true"', cy_call + '"false"')
    _edit(folder / "OpportunityHistory.csv", '"2026-03-09 13:04:00","true"', '"2026-03-09 13:04:00","false"')
    start = (pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=30)).floor("h")
    later = f"{start:%Y-%m-%d %H:%M:%S}"
    row = (
        f'"00U8d00000Evt08EAB","0038d00000Con05AAB","{opp(11)}","Contract signing","","false","{later}",'
        f'"{start:%Y-%m-%d}","30","{later}","{later}","","","{DEE}","Meeting","false","Busy","false","false","false",'
        f'"2026-03-19 10:00:00","{DEE}","2026-03-19 10:00:00","{DEE}","2026-03-19 10:00:00","Event"\n'
    )
    with (folder / "Event.csv").open("a", encoding="utf-8") as handle:
        handle.write(row)
    return load_dataset(folder, preset="salesforce")


def test_without_user_csv_reps_are_derived(variant_ds):
    reps = variant_ds.reps
    assert sorted(reps["rep_id"]) == sorted([ANN, BOB, CY, DEE])
    assert set(reps["team"]) == {"Unassigned"}
    assert any("no reps file" in w.message for w in variant_ds.warnings)


def test_data_loader_formats_read_the_same(fixture_ds, variant_ds):
    cols = ["opportunity_id", "status", "created_at", "closed_at", "amount", "expected_close_date"]
    left = fixture_ds.opportunities[cols].sort_values("opportunity_id").reset_index(drop=True)
    right = variant_ds.opportunities[cols].sort_values("opportunity_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)
    assert len(variant_ds.table("opportunity_history")) == 20  # His15 left out with Opp08


def test_activities_on_a_deleted_deal_go_with_it(variant_ds):
    acts = activities(variant_ds)
    assert not any(i.startswith(task(13)) for i in acts.index)


def test_a_meeting_not_yet_held_is_only_an_appointment(variant_ds):
    acts = activities(variant_ds)
    assert acts.loc[f"{event(8)}:booked", "occurred_at"] == T("2026-03-19 10:00")
    assert event(8) not in acts.index and f"{event(8)}:talk" not in acts.index
    assert excluded(variant_ds, "Event.csv", "has not started yet: not held") == [2, 2]  # with Evt04
    assert acts.groupby("activity_type").size().to_dict() == {
        "dial": 8, "conversation": 8, "email": 3, "other": 2, "appointment": 4, "meeting": 3,
    }  # fmt: skip


def test_overriding_a_copy_of_the_preset(tmp_path):
    """The doc's example: a conversation from 120 seconds, in a copy passed with --mapping."""
    text = preset_path("salesforce").read_text(encoding="utf-8")
    old = '''coalesce(TRY_CAST(trim("CallDurationInSeconds") AS DOUBLE), 0) < 60'''
    assert text.count(old) == 1
    copy = tmp_path / "my-salesforce.toml"
    copy.write_text(text.replace(old, old.replace("< 60", "< 120")), encoding="utf-8")
    acts = activities(load_dataset(FIXTURE, mapping=copy))
    talks = sorted(i for i in acts.index if i.startswith("00T") and i.endswith(":talk"))
    assert talks == [f"{task(n)}:talk" for n in (1, 7, 17)]  # 245, 300 and 180 s; not 60 or 90


# ----------------------------------------------------------------------------- round trip
@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pd.DataFrame], Path, Dataset]:
    tables = generate(reps=6, weeks=10, seed=7)
    folder = tmp_path_factory.mktemp("roundtrip") / "export"
    written = write_salesforce(tables, folder)
    assert [p.name for p in written] == list(FILES)
    return tables, folder, load_dataset(folder, preset="salesforce")


def _rep_of(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, str]:
    users = pd.read_csv(folder / "User.csv", dtype="str", keep_default_na=False)
    by_name = dict(zip(users["Name"], users["Id"], strict=True))
    return {r: by_name[n] for r, n in zip(tables["reps"]["rep_id"], tables["reps"]["rep_name"], strict=True)}


def test_export_looks_like_salesforce(round_trip, tmp_path):
    tables, folder, _ = round_trip
    for name in FILES:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith('"Id",'), name
        assert all(line.startswith('"') and line.endswith('"') for line in lines[:200]), name
    assert case_safe_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    for name, obj in (("User.csv", "User"), ("Opportunity.csv", "Opportunity"), ("Task.csv", "Task")):
        ids = pd.read_csv(folder / name, dtype="str", keep_default_na=False)["Id"]
        assert ids.str.startswith(KEY_PREFIXES[obj]).all() and ids.is_unique, name
        assert all(case_safe_id(i[:15]) == i for i in ids), name
    # the same tables give the same bytes
    again = write_salesforce(tables, tmp_path / "again")
    for path in again:
        assert path.read_bytes() == (folder / path.name).read_bytes(), path.name


def test_round_trip_deals(round_trip):
    tables, folder, ds = round_trip
    rep_of = _rep_of(tables, folder)
    truth = tables["opportunities"].assign(rep_id=lambda d: d["rep_id"].map(rep_of))
    read = ds.opportunities
    assert len(read) == len(truth)
    count = lambda d: d.groupby(["rep_id", "status"]).size().unstack(fill_value=0)  # noqa: E731
    pd.testing.assert_frame_equal(count(read), count(truth))
    won = lambda d: d.loc[d["status"] == "won"].groupby("rep_id")["amount"].sum()  # noqa: E731
    pd.testing.assert_series_equal(won(read), won(truth))
    # cycle times: equal up to the close being a date (closed_at moves back to midnight,
    # never before the creation)
    key = ["rep_id", "created_at"]
    both = truth.merge(read, on=key, suffixes=("", "_read"), validate="one_to_one")
    closed = both.loc[both["status"] != "open"]
    lag = (closed["closed_at"] - closed["created_at"]) - (closed["closed_at_read"] - closed["created_at"])
    assert len(closed) > 100
    assert (lag >= pd.Timedelta(0)).all() and (lag < pd.Timedelta(days=1)).all()
    assert (both["status"] == both["status_read"]).all()


def test_round_trip_activities(round_trip):
    tables, folder, ds = round_trip
    rep_of = _rep_of(tables, folder)
    first = DEFAULT_END - pd.Timedelta(days=7 * 10 - 1)
    acts = activities(ds)
    inside = acts.loc[(acts["occurred_at"] >= T(first)) & (acts["occurred_at"] < T(DEFAULT_END) + pd.Timedelta(days=1))]
    kinds = ["dial", "conversation", "appointment", "meeting", "email"]
    count = lambda d: d.loc[d["activity_type"].isin(kinds)].groupby(["rep_id", "activity_type"]).size()  # noqa: E731
    truth = tables["activities"].assign(rep_id=lambda d: d["rep_id"].map(rep_of))
    pd.testing.assert_series_equal(count(inside), count(truth))
    # a business card has no Salesforce object: it comes back as an "other" task
    other = lambda d, k: d.loc[d["activity_type"].isin(k)].groupby("rep_id").size()  # noqa: E731
    pd.testing.assert_series_equal(other(inside, ["other"]), other(truth, ["other", "business_card"]))


def test_metrics_cli_on_the_export(round_trip, capsys):
    _, folder, _ = round_trip
    assert main(["metrics", str(folder), "--preset", "salesforce", "--table", "cycle"]) == 0
    assert capsys.readouterr().out.startswith("team,n,n_won,n_lost,n_open")


def test_doc_snippets_are_valid_toml():
    doc = (Path(__file__).parents[1] / "docs" / "presets" / "salesforce.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        tomllib.loads(block)


def test_role_names_as_teams_with_the_docs_lookup(tmp_path):
    """docs/presets/salesforce.md's UserRole lookup, on the fixture plus a UserRole.csv."""
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    (folder / "UserRole.csv").write_text(
        '"Id","Name","ParentRoleId"\n"00E8d00000East1EAB","Sales East",""\n"00E8d00000West1EAB","Sales West",""\n',
        encoding="utf-8",
    )
    doc = (Path(__file__).parents[1] / "docs" / "presets" / "salesforce.md").read_text(encoding="utf-8")
    [line] = [b.strip() for b in re.findall(r"```toml\n(.*?)```", doc, flags=re.DOTALL) if "UserRole.csv" in b]
    preset = preset_path("salesforce").read_text(encoding="utf-8")
    [team] = [row for row in preset.splitlines() if row.startswith("team = ")]
    mapping = tmp_path / "roles.toml"
    mapping.write_text(preset.replace(team, line), encoding="utf-8")
    ds = load_dataset(folder, mapping=mapping)
    reps = ds.reps.set_index("rep_id")
    assert reps.loc[ANN, "team"] == "Sales East" and reps.loc[CY, "team"] == "Sales West"
    assert not any("UserRole.csv" in n.message for n in ds.notes)  # read, not "not read"


def test_an_id_of_zeros_is_an_empty_lookup_and_is_counted(tmp_path: Path, fixture_ds: Dataset) -> None:
    """Salesforce exports an empty lookup as 000000000000000AAA: no account, not an
    account of that id (which would be an unknown-id warning)."""
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    _edit(folder / "Opportunity.csv", '"0068d00000Opp02AAB","0","0018d00000Acc02AAB"', '"0068d00000Opp02AAB","0","000000000000000AAA"')
    _edit(folder / "Opportunity.csv", '"0068d00000Opp01AAB","0","0018d00000Acc01AAB"', '"0068d00000Opp01AAB","0","000000000000000"')
    ds = load_dataset(folder, preset="salesforce")
    account = ds.opportunities.set_index("opportunity_id")["account_id"]
    assert pd.isna(account["0068d00000Opp01AAB"]) and pd.isna(account["0068d00000Opp02AAB"])
    expected = fixture_ds.opportunities.set_index("opportunity_id")["account_id"].drop(["0068d00000Opp01AAB", "0068d00000Opp02AAB"])
    pd.testing.assert_series_equal(account.drop(["0068d00000Opp01AAB", "0068d00000Opp02AAB"]), expected)
    assert [str(n) for n in ds.notes if "read as empty" in str(n)] == [
        "Opportunity.csv: note: 2 cells read as empty: 000000000000000AAA, 000000000000000 (salesforce.toml null_values; AccountId 2)"
    ]
    assert not [w for w in ds.warnings if "000000000000000" in str(w)]


def test_a_close_date_after_the_last_change_closes_at_the_last_change(tmp_path: Path) -> None:
    # Opp06 (last change 2026-03-18 16:00): CloseDate moved to the next day -> the last change;
    # Opp04 (last change 2026-03-05 17:45): CloseDate months later -> the last change, and the
    # as-of date stays the export's; Opp01 (CloseDate on its last change's day) is unchanged
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    deals = folder / "Opportunity.csv"
    _edit(deals, '"0","2026-03-18","New Business"', '"0","2026-03-19","New Business"')
    _edit(deals, '"100","2026-03-05","New Business"', '"100","2026-09-30","New Business"')
    ds = load_dataset(folder, preset="salesforce")
    o = ds.opportunities.set_index("opportunity_id")["closed_at"]
    assert (o[opp(6)], o[opp(4)], o[opp(1)]) == (T("2026-03-18 16:00"), T("2026-03-05 17:45"), T("2026-03-12"))
    says = "closed with a CloseDate after the day of the deal's last change (LastModifiedDate), so closed_at is the last change"
    assert noted(ds, "Opportunity.csv", says) == [2]
    # the expected close date is CloseDate as written
    assert ds.opportunities.set_index("opportunity_id").loc[opp(4), "expected_close_date"] == T("2026-09-30")
