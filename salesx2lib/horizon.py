"""Forecast accuracy by horizon: how good are the reps' forecasts the further out they look?

Each forecast submission says "I will win F in the period [period_start, period_end]". Its
horizon is ``h = period_end - submitted_at`` in whole days (date of submission to the last
day of the period). Its actual ``A`` is the rep's won amount with ``closed_at`` on a day of
that period, both ends included. Only periods over by the as-of date are judged
(``period_end + 1 day <= as_of``), so nothing is scored against a half-finished period.

Submissions are grouped in horizon buckets (``0-30, 31-60, 61-90, 91+`` days by default,
see ``[forecast] horizon_buckets``) and per group:

- ``bias = sum(F - A) / sum(A)`` (positive: over-forecast),
- ``wape = sum|F - A| / sum(A)``, ``accuracy = 1 - wape``,
- ``hit_rate`` = share of submissions with ``|F - A| <= tolerance * A``,
- ``mape = mean(|F - A| / A)`` over submissions with ``A > 0``; ``n_zero_actual`` says how
  many it had to skip (MAPE is undefined at ``A = 0``).

Vendors compute "forecast accuracy" differently (Gong shows F/A, HubSpot
``max(0, 1 - |A - F| / A)``), which is why every output carries its formula's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.competency import closed_deals
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL, resolve_as_of
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval

__all__ = [
    "SUMMARY_COLUMNS",
    "bucket_bounds",
    "bucket_labels",
    "error_summary",
    "forecast_errors",
    "horizon_accuracy",
    "horizon_bucket",
    "won_amount_between",
]

#: Columns :func:`error_summary` adds to its group keys, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "n",
    "forecast",
    "actual",
    "bias",
    "wape",
    "accuracy",
    "hit_rate",
    "hit_rate_ci_low",
    "hit_rate_ci_high",
    "mape",
    "n_zero_actual",
)

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)


def bucket_labels(edges: Sequence[int]) -> list[str]:
    """Bucket names for upper edges ``edges``: ``(30, 60, 90)`` gives 0-30, 31-60, 61-90, 91+.

    ``bucket k = [edges[k-1] + 1, edges[k]]`` days, the first starting at 0, the last open.
    """
    edges = list(edges)
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or (edges and edges[0] < 0):
        raise ValueError(f"horizon bucket edges must be increasing and >= 0, not {edges}")
    lows = [0] + [e + 1 for e in edges]
    labels = [f"{lo}-{hi}" for lo, hi in zip(lows, edges, strict=False)]
    return [*labels, f"{lows[-1]}+"]


def bucket_bounds(edges: Sequence[int]) -> pd.DataFrame:
    """The buckets as a table: ``horizon_bucket``, ``horizon_min_days``, ``horizon_max_days``.

    The last bucket has no upper bound (``horizon_max_days`` is NA).
    """
    labels = bucket_labels(edges)
    lows = [0] + [e + 1 for e in edges]
    highs = pd.array([*edges, None], dtype="Int64")
    return pd.DataFrame(
        {
            "horizon_bucket": pd.array(labels, dtype="str"),
            "horizon_min_days": pd.array(lows, dtype="Int64"),
            "horizon_max_days": highs,
        }
    )


def horizon_bucket(days: pd.Series, edges: Sequence[int]) -> pd.Series:
    """The bucket label of each horizon in days (NA for a negative or missing horizon)."""
    labels = bucket_labels(edges)
    values = pd.to_numeric(days, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    idx = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="left")
    out = np.asarray(labels, dtype=object)[np.clip(idx, 0, len(labels) - 1)]
    out = np.where(np.isnan(values) | (values < 0), None, out)
    return pd.Series(out, index=days.index, dtype="str")


def won_amount_between(
    opportunities: pd.DataFrame,
    rep_ids: Sequence[str] | pd.Series,
    starts: Sequence[pd.Timestamp] | pd.Series,
    ends: Sequence[pd.Timestamp] | pd.Series,
    as_of: pd.Timestamp | None = None,
) -> np.ndarray:
    """Won amount of each rep in each time window, vectorised.

    ``won(r, [s, e)) = sum(amount of o : o.rep_id = r, o.status = won, s <= o.closed_at < e,
    o.closed_at <= as_of)``, computed as the difference of per-rep running sums found with
    one ``merge_asof`` (no loop over reps or windows).

    Parameters
    ----------
    opportunities
        The opportunities table (``rep_id``, ``status``, ``closed_at``, ``amount``).
    rep_ids, starts, ends
        One window per position: the rep, its start (included) and its end (excluded).
    as_of
        Ignore deals closed after this instant.

    Returns
    -------
    numpy.ndarray
        float64, one value per window (0 when nothing was won).
    """
    closed = closed_deals(opportunities)  # the one definition of won revenue
    won = closed.loc[closed["won"] == 1, ["rep_id", "closed_at", "won_amount"]].rename(columns={"won_amount": "amount"})
    if as_of is not None:
        won = won.loc[won["closed_at"] <= as_of]
    reps = pd.Index(pd.unique(np.concatenate([won["rep_id"].to_numpy(dtype=object), np.asarray(rep_ids, dtype=object)])))
    w = pd.DataFrame(
        {
            "rep": reps.get_indexer(won["rep_id"]).astype("int64"),
            "t": won["closed_at"].to_numpy(dtype=_US).view("int64"),
            "amount": won["amount"].fillna(0.0).to_numpy(dtype="float64"),
        }
    ).sort_values(["rep", "t"], kind="stable")
    w["cum"] = w.groupby("rep")["amount"].cumsum()
    w = w.sort_values("t", kind="stable")[["t", "rep", "cum"]]
    n = len(rep_ids)
    q_rep = reps.get_indexer(pd.Index(np.asarray(rep_ids, dtype=object))).astype("int64")

    def cum_before(times: Sequence[pd.Timestamp] | pd.Series) -> np.ndarray:
        t = pd.DatetimeIndex(times).as_unit("us").to_numpy().view("int64")
        q = pd.DataFrame({"t": t, "rep": q_rep, "row": np.arange(n)}).sort_values("t", kind="stable")
        m = pd.merge_asof(q, w, on="t", by="rep", direction="backward", allow_exact_matches=False)
        return m.sort_values("row")["cum"].fillna(0.0).to_numpy()

    if n == 0:
        return np.zeros(0)
    return cum_before(ends) - cum_before(starts)


def forecast_errors(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    category: str | None = "commit",
) -> pd.DataFrame:
    """Each judged forecast submission with its horizon, bucket and actual.

    ``horizon_days = period_end - date(submitted_at)``; ``actual = won amount of the rep with
    period_start <= date(closed_at) <= period_end``; judged when
    ``period_end + 1 day <= as_of`` and ``submitted_at <= as_of``.

    Parameters
    ----------
    dataset
        Needs the ``forecasts`` table.
    as_of
        Judge as of this instant; the dataset's as-of date if omitted.
    settings
        Horizon buckets; the defaults if omitted.
    category
        Keep submissions of this forecast category (``commit`` by default) when the table
        has categories; ``None`` keeps all. A table without categories is kept whole.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``submitted_at``, ``period_start``, ``period_end``,
        ``category`` (the filter applied: a category or ``all``), ``horizon_days``
        (int64), ``horizon_bucket`` (str; NA when submitted after the period ended),
        ``forecast``, ``actual``, ``error`` (``F - A``), ``abs_error``.

    Raises
    ------
    MissingTableError
        If the dataset has no forecasts table.
    """
    dataset.require("forecasts")
    settings = settings or load_settings()
    when = resolve_as_of(dataset, as_of, default="latest_event")
    fc = dataset.table("forecasts")
    used = "all"
    if category is not None and "category" in fc.columns and fc["category"].notna().any():
        fc = fc.loc[fc["category"] == category]
        used = category
    fc = fc.loc[(fc["period_end"] + _DAY <= when) & (fc["submitted_at"] <= when)]
    teams = dataset.reps.set_index("rep_id")["team"]
    horizon = ((fc["period_end"] - fc["submitted_at"].dt.normalize()) / _DAY).astype("int64")
    actual = won_amount_between(
        dataset.opportunities, fc["rep_id"], fc["period_start"], fc["period_end"] + _DAY, as_of=when
    )
    out = pd.DataFrame(
        {
            "rep_id": fc["rep_id"].to_numpy(),
            "team": fc["rep_id"].map(teams).to_numpy(),
            "submitted_at": fc["submitted_at"].to_numpy(),
            "period_start": fc["period_start"].to_numpy(),
            "period_end": fc["period_end"].to_numpy(),
            "category": used,
            "horizon_days": horizon.to_numpy(),
            "forecast": fc["amount"].to_numpy(dtype="float64"),
            "actual": actual,
        }
    )
    out = out.astype(
        {
            "rep_id": "str",
            "team": "str",
            "category": "str",
            "submitted_at": _US,
            "period_start": _US,
            "period_end": _US,
            "horizon_days": "int64",
        }
    )
    out.insert(7, "horizon_bucket", horizon_bucket(out["horizon_days"], settings.horizon_buckets))
    out["error"] = out["forecast"] - out["actual"]
    out["abs_error"] = out["error"].abs()
    return out.sort_values(["rep_id", "submitted_at", "period_start"], kind="stable").reset_index(drop=True)


def error_summary(errors: pd.DataFrame, by: Sequence[str], tolerance: float) -> pd.DataFrame:
    """Bias, WAPE, accuracy, hit rate and MAPE of forecasts against actuals, per group.

    ``bias = sum(F-A)/sum(A)``; ``wape = sum|F-A|/sum(A)``; ``accuracy = 1 - wape``;
    ``hit_rate = mean(|F-A| <= tolerance*A)`` with a Wilson 95% interval;
    ``mape = mean(|F-A|/A | A > 0)`` and ``n_zero_actual = #(A = 0)``. Ratios over
    ``sum(A) = 0`` are NaN.

    Parameters
    ----------
    errors
        One row per forecast, with columns ``forecast`` and ``actual`` and the ``by`` keys.
    by
        Group keys (may be empty: one row for everything).
    tolerance
        Hit tolerance as a share of the actual (``[forecast] hit_tolerance``).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then :data:`SUMMARY_COLUMNS`.
    """
    f = errors["forecast"].to_numpy(dtype="float64", na_value=np.nan)
    a = errors["actual"].to_numpy(dtype="float64", na_value=np.nan)
    ok = ~np.isnan(f) & ~np.isnan(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(a > 0, np.abs(f - a) / a, np.nan)
    parts = pd.DataFrame(
        {
            "n": ok.astype("int64"),
            "forecast": np.where(ok, f, 0.0),
            "actual": np.where(ok, a, 0.0),
            "err": np.where(ok, f - a, 0.0),
            "abs_err": np.where(ok, np.abs(f - a), 0.0),
            "hit": (ok & (np.abs(f - a) <= tolerance * a + 1e-9)).astype("int64"),
            "ape": np.where(ok, ape, np.nan),
            "zero": (ok & (a == 0)).astype("int64"),
        },
        index=errors.index,
    )
    keys = list(by)
    for k in keys:
        parts[k] = errors[k]
    if keys:
        g = parts.groupby(keys, sort=True, dropna=False)
        agg = g.agg(
            n=("n", "sum"),
            forecast=("forecast", "sum"),
            actual=("actual", "sum"),
            err=("err", "sum"),
            abs_err=("abs_err", "sum"),
            hit=("hit", "sum"),
            mape=("ape", "mean"),
            n_zero_actual=("zero", "sum"),
        ).reset_index()
    else:
        agg = pd.DataFrame(
            {
                "n": [parts["n"].sum()],
                "forecast": [parts["forecast"].sum()],
                "actual": [parts["actual"].sum()],
                "err": [parts["err"].sum()],
                "abs_err": [parts["abs_err"].sum()],
                "hit": [parts["hit"].sum()],
                "mape": [parts["ape"].mean()],
                "n_zero_actual": [parts["zero"].sum()],
            }
        )
    actual = agg["actual"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["bias"] = np.where(actual > 0, agg["err"] / actual, np.nan)
        agg["wape"] = np.where(actual > 0, agg["abs_err"] / actual, np.nan)
        n = agg["n"].to_numpy(dtype="float64")
        agg["hit_rate"] = np.where(n > 0, agg["hit"] / n, np.nan)
    agg["accuracy"] = 1.0 - agg["wape"]
    lo, hi = wilson_interval(agg["hit"].to_numpy(), agg["n"].to_numpy())
    agg["hit_rate_ci_low"] = lo
    agg["hit_rate_ci_high"] = hi
    agg = agg.astype({"n": "int64", "n_zero_actual": "int64"})
    return agg[[*keys, *SUMMARY_COLUMNS]]


def horizon_accuracy(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    by: Literal["team", "rep"] = "team",
    category: str | None = "commit",
) -> pd.DataFrame:
    """Forecast accuracy per horizon bucket, per team (plus ``all``) or per rep.

    Per group and bucket, over the judged submissions of :func:`forecast_errors`:
    ``bias = sum(F-A)/sum(A)``, ``wape = sum|F-A|/sum(A)``, ``accuracy = 1 - wape``,
    ``hit_rate = mean(|F-A| <= tol*A)``, ``mape`` over ``A > 0`` (``n_zero_actual`` skipped).

    Parameters
    ----------
    dataset
        Needs the ``forecasts`` table.
    as_of
        Judge as of this instant; the dataset's as-of date if omitted.
    settings
        Buckets and hit tolerance; the defaults if omitted.
    by
        ``team``: one block of buckets per team and one for team ``all``; ``rep``: one
        block per rep (with its team).
    category
        Forecast category to judge (see :func:`forecast_errors`).

    Returns
    -------
    pandas.DataFrame
        ``team`` (and ``rep_id`` when ``by="rep"``), ``category``, ``horizon_bucket``,
        ``horizon_min_days``, ``horizon_max_days``, ``horizon_median_days`` (median
        horizon of the bucket's submissions: where to draw it on a days axis), then
        :data:`SUMMARY_COLUMNS`. Every bucket appears for every group (``n = 0`` and NaN
        ratios when empty), in bucket order. Submissions made after their period ended
        (negative horizon) are not in any bucket.

    Raises
    ------
    MissingTableError
        If the dataset has no forecasts table.

    Examples
    --------
    >>> horizon_accuracy(dataset)[["team", "horizon_bucket", "n", "accuracy"]]  # doctest: +SKIP
    """
    if by not in ("team", "rep"):
        raise ValueError(f"by must be 'team' or 'rep', not {by!r}")
    settings = settings or load_settings()
    errors = forecast_errors(dataset, as_of, settings, category=category)
    errors = errors.loc[errors["horizon_bucket"].notna()]
    used = errors["category"].iloc[0] if len(errors) else ("all" if category is None else category)
    buckets = bucket_bounds(settings.horizon_buckets)
    if by == "team":
        keys = ["team"]
        groups = pd.DataFrame({"team": pd.array([*dataset.teams, ALL], dtype="str")})
        errors = pd.concat([errors, errors.assign(team=ALL)], ignore_index=True)
    else:
        keys = ["team", "rep_id"]
        groups = dataset.reps[["team", "rep_id"]].sort_values(keys).reset_index(drop=True).astype("str")
    summary = error_summary(errors, [*keys, "horizon_bucket"], settings.hit_tolerance)
    medians = errors.groupby([*keys, "horizon_bucket"])["horizon_days"].median().rename("horizon_median_days").reset_index()
    frame = groups.merge(buckets, how="cross")
    out = frame.merge(medians, on=[*keys, "horizon_bucket"], how="left").merge(summary, on=[*keys, "horizon_bucket"], how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    out["n_zero_actual"] = out["n_zero_actual"].fillna(0).astype("int64")
    out["forecast"] = out["forecast"].fillna(0.0)
    out["actual"] = out["actual"].fillna(0.0)
    out.insert(len(keys), "category", used)
    out = out.astype({"category": "str", "horizon_median_days": "float64"})
    return out.reset_index(drop=True)
