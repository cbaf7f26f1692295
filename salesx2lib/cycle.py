"""The sales cycle measured honestly: time to decision with open deals censored.

The cycle of a deal is the time from ``created_at`` to its decision (won or lost). On the
as-of date some deals are still open; their cycle is at least their age. Kaplan-Meier
(:mod:`salesx2lib.survival`) uses them as censored observations, so its median is the age
by which half the deals are decided. The plain median of won deals (``won_median_days``)
is shown beside it to make the point: it ignores every deal still open, typically the
slow ones, and so understates the cycle.

The time-bounded win probability answers "what share of the deals created in a month were
won within 30 (60, 90) days?". A deal younger than the window on the as-of date cannot be
judged yet; it is counted in ``n_too_young`` and left out of the rate, never scored as a
loss. A cohort is ``complete`` once all its deals are old enough.

Only the ``opportunities`` and ``reps`` tables are needed; as-of dates in the past use
``closed_at`` only (a deal closed after the as-of date was open then).

Delayed entry: an export usually holds the deals open when its window starts plus those
created inside it. A deal created before the start is there only because it was still
undecided at the start (the ones decided earlier are missing), so it is observed from its
age at the start on, not from 0 (left truncation, :func:`data_start`). Counting it as at
risk from creation would treat the missing early decisions as if they had not happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.periods import to_timestamp
from salesx2lib.pipeline import ALL, resolve_as_of
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval
from salesx2lib.survival import kaplan_meier, km_quantile, km_quantile_ci

__all__ = ["CYCLE_COLUMNS", "cycle_curve", "cycle_durations", "data_start", "sales_cycle", "win_within"]

#: Columns of :func:`sales_cycle`, in order.
CYCLE_COLUMNS: tuple[str, ...] = (
    "team",
    "n",
    "n_won",
    "n_lost",
    "n_open",
    "km_median_days",
    "km_median_ci_low",
    "km_median_ci_high",
    "km_q25_days",
    "km_q75_days",
    "won_median_days",
    "won_mean_days",
)

_DAY = pd.Timedelta(days=1)
_US = "datetime64[us]"
_FREQ = {"week": "W-SUN", "month": "M", "quarter": "Q"}


def data_start(dataset: Dataset, settings: Settings | None = None) -> pd.Timestamp | None:
    """When the data starts: deals created earlier are in it only because they were still open.

    ``[cycle] data_start`` if it is a date; ``None`` (no delayed entry) if it is ``"none"``;
    if it is ``""`` (the default), inferred as midnight of the day of the earliest activity
    ``occurred_at`` (computed in the engine; the log is never loaded). The activity log is
    the one table cut at the window's start: the opportunity history of a deal created
    earlier usually goes back to its creation, forecasts and quotas are planned periods,
    not a window. Without an activity log nothing marks the start: ``None``, every deal is
    observed from creation (set the date in the settings if the export was cut).

    Delayed entry on data that was not cut is still unbiased; it only discards the early
    part of the older deals' lives (a slightly wider interval).
    """
    settings = settings or load_settings()
    value = settings.cycle_data_start.strip()
    if value.lower() == "none":
        return None
    if value:
        return to_timestamp(value, "[cycle] data_start")
    if dataset.activities is None:
        return None
    first = dataset.activities.occurred_at.min().execute()
    if first is None or pd.isna(first):
        return None
    return pd.Timestamp(first).normalize().as_unit("us")


def cycle_durations(
    opportunities: pd.DataFrame, as_of: pd.Timestamp, start: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Each deal's observed cycle at ``as_of``: decided deals' cycle, open deals' age.

    ``days = (closed_at - created_at)`` in days if ``closed_at <= as_of`` (``decided``),
    else ``(as_of - created_at)`` (censored). Deals created after ``as_of`` are left out.
    ``entry_days = clip(start - created_at, 0, days)`` in days: the age at which the deal
    came under observation (0 for deals created on or after ``start``, or without ``start``).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``rep_id``, ``created_at``, ``status`` (at ``as_of``: ``open``
        if not closed by then), ``days`` (float), ``entry_days`` (float), ``decided``
        (bool), ``won`` (bool).
    """
    when = pd.Timestamp(as_of).as_unit("us")
    o = opportunities.loc[opportunities["created_at"] <= when]
    closed = o["closed_at"].notna() & (o["closed_at"] <= when) & o["status"].isin(["won", "lost"])
    end = o["closed_at"].where(closed, when)
    days = ((end - o["created_at"]) / _DAY).astype("float64")
    if start is None:
        entry = pd.Series(0.0, index=o.index)
    else:
        late = ((pd.Timestamp(start).as_unit("us") - o["created_at"]) / _DAY).astype("float64")
        entry = late.clip(lower=0.0).where(late.clip(lower=0.0) < days, days)
    return pd.DataFrame(
        {
            "opportunity_id": o["opportunity_id"],
            "rep_id": o["rep_id"],
            "created_at": o["created_at"],
            "status": o["status"].where(closed, "open"),
            "days": days,
            "entry_days": entry.astype("float64"),
            "decided": closed.to_numpy(),
            "won": (closed & (o["status"] == "won")).to_numpy(),
        }
    ).reset_index(drop=True)


