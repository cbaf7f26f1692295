"""The synthetic sample as a Salesforce Data Export: ``User.csv``, ``Opportunity.csv``...

:func:`write_salesforce` takes the canonical tables of :func:`salesx2lib.sample.generate`
and writes what Salesforce's Data Export (Setup > Data Export) would have produced for
that sales floor: one CSV per object, named after its API name, every field
double-quoted, checkboxes as ``"1"``/``"0"``, date-times in UTC as
``2026-03-02T14:05:00.000Z``, dates as ``2026-03-02``, and 18-character record ids with
their real key prefixes (``005`` User, ``006`` Opportunity, ``00T`` Task...) and
case-safe suffix. It is written from what the sales floor did, not from the preset that
reads it back (``salesx2lib/presets/salesforce.toml``), so reading it through the preset
is a real round trip.

How the canonical activities become Salesforce records:

* a ``dial`` is a completed call Task (``TaskSubtype`` ``Call``, ``CallType``
  ``Outbound``, its length in ``CallDurationInSeconds``); the ``conversation`` logged with a
  connected call is not a record of its own (Salesforce logs the call once), and a
  conversation logged with neither a dial nor a meeting is an inbound call Task;
* an ``appointment`` and the ``meeting`` it booked are one Event, created when it was
  booked (``CreatedDate``) and starting when it is held (``StartDateTime``); the
  ``conversation`` logged with a meeting is that same Event. An appointment whose meeting
  the data does not hold (after the end, or the deal closed first) is an Event still on
  the calendar after the export; a meeting booked before the first day is an Event
  created before it;
* ``email`` is an Email Task, ``other`` a plain Task; a ``business_card`` (Salesforce has
  no such thing) is a plain Task "Business card scanned".

What a real export also holds, and the preset must cope with, is written too: the
managers as Users, ``Account.csv``, deleted records still in the Recycle Bin
(``IsDeleted`` ``1``: a few duplicate deals and calls), open follow-up call Tasks not done
yet, and all-day Events (trade shows). Salesforce requires a ``CloseDate``: an open deal
the sample leaves without an expected close date gets the one a rep would have typed,
30 days after its creation.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FILES", "KEY_PREFIXES", "case_safe_id", "salesforce_id", "write_salesforce"]

#: The files :func:`write_salesforce` writes, in order.
FILES: tuple[str, ...] = (
    "User.csv",
    "Account.csv",
    "Opportunity.csv",
    "OpportunityHistory.csv",
    "Task.csv",
    "Event.csv",
)

#: Salesforce key prefixes: the first three characters of every record id of an object.
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "UserRole": "00E",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "8d"  # the instance characters of every id (one org)
_DATETIME = "%Y-%m-%dT%H:%M:%S.000Z"
_DATE = "%Y-%m-%d"
_MINUTE = pd.Timedelta(minutes=1)
_DAY = pd.Timedelta(days=1)

#: Probability (%) and forecast category (API value, label) of each sample stage.
_STAGE_FORECAST: dict[str, tuple[int, str, str]] = {
    "Prospecting": (10, "Pipeline", "Pipeline"),
    "Qualification": (20, "Pipeline", "Pipeline"),
    "Proposal": (50, "BestCase", "Best Case"),
    "Negotiation": (80, "Forecast", "Commit"),
    "Closed Won": (100, "Closed", "Closed"),
    "Closed Lost": (0, "Omitted", "Omitted"),
}
_COMPANY_A = (
    "Northwind", "Bluepeak", "Harbor", "Ironwood", "Lumen", "Meridian", "Oakridge", "Pinecrest",
    "Quarry", "Redfern", "Silverline", "Tidewater", "Upland", "Vantage", "Westbrook", "Yellowstone",
)  # fmt: skip
_COMPANY_B = (
    "Logistics", "Foods", "Dental Group", "Software", "Builders", "Media", "Health", "Motors",
    "Textiles", "Energy", "Hotels", "Analytics", "Farms", "Print & Pack", "Legal", "Robotics",
)  # fmt: skip
_COMPANY_C = ("Inc.", "Ltd.", "GmbH", "& Sons", "LLC", "Group")
_DEALS = ("New licences", "Pilot", "Expansion", 'Renewal "Gold"', "Platform, phase 1", "Onboarding")
_OTHER_SUBJECTS = ("Send proposal", "Update account notes", "Prepare quote", "Internal handover")


def salesforce_id(prefix: str, n: int) -> str:
    """The ``n``-th record id of an object: 18 characters, the case-safe form.

    Fifteen characters (key ``prefix``, instance, a base-62 counter) and the suffix of
    :func:`case_safe_id`.

    Examples
    --------
    >>> salesforce_id("006", 0)
    '0068d0000000iDwAAI'
    """
    counter = 170_000 + 7_919 * n  # sparse, like ids of one org created over the years
    digits = ""
    for _ in range(9):
        counter, r = divmod(counter, 62)
        digits = _BASE62[r] + digits
    return case_safe_id(f"{prefix}{_POD}0{digits}")


def case_safe_id(id15: str) -> str:
    """The 18-character form of a 15-character record id.

    Salesforce appends three characters, one per block of five: a bit per upper-case
    letter of the block (the first letter is bit 0), as one of ``A-Z0-5``.

    Examples
    --------
    >>> case_safe_id("001A0000006Vm9r")
    '001A0000006Vm9rIAC'
    """
    if len(id15) != 15:
        raise ValueError(f"a 15-character id is needed, not {id15!r}")
    suffix = ""
    for block in range(3):
        flags = sum(1 << j for j, c in enumerate(id15[block * 5 : block * 5 + 5]) if "A" <= c <= "Z")
        suffix += _SUFFIX[flags]
    return id15 + suffix


def _ids(obj: str, count: int, start: int = 0) -> list[str]:
    return [salesforce_id(KEY_PREFIXES[obj], start + i) for i in range(count)]


def _dt(values: pd.Series) -> pd.Series:
    """Date-times as the export writes them (UTC, milliseconds, ``Z``); missing as empty."""
    return values.dt.strftime(_DATETIME).fillna("").astype("str")


def _d(values: pd.Series) -> pd.Series:
    return values.dt.strftime(_DATE).fillna("").astype("str")


def _num(values: pd.Series) -> pd.Series:
    """Numbers without a useless ``.0`` (``12000``, ``1234.5``); missing as empty."""
    out = [
        "" if np.isnan(v) else f"{v:.0f}" if float(v).is_integer() else f"{v:.15g}"
        for v in values.to_numpy(dtype="float64")
    ]
    return pd.Series(out, index=values.index, dtype="str")


def _flag(values: pd.Series | np.ndarray, index: pd.Index | None = None) -> pd.Series:
    arr = np.asarray(values, dtype=bool)
    return pd.Series(np.where(arr, "1", "0"), index=index, dtype="str")


def _write(path: Path, frame: pd.DataFrame) -> None:
    """Every field double-quoted, header included, ``\\n`` line ends, UTF-8."""
    text = frame.astype("str").to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\n", na_rep="")
    path.write_text(text, encoding="utf-8")


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return (first, last) if last else ("", first)


# ------------------------------------------------------------------------------- users
def _users(reps: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """One User per rep and per manager (managers own no deals); rep_id -> User Id."""
    reps = reps.reset_index(drop=True)
    managers = sorted(set(reps["manager"].dropna())) if "manager" in reps.columns else []
    user_ids = _ids("User", len(reps) + len(managers))
    rep_user = dict(zip(reps["rep_id"], user_ids[: len(reps)], strict=True))
    manager_user = dict(zip(managers, user_ids[len(reps) :], strict=True))
    hire = pd.to_datetime(reps["hire_date"]) if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    fallback = hire.min() if hire.notna().any() else pd.Timestamp("2020-01-06")
    hire = hire.fillna(fallback)
    roles = {team: salesforce_id(KEY_PREFIXES["UserRole"], i) for i, team in enumerate(sorted(set(reps["team"])))}
    rows = []
    for i, rep in reps.iterrows():
        first, last = _split_name(str(rep["rep_name"]))
        rows.append(
            {
                "Id": rep_user[rep["rep_id"]],
                "Name": str(rep["rep_name"]),
                "FirstName": first,
                "LastName": last,
                "Title": "Account Executive",
                "Department": str(rep["team"]),
                "Division": "" if pd.isna(rep.get("region")) else str(rep["region"]),
                "UserRoleId": roles[rep["team"]],
                "ManagerId": manager_user.get(rep.get("manager"), ""),
                "CreatedDate": hire.iloc[i] + pd.Timedelta(hours=8, minutes=30),
            }
        )
    for name in managers:
        teams = reps.loc[reps["manager"] == name, "team"]
        team = str(teams.iloc[0])
        region = reps.loc[teams.index[0], "region"] if "region" in reps.columns else ""
        first, last = _split_name(name)
        rows.append(
            {
                "Id": manager_user[name],
                "Name": name,
                "FirstName": first,
                "LastName": last,
                "Title": "Sales Manager",
                "Department": team,
                "Division": "" if pd.isna(region) else str(region),
                "UserRoleId": roles[team],
                "ManagerId": "",
                "CreatedDate": fallback - pd.Timedelta(days=400) + pd.Timedelta(hours=8),
            }
        )
    u = pd.DataFrame(rows)
    login = (u["FirstName"].str.lower() + "." + u["LastName"].str.lower()).str.replace(r"[^a-z.]", "", regex=True)
    users = pd.DataFrame(
        {
            "Id": u["Id"],
            "Username": login + "@acme-sales.example.com",
            "LastName": u["LastName"],
            "FirstName": u["FirstName"],
            "Name": u["Name"],
            "CompanyName": "Acme Sales",
            "Division": u["Division"],
            "Department": u["Department"],
            "Title": u["Title"],
            "Email": login + "@acme-sales.example.com",
            "Alias": (u["FirstName"].str[:1] + u["LastName"].str[:4]).str.lower(),
            "TimeZoneSidKey": "Europe/London",
            "IsActive": "1",
            "UserRoleId": u["UserRoleId"],
            "ProfileId": "00e8d000001XyZqAAK",
            "UserType": "Standard",
            "ManagerId": u["ManagerId"],
            "CreatedDate": _dt(u["CreatedDate"]),
            "CreatedById": u["Id"].iloc[-1],
            "LastModifiedDate": _dt(u["CreatedDate"]),
            "LastModifiedById": u["Id"].iloc[-1],
            "SystemModstamp": _dt(u["CreatedDate"]),
        }
    )
    return users, rep_user


# --------------------------------------------------------------------------- accounts
def _company(n: int) -> str:
    a = _COMPANY_A[n % len(_COMPANY_A)]
    b = _COMPANY_B[(n // len(_COMPANY_A)) % len(_COMPANY_B)]
    c = _COMPANY_C[(n // 7) % len(_COMPANY_C)]
    return f"{a} {b}, {c}" if n % 5 == 0 else f"{a} {b} {c}"


def _accounts(opps: pd.DataFrame, rep_user: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """One Account per account of the deals, owned by its first deal's owner."""
    first = opps.dropna(subset=["account_id"]).sort_values("created_at", kind="stable").drop_duplicates("account_id")
    first = first.sort_values("account_id", kind="stable").reset_index(drop=True)
    ids = _ids("Account", len(first))
    acc_id = dict(zip(first["account_id"], ids, strict=True))
    names = {a: _company(i) for i, a in enumerate(first["account_id"])}
    created = first["created_at"] - pd.Timedelta(days=2)
    owner = first["rep_id"].map(rep_user)
    accounts = pd.DataFrame(
        {
            "Id": ids,
            "IsDeleted": "0",
            "MasterRecordId": "",
            "Name": [names[a] for a in first["account_id"]],
            "Type": "Prospect",
            "ParentId": "",
            "Industry": "",
            "OwnerId": owner,
            "CreatedDate": _dt(created),
            "CreatedById": owner,
            "LastModifiedDate": _dt(created),
            "LastModifiedById": owner,
            "SystemModstamp": _dt(created),
        }
    )
    return accounts, acc_id, names


