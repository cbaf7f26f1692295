"""Metric relevance: which task counts and competency ratios predict the next sales cycle's revenue.

Principle 2 of the article: measure what pertains to results. For every metric this
module asks: *among reps looked at on the same date, do the reps who score higher on the
metric over the weeks before that date win more over the sales cycle after it?*

The design, and why (the method page is ``docs/metrics-competency.md``, section 3):

* **Windows of one sales cycle, not the next period.** On each as-of date ``t`` (every
  period start with enough data on both sides) a metric is measured over the ``lookback``
  periods before ``t`` and related to the won revenue of the ``horizon`` periods from ``t``
  on. The horizon is the measured sales cycle (the Kaplan-Meier median of
  :mod:`salesx2lib.cycle`, rounded up to whole periods): a dial made this week shows up as
  revenue about one cycle later, so comparing it with next week's revenue mostly measures
  deals that were already in the pipeline. Ratios over a cycle also rest on more trials.
* **Reps compared within each as-of date** (period fixed effects on ranks). Quarter ends,
  August and the holidays move every rep's activity *and* revenue together; pooled over
  rep-periods that common movement looks like prediction, and on the project's sample it
  made business cards "predict" revenue. Ranking the reps *within* each as-of date takes
  every common shock out: what is left is "a rep ranked higher on the metric than the
  other reps that week, and then higher on revenue". ``within="period_and_rep"`` also
  takes out each rep's own average (two-way fixed effects on the ranks), so only a rep's
  changes against their own usual count: a stricter test, blind to stable differences
  between reps (a competency that never changes cannot be seen by it). The rep's average
  is taken over as-of dates ``lookback + horizon`` periods apart, whose windows never
  overlap: averaging over overlapping windows puts the same won deals in one date's
  lookback and another date's horizon, and made ``win_rate`` "significant" in 35% of
  simulated floors where nothing predicts (the bias of fixed effects with lagged
  outcomes, Nickell 1981); with the phase-wise average it is 4%.
* **Inference by rep.** The windows of consecutive as-of dates overlap and a rep's weeks
  resemble each other, so the rep is the unit of independent information. The p-value
  comes from a sign-flip randomization test over reps (each rep's contribution to the
  correlation keeps or flips its sign at random: the wild cluster bootstrap with the null
  imposed and Rademacher weights), the interval from a cluster (pairs) bootstrap that
  resamples whole reps.
* **Many metrics at once.** Thirteen metrics tested at 5% each would flag one of them
  in about half of all data sets where nothing predicts; the p-values are adjusted for
  multiplicity (Holm's step-down by default, which keeps the chance of *any* false
  ``predicts_results`` at most ``alpha``; Benjamini-Hochberg on request) and the label
  reads the adjusted p-value.

Labels: ``predicts_results`` (adjusted p at most ``alpha``; read the sign of ``rho``),
``not_predictive`` (not shown to predict on this data) and ``insufficient_data`` (fewer
than ``min_reps`` reps, or a metric that does not vary). ``kind`` is ``task`` for the
counts (volume: what the rep did) and ``competency`` for the ratios and the average deal
size (how well the rep does a step).

It also prepares the per-rep points and OLS trend bands of the metric-vs-result
scatter plots (:mod:`salesx2lib.charts.competency` draws them). The metrics are whatever
the counts allow: without an activity log (counts with only the opportunity columns)
they are ``opportunities``, ``win_rate`` and ``avg_deal_size``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from salesx2lib import cycle
from salesx2lib.competency import ACTIVITY_COUNT_COLUMNS, FUNNEL_METRICS, deal_size, funnel, rep_counts
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL
from salesx2lib.rollup import period_start
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import cluster_resample_counts, z_score

__all__ = [
    "ADJUSTMENTS",
    "COUNT_METRICS",
    "KINDS",
    "LABELS",
    "RELEVANCE_COLUMNS",
    "WITHIN",
    "adjust_p_values",
    "metric_vs_result",
    "periods_for_days",
    "relevance",
    "relevance_table",
    "rep_period_metrics",
    "trend",
    "window_counts",
    "windows",
    "within_scores",
]

Freq = Literal["day", "week", "month"]
Within = Literal["period", "period_and_rep"]
Adjust = Literal["holm", "fdr_bh"]

#: Counts treated as task metrics (volumes), in this order, when present.
COUNT_METRICS: tuple[str, ...] = (*ACTIVITY_COUNT_COLUMNS.values(), "opportunities")

#: Relevance labels.
LABELS: tuple[str, ...] = ("predicts_results", "not_predictive", "insufficient_data")

#: Values of ``kind``: counts are tasks, ratios and the average deal size competencies.
KINDS: tuple[str, ...] = ("task", "competency")

#: What reps are compared within: each as-of period, or each period and each rep.
WITHIN: tuple[str, ...] = ("period", "period_and_rep")

#: Multiplicity adjustments: Holm (family-wise error) or Benjamini-Hochberg (false discovery rate).
ADJUSTMENTS: tuple[str, ...] = ("holm", "fdr_bh")

#: Columns of :func:`relevance`, in order.
RELEVANCE_COLUMNS: tuple[str, ...] = (
    "metric", "kind", "n_obs", "n_reps", "n_periods", "rho", "ci_low", "ci_high",
    "p_value", "p_adjusted", "label", "lookback", "horizon",
)

#: Days per period, to turn a cycle in days into whole periods.
_PERIOD_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
#: Fewest reps an as-of period needs for its ranks to count.
_MIN_REPS_PER_PERIOD = 3

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


def _kind(metric: str) -> str:
    return "task" if metric in COUNT_METRICS else "competency"


def periods_for_days(days: float, freq: Freq) -> int:
    """Whole periods covering ``days``: ``ceil(days / period_days)``, at least 1.

    ``period_days`` is 1 (day), 7 (week) or 365.25 / 12 (month): a 31-day cycle is 5 weeks
    or 2 months.
    """
    if freq not in _PERIOD_DAYS:
        raise ValueError(f"freq must be one of {', '.join(_PERIOD_DAYS)}, not {freq!r}")
    if not (days > 0 and math.isfinite(days)):
        raise ValueError(f"days must be a positive number, not {days!r}")
    return max(1, math.ceil(days / _PERIOD_DAYS[freq] - 1e-9))


def windows(
    dataset: Dataset,
    freq: Freq = "week",
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
) -> tuple[int, int]:
    """The ``(lookback, horizon)`` of :func:`relevance` in periods, from the settings and the data.

    ``horizon = periods_for_days(H)`` with ``H = [relevance] horizon_days``, or, when that
    is 0, the Kaplan-Meier median sales cycle of all the dataset's deals as of ``as_of``
    (:func:`salesx2lib.cycle.sales_cycle`, team ``all``); ``lookback`` likewise from
    ``[relevance] lookback_days``, or equal to ``horizon`` when that is 0.

    Raises
    ------
    ValueError
        If the cycle is needed but the median cannot be measured (no deals, or more than
        half of them still open): set ``horizon_days`` then.
    """
    settings = settings or load_settings()
    days = float(settings.relevance_horizon_days)
    if days <= 0:
        table = cycle.sales_cycle(dataset, as_of, settings=settings)
        days = float(table.loc[table["team"] == ALL, "km_median_days"].iloc[0])
        if not np.isfinite(days) or days <= 0:
            raise ValueError(
                "the sales cycle cannot be measured on this data (no decided deals, or more than half still "
                "open): set [relevance] horizon_days in the settings"
            )
    horizon = periods_for_days(days, freq)
    lookback_days = float(settings.relevance_lookback_days)
    lookback = periods_for_days(lookback_days, freq) if lookback_days > 0 else horizon
    return lookback, horizon


def _period_index(starts: pd.Series, freq: Freq) -> pd.DatetimeIndex:
    step = {"day": "D", "week": "7D", "month": "MS"}[freq]
    return pd.date_range(starts.min(), starts.max(), freq=step, unit="us")


def window_counts(period_counts: pd.DataFrame, freq: Freq, *, lookback: int, horizon: int) -> pd.DataFrame:
    """Each rep's counts over the ``lookback`` periods before each as-of date, and its won revenue after.

    For an as-of period ``t`` (a period start): every count column ``c`` becomes
    ``sum(c[r, p] for p in [t - lookback, t))`` and ``result = sum(won_amount[r, p] for p in
    [t, t + horizon))``. A rep gets a row for ``t`` only when every period of both windows
    is one of its rows in ``period_counts`` (:func:`~salesx2lib.competency.rep_counts` has
    a row for each period from the rep's first to last event; an idle period in between
    is a row of zeros), so a new hire is never compared on the weeks before the hire, and
    no window reaches past the end of the counts.

    Parameters
    ----------
    period_counts
        :func:`~salesx2lib.competency.rep_counts` with ``freq`` set.
    freq
        The same ``freq`` the counts were built with.
    lookback, horizon
        Window lengths in periods (at least 1).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``as_of`` (datetime64[us]), the count columns of
        ``period_counts`` summed over the lookback (same dtypes), ``result`` (float64).
        Sorted by rep and as-of date.
    """
    _check_periods(period_counts, freq)
    if int(lookback) < 1 or int(horizon) < 1:
        raise ValueError(f"lookback and horizon must be at least 1 period, not {lookback!r} and {horizon!r}")
    lookback, horizon = int(lookback), int(horizon)
    counts = [c for c in period_counts.columns if c not in ("rep_id", "team", "period_start")]
    empty = {"rep_id": pd.Series(dtype="str"), "team": pd.Series(dtype="str"),
             "as_of": pd.Series(dtype="datetime64[us]")}
    if period_counts.empty:
        return pd.DataFrame({**empty, **{c: pd.Series(dtype=period_counts[c].dtype) for c in counts},
                             "result": pd.Series(dtype="float64")})
    starts = period_counts["period_start"].astype("datetime64[us]")
    grid = _period_index(starts, freq)
    p = grid.get_indexer(starts)
    reps, r = np.unique(period_counts["rep_id"].to_numpy(dtype="str"), return_inverse=True)
    n_reps, n_periods = len(reps), len(grid)
    values = np.zeros((n_reps, n_periods, len(counts)))
    values[r, p] = period_counts[counts].to_numpy(dtype="float64")
    present = np.zeros((n_reps, n_periods))
    present[r, p] = 1.0
    # cumulative sums with a leading 0: sum over [a, b) = cum[:, b] - cum[:, a]
    cum = np.concatenate([np.zeros((n_reps, 1, len(counts))), np.cumsum(values, axis=1)], axis=1)
    cum_present = np.concatenate([np.zeros((n_reps, 1)), np.cumsum(present, axis=1)], axis=1)
    t = np.arange(lookback, n_periods - horizon + 1)
    if t.size == 0:
        return window_counts(period_counts.iloc[0:0], freq, lookback=lookback, horizon=horizon)
    before = cum[:, t] - cum[:, t - lookback]
    won = counts.index("won_amount")
    after = cum[:, t + horizon, won] - cum[:, t, won]
    ok = (cum_present[:, t] - cum_present[:, t - lookback] == lookback) & (
        cum_present[:, t + horizon] - cum_present[:, t] == horizon
    )
    ri, ti = np.nonzero(ok)
    teams = period_counts.drop_duplicates("rep_id").set_index("rep_id")["team"]
    out = pd.DataFrame({"rep_id": reps[ri], "team": teams.reindex(reps[ri]).to_numpy(), "as_of": grid[t[ti]]})
    sums = pd.DataFrame(before[ri, ti], columns=counts).round(6)
    out = pd.concat([out, sums], axis=1).assign(result=after[ri, ti])
    dtypes = {c: period_counts[c].dtype for c in counts}
    return out.astype({"rep_id": "str", "team": "str", "as_of": "datetime64[us]", **dtypes, "result": "float64"})


def _window_wide(period_counts: pd.DataFrame, freq: Freq, lookback: int, horizon: int) -> pd.DataFrame:
    """Every metric over the lookback of each rep and as-of date, next to the result after it."""
    w = window_counts(period_counts, freq, lookback=lookback, horizon=horizon)
    as_counts = w.drop(columns="result").rename(columns={"as_of": "period_start"})
    wide = _wide(as_counts, "rate").merge(
        w[["rep_id", "as_of", "result"]].rename(columns={"as_of": "period_start"}), on=["rep_id", "period_start"]
    )
    return wide.rename(columns={"period_start": "as_of"})


def rep_period_metrics(
    period_counts: pd.DataFrame, freq: Freq = "week", *, horizon: int, lookback: int | None = None
) -> pd.DataFrame:
    """Every metric per rep per as-of date, next to the rep's won revenue over the horizon after it.

    ``value`` = the metric over the ``lookback`` periods before ``as_of``: the count
    (``dials``, ..., ``opportunities``; kind ``task``) or the ratio of the summed counts
    (``rate`` of :func:`~salesx2lib.competency.funnel`, ``avg_deal_size`` of
    :func:`~salesx2lib.competency.deal_size`; kind ``competency``); ``result`` =
    ``won_amount`` of the same rep over the ``horizon`` periods from ``as_of`` on (see
    :func:`window_counts` for which rep and date get a pair). A pair whose ratio is
    undefined (no trials in the lookback) is left out. Ratios are raw, not shrunk: the
    metric as a manager would read it on that date.

    Parameters
    ----------
    period_counts
        :func:`~salesx2lib.competency.rep_counts` with ``freq`` set.
    freq
        The same ``freq`` the counts were built with.
    horizon, lookback
        Window lengths in periods; ``lookback`` defaults to ``horizon``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``as_of``, ``metric``, ``kind``, ``value``, ``result``.
    """
    wide = _window_wide(period_counts, freq, horizon if lookback is None else lookback, horizon)
    metrics = _metric_columns(wide)
    long = wide.melt(
        id_vars=["rep_id", "team", "as_of", "result"], value_vars=metrics, var_name="metric", value_name="value"
    )
    long = long.loc[long["value"].notna()].astype({"metric": "str", "value": "float64"})
    long = long.assign(kind=long["metric"].map(_kind).astype("str"))
    order = {m: i for i, m in enumerate(metrics)}
    long = long.assign(_o=long["metric"].map(order)).sort_values(["_o", "rep_id", "as_of"]).drop(columns="_o")
    return long[["rep_id", "team", "as_of", "metric", "kind", "value", "result"]].reset_index(drop=True)


def _demean(values: np.ndarray, groups: list[np.ndarray], tol: float = 1e-12) -> np.ndarray:
    """Subtract group means, alternating over the groupings until every group mean is 0.

    The alternating projections of the two-way within transformation (von Neumann; the
    method of ``reghdfe`` and ``fixest``); groups are integer codes 0..k-1.
    """
    out = values.copy()
    sizes = [np.maximum(np.bincount(g), 1) for g in groups]
    for _ in range(1000):
        for g, size in zip(groups, sizes, strict=True):
            out = out - (np.bincount(g, out, minlength=len(size)) / size)[g]
        worst = max(
            np.abs(np.bincount(g, out, minlength=len(size)) / size).max()
            for g, size in zip(groups, sizes, strict=True)
        )
        if worst < tol:
            break
    return out


def _ranks_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Mid-ranks (1..n_g, ties share their average rank) of ``values`` within each group."""
    n = len(values)
    if n == 0:
        return np.zeros(0)
    order = np.lexsort((values, groups))
    sv, sg = values[order], groups[order]
    new_group = np.r_[True, sg[1:] != sg[:-1]]
    new_run = new_group | np.r_[True, sv[1:] != sv[:-1]]
    position = np.arange(n) - np.maximum.accumulate(np.where(new_group, np.arange(n), 0)) + 1.0
    run = np.cumsum(new_run) - 1
    mid = np.bincount(run, position) / np.bincount(run)
    ranks = np.empty(n)
    ranks[order] = mid[run]
    return ranks