def _with_team(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    teams = dataset.reps.set_index("rep_id")["team"]
    return frame.assign(team=frame["rep_id"].map(teams).astype("str"))


def _groups(dataset: Dataset, frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(t, frame.loc[frame["team"] == t]) for t in dataset.teams] + [(ALL, frame)]


def sales_cycle(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    *,
    confidence: float = 0.95,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier sales cycle per team and overall, next to the naive won-only median.

    Event = decision (won or lost) at ``closed_at - created_at``; open deals censored at
    ``as_of - created_at``; ``km_median_days = min{t : S(t) <= 0.5}``; ``won_median_days``
    = median of ``closed_at - created_at`` over won deals only (the misleading figure).
    A deal created before :func:`data_start` enters the risk set at its age then
    (``entry_days``, delayed entry), not at 0.

    Parameters
    ----------
    dataset
        Needs ``opportunities`` and ``reps`` only.
    as_of
        Measure as of this instant (deals closed later count as open); the dataset's as-of
        date if omitted.
    confidence
        Coverage of the median's interval.
    settings
        Read for ``[cycle] data_start``; the defaults if omitted.

    Returns
    -------
    pandas.DataFrame
        One row per team, then team ``all``; columns :data:`CYCLE_COLUMNS`. Days are
        floats. A KM quantile the curve does not reach (too many deals still open) is NaN:
        read it as "longer than the oldest open deal", not as missing data.

    Examples
    --------
    >>> sales_cycle(dataset)[["team", "km_median_days", "won_median_days"]]  # doctest: +SKIP
    """
    when = resolve_as_of(dataset, as_of, default="latest_event")
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when, data_start(dataset, settings)))
    rows = []
    for team, g in _groups(dataset, d):
        km = kaplan_meier(g["days"], g["decided"], confidence, entry=g["entry_days"])
        won_days = g.loc[g["won"], "days"]
        lo, hi = km_quantile_ci(km, 0.5, confidence) if len(g) else (np.nan, np.nan)
        rows.append(
            {
                "team": team,
                "n": len(g),
                "n_won": int(g["won"].sum()),
                "n_lost": int((g["decided"] & ~g["won"]).sum()),
                "n_open": int((~g["decided"]).sum()),
                "km_median_days": km_quantile(km, 0.5),
                "km_median_ci_low": lo,
                "km_median_ci_high": hi,
                "km_q25_days": km_quantile(km, 0.25),
                "km_q75_days": km_quantile(km, 0.75),
                "won_median_days": float(won_days.median()) if len(won_days) else np.nan,
                "won_mean_days": float(won_days.mean()) if len(won_days) else np.nan,
            }
        )
    out = pd.DataFrame(rows, columns=list(CYCLE_COLUMNS))
    return out.astype({"team": "str", "n": "int64", "n_won": "int64", "n_lost": "int64", "n_open": "int64"})


def cycle_curve(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    *,
    confidence: float = 0.95,
    max_points: int = 200,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The Kaplan-Meier curve of the cycle (share of deals still undecided by age), per team.

    ``survival(t) = prod_{t_i <= t} (1 - decided_i / at_risk_i)``, read on a grid of whole
    days ``0, k, 2k, ...`` up to the longest observed duration, with ``k`` the smallest whole
    number of days giving at most ``max_points`` points (so a chart stays small). Deals
    created before :func:`data_start` enter at their age then (delayed entry), as in
    :func:`sales_cycle`; ``settings`` gives ``[cycle] data_start``.

    Returns
    -------
    pandas.DataFrame
        ``team`` (each team, then ``all``), ``days`` (float), ``n_at_risk`` (deals observed
        at least that long, undecided until then and under observation before it:
        ``#{entry < days <= T}``, entry 0 counting from age 0 inclusive), ``survival``, ``ci_low``, ``ci_high``
        (log-log interval). The exact step function is :func:`salesx2lib.survival.kaplan_meier`.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points!r}")
    when = resolve_as_of(dataset, as_of, default="latest_event")
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when, data_start(dataset, settings)))
    longest = float(d["days"].max()) if len(d) else 0.0
    step = max(1, int(np.ceil(longest / (max_points - 1))))
    grid = np.arange(0.0, longest + step, step)
    parts = []
    for team, g in _groups(dataset, d):
        km = kaplan_meier(g["days"], g["decided"], confidence, entry=g["entry_days"])
        idx = np.searchsorted(km["time"].to_numpy(), grid, side="right") - 1
        before = idx < 0
        safe = np.clip(idx, 0, None)

        def read(col: str, km: pd.DataFrame = km, safe: np.ndarray = safe, before: np.ndarray = before) -> np.ndarray:
            values = km[col].to_numpy()[safe] if len(km) else np.ones(len(grid))
            return np.where(before, 1.0, values)

        durations = np.sort(g["days"].to_numpy())
        entries = np.sort(np.where(g["entry_days"].to_numpy() == 0, -np.inf, g["entry_days"].to_numpy()))
        parts.append(
            pd.DataFrame(
                {
                    "team": team,
                    "days": grid,
                    "n_at_risk": np.searchsorted(entries, grid, side="left")
                    - np.searchsorted(durations, grid, side="left"),
                    "survival": read("survival"),
                    "ci_low": read("ci_low"),
                    "ci_high": read("ci_high"),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"team": "str", "days": "float64", "n_at_risk": "int64"})


def win_within(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    days: Sequence[int] | None = None,
    freq: Literal["week", "month", "quarter"] = "month",
) -> pd.DataFrame:
    """Share of each creation cohort won within ``d`` days of creation, censoring made explicit.

    ``win_probability(c, d) = #{o in c judged : won and closed_at - created_at <= d} /
    #{o in c judged}``, where ``o`` is judged when ``created_at + d <= as_of`` (its whole
    window has passed). Deals not yet ``d`` days old are counted in ``n_too_young`` and left
    out, because only their early wins would be known (counting them would overstate fast
    wins; counting them as losses would understate). Each rate has a Wilson interval.

    Delayed entry: a deal created before :func:`data_start` is in the data only because it
    was still open then; its cohort's deals decided before the start (the fast wins among
    them) are missing. Such deals are never judged (``n_before_start``, left out of the
    rate), and a cohort whose period starts before the data start is never ``complete``:
    its rate, if any, covers only the deals created from the start on.

    Parameters
    ----------
    dataset
        Needs ``opportunities`` and ``reps``.
    as_of
        Judge as of this instant; the dataset's as-of date if omitted.
    settings
        Read for the default windows and ``[cycle] data_start``.
    days
        The windows; ``[cycle] win_within_days`` (30, 60, 90) if omitted.
    freq
        Cohort length: ``week`` (Monday to Sunday), ``month`` or ``quarter``.

    Returns
    -------
    pandas.DataFrame
        ``team`` (each team, then ``all``), ``cohort`` (first day of the creation period),
        ``within_days``, ``n`` (deals of the cohort in the data by ``as_of``), ``n_judged``,
        ``n_too_young``, ``n_before_start`` (created before the data start), ``n_won``,
        ``win_probability`` (NaN when nothing is judged yet), ``ci_low``, ``ci_high``,
        ``complete`` (the cohort starts on or after the data start and every deal of it is
        judged); ``n = n_judged + n_too_young + n_before_start``.
    """
    if freq not in _FREQ:
        raise ValueError(f"freq must be one of {', '.join(_FREQ)}, not {freq!r}")
    settings = settings or load_settings()
    windows = tuple(settings.cycle_win_within_days if days is None else days)
    when = resolve_as_of(dataset, as_of, default="latest_event")
    start = data_start(dataset, settings)
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when))
    d["cohort"] = d["created_at"].dt.to_period(_FREQ[freq]).dt.start_time.astype(_US)
    before = d["created_at"] < start if start is not None else pd.Series(False, index=d.index)
    d["before"] = before.astype("int64")
    d = pd.concat([d, d.assign(team=ALL)], ignore_index=True)
    parts = []
    for w in windows:
        judged = (d["before"] == 0) & (d["created_at"] + pd.Timedelta(days=w) <= when)
        won = judged & d["won"] & (d["days"] <= w)
        parts.append(
            d.assign(within_days=int(w), judged=judged.astype("int64"), won_in=won.astype("int64"))
            .groupby(["team", "cohort", "within_days"], sort=False)
            .agg(n=("days", "size"), n_judged=("judged", "sum"), n_before_start=("before", "sum"), n_won=("won_in", "sum"))
            .reset_index()
        )
    cols = ["team", "cohort", "within_days", "n", "n_judged", "n_too_young", "n_before_start", "n_won", "win_probability", "ci_low", "ci_high", "complete"]
    if not parts or not len(d):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    out = pd.concat(parts, ignore_index=True)
    out["n_too_young"] = out["n"] - out["n_judged"] - out["n_before_start"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["win_probability"] = np.where(out["n_judged"] > 0, out["n_won"] / out["n_judged"], np.nan)
    lo, hi = wilson_interval(out["n_won"].to_numpy(), out["n_judged"].to_numpy())
    out["ci_low"], out["ci_high"] = lo, hi
    out["complete"] = (out["n_too_young"] == 0) & (out["n_before_start"] == 0)
    if start is not None:
        out["complete"] &= out["cohort"] >= start
    order = {t: i for i, t in enumerate([*dataset.teams, ALL])}
    out = out.sort_values(["team", "cohort", "within_days"], key=lambda s: s.map(order) if s.name == "team" else s)
    out = out.astype({"team": "str", "n": "int64", "n_judged": "int64", "n_too_young": "int64", "n_before_start": "int64", "n_won": "int64"})
    return out[cols].reset_index(drop=True)
