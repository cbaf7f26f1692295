"""Self-starter segmentation: who to back off from, who to coach, and how (principle 6).

Over a trailing window (13 weeks by default) :func:`rep_scores` measures each rep's
attainment (won revenue / prorated quota), consistency (months at quota, coefficient of
variation of monthly attainment), trend (OLS slope of weekly won revenue with a 95%
interval), competency percentile (the mean percentile of the rep's shrunk funnel rates in
the team) and tenure. :func:`segment` applies the transparent rules of the ``[segments]``
settings to put each rep in exactly one segment, in this order:

1. ``ramping``: tenure below ``ramping_days`` (onboarding plan);
2. ``self_sustained``: attainment, share of months at quota and competency percentile all
   at or above their thresholds (general accountability: back off);
3. ``developing``: attainment at least ``developing_attainment``, or at least
   ``improving_attainment`` with a clearly rising trend (milestone coaching);
4. ``hands_on``: everyone else (weekly ride-alongs on one competency).

Every row says why in words and which self_sustained criteria are still open. The rules
are monotonic in attainment: raising it never moves a rep to a lower segment. Attainment
carries its uncertainty: ``attainment_ci_low``/``attainment_ci_high`` and ``p_at_quota``
(the posterior probability that the rep's underlying attainment is at least 1, from the
window's won deals: :func:`attainment_confidence`).

Those rules judge one date. A rep's segment over time follows them with hysteresis
(:func:`hysteresis`, the state machine of docs/metrics-segments.md): evaluated at month
ends, a rep enters a better segment only after ``enter_evaluations`` (3 by default)
consecutive evaluations past its rule, and leaves it only after ``exit_evaluations`` (2 by
default) below a lower exit threshold. Three to enter because each evaluation looks at the
trailing 13 weeks: two consecutive month ends share 8 or 9 of them, while three span 21 or
more. Two to leave because the lower exit threshold already absorbs the noise and a wrong
"back off" costs more than a late promotion (a slipping rep needs attention quickly).
:func:`segment_history` runs it over the month ends, :func:`current_segments` gives each
rep's segment as of a date (the state after the last month end), :func:`transitions`
lists who moved up, who slipped and which moves reverse the previous one, and
:func:`stability` counts them. Everything needs the ``quotas`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesx2lib import competency, periods
from salesx2lib.dataset import Dataset
from salesx2lib.kpis import prorated_quota
from salesx2lib.settings import Settings, load_settings

__all__ = [
    "MANAGEMENT_STYLES",
    "SEGMENTS",
    "SEGMENT_RANK",
    "attainment_confidence",
    "current_segments",
    "hysteresis",
    "hysteresis_path",
    "rep_scores",
    "segment",
    "segment_history",
    "stability",
    "transitions",
]

#: The segments, from the most to the least hands-on management.
SEGMENTS: tuple[str, ...] = ("ramping", "hands_on", "developing", "self_sustained")

#: Order used for transitions and the monotonicity guarantee (ramping sits apart: tenure decides it).
SEGMENT_RANK: dict[str, int] = {"ramping": 0, "hands_on": 1, "developing": 2, "self_sustained": 3}

#: The management style each segment calls for.
MANAGEMENT_STYLES: dict[str, str] = {
    "self_sustained": "general accountability: back off, review results monthly",
    "developing": "milestone coaching: agree the next milestone and review it every two weeks",
    "hands_on": "hands-on: weekly ride-alongs on one competency, the one whose gap costs most",
    "ramping": "onboarding plan: ramp targets for activity and ratios, weekly check-ins",
}

_SCORE_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "as_of": "datetime64[us]",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
    "won_revenue": "float64",
    "quota": "float64",
    "attainment": "float64",
    "won_deals": "int64",
    "attainment_ci_low": "float64",
    "attainment_ci_high": "float64",
    "p_at_quota": "float64",
    "months": "int64",
    "months_at_quota": "int64",
    "months_at_quota_share": "float64",
    "attainment_cv": "float64",
    "trend_slope": "float64",
    "trend_ci_low": "float64",
    "trend_ci_high": "float64",
    "competency_percentile": "float64",
    "n_competencies": "int64",
    "tenure_days": "float64",
}


def _month_slices(start: pd.Timestamp, end: pd.Timestamp, min_days: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The parts of ``[start, end)`` in each calendar month, keeping those of ``min_days`` days or more."""
    slices = []
    month = start.normalize().replace(day=1)
    while month < end:
        nxt = month + pd.offsets.MonthBegin(1)
        lo, hi = max(start, month), min(end, nxt)
        if (hi - lo).days >= min_days:
            slices.append((lo, hi))
        month = nxt
    return slices


