"""Aggregations of the activity log pushed down to the engine (Ibis; DuckDB by default).

The activity log can hold hundreds of millions of rows; it is never loaded whole into
pandas. These functions build one grouped query, run it in the engine and return only
the small result (rep x period x type, or one row per opportunity).
"""

from __future__ import annotations

from typing import Literal

import ibis
import pandas as pd

from salesx2lib.dataset import Dataset

__all__ = [
    "FREQ_UNITS",
    "activity_counts",
    "activity_totals",
    "connected_calls",
    "last_activity",
    "next_period",
    "period_start",
]

Freq = Literal["day", "week", "month"]

#: Ibis truncation unit per period. Weeks start on Monday.
FREQ_UNITS: dict[str, str] = {"day": "D", "week": "W", "month": "M"}


def activity_counts(dataset: Dataset, freq: Freq = "week") -> pd.DataFrame:
    """Count activities per rep, period and activity type, in the engine.

    ``count = #{activities a : a.rep_id = r, trunc(a.occurred_at, freq) = p, a.activity_type = t}``;
    ``prospecting`` counts those of them not tied to an opportunity (empty ``opportunity_id``).

    Parameters
    ----------
    dataset
        Any dataset with an activity log; narrow it first with ``for_team`` / ``between``.
    freq
        ``day``, ``week`` (Monday to Sunday) or ``month``.

    Returns
    -------
    pandas.DataFrame
        Columns ``rep_id`` (str), ``period_start`` (datetime64), ``activity_type`` (str),
        ``count``, ``prospecting`` (int64); only combinations that occurred, sorted by rep,
        period, type.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    if freq not in FREQ_UNITS:
        raise ValueError(f"freq must be one of {', '.join(FREQ_UNITS)}, not {freq!r}")
    dataset.require("activities")
    t = dataset.activities
    expr = (
        t.mutate(period_start=t.occurred_at.truncate(FREQ_UNITS[freq]))
        .group_by(["rep_id", "period_start", "activity_type"])
        .aggregate(count=t.activity_id.count(), prospecting=t.opportunity_id.isnull().sum())
        .order_by(["rep_id", "period_start", "activity_type"])
    )
    out = expr.to_pandas()
    return _canonical(
        out,
        {"rep_id": "str", "period_start": "datetime64[us]", "activity_type": "str", "count": "int64", "prospecting": "int64"},
    )


def activity_totals(dataset: Dataset) -> pd.DataFrame:
    """Count activities per rep and activity type over the whole dataset, in the engine.

    ``count = #{activities a : a.rep_id = r, a.activity_type = t}`` and ``prospecting``, those
    not tied to an opportunity; narrow the dataset
    first with ``between(start, end)`` for a date range.

    Returns
    -------
    pandas.DataFrame
        Columns ``rep_id`` (str), ``activity_type`` (str), ``count``, ``prospecting``
        (int64); only combinations that occurred, sorted by rep and type.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    dataset.require("activities")
    t = dataset.activities
    expr = (
        t.group_by(["rep_id", "activity_type"])
        .aggregate(count=t.activity_id.count(), prospecting=t.opportunity_id.isnull().sum())
        .order_by(["rep_id", "activity_type"])
    )
    out = expr.to_pandas()
    return _canonical(out, {"rep_id": "str", "activity_type": "str", "count": "int64", "prospecting": "int64"})


