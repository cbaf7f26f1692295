"""The competency funnel: per-rep counts, conversion ratios with honest uncertainty, benchmarks.

Principle 1 of the article: measure competencies (a 60% conversation-to-appointment
ratio), not tasks (100 dials a day). This module turns a :class:`~salesx2lib.dataset.Dataset`
into per-rep counts for a date range ``[start, end)`` (activities rolled up in the
engine, opportunities counted in pandas), then into the four funnel ratios

* ``connect_rate`` = connected calls / dials (a connected call is a conversation logged
  in the same second as a dial, :func:`salesx2lib.rollup.connected_calls`: a meeting held
  is a conversation but not a connected dial)
* ``conversation_to_appointment`` = appointments / conversations
* ``appointment_to_opportunity`` = opportunities created / prospect appointments
  (appointments not yet tied to an opportunity: a follow-up meeting booked on an open
  deal cannot create a new one, so it is not a trial)
* ``win_rate`` = won / (won + lost), deals counted by close date

each with its counts, a Wilson 95% interval and an empirical-Bayes shrunk rate, plus the
average deal size and the value-based win rate (:func:`deal_size`) and the team
benchmarks (:func:`team_benchmarks`).

Without an activity log, :func:`rep_counts` returns only the opportunity counts and
:func:`funnel` only ``win_rate``: the three activity ratios need the ``activities`` table
(``dataset.has("activities")`` tells which case applies). Functions that cannot work
without activities (:mod:`salesx2lib.gaps`) raise :class:`MissingTableError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.periods import to_timestamp
from salesx2lib.rollup import activity_counts, activity_totals, connected_calls, period_start
from salesx2lib.schema import ACTIVITY_TYPES
from salesx2lib.stats import beta_prior_from_sums, shrink, wilson_interval

__all__ = [
    "ACTIVITY_COUNT_COLUMNS",
    "ACTIVITY_METRICS",
    "CONNECTED_CALLS",
    "FUNNEL_METRICS",
    "OPPORTUNITY_COUNT_COLUMNS",
    "closed_deals",
    "deal_size",
    "funnel",
    "funnel_comparison",
    "rep_counts",
    "require_activity_columns",
    "team_benchmarks",
    "team_funnel",
]

Freq = Literal["day", "week", "month"]

#: Count column of each activity type in :func:`rep_counts`.
ACTIVITY_COUNT_COLUMNS: dict[str, str] = {
    "dial": "dials",
    "conversation": "conversations",
    "appointment": "appointments",
    "email": "emails",
    "meeting": "meetings",
    "business_card": "business_cards",
    "other": "other_activities",
}

#: Appointments not tied to an opportunity (first meetings with a prospect): the trials
#: of ``appointment_to_opportunity``.
PROSPECT_APPOINTMENTS = "prospect_appointments"

#: Conversations paired with a dial in the same second (:func:`salesx2lib.rollup.connected_calls`):
#: the successes of ``connect_rate``. Meetings held are conversations, not connected dials.
CONNECTED_CALLS = "connected_calls"

#: Opportunity counts of :func:`rep_counts`, always present.
OPPORTUNITY_COUNT_COLUMNS: tuple[str, ...] = (
    "opportunities", "won", "lost", "won_amount", "lost_amount", "won_without_amount"
)

#: The funnel ratios in funnel order: metric -> (successes column, trials columns summed).
FUNNEL_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "connect_rate": (CONNECTED_CALLS, ("dials",)),
    "conversation_to_appointment": ("appointments", ("conversations",)),
    "appointment_to_opportunity": ("opportunities", (PROSPECT_APPOINTMENTS,)),
    "win_rate": ("won", ("won", "lost")),
}

#: The ratios that need the activity log.
ACTIVITY_METRICS: tuple[str, ...] = ("connect_rate", "conversation_to_appointment", "appointment_to_opportunity")

#: The one-line message of :meth:`Dataset.require` for the activity log.
_NEEDS_ACTIVITIES = (
    "needs the activities table (activities.csv or activities.parquet), which this dataset does not have"
)


def _in_range(ts: pd.Series, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.Series:
    keep = ts.notna()
    if lo is not None:
        keep &= ts >= lo
    if hi is not None:
        keep &= ts < hi
    return keep


def _period_grid(keys: pd.DataFrame, freq: Freq) -> pd.DataFrame:
    """Every period from each rep's first to last active period (rep_id, period_start)."""
    span = keys.groupby("rep_id", sort=True)["period_start"].agg(["min", "max"])
    if span.empty:
        return pd.DataFrame({"rep_id": pd.Series(dtype="str"), "period_start": pd.Series(dtype="datetime64[us]")})
    step = {"day": "D", "week": "7D", "month": "MS"}[freq]
    periods = pd.date_range(span["min"].min(), span["max"].max(), freq=step, unit="us")
    grid = pd.DataFrame(
        {
            "rep_id": np.repeat(span.index.to_numpy(), len(periods)),
            "period_start": np.tile(periods.to_numpy(), len(span)),
        }
    )
    lo = grid["rep_id"].map(span["min"])
    hi = grid["rep_id"].map(span["max"])
    grid = grid.loc[(grid["period_start"] >= lo) & (grid["period_start"] <= hi)]
    return grid.astype({"rep_id": "str", "period_start": "datetime64[us]"}).reset_index(drop=True)


