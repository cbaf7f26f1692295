"""Milestones on the road to self_sustained: which hold now, since when, and what comes next.

Principle 6 of the article: scale hands-on management to results, with milestones a rep
can reach one after another. The ladder is configured in the ``[milestones]`` settings
(``ladder`` lists the rungs in order). A rung is **met when it holds now**: in each of the
latest ``N`` complete periods up to the as-of date, not once at some point in the past.

* ``conversation_to_appointment``: the rep's weekly shrunk conversation-to-appointment
  rate (:func:`salesx2lib.competency.funnel` of ``rep_counts(freq="week")``) at or above
  the team median that week (:func:`salesx2lib.competency.team_benchmarks`) in each of the
  latest ``conversation_weeks`` complete weeks (needs ``activities``);
* ``months_at_quota``: won revenue (``won_amount`` of ``rep_counts(freq="month")``) at or
  above the prorated quota (:func:`salesx2lib.kpis.prorated_quota`) in each of the latest
  ``quota_months`` complete calendar months (needs ``quotas``);
* ``forecast_accuracy``: the forecast for a month (the last submission made on or before
  the month's first day, from :func:`salesx2lib.horizon.forecast_errors`) within
  ``forecast_tolerance`` of the actual in each of the latest ``forecast_months`` complete
  calendar months (needs ``forecasts``).

A rung whose table is missing is not checkable: ``met`` is NA and ``note`` says why.
:func:`next_milestones` gives each developing or hands_on rep one next milestone, tied to
the rep's coaching competency, with a target date.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesx2lib import competency, horizon, periods
from salesx2lib.dataset import Dataset
from salesx2lib.kpis import prorated_quota
from salesx2lib.settings import Settings, load_settings

__all__ = ["MILESTONES", "milestones", "next_milestones", "open_milestones"]

#: The rungs a ladder can use, each with the unit its progress is counted in.
MILESTONES: dict[str, str] = {
    "conversation_to_appointment": "weeks",
    "months_at_quota": "months",
    "forecast_accuracy": "months",
}

_DAY = pd.Timedelta(days=1)

_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "milestone": "str",
    "description": "str",
    "met": "boolean",
    "met_at": "datetime64[us]",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
    "progress": "str",
    "note": "str",
}


def _current_run(flags: Sequence[bool], ends: Sequence[pd.Timestamp], need: int) -> tuple[bool, pd.Timestamp, int]:
    """(met, met_at, current run) of a series of periods in time order, the latest last.

    ``met`` when the latest ``need`` periods all pass (the run reaching the latest period
    has length ``run >= need``); ``met_at`` is the end of the period where that run first
    reached ``need`` (NaT if not met).
    """
    run = 0
    for flag in reversed(flags):
        if not flag:
            break
        run += 1
    met = len(flags) >= need and run >= need
    met_at = ends[len(flags) - run + need - 1] if met else pd.NaT
    return bool(met), met_at, run


def _record(rep: pd.Series, name: str, description: str, met: object, met_at: object, window: tuple,
            progress: str, note: str) -> dict:
    """One row of :func:`milestones`."""
    return {
        "rep_id": rep["rep_id"],
        "rep_name": rep.get("rep_name", rep["rep_id"]),
        "team": rep["team"],
        "milestone": name,
        "description": description,
        "met": met,
        "met_at": met_at,
        "window_start": window[0],
        "window_end": window[1],
        "progress": progress,
        "note": note,
    }


def _row(rep: pd.Series, name: str, description: str, need: int, flags: list[bool], starts: list, ends: list,
         note: str) -> dict:
    unit = MILESTONES[name]
    met, met_at, run = _current_run(flags, ends, need)
    window = (starts[-need], ends[-1] + _DAY) if len(starts) >= need else (pd.NaT, pd.NaT)
    if len(flags) < need:
        note = note or f"only {len(flags)} complete {unit} to judge, {need} needed"
    elif not met:
        note = note or f"held in the latest {run} of the {need} {unit} needed"
    return _record(rep, name, description, met, met_at, window, f"{min(run, need)} of {need} {unit}", note)


def _not_checkable(rep: pd.Series, name: str, description: str, note: str) -> dict:
    return _record(rep, name, description, pd.NA, pd.NaT, (pd.NaT, pd.NaT), "not checkable", note)


def _conversation_flags(dataset: Dataset, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, list]:
    """Per rep and week of ``[start, end)``: shrunk conversation_to_appointment >= team median."""
    counts = competency.rep_counts(dataset, start, end, freq="week")
    f = competency.funnel(counts)
    f = f.loc[f["metric"] == "conversation_to_appointment"]
    bench = competency.team_benchmarks(f)[["team", "period_start", "median"]]
    f = f.merge(bench, on=["team", "period_start"], how="left")
    ok = f["defined"] & (f["shrunk_rate"] >= f["median"])
    table = f.assign(ok=ok).pivot_table(index="rep_id", columns="period_start", values="ok", aggfunc="any")
    weeks = list(pd.date_range(start, end, freq="7D", inclusive="left", unit="us"))
    return table.reindex(columns=weeks), weeks


def _complete_months(first_day: pd.Timestamp, day: pd.Timestamp, need: int) -> list[pd.Timestamp]:
    """First days of the calendar months wholly inside ``[first_day, day]``, and at least the latest ``need``.

    A month is complete when its last day is on or before ``day`` (the as-of day, taken
    whole); the list reaches back to ``first_day`` or ``need`` months, whichever is earlier.
    """
    latest = (day + _DAY).replace(day=1) - pd.offsets.MonthBegin(1)  # the month whose end is <= day
    earliest = min(latest - pd.offsets.MonthBegin(need - 1), first_day if first_day.day == 1 else
                   first_day + pd.offsets.MonthBegin(1))
    return list(pd.date_range(earliest, latest, freq="MS", unit="us"))


def milestones(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Each rep's milestones on the ladder of the ``[milestones]`` settings: held now or not, since when.

    A milestone is **met when it holds in each of its latest** ``need`` **complete
    periods** up to the as-of day ``D`` (the as-of date taken as a whole day):

    - ``conversation_to_appointment``, weeks (Monday to Sunday, the latest ending on or
      before ``D``, as :func:`salesx2lib.periods.latest_complete_week`):
      ``shrunk_rate(rep, w) >= median_team(w)`` of the weekly funnel,
      ``need = milestones_conversation_weeks``; a week without conversations fails
    - ``months_at_quota``, calendar months whose last day is on or before ``D``:
      ``won(m) >= prorated_quota(m) > 0``, ``need = milestones_quota_months``
    - ``forecast_accuracy``, the same months: ``|F - A| <= milestones_forecast_tolerance * A``
      with ``F`` the last forecast for the period starting on the month's first day
      submitted on or before that day and ``A`` the won amount in the month; a month
      without such a forecast fails; ``need = milestones_forecast_months``

    Earlier periods (back to ``milestones_history_weeks`` weeks before ``D``) only date
    the current run: ``met_at`` is the end of the period at which the run that reaches
    the latest period first had ``need`` periods.

    Parameters
    ----------
    dataset
        The data (narrow it to a team first if needed).
    as_of
        The date to judge as of; the dataset's as-of date by default.
    settings
        The settings (the packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``milestone``, ``description``, ``met``
        (boolean, NA when not checkable), ``met_at`` (NaT if not met), ``window_start``,
        ``window_end`` (the latest ``need`` periods judged, ``[start, end)``),
        ``progress`` (the current run capped at ``need``, e.g. ``3 of 4 weeks``), ``note``
        (why not met, or why not checkable); one row per rep per milestone, in ladder
        order. Reps hired after ``as_of`` are left out.

    Raises
    ------
    ValueError
        If the ladder names an unknown milestone.
    """
    s = settings or load_settings()
    unknown = [m for m in s.milestones_ladder if m not in MILESTONES]
    if unknown:
        raise ValueError(f"milestones.ladder has unknown milestone {unknown[0]!r} (known: {', '.join(MILESTONES)})")
    when = periods.to_timestamp(as_of if as_of is not None else dataset.as_of, "as-of date")
    day = when.normalize()
    weeks_back = max(s.milestones_history_weeks, s.milestones_conversation_weeks)
    start, end = periods.trailing_range(when, weeks=weeks_back)
    reps = dataset.reps
    if "hire_date" in reps.columns:
        reps = reps.loc[~(pd.to_datetime(reps["hire_date"]) > day)]
    descriptions = {
        "conversation_to_appointment": "conversation_to_appointment at or above the team median "
        f"in each of the latest {s.milestones_conversation_weeks} complete weeks",
        "months_at_quota": f"at quota in each of the latest {s.milestones_quota_months} complete calendar months",
        "forecast_accuracy": f"forecast within {s.milestones_forecast_tolerance:.0%} of the actual "
        f"in each of the latest {s.milestones_forecast_months} complete calendar month(s)",
    }
    history_start = day - weeks_back * periods.WEEK
    checks: dict[str, object] = {}
    if "conversation_to_appointment" in s.milestones_ladder:
        if dataset.has("activities"):
            checks["conversation_to_appointment"] = _conversation_flags(dataset, start, end)
        else:
            checks["conversation_to_appointment"] = "not checkable: needs the activities table"
    if "months_at_quota" in s.milestones_ladder:
        months = _complete_months(history_start, day, s.milestones_quota_months)
        if not dataset.has("quotas"):
            checks["months_at_quota"] = "not checkable: needs the quotas table"
        else:
            counts = competency.rep_counts(dataset, months[0], months[-1] + pd.offsets.MonthBegin(1), freq="month")
            won = counts.pivot_table(index="rep_id", columns="period_start", values="won_amount", aggfunc="sum")
            checks["months_at_quota"] = (won.reindex(columns=months).fillna(0.0), months)
    if "forecast_accuracy" in s.milestones_ladder:
        if dataset.has("forecasts"):
            months = _complete_months(history_start, day, s.milestones_forecast_months)
            err = horizon.forecast_errors(dataset, as_of=day + _DAY, settings=s)
            err = err.loc[
                (err["submitted_at"].dt.normalize() <= err["period_start"]) & err["period_start"].isin(months)
            ]
            last = err.sort_values("submitted_at", kind="stable").groupby(["rep_id", "period_start"]).tail(1)
            last = last.assign(within=last["abs_error"] <= s.milestones_forecast_tolerance * last["actual"])
            checks["forecast_accuracy"] = (last.set_index(["rep_id", "period_start"])["within"], months)
        else:
            checks["forecast_accuracy"] = "not checkable: the dataset has no forecasts table"
    rows = []
    for _, rep in reps.iterrows():
        for name in s.milestones_ladder:
            check, desc = checks[name], descriptions[name]
            if isinstance(check, str):
                rows.append(_not_checkable(rep, name, desc, check))
            elif name == "conversation_to_appointment":
                table, weeks = check
                flags = table.loc[rep["rep_id"]] if rep["rep_id"] in table.index else pd.Series(False, index=weeks)
                flags = [bool(v) if pd.notna(v) else False for v in flags]
                ends = [w + pd.Timedelta(days=6) for w in weeks]
                rows.append(_row(rep, name, desc, s.milestones_conversation_weeks, flags, weeks, ends, ""))
            elif name == "months_at_quota":
                won, months = check
                q_rep = dataset.table("quotas").loc[lambda q: q["rep_id"] == rep["rep_id"]]
                quotas = [prorated_quota(q_rep, m, m + pd.offsets.MonthBegin(1)) for m in months]
                amounts = [float(won.at[rep["rep_id"], m]) if rep["rep_id"] in won.index else 0.0 for m in months]
                flags = [q > 0 and a >= q for a, q in zip(amounts, quotas, strict=True)]
                latest = quotas[-s.milestones_quota_months:]
                missing = sum(q <= 0 for q in latest)
                note = f"no quota in {missing} of the latest {len(latest)} months" if missing else ""
                ends = [m + pd.offsets.MonthEnd(0) for m in months]
                rows.append(_row(rep, name, desc, s.milestones_quota_months, flags, months, ends, note))
            else:
                within, months = check
                flags = [bool(within.get((rep["rep_id"], m), False)) for m in months]
                latest = months[-s.milestones_forecast_months:]
                absent = [m for m in latest if (rep["rep_id"], m) not in within.index]
                note = f"no forecast for {', '.join(f'{m:%Y-%m}' for m in absent)}" if absent else ""
                ends = [m + pd.offsets.MonthEnd(0) for m in months]
                rows.append(_row(rep, name, desc, s.milestones_forecast_months, flags, months, ends, note))
    out = pd.DataFrame(rows, columns=list(_COLUMNS))
    for c in ("met_at", "window_start", "window_end"):
        out[c] = pd.to_datetime(out[c])
    return out.astype(_COLUMNS).reset_index(drop=True)


