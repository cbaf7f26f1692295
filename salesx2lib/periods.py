"""Calendar weeks as the weekly report counts them: Monday 00:00 to the next Monday.

A week is named by its Monday (``2026-11-16`` is the week from Monday 16 to Sunday 22
November 2026). Timestamps are naive UTC, as in the :class:`~salesx2lib.dataset.Dataset`;
an event belongs to the week ``[monday, monday + 7 days)``. These are the same weeks the
engine truncates to in :func:`salesx2lib.rollup.activity_counts` (DuckDB and Postgres weeks
start on Monday).

:func:`forecast_as_of` is the weekly rule: the forecast tables and the weekly report are
computed as of Monday 00:00 after the latest complete week, not as of the latest event.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = [
    "WEEK",
    "forecast_as_of",
    "latest_complete_week",
    "parse_week",
    "to_timestamp",
    "trailing_range",
    "week_end",
    "week_start",
    "weeks_ending",
]

#: Length of a week.
WEEK = pd.Timedelta(days=7)

TimestampLike = str | dt.date | dt.datetime | pd.Timestamp


def to_timestamp(value: TimestampLike, what: str = "date") -> pd.Timestamp:
    """A naive UTC timestamp (microseconds) from a string, date or timestamp.

    An aware timestamp is converted to UTC; ``"2026-03-02"`` is that day's midnight.

    Raises
    ------
    ValueError
        Naming ``what`` and the value, when it is not a date.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{what} {value!r} is not a date (expected YYYY-MM-DD)") from None
    if ts is pd.NaT:
        raise ValueError(f"{what} {value!r} is not a date (expected YYYY-MM-DD)")
    if ts.tz is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("us")


def week_start(ts: TimestampLike) -> pd.Timestamp:
    """The Monday (at 00:00) of the week that contains ``ts``.

    ``week_start(t) = floor_day(t) - weekday(t) days`` with Monday = 0 ... Sunday = 6.

    Parameters
    ----------
    ts
        A date or timestamp (naive UTC; an aware one is converted to UTC first).

    Returns
    -------
    pandas.Timestamp
        Midnight of that week's Monday.

    Examples
    --------
    >>> week_start("2026-11-22 23:59")  # a Sunday
    Timestamp('2026-11-16 00:00:00')
    >>> week_start("2026-11-23")  # a Monday
    Timestamp('2026-11-23 00:00:00')
    """
    t = to_timestamp(ts, "date").normalize()
    return t - pd.Timedelta(days=t.weekday())


def week_end(week: TimestampLike) -> pd.Timestamp:
    """The Sunday (at 00:00) that closes the week containing ``week``.

    ``week_end(t) = week_start(t) + 6 days``: the last calendar day of the week. The week
    as an interval is ``[week_start, week_start + 7 days)``.

    Examples
    --------
    >>> week_end("2026-11-16")
    Timestamp('2026-11-22 00:00:00')
    """
    return week_start(week) + pd.Timedelta(days=6)


def latest_complete_week(as_of: TimestampLike) -> pd.Timestamp:
    """The Monday of the latest week whose Sunday is on or before the as-of date.

    ``latest_complete_week(a) = max{m Monday : m + 6 days <= floor_day(a)}``. The as-of
    date is taken as a whole day: data as of Sunday (at any hour) completes the week
    that ends that Sunday, because the as-of date is the day of the latest event in the
    data; data as of Monday to Saturday gives the week before.

    Parameters
    ----------
    as_of
        The moment the data describes (:attr:`salesx2lib.dataset.Dataset.as_of`).

    Returns
    -------
    pandas.Timestamp
        Midnight of that week's Monday.

    Examples
    --------
    >>> latest_complete_week("2026-11-22 09:30")  # Sunday: its week is complete
    Timestamp('2026-11-16 00:00:00')
    >>> latest_complete_week("2026-11-21")  # Saturday: the week before
    Timestamp('2026-11-09 00:00:00')
    """
    day = to_timestamp(as_of, "as-of date").normalize()
    # Sunday (weekday 6) keeps its own week; any other day goes back one week.
    return week_start(day) - (pd.Timedelta(0) if day.weekday() == 6 else WEEK)


