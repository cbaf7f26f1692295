"""Metric relevance: which activity counts and competency ratios predict next period's result.

Principle 2 of the article: measure what pertains to results. For every metric, per rep
per period (week or month), this module measures how well the metric ranks the reps'
won revenue in the *next* period: Spearman's rank correlation across rep-periods, with a
cluster-bootstrap interval that resamples whole reps. A metric whose interval includes
0 is labelled ``activity_only``: on this data it does not tell better results from worse
ones. It also prepares the per-rep points and OLS trend bands of the metric-vs-result
scatter plots (:mod:`salesx2lib.charts.competency` draws them).

The metrics are whatever the counts allow: without an activity log (counts with only the
opportunity columns) they are ``opportunities``, ``win_rate`` and ``avg_deal_size``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from salesx2lib.competency import ACTIVITY_COUNT_COLUMNS, FUNNEL_METRICS, deal_size, funnel
from salesx2lib.rollup import next_period, period_start
from salesx2lib.stats import rank_correlation

__all__ = [
    "COUNT_METRICS",
    "LABELS",
    "metric_vs_result",
    "relevance",
    "rep_period_metrics",
    "trend",
]

Freq = Literal["day", "week", "month"]

#: Counts treated as activity metrics (volumes), in this order, when present.
COUNT_METRICS: tuple[str, ...] = (*ACTIVITY_COUNT_COLUMNS.values(), "opportunities")

#: Relevance labels.
LABELS: tuple[str, ...] = ("predicts_results", "activity_only", "insufficient_data")

_RATE_METRICS: tuple[str, ...] = tuple(FUNNEL_METRICS)


def _check_periods(period_counts: pd.DataFrame, freq: Freq) -> None:
    if "period_start" not in period_counts.columns:
        raise ValueError("period_counts has no period_start column: build it with rep_counts(..., freq=...)")
    starts = period_counts["period_start"]
    if not (period_start(starts, freq) == starts.astype("datetime64[us]")).all():
        raise ValueError(f"period_start values are not {freq} starts: pass the freq the counts were built with")


def _wide(period_counts: pd.DataFrame, rates: str) -> pd.DataFrame:
    """One row per rep-period (and per rep if no periods): every metric as a column."""
    keys = ["rep_id", "team"] + (["period_start"] if "period_start" in period_counts.columns else [])
    wide = period_counts[keys + [c for c in COUNT_METRICS if c in period_counts.columns]]
    f = funnel(period_counts)
    ratios = f.pivot(index=keys, columns="metric", values=rates)
    ratios.columns.name = None
    d = deal_size(period_counts).set_index(keys)
    column = "avg_deal_size" if rates == "rate" else "shrunk_avg_deal_size"
    computable = [m for m in _RATE_METRICS if _has_inputs(period_counts, m)]
    ratios = ratios.reindex(columns=computable).assign(avg_deal_size=d[column])
    return wide.merge(ratios.reset_index(), on=keys, how="left")


def _has_inputs(counts: pd.DataFrame, metric: str) -> bool:
    num, dens = FUNNEL_METRICS[metric]
    return all(c in counts.columns for c in (num, *dens))


def _metric_columns(wide: pd.DataFrame) -> list[str]:
    return [c for c in wide.columns if c in COUNT_METRICS or c in (*_RATE_METRICS, "avg_deal_size")]


def _with_next_result(period_counts: pd.DataFrame, freq: Freq) -> pd.DataFrame:
    """The wide rep-period metrics joined to the rep's ``won_amount`` of the next period."""
    _check_periods(period_counts, freq)
    wide = _wide(period_counts, "rate")
    nxt = period_counts[["rep_id", "period_start", "won_amount"]].rename(
        columns={"period_start": "_next", "won_amount": "result"}
    )
    nxt = nxt.astype({"_next": "datetime64[us]"})
    wide = wide.assign(_next=next_period(wide["period_start"], freq)).merge(nxt, on=["rep_id", "_next"], how="inner")
    return wide.drop(columns="_next")


def _kind(metric: str) -> str:
    return "activity" if metric in COUNT_METRICS else "competency"


