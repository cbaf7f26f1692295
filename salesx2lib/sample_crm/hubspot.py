"""The canonical tables written as HubSpot's deal, activity and user exports.

:func:`write_hubspot` turns the tables of :func:`salesx2lib.sample.generate` into the
files a HubSpot portal running that sales floor would export, under the names the
``hubspot`` preset expects (``docs/presets/hubspot.md``): ``users.csv`` (Settings > Users
& Teams > Export users), ``deals.csv`` (the Deals index page), and ``calls.csv``,
``meetings.csv``, ``emails.csv`` (the Calls, Meetings and Emails index pages).

It is written independently of the preset (it knows only HubSpot's layout, not the
mapping), so reading its output back through the preset is a real round trip.

How a canonical floor becomes HubSpot records:

* every rep is a user (first name = the first word of ``rep_name``, last name = the
  rest); the deal and activity owner columns hold the user's full name, as HubSpot
  exports them. Managers, regions and hire dates have no place in these exports.
* every opportunity is a deal of the ``Sales Pipeline``; the sample's stages are
  relabelled to HubSpot's default deal stages (:data:`STAGE_LABELS`). ``Close Date`` is
  the close moment of a closed deal and the expected close date of an open one (at
  00:00), as HubSpot keeps one property for both.
* every ``dial`` is an outbound call; a dial with a ``conversation`` at the same moment
  (same rep, same deal) is a ``Connected`` call, the others get a not-connected outcome
  (``No answer`` or ``Busy`` when nobody picked up, ``Left voicemail``, ``Left live
  message`` or ``Wrong number`` otherwise). ``Call duration`` is in milliseconds.
* every ``meeting`` (with its ``conversation`` twin) is a ``Completed`` meeting; the
  ``appointment`` that booked it (the earliest unmatched one of the same rep and deal,
  on an earlier day) gives its ``Create date``. A meeting booked before the data starts is
  logged after it was held (``Create date`` = its end). An appointment whose meeting
  never took place is a meeting two days later at 10:00, ``Scheduled`` when that is after
  the last activity of the data, else ``Canceled`` or ``No show``.
* every ``email`` is a logged email. ``business_card`` and ``other`` activities have no
  HubSpot counterpart here and are left out.
* engagement Record IDs (calls, meetings, emails) share one sequence in time order, as
  HubSpot's engagement ids do; deals, companies and users have their own ranges.

Times are written as ``YYYY-MM-DD HH:MM`` in the portal's time zone (``timezone``,
default UTC): HubSpot exports minutes, not seconds.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

__all__ = ["FILES", "PIPELINE", "STAGE_LABELS", "write_hubspot"]

#: The files written, in order (the names the ``hubspot`` preset reads).
FILES: tuple[str, ...] = ("users.csv", "deals.csv", "calls.csv", "meetings.csv", "emails.csv")

#: The sample's stages as labelled in HubSpot's default sales pipeline.
STAGE_LABELS: dict[str, str] = {
    "Prospecting": "Appointment scheduled",
    "Qualification": "Qualified to buy",
    "Proposal": "Presentation scheduled",
    "Negotiation": "Contract sent",
    "Closed Won": "Closed won",
    "Closed Lost": "Closed lost",
}

#: HubSpot's name of the default pipeline.
PIPELINE: str = "Sales Pipeline"

_DATETIME = "%Y-%m-%d %H:%M"
_USER_ID0 = 61_000_000
_DEAL_ID0 = 15_000_000_000
_COMPANY_ID0 = 9_000_000_000
_ENGAGEMENT_ID0 = 40_000_000_000
_MISSED_SILENT = ("No answer", "No answer", "No answer", "Busy")
_MISSED_SPOKEN = ("Left voicemail", "Left voicemail", "Left voicemail", "Left live message", "Wrong number")
_KEY = ["rep_id", "occurred_at", "opp"]

USERS_COLUMNS = ("User ID", "First Name", "Last Name", "Email", "Teams", "Role")
DEALS_COLUMNS = (
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Close Date",
    "Deal owner",
    "Amount",
    "Create Date",
    "Pipeline",
    "Associated Company IDs",
)
CALLS_COLUMNS = (
    "Record ID",
    "Call Title",
    "Activity date",
    "Activity assigned to",
    "Call outcome",
    "Call direction",
    "Call duration",
    "Associated Deal IDs",
)
MEETINGS_COLUMNS = (
    "Record ID",
    "Meeting name",
    "Activity date",
    "Activity assigned to",
    "Meeting outcome",
    "Meeting start time",
    "Meeting end time",
    "Create date",
    "Associated Deal IDs",
)
EMAILS_COLUMNS = ("Record ID", "Email subject", "Activity date", "Activity assigned to", "Associated Deal IDs")


def write_hubspot(tables: Mapping[str, pd.DataFrame], out: Path, *, timezone: str = "UTC") -> list[Path]:
    """Write ``tables`` as HubSpot export files into folder ``out``.

    Parameters
    ----------
    tables
        Canonical tables as returned by :func:`salesx2lib.sample.generate`: ``reps``
        and ``opportunities`` are used, and ``activities`` if present (an eager
        DataFrame). The other tables have no HubSpot export here.
    out
        Folder to write into; created if missing. Other files in it are left alone.
    timezone
        The portal's time zone: times are written in it, without an offset, as HubSpot
        does (default ``UTC``, the ``hubspot`` preset's assumption).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of :data:`FILES` (the three activity files only
        when ``tables`` has activities). The same input gives byte-identical files.

    Examples
    --------
    >>> from salesx2lib.sample import generate
    >>> write_hubspot(generate(reps=6, weeks=10, seed=7), Path("exports/hubspot"))  # doctest: +SKIP
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reps = tables["reps"]
    opps = tables["opportunities"]
    owner = dict(zip(reps["rep_id"], reps["rep_name"], strict=True))
    deal_id = {o: str(_DEAL_ID0 + i + 1) for i, o in enumerate(opps["opportunity_id"])}
    frames: dict[str, pd.DataFrame] = {
        "users.csv": _users(reps),
        "deals.csv": _deals(opps, owner, deal_id, timezone),
    }
    activities = tables.get("activities")
    if activities is not None:
        frames.update(_engagements(activities, owner, deal_id, timezone))
    written = []
    for name in FILES:
        if name in frames:
            path = out / name
            text = frames[name].to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------