def within_scores(
    x: np.ndarray,
    y: np.ndarray,
    period: np.ndarray,
    rep: np.ndarray,
    within: Within = "period",
    gap: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank scores of ``x`` and ``y`` within each period, centred (and centred per rep too).

    Within each period ``t`` with ``n_t >= 3`` pairs: ``score = (rank - (n_t + 1) / 2) / n_t``
    (mid-ranks for ties), so each period's scores lie in (-1/2, 1/2) and sum to 0;
    periods with fewer pairs are left out. With ``within="period_and_rep"`` the scores are
    then demeaned per (rep, phase) and per period, alternately, until both sets of means
    are 0 (the two-way within transformation), where ``phase = period mod gap``: a rep's
    average is taken over periods ``gap`` apart, so with ``gap = lookback + horizon`` no
    two windows averaged together overlap.

    Parameters
    ----------
    x, y
        One value per pair (NaN: left out).
    period, rep
        Integer codes (0..k-1) of each pair's as-of period and rep.
    within
        ``period`` or ``period_and_rep``.
    gap
        Periods between the dates of one rep averaged together (``period_and_rep`` only).

    Returns
    -------
    tuple of numpy.ndarray
        ``(x_score, y_score, keep)``: the scores of the kept pairs and the boolean mask of
        the input pairs kept.
    """
    if within not in WITHIN:
        raise ValueError(f"within must be one of {', '.join(WITHIN)}, not {within!r}")
    keep = np.isfinite(x) & np.isfinite(y)
    size = np.bincount(period[keep], minlength=int(period.max()) + 1 if len(period) else 0)
    keep &= size[period] >= _MIN_REPS_PER_PERIOD
    p = period[keep]
    n = size[p].astype("float64")
    scores = [(_ranks_within(v[keep], p) - (n + 1.0) / 2.0) / n for v in (x, y)]
    if within == "period_and_rep" and len(p):
        rep_phase = pd.factorize(pd.MultiIndex.from_arrays([rep[keep], p % gap]))[0]
        scores = [_demean(v, [rep_phase, pd.factorize(p)[0]]) for v in scores]
    return scores[0], scores[1], keep


def adjust_p_values(p_values: np.ndarray, method: Adjust = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values of one family of tests.

    With the ``m`` p-values sorted, ``p_(1) <= ... <= p_(m)``:

    * ``holm``: ``adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` (Holm 1979): rejecting
      every adjusted p at most ``alpha`` keeps the chance of any false rejection at most
      ``alpha``, whatever the dependence between the tests.
    * ``fdr_bh``: ``adj_(i) = min_{j >= i} min(1, m p_(j) / j)`` (Benjamini and Hochberg
      1995): keeps the expected share of false rejections among the rejections at most
      ``alpha`` (for independent or positively dependent tests).

    Same values as statsmodels ``multipletests(p, method=...)[1]``.
    """
    if method not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {', '.join(ADJUSTMENTS)}, not {method!r}")
    p = np.asarray(p_values, dtype="float64")
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    j = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - j + 1) * ranked))
    else:
        adj = np.minimum.accumulate(np.minimum(1.0, m * ranked / j)[::-1])[::-1]
    out = np.empty(m)
    out[order] = adj
    return out