def _won(opps: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    """Won revenue per rep, by close date in ``[lo, hi)`` (:func:`competency.closed_deals`)."""
    return competency.closed_deals(opps, lo, hi).groupby("rep_id")["won_amount"].sum()


def _trend(weekly: np.ndarray) -> tuple[float, float, float]:
    """OLS slope of ``weekly`` against the week index, with its t-based 95% interval."""
    x = np.arange(len(weekly), dtype="float64")
    if len(weekly) < 3:
        return np.nan, np.nan, np.nan
    if np.ptp(weekly) == 0:  # the same revenue every week (often none): flat, exactly
        return 0.0, 0.0, 0.0
    fit = sps.linregress(x, weekly)
    half = float(sps.t.ppf(0.975, len(weekly) - 2)) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)


def attainment_confidence(
    amounts: Sequence[float] | np.ndarray, quota: float, level: float = 0.95
) -> tuple[float, float, float]:
    """Interval on a rep's underlying attainment and ``P(attainment >= 1)``, from the won deals.

    The window's won revenue is a sum of deals ``a_1 ... a_n``. What the rep would win in
    such a window on average, ``mu``, is uncertain because which deals happened to close
    in the window is luck. Model: deals close as a Poisson process and their amounts come
    from the rep's own distribution; the Bayesian bootstrap of that process (a Dirichlet
    process with no prior weight, as in Rubin's Bayesian bootstrap, with a Gamma posterior
    on the deal count) gives ``mu = sum_i E_i a_i`` with ``E_i`` independent Exp(1).
    Its mean is the observed revenue ``S1 = sum a_i`` and its variance ``S2 = sum a_i^2``,
    the compound-Poisson variance estimate. We use the Gamma distribution with those two
    moments (exact when all amounts are equal: then ``mu`` is Gamma(n, a)):

        mu ~ Gamma(shape = S1^2 / S2, scale = S2 / S1)
        attainment_ci = Gamma quantiles (1 -+ level) / 2 of mu, divided by quota
        p_at_quota    = P(mu >= quota)

    Parameters
    ----------
    amounts
        The amounts of the rep's deals won in the window (zero amounts add nothing).
    quota
        The prorated quota of the window.
    level
        The interval's coverage (0.95).

    Returns
    -------
    tuple of float
        ``(ci_low, ci_high, p_at_quota)``; all NaN without a positive quota or without a won
        deal with a positive amount (no deal, no measure of the spread).
    """
    a = np.asarray(amounts, dtype="float64")
    a = a[np.isfinite(a) & (a > 0)]
    if not (pd.notna(quota) and quota > 0) or len(a) == 0:
        return np.nan, np.nan, np.nan
    s1, s2 = float(a.sum()), float((a**2).sum())
    shape, scale = s1**2 / s2, s2 / s1
    tail = (1.0 - level) / 2.0
    low, high = sps.gamma.ppf([tail, 1.0 - tail], shape, scale=scale) / quota
    return float(low), float(high), float(sps.gamma.sf(quota, shape, scale=scale))


