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

Two things a bare accuracy cannot say, :func:`horizon_accuracy` adds per bucket:

- **A naive baseline.** Each judged submission gets the *run-rate* the rep could have
  written without thinking: ``run_rate = won(rep, (submitted_at - L, submitted_at]) x
  period_days / L`` with ``L = run_rate_days`` (91) and ``period_days = period_end -
  period_start + 1``, i.e. the won revenue known at submission, scaled to the period. It is
  scored with the same formulas (``run_rate_bias``, ``run_rate_wape``, ...), so a reader
  sees where the reps' commits beat a run-rate (within the cycle) and where they do not.
- **Intervals that respect the data's grain.** A rep submits several forecasts for the
  same period (the same actual, the same knowledge): they are not independent. The hit
  rate's and WAPE's 95% intervals are percentile intervals of a cluster bootstrap that
  resamples whole rep-periods (``cluster="rep_period"``, the default) or whole reps
  (``cluster="rep"``), never single submissions (:func:`cluster_intervals`).

Vendors compute "forecast accuracy" differently (Gong shows F/A, HubSpot
``max(0, 1 - |A - F| / A)``), which is why every output carries its formula's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.competency import closed_deals
from salesx2lib.cycle import data_start
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL, resolve_as_of
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import cluster_resample_counts, wilson_interval

__all__ = [
    "BOOTSTRAP_COLUMNS",
    "RUN_RATE_COLUMNS",
    "SUMMARY_COLUMNS",
    "baseline_verdict",
    "bucket_bounds",
    "bucket_labels",
    "cluster_intervals",
    "error_summary",
    "forecast_errors",
    "horizon_accuracy",
    "horizon_bucket",
    "run_rate_baseline",
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

#: Columns :func:`cluster_intervals` adds to its group keys, in order.
BOOTSTRAP_COLUMNS: tuple[str, ...] = (
    "n_clusters",
    "hit_rate_ci_low",
    "hit_rate_ci_high",
    "wape_ci_low",
    "wape_ci_high",
    "run_rate_wape_ci_low",
    "run_rate_wape_ci_high",
    "wape_minus_run_rate_ci_low",
    "wape_minus_run_rate_ci_high",
)

#: The run-rate columns :func:`horizon_accuracy` adds, in order (after the bootstrap ones).
RUN_RATE_COLUMNS: tuple[str, ...] = (
    "n_run_rate",
    "run_rate_forecast",
    "run_rate_bias",
    "run_rate_wape",
    "run_rate_hit_rate",
    "wape_minus_run_rate",
)

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)
_TICK = pd.Timedelta(microseconds=1)  # the timestamps' resolution: turns [s, e) into (s, e]
#: The cluster keys of each ``cluster`` choice of :func:`cluster_intervals`.
_CLUSTER_KEYS: dict[str, tuple[str, ...]] = {
    "rep_period": ("rep_id", "period_start", "period_end"),
    "rep": ("rep_id",),
}


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


def run_rate_baseline(
    opportunities: pd.DataFrame,
    rep_ids: Sequence[str] | pd.Series,
    at: Sequence[pd.Timestamp] | pd.Series,
    period_days: Sequence[float] | pd.Series | np.ndarray,
    lookback_days: int = 91,
    *,
    start: pd.Timestamp | None = None,
    min_days: float = 28.0,
) -> np.ndarray:
    """The naive run-rate forecast a rep could write at ``at`` for a period of ``period_days``.

    ``run_rate = won(rep, (lo, at]) x period_days / days(at - lo)`` with
    ``lo = max(at - L, start)`` and ``L = lookback_days``: the won amount with
    ``lo < closed_at <= at`` (what was known at ``at``, nothing after it; a close exactly at
    ``start`` counts), scaled from the observed days to the period's length. Without a
    data start the window is the full ``L`` days. When fewer than ``min_days`` were
    observed (a submission made soon after the data starts) there is no baseline: NaN,
    not a run-rate of zero made from days the data does not hold.

    Parameters
    ----------
    opportunities
        The opportunities table (``rep_id``, ``status``, ``closed_at``, ``amount``).
    rep_ids, at, period_days
        One forecast per position: the rep, the instant it is made, the period's length
        in days.
    lookback_days
        ``L``, the trailing window (91 days: a quarter).
    start
        When the data starts (:func:`salesx2lib.cycle.data_start`); ``None``: no cut.
    min_days
        The fewest observed days a baseline is made from.

    Returns
    -------
    numpy.ndarray
        float64, one value per position (NaN where there is no baseline).

    Examples
    --------
    A rep who won 150 in the 91 days before submitting a 29-day forecast has a run-rate
    of ``150 x 29 / 91 = 47.8``.
    """
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be at least 1, not {lookback_days}")
    t = pd.DatetimeIndex(pd.Series(at)).as_unit("us")
    lo = t - pd.Timedelta(days=lookback_days)
    lo_open = lo  # the window is (lo_open, t]
    if start is not None:
        first = pd.Timestamp(start).as_unit("us")
        cut = lo <= first  # a close exactly at the data start counts, also when it is at - L
        lo = lo.where(~cut, first)
        lo_open = lo.where(~cut, first - _TICK)
    days = np.asarray((t - lo) / _DAY, dtype="float64")
    won = won_amount_between(opportunities, rep_ids, lo_open + _TICK, t + _TICK)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = won * np.asarray(period_days, dtype="float64") / days
    return np.where(days >= min_days, rate, np.nan)