def open_milestones(milestones_frame: pd.DataFrame) -> pd.DataFrame:
    """The milestones each rep has not met yet, as one line of text.

    ``open_milestones = "; ".join(f"{milestone} ({progress})")`` over the rows with
    ``met`` False, in ladder order; ``""`` when every checkable milestone is met. A
    milestone that cannot be checked (``met`` NA) is not listed: there is nothing to coach.

    Parameters
    ----------
    milestones_frame
        Output of :func:`milestones`.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``open_milestones`` (str); one row per rep, in the order of the frame.
    """
    missing = [c for c in ("rep_id", "milestone", "met", "progress") if c not in milestones_frame.columns]
    if missing:
        raise ValueError(f"milestones_frame is missing column {missing[0]!r} (see milestones.milestones)")
    m = milestones_frame
    is_open = m["met"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)
    text = np.where(is_open, m["milestone"] + " (" + m["progress"] + ")", "")
    parts = pd.Series(text, index=m.index).groupby(m["rep_id"], sort=False)
    out = parts.agg(lambda t: "; ".join(x for x in t if x)).rename("open_milestones").reset_index()
    return out.astype({"rep_id": "str", "open_milestones": "str"})


_NEXT_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "segment": "str",
    "next_milestone": "str",
    "kind": "str",
    "current_value": "float64",
    "target_value": "float64",
    "target_date": "datetime64[us]",
    "sentence": "str",
}