def _infer(
    sx: np.ndarray, sy: np.ndarray, rep: np.ndarray, n_clusters: int, resamples: np.ndarray, signs: np.ndarray,
    confidence: float,
) -> tuple[float, float, float, float]:
    """rho, bootstrap interval and sign-flip p-value of two within scores, reps as clusters."""
    sxy = np.bincount(rep, sx * sy, minlength=n_clusters)
    sxx = np.bincount(rep, sx * sx, minlength=n_clusters)
    syy = np.bincount(rep, sy * sy, minlength=n_clusters)
    tiny = 1e-12
    if sxx.sum() <= tiny or syy.sum() <= tiny:
        return np.nan, np.nan, np.nan, np.nan
    rho = float(sxy.sum() / np.sqrt(sxx.sum() * syy.sum()))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (resamples @ sxy) / np.sqrt((resamples @ sxx) * (resamples @ syy))
    tail = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(boot, [tail, 1.0 - tail])
    observed = abs(sxy.sum())
    flipped = np.abs(signs @ sxy)
    p = (1.0 + np.count_nonzero(flipped >= observed * (1.0 - 1e-9))) / (len(signs) + 1.0)
    return rho, float(low), float(high), float(p)


def relevance(
    period_counts: pd.DataFrame,
    freq: Freq = "week",
    *,
    horizon: int,
    lookback: int | None = None,
    within: Within = "period",
    n_resamples: int = 9999,
    confidence: float = 0.95,
    alpha: float = 0.05,
    adjust: Adjust = "holm",
    seed: int = 0,
    min_reps: int = 10,
) -> pd.DataFrame:
    """Which metrics predict the next cycle's won revenue, compared within each as-of date.

    For each metric ``m``, the pairs of :func:`rep_period_metrics` (``x`` = ``m`` over the
    ``lookback`` before as-of date ``t``, ``y`` = won revenue over the ``horizon`` from
    ``t``) become within scores (:func:`within_scores`: ranks within each as-of date,
    centred; also centred per rep when ``within="period_and_rep"``) and

        rho = sum(x~ * y~) / sqrt(sum(x~²) * sum(y~²))

    With ``within="period"`` this is Spearman's rho computed inside each as-of date and
    averaged over the dates (weighted by their spread of ranks).

    * ``p_value``: two-sided sign-flip randomization test over reps. Each rep ``g`` adds
      ``s_g = sum over its dates of x~ * y~``; under "no relation" every ``s_g`` is as
      likely to be negative as positive, so ``p = (1 + #{b : |sum_g w_bg s_g| >= |sum_g
      s_g|}) / (B + 1)`` over ``B = n_resamples`` random sign vectors ``w_b`` (the wild
      cluster bootstrap with the null imposed, Rademacher weights).
    * ``ci_low``, ``ci_high``: percentile interval of rho over ``n_resamples`` cluster
      bootstrap resamples of whole reps (the scores fixed, as in
      :func:`salesx2lib.stats.rank_correlation`); not adjusted for multiplicity.
    * ``p_adjusted``: ``p_value`` adjusted over the metrics judged in this table, by Holm's
      step-down (``adjust="holm"``, family-wise error) or Benjamini-Hochberg
      (``"fdr_bh"``, false discovery rate).
    * ``label``: ``predicts_results`` when ``p_adjusted <= alpha`` (either sign: a negative
      rho predicts lower revenue; read it), ``not_predictive`` otherwise,
      ``insufficient_data`` when fewer than ``min_reps`` reps contribute or the metric
      does not vary within the dates (rho undefined); those get no p-value and do not
      count in the adjustment.

    Parameters
    ----------
    period_counts
        :func:`~salesx2lib.competency.rep_counts` with ``freq`` set: one row per rep per
        period. A range several cycles long is needed (each as-of date needs
        ``lookback`` periods before it and ``horizon`` after).
    freq
        The period of the counts.
    horizon
        Result window in periods: the sales cycle (:func:`windows` measures it).
    lookback
        Metric window in periods; ``horizon`` if omitted.
    within
        ``period`` (compare reps within each as-of date) or ``period_and_rep`` (also
        within each rep: only changes against the rep's own average count, the average
        over dates ``lookback + horizon`` apart; see :func:`within_scores`).
    n_resamples
        Bootstrap resamples and random sign vectors (the smallest possible p-value is
        ``1 / (n_resamples + 1)``).
    confidence
        Coverage of the interval.
    alpha
        Level of the adjusted test.
    adjust
        ``holm`` or ``fdr_bh``.
    seed
        Seed of the resamples and signs; the same seed gives the same table.
    min_reps
        Fewest reps a metric needs to be judged.

    Returns
    -------
    pandas.DataFrame
        :data:`RELEVANCE_COLUMNS`: ``metric``, ``kind`` (task / competency), ``n_obs``
        (pairs used), ``n_reps``, ``n_periods`` (as-of dates used) (int64), ``rho``,
        ``ci_low``, ``ci_high``, ``p_value``, ``p_adjusted`` (float64), ``label``,
        ``lookback``, ``horizon`` (int64, periods); sorted by ``rho``, highest first
        (undefined last).

    References
    ----------
    C. Spearman (1904), Am. J. Psychol. 15(1); S. Holm (1979), "A simple sequentially
    rejective multiple test procedure", Scand. J. Statist. 6(2); Y. Benjamini and
    Y. Hochberg (1995), JRSS B 57(1); A. C. Cameron, J. B. Gelbach and D. L. Miller (2008),
    "Bootstrap-based improvements for inference with clustered errors", Rev. Econ. Stat.
    90(3); I. A. Canay, J. P. Romano and A. M. Shaikh (2017), "Randomization tests under
    an approximate symmetry assumption", Econometrica 85(3); C. A. Field and A. H. Welsh
    (2007), "Bootstrapping clustered data", JRSS B 69(3); B. Phipson and G. K. Smyth
    (2010), "Permutation p-values should never be zero", Stat. Appl. Genet. Mol. Biol. 9(1).
    """
    if within not in WITHIN:
        raise ValueError(f"within must be one of {', '.join(WITHIN)}, not {within!r}")
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {', '.join(ADJUSTMENTS)}, not {adjust!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    z_score(confidence)
    if n_resamples < 1:
        raise ValueError("need at least one resample")
    lookback = horizon if lookback is None else lookback
    wide = _window_wide(period_counts, freq, lookback, horizon)
    metrics = _metric_columns(wide)
    rep_codes, reps = pd.factorize(wide["rep_id"])
    period_codes = pd.factorize(wide["as_of"], sort=True)[0]
    n_clusters = len(reps)
    y = wide["result"].to_numpy(dtype="float64")
    if n_clusters:
        resamples = cluster_resample_counts(n_clusters, n_resamples, seed)
        signs = np.where(np.random.default_rng(seed).random((n_resamples, n_clusters)) < 0.5, -1.0, 1.0)
    rows = []
    for metric in metrics:
        x = wide[metric].to_numpy(dtype="float64")
        sx, sy, keep = within_scores(x, y, period_codes, rep_codes, within, gap=lookback + horizon)
        n_obs, rep_k = int(keep.sum()), rep_codes[keep]
        n_reps, n_periods = int(np.unique(rep_k).size), int(np.unique(period_codes[keep]).size)
        rho = low = high = p = np.nan
        if n_obs >= 3:
            rho, low, high, p = _infer(sx, sy, rep_k, n_clusters, resamples, signs, confidence)
        rows.append((metric, _kind(metric), n_obs, n_reps, n_periods, rho, low, high, p))
    columns = ["metric", "kind", "n_obs", "n_reps", "n_periods", "rho", "ci_low", "ci_high", "p_value"]
    out = pd.DataFrame(rows, columns=columns)
    judged = out["rho"].notna() & (out["n_reps"] >= min_reps)
    out.loc[~judged, "p_value"] = np.nan
    p_adj = np.full(len(out), np.nan)
    if judged.any():
        p_adj[judged.to_numpy()] = adjust_p_values(out.loc[judged, "p_value"].to_numpy(), adjust)
    label = np.where(~judged, "insufficient_data", np.where(p_adj <= alpha, "predicts_results", "not_predictive"))
    out = out.assign(p_adjusted=p_adj, label=label, lookback=int(lookback), horizon=int(horizon))
    out = out.astype({"metric": "str", "kind": "str", "label": "str", "n_obs": "int64", "n_reps": "int64",
                      "n_periods": "int64", "rho": "float64", "ci_low": "float64", "ci_high": "float64",
                      "p_value": "float64", "p_adjusted": "float64", "lookback": "int64", "horizon": "int64"})
    out = out.sort_values("rho", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    return out[list(RELEVANCE_COLUMNS)]


def relevance_table(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    freq: Freq = "week",
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """:func:`relevance` of a dataset over ``[start, end)``, windows and options from the settings.

    ``period_counts = rep_counts(dataset, start, end, freq)`` (rolled up in the engine),
    ``(lookback, horizon) = windows(dataset, freq, as_of, settings)``, and ``within``,
    ``alpha``, ``adjust``, ``min_reps`` and ``n_resamples`` from ``[relevance]``. The
    ``relevance`` table of ``salesx2 metrics`` and notebook 01 call this.
    """
    settings = settings or load_settings()
    lookback, horizon = windows(dataset, freq, as_of, settings)
    counts = rep_counts(dataset, start, end, freq=freq)
    return relevance(
        counts,
        freq,
        horizon=horizon,
        lookback=lookback,
        within=settings.relevance_within,  # type: ignore[arg-type]
        n_resamples=settings.relevance_n_resamples,
        alpha=settings.relevance_alpha,
        adjust=settings.relevance_adjust,  # type: ignore[arg-type]
        min_reps=settings.relevance_min_reps,
    )


def metric_vs_result(counts: pd.DataFrame) -> pd.DataFrame:
    """Per-rep points for the metric-vs-result scatter plots (one range, no periods).

    ``value`` = the rep's count over the range (kind ``task``), or its shrunk rate /
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