def forecast_errors(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    category: str | None = "commit",
    run_rate_days: int | None = None,
    run_rate_min_days: float = 28.0,
) -> pd.DataFrame:
    """Each judged forecast submission with its horizon, bucket, actual and run-rate baseline.

    ``horizon_days = period_end - date(submitted_at)``; ``actual = won amount of the rep with
    period_start <= date(closed_at) <= period_end``; judged when
    ``period_end + 1 day <= as_of`` and ``submitted_at <= as_of``;
    ``run_rate = won(rep, (lo, submitted_at]) x period_days / days(submitted_at - lo)``,
    ``lo = max(submitted_at - L, data start)`` (:func:`run_rate_baseline`, ``L =
    run_rate_days``, the start from :func:`salesx2lib.cycle.data_start`; NaN with fewer
    than ``run_rate_min_days`` observed).

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
    run_rate_days, run_rate_min_days
        ``L``, the trailing window of the run-rate baseline (default ``[forecast]
        run_rate_days``, 91), and the fewest observed days (after the data's start) it is
        made from.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``submitted_at``, ``period_start``, ``period_end``,
        ``category`` (the filter applied: a category or ``all``), ``horizon_days``
        (int64), ``horizon_bucket`` (str; NA when submitted after the period ended),
        ``forecast``, ``actual``, ``error`` (``F - A``), ``abs_error``, ``run_rate``
        (float64: the naive baseline known at submission; NaN when too little history).

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
    period_days = (out["period_end"] - out["period_start"]) / _DAY + 1.0
    out["run_rate"] = run_rate_baseline(
        dataset.opportunities, out["rep_id"], out["submitted_at"], period_days,
        settings.forecast_run_rate_days if run_rate_days is None else run_rate_days,
        start=data_start(dataset, settings), min_days=run_rate_min_days,
    )
    return out.sort_values(["rep_id", "submitted_at", "period_start"], kind="stable").reset_index(drop=True)


def _hits(f: np.ndarray, a: np.ndarray, tolerance: float) -> np.ndarray:
    """``|F - A| <= tolerance x A`` (the edge counts; a rounding hair is forgiven), NaN-safe."""
    ok = ~np.isnan(f) & ~np.isnan(a)
    with np.errstate(invalid="ignore"):
        return ok & (np.abs(f - a) <= tolerance * a + 1e-9)


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
            "hit": _hits(f, a, tolerance).astype("int64"),
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


def cluster_intervals(
    errors: pd.DataFrame,
    by: Sequence[str],
    tolerance: float,
    *,
    cluster: Literal["rep_period", "rep"] = "rep_period",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Cluster-bootstrap intervals of the hit rate and WAPE, per group.

    Within each group the submissions are grouped in clusters ``c`` (a rep-period: same
    ``rep_id``, ``period_start``, ``period_end``; or a rep). Each of ``B = n_resamples``
    resamples draws the group's ``K`` clusters with replacement, ``w_c`` times each, and
    computes::

        hit_rate* = sum_c w_c hits_c / sum_c w_c n_c
        wape*     = sum_c w_c |F - A|_c / sum_c w_c A_c
        run_rate_wape* = sum_c w_c |R - A|_c / sum_c w_c A_c      (over submissions with a run-rate R)
        diff*          = (sum_c w_c |F - A|_c - sum_c w_c |R - A|_c) / sum_c w_c A_c   (same submissions)

    The interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of
    the ``B`` values (percentile bootstrap; resamples whose ``sum A`` is 0, where WAPE is
    undefined, are left out). Submissions of one rep for one period share their actual and
    the rep's knowledge, so resampling them one by one (or a Wilson interval on ``n``
    submissions) pretends to more evidence than there is.

    Parameters
    ----------
    errors
        One row per submission: ``forecast``, ``actual``, the cluster keys, the ``by`` keys
        and optionally ``run_rate`` (then the run-rate intervals are filled).
    by
        Group keys (may be empty: one group).
    tolerance
        Hit tolerance as a share of the actual (``[forecast] hit_tolerance``).
    cluster
        ``rep_period`` (default) or ``rep``.
    n_resamples, confidence, seed
        Bootstrap resamples, two-sided level, NumPy seed (deterministic results).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns then :data:`BOOTSTRAP_COLUMNS`; ``n_clusters`` (int64) is ``K``.
        Groups with fewer than 2 clusters get NaN bounds (one cluster says nothing about
        the spread between clusters).

    References
    ----------
    A. C. Cameron, J. B. Gelbach and D. L. Miller (2008), "Bootstrap-based improvements for
    inference with clustered errors", Review of Economics and Statistics 90(3), 414-427
    (the pairs cluster bootstrap resamples whole clusters).
    """
    if cluster not in _CLUSTER_KEYS:
        raise ValueError(f"cluster must be one of {', '.join(_CLUSTER_KEYS)}, not {cluster!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    keys = list(by)
    cluster_keys = list(_CLUSTER_KEYS[cluster])
    missing = [c for c in ["forecast", "actual", *cluster_keys, *keys] if c not in errors.columns]
    if missing:
        raise ValueError(f"errors is missing column {missing[0]!r}")
    f = errors["forecast"].to_numpy(dtype="float64", na_value=np.nan)
    a = errors["actual"].to_numpy(dtype="float64", na_value=np.nan)
    has_rr = "run_rate" in errors.columns
    r = errors["run_rate"].to_numpy(dtype="float64", na_value=np.nan) if has_rr else np.full(len(errors), np.nan)
    ok = ~np.isnan(f) & ~np.isnan(a)
    paired = ok & ~np.isnan(r)
    cols = ["n", "hit", "abs_err", "actual", "p_abs_err", "p_rr_abs_err", "p_actual"]
    parts = pd.DataFrame(
        {
            "n": ok.astype("float64"),
            "hit": _hits(f, a, tolerance).astype("float64"),
            "abs_err": np.where(ok, np.abs(f - a), 0.0),
            "actual": np.where(ok, a, 0.0),
            # the run-rate comparison: only submissions that have a baseline (paired)
            "p_abs_err": np.where(paired, np.abs(f - a), 0.0),
            "p_rr_abs_err": np.where(paired, np.abs(r - a), 0.0),
            "p_actual": np.where(paired, a, 0.0),
        },
        index=errors.index,
    )
    for k in [*keys, *cluster_keys]:
        parts[k] = errors[k].to_numpy()
    parts = parts.loc[ok]
    per_cluster = parts.groupby([*keys, *cluster_keys], sort=True, dropna=False)[cols].sum()
    q = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
    rows: list[dict[str, object]] = []
    grouped = per_cluster.groupby(level=list(range(len(keys))), sort=True, dropna=False) if keys else [((), per_cluster)]
    for key, block in grouped:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(keys, key, strict=True))
        k_clusters = len(block)
        row["n_clusters"] = k_clusters
        bounds = dict.fromkeys(BOOTSTRAP_COLUMNS[1:], np.nan)
        if k_clusters >= 2:
            w = cluster_resample_counts(k_clusters, n_resamples, seed)
            n, hit, abs_err, actual, p_abs, p_rr, p_act = (w @ block.to_numpy(dtype="float64")).T
            with np.errstate(divide="ignore", invalid="ignore"):
                stats = {
                    "hit_rate": hit / n,
                    "wape": np.where(actual > 0, abs_err / actual, np.nan),
                    "run_rate_wape": np.where(p_act > 0, p_rr / p_act, np.nan),
                    "wape_minus_run_rate": np.where(p_act > 0, (p_abs - p_rr) / p_act, np.nan),
                }
            for name, values in stats.items():
                kept = values[~np.isnan(values)]
                if len(kept):
                    lo, hi = np.quantile(kept, q)
                    bounds[f"{name}_ci_low"], bounds[f"{name}_ci_high"] = float(lo), float(hi)
        row.update(bounds)
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*keys, *BOOTSTRAP_COLUMNS])
    out = out.astype({"n_clusters": "int64", **dict.fromkeys(BOOTSTRAP_COLUMNS[1:], "float64")})
    return out


