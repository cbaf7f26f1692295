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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL, resolve_as_of
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval
from salesx2lib.survival import kaplan_meier, km_quantile, km_quantile_ci

__all__ = ["CYCLE_COLUMNS", "cycle_curve", "cycle_durations", "sales_cycle", "win_within"]

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


def cycle_durations(opportunities: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each deal's observed cycle at ``as_of``: decided deals' cycle, open deals' age.

    ``days = (closed_at - created_at)`` in days if ``closed_at <= as_of`` (``decided``),
    else ``(as_of - created_at)`` (censored). Deals created after ``as_of`` are left out.

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``rep_id``, ``created_at``, ``status`` (at ``as_of``: ``open``
        if not closed by then), ``days`` (float), ``decided`` (bool), ``won`` (bool).
    """
    when = pd.Timestamp(as_of).as_unit("us")
    o = opportunities.loc[opportunities["created_at"] <= when]
    closed = o["closed_at"].notna() & (o["closed_at"] <= when) & o["status"].isin(["won", "lost"])
    end = o["closed_at"].where(closed, when)
    return pd.DataFrame(
        {
            "opportunity_id": o["opportunity_id"],
            "rep_id": o["rep_id"],
            "created_at": o["created_at"],
            "status": o["status"].where(closed, "open"),
            "days": ((end - o["created_at"]) / _DAY).astype("float64"),
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
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Kaplan-Meier sales cycle per team and overall, next to the naive won-only median.

    Event = decision (won or lost) at ``closed_at - created_at``; open deals censored at
    ``as_of - created_at``; ``km_median_days = min{t : S(t) <= 0.5}``; ``won_median_days``
    = median of ``closed_at - created_at`` over won deals only (the misleading figure).

    Parameters
    ----------
    dataset
        Needs ``opportunities`` and ``reps`` only.
    as_of
        Measure as of this instant (deals closed later count as open); the dataset's as-of
        date if omitted.
    confidence
        Coverage of the median's interval.

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
    when = resolve_as_of(dataset, as_of)
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when))
    rows = []
    for team, g in _groups(dataset, d):
        km = kaplan_meier(g["days"], g["decided"], confidence)
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
) -> pd.DataFrame:
    """The Kaplan-Meier curve of the cycle (share of deals still undecided by age), per team.

    ``survival(t) = prod_{t_i <= t} (1 - decided_i / at_risk_i)``, read on a grid of whole
    days ``0, k, 2k, ...`` up to the longest observed duration, with ``k`` the smallest whole
    number of days giving at most ``max_points`` points (so a chart stays small).

    Returns
    -------
    pandas.DataFrame
        ``team`` (each team, then ``all``), ``days`` (float), ``n_at_risk`` (deals observed
        at least that long and undecided until then), ``survival``, ``ci_low``, ``ci_high``
        (log-log interval). The exact step function is :func:`salesx2lib.survival.kaplan_meier`.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points!r}")
    when = resolve_as_of(dataset, as_of)
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when))
    longest = float(d["days"].max()) if len(d) else 0.0
    step = max(1, int(np.ceil(longest / (max_points - 1))))
    grid = np.arange(0.0, longest + step, step)
    parts = []
    for team, g in _groups(dataset, d):
        km = kaplan_meier(g["days"], g["decided"], confidence)
        idx = np.searchsorted(km["time"].to_numpy(), grid, side="right") - 1
        before = idx < 0
        safe = np.clip(idx, 0, None)

        def read(col: str, km: pd.DataFrame = km, safe: np.ndarray = safe, before: np.ndarray = before) -> np.ndarray:
            values = km[col].to_numpy()[safe] if len(km) else np.ones(len(grid))
            return np.where(before, 1.0, values)

        durations = np.sort(g["days"].to_numpy())
        parts.append(
            pd.DataFrame(
                {
                    "team": team,
                    "days": grid,
                    "n_at_risk": len(durations) - np.searchsorted(durations, grid, side="left"),
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

    Parameters
    ----------
    dataset
        Needs ``opportunities`` and ``reps``.
    as_of
        Judge as of this instant; the dataset's as-of date if omitted.
    settings
        Read for the default windows.
    days
        The windows; ``[cycle] win_within_days`` (30, 60, 90) if omitted.
    freq
        Cohort length: ``week`` (Monday to Sunday), ``month`` or ``quarter``.

    Returns
    -------
    pandas.DataFrame
        ``team`` (each team, then ``all``), ``cohort`` (first day of the creation period),
        ``within_days``, ``n`` (deals created in the cohort by ``as_of``), ``n_judged``,
        ``n_too_young``, ``n_won``, ``win_probability`` (NaN when nothing is judged yet),
        ``ci_low``, ``ci_high``, ``complete`` (every deal of the cohort judged).
    """
    if freq not in _FREQ:
        raise ValueError(f"freq must be one of {', '.join(_FREQ)}, not {freq!r}")
    settings = settings or load_settings()
    windows = tuple(settings.cycle_win_within_days if days is None else days)
    when = resolve_as_of(dataset, as_of)
    d = _with_team(dataset, cycle_durations(dataset.opportunities, when))
    d["cohort"] = d["created_at"].dt.to_period(_FREQ[freq]).dt.start_time.astype(_US)
    d = pd.concat([d, d.assign(team=ALL)], ignore_index=True)
    parts = []
    for w in windows:
        judged = d["created_at"] + pd.Timedelta(days=w) <= when
        won = judged & d["won"] & (d["days"] <= w)
        parts.append(
            d.assign(within_days=int(w), judged=judged.astype("int64"), won_in=won.astype("int64"))
            .groupby(["team", "cohort", "within_days"], sort=False)
            .agg(n=("days", "size"), n_judged=("judged", "sum"), n_won=("won_in", "sum"))
            .reset_index()
        )
    cols = ["team", "cohort", "within_days", "n", "n_judged", "n_too_young", "n_won", "win_probability", "ci_low", "ci_high", "complete"]
    if not parts or not len(d):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    out = pd.concat(parts, ignore_index=True)
    out["n_too_young"] = out["n"] - out["n_judged"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["win_probability"] = np.where(out["n_judged"] > 0, out["n_won"] / out["n_judged"], np.nan)
    lo, hi = wilson_interval(out["n_won"].to_numpy(), out["n_judged"].to_numpy())
    out["ci_low"], out["ci_high"] = lo, hi
    out["complete"] = out["n_too_young"] == 0
    order = {t: i for i, t in enumerate([*dataset.teams, ALL])}
    out = out.sort_values(["team", "cohort", "within_days"], key=lambda s: s.map(order) if s.name == "team" else s)
    out = out.astype({"team": "str", "n": "int64", "n_judged": "int64", "n_too_young": "int64", "n_won": "int64"})
    return out[cols].reset_index(drop=True)