def _competency_percentile(dataset: Dataset, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Mean mid-rank percentile of each rep's shrunk funnel rates within its team.

    ``percentile_m = 100 * (rank_m - 0.5) / n_m`` with ``rank_m`` the average rank of the
    rep's ``shrunk_rate`` among the ``n_m`` reps of the team whose metric ``m`` is defined
    (at least one trial); the median rep scores 50. The rep's percentile is the mean over
    its defined metrics.
    """
    f = competency.funnel(competency.rep_counts(dataset, start, end))
    f = f.loc[f["defined"]]
    grouped = f.groupby(["team", "metric"])["shrunk_rate"]
    pct = 100.0 * (grouped.rank(method="average") - 0.5) / grouped.transform("count")
    out = f.assign(pct=pct).groupby("rep_id")["pct"].agg(["mean", "count"])
    return out.rename(columns={"mean": "competency_percentile", "count": "n_competencies"})


def rep_scores(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Each rep's attainment, consistency, trend, competency percentile and tenure.

    The window is ``[start, end)`` = :func:`salesx2lib.periods.trailing_range` of ``as_of``
    over ``segments_window_weeks`` weeks (it ends on the Monday after the latest complete
    week). With ``won`` the amounts of won deals closed in a range (by close date) and
    ``quota`` the prorated quota (:func:`salesx2lib.kpis.prorated_quota`):

    - ``attainment = won(window) / quota(window)`` (NaN without quota in the window);
      ``won_deals`` the number of deals won in the window; ``attainment_ci_low``,
      ``attainment_ci_high`` (95%) and ``p_at_quota = P(attainment >= 1)`` from
      :func:`attainment_confidence` of those deals
    - months: the parts of the window in each calendar month with at least
      ``segments_min_month_days`` days; ``a_m = won(m) / quota(m)``;
      ``months_at_quota = #{m : a_m >= 1}``, ``months_at_quota_share = months_at_quota / months``,
      ``attainment_cv = std(a_m) / mean(a_m)`` (population std; NaN with no month or mean 0)
    - ``trend_slope``: OLS slope of won revenue per week against the week index (currency
      per week, per week), with a t-based 95% interval (``trend_ci_low``, ``trend_ci_high``).
      Weekly rather than monthly: three monthly points leave one degree of freedom and an
      interval too wide to say anything
    - ``competency_percentile``: mean over the funnel metrics of ``100 (rank - 0.5) / n``,
      the rep's mid-rank among the team's reps on the shrunk rate of
      :func:`salesx2lib.competency.funnel` over the window (50 = the team median)
    - ``tenure_days = floor_day(as_of) - hire_date`` in days (NaN when unknown)

    Reps hired after ``as_of`` are left out.

    Parameters
    ----------
    dataset
        The data (narrow it to a team first if needed); needs ``quotas``.
    as_of
        The date to score as of; the dataset's as-of date by default.
    settings
        The settings (the packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``as_of``, ``window_start``, ``window_end``,
        ``won_revenue``, ``quota``, ``attainment``, ``won_deals``, ``attainment_ci_low``,
        ``attainment_ci_high``, ``p_at_quota``, ``months``, ``months_at_quota``,
        ``months_at_quota_share``, ``attainment_cv``, ``trend_slope``, ``trend_ci_low``,
        ``trend_ci_high``, ``competency_percentile``, ``n_competencies``, ``tenure_days``;
        one row per rep, sorted by team and rep.

    Raises
    ------
    MissingTableError
        If the dataset has no quotas table.
    """
    dataset.require("quotas")
    s = settings or load_settings()
    when = periods.to_timestamp(as_of if as_of is not None else dataset.as_of, "as-of date")
    start, end = periods.trailing_range(when, weeks=s.segments_window_weeks)
    reps = dataset.reps
    hire = reps["hire_date"] if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    tenure = (when.normalize() - pd.to_datetime(hire)).dt.days.astype("float64")
    keep = tenure.isna() | (tenure >= 0)
    reps, tenure = reps.loc[keep], tenure.loc[keep]
    quotas = dataset.table("quotas")
    opps = dataset.opportunities
    slices = _month_slices(start, end, s.segments_min_month_days)
    week_starts = pd.date_range(start, end, freq="7D", inclusive="left", unit="us")
    won_total = _won(opps, start, end)
    decided = competency.closed_deals(opps, start, end)
    won_amounts = decided.loc[decided["won"] == 1].groupby("rep_id")["won_amount"].apply(np.asarray)
    won_months = [_won(opps, lo, hi) for lo, hi in slices]
    won_weeks = [_won(opps, w, w + periods.WEEK) for w in week_starts]
    pct = _competency_percentile(dataset, start, end)
    rows = []
    for rep, days in zip(reps.itertuples(index=False), tenure, strict=True):
        q_rep = quotas.loc[quotas["rep_id"] == rep.rep_id]
        won = float(won_total.get(rep.rep_id, 0.0))
        quota = prorated_quota(q_rep, start, end)
        amounts = won_amounts.get(rep.rep_id, np.array([], dtype="float64"))
        ci_low, ci_high, p_at_quota = attainment_confidence(amounts, quota)
        monthly = []
        for (lo, hi), w in zip(slices, won_months, strict=True):
            q = prorated_quota(q_rep, lo, hi)
            if q > 0:
                monthly.append(float(w.get(rep.rep_id, 0.0)) / q)
        a_m = np.asarray(monthly)
        at_quota = int((a_m >= 1.0).sum())
        mean = a_m.mean() if len(a_m) else np.nan
        cv = float(a_m.std() / mean) if len(a_m) and mean > 0 else np.nan
        slope, lo_ci, hi_ci = _trend(np.array([float(w.get(rep.rep_id, 0.0)) for w in won_weeks]))
        rows.append(
            {
                "rep_id": rep.rep_id,
                "rep_name": getattr(rep, "rep_name", rep.rep_id),
                "team": rep.team,
                "as_of": when,
                "window_start": start,
                "window_end": end,
                "won_revenue": won,
                "quota": quota,
                "attainment": won / quota if quota > 0 else np.nan,
                "won_deals": len(amounts),
                "attainment_ci_low": ci_low,
                "attainment_ci_high": ci_high,
                "p_at_quota": p_at_quota,
                "months": len(a_m),
                "months_at_quota": at_quota,
                "months_at_quota_share": at_quota / len(a_m) if len(a_m) else np.nan,
                "attainment_cv": cv,
                "trend_slope": slope,
                "trend_ci_low": lo_ci,
                "trend_ci_high": hi_ci,
                "competency_percentile": pct["competency_percentile"].get(rep.rep_id, np.nan),
                "n_competencies": int(pct["n_competencies"].get(rep.rep_id, 0)),
                "tenure_days": days,
            }
        )
    out = pd.DataFrame(rows, columns=list(_SCORE_COLUMNS)).astype(_SCORE_COLUMNS)
    return out.sort_values(["team", "rep_id"]).reset_index(drop=True)


def _ge(value: float, threshold: float) -> bool:
    """``value >= threshold``, False for a missing value."""
    return bool(pd.notna(value) and value >= threshold)


def _attainment_words(r: dict) -> str:
    """``attainment 112% (95% interval 80% to 150%, P(at quota) 0.74, 9 won deals)``."""
    att = r["attainment"]
    if pd.isna(att):
        return "no quota in the window"
    words = f"attainment {att:.0%}"
    if "p_at_quota" not in r:  # a frame without the confidence columns
        return words
    n = int(r["won_deals"]) if pd.notna(r.get("won_deals")) else 0
    deals = f"{n} won deal{'' if n == 1 else 's'}"
    if pd.isna(r["p_at_quota"]):
        return f"{words} ({deals}: too few to judge how sure)"
    return (f"{words} (95% interval {r['attainment_ci_low']:.0%} to {r['attainment_ci_high']:.0%}, "
            f"P(at quota) {r['p_at_quota']:.2f}, {deals})")


def _classify(r: dict, s: Settings) -> tuple[str, str, str]:
    """(segment, reason, open criteria) of one row of :func:`rep_scores`."""
    att, share, pct = r["attainment"], r["months_at_quota_share"], r["competency_percentile"]
    tenure = r["tenure_days"]
    if pd.isna(pct):
        where = "competencies unknown"
    else:
        side = "above" if pct > 50 else "below" if pct < 50 else "at"
        where = f"competencies {side} team median (percentile {pct:.0f})"
    facts = [
        _attainment_words(r),
        f"{r['months_at_quota']} of {r['months']} months at quota",
        where,
    ]
    rising = bool(pd.notna(r["trend_ci_low"]) and r["trend_ci_low"] > 0)
    if rising:
        facts.append(f"won revenue rising ({r['trend_slope']:+,.0f} a week per week)")
    ramping = pd.notna(tenure) and tenure < s.segments_ramping_days
    criteria = {
        f"tenure at least {s.segments_ramping_days} days (now {tenure:.0f})": not ramping,
        f"attainment at least {s.segments_self_sustained_attainment:.0%}"
        + (f" (now {att:.0%})" if pd.notna(att) else " (no quota)"): _ge(att, s.segments_self_sustained_attainment),
        f"at quota in at least {s.segments_self_sustained_months_share:.0%} of months "
        f"(now {r['months_at_quota']} of {r['months']})": _ge(share, s.segments_self_sustained_months_share),
        f"competency percentile at least {s.segments_self_sustained_percentile:.0f}"
        + (f" (now {pct:.0f})" if pd.notna(pct) else ""): _ge(pct, s.segments_self_sustained_percentile),
    }
    open_criteria = "; ".join(k for k, met in criteria.items() if not met)
    reason = ", ".join(facts)
    if ramping:
        return "ramping", f"tenure {tenure:.0f} days, under the {s.segments_ramping_days}-day ramp; {reason}", open_criteria
    if all(criteria.values()):
        return "self_sustained", reason, open_criteria
    if _ge(att, s.segments_developing_attainment):
        return "developing", f"{reason}; not yet self_sustained", open_criteria
    if _ge(att, s.segments_improving_attainment) and rising:
        return "developing", f"{reason}; below {s.segments_developing_attainment:.0%} but rising", open_criteria
    if pd.isna(att):
        return "developing", f"{reason}; attainment cannot be judged without a quota", open_criteria
    return "hands_on", f"{reason}; attainment under {s.segments_developing_attainment:.0%}", open_criteria


def segment(scores: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Put each rep of :func:`rep_scores` in exactly one segment, with the reason in words.

    Rules, first match wins (thresholds from the ``[segments]`` settings):

    1. ``ramping`` if ``tenure_days < ramping_days``;
    2. ``self_sustained`` if ``attainment >= self_sustained_attainment`` and
       ``months_at_quota_share >= self_sustained_months_share`` and
       ``competency_percentile >= self_sustained_percentile``;
    3. ``developing`` if ``attainment >= developing_attainment``, or
       ``attainment >= improving_attainment`` and ``trend_ci_low > 0`` (a rising trend),
       or attainment is unknown (no quota to judge against);
    4. ``hands_on`` otherwise.

    A missing score fails the criterion that needs it. Each criterion is a lower bound on
    attainment (or does not involve it), so raising attainment never lowers the segment.

    Parameters
    ----------
    scores
        :func:`rep_scores` (or a frame with its columns).
    settings
        The settings (the packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``scores`` plus ``segment``, ``reason`` (e.g. "attainment 112%, 3 of 3 months at
        quota, competencies above team median (percentile 71)"), ``management_style`` and
        ``open_criteria`` (the self_sustained criteria not yet met, ``;``-separated, empty
        for a self_sustained rep).
    """
    s = settings or load_settings()
    needed = ["attainment", "months", "months_at_quota", "months_at_quota_share", "competency_percentile",
              "trend_slope", "trend_ci_low", "tenure_days"]
    missing = [c for c in needed if c not in scores.columns]
    if missing:
        raise ValueError(f"scores is missing column {missing[0]!r} (see segments.rep_scores)")
    labels = [_classify(r, s) for r in scores.to_dict(orient="records")]
    seg, reason, open_criteria = (list(x) for x in zip(*labels, strict=True)) if labels else ([], [], [])
    out = scores.assign(
        segment=pd.Series(seg, index=scores.index, dtype="str"),
        reason=pd.Series(reason, index=scores.index, dtype="str"),
        open_criteria=pd.Series(open_criteria, index=scores.index, dtype="str"),
    )
    return out.assign(management_style=out["segment"].map(MANAGEMENT_STYLES).astype("str"))


#: Levels of the state machine: 0 = ramping (tenure decides), then hands_on < developing < self_sustained.
_LEVEL_SEGMENT: dict[int, str] = {v: k for k, v in SEGMENT_RANK.items()}


def hysteresis_path(entry: Sequence[int], hold: Sequence[int], enter: int = 3, exit: int = 2) -> list[int]:
    """The state machine of the segments over one rep's evaluations: the level after each.

    Levels are :data:`SEGMENT_RANK` (0 ramping, 1 hands_on, 2 developing, 3 self_sustained).
    At evaluation ``t``, ``entry[t]`` is the level the one-date rules give (:func:`segment`)
    and ``hold[t] >= entry[t]`` the highest level the rep does not fall below (its exit
    threshold). For each level ``L`` in {2, 3} two run lengths are kept:
    ``up_L`` = consecutive evaluations ending at ``t`` with ``entry >= L``, and
    ``down_L`` = consecutive evaluations ending at ``t`` with ``hold < L``. Then:

    1. ``entry[t] == 0`` (ramping): the state is 0 and both run lengths restart;
    2. first evaluation, or first after ramping: the state is ``entry[t]``;
    3. otherwise, from state ``s``: up to ``max{L > s : up_L >= enter}`` if any;
       else, if ``s >= 2`` and ``down_s >= exit``, down to
       ``max({L < s, L >= 2 : down_L < exit} | {1})``; else stay at ``s``.

    So entering a better segment takes ``enter`` consecutive evaluations past its rule,
    and leaving it ``exit`` consecutive evaluations below its exit threshold; a move
    goes as far as every one of those evaluations agrees (with ``enter = 2``, levels 3 then
    2 -> 2; with ``exit = 2``, hold levels 1 then 2 from state 3 -> 2).

    Parameters
    ----------
    entry, hold
        One level per evaluation, oldest first, same length.
    enter
        ``enter_evaluations`` (at least 1; 3, the default setting).
    exit
        ``exit_evaluations`` (at least 1; 2, the default setting).

    Returns
    -------
    list of int
        The state after each evaluation; the last one is the current segment.
    """
    return [state for state, _, _ in _walk(entry, hold, enter, exit)]


def _walk(entry: Sequence[int], hold: Sequence[int], enter: int, exit: int) -> list[tuple[int, int, int]]:
    """:func:`hysteresis_path` with, per evaluation, the pending move: (state, pending level, run length)."""
    if enter < 1:
        raise ValueError(f"enter_evaluations must be at least 1, not {enter}")
    if exit < 1:
        raise ValueError(f"exit_evaluations must be at least 1, not {exit}")
    if len(entry) != len(hold):
        raise ValueError("entry and hold must have one level per evaluation each")
    out: list[tuple[int, int, int]] = []
    state: int | None = None
    up = {2: 0, 3: 0}
    down = {2: 0, 3: 0}
    for e, h in zip(entry, hold, strict=True):
        e, h = int(e), max(int(h), int(e))
        if e == 0:
            state, up, down = 0, {2: 0, 3: 0}, {2: 0, 3: 0}
            out.append((0, 0, 0))
            continue
        for level in (2, 3):
            up[level] = up[level] + 1 if e >= level else 0
            down[level] = down[level] + 1 if h < level else 0
        if state is None or state == 0:
            state = e
        else:
            ups = [level for level in (2, 3) if level > state and up[level] >= enter]
            if ups:
                state = max(ups)
            elif state >= 2 and down[state] >= exit:
                state = max([level for level in range(2, state) if down[level] < exit], default=1)
        pending_up = [level for level in (2, 3) if level > state and up[level] >= 1]
        if pending_up:
            out.append((state, max(pending_up), up[max(pending_up)]))
        elif state >= 2 and down[state] >= 1:
            out.append((state, max(h, 1), down[state]))
        else:
            out.append((state, 0, 0))
    return out


def _check_bands(s: Settings) -> None:
    if s.segments_enter_evaluations < 1:
        raise ValueError(f"segments.enter_evaluations must be at least 1, not {s.segments_enter_evaluations}")
    if s.segments_exit_evaluations < 1:
        raise ValueError(f"segments.exit_evaluations must be at least 1, not {s.segments_exit_evaluations}")
    pairs = (
        ("self_sustained_exit_attainment", s.segments_self_sustained_exit_attainment,
         "self_sustained_attainment", s.segments_self_sustained_attainment),
        ("developing_exit_attainment", s.segments_developing_exit_attainment,
         "developing_attainment", s.segments_developing_attainment),
    )
    for exit_key, exit_value, entry_key, entry_value in pairs:
        if exit_value > entry_value:
            raise ValueError(
                f"segments.{exit_key} ({exit_value}) must not be above segments.{entry_key} ({entry_value})"
            )


def hysteresis(evaluations: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Each rep's segment over a sequence of evaluations, with hysteresis.

    ``evaluations`` holds :func:`segment` at several as-of dates (one row per rep and date).
    Per rep, oldest first, with ``rule`` the level of its ``segment`` column:

    - ``entry = rule``;
    - ``hold = max(rule, 3 if attainment >= self_sustained_exit_attainment,
      2 if attainment >= developing_exit_attainment, else 1)`` (a missing attainment
      holds only what the rule gives);

    and :func:`hysteresis_path` with ``enter = enter_evaluations`` and
    ``exit = exit_evaluations`` gives the state.

    Parameters
    ----------
    evaluations
        :func:`segment` rows with ``rep_id``, ``as_of``, ``segment``, ``attainment`` and
        ``reason``; several as-of dates.
    settings
        The settings (the packaged defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``evaluations`` with ``segment`` replaced by the state, ``rule_segment`` (what the
        one-date rules say), ``segment_since`` (the as-of date of the first evaluation of
        the current run in that segment), ``pending_segment`` (the segment the rep is
        heading to, ``""`` if none) and ``pending_evaluations`` (how many of the
        ``enter_evaluations`` or ``exit_evaluations`` are already there), ``management_style`` of the state, and
        ``reason`` starting with what the state machine did, then the rules' reason;
        sorted by as-of date, team and rep.

    Raises
    ------
    ValueError
        An exit threshold above its entry threshold, or ``enter_evaluations`` or
        ``exit_evaluations`` below 1.
    """
    s = settings or load_settings()
    _check_bands(s)
    frame = evaluations.sort_values(["rep_id", "as_of"], kind="stable").reset_index(drop=True)
    rule = frame["segment"].astype("str")
    entry = rule.map(SEGMENT_RANK)
    if entry.isna().any():
        raise ValueError(f"unknown segment {rule[entry.isna()].iloc[0]!r} in evaluations")
    att = frame["attainment"]
    by_band = np.where(att >= s.segments_self_sustained_exit_attainment, 3,
                       np.where(att >= s.segments_developing_exit_attainment, 2, 1))
    hold = np.maximum(entry.to_numpy(), by_band)
    state = np.zeros(len(frame), dtype="int64")
    pending = np.zeros(len(frame), dtype="int64")
    runs = np.zeros(len(frame), dtype="int64")
    as_of = frame["as_of"].to_numpy(dtype="datetime64[us]")
    since = as_of.copy()
    entry_levels = entry.to_numpy()
    for idx in frame.groupby("rep_id", sort=False).indices.values():
        walked = np.array(_walk(entry_levels[idx], hold[idx], s.segments_enter_evaluations,
                                      s.segments_exit_evaluations), dtype="int64").reshape(-1, 3)
        state[idx], pending[idx], runs[idx] = walked[:, 0], walked[:, 1], walked[:, 2]
        starts = np.r_[True, walked[1:, 0] != walked[:-1, 0]]
        run_start = np.maximum.accumulate(np.where(starts, np.arange(len(idx)), 0))
        since[idx] = as_of[idx][run_start]
    since = pd.Series(since, index=frame.index, dtype="datetime64[us]")
    segment_names = pd.Series([_LEVEL_SEGMENT[v] for v in state], index=frame.index, dtype="str")
    pending_names = pd.Series([_LEVEL_SEGMENT[v] if v else "" for v in pending], index=frame.index, dtype="str")
    prev_state = pd.Series(state, index=frame.index).groupby(frame["rep_id"]).shift()
    reasons = [
        _state_words(st, pst, r, pn, run, s) + "; " + why
        for st, pst, r, pn, run, why in zip(segment_names, prev_state.map(_LEVEL_SEGMENT), rule, pending_names, runs,
                                              frame["reason"], strict=True)
    ]
    out = frame.assign(
        segment=segment_names,
        rule_segment=rule,
        segment_since=since,
        pending_segment=pending_names,
        pending_evaluations=pd.Series(runs, index=frame.index, dtype="int64"),
        reason=pd.Series(reasons, index=frame.index, dtype="str"),
        management_style=segment_names.map(MANAGEMENT_STYLES).astype("str"),
    )
    sort = [c for c in ("as_of", "team", "rep_id") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def _state_words(state: str, previous: object, rule: str, pending: str, run: int, s: Settings) -> str:
    """What the state machine did at one evaluation, in words."""
    enter, leave = s.segments_enter_evaluations, s.segments_exit_evaluations
    exits = {"self_sustained": s.segments_self_sustained_exit_attainment,
             "developing": s.segments_developing_exit_attainment}
    if state == "ramping":
        return "ramping (tenure rule)"
    if pd.isna(previous) or previous == "ramping":
        return f"{state}: first evaluation, as the rules say"
    if state != previous:
        if SEGMENT_RANK[state] > SEGMENT_RANK[str(previous)]:
            return f"entered {state}: its rule held at {enter} evaluation{'s' if enter > 1 else ''} in a row"
        return (f"left {previous}: attainment under its {exits[str(previous)]:.0%} exit line at {leave} "
                f"evaluation{'s' if leave > 1 else ''} in a row")
    if pending and SEGMENT_RANK[pending] > SEGMENT_RANK[state]:
        return f"stays {state}: the {pending} rule holds at {run} of the {enter} evaluations in a row needed to enter"
    if pending:
        return (f"stays {state}: attainment under its {exits[state]:.0%} exit line at {run} of the {leave} "
                "evaluations in a row needed to leave")
    if rule != state:
        return f"stays {state}: attainment is at or above its {exits[state]:.0%} exit line (the rules alone say {rule})"
    return state


def _evaluation_dates(
    dataset: Dataset, s: Settings, freq: str, as_of: pd.Timestamp | str | None
) -> list[pd.Timestamp]:
    """Month ends (or Sundays) from the first one whose window starts after the first quota, up to ``as_of``."""
    first = dataset.table("quotas")["period_start"].min() + s.segments_window_weeks * periods.WEEK
    last = periods.to_timestamp(as_of if as_of is not None else dataset.as_of, "as-of date").normalize()
    dates = list(pd.date_range(first, last, freq="ME" if freq == "month" else "W-SUN", unit="us"))
    return dates or [last]


def segment_history(
    dataset: Dataset,
    settings: Settings | None = None,
    freq: Literal["month", "week"] = "month",
    *,
    dates: Sequence[pd.Timestamp | str] | None = None,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Every rep's segment at each month end (or week end), with hysteresis, oldest first.

    The evaluation dates are the month ends (Sundays for ``freq="week"``) from the first one
    whose whole window lies after the first quota period up to ``as_of`` (the dataset's
    as-of date by default; a month end on the as-of day counts); when there is none, the
    as-of date alone. Or exactly ``dates`` when given: the state machine then starts at the
    first of them, so give it the preceding month ends too (or use :func:`current_segments`).
    Each date is scored and ruled as :func:`segment` of :func:`rep_scores` would, and
    :func:`hysteresis` turns the sequence into each rep's segment.

    The hysteresis bands, ``enter_evaluations`` and ``exit_evaluations`` count evaluations:
    they are meant for month ends; with ``freq="week"`` three evaluations are three weeks.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`hysteresis`, one row per rep per as-of date.
    """
    dataset.require("quotas")
    s = settings or load_settings()
    _check_bands(s)
    if freq not in ("month", "week"):
        raise ValueError(f"freq must be 'month' or 'week', not {freq!r}")
    when = _evaluation_dates(dataset, s, freq, as_of) if dates is None else list(dates)
    frames = [segment(rep_scores(dataset, d, s), s) for d in when]
    return hysteresis(pd.concat(frames, ignore_index=True), s)


def current_segments(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each rep's segment as of a date, with hysteresis: the one to act on.

    Segments are decided at month ends (:func:`segment_history` up to ``as_of``); as of
    any date, a rep's segment is the state after the last month end on or before it (or
    the first evaluation of a rep hired since, whose tenure makes them ``ramping``). The
    scores and the reason are those of that evaluation. A rep whose segment is
    ``self_sustained`` here gets general accountability only (principle 6).

    Parameters
    ----------
    dataset
        The data (narrow it to a team first if needed); needs ``quotas``.
    as_of
        The date; the dataset's as-of date by default.
    settings
        The settings (the packaged defaults when ``None``).
    history
        :func:`segment_history` of the same dataset and settings, already computed (its
        rows after ``as_of`` are ignored); computed when ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per rep: the columns of :func:`segment` (``segment`` is the hysteresis
        state) plus ``rule_segment``, ``segment_since``, ``pending_segment``,
        ``pending_evaluations`` (:func:`hysteresis`) and ``evaluated_as_of`` (the month end
        the row was evaluated at); ``as_of`` is the date asked for. Sorted by team and rep.
    """
    dataset.require("quotas")
    s = settings or load_settings()
    when = periods.to_timestamp(as_of if as_of is not None else dataset.as_of, "as-of date")
    if history is None:
        history = segment_history(dataset, s, as_of=when)
    else:
        history = history.loc[history["as_of"] <= when]
    last = history.sort_values("as_of", kind="stable").groupby("rep_id").tail(1)
    newcomers = rep_scores(dataset, when, s) if not set(_hired_by(dataset, when)) <= set(last["rep_id"]) else None
    if newcomers is not None:
        fresh = newcomers.loc[~newcomers["rep_id"].isin(last["rep_id"])]
        if not fresh.empty:
            last = pd.concat([last, hysteresis(segment(fresh, s), s)], ignore_index=True)
    out = last.assign(evaluated_as_of=last["as_of"].astype("datetime64[us]"),
                      as_of=pd.Series(when, index=last.index).astype("datetime64[us]"))
    return out.sort_values(["team", "rep_id"]).reset_index(drop=True)


def _hired_by(dataset: Dataset, when: pd.Timestamp) -> list[str]:
    """The reps hired on or before ``when`` (or with no hire date)."""
    reps = dataset.reps
    if "hire_date" not in reps.columns:
        return reps["rep_id"].tolist()
    hire = pd.to_datetime(reps["hire_date"])
    return reps.loc[hire.isna() | (hire <= when.normalize()), "rep_id"].tolist()


def transitions(history: pd.DataFrame) -> pd.DataFrame:
    """The segment changes in :func:`segment_history`: who moved up, who slipped, what reversed.

    A transition is a rep whose segment at one as-of date differs from its segment at the
    previous one. ``direction`` is ``up`` or ``down`` by :data:`SEGMENT_RANK`
    (hands_on < developing < self_sustained) and ``graduated`` when leaving ``ramping``.
    ``reversal`` is true when the move goes back to the segment the rep left at its previous
    transition (A -> B -> A, however long B lasted); ``held_evaluations`` is how many
    evaluations the rep spent in ``from_segment`` (counted from the start of the history),
    so a reversal with ``held_evaluations == 1`` is a one-month blip.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``previous_as_of``, ``as_of``,
        ``from_segment``, ``to_segment``, ``direction``, ``reversal``,
        ``held_evaluations``, ``reason`` (the reason of the new segment); sorted by as-of
        date, team and rep.
    """
    h = history.sort_values(["rep_id", "as_of"], kind="stable").reset_index(drop=True)
    prev_seg = h.groupby("rep_id")["segment"].shift()
    prev_date = h.groupby("rep_id")["as_of"].shift()
    changed = prev_seg.notna() & (prev_seg != h["segment"])
    run_id = (changed | prev_seg.isna()).cumsum()
    run_length = h.groupby(run_id).cumcount() + 1  # evaluations so far in the current run
    held = run_length.groupby(h["rep_id"]).shift()
    out = h.loc[changed].assign(
        from_segment=prev_seg[changed], previous_as_of=prev_date[changed], to_segment=h["segment"][changed],
        held_evaluations=held[changed].astype("int64"),
    )
    rank_from = out["from_segment"].map(SEGMENT_RANK)
    rank_to = out["to_segment"].map(SEGMENT_RANK)
    direction = np.where(out["from_segment"] == "ramping", "graduated", np.where(rank_to > rank_from, "up", "down"))
    left_before = out.groupby("rep_id")["from_segment"].shift()
    out = out.assign(
        direction=pd.Series(direction, index=out.index, dtype="str"),
        reversal=(left_before == out["to_segment"]).astype("bool"),
    )
    columns = ["rep_id", "rep_name", "team", "previous_as_of", "as_of", "from_segment", "to_segment", "direction",
               "reversal", "held_evaluations", "reason"]
    out = out[columns].astype({"from_segment": "str", "to_segment": "str", "previous_as_of": "datetime64[us]"})
    return out.sort_values(["as_of", "team", "rep_id"]).reset_index(drop=True)


def stability(history: pd.DataFrame) -> pd.DataFrame:
    """How often segments change in a history: the figures behind "segments flip".

    With ``pairs`` the number of (rep, evaluation) rows that have a previous evaluation of
    the same rep, and the moves of :func:`transitions`:

    - ``share_changing = transitions / pairs`` (the share of rep-months that change segment)
    - ``reversals``: transitions back to the segment left at the rep's previous transition;
      ``blip_reversals``: those after a single evaluation in between (A, B, A at three
      consecutive evaluations)
    - ``reps_three_segments``: reps in three segments or more over the history

    Returns
    -------
    pandas.DataFrame
        One row: ``evaluations`` (as-of dates), ``reps``, ``pairs``, ``transitions``,
        ``share_changing``, ``up``, ``down``, ``graduated``, ``reversals``,
        ``blip_reversals``, ``reps_three_segments``.
    """
    moves = transitions(history)
    pairs = int((history.groupby("rep_id").size() - 1).sum())
    return pd.DataFrame(
        {
            "evaluations": [history["as_of"].nunique()],
            "reps": [history["rep_id"].nunique()],
            "pairs": [pairs],
            "transitions": [len(moves)],
            "share_changing": [len(moves) / pairs if pairs else np.nan],
            "up": [int(moves["direction"].eq("up").sum())],
            "down": [int(moves["direction"].eq("down").sum())],
            "graduated": [int(moves["direction"].eq("graduated").sum())],
            "reversals": [int(moves["reversal"].sum())],
            "blip_reversals": [int((moves["reversal"] & moves["held_evaluations"].eq(1)).sum())],
            "reps_three_segments": [int(history.groupby("rep_id")["segment"].nunique().ge(3).sum())],
        }
    )