def rep_period_metrics(period_counts: pd.DataFrame, freq: Freq = "week") -> pd.DataFrame:
    """Every metric per rep per period, next to the rep's won revenue in the next period.

    ``value`` = the period's count (``dials``, ... , ``opportunities``; kind ``activity``)
    or ratio (``rate`` of :func:`~salesx2lib.competency.funnel`, ``avg_deal_size`` of
    :func:`~salesx2lib.competency.deal_size`; kind ``competency``); ``result`` =
    ``won_amount`` of the same rep in period ``p + 1``.

    A rep-period is left out when its ratio is undefined (no trials in that period) or
    when the rep has no row for the next period (the last period of the range, or after
    the rep's last activity or deal event). Ratios are the raw per-period rates, not the
    shrunk ones: the metric as a manager would read it that week.

    Parameters
    ----------
    period_counts
        :func:`~salesx2lib.competency.rep_counts` with ``freq`` set.
    freq
        The same ``freq`` the counts were built with.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``period_start``, ``metric``, ``kind``, ``value``, ``result``.
    """
    wide = _with_next_result(period_counts, freq)
    metrics = _metric_columns(wide)
    long = wide.melt(
        id_vars=["rep_id", "team", "period_start", "result"], value_vars=metrics, var_name="metric", value_name="value"
    )
    long = long.loc[long["value"].notna()].astype({"metric": "str", "value": "float64"})
    long = long.assign(kind=long["metric"].map(_kind).astype("str"))
    order = {m: i for i, m in enumerate(metrics)}
    long = long.assign(_o=long["metric"].map(order)).sort_values(["_o", "rep_id", "period_start"]).drop(columns="_o")
    return long[["rep_id", "team", "period_start", "metric", "kind", "value", "result"]].reset_index(drop=True)