def horizon_accuracy(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    by: Literal["team", "rep"] = "team",
    category: str | None = "commit",
    run_rate_days: int | None = None,
    run_rate_min_days: float = 28.0,
    cluster: Literal["rep_period", "rep"] = "rep_period",
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Forecast accuracy per horizon bucket, per team (plus ``all``) or per rep, with a baseline.

    Per group and bucket, over the judged submissions of :func:`forecast_errors`:
    ``bias = sum(F-A)/sum(A)``, ``wape = sum|F-A|/sum(A)``, ``accuracy = 1 - wape``,
    ``hit_rate = mean(|F-A| <= tol*A)``, ``mape`` over ``A > 0`` (``n_zero_actual`` skipped).
    The same formulas with ``F = run_rate`` (:func:`run_rate_baseline`: ``won(rep, (lo,
    submitted_at]) x period_days / days(submitted_at - lo)``, ``lo = max(submitted_at - L,
    data start)``) over the ``n_run_rate`` submissions that have one give
    ``run_rate_bias``, ``run_rate_wape``, ``run_rate_hit_rate``; ``wape_minus_run_rate =
    (sum|F-A| - sum|R-A|) / sum(A)`` over those same submissions.
    The 95% intervals of ``hit_rate``, ``wape``, ``run_rate_wape`` and ``wape -
    run_rate_wape`` come from :func:`cluster_intervals` (whole rep-periods or reps
    resampled, not submissions).

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
    run_rate_days, run_rate_min_days
        ``L``, the run-rate baseline's trailing window (91 days), and the fewest days of
        data (after its start) a baseline is made from (28).
    cluster, n_resamples, seed
        The bootstrap's cluster (``rep_period`` or ``rep``; with ``by="rep"`` a rep is one
        cluster, so use ``rep_period``), resamples and seed.

    Returns
    -------
    pandas.DataFrame
        ``team`` (and ``rep_id`` when ``by="rep"``), ``category``, ``horizon_bucket``,
        ``horizon_min_days``, ``horizon_max_days``, ``horizon_median_days`` (median
        horizon of the bucket's submissions: where to draw it on a days axis), then
        :data:`SUMMARY_COLUMNS` (``hit_rate_ci_low/high`` being the cluster-bootstrap
        interval), then ``n_clusters``, ``wape_ci_low``, ``wape_ci_high``, the
        run-rate columns (``n_run_rate``, ``run_rate_forecast`` = sum of the baselines,
        ``run_rate_bias``, ``run_rate_wape``, ``run_rate_hit_rate``,
        ``wape_minus_run_rate``, ``run_rate_wape_ci_low/high``) and
        ``wape_minus_run_rate_ci_low/high`` (above 0: the submissions are worse than the
        run-rate). Every bucket appears for every group (``n = 0`` and NaN ratios when
        empty), in bucket order. Submissions made after their period ended (negative
        horizon) are not in any bucket.

    Raises
    ------
    MissingTableError
        If the dataset has no forecasts table.

    Examples
    --------
    >>> horizon_accuracy(dataset)[["team", "horizon_bucket", "n", "wape", "run_rate_wape"]]  # doctest: +SKIP
    """
    if by not in ("team", "rep"):
        raise ValueError(f"by must be 'team' or 'rep', not {by!r}")
    if by == "rep" and cluster == "rep":
        raise ValueError("with by='rep' every group is one rep, so one cluster: use cluster='rep_period'")
    settings = settings or load_settings()
    errors = forecast_errors(
        dataset, as_of, settings, category=category, run_rate_days=run_rate_days, run_rate_min_days=run_rate_min_days
    )
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
    group_keys = [*keys, "horizon_bucket"]
    summary = error_summary(errors, group_keys, settings.hit_tolerance)
    summary = summary.drop(columns=["hit_rate_ci_low", "hit_rate_ci_high"])
    paired = errors.loc[errors["run_rate"].notna()]
    baseline = error_summary(paired.assign(forecast=paired["run_rate"]), group_keys, settings.hit_tolerance)
    baseline = baseline[[*group_keys, "n", "forecast", "bias", "wape", "hit_rate"]].rename(
        columns={"n": "n_run_rate", "forecast": "run_rate_forecast", "bias": "run_rate_bias", "wape": "run_rate_wape",
                 "hit_rate": "run_rate_hit_rate"}
    )
    same = error_summary(paired, group_keys, settings.hit_tolerance)[[*group_keys, "wape"]]
    baseline = baseline.merge(same, on=group_keys, how="left")
    baseline["wape_minus_run_rate"] = baseline["wape"] - baseline["run_rate_wape"]
    baseline = baseline.drop(columns="wape")
    boot = cluster_intervals(errors, group_keys, settings.hit_tolerance, cluster=cluster, n_resamples=n_resamples, seed=seed)
    medians = errors.groupby(group_keys)["horizon_days"].median().rename("horizon_median_days").reset_index()
    frame = groups.merge(buckets, how="cross")
    out = frame.merge(medians, on=group_keys, how="left")
    for part in (summary, baseline, boot):
        out = out.merge(part, on=group_keys, how="left")
    for col in ("n", "n_zero_actual", "n_clusters", "n_run_rate"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("forecast", "actual", "run_rate_forecast"):
        out[col] = out[col].fillna(0.0)
    out.insert(len(keys), "category", used)
    out = out.astype({"category": "str", "horizon_median_days": "float64"})
    head = [*keys, "category", "horizon_bucket", "horizon_min_days", "horizon_max_days", "horizon_median_days"]
    tail = [
        "n_clusters", "wape_ci_low", "wape_ci_high", *RUN_RATE_COLUMNS, "run_rate_wape_ci_low", "run_rate_wape_ci_high",
        "wape_minus_run_rate_ci_low", "wape_minus_run_rate_ci_high",
    ]
    return out[[*head, *SUMMARY_COLUMNS, *tail]].reset_index(drop=True)


def baseline_verdict(horizon: pd.DataFrame, cycle_days: float | None = None) -> str:
    """One sentence per reading of :func:`horizon_accuracy` rows against the run-rate.

    A bucket's forecasts *beat* the run-rate when the 95% interval of
    ``wape_minus_run_rate`` lies below 0, are *worse* when it lies above 0, and are *no
    different* when it contains 0 (or is unknown with fewer than two rep-periods).

    Parameters
    ----------
    horizon
        The rows of one team (each bucket once), with ``horizon_bucket``, ``n``,
        ``wape_minus_run_rate_ci_low`` and ``wape_minus_run_rate_ci_high``.
    cycle_days
        The measured sales cycle, quoted at the end when given.

    Returns
    -------
    str
        Markdown, e.g. "The submitted forecasts beat the run-rate at 0-30 days; are no
        different from it at 31-60 days; are worse than it at 61-90 and 91+ days."
    """
    rows = horizon.loc[horizon["n"] > 0]
    if rows.empty:
        return "No submission has been judged yet: no period is over."
    lo = rows["wape_minus_run_rate_ci_low"].to_numpy(dtype="float64", na_value=np.nan)
    hi = rows["wape_minus_run_rate_ci_high"].to_numpy(dtype="float64", na_value=np.nan)
    verdict = np.select([hi < 0, lo > 0], ["**beat** the run-rate", "are **worse** than the run-rate"], "are **no different** from the run-rate")
    parts = []
    for text in dict.fromkeys(verdict):  # in bucket order, each verdict once
        buckets = rows["horizon_bucket"].to_numpy()[verdict == text]
        listed = ", ".join(buckets[:-1]) + (" and " if len(buckets) > 1 else "") + buckets[-1]
        parts.append(f"{text} at {listed} days")
    sentence = "The submitted forecasts " + "; ".join(parts) + " (95% intervals over rep-periods)"
    if cycle_days is not None and pd.notna(cycle_days):
        sentence += f"; the measured cycle is {cycle_days:.0f} days"
    return sentence + "."