# users and deals
# ---------------------------------------------------------------------------------------
def _users(reps: pd.DataFrame) -> pd.DataFrame:
    """One user per rep: the Users & Teams export."""
    parts = reps["rep_name"].str.split(" ", n=1)
    first = parts.str[0]
    last = parts.str[1].fillna("")
    email = (first + "." + last.str.replace(" ", ".", regex=False)).str.lower() + "@example.com"
    return _text_frame(
        USERS_COLUMNS,
        [
            [str(_USER_ID0 + i + 1) for i in range(len(reps))],
            first,
            last,
            email,
            reps["team"],
            ["Sales Rep"] * len(reps),
        ],
    )


def _deals(
    opps: pd.DataFrame, owner: Mapping[str, str], deal_id: Mapping[str, str], timezone: str
) -> pd.DataFrame:
    """The Deals index export: one row per opportunity."""
    accounts = sorted(opps["account_id"].dropna().unique())
    company_id = {a: str(_COMPANY_ID0 + i + 1) for i, a in enumerate(accounts)}
    company = opps["account_id"].map(company_id)
    name = ("Company " + company.str[-5:].str.lstrip("0") + " - new business").fillna("New business")
    closed = opps["status"] != "open"
    expected = opps["expected_close_date"].dt.strftime("%Y-%m-%d") + " 00:00"
    close_date = _local(opps["closed_at"], timezone).where(closed, expected.fillna(""))
    return _text_frame(
        DEALS_COLUMNS,
        [
            opps["opportunity_id"].map(deal_id),
            name,
            opps["stage"].map(lambda s: STAGE_LABELS.get(s, s)),
            close_date,
            opps["rep_id"].map(owner),
            opps["amount"].map(_number),
            _local(opps["created_at"], timezone),
            [PIPELINE] * len(opps),
            company.fillna(""),
        ],
    )


# ---------------------------------------------------------------------------------------
# activities
# ---------------------------------------------------------------------------------------
def _engagements(
    activities: pd.DataFrame, owner: Mapping[str, str], deal_id: Mapping[str, str], timezone: str
) -> dict[str, pd.DataFrame]:
    """Calls, meetings and emails of the activity log, with one Record ID sequence."""
    act = activities.assign(opp=activities["opportunity_id"].fillna(""), seq=range(len(activities)))
    by_type = {t: act[act["activity_type"] == t] for t in ("dial", "conversation", "meeting", "appointment", "email")}

    # conversations: the twin of a meeting held, else of a connected dial
    conv = _pair(by_type["conversation"], by_type["meeting"])
    calls = _pair(by_type["dial"], conv[~conv["paired"]].drop(columns="paired"))
    meetings = _meetings(by_type["meeting"], by_type["appointment"], act["occurred_at"].max())

    calls = calls.assign(kind=0, at=calls["occurred_at"])
    meetings = meetings.assign(kind=1, at=meetings["start"])
    emails = by_type["email"].assign(kind=2, at=by_type["email"]["occurred_at"])
    order = pd.concat(
        [f[["kind", "at", "seq"]].assign(pos=range(len(f))) for f in (calls, meetings, emails)], ignore_index=True
    ).sort_values(["at", "kind", "seq"], kind="stable")
    order = order.assign(record=[str(_ENGAGEMENT_ID0 + i + 1) for i in range(len(order))])

    def ids(kind: int) -> pd.Series:
        mine = order[order["kind"] == kind]
        return pd.Series(mine["record"].to_numpy(), index=mine["pos"].to_numpy(), dtype="str").sort_index()

    def deals(s: pd.Series) -> pd.Series:
        return s.map(deal_id).fillna("")

    def owners(s: pd.Series) -> pd.Series:
        return s.map(owner)

    silent = calls["duration_s"].fillna(0) == 0
    outcome = [
        "Connected" if paired else (_MISSED_SILENT if quiet else _MISSED_SPOKEN)[seq % (4 if quiet else 5)]
        for paired, quiet, seq in zip(calls["paired"], silent, calls["seq"], strict=True)
    ]
    call_frame = _text_frame(
        CALLS_COLUMNS,
        [
            ids(0),
            ["Follow-up call" if o else "Prospecting call" for o in calls["opp"]],
            _local(calls["occurred_at"], timezone),
            owners(calls["rep_id"]),
            outcome,
            ["Outbound"] * len(calls),
            calls["duration_s"].map(lambda s: _number(s * 1000)),
            deals(calls["opportunity_id"]),
        ],
    )
    meeting_frame = _text_frame(
        MEETINGS_COLUMNS,
        [
            ids(1),
            ["Follow-up meeting" if o else "Discovery meeting" for o in meetings["opp"]],
            _local(meetings["start"], timezone),
            owners(meetings["rep_id"]),
            meetings["outcome"],
            _local(meetings["start"], timezone),
            _local(meetings["end"], timezone),
            _local(meetings["created"], timezone),
            deals(meetings["opportunity_id"]),
        ],
    )
    email_frame = _text_frame(
        EMAILS_COLUMNS,
        [
            ids(2),
            ["Following up" if o else "Introduction" for o in emails["opp"]],
            _local(emails["occurred_at"], timezone),
            owners(emails["rep_id"]),
            deals(emails["opportunity_id"]),
        ],
    )
    return {"calls.csv": call_frame, "meetings.csv": meeting_frame, "emails.csv": email_frame}