def relevance(
    period_counts: pd.DataFrame,
    freq: Freq = "week",
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_reps: int = 10,
) -> pd.DataFrame:
    """How well each metric ranks next period's won revenue: Spearman's rho with an interval.

    ``rho = spearman(value[r, p], won_amount[r, p + 1])`` over rep-periods (see
    :func:`rep_period_metrics`); the interval is the cluster bootstrap of
    :func:`salesx2lib.stats.rank_correlation`, resampling reps.

    ``label``: ``predicts_results`` when the interval excludes 0 (either sign: a negative
    rho predicts too, read its sign), ``activity_only`` when it includes 0,
    ``insufficient_data`` when fewer than ``min_reps`` reps contribute or the metric is
    constant (rho undefined). Correlation across rep-periods mixes differences between
    reps with changes over time; a season that lifts every rep's activity and revenue
    together also shows up as correlation. Each metric is judged at 95% on its own: of
    13 metrics that predict nothing, about one in two runs flags one of them.

    Parameters
    ----------
    period_counts
        :func:`~salesx2lib.competency.rep_counts` with ``freq`` set.
    freq
        The period of the counts.
    n_resamples, confidence, seed
        Bootstrap settings; the same seed gives the same intervals.
    min_reps
        Fewest reps a metric needs to be judged. With few clusters the bootstrap interval
        is too narrow: on independent data with 20 periods per rep, a 95% interval excluded
        0 in 9.7% of 300 simulations with 10 reps, 5.3% with 30 and 4.3% with 100.

    Returns
    -------
    pandas.DataFrame
        ``metric``, ``kind`` (activity / competency), ``n_obs``, ``n_reps`` (int64),
        ``rho``, ``ci_low``, ``ci_high`` (float64), ``label``; sorted by ``rho``,
        highest first (undefined last).

    References
    ----------
    C. Spearman (1904); B. Efron and R. Tibshirani (1993); C. A. Field and A. H. Welsh
    (2007), "Bootstrapping clustered data", JRSS B 69(3).
    """
    wide = _with_next_result(period_counts, freq)
    metrics = _metric_columns(wide)
    rows = []
    result = wide["result"].to_numpy(dtype="float64")
    reps = wide["rep_id"].to_numpy()
    for metric in metrics:
        rc = rank_correlation(
            wide[metric].to_numpy(dtype="float64"),
            result,
            reps,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        if not np.isfinite(rc.rho) or rc.n_clusters < min_reps:
            label = "insufficient_data"
        elif rc.ci_low > 0 or rc.ci_high < 0:
            label = "predicts_results"
        else:
            label = "activity_only"
        rows.append((metric, _kind(metric), rc.n_obs, rc.n_clusters, rc.rho, rc.ci_low, rc.ci_high, label))
    out = pd.DataFrame(rows, columns=["metric", "kind", "n_obs", "n_reps", "rho", "ci_low", "ci_high", "label"])
    out = out.astype({"metric": "str", "kind": "str", "label": "str", "n_obs": "int64", "n_reps": "int64",
                      "rho": "float64", "ci_low": "float64", "ci_high": "float64"})
    return out.sort_values("rho", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def metric_vs_result(counts: pd.DataFrame) -> pd.DataFrame:
    """Per-rep points for the metric-vs-result scatter plots (one range, no periods).

    ``value`` = the rep's count over the range (kind ``activity``), or its shrunk rate /
    shrunk average deal size (kind ``competency``; shrunk so a rep with 3 conversations
    does not sit at 0% or 100%); ``result`` = the rep's ``won_amount`` over the same range.
    ``win_rate`` and ``avg_deal_size`` are built from the same won deals as the result,
    so part of their link to it is arithmetic, not prediction: use :func:`relevance`
    for that.

    Parameters
    ----------
    counts
        :func:`~salesx2lib.competency.rep_counts` without ``freq``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``metric``, ``kind``, ``value``, ``result``; one row per rep
        per metric (a rep without won deals in a team without any has no deal-size row).
    """
    if "period_start" in counts.columns:
        raise ValueError("metric_vs_result takes counts over one range: build them without freq")
    wide = _wide(counts, "shrunk_rate").merge(counts[["rep_id", "won_amount"]], on="rep_id")
    metrics = _metric_columns(wide)
    long = wide.melt(
        id_vars=["rep_id", "team", "won_amount"], value_vars=metrics, var_name="metric", value_name="value"
    )
    long = long.loc[long["value"].notna()].rename(columns={"won_amount": "result"})
    long = long.astype({"metric": "str", "value": "float64", "result": "float64"})
    long = long.assign(kind=long["metric"].map(_kind).astype("str"))
    return long[["rep_id", "team", "metric", "kind", "value", "result"]].reset_index(drop=True)


def trend(points: pd.DataFrame, confidence: float = 0.95, n_grid: int = 50) -> pd.DataFrame:
    """Least-squares trend line of ``result`` on ``value`` per metric, with its interval.

    ``fit = b0 + b1 * value`` (OLS), ``ci_low``/``ci_high`` = the confidence interval of the
    mean result at that value (statsmodels ``get_prediction``), on ``n_grid`` points
    spanning the observed values. A metric with fewer than 3 points or a constant value
    has no trend rows.

    Parameters
    ----------
    points
        :func:`metric_vs_result` (or any frame with ``metric``, ``value``, ``result``).

    Returns
    -------
    pandas.DataFrame
        ``metric``, ``value``, ``fit``, ``ci_low``, ``ci_high``, ``slope``.
    """
    frames = []
    for metric, g in points.groupby("metric", sort=False):
        x = g["value"].to_numpy(dtype="float64")
        y = g["result"].to_numpy(dtype="float64")
        if len(x) < 3 or np.ptp(x) == 0:
            continue
        fit = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
        grid = np.linspace(x.min(), x.max(), n_grid)
        pred = fit.get_prediction(sm.add_constant(grid, has_constant="add")).summary_frame(alpha=1 - confidence)
        frames.append(
            pd.DataFrame(
                {
                    "metric": metric,
                    "value": grid,
                    "fit": pred["mean"].to_numpy(),
                    "ci_low": pred["mean_ci_lower"].to_numpy(),
                    "ci_high": pred["mean_ci_upper"].to_numpy(),
                    "slope": float(fit.params[1]),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "metric": pd.Series(dtype="str"),
                **{c: pd.Series(dtype="float64") for c in ("value", "fit", "ci_low", "ci_high", "slope")},
            }
        )
    return pd.concat(frames, ignore_index=True).astype({"metric": "str"})
