"""The rolling 30-day forecast, and its week-by-week backtest without look-ahead.

As of an instant ``D`` (a Monday morning, for the weekly rule):

1. rebuild the pipeline as it stood at ``D`` (:func:`salesx2lib.pipeline.snapshots`);
2. keep the open deals that pass the gate (:func:`salesx2lib.scrub.gate`) and are expected
   to close in the window ``[day(D), day(D) + window_days)``;
3. weight each by the win probability of its stage, learned only from deals decided by
   ``D``: ``p(s) = won / (won + lost)`` among decided deals that reached stage ``s``
   (the pooled win rate when fewer than ``min_decided_deals`` did);
4. ``forecast = sum(amount * p(stage))`` per rep, per team.

The backtest does this for every Monday and sets it against what was actually won after
``D`` up to the end of the window, next to the reps' own submitted forecasts at each
horizon: bias and WAPE of each, with the formulas of :mod:`salesx2lib.horizon`. Nothing
recorded after ``D`` enters the forecast as of ``D``; ``tests/test_rolling.py`` checks it
by rewriting the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.horizon import SUMMARY_COLUMNS, bucket_labels, error_summary, forecast_errors, won_amount_between
from salesx2lib.pipeline import ALL, prepare_history, resolve_as_of, snapshots
from salesx2lib.scrub import gate, scrub
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval

__all__ = [
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


def _forecast_deals(dataset: Dataset, dates: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Gated deals in each date's window, with their stage's win probability and weight."""
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
    teams = dataset.reps.set_index("rep_id")["team"]
    return deals.assign(team=deals["rep_id"].map(teams).astype("str"))


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