def _pair(rows: pd.DataFrame, twins: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a boolean ``paired``: whether a row of ``twins`` has the same rep,
    moment and deal (each twin pairs with one row, in order)."""
    left = rows.assign(n=rows.groupby(_KEY, sort=False).cumcount())
    right = twins[_KEY].assign(n=twins.groupby(_KEY, sort=False).cumcount(), paired=True)
    merged = left.merge(right, on=[*_KEY, "n"], how="left", validate="one_to_one")
    return merged.assign(paired=merged["paired"].fillna(False).astype(bool)).drop(columns="n")


def _meetings(held: pd.DataFrame, booked: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    """HubSpot meetings: held meetings with the appointment that booked them, and the
    appointments whose meeting never took place."""
    events = pd.concat([booked.assign(held=False), held.assign(held=True)], ignore_index=True)
    events = events.sort_values(["occurred_at", "held", "seq"], kind="stable")
    pending: dict[tuple[str, str], deque[tuple[pd.Timestamp, int]]] = {}
    rows = []
    for rep, at, opp, opp_id, dur, is_held, seq in zip(
        events["rep_id"],
        events["occurred_at"],
        events["opp"],
        events["opportunity_id"],
        events["duration_s"],
        events["held"],
        events["seq"],
        strict=True,
    ):
        queue = pending.setdefault((rep, opp), deque())
        if not is_held:
            queue.append((at, seq))
            continue
        end = at + pd.Timedelta(seconds=0 if pd.isna(dur) else float(dur))
        # booked on an earlier day (the sample books 1 to 7 days ahead)
        created = queue.popleft()[0] if queue and queue[0][0].normalize() < at.normalize() else end
        rows.append((rep, opp, opp_id, created, at, end, "Completed", seq))
    for (rep, opp), queue in pending.items():
        for at, seq in queue:
            start = at.normalize() + pd.Timedelta(days=2, hours=10)
            outcome = "Scheduled" if start > last else ("Canceled", "No show")[seq % 2]
            rows.append((rep, opp, opp or None, at, start, start + pd.Timedelta(minutes=30), outcome, seq))
    frame = pd.DataFrame(rows, columns=["rep_id", "opp", "opportunity_id", "created", "start", "end", "outcome", "seq"])
    frame = frame.astype({"created": "datetime64[us]", "start": "datetime64[us]", "end": "datetime64[us]"})
    return frame.sort_values(["start", "seq"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------------------
def _local(s: pd.Series, timezone: str) -> pd.Series:
    """Naive UTC times as ``YYYY-MM-DD HH:MM`` in ``timezone``; missing as ``""``."""
    text = s.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.strftime(_DATETIME)
    return text.fillna("").astype("str")


def _number(v: float) -> str:
    """A number as HubSpot exports it: no thousands separator, no trailing zeros."""
    if pd.isna(v):
        return ""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _text_frame(columns: tuple[str, ...], values: list[pd.Series | list[str]]) -> pd.DataFrame:
    """A frame of ``str`` columns (missing as ``""``) from column values in order."""
    data = {}
    for name, v in zip(columns, values, strict=True):
        s = pd.Series(v.to_numpy() if isinstance(v, pd.Series) else v, dtype="str")
        data[name] = s.fillna("")
    return pd.DataFrame(data)