# ----------------------------------------------------------------------- opportunities
def _forecast_fields(stage: pd.Series) -> pd.DataFrame:
    """Probability (%), ForecastCategory and ForecastCategoryName of each stage."""
    rows = [_STAGE_FORECAST.get(s, (10, "Pipeline", "Pipeline")) for s in stage]
    return pd.DataFrame(rows, index=stage.index, columns=["Probability", "ForecastCategory", "ForecastCategoryName"])


def _opportunities(
    opps: pd.DataFrame,
    history: pd.DataFrame,
    rep_user: dict[str, str],
    acc_id: dict[str, str],
    acc_name: dict[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Opportunity.csv and OpportunityHistory.csv; canonical opportunity_id -> Opportunity Id.

    Every 40th deal also has a duplicate, entered by mistake two minutes after it and
    deleted (still in the Recycle Bin, with its history row).
    """
    opps = opps.reset_index(drop=True)
    n = len(opps)
    dup = opps.index[opps.index % 40 == 17]
    opp_ids = _ids("Opportunity", n + len(dup))
    opp_id = dict(zip(opps["opportunity_id"], opp_ids[:n], strict=True))
    default_close = (opps["created_at"] + pd.Timedelta(days=30)).dt.normalize()
    closed = opps["status"].isin(["won", "lost"])
    close_date = opps["closed_at"].dt.normalize().where(closed, opps["expected_close_date"].fillna(default_close))
    last_change = history.groupby("opportunity_id")["changed_at"].max().reindex(opps["opportunity_id"])
    modified = pd.Series(last_change.to_numpy(), index=opps.index).fillna(opps["created_at"])
    forecast = _forecast_fields(opps["stage"])
    owner = opps["rep_id"].map(rep_user)
    names = [
        f"{acc_name[a] if isinstance(a, str) else f'Inbound enquiry {i + 1}'} - {_DEALS[i % len(_DEALS)]}"
        for i, a in enumerate(opps["account_id"].tolist())
    ]
    frame = pd.DataFrame(
        {
            "Id": opp_ids[:n],
            "IsDeleted": "0",
            "AccountId": opps["account_id"].map(acc_id).fillna(""),
            "IsPrivate": "0",
            "Name": names,
            "Description": "",
            "StageName": opps["stage"],
            "Amount": _num(opps["amount"]),
            "Probability": forecast["Probability"].astype("str"),
            "TotalOpportunityQuantity": "",
            "CloseDate": _d(close_date),
            "Type": "New Business",
            "NextStep": "",
            "LeadSource": "Outbound Prospecting",
            "IsClosed": _flag(closed, opps.index),
            "IsWon": _flag(opps["status"] == "won", opps.index),
            "ForecastCategory": forecast["ForecastCategory"],
            "ForecastCategoryName": forecast["ForecastCategoryName"],
            "CampaignId": "",
            "HasOpportunityLineItem": "0",
            "Pricebook2Id": "",
            "OwnerId": owner,
            "CreatedDate": _dt(opps["created_at"]),
            "CreatedById": owner,
            "LastModifiedDate": _dt(modified),
            "LastModifiedById": owner,
            "SystemModstamp": _dt(modified),
            "LastActivityDate": "",
            "FiscalQuarter": ((close_date.dt.month - 1) // 3 + 1).astype("int64").astype("str"),
            "FiscalYear": close_date.dt.year.astype("int64").astype("str"),
        }
    )
    # the deleted duplicates: the same deal entered again, deleted 10 minutes later
    entered = opps.loc[dup, "created_at"] + 2 * _MINUTE
    deleted = frame.loc[dup].assign(
        Id=opp_ids[n:],
        IsDeleted="1",
        StageName="Prospecting",
        Probability="10",
        IsClosed="0",
        IsWon="0",
        ForecastCategory="Pipeline",
        ForecastCategoryName="Pipeline",
        CreatedDate=_dt(entered),
        LastModifiedDate=_dt(entered + 8 * _MINUTE),
        SystemModstamp=_dt(entered + 8 * _MINUTE),
    )
    frame = pd.concat([frame, deleted], ignore_index=True)

    h = history.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    default_of = dict(zip(opps["opportunity_id"], default_close, strict=True))
    h_close = h["expected_close_date"].fillna(h["opportunity_id"].map(default_of))
    h_forecast = _forecast_fields(h["stage"])
    same = h["opportunity_id"].eq(h["opportunity_id"].shift())
    hist = pd.DataFrame(
        {
            "OpportunityId": h["opportunity_id"].map(opp_id),
            "CreatedById": h["opportunity_id"].map(dict(zip(opps["opportunity_id"], owner, strict=True))),
            "CreatedDate": _dt(h["changed_at"]),
            "StageName": h["stage"],
            "Amount": _num(h["amount"]),
            "ExpectedRevenue": _num(h["amount"] * h_forecast["Probability"] / 100),
            "CloseDate": _d(h_close),
            "Probability": h_forecast["Probability"].astype("str"),
            "ForecastCategory": h_forecast["ForecastCategory"],
            "SystemModstamp": _dt(h["changed_at"]),
            "IsDeleted": "0",
            "PrevAmount": _num(h["amount"].shift().where(same)),
            "PrevCloseDate": _d(h_close.shift().where(same)),
        }
    )
    # each deleted duplicate's history: its creation row, deleted with it
    copy_of = dict(zip(opps.loc[dup, "opportunity_id"], range(len(dup)), strict=True))
    first = h.index[~same & h["opportunity_id"].isin(copy_of)]
    k = h.loc[first, "opportunity_id"].map(copy_of).to_numpy()
    deleted_hist = hist.loc[first].assign(
        OpportunityId=[opp_ids[n + i] for i in k],
        CreatedDate=_dt(pd.Series(entered.to_numpy()[k], index=first)),
        SystemModstamp=_dt(pd.Series(entered.to_numpy()[k], index=first)),
        StageName="Prospecting",
        Probability="10",
        ForecastCategory="Pipeline",
        IsDeleted="1",
    )
    hist = pd.concat([hist, deleted_hist], ignore_index=True)
    hist.insert(0, "Id", _ids("OpportunityHistory", len(hist)))
    return frame, hist, opp_id


# -------------------------------------------------------------------------- activities
def _pair(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """For each row of ``left``, whether a row of ``right`` has the same ``keys`` (one each)."""
    lk = left[list(keys)].assign(_k=left.groupby(list(keys), dropna=False).cumcount())
    rk = right[list(keys)].assign(_k=right.groupby(list(keys), dropna=False).cumcount(), _hit=1)
    merged = lk.merge(rk, on=[*keys, "_k"], how="left")
    return pd.Series(merged["_hit"].notna().to_numpy(), index=left.index)


def _book_meetings(appts: pd.DataFrame, meets: pd.DataFrame) -> list[tuple[int | None, int | None]]:
    """Pair each meeting with the earliest unpaired appointment booked before it.

    Per rep and deal (no deal being one group); returns (appointment index, meeting
    index) pairs, either side ``None`` when it has no partner.
    """
    out: list[tuple[int | None, int | None]] = []
    both = pd.concat([appts.assign(_kind=0, _i=appts.index), meets.assign(_kind=1, _i=meets.index)])
    both = both.assign(_opp=both["opportunity_id"].fillna(""))
    ordered = both.sort_values(["rep_id", "_opp", "occurred_at", "_kind"], kind="stable")
    for _, group in ordered.groupby(["rep_id", "_opp"], sort=True):
        waiting: list[int] = []
        for kind, i in zip(group["_kind"], group["_i"], strict=True):
            if kind == 0:
                waiting.append(int(i))
            elif waiting:
                out.append((waiting.pop(0), int(i)))
            else:
                out.append((None, int(i)))
        out.extend((i, None) for i in waiting)
    return out


def _next_workday_at(moment: pd.Timestamp, hour: int) -> pd.Timestamp:
    day = moment.normalize()
    while day.weekday() >= 5:
        day += _DAY
    return day + pd.Timedelta(hours=hour)


def _who(what: Sequence[str]) -> list[str]:
    """A contact for a task on a deal, a lead for the rest (the export's WhoId)."""
    prefix = [KEY_PREFIXES["Contact" if w.startswith("006") else "Lead"] for w in what]
    return [salesforce_id(p, i % 997) for i, p in enumerate(prefix)]


def _tasks(
    acts: pd.DataFrame,
    opps: pd.DataFrame,
    rep_user: dict[str, str],
    opp_id: dict[str, str],
    acc_id: dict[str, str],
    export_at: pd.Timestamp,
) -> pd.DataFrame:
    """Task.csv: calls, emails, other tasks; a few deleted copies; open follow-ups."""
    kind = acts["activity_type"]
    key = ["rep_id", "occurred_at", "duration_s"]
    dials, convs, meets = acts.loc[kind == "dial"], acts.loc[kind == "conversation"], acts.loc[kind == "meeting"]
    # a conversation is logged with its dial or its meeting; one with neither was an inbound call
    inbound = convs.loc[~_pair(convs, meets, key) & ~_pair(convs, dials, key)]
    tasks = pd.concat(
        [
            dials.assign(_call="out", _connected=_pair(dials, convs, key)),
            inbound.assign(_call="in", _connected=True),
            acts.loc[kind.isin(["email", "other", "business_card"])].assign(_call="", _connected=False),
        ]
    ).sort_values(["occurred_at", "rep_id", "activity_id"], kind="stable")
    n = len(tasks)
    t_kind = tasks["activity_type"].to_numpy()
    is_call = tasks["_call"].ne("").to_numpy()
    dur = tasks["duration_s"].to_numpy(dtype="float64")
    conn = tasks["_connected"].to_numpy(dtype=bool)
    # a task on no deal: prospecting is logged against the lead, other work against an account
    accounts = opps.dropna(subset=["account_id"]).groupby("rep_id")["account_id"].agg(lambda s: sorted(set(s)))
    account_of = [
        acc_id[accounts[r][i % len(accounts[r])]] if (k == "other" and r in accounts.index) else ""
        for i, (r, k) in enumerate(zip(tasks["rep_id"], t_kind, strict=True))
    ]
    what = tasks["opportunity_id"].map(opp_id).fillna(pd.Series(account_of, index=tasks.index, dtype="str"))
    subject = np.select(
        [is_call & conn, is_call & (dur == 0), is_call, t_kind == "email", t_kind == "business_card"],
        ["Call", "Call - no answer", "Call - left voicemail", "Email: following up", "Business card scanned"],
        default="",
    )
    subject = np.where(subject == "", [_OTHER_SUBJECTS[i % len(_OTHER_SUBJECTS)] for i in range(n)], subject)
    owner = tasks["rep_id"].map(rep_user).to_numpy()
    when = _dt(tasks["occurred_at"]).to_numpy()
    task = pd.DataFrame(
        {
            "Id": _ids("Task", n),
            "WhoId": _who(what.tolist()),
            "WhatId": what.to_numpy(),
            "Subject": subject,
            "ActivityDate": _d(tasks["occurred_at"]).to_numpy(),
            "Status": "Completed",
            "Priority": "Normal",
            "IsHighPriority": "0",
            "OwnerId": owner,
            "Description": "",
            "Type": np.select([is_call, t_kind == "email"], ["Call", "Email"], default="Other"),
            "IsDeleted": "0",
            "AccountId": "",
            "IsClosed": "1",
            "CreatedDate": when,
            "CreatedById": owner,
            "LastModifiedDate": when,
            "LastModifiedById": owner,
            "SystemModstamp": when,
            "IsArchived": "0",
            "CallDurationInSeconds": np.where(is_call, _num(tasks["duration_s"]).to_numpy(), ""),
            "CallType": np.select([tasks["_call"].eq("out"), tasks["_call"].eq("in")], ["Outbound", "Inbound"], ""),
            "CallDisposition": np.select(
                [is_call & conn, is_call & (dur == 0), is_call], ["Connected", "No answer", "Left voicemail"], ""
            ),
            "CallObject": "",
            "ReminderDateTime": "",
            "IsReminderSet": "0",
            "IsRecurrence": "0",
            "TaskSubtype": np.select([is_call, t_kind == "email"], ["Call", "Email"], default="Task"),
            "CompletedDateTime": when,
        }
    )
    # a call logged twice now and then, the copy deleted; a follow-up call planned on each open deal
    deleted = task.loc[(task["TaskSubtype"] == "Call") & (np.arange(n) % 250 == 3)].assign(IsDeleted="1")
    open_deals = opps.loc[opps["status"] == "open"].reset_index(drop=True)
    planned = _dt(open_deals["created_at"] + 20 * _MINUTE).to_numpy()
    deal_owner = open_deals["rep_id"].map(rep_user).to_numpy()
    follow = pd.DataFrame(
        {
            "WhoId": [salesforce_id(KEY_PREFIXES["Contact"], i % 997) for i in range(len(open_deals))],
            "WhatId": open_deals["opportunity_id"].map(opp_id).to_numpy(),
            "Subject": "Follow-up call",
            "ActivityDate": _next_workday_at(export_at + 2 * _DAY, 0).strftime(_DATE),
            "Status": "Not Started",
            "Priority": "Normal",
            "IsHighPriority": "0",
            "OwnerId": deal_owner,
            "Type": "Call",
            "IsDeleted": "0",
            "IsClosed": "0",
            "CreatedDate": planned,
            "CreatedById": deal_owner,
            "LastModifiedDate": planned,
            "LastModifiedById": deal_owner,
            "SystemModstamp": planned,
            "IsArchived": "0",
            "IsReminderSet": "0",
            "IsRecurrence": "0",
            "TaskSubtype": "Call",
        }
    )
    extra = pd.concat([deleted.drop(columns="Id"), follow], ignore_index=True)
    extra.insert(0, "Id", _ids("Task", len(extra), start=n))
    return pd.concat([task, extra.reindex(columns=task.columns)], ignore_index=True).fillna("")


def _events(
    acts: pd.DataFrame,
    rep_user: dict[str, str],
    opp_id: dict[str, str],
    export_at: pd.Timestamp,
) -> pd.DataFrame:
    """Event.csv: one Event per appointment and the meeting it booked; trade shows."""
    kind = acts["activity_type"]
    first_day = acts["occurred_at"].min().normalize()
    window_start = first_day - pd.Timedelta(days=first_day.weekday())
    rows = []
    for j, (a, m) in enumerate(_book_meetings(acts.loc[kind == "appointment"], acts.loc[kind == "meeting"])):
        either = a if a is not None else m
        if m is not None:
            start = acts.at[m, "occurred_at"]
            minutes = max(1, int(round(float(acts.at[m, "duration_s"]) / 60)))
        else:  # still on the calendar after the export
            start, minutes = _next_workday_at(export_at + pd.Timedelta(days=1 + j % 9), 10 + j % 6), 30
        if a is not None:
            booked = acts.at[a, "occurred_at"]
        else:  # booked before the first day of the data
            booked = min(start - pd.Timedelta(days=3), window_start - pd.Timedelta(hours=7))
        rows.append((booked, start, minutes, acts.at[either, "rep_id"], acts.at[either, "opportunity_id"], False))
    # trade shows: an all-day event on each day a rep scanned five business cards or more
    cards = acts.loc[kind == "business_card"]
    shows = cards.assign(day=cards["occurred_at"].dt.normalize()).groupby(["rep_id", "day"]).size()
    for (rep, day), _ in shows[shows >= 5].items():
        rows.append((day - pd.Timedelta(days=20) + pd.Timedelta(hours=9), day, 1440, rep, None, True))
    ev = pd.DataFrame(rows, columns=["booked", "start", "minutes", "rep_id", "opportunity_id", "all_day"])
    ev = ev.sort_values(["booked", "rep_id", "start"], kind="stable").reset_index(drop=True)
    owner = ev["rep_id"].map(rep_user)
    what = ev["opportunity_id"].map(opp_id).fillna("")
    end = ev["start"] + ev["minutes"] * _MINUTE
    all_day = ev["all_day"].to_numpy(dtype=bool)
    booked = _dt(ev["booked"])
    subject = np.where(what.str.startswith("006"), "Meeting", "Discovery meeting")
    return pd.DataFrame(
        {
            "Id": _ids("Event", len(ev)),
            "WhoId": _who(what.tolist()),
            "WhatId": what,
            "Subject": np.where(all_day, "Trade show", subject),
            "Location": "",
            "IsAllDayEvent": _flag(all_day, ev.index),
            "ActivityDateTime": np.where(all_day, "", _dt(ev["start"]).to_numpy()),
            "ActivityDate": _d(ev["start"]),
            "DurationInMinutes": ev["minutes"].astype("int64").astype("str"),
            "StartDateTime": _dt(ev["start"]),
            "EndDateTime": _dt(end),
            "EndDate": _d(end - pd.Timedelta(seconds=1)),
            "Description": "",
            "AccountId": "",
            "OwnerId": owner,
            "Type": np.where(all_day, "Other", "Meeting"),
            "IsPrivate": "0",
            "ShowAs": np.where(all_day, "OutOfOffice", "Busy"),
            "IsDeleted": "0",
            "IsChild": "0",
            "IsGroupEvent": "0",
            "GroupEventType": "",
            "CreatedDate": booked,
            "CreatedById": owner,
            "LastModifiedDate": booked,
            "LastModifiedById": owner,
            "SystemModstamp": booked,
            "IsArchived": "0",
            "IsRecurrence": "0",
            "IsReminderSet": "0",
            "EventSubtype": "Event",
        }
    )


def write_salesforce(tables: Mapping[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write the canonical tables as a Salesforce Data Export into folder ``out``.

    Parameters
    ----------
    tables
        The canonical tables of :func:`salesx2lib.sample.generate` (``reps``,
        ``opportunities``, ``opportunity_history`` and ``activities`` are used; the
        forecasts, quotas and trainings have no Salesforce object this export holds).
    out
        The folder to write into (created if missing; other files are left alone).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of :data:`FILES`. The same tables always give
        byte-identical files.

    Examples
    --------
    >>> from salesx2lib.sample import generate
    >>> write_salesforce(generate(reps=6, weeks=10, seed=7), Path("export"))  # doctest: +SKIP
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    opps = tables["opportunities"]
    users, rep_user = _users(tables["reps"])
    accounts, acc_id, acc_name = _accounts(opps, rep_user)
    opportunity, history, opp_id = _opportunities(opps, tables["opportunity_history"], rep_user, acc_id, acc_name)
    acts = tables["activities"].sort_values(["occurred_at", "rep_id", "activity_id"], kind="stable")
    acts = acts.reset_index(drop=True)
    latest = max(acts["occurred_at"].max(), opps["created_at"].max(), opps["closed_at"].max())
    export_at = latest.normalize() + pd.Timedelta(days=7 - latest.weekday(), hours=2)  # the Monday after, 02:00
    task = _tasks(acts, opps, rep_user, opp_id, acc_id, export_at)
    event = _events(acts, rep_user, opp_id, export_at)
    frames = dict(zip(FILES, (users, accounts, opportunity, history, task, event), strict=True))
    written = []
    for name, frame in frames.items():
        path = out / name
        _write(path, frame)
        written.append(path)
    return written
