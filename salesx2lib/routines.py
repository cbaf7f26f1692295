"""Routines: measurable weekly behaviours, top producers against the rest (principle 5).

Coach behaviour with transferable systems and routines. Over a window (the trailing
``[routines] window_weeks``, 13 by default) :func:`routines` measures, per rep:

* ``conversation_days_per_week``: days with at least one conversation, per week;
* ``days_to_appointment``: median days from a day with conversations to the rep's next
  day with an appointment (a day-level approximation, computed from the rep x day
  aggregate of the engine);
* ``next_step_share``: share of the opportunities created in the window that reached the
  gate stage with an expected close date set within ``next_step_days`` of creation
  (needs ``opportunity_history``).

:func:`routine_comparison` compares the top producers (won revenue in the top quartile)
with the rest on each routine, with a Welch interval on the difference and the rank
correlation of the routine with won revenue across reps (cluster-bootstrap interval,
:func:`salesx2lib.stats.rank_correlation`); the routines whose interval excludes 0 are
the ones that matter, and :func:`routine_gaps` gives each rep's distance to the top
producers' median on them. The activity log stays in the engine (:func:`daily_activity`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesx2lib import competency, periods
from salesx2lib.dataset import Dataset
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import rank_correlation

__all__ = ["ROUTINES", "daily_activity", "routine_comparison", "routine_gaps", "routines"]

#: The routines, in the order they are reported.
ROUTINES: tuple[str, ...] = ("conversation_days_per_week", "days_to_appointment", "next_step_share")

_ROUTINE_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
    "conversation_days": "int64",
    "conversation_days_per_week": "float64",
    "days_to_appointment": "float64",
    "appointment_gaps": "int64",
    "next_step_opportunities": "int64",
    "next_step_share": "float64",
    "won_revenue": "float64",
    "top_producer": "bool",
    "note": "str",
}


def daily_activity(dataset: Dataset, start: pd.Timestamp | str, end: pd.Timestamp | str) -> pd.DataFrame:
    """Conversations and appointments per rep and day of ``[start, end)``, counted in the engine.

    ``conversations(r, d) = #{a : a.rep_id = r, trunc_day(a.occurred_at) = d, type = conversation}``,
    likewise ``appointments``; only the (rep, day) pairs with at least one of them.

    Returns
    -------
    pandas.DataFrame
        ``rep_id`` (str), ``day`` (datetime64), ``conversations``, ``appointments``
        (int64), sorted by rep and day.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    dataset.require("activities")
    lo, hi = periods.to_timestamp(start, "start"), periods.to_timestamp(end, "end")
    t = dataset.between(lo, hi).activities
    t = t.filter(t.activity_type.isin(["conversation", "appointment"]))
    t = t.mutate(
        day=t.occurred_at.truncate("D"),
        is_conversation=(t.activity_type == "conversation").cast("int64"),
        is_appointment=(t.activity_type == "appointment").cast("int64"),
    )
    expr = (
        t.group_by(["rep_id", "day"])
        .aggregate(conversations=t.is_conversation.sum(), appointments=t.is_appointment.sum())
        .order_by(["rep_id", "day"])
    )
    out = expr.to_pandas()
    dtypes = {"rep_id": "str", "day": "datetime64[us]", "conversations": "int64", "appointments": "int64"}
    return out.astype(dtypes).reset_index(drop=True)


def _days_to_appointment(days: pd.DataFrame) -> pd.DataFrame:
    """Per rep: median and count of the gaps from each conversation day to the next appointment day."""
    rows = {}
    for rep, g in days.groupby("rep_id", sort=True):
        conv = g.loc[g["conversations"] > 0, "day"].to_numpy()
        appt = g.loc[g["appointments"] > 0, "day"].to_numpy()
        idx = np.searchsorted(appt, conv, side="left")
        has_next = idx < len(appt)
        gaps = (appt[idx[has_next]] - conv[has_next]) / np.timedelta64(1, "D")
        rows[rep] = (float(np.median(gaps)) if len(gaps) else np.nan, len(gaps), len(conv))
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["days_to_appointment", "appointment_gaps", "conversation_days"]
    )


