"""The rolling 30-day forecast, its 80% interval, and its week-by-week backtest without look-ahead.

As of an instant ``D`` (a Monday morning, for the weekly rule), the window is
``(D, day(D) + window_days)``:

1. rebuild the pipeline as it stood at ``D`` (:func:`salesx2lib.pipeline.snapshots`);
2. give **every** open deal its probability of being won inside the window, from a model
   learned only on what was known at ``D`` (:mod:`salesx2lib.winprob`: stage, age, days in
   stage, pushes, activity, amount, where the expected close date falls, the gate and the
   scrub flags, the rep's shrunk win rate); ``from_pipeline = sum(p * amount * ratio)``;
3. add the revenue of deals not created yet: ``from_new_business`` (each rep's rate of
   create-and-win-within-a-window deals, shrunk toward the team);
4. ``forecast = from_pipeline + from_new_business``, with ``forecast_low`` and
   ``forecast_high`` from simulating both (:func:`salesx2lib.winprob.simulate_totals`).

The backtest does this for every Monday and sets it against what was actually won in the
window, next to three baselines known at the same Monday (the reps' commits, a trailing
run-rate, and the CRM's stage-weighted gated pipeline), with a skill score against the
run-rate, and checks the probabilities' and intervals' calibration (:func:`calibration`).
Nothing recorded after ``D`` enters the forecast as of ``D``; ``tests/test_rolling.py``
checks it by rewriting the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.cycle import data_start
from salesx2lib.horizon import SUMMARY_COLUMNS, bucket_labels, error_summary, run_rate_baseline, won_amount_between
from salesx2lib.pipeline import ALL, prepare_history, resolve_as_of, snapshots
from salesx2lib.scrub import gate, scrub
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval
from salesx2lib.winprob import new_business_rates, reliability_table, simulate_totals, win_probabilities

__all__ = [
    "METHODS",
    "calibration",
    "commit_comparison",
    "backtest",
    "backtest_dates",
    "backtest_summary",
    "rolling_forecast",
    "rolling_pipeline",
    "stage_win_rates",
]

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)
_TICK = pd.Timedelta(microseconds=1)


def _dates(dates: Sequence[pd.Timestamp | str] | pd.DatetimeIndex) -> np.ndarray:
    idx = pd.DatetimeIndex([pd.Timestamp(d) for d in dates])
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return np.unique(idx.as_unit("us").to_numpy())


def stage_win_rates(
    opportunities: pd.DataFrame,
    history: pd.DataFrame,
    dates: Sequence[pd.Timestamp | str] | pd.DatetimeIndex,
    settings: Settings,
    prepared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Win probability of each open stage as known at each date.

    ``stage_win_rate(s, D) = #{won} / #{won or lost}`` over deals with ``closed_at <= D`` that
    had a history row in stage ``s`` at or before ``D``; ``pooled_win_rate(D)`` = the same over
    all deals decided by ``D``; ``win_probability`` = the stage rate when at least
    ``min_decided_deals`` deals back it, else the pooled rate (``source`` says which).

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``stage`` (every open stage), ``n_decided``, ``n_won`` (int64),
        ``stage_win_rate``, ``ci_low``, ``ci_high`` (Wilson 95%), ``n_pooled``,
        ``pooled_win_rate``, ``win_probability`` (float) and ``source`` (``stage``,
        ``pooled`` or ``none`` when nothing was decided yet).
    """
    d = _dates(dates)
    h = prepare_history(opportunities, history) if prepared is None else prepared
    closed = opportunities["closed_at"].to_numpy(dtype=_US)
    decided = (opportunities["status"].isin(["won", "lost"]) & opportunities["closed_at"].notna()).to_numpy()
    won = (opportunities["status"] == "won").to_numpy() & decided

    def counts(times: np.ndarray, wins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(times, kind="stable")
        t = times[order]
        cum = np.r_[0, np.cumsum(wins[order].astype("int64"))]
        k = np.searchsorted(t, d, side="right")
        return k.astype("int64"), cum[k]

    n_pool, w_pool = counts(closed[decided], won[decided])
    rows = h.loc[decided[h["opp_index"].to_numpy()] & h["stage"].isin(settings.stage_order), ["opp_index", "stage", "changed_at"]]
    first = rows.groupby(["opp_index", "stage"], sort=False)["changed_at"].min().reset_index()
    code = first["opp_index"].to_numpy()
    known_at = np.maximum(first["changed_at"].to_numpy(dtype=_US), closed[code])
    parts = []
    for stage in settings.stage_order:
        sel = (first["stage"] == stage).to_numpy()
        n, w = counts(known_at[sel], won[code[sel]])
        parts.append(pd.DataFrame({"as_of_date": d, "stage": stage, "n_decided": n, "n_won": w, "n_pooled": n_pool, "pooled_won": w_pool}))
    out = pd.concat(parts, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["stage_win_rate"] = np.where(out["n_decided"] > 0, out["n_won"] / out["n_decided"], np.nan)
        out["pooled_win_rate"] = np.where(out["n_pooled"] > 0, out["pooled_won"] / out["n_pooled"], np.nan)
    lo, hi = wilson_interval(out["n_won"].to_numpy(), out["n_decided"].to_numpy())
    out["ci_low"], out["ci_high"] = lo, hi
    use_stage = out["n_decided"] >= max(settings.forecast_min_decided_deals, 1)
    use_pool = ~use_stage & (out["n_pooled"] > 0)
    out["win_probability"] = np.select([use_stage, use_pool], [out["stage_win_rate"], out["pooled_win_rate"]], np.nan)
    out["source"] = np.select([use_stage, use_pool], ["stage", "pooled"], "none")
    out = out.astype({"as_of_date": _US, "stage": "str", "source": "str", "n_decided": "int64", "n_won": "int64", "n_pooled": "int64"})
    cols = [
        "as_of_date", "stage", "n_decided", "n_won", "stage_win_rate", "ci_low", "ci_high",
        "n_pooled", "pooled_win_rate", "win_probability", "source",
    ]
    return out.sort_values(["as_of_date"], kind="stable")[cols].reset_index(drop=True)


def _stage_weighted_deals(dataset: Dataset, dates: np.ndarray, settings: Settings) -> pd.DataFrame:
    """The CRM's naive forecast: gated deals due in the window, weighted by their stage's win rate."""
    dataset.require("opportunity_history")
    opps = dataset.opportunities
    hist = dataset.table("opportunity_history")
    prepared = prepare_history(opps, hist)
    snap = snapshots(opps, hist, dates, open_only=True, prepared=prepared)
    day = snap["as_of_date"].dt.normalize()
    window = pd.Timedelta(days=settings.forecast_window_days)
    ecd = snap["expected_close_date"]
    in_window = (ecd >= day) & (ecd < day + window)
    snap = snap.loc[in_window.fillna(False).to_numpy()]
    snap = snap.loc[gate(snap, settings)["passes_gate"].to_numpy()]
    rates = stage_win_rates(opps, hist, dates, settings, prepared)[["as_of_date", "stage", "win_probability", "source"]]
    deals = snap.merge(rates.rename(columns={"source": "probability_source"}), on=["as_of_date", "stage"], how="left")
    deals["weighted_amount"] = deals["amount"].fillna(0.0) * deals["win_probability"]
    return deals


def _windows(dates: np.ndarray, settings: Settings) -> pd.DataFrame:
    d = pd.DatetimeIndex(dates)
    start = d.normalize()
    return pd.DataFrame(
        {
            "as_of_date": d,
            "window_start": start,
            "window_end": start + pd.Timedelta(days=settings.forecast_window_days - 1),
        }
    ).astype(_US)


def _sum_or_nan(deals: pd.DataFrame, value: str, grid: pd.DataFrame) -> pd.Series:
    """Per (date, rep) sum of ``value``; 0 without deals, NaN when any deal's value is NaN."""
    agg = deals.assign(_na=deals[value].isna().astype("int64")).groupby(["as_of_date", "rep_id"]).agg(v=(value, "sum"), na=("_na", "sum"))
    m = grid[["as_of_date", "rep_id"]].merge(agg.reset_index(), on=["as_of_date", "rep_id"], how="left")
    v = m["v"].fillna(0.0).where(m["na"].fillna(0) == 0)
    return pd.Series(v.to_numpy(dtype="float64"), index=grid.index)


@dataclass(frozen=True)
class _Run:
    """Everything the forecast as of a set of dates computes, once."""

    deals: pd.DataFrame
    per_rep: pd.DataFrame
    bounds: pd.DataFrame


def _run(dataset: Dataset, dates: np.ndarray, settings: Settings, *, reasons: bool = False, baselines: bool = False) -> _Run:
    """The model's deals, the per-rep forecast (with interval and actual), the team intervals."""
    dataset.require("opportunity_history")
    prepared = prepare_history(dataset.opportunities, dataset.table("opportunity_history"))
    deals, models = win_probabilities(dataset, dates, settings, reasons=reasons, prepared=prepared)
    nb = new_business_rates(dataset, dates, settings, prepared)
    bounds = simulate_totals(deals, nb, models, settings)
    reps = dataset.reps[["team", "rep_id"]].astype("str")
    grid = _windows(dates, settings).merge(reps, how="cross")
    counts = deals.groupby(["as_of_date", "rep_id"]).agg(n_opportunities=("opportunity_id", "size"), pipeline_amount=("amount", "sum"))
    out = grid.merge(counts.reset_index(), on=["as_of_date", "rep_id"], how="left")
    out["n_opportunities"] = out["n_opportunities"].fillna(0).astype("int64")
    out["pipeline_amount"] = out["pipeline_amount"].fillna(0.0)
    out["from_pipeline"] = _sum_or_nan(deals, "expected_amount", out)
    # No model yet at a date (nothing known to learn from): the whole date's forecast is unknown.
    unknown = deals.loc[deals["probability_source"] == "none", "as_of_date"].unique()
    known_date = ~out["as_of_date"].isin(unknown)
    nbm = out[["as_of_date", "rep_id"]].merge(nb[["as_of_date", "rep_id", "expected"]], on=["as_of_date", "rep_id"], how="left")
    out["from_new_business"] = nbm["expected"].fillna(0.0).where(known_date).to_numpy()
    out["from_pipeline"] = out["from_pipeline"].where(known_date)
    out["forecast"] = out["from_pipeline"] + out["from_new_business"]
    b = bounds.loc[bounds["group"] == "rep", ["as_of_date", "rep_id", "forecast_low", "forecast_high"]]
    bm = out[["as_of_date", "rep_id"]].merge(b, on=["as_of_date", "rep_id"], how="left")
    out["forecast_low"] = bm["forecast_low"].where(known_date).to_numpy()
    out["forecast_high"] = bm["forecast_high"].where(known_date).to_numpy()
    # Won after the as-of instant, up to the end of the window's last day.
    actual = won_amount_between(dataset.opportunities, out["rep_id"], out["as_of_date"] + _TICK, out["window_end"] + _DAY)
    complete = (out["window_end"] + _DAY <= pd.Timestamp(dataset.as_of)).to_numpy()
    out["actual"] = np.where(complete, actual, np.nan)
    if baselines:
        sw = _stage_weighted_deals(dataset, dates, settings)
        out["stage_weighted"] = _sum_or_nan(sw, "weighted_amount", out)
        out["run_rate"] = run_rate_baseline(
            dataset.opportunities, out["rep_id"], out["as_of_date"], np.full(len(out), float(settings.forecast_window_days)),
            settings.forecast_run_rate_days, start=data_start(dataset, settings),
        )
        out["submitted"] = _prorated_commits(dataset, out)
    team_bounds = bounds.loc[bounds["group"] == "team"].copy()
    team_bounds.loc[~team_bounds["as_of_date"].isin(out.loc[known_date, "as_of_date"]), ["forecast_low", "forecast_high"]] = np.nan
    return _Run(deals, out, team_bounds)


_VALUES = ("n_opportunities", "pipeline_amount", "from_pipeline", "from_new_business", "forecast")


def _by(run: _Run, by: Literal["team", "rep"], teams: list[str]) -> pd.DataFrame:
    keys = ["as_of_date", "window_start", "window_end"]
    per_rep = run.per_rep
    if by == "rep":
        out = per_rep
    elif by == "team":
        both = pd.concat([per_rep, per_rep.assign(team=ALL)], ignore_index=True)
        nan_counts = {f"{c}_na": both[c].isna().astype("int64") for c in ("from_pipeline", "from_new_business", "forecast", "actual")}
        both = both.assign(**nan_counts)
        agg = {c: (c, "sum") for c in [*_VALUES, "actual", *nan_counts]}
        out = both.groupby([*keys, "team"], sort=False).agg(**agg).reset_index()
        for c in ("from_pipeline", "from_new_business", "forecast", "actual"):
            out[c] = out[c].where(out[f"{c}_na"] == 0)
        out = out.merge(run.bounds[["as_of_date", "team", "forecast_low", "forecast_high"]], on=["as_of_date", "team"], how="left")
        order = {t: i for i, t in enumerate([*teams, ALL])}
        out = out.sort_values([*keys, "team"], key=lambda s: s.map(order) if s.name == "team" else s, kind="stable")
    else:
        raise ValueError(f"by must be 'team' or 'rep', not {by!r}")
    out = out.assign(error=out["forecast"] - out["actual"])
    cols = [
        *keys, "team", *(["rep_id"] if by == "rep" else []), *_VALUES, "forecast_low", "forecast_high", "actual", "error",
    ]
    return out[cols].astype({"team": "str", "n_opportunities": "int64"}).reset_index(drop=True)


def rolling_pipeline(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    with_scrub: bool = True,
) -> pd.DataFrame:
    """Every deal open at ``as_of``, with its chance of being won in the window and why.

    ``win_probability`` = P(won with ``as_of < closed_at < day(as_of) + window_days``) from
    the model of :func:`salesx2lib.winprob.win_probabilities` (learned from what was known
    at ``as_of``); ``weighted_amount = win_probability * amount * amount_ratio`` (the
    mean won/listed amount ratio of the training wins); ``probability_reasons`` lists the
    three inputs moving the deal's odds most (log-odds against the average training deal).
    The gate and the scrub flags are inputs and explanations, not filters.

    Parameters
    ----------
    dataset
        Needs ``opportunity_history``; ``activities`` adds the activity inputs and flag.
    as_of
        The instant of the forecast; the weekly rule's if omitted
        (:func:`salesx2lib.pipeline.resolve_as_of`: Monday 00:00 after the latest complete week).
    settings
        Stages, gate, window, the ``[forecast]`` model keys and the scrub thresholds.
    with_scrub
        Add ``n_flags``, ``reasons`` and the ``flag_*`` columns of :func:`scrub`.

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``window_start``, ``window_end`` (last day included),
        ``opportunity_id``, ``rep_id``, ``team``, ``stage``, ``amount``,
        ``expected_close_date``, ``close_position`` (``in_window``, ``past``, ``later``,
        ``missing``), ``passes_gate``, ``gate_reason``, ``win_probability``,
        ``probability_source`` (``model``, ``base_rate`` or ``none``), ``weighted_amount``,
        ``probability_reasons`` (+ scrub columns), sorted by team, rep, most likely first.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    when = resolve_as_of(dataset, as_of)
    dates = _dates([when])
    deals, _ = win_probabilities(dataset, dates, settings, reasons=True)
    deals = deals.merge(_windows(dates, settings), on="as_of_date")
    deals = deals.rename(columns={"expected_amount": "weighted_amount", "reasons": "probability_reasons"})
    cols = [
        "as_of_date", "window_start", "window_end", "opportunity_id", "rep_id", "team", "stage", "amount",
        "expected_close_date", "close_position", "passes_gate", "gate_reason", "win_probability",
        "probability_source", "weighted_amount", "probability_reasons",
    ]
    out = deals[cols].astype({"close_position": "str", "gate_reason": "str"})
    if with_scrub:
        flags = scrub(dataset, when, settings)
        keep = ["opportunity_id", "n_flags", "reasons", *[c for c in flags.columns if c.startswith("flag_")]]
        out = out.merge(flags[keep], on="opportunity_id", how="left")
        out["n_flags"] = out["n_flags"].fillna(0).astype("int64")
    out = out.sort_values(["team", "rep_id", "win_probability"], ascending=[True, True, False], kind="stable")
    return out.reset_index(drop=True)


def rolling_forecast(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    by: Literal["team", "rep"] = "rep",
) -> pd.DataFrame:
    """The rolling forecast as of ``as_of`` with its 80% interval, per rep or per team.

    ``from_pipeline = sum(weighted_amount)`` over every deal open at ``as_of``
    (:func:`rolling_pipeline`); ``from_new_business`` = the rep's expected won revenue from
    deals not created yet (:func:`salesx2lib.winprob.new_business_rates`);
    ``forecast = from_pipeline + from_new_business``; ``forecast_low`` / ``forecast_high``
    = the 10% and 90% quantiles (``[forecast] interval``) of the simulated won revenue
    (:func:`salesx2lib.winprob.simulate_totals`: a team's interval comes from the sum of
    its reps' draws). ``actual`` = won amount with ``as_of < closed_at < window_end + 1
    day`` (NaN until the window is over by the dataset's as-of date).

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``window_start``, ``window_end``, ``team`` (and ``rep_id`` when
        ``by="rep"``: every rep), ``n_opportunities`` (open deals), ``pipeline_amount``
        (their amount, unweighted), ``from_pipeline``, ``from_new_business``, ``forecast``,
        ``forecast_low``, ``forecast_high``, ``actual``, ``error`` (``F - A``). The
        forecast columns are NaN when no deal's window outcome was known yet to learn from.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    dates = _dates([resolve_as_of(dataset, as_of)])
    return _by(_run(dataset, dates, settings), by, dataset.teams)


def backtest_dates(
    dataset: Dataset,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DatetimeIndex:
    """The Mondays (00:00) of the backtest.

    Default span: from the first Monday after the first decided deal to the last Monday whose
    window is over by the weekly rule's as-of instant (``monday + window_days <= as_of``,
    ``as_of`` = :func:`salesx2lib.pipeline.resolve_as_of` of ``None``).
    ``start`` and ``end`` (inclusive) narrow it; any date snaps to the Monday on or after it.
    """
    settings = settings or load_settings()
    opps = dataset.opportunities
    window = pd.Timedelta(days=settings.forecast_window_days)
    first_close = opps.loc[opps["status"].isin(["won", "lost"]), "closed_at"].min()
    lo = pd.Timestamp(start) if start is not None else (first_close + _DAY if pd.notna(first_close) else None)
    hi = pd.Timestamp(end) if end is not None else resolve_as_of(dataset, None) - window
    if lo is None:
        return pd.DatetimeIndex([], dtype=_US)
    return pd.date_range(lo.normalize(), hi, freq="W-MON").as_unit("us")


def backtest(
    dataset: Dataset,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    by: Literal["team", "rep"] = "team",
) -> pd.DataFrame:
    """The rolling forecast as of every Monday against what was won in its window.

    For each Monday ``D`` of :func:`backtest_dates`: ``forecast(D)`` and its interval as in
    :func:`rolling_forecast` (from the pipeline and the model as known at ``D``),
    ``actual(D)`` = won amount with ``D < closed_at < D + window_days``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`rolling_forecast`, one block per Monday.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    dates = backtest_dates(dataset, settings, start=start, end=end)
    return _by(_run(dataset, dates.to_numpy(), settings), by, dataset.teams)


#: The methods of :func:`backtest_summary`, in order.
METHODS: tuple[str, ...] = ("rolling", "submitted", "run_rate", "stage_weighted")


def _judged(run: _Run, has_forecasts: bool) -> pd.DataFrame:
    """The rep-windows every method is judged on: actual and rolling known (and a commit)."""
    per_rep = run.per_rep
    keep = per_rep["actual"].notna() & per_rep["forecast"].notna() & per_rep["stage_weighted"].notna() & per_rep["run_rate"].notna()
    if has_forecasts:
        keep &= per_rep["submitted"].notna()
    return per_rep.loc[keep]


def backtest_summary(
    dataset: Dataset,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Bias, WAPE and skill of the rolling forecast and three baselines, per team.

    Every method forecasts the same rep-windows (rep x Monday ``D`` of the backtest, window
    ``(D, day(D) + window_days)``), all known at ``D``:

    * ``rolling``: :func:`rolling_forecast` (deal model + new business);
    * ``submitted``: the rep's latest commit by ``D`` for each period overlapping the window,
      prorated by days (as in :func:`commit_comparison`);
    * ``run_rate``: :func:`salesx2lib.horizon.run_rate_baseline` (the same baseline as the
      horizon table's): won in ``(lo, D]`` x ``window_days / days(D - lo)``, ``lo = max(D -
      run_rate_days, data start)``, none with fewer than 28 days observed;
    * ``stage_weighted``: gated deals due in the window x their stage's win rate (the
      CRM's naive forecast, salesx2's own rolling forecast before the win model).

    A rep-window is judged when its window is over and the rolling and stage-weighted
    forecasts are known (and the rep had a commit covering it, when the dataset has a
    forecasts table), so every method is measured on the same rep-windows. Per team (each
    team, then ``all``): ``bias = sum(F-A)/sum(A)``, ``wape = sum|F-A|/sum(A)`` (see
    :func:`salesx2lib.horizon.error_summary`), ``skill = 1 - wape / wape(run_rate)``;
    ``coverage`` (rolling only) = share of rep-windows with ``forecast_low <= A <=
    forecast_high``, with a Wilson 95% interval.

    Returns
    -------
    pandas.DataFrame
        ``team``, ``method``, ``horizon_bucket`` (the bucket holding the window length),
        :data:`~salesx2lib.horizon.SUMMARY_COLUMNS`, ``skill``, ``coverage``,
        ``coverage_ci_low``, ``coverage_ci_high``.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    dates = backtest_dates(dataset, settings, start=start, end=end)
    run = _run(dataset, dates.to_numpy(), settings, baselines=True)
    return _summary(run, dataset, settings)


def _summary(run: _Run, dataset: Dataset, settings: Settings) -> pd.DataFrame:
    has_fc = dataset.has("forecasts")
    judged = _judged(run, has_fc)
    labels = bucket_labels(settings.horizon_buckets)
    bucket = labels[int(np.searchsorted(np.asarray(settings.horizon_buckets), settings.forecast_window_days, side="left"))]
    methods = [m for m in METHODS if m != "submitted" or has_fc]
    parts = []
    for m in methods:
        col = "forecast" if m == "rolling" else m
        parts.append(judged.assign(method=m, horizon_bucket=bucket, forecast=judged[col])[["team", "method", "horizon_bucket", "forecast", "actual"]])
    errs = pd.concat(parts, ignore_index=True)
    errs = pd.concat([errs, errs.assign(team=ALL)], ignore_index=True)
    out = error_summary(errs, ["team", "method", "horizon_bucket"], settings.hit_tolerance)
    rr = out.loc[out["method"] == "run_rate"].set_index("team")["wape"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["skill"] = 1.0 - out["wape"] / out["team"].map(rr).astype("float64")
    cov = judged.assign(covered=((judged["forecast_low"] <= judged["actual"]) & (judged["actual"] <= judged["forecast_high"])).astype("int64"))
    cov = pd.concat([cov, cov.assign(team=ALL)], ignore_index=True).groupby("team").agg(k=("covered", "sum"), n=("covered", "size"))
    lo, hi = wilson_interval(cov["k"].to_numpy(), cov["n"].to_numpy())
    cov = cov.assign(coverage=cov["k"] / cov["n"].where(cov["n"] > 0), coverage_ci_low=lo, coverage_ci_high=hi)
    is_rolling = out["method"] == "rolling"
    for c in ("coverage", "coverage_ci_low", "coverage_ci_high"):
        out[c] = out["team"].map(cov[c]).astype("float64").where(is_rolling)
    team_order = {t: i for i, t in enumerate([*dataset.teams, ALL])}
    method_order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(
        ["team", "method"], key=lambda s: s.map(team_order if s.name == "team" else method_order), kind="stable"
    )
    cols = ["team", "method", "horizon_bucket", *SUMMARY_COLUMNS, "skill", "coverage", "coverage_ci_low", "coverage_ci_high"]
    return out[cols].astype({"team": "str", "method": "str", "horizon_bucket": "str"}).reset_index(drop=True)


def calibration(
    dataset: Dataset,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """Is the rolling forecast calibrated? Deal probabilities and intervals against outcomes.

    Over the Mondays of :func:`backtest_dates`: the reliability table of
    :func:`salesx2lib.winprob.reliability_table` (every deal open at a Monday, its
    probability against whether it was won in the window; Brier score
    ``mean((p - y)^2)`` per bin and overall), then two interval rows: ``interval_rep``
    (rep-windows) and ``interval_team`` (team-windows), with ``mean_predicted`` = the
    nominal level (``[forecast] interval``) and ``observed`` = the share of windows whose
    actual fell in ``[forecast_low, forecast_high]`` (Wilson 95% interval).

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``decile``, ``all``, ``interval_rep``, ``interval_team``), ``bin``,
        ``n_deals`` (deals, or windows for the interval rows), ``n_won`` (wins, or covered
        windows), ``mean_predicted``, ``observed``, ``ci_low``, ``ci_high``, ``gap``
        (``observed - mean_predicted``), ``brier`` (NaN on the interval rows).
    """
    settings = settings or load_settings()
    dates = backtest_dates(dataset, settings, start=start, end=end)
    run = _run(dataset, dates.to_numpy(), settings)
    complete = run.deals["outcome_by"] <= pd.Timestamp(dataset.as_of)
    table = reliability_table(run.deals.loc[complete & (run.deals["probability_source"] != "none")], bins)
    table.insert(0, "kind", np.where(table["bin"] == "all", "all", "decile"))
    rows = []
    rep = run.per_rep.loc[run.per_rep["actual"].notna() & run.per_rep["forecast_low"].notna()]
    team = _by(run, "team", dataset.teams)
    team = team.loc[(team["team"] != ALL) & team["actual"].notna() & team["forecast_low"].notna()]
    for kind, frame in (("interval_rep", rep), ("interval_team", team)):
        covered = ((frame["forecast_low"] <= frame["actual"]) & (frame["actual"] <= frame["forecast_high"])).to_numpy()
        n, k = len(frame), int(covered.sum())
        lo, hi = wilson_interval(np.array([k]), np.array([n]))
        obs = k / n if n else np.nan
        rows.append(
            {"kind": kind, "bin": f"{settings.forecast_interval:.0%}", "n_deals": n, "n_won": k,
             "mean_predicted": settings.forecast_interval, "observed": obs, "ci_low": lo[0], "ci_high": hi[0],
             "gap": obs - settings.forecast_interval, "brier": np.nan}
        )
    out = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    return out.astype({"kind": "str", "bin": "str", "n_deals": "int64", "n_won": "int64"})


def _commits_at(forecasts: pd.DataFrame, moment: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """The latest commit by ``moment`` of each (rep, period) overlapping ``[lo, hi)``, prorated.

    ``prorated = amount * overlap_days(period, [lo, hi)) / period_days``.
    """
    fc = forecasts.loc[(forecasts["category"] == "commit") & (forecasts["submitted_at"] <= moment)]
    fc = fc.loc[(fc["period_start"] < hi) & (fc["period_end"] + _DAY > lo)]
    latest = fc.sort_values("submitted_at", kind="stable").drop_duplicates(["rep_id", "period_start", "period_end"], keep="last")
    days = (latest["period_end"] - latest["period_start"]).dt.days + 1
    overlap_start = latest["period_start"].clip(lower=lo)
    overlap_end = (latest["period_end"] + _DAY).clip(upper=hi)
    overlap = (overlap_end - overlap_start).dt.days
    return latest.assign(prorated=latest["amount"] * overlap / days)


def _prorated_commits(dataset: Dataset, grid: pd.DataFrame) -> np.ndarray:
    """Per row of ``grid`` (``as_of_date``, ``window_start``, ``window_end``, ``rep_id``): the prorated commit."""
    if not dataset.has("forecasts"):
        return np.full(len(grid), np.nan)
    fc = dataset.table("forecasts")
    parts = []
    for (moment, lo, end), _ in grid.groupby(["as_of_date", "window_start", "window_end"], sort=False):
        c = _commits_at(fc, pd.Timestamp(moment), pd.Timestamp(lo), pd.Timestamp(end) + _DAY)
        per = c.groupby("rep_id")["prorated"].sum()
        parts.append(pd.DataFrame({"as_of_date": moment, "rep_id": per.index.astype("str"), "submitted": per.to_numpy()}))
    if not parts:
        return np.full(len(grid), np.nan)
    got = pd.concat(parts, ignore_index=True).astype({"as_of_date": _US, "rep_id": "str"})
    m = grid[["as_of_date", "rep_id"]].merge(got, on=["as_of_date", "rep_id"], how="left")
    return m["submitted"].to_numpy(dtype="float64")


def commit_comparison(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Per rep, the rolling forecast of the window next to the rep's own commit for it.

    The window is ``[as_of, as_of + window_days)`` (:func:`rolling_forecast`). A rep's
    commit is their latest ``commit`` submission made by ``as_of`` for each forecast
    period overlapping the window, prorated by days:
    ``commit = sum_p amount_p * overlap_days(p, window) / period_days(p)``, the same
    proration as quotas. The two rarely cover the same days (forecast periods are usually
    months), hence the proration; read a large difference, not a small one.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`rolling_forecast` (``by="rep"``), plus ``commit`` (NaN when
        the rep submitted nothing covering the window, or the dataset has no forecasts
        table) and ``commit_periods`` (the periods used, e.g. ``2026-11-01..2026-11-30
        (submitted 2026-11-16)``) and ``commit_vs_interval``: ``above`` when ``commit >
        forecast_high``, ``below`` when ``commit < forecast_low``, else ``inside`` (NA
        without a commit or an interval): a commit outside the range is a question for
        the rep.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table (the rolling forecast needs it).
    """
    rolling = rolling_forecast(dataset, as_of, settings, by="rep")
    if rolling.empty or not dataset.has("forecasts"):
        out = rolling.assign(
            commit=pd.Series(np.nan, index=rolling.index, dtype="float64"),
            commit_periods=pd.Series(pd.NA, index=rolling.index, dtype="str"),
        )
        return out.assign(commit_vs_interval=_commit_vs_interval(out))
    moment = pd.Timestamp(rolling["as_of_date"].iloc[0])
    lo = pd.Timestamp(rolling["window_start"].iloc[0]).normalize()
    hi = pd.Timestamp(rolling["window_end"].iloc[0]).normalize() + pd.Timedelta(days=1)  # exclusive
    latest = _commits_at(dataset.table("forecasts"), moment, lo, hi)
    latest = latest.assign(
        label=latest["period_start"].dt.strftime("%Y-%m-%d")
        + ".."
        + latest["period_end"].dt.strftime("%Y-%m-%d")
        + " (submitted "
        + latest["submitted_at"].dt.strftime("%Y-%m-%d")
        + ")",
    )
    per_rep = latest.groupby("rep_id").agg(commit=("prorated", "sum"), commit_periods=("label", "; ".join))
    out = rolling.merge(per_rep.reset_index(), on="rep_id", how="left").astype({"commit": "float64", "commit_periods": "str"})
    return out.assign(commit_vs_interval=_commit_vs_interval(out))


def _commit_vs_interval(table: pd.DataFrame) -> pd.Series:
    """``above`` / ``below`` / ``inside`` the 80% interval; NA without a commit or an interval."""
    c, lo, hi = table["commit"], table["forecast_low"], table["forecast_high"]
    where = np.select([c > hi, c < lo], ["above", "below"], "inside")
    return pd.Series(where, index=table.index, dtype="str").where(c.notna() & lo.notna() & hi.notna())
