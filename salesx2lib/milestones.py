"""Milestones on the road to self_sustained: which are met, when, and which are still open.

Principle 6 of the article: scale hands-on management to results, with milestones a rep
can reach one after another. The ladder is configured in the ``[milestones]`` settings
(``ladder`` lists the rungs in order); each rung is checked over the ``lookback_weeks``
before the as-of date with the library's own metrics:

* ``conversation_to_appointment``: the rep's weekly shrunk conversation-to-appointment
  rate (:func:`salesx2lib.competency.funnel` of ``rep_counts(freq="week")``) at or above
  the team median that week (:func:`salesx2lib.competency.team_benchmarks`) for
  ``conversation_weeks`` consecutive weeks (needs ``activities``);
* ``months_at_quota``: won revenue (``won_amount`` of ``rep_counts(freq="month")``) at or
  above the prorated quota (:func:`salesx2lib.kpis.prorated_quota`) in ``quota_months``
  consecutive complete calendar months (needs ``quotas``);
* ``forecast_accuracy``: the forecast for a period (the last submission made on or before
  the period's first day, from :func:`salesx2lib.horizon.forecast_errors`) within
  ``forecast_tolerance`` of the actual for ``forecast_months`` consecutive periods (needs
  ``forecasts``).

A rung whose table is missing is not checkable: ``met`` is NA and ``note`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesx2lib import competency, horizon, periods
from salesx2lib.dataset import Dataset
from salesx2lib.kpis import prorated_quota
from salesx2lib.settings import Settings, load_settings

__all__ = ["MILESTONES", "milestones", "open_milestones"]

#: The rungs a ladder can use, each with the unit its progress is counted in.
MILESTONES: dict[str, str] = {
    "conversation_to_appointment": "weeks",
    "months_at_quota": "months",
    "forecast_accuracy": "periods",
}

_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "milestone": "str",
    "description": "str",
    "met": "boolean",
    "met_at": "datetime64[us]",
    "progress": "str",
    "note": "str",
}


def _streak(flags: Sequence[bool], ends: Sequence[pd.Timestamp], need: int) -> tuple[bool, pd.Timestamp, int, int]:
    """(met, met_at, best run, current run) of a series of periods in time order.

    ``met_at`` is the end of the period that first completes a run of ``need`` consecutive
    True flags (NaT if none); the best run is capped at ``need``.
    """
    run = best = 0
    met_at = pd.NaT
    for flag, end in zip(flags, ends, strict=True):
        run = run + 1 if flag else 0
        best = max(best, run)
        if run >= need and pd.isna(met_at):
            met_at = end
    return bool(best >= need), met_at, min(best, need), run


def _record(rep: pd.Series, name: str, description: str, met: object, met_at: object, progress: str, note: str) -> dict:
    """One row of :func:`milestones`."""
    return {
        "rep_id": rep["rep_id"],
        "rep_name": rep.get("rep_name", rep["rep_id"]),
        "team": rep["team"],
        "milestone": name,
        "description": description,
        "met": met,
        "met_at": met_at,
        "progress": progress,
        "note": note,
    }


def _row(rep: pd.Series, name: str, description: str, need: int, flags: list[bool], ends: list, note: str) -> dict:
    unit = MILESTONES[name]
    met, met_at, best, current = _streak(flags, ends, need)
    if not flags:
        note = note or f"no {unit} to judge in the lookback"
    elif not met:
        note = note or f"current run {current} of {need} {unit}"
    return _record(rep, name, description, met, met_at, f"{best} of {need} {unit}", note)


def _not_checkable(rep: pd.Series, name: str, description: str, note: str) -> dict:
    return _record(rep, name, description, pd.NA, pd.NaT, "not checkable", note)


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


def _complete_months(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """First days of the calendar months that lie wholly inside ``[start, end)``."""
    first = start if start.day == 1 else start + pd.offsets.MonthBegin(1)
    return [m for m in pd.date_range(first, end, freq="MS", unit="us") if m + pd.offsets.MonthBegin(1) <= end]


def milestones(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Each rep's milestones on the ladder of the ``[milestones]`` settings: met, when, progress.

    The lookback is ``[start, end)`` = :func:`salesx2lib.periods.trailing_range` of ``as_of``
    over ``milestones_lookback_weeks`` weeks. A milestone is met when a run of consecutive
    periods satisfying it (length ``need``) ends inside the lookback:

    - ``conversation_to_appointment``, weeks: ``shrunk_rate(rep, w) >= median_team(w)``
      of the weekly funnel, ``need = milestones_conversation_weeks``; a week without
      conversations does not count (rate undefined)
    - ``months_at_quota``, complete calendar months: ``won(m) >= prorated_quota(m) > 0``,
      ``need = milestones_quota_months``
    - ``forecast_accuracy``, forecast periods ending in the lookback and judged as of
      ``as_of``: ``|F - A| <= milestones_forecast_tolerance * A`` with ``F`` the last
      forecast submitted on or before the period's first day, ``need =
      milestones_forecast_months``

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
        (boolean, NA when not checkable), ``met_at`` (end of the period that first
        completed the run; NaT if not met), ``progress`` (best run, e.g. ``3 of 4 weeks``),
        ``note`` (the current run, or why the milestone cannot be checked); one row per rep
        per milestone, in ladder order. Reps hired after ``as_of`` are left out.

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
    start, end = periods.trailing_range(when, weeks=s.milestones_lookback_weeks)
    reps = dataset.reps
    if "hire_date" in reps.columns:
        reps = reps.loc[~(pd.to_datetime(reps["hire_date"]) > when.normalize())]
    descriptions = {
        "conversation_to_appointment": "conversation_to_appointment at or above the team median "
        f"for {s.milestones_conversation_weeks} consecutive weeks",
        "months_at_quota": f"at quota in {s.milestones_quota_months} consecutive calendar months",
        "forecast_accuracy": f"forecast within {s.milestones_forecast_tolerance:.0%} of the actual "
        f"for {s.milestones_forecast_months} consecutive period(s)",
    }
    checks: dict[str, object] = {}
    if "conversation_to_appointment" in s.milestones_ladder:
        if dataset.has("activities"):
            checks["conversation_to_appointment"] = _conversation_flags(dataset, start, end)
        else:
            checks["conversation_to_appointment"] = "not checkable: needs the activities table"
    if "months_at_quota" in s.milestones_ladder:
        months = _complete_months(start, end)
        if not dataset.has("quotas"):
            checks["months_at_quota"] = "not checkable: needs the quotas table"
        elif months:
            counts = competency.rep_counts(dataset, months[0], months[-1] + pd.offsets.MonthBegin(1), freq="month")
            won = counts.pivot_table(index="rep_id", columns="period_start", values="won_amount", aggfunc="sum")
            checks["months_at_quota"] = (won.reindex(columns=months).fillna(0.0), months)
        else:
            checks["months_at_quota"] = (pd.DataFrame(), [])
    if "forecast_accuracy" in s.milestones_ladder:
        if dataset.has("forecasts"):
            err = horizon.forecast_errors(dataset, as_of=when, settings=s)
            err = err.loc[
                (err["submitted_at"].dt.normalize() <= err["period_start"])
                & (err["period_end"] >= start)
                & (err["period_end"] < end)
            ]
            last = err.sort_values("submitted_at", kind="stable").groupby(["rep_id", "period_start"]).tail(1)
            last = last.assign(within=last["abs_error"] <= s.milestones_forecast_tolerance * last["actual"])
            checks["forecast_accuracy"] = last.sort_values("period_start")
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
                rows.append(_row(rep, name, desc, s.milestones_conversation_weeks, flags, ends, ""))
            elif name == "months_at_quota":
                won, months = check
                q_rep = dataset.table("quotas").loc[lambda q: q["rep_id"] == rep["rep_id"]]
                quotas = [prorated_quota(q_rep, m, m + pd.offsets.MonthBegin(1)) for m in months]
                amounts = [float(won.at[rep["rep_id"], m]) if rep["rep_id"] in won.index else 0.0 for m in months]
                flags = [q > 0 and a >= q for a, q in zip(amounts, quotas, strict=True)]
                missing = sum(q <= 0 for q in quotas)
                note = f"no quota in {missing} of {len(months)} months" if missing else ""
                ends = [m + pd.offsets.MonthEnd(0) for m in months]
                rows.append(_row(rep, name, desc, s.milestones_quota_months, flags, ends, note))
            else:
                mine = check.loc[check["rep_id"] == rep["rep_id"]]
                flags = [bool(v) for v in mine["within"]]
                note = "" if flags else "no judged forecast in the lookback"
                rows.append(_row(rep, name, desc, s.milestones_forecast_months, flags, list(mine["period_end"]), note))
    out = pd.DataFrame(rows, columns=list(_COLUMNS))
    out["met_at"] = pd.to_datetime(out["met_at"])
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
