"""The forecast cadence: does every rep submit a forecast every week (the weekly rule)?

Principle 4 asks for a weekly forecasting rule. This module checks it against the
``forecasts`` table: a rep *submitted in week w* when at least one of their rows has
``submitted_at`` inside ``w`` = ``[monday, monday + 7 days)`` (any category, any period).
Per rep, over the ``cadence_weeks`` latest complete weeks as of the as-of instant (the
weekly rule's by default, :func:`salesx2lib.pipeline.resolve_as_of`), the table gives the
weeks with a submission out of the weeks the rep was expected to submit, that share with
its Wilson 95% interval, the last submission and whether the rep submitted in the latest
complete week. :func:`not_submitted` lists who did not, for the weekly report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesx2lib import periods
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import resolve_as_of
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval

__all__ = ["CADENCE_COLUMNS", "forecast_cadence", "not_submitted"]

#: The columns of :func:`forecast_cadence`, in order.
CADENCE_COLUMNS: tuple[str, ...] = (
    "as_of_date",
    "this_week",
    "first_week",
    "team",
    "rep_id",
    "rep_name",
    "n_weeks",
    "weeks_submitted",
    "submission_rate",
    "ci_low",
    "ci_high",
    "submitted_this_week",
    "last_submitted_at",
    "missed_weeks",
)

_US = "datetime64[us]"


def forecast_cadence(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    weeks: int | None = None,
) -> pd.DataFrame:
    """Per rep: weeks with a forecast submission out of the latest complete weeks.

    With ``W`` the ``weeks`` latest complete weeks as of ``as_of``
    (:func:`salesx2lib.periods.latest_complete_week` of it and the weeks before) and ``E_r``
    the weeks of ``W`` rep ``r`` was expected to submit in (those starting on or after the
    rep's ``hire_date``; all of ``W`` without one):
    ``n_weeks = |E_r|``, ``weeks_submitted = #{w in E_r : some submitted_at of r in w}``,
    ``submission_rate = weeks_submitted / n_weeks`` with its Wilson 95% interval.
    Submissions after ``as_of`` are not used.

    Parameters
    ----------
    dataset
        Needs ``forecasts`` and ``reps``.
    as_of
        The instant to judge at; default the weekly rule's (Monday 00:00 after the latest
        complete week of the data, :func:`salesx2lib.pipeline.resolve_as_of`).
    settings
        ``[forecast] cadence_weeks``; the defaults if omitted.
    weeks
        Overrides ``cadence_weeks``.

    Returns
    -------
    pandas.DataFrame
        One row per rep of ``reps`` (:data:`CADENCE_COLUMNS`): ``as_of_date``;
        ``this_week`` (the Monday of the latest complete week) and ``first_week`` (of the
        ``weeks``); ``team``, ``rep_id``, ``rep_name``; ``n_weeks`` and
        ``weeks_submitted`` (int64); ``submission_rate``, ``ci_low``, ``ci_high`` (NaN
        when ``n_weeks`` is 0); ``submitted_this_week`` (nullable boolean, NA when the rep
        was not expected to submit that week); ``last_submitted_at`` (the latest
        submission at or before ``as_of``, any week; NaT if none); ``missed_weeks`` (the
        Mondays of the expected weeks without a submission, oldest first, ``;``-separated).
        Sorted by team, then rep.

    Raises
    ------
    MissingTableError
        Without the forecasts table.
    ValueError
        If ``weeks`` (or ``cadence_weeks``) is below 1.

    Examples
    --------
    >>> forecast_cadence(dataset)[["rep_id", "weeks_submitted", "n_weeks", "submitted_this_week"]]  # doctest: +SKIP
    """
    dataset.require("forecasts")
    settings = settings or load_settings()
    n = settings.forecast_cadence_weeks if weeks is None else weeks
    if n < 1:
        raise ValueError(f"cadence weeks must be at least 1, not {n}")
    when = resolve_as_of(dataset, as_of)
    this_week = periods.latest_complete_week(when)
    mondays = periods.weeks_ending(this_week, n).to_numpy()  # oldest first
    lo, hi = mondays[0], mondays[-1] + periods.WEEK.to_timedelta64()

    reps = dataset.reps
    fc = dataset.table("forecasts")
    fc = fc.loc[fc["submitted_at"].notna() & (fc["submitted_at"] <= when), ["rep_id", "submitted_at"]]
    last = fc.groupby("rep_id")["submitted_at"].max()

    rep_ids = reps["rep_id"].to_numpy()
    code = pd.Index(rep_ids).get_indexer(fc["rep_id"])
    t = fc["submitted_at"].to_numpy(dtype=_US)
    inside = (code >= 0) & (t >= lo) & (t < hi)
    week_idx = ((t[inside] - lo) // periods.WEEK.to_timedelta64()).astype("int64")
    submitted = np.zeros((len(reps), n), dtype=bool)
    submitted[code[inside], week_idx] = True

    if "hire_date" in reps.columns:
        hired = reps["hire_date"].to_numpy(dtype=_US)
        expected = np.isnat(hired)[:, None] | (hired[:, None] <= mondays[None, :])
    else:
        expected = np.ones((len(reps), n), dtype=bool)
    done = submitted & expected
    n_weeks = expected.sum(axis=1).astype("int64")
    k = done.sum(axis=1).astype("int64")
    low, high = wilson_interval(k, n_weeks)
    rate = np.where(n_weeks > 0, k / np.maximum(n_weeks, 1), np.nan)
    this = pd.array(np.where(expected[:, -1], submitted[:, -1], False), dtype="boolean")
    this[~expected[:, -1]] = pd.NA
    labels = pd.DatetimeIndex(mondays).strftime("%Y-%m-%d").to_numpy()
    missed = ["; ".join(labels[expected[i] & ~submitted[i]]) for i in range(len(reps))]

    out = pd.DataFrame(
        {
            "as_of_date": pd.Series(when, index=reps.index, dtype=_US),
            "this_week": pd.Series(this_week, index=reps.index, dtype=_US),
            "first_week": pd.Series(pd.Timestamp(mondays[0]), index=reps.index, dtype=_US),
            "team": reps["team"].astype("str"),
            "rep_id": reps["rep_id"].astype("str"),
            "rep_name": reps["rep_name"].astype("str") if "rep_name" in reps.columns else pd.Series(pd.NA, index=reps.index, dtype="str"),
            "n_weeks": n_weeks,
            "weeks_submitted": k,
            "submission_rate": rate,
            "ci_low": low,
            "ci_high": high,
            "submitted_this_week": this,
            "last_submitted_at": reps["rep_id"].map(last).astype(_US),
            "missed_weeks": pd.Series(missed, index=reps.index, dtype="str"),
        }
    )
    return out.sort_values(["team", "rep_id"]).reset_index(drop=True)[list(CADENCE_COLUMNS)]


def not_submitted(cadence: pd.DataFrame) -> pd.DataFrame:
    """The reps who did not submit a forecast in the latest complete week, for the report.

    ``submitted_this_week == False``; reps not expected to submit that week (hired after its
    Monday) are not listed.

    Parameters
    ----------
    cadence
        :func:`forecast_cadence` (all teams, or one team's rows).

    Returns
    -------
    pandas.DataFrame
        ``team``, ``rep_id``, ``rep_name``, ``this_week``, ``last_submitted_at``,
        ``weeks_submitted``, ``n_weeks``, ``missed_weeks``: the rows of ``cadence`` with
        ``submitted_this_week`` False, longest-silent first (oldest ``last_submitted_at``,
        never-submitted first), then team and rep.
    """
    missing = cadence.loc[cadence["submitted_this_week"].eq(False).fillna(False).astype(bool)]
    cols = ["team", "rep_id", "rep_name", "this_week", "last_submitted_at", "weeks_submitted", "n_weeks", "missed_weeks"]
    return missing.sort_values(["last_submitted_at", "team", "rep_id"], na_position="first")[cols].reset_index(drop=True)