def closed_deals(
    opportunities: pd.DataFrame,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The deals decided in ``[start, end)``, by close date: the one definition of won revenue.

    ``won = 1`` and ``won_amount = amount`` for a won deal, ``lost = 1`` and
    ``lost_amount = amount`` for a lost one (a deal without an amount counts 0, and a
    won one is counted in ``won_without_amount``, so that a revenue figure can say how
    many won deals it lacks); ``None`` bounds are open. :func:`rep_counts` and every
    other won-revenue figure sum these rows.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``closed_at``, ``status``, ``amount``, ``won``, ``lost`` (int64),
        ``won_amount``, ``lost_amount`` (float64), ``won_without_amount`` (int64); one
        row per decided deal.
    """
    mask = opportunities["status"].isin(["won", "lost"]) & _in_range(opportunities["closed_at"], start, end)
    closed = opportunities.loc[mask, ["rep_id", "closed_at", "status", "amount"]]
    is_won = closed["status"] == "won"
    return closed.assign(
        won=is_won.astype("int64"),
        lost=(~is_won).astype("int64"),
        won_amount=closed["amount"].where(is_won, 0.0).fillna(0.0),
        lost_amount=closed["amount"].where(~is_won, 0.0).fillna(0.0),
        won_without_amount=(is_won & closed["amount"].isna()).astype("int64"),
    )


def rep_counts(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    freq: Freq | None = None,
) -> pd.DataFrame:
    """Per-rep (or per-rep-per-period) activity and opportunity counts for ``[start, end)``.

    ``dials = #{a : type = dial, start <= occurred_at < end}`` (likewise each activity
    type, counted in the engine); ``opportunities = #{o : start <= created_at < end}``;
    ``won``/``lost`` = deals with that status and ``start <= closed_at < end`` (by close
    date); ``won_amount``/``lost_amount`` = their summed amounts (a deal without an
    amount counts 0); ``won_without_amount`` = the won deals without one.

    Parameters
    ----------
    dataset
        The dataset (narrow it to a team first with ``for_team`` if needed).
    start, end
        Range, start inclusive, end exclusive; ``None`` means unbounded.
    freq
        ``None``: one row per rep of the reps table over the whole range (zeros included).
        ``day``, ``week`` (Monday to Sunday) or ``month``: one row per rep per period, for
        every period from the rep's first to last period with any activity or opportunity
        event in the range (idle periods in between are rows of zeros; periods before a
        rep's first event or after the last are not rows).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, [``period_start``], then when the dataset has activities
        ``dials``, ``conversations``, ``appointments``, ``emails``, ``meetings``,
        ``business_cards``, ``other_activities``, ``prospect_appointments`` (appointments
        with no ``opportunity_id``), ``connected_calls`` (conversations paired with a dial,
        :func:`salesx2lib.rollup.connected_calls`) (int64), and always ``opportunities``,
        ``won``, ``lost`` (int64), ``won_amount``, ``lost_amount`` (float64),
        ``won_without_amount`` (int64). Sorted by rep and period.

    Raises
    ------
    ValueError
        If a date does not parse, ``end <= start``, or the activity log has an activity
        type outside the data contract.
    """
    lo = None if start is None else to_timestamp(start, "start")
    hi = None if end is None else to_timestamp(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"end {hi.date()} must be after start {lo.date()}")
    keys = ["rep_id"] + (["period_start"] if freq is not None else [])
    opps = dataset.opportunities
    created = opps.loc[_in_range(opps["created_at"], lo, hi), ["rep_id", "created_at"]]
    closed = closed_deals(opps, lo, hi)
    if freq is not None:
        created = created.assign(period_start=period_start(created["created_at"], freq))
        closed = closed.assign(period_start=period_start(closed["closed_at"], freq))
    parts = [
        created.groupby(keys).size().rename("opportunities").to_frame(),
        closed.groupby(keys)[["won", "lost", "won_amount", "lost_amount", "won_without_amount"]].sum(),
    ]
    count_columns = list(OPPORTUNITY_COUNT_COLUMNS)
    if dataset.has("activities"):
        narrowed = dataset.between(lo, hi) if (lo is not None or hi is not None) else dataset
        act = activity_counts(narrowed, freq) if freq is not None else activity_totals(narrowed)
        unknown = sorted(set(act["activity_type"]) - set(ACTIVITY_TYPES))
        if unknown:
            raise ValueError(f"activities has activity_type values outside the data contract: {', '.join(unknown)}")
        wide = act.pivot_table(index=keys, columns="activity_type", values="count", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=list(ACTIVITY_TYPES), fill_value=0).rename(columns=ACTIVITY_COUNT_COLUMNS)
        wide.columns.name = None
        appointments = act.loc[act["activity_type"] == "appointment"].groupby(keys)["prospecting"].sum()
        wide[PROSPECT_APPOINTMENTS] = appointments.reindex(wide.index, fill_value=0)
        connected = connected_calls(narrowed, freq).set_index(keys)[CONNECTED_CALLS]
        wide[CONNECTED_CALLS] = connected.reindex(wide.index, fill_value=0)
        parts.insert(0, wide)
        count_columns = [*ACTIVITY_COUNT_COLUMNS.values(), PROSPECT_APPOINTMENTS, CONNECTED_CALLS, *count_columns]
    events = pd.concat([p.reset_index()[keys] for p in parts], ignore_index=True)
    events = events.astype({"rep_id": "str"})
    reps = dataset.reps[["rep_id", "team"]]
    if freq is None:
        frame = reps.reset_index(drop=True)
    else:
        events = events.astype({"period_start": "datetime64[us]"})
        frame = _period_grid(events.loc[events["rep_id"].isin(reps["rep_id"])], freq)
        frame = frame.merge(reps, on="rep_id", how="inner")[["rep_id", "team", "period_start"]]
    for part in parts:
        part = part.reset_index().astype({"rep_id": "str"})
        if freq is not None:
            part = part.astype({"period_start": "datetime64[us]"})
        frame = frame.merge(part, on=keys, how="left")
    dtypes = {c: ("float64" if c in ("won_amount", "lost_amount") else "int64") for c in count_columns}
    frame = frame.fillna({c: 0 for c in count_columns}).astype(dtypes)
    frame = frame.astype({"rep_id": "str", "team": "str"})
    return frame[["rep_id", "team", *keys[1:], *count_columns]].sort_values(keys).reset_index(drop=True)


def require_activity_columns(
    counts: pd.DataFrame, columns: Sequence[str] = ("dials", CONNECTED_CALLS, "conversations", "appointments")
) -> None:
    """Raise :class:`MissingTableError` if ``counts`` lacks the activity count ``columns``.

    :func:`rep_counts` leaves them out when the dataset has no activity log; the message
    is the one-line message of :meth:`Dataset.require`.
    """
    if any(c not in counts.columns for c in columns):
        raise MissingTableError(_NEEDS_ACTIVITIES)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column {missing[0]!r}")


def _group_keys(frame: pd.DataFrame) -> list[str]:
    return ["team"] + (["period_start"] if "period_start" in frame.columns else [])


def _long_ratios(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """One row per ``ids`` per computable funnel metric: successes, trials, rate, Wilson.

    Rows come out in the order of ``frame``, the metrics of one row together in funnel
    order (the pieces are interleaved, not sorted).
    """
    pieces = []
    for metric, (num, dens) in FUNNEL_METRICS.items():
        if num not in frame.columns or any(d not in frame.columns for d in dens):
            continue
        trials = frame[list(dens)].sum(axis=1)
        pieces.append(
            frame[ids].assign(
                metric=metric,
                successes=frame[num].astype("int64"),
                trials=trials.astype("int64"),
            )
        )
    if not pieces:
        raise ValueError("counts has none of the columns of the funnel (see competency.rep_counts)")
    n_rows, n_metrics = len(frame), len(pieces)
    interleaved = (np.arange(n_rows)[:, None] + np.arange(n_metrics)[None, :] * n_rows).ravel()
    long = pd.concat(pieces, ignore_index=True).iloc[interleaved].reset_index(drop=True)
    long = long.astype({"metric": "str"})
    x = long["successes"].to_numpy(dtype="float64")
    n = long["trials"].to_numpy(dtype="float64")
    capped = x > n
    x_eff = np.minimum(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, x_eff / n, np.nan)
    ci_low, ci_high = wilson_interval(x_eff, n)
    return long.assign(rate=rate, ci_low=ci_low, ci_high=ci_high, defined=n > 0, capped=capped)


def funnel(counts: pd.DataFrame) -> pd.DataFrame:
    """The competency funnel per rep (per period if ``counts`` has periods), long format.

    ``rate = min(x, n) / n`` (NaN when ``n = 0``: undefined); ``ci`` = Wilson 95%;
    ``shrunk_rate = (min(x, n) + alpha) / (n + alpha + beta)`` with ``Beta(alpha, beta)``
    fitted across the reps of the team (and period) by :func:`salesx2lib.stats.fit_beta_prior`.

    The metrics are ``connect_rate`` (connected calls / dials), ``conversation_to_appointment``
    (appointments / conversations), ``appointment_to_opportunity`` (opportunities created /
    prospect appointments, i.e. appointments not tied to an opportunity) and ``win_rate`` (won / (won + lost), by close date). Only the metrics
    whose count columns are in ``counts`` are computed: without activities, ``win_rate``
    alone.

    A rep with no trials (e.g. zero conversations) keeps its row: ``rate``, ``ci_low`` and
    ``ci_high`` are NaN, ``defined`` is False, and ``shrunk_rate`` is the team's prior mean.
    The counts are not linked one to one (a meeting counts as a conversation without a
    dial; an inbound opportunity needs no appointment), so successes can exceed trials:
    ``successes`` is then reported as counted, ``capped`` is True and the rate, interval
    and shrinkage use ``min(successes, trials)`` (rate 1).

    Parameters
    ----------
    counts
        Output of :func:`rep_counts` (or a frame with the same columns).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, [``period_start``], ``metric``, ``successes``, ``trials``
        (int64), ``rate``, ``ci_low``, ``ci_high``, ``shrunk_rate``, ``prior_alpha``,
        ``prior_beta`` (float64), ``defined``, ``capped`` (bool). Sorted by team, rep,
        period and funnel order.

    References
    ----------
    E. B. Wilson (1927), JASA 22(158); B. Efron and C. Morris (1975), JASA 70(350).

    Examples
    --------
    >>> counts = pd.DataFrame({"rep_id": ["a"], "team": ["t"], "won": [3], "lost": [1]})
    >>> funnel(counts)[["metric", "successes", "trials", "rate"]]
         metric  successes  trials  rate
    0  win_rate          3       4  0.75
    """
    _require_columns(counts, ["rep_id", "team"], "counts")
    groups = _group_keys(counts)
    ordered = counts.sort_values(["team", "rep_id", *groups[1:]], kind="stable")
    long = _long_ratios(ordered, ["rep_id", *groups])
    n = long["trials"].to_numpy(dtype="float64")
    x = np.minimum(long["successes"].to_numpy(dtype="float64"), n)
    has = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        sums = pd.DataFrame(
            {
                "k": has.astype("float64"),
                "N": n,
                "X": x,
                "Q": np.where(has, x * x / n, 0.0),
                "S": n * n,
            },
            index=long.index,
        )
    by = [long[g] for g in [*groups, "metric"]]
    totals = sums.groupby(by, sort=False).transform("sum")
    alpha, beta, _ = beta_prior_from_sums(totals["k"], totals["N"], totals["X"], totals["Q"], totals["S"])
    long = long.assign(shrunk_rate=shrink(x, n, alpha, beta), prior_alpha=alpha, prior_beta=beta)
    columns = ["rep_id", *groups, "metric", "successes", "trials", "rate", "ci_low", "ci_high",
               "shrunk_rate", "prior_alpha", "prior_beta", "defined", "capped"]
    return long[columns]


def team_funnel(counts: pd.DataFrame) -> pd.DataFrame:
    """The funnel pooled per team (per period if ``counts`` has periods).

    ``rate = min(sum x, sum n) / sum n`` over the team's reps, with a Wilson 95% interval
    on the pooled counts. The pooled interval treats the team as one big rep: it ignores
    the differences between reps and is therefore narrower than the uncertainty about a
    typical rep; use :func:`team_benchmarks` for that.

    Returns
    -------
    pandas.DataFrame
        ``team``, [``period_start``], ``metric``, ``n_reps``, ``successes``, ``trials``,
        ``rate``, ``ci_low``, ``ci_high``, ``defined``, ``capped``.
    """
    _require_columns(counts, ["rep_id", "team"], "counts")
    groups = _group_keys(counts)
    numeric = counts.select_dtypes(include="number").columns
    pooled = counts.groupby(groups, sort=True)[list(numeric)].sum()
    pooled = pooled.assign(n_reps=counts.groupby(groups, sort=True)["rep_id"].nunique()).reset_index()
    long = _long_ratios(pooled, [*groups, "n_reps"])
    columns = [*groups, "metric", "n_reps", "successes", "trials", "rate", "ci_low", "ci_high", "defined", "capped"]
    return long[columns]


def team_benchmarks(funnel_frame: pd.DataFrame) -> pd.DataFrame:
    """Median and top quartile of the reps' shrunk rates, per team (and period) and metric.

    ``median = median(shrunk_rate)``, ``top_quartile = quantile_0.75(shrunk_rate)`` over the
    team's reps whose rate is defined (at least one trial); a team with no such rep gets
    ``n_reps = 0`` and NaN benchmarks.

    Parameters
    ----------
    funnel_frame
        Output of :func:`funnel`.

    Returns
    -------
    pandas.DataFrame
        ``team``, [``period_start``], ``metric``, ``n_reps`` (int64), ``median``,
        ``top_quartile`` (float64).
    """
    _require_columns(funnel_frame, ["team", "metric", "shrunk_rate", "defined"], "the funnel")
    groups = [c for c in ("team", "period_start") if c in funnel_frame.columns]
    values = funnel_frame["shrunk_rate"].where(funnel_frame["defined"])
    grouped = values.groupby([funnel_frame[g] for g in [*groups, "metric"]], sort=False)
    out = pd.DataFrame(
        {
            "n_reps": grouped.count().astype("int64"),
            "median": grouped.median(),
            "top_quartile": grouped.quantile(0.75),
        }
    ).reset_index()
    order = out["metric"].map({m: i for i, m in enumerate(FUNNEL_METRICS)})
    out = out.assign(_order=order).sort_values([*groups, "_order"], kind="stable", na_position="last")
    return out.drop(columns="_order").reset_index(drop=True)


def deal_size(counts: pd.DataFrame, prior_deals: float = 2.0) -> pd.DataFrame:
    """Average deal size and value-based win rate per rep (per period if given).

    ``avg_deal_size = won_amount / won`` (NaN when ``won = 0``: undefined);
    ``shrunk_avg_deal_size = (won_amount + m * team_avg) / (won + m)`` with ``team_avg =
    sum(won_amount) / sum(won)`` over the team and ``m = prior_deals``;
    ``win_rate_value = won_amount / (won_amount + lost_amount)``.

    The shrinkage is a credibility weighting: the team average counts as ``m`` deals, so
    a rep with one deal is pulled a long way towards the team and a rep with 40 deals
    hardly moves. Unlike the rates (whose prior strength is fitted from the reps'
    spread), ``m`` is fixed: the counts carry no within-rep variance of deal amounts to
    fit it from.

    Parameters
    ----------
    counts
        Output of :func:`rep_counts`.
    prior_deals
        ``m``, the weight of the team average in deals (> 0).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, [``period_start``], ``won``, ``lost`` (int64), ``won_amount``,
        ``lost_amount``, ``avg_deal_size``, ``team_avg_deal_size``, ``shrunk_avg_deal_size``,
        ``win_rate_value`` (float64), ``defined`` (bool, ``won > 0``). A team without any
        won deal has NaN ``team_avg_deal_size`` and ``shrunk_avg_deal_size``.

    References
    ----------
    H. Bühlmann and A. Gisler (2005), *A Course in Credibility Theory*, ch. 4.
    """
    if prior_deals <= 0:
        raise ValueError(f"prior_deals must be positive, not {prior_deals!r}")
    _require_columns(counts, ["rep_id", "team", "won", "lost", "won_amount", "lost_amount"], "counts")
    groups = _group_keys(counts)
    won = counts["won"].to_numpy(dtype="float64")
    won_amount = counts["won_amount"].to_numpy(dtype="float64")
    lost_amount = counts["lost_amount"].to_numpy(dtype="float64")
    by = [counts[g] for g in groups]
    team_won = counts["won"].groupby(by).transform("sum").to_numpy(dtype="float64")
    team_amount = counts["won_amount"].groupby(by).transform("sum").to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(won > 0, won_amount / won, np.nan)
        team_avg = np.where(team_won > 0, team_amount / team_won, np.nan)
        value_total = won_amount + lost_amount
        win_rate_value = np.where(value_total > 0, won_amount / value_total, np.nan)
    shrunk = (won_amount + prior_deals * team_avg) / (won + prior_deals)
    out = counts[["rep_id", *groups, "won", "lost", "won_amount", "lost_amount"]].assign(
        avg_deal_size=avg,
        team_avg_deal_size=team_avg,
        shrunk_avg_deal_size=shrunk,
        win_rate_value=win_rate_value,
        defined=won > 0,
    )
    return out.sort_values([*groups, "rep_id"]).reset_index(drop=True)


def funnel_comparison(
    dataset: Dataset,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    baseline_start: pd.Timestamp | str,
) -> pd.DataFrame:
    """The team funnel over ``[start, end)`` next to the baseline ``[baseline_start, start)``.

    ``rate = sum x / sum n`` pooled over the team's reps in each window (:func:`team_funnel`),
    with Wilson 95% intervals; e.g. the report week against the trailing quarter.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`team_funnel` plus ``window`` (``current`` or ``baseline``),
        ``window_start`` and ``window_end`` (exclusive).
    """
    bounds = {"current": (start, end), "baseline": (baseline_start, start)}
    frames = [
        team_funnel(rep_counts(dataset, lo, hi)).assign(
            window=name, window_start=pd.Timestamp(lo), window_end=pd.Timestamp(hi)
        )
        for name, (lo, hi) in bounds.items()
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"window": "str", "window_start": "datetime64[us]", "window_end": "datetime64[us]"})
