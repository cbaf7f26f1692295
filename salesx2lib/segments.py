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
are monotonic in attainment: raising it never moves a rep to a lower segment.
:func:`segment_history` replays the rules as of every month end and :func:`transitions`
lists who moved up and who slipped. Everything needs the ``quotas`` table.
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
    "rep_scores",
    "segment",
    "segment_history",
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

    - ``attainment = won(window) / quota(window)`` (NaN without quota in the window)
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
        ``won_revenue``, ``quota``, ``attainment``, ``months``, ``months_at_quota``,
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
    won_months = [_won(opps, lo, hi) for lo, hi in slices]
    won_weeks = [_won(opps, w, w + periods.WEEK) for w in week_starts]
    pct = _competency_percentile(dataset, start, end)
    rows = []
    for rep, days in zip(reps.itertuples(index=False), tenure, strict=True):
        q_rep = quotas.loc[quotas["rep_id"] == rep.rep_id]
        won = float(won_total.get(rep.rep_id, 0.0))
        quota = prorated_quota(q_rep, start, end)
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
        f"attainment {att:.0%}" if pd.notna(att) else "no quota in the window",
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


def segment_history(
    dataset: Dataset,
    settings: Settings | None = None,
    freq: Literal["month", "week"] = "month",
    *,
    dates: Sequence[pd.Timestamp | str] | None = None,
) -> pd.DataFrame:
    """The segment of every rep as of each month end (or week end), oldest first.

    The as-of dates are the month ends (Sundays for ``freq="week"``) from the first one
    whose whole window lies after the first quota period, up to the dataset's as-of date,
    plus the as-of date itself when it is not a period end; or exactly ``dates`` when
    given (e.g. the start and the end of a report week). Each date is scored and
    segmented as :func:`segment` of :func:`rep_scores` would as of that date.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`segment`, one row per rep per as-of date.
    """
    dataset.require("quotas")
    s = settings or load_settings()
    if freq not in ("month", "week"):
        raise ValueError(f"freq must be 'month' or 'week', not {freq!r}")
    if dates is None:
        first = dataset.table("quotas")["period_start"].min() + s.segments_window_weeks * periods.WEEK
        last = dataset.as_of.normalize()
        dates = list(pd.date_range(first, last, freq="ME" if freq == "month" else "W-SUN", unit="us"))
        if not dates or dates[-1] < last:
            dates.append(last)
    frames = [segment(rep_scores(dataset, d, s), s) for d in dates]
    return pd.concat(frames, ignore_index=True).sort_values(["as_of", "team", "rep_id"]).reset_index(drop=True)


def transitions(history: pd.DataFrame) -> pd.DataFrame:
    """The segment changes in :func:`segment_history`: who moved up, who slipped.

    A transition is a rep whose segment at one as-of date differs from its segment at the
    previous one. ``direction`` is ``up`` or ``down`` by :data:`SEGMENT_RANK`
    (hands_on < developing < self_sustained) and ``graduated`` when leaving ``ramping``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``previous_as_of``, ``as_of``,
        ``from_segment``, ``to_segment``, ``direction``, ``reason`` (the reason of the new
        segment); sorted by as-of date, team and rep.
    """
    h = history.sort_values(["rep_id", "as_of"], kind="stable")
    prev_seg = h.groupby("rep_id")["segment"].shift()
    prev_date = h.groupby("rep_id")["as_of"].shift()
    moved = prev_seg.notna() & (prev_seg != h["segment"])
    out = h.loc[moved].assign(from_segment=prev_seg[moved], previous_as_of=prev_date[moved], to_segment=h["segment"][moved])
    rank_from = out["from_segment"].map(SEGMENT_RANK)
    rank_to = out["to_segment"].map(SEGMENT_RANK)
    direction = np.where(out["from_segment"] == "ramping", "graduated", np.where(rank_to > rank_from, "up", "down"))
    out = out.assign(direction=pd.Series(direction, index=out.index, dtype="str"))
    columns = ["rep_id", "rep_name", "team", "previous_as_of", "as_of", "from_segment", "to_segment", "direction", "reason"]
    out = out[columns].astype({"from_segment": "str", "to_segment": "str", "previous_as_of": "datetime64[us]"})
    return out.sort_values(["as_of", "team", "rep_id"]).reset_index(drop=True)
