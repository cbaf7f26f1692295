"""Coaching priorities that follow principle 6: coach a real gap, back off self-starters.

Per rep and competency, :func:`competency_gains` compares the rep's posterior rate (the
beta posterior of the empirical-Bayes prior of :func:`salesx2lib.competency.funnel`; a
normal posterior for the average deal size) with a target: the team benchmark (median of
the tenured reps' shrunk rates, :func:`salesx2lib.gaps.benchmark_factors`) times the ramp
factor of a new hire (:func:`ramp_factors`, the ``[coaching]`` ramp curve). It gives the
probability that the true rate is below the target and the revenue raising it to the
target would add, as a posterior mean with a 95% interval and a hard ceiling.

:func:`coaching_review` then gives every rep one line: ``priority`` (a competency below
target with probability at least ``coaching.min_probability``, the one with the largest
expected gain), ``backed_off`` (self_sustained: general accountability, never coached),
``no_clear_gap`` (nothing below target with enough certainty) or ``no_data``.
:func:`coaching_priorities` keeps the ``priority`` lines, ranked by expected gain.

The gap decomposition of :mod:`salesx2lib.gaps` stays what it is: an exact description
of where a rep's funnel revenue differs from the benchmark. This module is the decision
built on it: it uses the decomposition's factors and benchmarks, not its log terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesx2lib import competency, gaps, periods, segments
from salesx2lib.dataset import Dataset
from salesx2lib.settings import Settings, load_settings

__all__ = [
    "STATUSES",
    "choose_priorities",
    "coaching_priorities",
    "coaching_review",
    "competency_gains",
    "priority_list",
    "ramp_factors",
]

#: The status of a rep in :func:`coaching_review`.
STATUSES: tuple[str, ...] = ("priority", "backed_off", "no_clear_gap", "no_data")

_RATES: tuple[str, ...] = ("connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate")
_LEVEL = 0.95  # the impact interval: 2.5% and 97.5% posterior quantiles

_GAIN_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "team": "str",
    "competency": "str",
    "trials": "int64",
    "successes": "int64",
    "current_rate": "float64",
    "benchmark_rate": "float64",
    "ramp_factor": "float64",
    "target_rate": "float64",
    "p_below": "float64",
    "unit_value": "float64",
    "revenue_impact": "float64",
    "impact_low": "float64",
    "impact_high": "float64",
    "impact_ceiling": "float64",
    "status": "str",
}


def ramp_factors(
    reps: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, settings: Settings | None = None
) -> pd.DataFrame:
    """Each rep's ramp factor over ``[start, end)``: the share of the benchmark expected of them.

    ``ramp(t) = ramp_start + (1 - ramp_start) * min(1, t / ramp_days)`` at tenure ``t`` days
    (the ``[coaching]`` settings), and ``ramp_factor = mean_d ramp(d - hire_date)`` over the
    whole days ``d`` of the window on or after the hire date (each day weighted equally).
    A rep hired ``ramp_days`` or more before the window, with an unknown hire date, or
    hired after it, gets 1: judged against the full benchmark.

    The curve is an assumption the user sets (their own onboarding plan), not something
    measured from the data.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``tenure_days`` (at the window's last day; NaN when unknown),
        ``ramp_factor`` (float64, in ``[ramp_start, 1]``).
    """
    s = settings or load_settings()
    if not 0.0 <= s.coaching_ramp_start <= 1.0 or s.coaching_ramp_days < 1:
        raise ValueError("coaching.ramp_start must be in [0, 1] and coaching.ramp_days at least 1")
    last_day = (end - pd.Timedelta(days=1)).normalize()
    hire = pd.to_datetime(reps["hire_date"]) if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    factors = []
    for h in hire:
        first = max(start.normalize(), h.normalize()) if pd.notna(h) else None
        if first is None or first > last_day:
            factors.append(1.0)
            continue
        tenure = (pd.date_range(first, last_day, freq="D") - h.normalize()).days.to_numpy(dtype="float64")
        ramp = s.coaching_ramp_start + (1.0 - s.coaching_ramp_start) * np.minimum(1.0, tenure / s.coaching_ramp_days)
        factors.append(float(ramp.mean()))
    tenure_days = (last_day - hire.dt.normalize()).dt.days.astype("float64")
    return pd.DataFrame(
        {"rep_id": reps["rep_id"].astype("str").to_numpy(), "tenure_days": tenure_days.to_numpy(),
         "ramp_factor": np.asarray(factors, dtype="float64")}
    )


def _amount_sd(deals: pd.DataFrame, teams: pd.DataFrame) -> pd.Series:
    """Pooled within-rep standard deviation of won amounts, per team.

    ``sd_team = sqrt(sum_r sum_i (a_i - mean_r)^2 / (N - k))`` over the team's ``k`` reps
    with won deals and their ``N`` won deals; NaN when ``N - k < 1``.
    """
    won = deals.loc[deals["won"] == 1, ["rep_id", "amount"]].merge(teams, on="rep_id", how="inner")
    if won.empty:
        return pd.Series(dtype="float64")
    dev = won["amount"] - won.groupby("rep_id")["amount"].transform("mean")
    per_team = won.assign(ss=dev**2).groupby("team").agg(ss=("ss", "sum"), n=("amount", "size"), k=("rep_id", "nunique"))
    dof = per_team["n"] - per_team["k"]
    return np.sqrt(per_team["ss"] / dof.where(dof >= 1))


def _beta_excess(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``E[(u - p)+]`` for ``p ~ Beta(a, b)``: ``u F(u; a, b) - a / (a + b) F(u; a + 1, b)`` (0 for u <= 0)."""
    with np.errstate(invalid="ignore"):
        out = u * sps.beta.cdf(u, a, b) - a / (a + b) * sps.beta.cdf(u, a + 1, b)
    return np.where(u > 0, out, 0.0)


def _normal_excess(u: np.ndarray, m: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E[(u - mu)+]`` for ``mu ~ N(m, sd^2)``: ``(u - m) Phi(z) + sd phi(z)``, ``z = (u - m) / sd``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (u - m) / sd
        return (u - m) * sps.norm.cdf(z) + sd * sps.norm.pdf(z)


def competency_gains(
    counts: pd.DataFrame,
    deals: pd.DataFrame,
    ramp: pd.DataFrame | None = None,
    *,
    benchmark: gaps.Benchmark = "median",
    settings: Settings | None = None,
    prior_deals: float = 2.0,
) -> pd.DataFrame:
    """Per rep and competency: P(true rate below target) and the revenue reaching it would add.

    **Target.** ``target = benchmark * ramp_factor``: ``benchmark`` is
    :func:`salesx2lib.gaps.benchmark_factors` (the team median, or top quartile, of the
    shrunk values) over the team's *tenured* reps (``ramp_factor == 1``); ``ramp_factor``
    comes from ``ramp`` (:func:`ramp_factors`; 1 for everyone when ``None``) and applies to
    the four rates, not to the deal size.

    **Posterior.** A rate (``connect_rate``, ``conversation_to_appointment``,
    ``appointment_to_opportunity``, ``win_rate``) with ``x = min(successes, trials)`` of
    ``n`` trials: ``p ~ Beta(alpha + x, beta + n - x)`` with the team prior of
    :func:`salesx2lib.competency.funnel` (its mean is ``shrunk_rate``). The average deal
    size: ``mu ~ N(shrunk_avg_deal_size, sd_team^2 / (won + m))``, the normal-normal
    reading of :func:`salesx2lib.competency.deal_size`'s credibility weighting (the team
    average counts as ``m = prior_deals`` deals) with ``sd_team`` the pooled within-rep
    standard deviation of the team's won amounts in ``deals`` (an approximation: the
    amounts are skewed, their mean much less so). ``p_below = P(p < target)``.

    **Gain** (the step alone, the rest of the rep's funnel unchanged)::

        gain = n * min(max(0, target - p), (n - x) / n) * unit_value
        unit_value: connect_rate                 c2a * q * a2o * win * size
                    conversation_to_appointment  q * a2o * win * size
                    appointment_to_opportunity   win * size
                    win_rate                     size
        deal size:  gain = won * min(max(0, target - mu), target)

    with the rep's own shrunk downstream rates and deal size (``q`` = prospect
    appointments / appointments, the share of booked appointments that can open a deal;
    1 without appointments) and ``n`` the rep's trials of that step in the range (dials,
    conversations, prospect appointments, decided deals; won deals for the size).
    ``revenue_impact = E[gain]`` under the posterior (exact, no draws),
    ``impact_low``/``impact_high`` its 2.5% and 97.5% quantiles.

    **Ceiling.** ``impact_ceiling = (n - x) * unit_value`` for a rate: every failed trial
    of that step turned into a success (the rate at 1; e.g. a win rate cannot win more
    than the rep's lost deals), downstream steps as they are; ``won * target`` for the
    deal size. ``impact_low <= impact_high <= impact_ceiling`` and ``revenue_impact <=
    impact_ceiling`` always (the mean can exceed ``impact_high`` when ``p_below < 0.025``:
    the quantile is then 0, the mean a small positive amount). Uncertainty of
    the downstream factors is not in the interval (they are taken at their shrunk values).

    Parameters
    ----------
    counts
        :func:`salesx2lib.competency.rep_counts` over one range (no ``freq``).
    deals
        :func:`salesx2lib.competency.closed_deals` over the same range (for the spread
        of won amounts).
    ramp
        ``rep_id``, ``ramp_factor`` (:func:`ramp_factors`); ``None``: nobody ramps.
    benchmark
        ``median`` or ``top_quartile``.
    settings
        The settings (packaged defaults when ``None``); only ``[coaching]`` is read.
    prior_deals
        ``m`` of :func:`salesx2lib.competency.deal_size`.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``competency``, ``trials``, ``successes`` (int64; for the
        deal size both are the won deals), ``current_rate`` (posterior mean: shrunk rate
        or shrunk average deal size), ``benchmark_rate``, ``ramp_factor``,
        ``target_rate``, ``p_below``, ``unit_value``, ``revenue_impact``, ``impact_low``,
        ``impact_high``, ``impact_ceiling`` (float64), ``status`` (``observed``,
        ``prior_only``, ``undefined``: as in :func:`salesx2lib.gaps.rep_factors`; the
        figures are NaN and the gains 0 unless ``observed``); five rows per rep.

    Raises
    ------
    MissingTableError
        If ``counts`` has no activity counts.
    """
    factors = gaps.rep_factors(counts)
    ramp_by_rep = (
        ramp.set_index("rep_id")["ramp_factor"] if ramp is not None else pd.Series(dtype="float64")
    )
    factors = factors.assign(ramp_factor=factors["rep_id"].map(ramp_by_rep).fillna(1.0).astype("float64"))
    tenured = factors.loc[factors["ramp_factor"] >= 1.0]
    bench = gaps.benchmark_factors(tenured, benchmark)[["team", "factor", "benchmark_value"]]
    wide = factors.pivot(index="rep_id", columns="factor", values="rep_value").reindex(columns=list(gaps.FACTORS))
    c = counts.set_index("rep_id")
    appts = c["appointments"].to_numpy(dtype="float64")
    prospect = np.where(appts > 0, c["prospect_appointments"].to_numpy(dtype="float64") / np.maximum(appts, 1), 1.0)
    q = pd.Series(prospect, index=c.index)
    w = wide.reindex(c.index)
    size = w["avg_deal_size"]
    units = {
        "win_rate": size,
        "appointment_to_opportunity": w["win_rate"] * size,
        "conversation_to_appointment": q * w["appointment_to_opportunity"] * w["win_rate"] * size,
    }
    units["connect_rate"] = w["conversation_to_appointment"] * units["conversation_to_appointment"]
    units["avg_deal_size"] = pd.Series(1.0, index=c.index)

    f = competency.funnel(counts)
    f = f.assign(x=np.minimum(f["successes"], f["trials"]))
    rates = f[["rep_id", "metric", "trials", "x", "prior_alpha", "prior_beta"]].rename(columns={"metric": "factor"})
    ds = competency.deal_size(counts, prior_deals)
    sd_team = _amount_sd(deals, counts[["rep_id", "team"]])
    sizes = pd.DataFrame(
        {
            "rep_id": ds["rep_id"],
            "factor": "avg_deal_size",
            "trials": ds["won"],
            "x": ds["won"],
            "sd": ds["team"].map(sd_team).to_numpy(dtype="float64") / np.sqrt(ds["won"].to_numpy(dtype="float64") + prior_deals),
        }
    )
    rows = factors.loc[factors["factor"].isin(gaps.COMPETENCY_FACTORS)]
    rows = rows.merge(bench, on=["team", "factor"], how="left").merge(
        pd.concat([rates, sizes], ignore_index=True), on=["rep_id", "factor"], how="left"
    )
    is_size = (rows["factor"] == "avg_deal_size").to_numpy()
    ramp_f = np.where(is_size, 1.0, rows["ramp_factor"].to_numpy(dtype="float64"))
    target = rows["benchmark_value"].to_numpy(dtype="float64") * ramp_f
    m = rows["rep_value"].to_numpy(dtype="float64")
    n = rows["trials"].to_numpy(dtype="float64")
    x = rows["x"].to_numpy(dtype="float64")
    a = rows["prior_alpha"].to_numpy(dtype="float64") + x
    b = rows["prior_beta"].to_numpy(dtype="float64") + n - x
    sd = rows["sd"].to_numpy(dtype="float64")
    unit = np.array([units[fac].get(rep, np.nan) for rep, fac in zip(rows["rep_id"], rows["factor"], strict=True)])
    # cap: the largest rise the step allows (the rate at 1; the deal size down to 0)
    cap = np.where(is_size, target, np.where(n > 0, (n - x) / np.maximum(n, 1), 0.0))
    lo_q, hi_q = (1 - _LEVEL) / 2, 1 - (1 - _LEVEL) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        p_below = np.where(is_size, sps.norm.cdf((target - m) / sd), sps.beta.cdf(target, a, b))
        excess = np.where(
            is_size,
            _normal_excess(target, m, sd) - _normal_excess(target - cap, m, sd),
            _beta_excess(target, a, b) - _beta_excess(target - cap, a, b),
        )
        p_hi = np.where(is_size, sps.norm.ppf(hi_q, m, sd), sps.beta.ppf(hi_q, a, b))
        p_lo = np.where(is_size, sps.norm.ppf(lo_q, m, sd), sps.beta.ppf(lo_q, a, b))
    scale = n * unit
    usable = (
        (rows["status"] == "observed").to_numpy()
        & np.isfinite(target) & np.isfinite(scale) & np.isfinite(p_below) & (n > 0)
    )

    def clip(value: np.ndarray) -> np.ndarray:  # the rise a posterior value leaves to the target, capped
        return np.minimum(np.maximum(target - value, 0.0), cap)

    out = pd.DataFrame(
        {
            "rep_id": rows["rep_id"],
            "team": rows["team"],
            "competency": rows["factor"],
            "trials": rows["trials"].fillna(0),
            "successes": rows["x"].fillna(0),
            "current_rate": m,
            "benchmark_rate": rows["benchmark_value"],
            "ramp_factor": ramp_f,
            "target_rate": target,
            "p_below": np.where(usable, p_below, np.nan),
            "unit_value": unit,
            "revenue_impact": np.where(usable, scale * np.maximum(excess, 0.0), 0.0),
            "impact_low": np.where(usable, scale * clip(p_hi), 0.0),
            "impact_high": np.where(usable, scale * clip(p_lo), 0.0),
            "impact_ceiling": np.where(usable, scale * cap, 0.0),
            "status": rows["status"],
        }
    )
    return out.astype(_GAIN_COLUMNS).reset_index(drop=True)


def choose_priorities(gains: pd.DataFrame, segment: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Each rep's coaching decision from :func:`competency_gains` and the rep's segment.

    ``status``: ``backed_off`` if the segment is ``self_sustained``; else ``priority`` if
    some competency has ``p_below >= coaching.min_probability`` and ``revenue_impact > 0``
    (the competency shown is the one with the largest ``revenue_impact``); else
    ``no_clear_gap`` (the competency shown is the one with the highest ``p_below``, the
    closest to a priority; none when nothing can be compared).

    Parameters
    ----------
    gains
        :func:`competency_gains`.
    segment
        ``rep_id``, ``segment`` (a rep missing here is ``unknown``: never backed off).
    settings
        The settings (packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``segment``, ``status``, then the columns of
        :func:`competency_gains` for the competency shown (``competency`` ... ``impact_ceiling``);
        one row per rep of ``gains``.
    """
    s = settings or load_settings()
    if not 0.0 < s.coaching_min_probability < 1.0:
        raise ValueError(f"coaching.min_probability must be between 0 and 1, not {s.coaching_min_probability!r}")
    candidates = gains.loc[(gains["p_below"] >= s.coaching_min_probability) & (gains["revenue_impact"] > 0)]
    best = candidates.sort_values("revenue_impact", ascending=False, kind="stable").drop_duplicates("rep_id")
    closest = gains.loc[gains["p_below"].notna()].sort_values("p_below", ascending=False, kind="stable")
    closest = closest.loc[~closest["rep_id"].isin(best["rep_id"])].drop_duplicates("rep_id")
    chosen = pd.concat([best, closest], ignore_index=True).drop(columns=["team", "status", "successes", "unit_value"])
    reps = gains[["rep_id", "team"]].drop_duplicates("rep_id")
    out = reps.merge(chosen, on="rep_id", how="left").merge(segment[["rep_id", "segment"]], on="rep_id", how="left")
    out = out.assign(segment=out["segment"].fillna("unknown").astype("str"))
    status = np.select(
        [out["segment"].eq("self_sustained"), out["rep_id"].isin(best["rep_id"])], ["backed_off", "priority"],
        default="no_clear_gap",
    )
    out = out.assign(status=pd.Series(status, index=out.index, dtype="str"), trials=out["trials"].fillna(0))
    columns = ["rep_id", "team", "segment", "status", "competency", "trials", "current_rate", "benchmark_rate",
               "ramp_factor", "target_rate", "p_below", "revenue_impact", "impact_low", "impact_high", "impact_ceiling"]
    return out[columns].astype({"trials": "int64", "competency": "str"}).reset_index(drop=True)


def _current_segments(
    dataset: Dataset, as_of: pd.Timestamp, settings: Settings, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``rep_id``, ``segment``: each rep's current segment, the one place coaching learns it.

    The segment to act on: :func:`salesx2lib.segments.current_segments` (month-end reviews
    with hysteresis), the same one notebook 03 and the weekly report show.

    ``unknown`` for every rep when the dataset has no quotas (segments need them).
    """
    if not dataset.has("quotas"):
        return pd.DataFrame({"rep_id": dataset.reps["rep_id"].astype("str"), "segment": "unknown"})
    return segments.current_segments(dataset, as_of, settings, history=history)[["rep_id", "segment"]]


def _show(competency_name: str, value: float) -> str:
    return f"{value:,.0f}" if competency_name == "avg_deal_size" else f"{value:.1%}"


def _sentence(r: pd.Series, s: Settings) -> str:
    who = f"{r['rep_name']} ({r['rep_id']})"
    if r["status"] == "backed_off":
        return f"{who}: self_sustained, backed off: general accountability, a monthly look at results, no coaching."
    if r["status"] == "no_data":
        return f"{who}: no funnel to judge in the window (no dials)."
    name = gaps.FACTOR_NAMES.get(r["competency"], r["competency"])
    if r["status"] == "no_clear_gap":
        if pd.isna(r["p_below"]):
            return f"{who}: no competency can be compared with a target."
        return (f"{who}: no clear gap: no competency is below its target with P >= {s.coaching_min_probability:.0%} "
                f"(closest: {name}, P = {r['p_below']:.0%}).")
    ramp = f", ramp-adjusted to {r['ramp_factor']:.0%} of the team's {_show(r['competency'], r['benchmark_rate'])}" \
        if r["ramp_factor"] < 1 else " (the team's)"
    return (f"{who}: {name} {_show(r['competency'], r['current_rate'])} against a target of "
            f"{_show(r['competency'], r['target_rate'])}{ramp}; P(true value below target) {r['p_below']:.0%}; "
            f"reaching it would add about {r['revenue_impact']:,.0f} over the window's activity "
            f"(95% interval {r['impact_low']:,.0f} to {r['impact_high']:,.0f}).")


def coaching_review(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    *,
    benchmark: gaps.Benchmark = "median",
    weeks: int = 13,
    settings: Settings | None = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every rep's coaching decision: the priority, or why there is none.

    Over ``[start, end)`` (by default :func:`salesx2lib.periods.trailing_range` of the
    dataset's as-of date over ``weeks`` weeks), with :func:`competency_gains` per rep and
    competency and the rep's current segment (as of the range's last day, or the as-of
    date if earlier):

    - ``backed_off``: the rep is ``self_sustained``; principle 6: general accountability,
      never on the coaching list, whatever the gaps;
    - ``priority``: some competency has ``p_below >= coaching.min_probability`` and a
      positive expected gain; the one with the largest ``revenue_impact`` (E[gain]) is
      the rep's priority;
    - ``no_clear_gap``: none has; the row shows the competency with the highest
      ``p_below`` (the closest to a priority);
    - ``no_data``: no dials in the range (no funnel).

    Without a quotas table no segment is known (``segment = unknown``) and nobody is
    backed off: the sentence cannot say who the self-starters are.

    Parameters
    ----------
    dataset
        The data (narrow it to a team first if needed); needs activities.
    start, end
        The range ``[start, end)``; the trailing ``weeks`` weeks by default.
    benchmark
        ``median`` (default) or ``top_quartile`` of the team's tenured reps.
    weeks
        Length of the default range.
    settings
        The settings (the packaged defaults when ``None``).
    history
        :func:`salesx2lib.segments.segment_history` of the same dataset and settings, when
        the caller has it already (the weekly report shows it too): the segments are then
        not recomputed; rows after the range's last day are ignored.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``segment``, ``status``, the columns of
        :func:`competency_gains` for the competency shown (``competency``, ``trials``,
        ``current_rate``, ``benchmark_rate``, ``ramp_factor``, ``target_rate``,
        ``p_below``, ``revenue_impact``, ``impact_low``, ``impact_high``,
        ``impact_ceiling``), ``won_revenue`` (won amount in the range, to compare the
        impact with), ``won_without_amount`` (won deals in the range without an amount,
        not in ``won_revenue``), ``window_start``, ``window_end``, ``sentence``; one row per rep,
        by team and rep.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    s = settings or load_settings()
    lo, hi = periods.trailing_range(dataset.as_of, start, end, weeks=weeks)
    counts = competency.rep_counts(dataset, lo, hi)
    deals = competency.closed_deals(dataset.opportunities, lo, hi)
    gains = competency_gains(counts, deals, ramp_factors(dataset.reps, lo, hi, s), benchmark=benchmark, settings=s)
    when = min(hi - pd.Timedelta(days=1), dataset.as_of)
    decided = choose_priorities(gains, _current_segments(dataset, when, s, history), s)
    reps = dataset.reps[["rep_id"]].assign(
        rep_name=dataset.reps["rep_name"] if "rep_name" in dataset.reps.columns else dataset.reps["rep_id"]
    )
    out = decided.merge(reps, on="rep_id", how="left").merge(counts[["rep_id", "won_amount", "won_without_amount", "dials"]], on="rep_id")
    out = out.assign(
        status=out["status"].where(~(out["status"].eq("no_clear_gap") & out["dials"].eq(0)), "no_data"),
        won_revenue=out["won_amount"],
        window_start=lo,
        window_end=hi,
    )
    out = out.assign(sentence=[_sentence(r, s) for _, r in out.iterrows()])
    columns = ["rep_id", "rep_name", "team", "segment", "status", "competency", "trials", "current_rate",
               "benchmark_rate", "ramp_factor", "target_rate", "p_below", "revenue_impact", "impact_low", "impact_high",
               "impact_ceiling", "won_revenue", "won_without_amount", "window_start", "window_end", "sentence"]
    types = {"rep_id": "str", "rep_name": "str", "team": "str", "segment": "str", "status": "str", "competency": "str",
             "trials": "int64", "won_without_amount": "int64", "sentence": "str", "window_start": "datetime64[us]", "window_end": "datetime64[us]"}
    return out[columns].astype(types).sort_values(["team", "rep_id"], kind="stable").reset_index(drop=True)


def coaching_priorities(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    *,
    benchmark: gaps.Benchmark = "median",
    weeks: int = 13,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The coaching list: each rep's priority competency, ranked by the revenue it is expected to add.

    The ``priority`` rows of :func:`coaching_review`: a competency whose true rate (or
    deal size) is below the target (the tenured team benchmark, times the ramp factor
    for a new hire) with posterior probability ``p_below >= coaching.min_probability``;
    among those, the one with the largest ``revenue_impact = E[gain]`` (see
    :func:`competency_gains` for the gain, its 95% interval and its ceiling). Ranked by
    ``revenue_impact``, not by the point gap, so a large gap measured on few trials does
    not outrank a certain one.

    Self_sustained reps are never listed (``backed_off`` in :func:`coaching_review`, which
    is where a manager reads why someone is absent), nor are reps without a gap that is
    certain enough.

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = the largest expected gain), ``team_rank`` (the same within the team),
        then the columns of :func:`coaching_review` except ``status``.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    return priority_list(coaching_review(dataset, start, end, benchmark=benchmark, weeks=weeks, settings=settings))


def priority_list(review: pd.DataFrame) -> pd.DataFrame:
    """The ``priority`` rows of a :func:`coaching_review`, ranked: what :func:`coaching_priorities` returns.

    ``rank`` orders by ``revenue_impact`` (largest first), ``team_rank`` within the team;
    use it when the review is already at hand (a notebook that also shows who is backed off).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``team_rank``, then the columns of ``review`` except ``status``.
    """
    out = review.loc[review["status"] == "priority"].drop(columns="status")
    out = out.sort_values("revenue_impact", ascending=False, kind="stable").reset_index(drop=True)
    out = out.assign(
        rank=np.arange(1, len(out) + 1, dtype="int64"),
        team_rank=out.groupby("team").cumcount().astype("int64") + 1,
    )
    return out[["rank", "team_rank", *[c for c in out.columns if c not in ("rank", "team_rank")]]]