def connected_calls(dataset: Dataset, freq: Freq | None = None) -> pd.DataFrame:
    """Count connected calls per rep (and period), in the engine: conversations paired with a dial.

    A connected call is a ``conversation`` logged by the same rep in the same second as a
    ``dial`` (the data contract logs a connected call as both). Within each rep and second
    the two are paired one to one::

        connected_calls = sum over (rep, second) of min(#conversations, #dials)

    so a meeting held (a conversation with no dial beside it) or an inbound call is not a
    connected call, and no dial is counted as connected twice. This is the numerator of
    ``connect_rate`` (:data:`salesx2lib.competency.FUNNEL_METRICS`).

    Parameters
    ----------
    dataset
        Any dataset with an activity log; narrow it first with ``for_team`` / ``between``.
    freq
        ``None`` (one row per rep over the whole dataset), ``day``, ``week`` or ``month``;
        the period is that of the call's timestamp, as in :func:`activity_counts`.

    Returns
    -------
    pandas.DataFrame
        ``rep_id`` (str), [``period_start`` (datetime64)], ``connected_calls`` (int64); only
        reps (and periods) with at least one connected call, sorted.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    if freq is not None and freq not in FREQ_UNITS:
        raise ValueError(f"freq must be one of {', '.join(FREQ_UNITS)}, not {freq!r}")
    dataset.require("activities")
    t = dataset.activities
    second = t.occurred_at.truncate("s")

    def per_second(activity_type: str, name: str):
        kept = t.filter(t.activity_type == activity_type).mutate(second=second)
        return kept.group_by(["rep_id", "second"]).aggregate(**{name: kept.activity_id.count()})

    pairs = per_second("conversation", "n_conversations").join(per_second("dial", "n_dials"), ["rep_id", "second"])
    pairs = pairs.mutate(paired=ibis.least(pairs.n_conversations, pairs.n_dials))
    keys = ["rep_id"]
    if freq is not None:
        pairs = pairs.mutate(period_start=pairs.second.truncate(FREQ_UNITS[freq]))
        keys.append("period_start")
    expr = pairs.group_by(keys).aggregate(connected_calls=pairs.paired.sum()).order_by(keys)
    dtypes = {"rep_id": "str", "connected_calls": "int64"}
    if freq is not None:
        dtypes["period_start"] = "datetime64[us]"
    return _canonical(expr.to_pandas()[[*keys, "connected_calls"]], dtypes)


def period_start(timestamps: pd.Series, freq: Freq = "week") -> pd.Series:
    """The start of the period of each timestamp, in pandas, as the engine truncates.

    ``day``: midnight; ``week``: midnight of the Monday on or before (``t - weekday(t)``);
    ``month``: midnight of the first of the month. The same periods as
    :func:`activity_counts`, for the small tables (opportunities) that live in pandas.

    Parameters
    ----------
    timestamps
        Naive UTC timestamps; missing values stay missing.
    freq
        ``day``, ``week`` or ``month``.

    Returns
    -------
    pandas.Series
        ``datetime64[us]``, same index as ``timestamps``.
    """
    if freq not in FREQ_UNITS:
        raise ValueError(f"freq must be one of {', '.join(FREQ_UNITS)}, not {freq!r}")
    ts = pd.to_datetime(timestamps).astype("datetime64[us]")
    day = ts.dt.normalize()
    if freq == "day":
        out = day
    elif freq == "week":
        out = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    else:
        out = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return out.astype("datetime64[us]")


def next_period(starts: pd.Series, freq: Freq = "week") -> pd.Series:
    """The start of the period after each period start: +1 day, +7 days or +1 month."""
    if freq not in FREQ_UNITS:
        raise ValueError(f"freq must be one of {', '.join(FREQ_UNITS)}, not {freq!r}")
    s = pd.to_datetime(starts).astype("datetime64[us]")
    if freq == "day":
        out = s + pd.Timedelta(days=1)
    elif freq == "week":
        out = s + pd.Timedelta(days=7)
    else:
        out = s + pd.DateOffset(months=1)
    return out.astype("datetime64[us]")


def last_activity(dataset: Dataset, by: Literal["rep_id", "opportunity_id"] = "opportunity_id") -> pd.DataFrame:
    """The latest activity per rep or per opportunity, computed in the engine.

    ``last_activity_at = max(a.occurred_at)`` over the activities of each key; rows with
    an empty key are ignored (an activity not tied to an opportunity has no opportunity).

    Returns
    -------
    pandas.DataFrame
        Columns ``by`` (str), ``last_activity_at`` (datetime64), ``n_activities`` (int64).
    """
    dataset.require("activities")
    t = dataset.activities
    expr = (
        t.filter(t[by].notnull())
        .group_by(by)
        .aggregate(last_activity_at=t.occurred_at.max(), n_activities=t.activity_id.count())
        .order_by(by)
    )
    out = expr.to_pandas()
    return _canonical(out, {by: "str", "last_activity_at": "datetime64[us]", "n_activities": "int64"})


def _canonical(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Give an engine result the project's dtypes (the engines differ in units and ints)."""
    return df.astype(dtypes).reset_index(drop=True)