def forecast_as_of(data_as_of: TimestampLike, week: TimestampLike | None = None) -> pd.Timestamp:
    """The instant the forecast-section analyses are computed as of: the weekly rule.

    ``forecast_as_of(a) = latest_complete_week(a) + 7 days``: Monday 00:00 right after the
    latest complete week of the data (the week the weekly report reports). With ``week``
    given (any date of it, as ``--week``): Monday 00:00 after that week, or the data's own
    as-of instant ``a`` when that week is not complete yet (its end is not in the data).

    This is the one rule every as-of default of the forecast section follows (the cycle,
    horizon, rolling forecast, backtest end, scrub, cadence and waterfall tables, through
    :func:`salesx2lib.pipeline.resolve_as_of`, and the weekly report). What is inferred:
    the data's as-of instant ``a`` is the latest event in it
    (:attr:`salesx2lib.dataset.Dataset.as_of`), and the week containing ``a`` counts as
    complete only when ``a`` falls on its Sunday (:func:`latest_complete_week`): data up
    to Sunday 19:57 gives the Monday 00:00 a few hours later, data up to a Wednesday gives
    the Monday before it (Monday to Wednesday are left to next week's run).

    Parameters
    ----------
    data_as_of
        The moment the data describes (the latest event in it).
    week
        Any date of the week to report; default the latest complete week.

    Returns
    -------
    pandas.Timestamp
        A naive UTC instant; everything stamped at or before it is known.

    Raises
    ------
    ValueError
        If a value is not a date, or ``week`` starts after the data ends.

    Examples
    --------
    >>> forecast_as_of("2026-11-22 19:57")  # a Sunday: its week is complete
    Timestamp('2026-11-23 00:00:00')
    >>> forecast_as_of("2026-11-25 10:00")  # a Wednesday: the week before
    Timestamp('2026-11-23 00:00:00')
    >>> forecast_as_of("2026-11-25 10:00", week="2026-11-24")  # this week, not complete
    Timestamp('2026-11-25 10:00:00')
    """
    data_end = to_timestamp(data_as_of, "as-of date")
    last_complete = latest_complete_week(data_end)
    monday = last_complete if week is None else parse_week(week, data_end)
    return monday + WEEK if monday <= last_complete else data_end


def parse_week(value: TimestampLike, as_of: TimestampLike | None = None) -> pd.Timestamp:
    """Read a ``--week`` value: any date names the Monday-to-Sunday week containing it.

    ``parse_week(d) = week_start(d)``, so ``2026-11-18`` (a Wednesday) and ``2026-11-22``
    (the Sunday) both give the week of Monday ``2026-11-16``. Callers that echo the
    week should print the Monday so the user sees which week was taken.

    Parameters
    ----------
    value
        A date (``YYYY-MM-DD``), a timestamp, or a ``datetime.date``.
    as_of
        When given, the week must start on or before this date (there is no data after
        it); a week that has started but not ended is accepted and is simply incomplete.

    Returns
    -------
    pandas.Timestamp
        Midnight of the week's Monday.

    Raises
    ------
    ValueError
        If ``value`` is not a date, or the week starts after ``as_of``.

    Examples
    --------
    >>> parse_week("2026-11-18")
    Timestamp('2026-11-16 00:00:00')
    """
    monday = week_start(to_timestamp(value, "week"))
    if as_of is not None:
        last_day = to_timestamp(as_of, "as-of date").normalize()
        if monday > last_day:
            raise ValueError(
                f"week {monday.date()} starts after the data ends (as of {last_day.date()}); "
                f"the latest complete week is {latest_complete_week(last_day).date()}"
            )
    return monday


def weeks_ending(week: TimestampLike, n: int) -> pd.DatetimeIndex:
    """The Mondays of the ``n`` weeks that end with ``week``, oldest first.

    ``[week_start(week) - (n - 1) * 7 days, ..., week_start(week)]``.

    Examples
    --------
    >>> weeks_ending("2026-11-16", 2).strftime("%Y-%m-%d").tolist()
    ['2026-11-09', '2026-11-16']
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    last = week_start(week)
    return pd.date_range(end=last, periods=n, freq="7D", unit="us")


def trailing_range(
    as_of: TimestampLike,
    start: TimestampLike | None = None,
    end: TimestampLike | None = None,
    *,
    weeks: int = 13,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The date range ``[start, end)`` to analyse: given bounds kept, missing ones filled.

    ``end`` defaults to the Monday after the latest complete week as of ``as_of``
    (``latest_complete_week(as_of) + 7 days``), so the range never ends inside a week
    still in progress; ``start`` defaults to ``end - weeks * 7 days`` (13 weeks: a quarter).

    Raises
    ------
    ValueError
        If a date does not parse, ``weeks < 1`` or ``end <= start``.

    Examples
    --------
    >>> trailing_range("2026-11-22 19:57")  # a Sunday: its week is complete
    (Timestamp('2026-08-24 00:00:00'), Timestamp('2026-11-23 00:00:00'))
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    hi = latest_complete_week(as_of) + WEEK if end is None else to_timestamp(end, "end")
    lo = hi - weeks * WEEK if start is None else to_timestamp(start, "start")
    if hi <= lo:
        raise ValueError(f"end {hi.date()} must be after start {lo.date()}")
    return lo, hi