def next_milestones(
    milestones_frame: pd.DataFrame,
    review: pd.DataFrame,
    as_of: pd.Timestamp | str,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Each developing or hands_on rep's next milestone, tied to the coaching competency, with a date.

    Rule, per rep whose ``segment`` in ``review`` is ``developing`` or ``hands_on``:

    - a coaching ``priority`` in ``review``: the next milestone is that competency at its
      target (``kind = competency``: from ``current_rate`` to ``target_rate``, the team
      benchmark or the ramp-adjusted one), the one step whose gap costs the most;
    - otherwise the first rung of the ladder not met now (``kind = ladder``);
    - otherwise none (``kind = none``): nothing on the ladder is open and no gap is certain
      enough to coach; the segment's open criteria (:func:`salesx2lib.segments.segment`) say
      what is left.

    ``target_date = floor_day(as_of) + milestones_target_weeks weeks`` (a review date the
    manager and the rep agree on, not a forecast).

    Parameters
    ----------
    milestones_frame
        :func:`milestones` as of ``as_of``.
    review
        :func:`salesx2lib.coaching.coaching_review` over the window ending at ``as_of``
        (``rep_id``, ``segment``, ``status``, ``competency``, ``current_rate``, ``target_rate``).
    as_of
        The date the milestones were judged as of.
    settings
        The settings (packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``segment``, ``next_milestone``, ``kind``
        (``competency``, ``ladder`` or ``none``), ``current_value``, ``target_value`` (NaN
        for a ladder rung), ``target_date``, ``sentence``; one row per developing or
        hands_on rep, in the order of ``review``.
    """
    s = settings or load_settings()
    needed = ["rep_id", "segment", "status", "competency", "current_rate", "target_rate"]
    missing = [c for c in needed if c not in review.columns]
    if missing:
        raise ValueError(f"review is missing column {missing[0]!r} (see coaching.coaching_review)")
    due = periods.to_timestamp(as_of, "as-of date").normalize() + s.milestones_target_weeks * periods.WEEK
    m = milestones_frame
    is_open = m["met"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)
    first_open = m.loc[is_open].drop_duplicates("rep_id").set_index("rep_id")
    rows = []
    for r in review.loc[review["segment"].isin(["developing", "hands_on"])].itertuples(index=False):
        name = getattr(r, "rep_name", r.rep_id)
        who = f"{name} ({r.rep_id}, {r.segment})"
        if r.status == "priority":
            size = r.competency == "avg_deal_size"
            show = (lambda v: f"{v:,.0f}") if size else (lambda v: f"{v:.1%}")
            row = (r.competency, "competency", r.current_rate, r.target_rate,
                   f"{who}: {r.competency} from {show(r.current_rate)} to {show(r.target_rate)} by {due:%d %B %Y}.")
        elif r.rep_id in first_open.index:
            rung = first_open.loc[r.rep_id]
            row = (rung["milestone"], "ladder", np.nan, np.nan,
                   f"{who}: {rung['description']} by {due:%d %B %Y} (now {rung['progress']}).")
        else:
            row = ("", "none", np.nan, np.nan, f"{who}: no open milestone and no certain competency gap; "
                   "see the segment's open criteria.")
        rows.append({"rep_id": r.rep_id, "rep_name": name, "team": r.team, "segment": r.segment,
                     "next_milestone": row[0], "kind": row[1], "current_value": row[2], "target_value": row[3],
                     "target_date": due, "sentence": row[4]})
    return pd.DataFrame(rows, columns=list(_NEXT_COLUMNS)).astype(_NEXT_COLUMNS).reset_index(drop=True)
