"""Headline KPIs of the weekly report: won revenue, quota attainment, conversations and
the conversation-to-appointment ratio, week by week.

:func:`weekly_kpis` computes each KPI for the report week and the weeks before it (one
tidy row per week and KPI); :func:`headline_kpis` compares the report week with the
previous week and the trailing average; :func:`headline_json` is the same summary as a
JSON-ready dict (the report's ``<team>.json``). Weeks run Monday 00:00 to Monday 00:00
(:mod:`salesx2lib.periods`). Narrow the dataset to a team first with
:meth:`~salesx2lib.dataset.Dataset.for_team`.

Each KPI needs some tables (:data:`KPI_TABLES`). A KPI whose table is missing is not an
error: its values are missing and its ``note`` is the one-line reason (for example
``needs the activities table (activities.csv or activities.parquet), which this dataset
does not have``), while the other KPIs are computed as usual.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from salesx2lib import competency, periods
from salesx2lib.dataset import Dataset, MissingTableError

__all__ = [
    "KPIS",
    "KPI_FORMULAS",
    "KPI_LABELS",
    "KPI_TABLES",
    "KPI_UNITS",
    "format_value",
    "headline_json",
    "headline_kpis",
    "headline_table",
    "prorated_quota",
    "weekly_kpis",
]

#: The headline KPIs, in report order.
KPIS: tuple[str, ...] = ("won_revenue", "quota_attainment", "conversations", "conversation_to_appointment")

#: Human labels (chart titles, table rows).
KPI_LABELS: dict[str, str] = {
    "won_revenue": "Won revenue",
    "quota_attainment": "Quota attainment",
    "conversations": "Conversations",
    "conversation_to_appointment": "Conversation to appointment",
}

#: What a value is: an ``amount`` of money, a ``count``, or a ``ratio`` (0.52 = 52%).
KPI_UNITS: dict[str, str] = {
    "won_revenue": "amount",
    "quota_attainment": "ratio",
    "conversations": "count",
    "conversation_to_appointment": "ratio",
}

#: One-line formula of each KPI for one week ``[monday, monday + 7 days)``.
KPI_FORMULAS: dict[str, str] = {
    "won_revenue": "sum of amount of won opportunities with closed_at in the week",
    "quota_attainment": "won revenue / quota prorated to the week",
    "conversations": "number of activities of type conversation in the week",
    "conversation_to_appointment": "appointments / conversations in the week (Wilson 95% interval)",
}

#: Tables each KPI needs.
KPI_TABLES: dict[str, tuple[str, ...]] = {
    "won_revenue": ("opportunities",),
    "quota_attainment": ("opportunities", "quotas"),
    "conversations": ("activities",),
    "conversation_to_appointment": ("activities",),
}

_WEEKLY_COLUMNS: dict[str, str] = {
    "week_start": "datetime64[us]",
    "weeks_before": "int64",
    "kpi": "str",
    "value": "float64",
    "numerator": "float64",
    "denominator": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "note": "str",
}


def _missing_note(dataset: Dataset, kpi: str) -> str | None:
    """The one-line reason a KPI cannot be computed, or ``None`` if it can."""
    try:
        dataset.require(*KPI_TABLES[kpi])
    except MissingTableError as exc:
        return str(exc)
    return None


def prorated_quota(quotas: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """The quota that falls in the days ``[start, end)``, prorating each quota period by days.

    ``quota(start, end) = Σ_q quota_q × overlap_days(q) / period_days(q)`` where
    ``period_days(q) = period_end_q - period_start_q + 1`` (both ends inclusive) and
    ``overlap_days(q)`` counts the calendar days of ``[start, end)`` that are in
    ``[period_start_q, period_end_q]``. A monthly quota of 30,000 for a 30-day month gives
    7,000 to a week that lies inside it.

    Parameters
    ----------
    quotas
        The quotas table (``period_start``, ``period_end``, ``quota``), already narrowed to
        the reps of interest.
    start, end
        Midnights; ``end`` is exclusive.

    Returns
    -------
    float
        The prorated quota (0.0 when no quota period overlaps the range).
    """
    return float(_prorated_quotas(quotas, pd.DatetimeIndex([start]), end - start).iloc[0])


def _prorated_quotas(quotas: pd.DataFrame, starts: pd.DatetimeIndex, length: pd.Timedelta) -> pd.Series:
    """Prorated quota of ``[s, s + length)`` for each start ``s`` (see :func:`prorated_quota`)."""
    day = pd.Timedelta(days=1)
    p_start = quotas["period_start"].to_numpy(dtype="datetime64[us]")
    p_end_excl = quotas["period_end"].to_numpy(dtype="datetime64[us]") + np.timedelta64(1, "D")
    q = quotas["quota"].to_numpy(dtype="float64")
    period_days = (p_end_excl - p_start) / day
    lo = starts.to_numpy(dtype="datetime64[us]")[:, None]
    hi = (starts + length).to_numpy(dtype="datetime64[us]")[:, None]
    overlap = (np.minimum(hi, p_end_excl[None, :]) - np.maximum(lo, p_start[None, :])) / day
    overlap = np.clip(overlap, 0.0, None)
    share = np.divide(overlap, period_days[None, :], out=np.zeros_like(overlap), where=period_days[None, :] > 0)
    return pd.Series((share * q[None, :]).sum(axis=1), index=starts, dtype="float64")


def _weekly_counts(dataset: Dataset, weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """The team's counts per week (:func:`salesx2lib.competency.rep_counts`, pooled over reps).

    One row per week of ``weeks`` (weeks without any event are zeros), with the count
    columns of ``rep_counts``: ``won_amount`` and, with an activity log,
    ``conversations`` and ``appointments``.
    """
    counts = competency.rep_counts(dataset, weeks[0], weeks[-1] + periods.WEEK, freq="week")
    numeric = counts.select_dtypes(include="number").columns
    weekly = counts.groupby("period_start")[list(numeric)].sum()
    return weekly.reindex(weeks, fill_value=0)


def _weekly_ratio(weekly: pd.DataFrame, metric: str) -> pd.DataFrame:
    """A funnel ratio per week pooled over the team: :func:`salesx2lib.competency.team_funnel`."""
    pooled = weekly.rename_axis("period_start").reset_index().assign(rep_id="all", team="all")
    ratios = competency.team_funnel(pooled)
    return ratios.loc[ratios["metric"] == metric].set_index("period_start").reindex(weekly.index)


def _unpriced_note(n: np.ndarray) -> np.ndarray:
    """Per week, the note of a won-revenue figure that lacks the won deals without an amount."""
    return np.array(
        [f"{k} won deal{'s' if k != 1 else ''} without an amount, not in the sum" if k else "" for k in n], dtype=object
    )


def weekly_kpis(dataset: Dataset, week: pd.Timestamp | str, n_weeks: int) -> pd.DataFrame:
    """The headline KPIs of ``week`` and the ``n_weeks - 1`` weeks before it.

    For each week ``w = [monday, monday + 7 days)``:

    - ``won_revenue = Σ amount`` of opportunities with ``status = won`` and ``closed_at in w``
      (a won deal without an amount adds nothing; the note counts them, for this KPI and
      quota attainment)
    - ``quota_attainment = won_revenue / quota(w)``, ``quota(w)`` from :func:`prorated_quota`
    - ``conversations = #{activities in w with activity_type = conversation}``
    - ``conversation_to_appointment = min(x, n) / n`` with ``x`` the activities of type
      ``appointment`` and ``n`` those of type ``conversation`` in ``w``, pooled over the
      reps, and its Wilson 95% interval: the team funnel of
      :func:`salesx2lib.competency.team_funnel`, the one implementation of the ratio.
      Appointments and conversations are not linked one to one (an appointment can follow
      a conversation of an earlier week), so ``x > n`` happens; the ratio is then capped at
      1 and the note says so

    The counts come from :func:`salesx2lib.competency.rep_counts` (won revenue by close
    date, activities counted in the engine), as everywhere else.

    Parameters
    ----------
    dataset
        The data, narrowed to the team(s) of interest.
    week
        Any date of the report week (the week containing it is used).
    n_weeks
        How many weeks, the report week included (``trailing_weeks + 1`` for the report).

    Returns
    -------
    pandas.DataFrame
        One row per KPI and week: KPIs in :data:`KPIS` order, weeks oldest first. Columns
        ``week_start`` (Monday), ``weeks_before`` (0 for the report week, 1 for the previous
        week...), ``kpi``, ``value``, ``numerator`` and ``denominator`` (the ratio's terms:
        won revenue and quota, appointments and conversations; for a sum KPI the numerator is
        the value and the denominator is missing), ``ci_low``/``ci_high`` (the interval,
        conversation_to_appointment only) and ``note`` (why the value or its interval is
        missing, else empty).
        A ratio with a zero denominator is missing, with a note.
    """
    weeks = periods.weeks_ending(week, n_weeks)
    frames: list[pd.DataFrame] = []

    def add(kpi: str, value: Any, numerator: Any, denominator: Any, ci: tuple[Any, Any] = (np.nan, np.nan), note: Any = "") -> None:
        frames.append(
            pd.DataFrame(
                {
                    "week_start": weeks,
                    "weeks_before": np.arange(n_weeks - 1, -1, -1),
                    "kpi": kpi,
                    "value": value,
                    "numerator": numerator,
                    "denominator": denominator,
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "note": note,
                }
            )
        )

    missing = {kpi: _missing_note(dataset, kpi) for kpi in KPIS}
    weekly = _weekly_counts(dataset, weeks)
    won = weekly["won_amount"].to_numpy(dtype="float64")
    unpriced = _unpriced_note(weekly["won_without_amount"].to_numpy(dtype="int64"))
    add("won_revenue", won, won, np.nan, note=unpriced)

    if missing["quota_attainment"]:
        add("quota_attainment", np.nan, won, np.nan, note=missing["quota_attainment"])
    else:
        quota = _prorated_quotas(dataset.table("quotas"), weeks, periods.WEEK).to_numpy()
        attainment = np.divide(won, quota, out=np.full_like(won, np.nan), where=quota > 0)
        add("quota_attainment", attainment, won, quota, note=np.where(quota > 0, unpriced, "no quota falls in this week"))

    if missing["conversations"]:
        for kpi in ("conversations", "conversation_to_appointment"):
            add(kpi, np.nan, np.nan, np.nan, note=missing[kpi])
    else:
        conv = weekly["conversations"].to_numpy(dtype="float64")
        add("conversations", conv, conv, np.nan)
        ratio = _weekly_ratio(weekly, "conversation_to_appointment")
        note = np.where(ratio["defined"].to_numpy(dtype=bool), "", "no conversations in this week")
        note = np.where(
            ratio["capped"].to_numpy(dtype=bool), "more appointments than conversations in this week: capped at 100%", note
        )
        add(
            "conversation_to_appointment",
            ratio["rate"].to_numpy(dtype="float64"),
            ratio["successes"].to_numpy(dtype="float64"),
            ratio["trials"].to_numpy(dtype="float64"),
            ci=(ratio["ci_low"].to_numpy(dtype="float64"), ratio["ci_high"].to_numpy(dtype="float64")),
            note=note,
        )

    return pd.concat(frames, ignore_index=True).astype(_WEEKLY_COLUMNS)


def headline_kpis(weekly: pd.DataFrame, trailing_weeks: int) -> pd.DataFrame:
    """The report week against the previous week and the trailing average, per KPI.

    With ``w0`` the report week and ``T`` the ``trailing_weeks`` weeks before it (the
    previous week included):

    - ``this_week = value(w0)``, ``previous_week = value(w0 - 1 week)``
    - ``trailing_average = mean_{w in T} value(w)`` for won revenue and conversations;
      for the ratios the pooled ``Σ_T numerator / Σ_T denominator`` (total won over total
      quota, total appointments over total conversations, capped at 1 like the weekly
      ratio), which weights busy weeks more and is defined even when one week had no
      conversations
    - ``change_vs_previous = this_week - previous_week``,
      ``change_vs_trailing = this_week - trailing_average`` (in the KPI's unit; for a ratio
      in proportion points, 0.05 = 5 points)

    Parameters
    ----------
    weekly
        The result of :func:`weekly_kpis` with at least ``trailing_weeks + 1`` weeks.
    trailing_weeks
        Weeks in the trailing average (``trailing_weeks`` in the settings).

    Returns
    -------
    pandas.DataFrame
        One row per KPI in :data:`KPIS` order: ``kpi``, ``label``, ``unit``, ``this_week``,
        ``previous_week``, ``trailing_average``, ``change_vs_previous``,
        ``change_vs_trailing``, ``n`` (the report week's conversations for
        conversation_to_appointment, else missing), ``ci_low``, ``ci_high`` (its interval)
        and ``note`` (why this week's value is missing, else empty).
    """
    if trailing_weeks < 1:
        raise ValueError(f"trailing_weeks must be at least 1, not {trailing_weeks}")
    available = int(weekly["weeks_before"].max()) if len(weekly) else -1
    if available < trailing_weeks:
        raise ValueError(f"weekly has {available + 1} weeks; {trailing_weeks + 1} are needed for a {trailing_weeks}-week trailing average")
    rows = []
    for kpi in KPIS:
        k = weekly.loc[weekly["kpi"] == kpi].set_index("weeks_before")
        this, prev = k.loc[0], k.loc[1]
        trailing = k.loc[(k.index >= 1) & (k.index <= trailing_weeks)]
        if KPI_UNITS[kpi] == "ratio":
            num, den = trailing["numerator"].sum(min_count=1), trailing["denominator"].sum(min_count=1)
            if kpi == "conversation_to_appointment":
                num = min(num, den)
            avg = num / den if den > 0 else np.nan
        else:
            avg = trailing["value"].mean()
        is_ratio_ci = kpi == "conversation_to_appointment"
        rows.append(
            {
                "kpi": kpi,
                "label": KPI_LABELS[kpi],
                "unit": KPI_UNITS[kpi],
                "this_week": this["value"],
                "previous_week": prev["value"],
                "trailing_average": avg,
                "change_vs_previous": this["value"] - prev["value"],
                "change_vs_trailing": this["value"] - avg,
                "n": this["denominator"] if is_ratio_ci else np.nan,
                "ci_low": this["ci_low"],
                "ci_high": this["ci_high"],
                "note": this["note"],
            }
        )
    out = pd.DataFrame(rows)
    floats = ["this_week", "previous_week", "trailing_average", "change_vs_previous", "change_vs_trailing", "n", "ci_low", "ci_high"]
    return out.astype({"kpi": "str", "label": "str", "unit": "str", "note": "str"} | dict.fromkeys(floats, "float64"))


def format_value(value: float | None, unit: str, *, change: bool = False) -> str:
    """A KPI value as a report shows it: ``12,340`` (amount), ``118`` or ``117.5`` (count),
    ``52.3%`` (ratio); a change carries a sign and ratio changes are in points (``+3.1 pts``).
    A missing value is ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "+" if change else ""
    if unit == "ratio":
        return f"{value * 100:{sign},.1f} pts" if change else f"{value:.1%}"
    if unit == "count" and float(value).is_integer():
        return f"{value:{sign},.0f}"
    if unit == "count":
        return f"{value:{sign},.1f}"
    return f"{value:{sign},.0f}"


def headline_table(summary: pd.DataFrame, trailing_weeks: int) -> pd.DataFrame:
    """The headline summary as a small table of formatted strings, indexed by KPI label.

    Columns: ``This week`` (with the interval and n for conversation_to_appointment),
    ``Previous week``, ``Trailing N-week average``, ``Change vs previous``, ``Change vs
    trailing`` and, when a KPI has one, ``Note`` (why it is missing). Values as in
    :func:`format_value`.

    Parameters
    ----------
    summary
        The result of :func:`headline_kpis`.
    trailing_weeks
        The number of trailing weeks it was computed with (for the column title).
    """
    rows = {}
    for r in summary.itertuples(index=False):
        this = format_value(r.this_week, r.unit)
        if not math.isnan(r.ci_low):
            this += f" ({r.ci_low:.0%}–{r.ci_high:.0%}, n={r.n:,.0f})"
        rows[r.label] = {
            "This week": this,
            "Previous week": format_value(r.previous_week, r.unit),
            f"Trailing {trailing_weeks}-week average": format_value(r.trailing_average, r.unit),
            "Change vs previous": format_value(r.change_vs_previous, r.unit, change=True),
            "Change vs trailing": format_value(r.change_vs_trailing, r.unit, change=True),
            "Note": r.note,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table if table["Note"].ne("").any() else table.drop(columns="Note")


def _json_number(value: Any) -> float | None:
    """A float for JSON, ``None`` for a missing value (JSON has no NaN)."""
    value = float(value)
    return None if math.isnan(value) else value


def headline_json(summary: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The headline summary as a JSON-ready dict keyed by KPI name.

    Each KPI maps to ``label``, ``unit``, ``formula`` (:data:`KPI_FORMULAS`), the numbers
    of :func:`headline_kpis` (missing values as ``None``) and ``note`` (``None`` if empty).

    Parameters
    ----------
    summary
        The result of :func:`headline_kpis`.
    """
    numbers = ["this_week", "previous_week", "trailing_average", "change_vs_previous", "change_vs_trailing", "n", "ci_low", "ci_high"]
    out: dict[str, dict[str, Any]] = {}
    for row in summary.to_dict(orient="records"):
        out[row["kpi"]] = {
            "label": row["label"],
            "unit": row["unit"],
            "formula": KPI_FORMULAS[row["kpi"]],
            **{k: _json_number(row[k]) for k in numbers},
            "note": row["note"] or None,
        }
    return out