def _per_rep(dataset: Dataset, dates: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Forecast, pipeline and actual per (as-of date, rep): the grain of everything here."""
    deals = _forecast_deals(dataset, dates, settings)
    deals = deals.assign(unweighted=deals["weighted_amount"].isna().astype("int64"))
    agg = deals.groupby(["as_of_date", "rep_id"]).agg(
        n_opportunities=("opportunity_id", "size"),
        pipeline_amount=("amount", "sum"),
        forecast=("weighted_amount", "sum"),
        unweighted=("unweighted", "sum"),
    )
    reps = dataset.reps[["team", "rep_id"]].astype("str")
    grid = _windows(dates, settings).merge(reps, how="cross")
    out = grid.merge(agg.reset_index(), on=["as_of_date", "rep_id"], how="left")
    out["n_opportunities"] = out["n_opportunities"].fillna(0).astype("int64")
    out["pipeline_amount"] = out["pipeline_amount"].fillna(0.0)
    no_deals = out["n_opportunities"] == 0
    out["forecast"] = out["forecast"].where(~no_deals, 0.0).astype("float64")
    # A deal without a probability (nothing decided yet to learn from) leaves the forecast unknown.
    out["forecast"] = out["forecast"].where(out["unweighted"].fillna(0) == 0)
    out = out.drop(columns="unweighted")
    # Won after the as-of instant, up to the end of the window's last day.
    actual = won_amount_between(
        dataset.opportunities, out["rep_id"], out["as_of_date"] + _TICK, out["window_end"] + _DAY
    )
    complete = (out["window_end"] + _DAY <= pd.Timestamp(dataset.as_of)).to_numpy()
    out["actual"] = np.where(complete, actual, np.nan)
    return out


def _by(per_rep: pd.DataFrame, by: Literal["team", "rep"], teams: list[str]) -> pd.DataFrame:
    keys = ["as_of_date", "window_start", "window_end"]
    if by == "rep":
        out = per_rep
    elif by == "team":
        both = pd.concat([per_rep, per_rep.assign(team=ALL)], ignore_index=True)
        both = both.assign(f_na=both["forecast"].isna().astype("int64"), a_na=both["actual"].isna().astype("int64"))
        out = both.groupby([*keys, "team"], sort=False).agg(
            n_opportunities=("n_opportunities", "sum"),
            pipeline_amount=("pipeline_amount", "sum"),
            forecast=("forecast", "sum"),
            actual=("actual", "sum"),
            f_na=("f_na", "sum"),
            a_na=("a_na", "sum"),
        ).reset_index()
        out["forecast"] = out["forecast"].where(out["f_na"] == 0)
        out["actual"] = out["actual"].where(out["a_na"] == 0)
        order = {t: i for i, t in enumerate([*teams, ALL])}
        out = out.sort_values([*keys, "team"], key=lambda s: s.map(order) if s.name == "team" else s, kind="stable")
    else:
        raise ValueError(f"by must be 'team' or 'rep', not {by!r}")
    out = out.assign(error=out["forecast"] - out["actual"])
    cols = [*keys, "team", *(["rep_id"] if by == "rep" else []), "n_opportunities", "pipeline_amount", "forecast", "actual", "error"]
    return out[cols].astype({"team": "str"}).reset_index(drop=True)


def rolling_pipeline(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    with_scrub: bool = True,
) -> pd.DataFrame:
    """The deals in the rolling forecast as of ``as_of``, each with its weight and scrub.

    ``weighted_amount = amount * p(stage)``, over open deals passing the gate with
    ``day(as_of) <= expected_close_date < day(as_of) + window_days``.

    Parameters
    ----------
    dataset
        Needs ``opportunity_history`` (the stage-to-win probabilities come from the stage
        paths of decided deals); ``activities`` adds the no-activity flag.
    as_of
        The instant of the forecast; the weekly rule's if omitted
        (:func:`salesx2lib.pipeline.resolve_as_of`: Monday 00:00 after the latest complete week).
    settings
        Stages, gate, window, ``min_decided_deals`` and the scrub thresholds.
    with_scrub
        Add ``n_flags``, ``reasons`` and the ``flag_*`` columns of :func:`scrub`.

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``window_start``, ``window_end`` (last day included),
        ``opportunity_id``, ``rep_id``, ``team``, ``stage``, ``amount``,
        ``expected_close_date``, ``win_probability``, ``probability_source``,
        ``weighted_amount`` (+ scrub columns), sorted by team, rep, expected close date.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    when = resolve_as_of(dataset, as_of)
    dates = _dates([when])
    deals = _forecast_deals(dataset, dates, settings).merge(_windows(dates, settings), on="as_of_date")
    cols = [
        "as_of_date", "window_start", "window_end", "opportunity_id", "rep_id", "team", "stage", "amount",
        "expected_close_date", "win_probability", "probability_source", "weighted_amount",
    ]
    out = deals[cols]
    if with_scrub:
        flags = scrub(dataset, when, settings)
        keep = ["opportunity_id", "n_flags", "reasons", *[c for c in flags.columns if c.startswith("flag_")]]
        out = out.merge(flags[keep], on="opportunity_id", how="left")
        out["n_flags"] = out["n_flags"].fillna(0).astype("int64")
    return out.sort_values(["team", "rep_id", "expected_close_date"], kind="stable").reset_index(drop=True)


def rolling_forecast(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    by: Literal["team", "rep"] = "rep",
) -> pd.DataFrame:
    """The rolling forecast as of ``as_of``, per rep or per team (with ``all``).

    ``forecast = sum(amount * p(stage))`` over the deals of :func:`rolling_pipeline`;
    ``actual`` = won amount with ``as_of < closed_at < window_end + 1 day`` (NaN until the
    window is over by the dataset's as-of date).

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``window_start``, ``window_end``, ``team`` (and ``rep_id`` when
        ``by="rep"``: every rep, 0 when it has no deal in the window), ``n_opportunities``,
        ``pipeline_amount`` (unweighted), ``forecast``, ``actual``, ``error`` (``F - A``).
        ``forecast`` is NaN when no deal had been decided yet to learn a probability from.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    dates = _dates([resolve_as_of(dataset, as_of)])
    return _by(_per_rep(dataset, dates, settings), by, dataset.teams)


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

    For each Monday ``D`` of :func:`backtest_dates`: ``forecast(D)`` as in
    :func:`rolling_forecast` (from the pipeline and probabilities as known at ``D``),
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
    return _by(_per_rep(dataset, dates.to_numpy(), settings), by, dataset.teams)


def backtest_summary(
    dataset: Dataset,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    category: str | None = "commit",
) -> pd.DataFrame:
    """Bias and WAPE of the rolling forecast next to the reps' submitted forecasts.

    Errors are taken per rep and period, then summed per team: ``bias = sum(F-A)/sum(A)``,
    ``wape = sum|F-A|/sum(A)`` (see :func:`salesx2lib.horizon.error_summary`). Rolling:
    one period per rep and Monday of the backtest (rep-weeks with nothing forecast and
    nothing won are left out); its ``horizon_bucket`` is the one holding the window length.
    Submitted: the judged submissions of :func:`salesx2lib.horizon.forecast_errors` whose
    period ends within the backtest span, per horizon bucket (only when the dataset has a
    forecasts table).

    Returns
    -------
    pandas.DataFrame
        ``team`` (each team, then ``all``), ``method`` (``rolling`` or ``submitted``),
        ``horizon_bucket``, then :data:`~salesx2lib.horizon.SUMMARY_COLUMNS`.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    settings = settings or load_settings()
    dates = backtest_dates(dataset, settings, start=start, end=end)
    per_rep = _per_rep(dataset, dates.to_numpy(), settings)
    per_rep = per_rep.loc[per_rep["actual"].notna() & ~((per_rep["forecast"] == 0) & (per_rep["actual"] == 0))]
    labels = bucket_labels(settings.horizon_buckets)
    rolling_bucket = labels[int(np.searchsorted(np.asarray(settings.horizon_buckets), settings.forecast_window_days, side="left"))]
    parts = [per_rep.assign(method="rolling", horizon_bucket=rolling_bucket)[["team", "method", "horizon_bucket", "forecast", "actual"]]]
    if dataset.has("forecasts") and len(dates):
        errors = forecast_errors(dataset, settings=settings, category=category)
        span_end = dates[-1] + pd.Timedelta(days=settings.forecast_window_days)
        errors = errors.loc[(errors["period_end"] >= dates[0]) & (errors["period_end"] <= span_end) & errors["horizon_bucket"].notna()]
        parts.append(errors.assign(method="submitted")[["team", "method", "horizon_bucket", "forecast", "actual"]])
    errs = pd.concat(parts, ignore_index=True)
    errs = pd.concat([errs, errs.assign(team=ALL)], ignore_index=True)
    out = error_summary(errs, ["team", "method", "horizon_bucket"], settings.hit_tolerance)
    team_order = {t: i for i, t in enumerate([*dataset.teams, ALL])}
    bucket_order = {b: i for i, b in enumerate(labels)}
    method_order = {"rolling": 0, "submitted": 1}
    out = out.sort_values(
        ["team", "method", "horizon_bucket"],
        key=lambda s: s.map({"team": team_order, "method": method_order, "horizon_bucket": bucket_order}[s.name]),
        kind="stable",
    )
    out = out[["team", "method", "horizon_bucket", *SUMMARY_COLUMNS]]
    return out.astype({"team": "str", "method": "str", "horizon_bucket": "str"}).reset_index(drop=True)


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
        (submitted 2026-11-16)``).

    Raises
    ------
    MissingTableError
        Without the opportunity_history table (the rolling forecast needs it).
    """
    rolling = rolling_forecast(dataset, as_of, settings, by="rep")
    if rolling.empty or not dataset.has("forecasts"):
        return rolling.assign(
            commit=pd.Series(np.nan, index=rolling.index, dtype="float64"),
            commit_periods=pd.Series(pd.NA, index=rolling.index, dtype="str"),
        )
    moment = pd.Timestamp(rolling["as_of_date"].iloc[0])
    lo = pd.Timestamp(rolling["window_start"].iloc[0]).normalize()
    hi = pd.Timestamp(rolling["window_end"].iloc[0]).normalize() + pd.Timedelta(days=1)  # exclusive
    fc = dataset.table("forecasts")
    fc = fc.loc[(fc["category"] == "commit") & (fc["submitted_at"] <= moment)]
    fc = fc.loc[(fc["period_start"] < hi) & (fc["period_end"] + pd.Timedelta(days=1) > lo)]
    latest = fc.sort_values("submitted_at", kind="stable").drop_duplicates(["rep_id", "period_start", "period_end"], keep="last")
    days = (latest["period_end"] - latest["period_start"]).dt.days + 1
    overlap_start = latest["period_start"].clip(lower=lo)
    overlap_end = (latest["period_end"] + pd.Timedelta(days=1)).clip(upper=hi)
    overlap = (overlap_end - overlap_start).dt.days
    latest = latest.assign(
        prorated=latest["amount"] * overlap / days,
        label=latest["period_start"].dt.strftime("%Y-%m-%d")
        + ".."
        + latest["period_end"].dt.strftime("%Y-%m-%d")
        + " (submitted "
        + latest["submitted_at"].dt.strftime("%Y-%m-%d")
        + ")",
    )
    per_rep = latest.groupby("rep_id").agg(commit=("prorated", "sum"), commit_periods=("label", "; ".join))
    out = rolling.merge(per_rep.reset_index(), on="rep_id", how="left")
    return out.astype({"commit": "float64", "commit_periods": "str"})