def _next_step(dataset: Dataset, start: pd.Timestamp, cutoff: pd.Timestamp, s: Settings) -> pd.DataFrame:
    """Per rep: opportunities created in ``[start, cutoff)`` and the share with a next step in time."""
    opps = dataset.opportunities
    created = opps.loc[(opps["created_at"] >= start) & (opps["created_at"] < cutoff), ["opportunity_id", "rep_id", "created_at"]]
    hist = dataset.table("opportunity_history")
    gated = set(s.stage_order[s.stage_order.index(s.gate_minimum_stage):]) | {s.stage_won}
    h = hist.loc[hist["stage"].isin(gated) & hist["expected_close_date"].notna(), ["opportunity_id", "changed_at"]]
    first = h.groupby("opportunity_id")["changed_at"].min()
    reached = created["opportunity_id"].map(first)
    ok = reached.notna() & (reached <= created["created_at"] + pd.Timedelta(days=s.routines_next_step_days))
    grouped = created.assign(ok=ok).groupby("rep_id")["ok"]
    return pd.DataFrame({"next_step_opportunities": grouped.size(), "next_step_share": grouped.mean()})


def routines(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Each rep's routines over ``[start, end)``, with won revenue and top-producer flag.

    The window defaults to :func:`salesx2lib.periods.trailing_range` of the as-of date over
    ``routines_window_weeks`` weeks; ``W`` = its length in weeks (days / 7).

    - ``conversation_days_per_week = #{days d : conversations(d) >= 1} / W``
    - ``days_to_appointment = median over conversation days d of (d' - d)`` in days, with
      ``d'`` the first day on or after ``d`` with an appointment (0 = same day); conversation
      days without a later appointment day in the window are left out (``appointment_gaps``
      counts the days used). Rep level, not deal level: the appointment need not come
      from that conversation
    - ``next_step_share = #{o : gate_at(o) <= created_at(o) + next_step_days} / #{o}`` over the
      opportunities created in ``[start, min(end, as_of) - next_step_days)`` (younger ones
      cannot be judged yet), ``gate_at`` = first history change to ``gate.minimum_stage`` or
      a later open stage or won, with an expected close date set
    - ``won_revenue`` = ``won_amount`` of :func:`salesx2lib.competency.rep_counts` (by close date)
    - ``top_producer = won_revenue >= quantile(won_revenue, routines_top_quantile)`` and
      ``won_revenue > 0``

    A routine whose table is missing is NaN and ``note`` says which table it needs.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``window_start``, ``window_end``,
        ``conversation_days``, ``conversation_days_per_week``, ``days_to_appointment``,
        ``appointment_gaps``, ``next_step_opportunities``, ``next_step_share``,
        ``won_revenue``, ``top_producer``, ``note``; one row per rep, sorted by team and rep.
    """
    s = settings or load_settings()
    lo, hi = periods.trailing_range(dataset.as_of, start, end, weeks=s.routines_window_weeks)
    weeks = (hi - lo) / pd.Timedelta(days=7)
    counts = competency.rep_counts(dataset, lo, hi)
    reps = dataset.reps
    out = reps[["rep_id", "team"]].assign(rep_name=reps["rep_name"] if "rep_name" in reps.columns else reps["rep_id"])
    out = out.assign(window_start=lo, window_end=hi).set_index("rep_id")
    out["won_revenue"] = counts.set_index("rep_id")["won_amount"].reindex(out.index).fillna(0.0)
    notes: list[str] = []
    if dataset.has("activities"):
        gaps = _days_to_appointment(daily_activity(dataset, lo, hi)).reindex(out.index)
        out["conversation_days"] = gaps["conversation_days"].fillna(0)
        out["conversation_days_per_week"] = out["conversation_days"] / weeks
        out["days_to_appointment"] = gaps["days_to_appointment"]
        out["appointment_gaps"] = gaps["appointment_gaps"].fillna(0)
    else:
        out[["conversation_days", "appointment_gaps"]] = 0
        out[["conversation_days_per_week", "days_to_appointment"]] = np.nan
        notes.append("conversation_days_per_week and days_to_appointment need the activities table")
    if dataset.has("opportunity_history"):
        cutoff = min(hi, dataset.as_of) - pd.Timedelta(days=s.routines_next_step_days)
        nxt = _next_step(dataset, lo, cutoff, s).reindex(out.index)
        out["next_step_opportunities"] = nxt["next_step_opportunities"].fillna(0)
        out["next_step_share"] = nxt["next_step_share"]
    else:
        out["next_step_opportunities"] = 0
        out["next_step_share"] = np.nan
        notes.append("next_step_share needs the opportunity_history table")
    won = out["won_revenue"]
    threshold = won.quantile(s.routines_top_quantile) if len(won) else np.nan
    out["top_producer"] = (won >= threshold) & (won > 0)
    out["note"] = "; ".join(notes)
    out = out.reset_index()[list(_ROUTINE_COLUMNS)].astype(_ROUTINE_COLUMNS)
    return out.sort_values(["team", "rep_id"]).reset_index(drop=True)


def _welch(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` with its Welch t interval."""
    if len(a) < 2 or len(b) < 2:
        return (float(a.mean() - b.mean()) if len(a) and len(b) else np.nan), np.nan, np.nan
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return diff, diff - half, diff + half


def routine_comparison(
    routines_frame: pd.DataFrame, *, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Top producers against the rest on each routine, and each routine's link to results.

    Per routine, over the reps where it is defined:
    ``difference = mean_top - mean_rest`` with the Welch t interval
    (``se = sqrt(s_top^2/n_top + s_rest^2/n_rest)``, Welch-Satterthwaite degrees of
    freedom); ``rho`` = Spearman's rank correlation of the routine with ``won_revenue``
    across reps with a bootstrap percentile interval over reps
    (:func:`salesx2lib.stats.rank_correlation`); ``matters`` when that interval excludes 0.

    Parameters
    ----------
    routines_frame
        Output of :func:`routines`.
    n_resamples, confidence, seed
        Of the bootstrap and both intervals.

    Returns
    -------
    pandas.DataFrame
        ``routine``, ``n_top``, ``n_rest`` (int64), ``mean_top``, ``mean_rest``,
        ``median_top``, ``difference``, ``diff_ci_low``, ``diff_ci_high``, ``rho``,
        ``rho_ci_low``, ``rho_ci_high`` (float64), ``matters`` (bool), ``better``
        (``higher``/``lower``: the direction that goes with more won revenue, from the sign
        of rho; ``""`` when rho is undefined); one row per routine of :data:`ROUTINES`.
    """
    missing = [c for c in ("rep_id", "won_revenue", "top_producer", *ROUTINES) if c not in routines_frame.columns]
    if missing:
        raise ValueError(f"routines_frame is missing column {missing[0]!r} (see routines.routines)")
    rows = []
    for name in ROUTINES:
        r = routines_frame.loc[routines_frame[name].notna()]
        top = r.loc[r["top_producer"], name].to_numpy(dtype="float64")
        rest = r.loc[~r["top_producer"], name].to_numpy(dtype="float64")
        diff, lo, hi = _welch(top, rest, confidence)
        rc = rank_correlation(r[name], r["won_revenue"], r["rep_id"], n_resamples=n_resamples,
                              confidence=confidence, seed=seed)
        matters = bool(np.isfinite(rc.ci_low) and (rc.ci_low > 0 or rc.ci_high < 0))
        rows.append(
            {
                "routine": name,
                "n_top": len(top),
                "n_rest": len(rest),
                "mean_top": top.mean() if len(top) else np.nan,
                "mean_rest": rest.mean() if len(rest) else np.nan,
                "median_top": np.median(top) if len(top) else np.nan,
                "difference": diff,
                "diff_ci_low": lo,
                "diff_ci_high": hi,
                "rho": rc.rho,
                "rho_ci_low": rc.ci_low,
                "rho_ci_high": rc.ci_high,
                "matters": matters,
                "better": "higher" if rc.rho > 0 else "lower" if rc.rho < 0 else "",
            }
        )
    out = pd.DataFrame(rows)
    return out.astype({"routine": "str", "n_top": "int64", "n_rest": "int64", "matters": "bool", "better": "str"})


def routine_gaps(routines_frame: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Each rep's distance to the top producers' median on the routines that matter.

    For each routine with ``matters`` in ``comparison``: ``gap = value - median_top``;
    ``shortfall = max(median_top - value, 0)`` when higher is better, ``max(value -
    median_top, 0)`` when lower is better (0: at or beyond the top producers; NaN when the
    rep's value is undefined).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``routine``, ``value``, ``top_median``, ``gap``,
        ``shortfall``; sorted by routine and shortfall (largest first). Empty when no
        routine matters.
    """
    rows = []
    for c in comparison.loc[comparison["matters"]].itertuples(index=False):
        value = routines_frame[c.routine].astype("float64")
        gap = value - c.median_top
        shortfall = (-gap if c.better == "higher" else gap).clip(lower=0)
        rows.append(
            routines_frame[["rep_id", "rep_name", "team"]].assign(
                routine=c.routine, value=value, top_median=float(c.median_top), gap=gap, shortfall=shortfall
            )
        )
    columns = ["rep_id", "rep_name", "team", "routine", "value", "top_median", "gap", "shortfall"]
    if not rows:
        empty = {c: pd.Series(dtype="str") for c in columns[:4]} | {c: pd.Series(dtype="float64") for c in columns[4:]}
        return pd.DataFrame(empty)
    out = pd.concat(rows, ignore_index=True).astype({"routine": "str"})
    out = out.sort_values(["routine", "shortfall"], ascending=[True, False], kind="stable", na_position="last")
    return out[columns].reset_index(drop=True)
