"""Routines: habits a manager can teach, top producers against the rest (principle 5).

Coach behaviour with transferable systems and routines. Over a window (the trailing
``[routines] window_weeks``, 13 by default) :func:`routines` measures, per rep, habits
that can be described, checked and practised:

* ``call_block_share``: share of the rep's dials made in call blocks (runs of at least
  ``block_min_dials`` dials with no pause longer than ``block_gap_minutes``);
* ``follow_up_days``: median days between two touches on an open opportunity;
* ``touches_before_appointment``: touches on a new opportunity before its first appointment;
* ``same_day_follow_up_share``: share of the conversations on an opportunity followed the
  same day by an e-mail or an appointment on it;
* ``conversation_days_per_week``: days with at least one conversation, per week;
* ``next_step_share``: share of new opportunities that reached the gate stage with an
  expected close date within ``next_step_days`` (needs ``opportunity_history``).

Everything that reads the activity log runs in the engine (Ibis; window functions and
grouped aggregates), so only one row per rep comes back. Top producers are ranked by
**attainment within their team** (won revenue / quota over the window), not by raw
revenue across teams with different quotas. :func:`routine_comparison` first asks whether a
routine varies at all across reps (a routine that is the same for everyone is
``uninformative``: it cannot tell top producers from the rest and is not charted), then
compares top producers with the rest with an interval on the difference that holds for all
routines at once, so a manager does not teach a routine on noise. :func:`routine_gaps`
gives each rep's distance to the top producers on the routines that differ.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import ibis
import numpy as np
import pandas as pd

from salesx2lib import competency, periods
from salesx2lib.dataset import Dataset
from salesx2lib.kpis import prorated_quota
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval

__all__ = [
    "LABELS",
    "ROUTINES",
    "call_blocks",
    "deal_routines",
    "routine_comparison",
    "routine_gaps",
    "routines",
]

#: The routines, in the order they are reported.
ROUTINES: tuple[str, ...] = (
    "call_block_share",
    "follow_up_days",
    "touches_before_appointment",
    "same_day_follow_up_share",
    "conversation_days_per_week",
    "next_step_share",
)

#: The labels of :func:`routine_comparison`.
LABELS: tuple[str, ...] = ("differs", "no_clear_difference", "uninformative", "insufficient_data")

_ROUTINE_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "rep_name": "str",
    "team": "str",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
    "full_window": "bool",
    "dials": "int64",
    "block_dials": "int64",
    "call_blocks": "int64",
    "call_block_share": "float64",
    "follow_up_gaps": "int64",
    "follow_up_days": "float64",
    "appointment_opportunities": "int64",
    "touches_before_appointment": "float64",
    "deal_conversations": "int64",
    "same_day_follow_ups": "int64",
    "same_day_follow_up_share": "float64",
    "same_day_follow_up_ci_low": "float64",
    "same_day_follow_up_ci_high": "float64",
    "conversation_days": "int64",
    "conversation_days_per_week": "float64",
    "next_step_opportunities": "int64",
    "next_step_share": "float64",
    "next_step_ci_low": "float64",
    "next_step_ci_high": "float64",
    "won_revenue": "float64",
    "quota": "float64",
    "attainment": "float64",
    "ranked_by": "str",
    "top_producer": "bool",
    "note": "str",
}

_SECONDS_PER_DAY = 86400.0


def call_blocks(
    dataset: Dataset,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    min_dials: int = 5,
    gap_minutes: float = 5.0,
) -> pd.DataFrame:
    """Dials, dials in call blocks and conversation days per rep over ``[start, end)``, in the engine.

    A rep's dials, ordered by time (then ``activity_id``), split into runs: a new run starts
    when a dial comes more than ``gap_minutes`` after the previous one (a pause of exactly
    ``gap_minutes`` keeps the run going). A run of at least ``min_dials`` dials is a **call
    block**. ``block_dials`` = dials in call blocks, ``call_blocks`` = their number;
    ``conversation_days = #{calendar days with >= 1 conversation}``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id`` (str), ``dials``, ``block_dials``, ``call_blocks``, ``conversation_days``
        (int64); only reps with a dial or a conversation, sorted by rep.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    dataset.require("activities")
    lo, hi = periods.to_timestamp(start, "start"), periods.to_timestamp(end, "end")
    acts = dataset.between(lo, hi).activities
    d = acts.filter(acts.activity_type == "dial")
    d = d.mutate(secs=d.occurred_at.epoch_seconds())
    order = [d.occurred_at, d.activity_id]
    d = d.mutate(prev=d.secs.lag().over(ibis.window(group_by=d.rep_id, order_by=order)))
    d = d.mutate(new_run=(d.prev.isnull() | ((d.secs - d.prev) > gap_minutes * 60)).cast("int64"))
    d = d.mutate(run=d.new_run.sum().over(ibis.cumulative_window(group_by=d.rep_id, order_by=[d.occurred_at, d.activity_id])))
    runs = d.group_by(["rep_id", "run"]).aggregate(size=d.activity_id.count())
    in_block = runs.size >= min_dials
    blocks = runs.group_by("rep_id").aggregate(
        dials=runs.size.sum(),
        block_dials=ibis.ifelse(in_block, runs.size, 0).sum(),
        call_blocks=in_block.cast("int64").sum(),
    )
    c = acts.filter(acts.activity_type == "conversation")
    days = c.group_by("rep_id").aggregate(conversation_days=c.occurred_at.truncate("D").nunique())
    out = pd.merge(blocks.to_pandas(), days.to_pandas(), on="rep_id", how="outer")
    counts = ["dials", "block_dials", "call_blocks", "conversation_days"]
    out[counts] = out[counts].fillna(0)
    return out.astype({"rep_id": "str"} | dict.fromkeys(counts, "int64")).sort_values("rep_id").reset_index(drop=True)


def deal_routines(
    dataset: Dataset,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    touch_types: tuple[str, ...] = ("dial", "email", "meeting"),
    follow_up_types: tuple[str, ...] = ("email", "appointment"),
) -> pd.DataFrame:
    """The deal-level routines per rep over ``[start, end)``, computed in the engine.

    Only activities in ``[start, end)`` with an ``opportunity_id`` are used. A **touch** is an
    activity of ``touch_types``; it is *on an open deal* when
    ``created_at <= occurred_at`` and (``closed_at`` empty or ``occurred_at < closed_at``).

    - ``follow_up_days`` = median over the rep's open deals (the opportunity's owner) of the
      gaps ``(t_k - t_{k-1}) / 1 day`` between consecutive touches on the same deal
      (both in the window); ``follow_up_gaps`` = number of gaps.
    - ``touches_before_appointment`` = mean over the opportunities created in
      ``[start, end)`` that have an appointment while open in the window of
      ``#{touches t : created_at <= t < first appointment}``;
      ``appointment_opportunities`` = number of such opportunities (those without an
      appointment yet are left out).
    - ``same_day_follow_ups`` = conversations on an opportunity followed by an activity of
      ``follow_up_types`` by the same rep, on the same opportunity, at or after the
      conversation and on the same calendar day (``trunc_day`` equal: 23:59 then 00:00 is
      the next day); ``deal_conversations`` = conversations on an opportunity.

    Returns
    -------
    pandas.DataFrame
        ``rep_id`` (str), ``follow_up_gaps`` (int64), ``follow_up_days`` (float64),
        ``appointment_opportunities`` (int64), ``touches_before_appointment`` (float64),
        ``deal_conversations``, ``same_day_follow_ups`` (int64); reps with any of them,
        sorted by rep.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    dataset.require("activities")
    lo, hi = periods.to_timestamp(start, "start"), periods.to_timestamp(end, "end")
    acts = dataset.between(lo, hi).activities
    on_deal = acts.filter(acts.opportunity_id.notnull())
    opps = dataset.opportunities[["opportunity_id", "rep_id", "created_at", "closed_at"]]
    deals = ibis.memtable(
        opps.rename(columns={"opportunity_id": "deal_id", "rep_id": "owner", "closed_at": "deal_closed_at"})
        .astype({"deal_id": "str", "owner": "str", "created_at": "datetime64[us]", "deal_closed_at": "datetime64[us]"})
    )

    def while_open(t: ibis.Table) -> ibis.Table:
        j = t.join(deals, t.opportunity_id == deals.deal_id)
        return j.filter((j.occurred_at >= j.created_at) & (j.deal_closed_at.isnull() | (j.occurred_at < j.deal_closed_at)))

    # follow-up cadence
    touches = while_open(on_deal.filter(on_deal.activity_type.isin(list(touch_types))))
    touches = touches.mutate(secs=touches.occurred_at.epoch_seconds())
    w = ibis.window(group_by=touches.deal_id, order_by=[touches.occurred_at, touches.activity_id])
    touches = touches.mutate(gap=(touches.secs - touches.secs.lag().over(w)) / _SECONDS_PER_DAY)
    gaps = touches.filter(touches.gap.notnull())
    cadence = gaps.group_by(gaps.owner.name("rep_id")).aggregate(
        follow_up_gaps=gaps.gap.count(), follow_up_days=gaps.gap.median()
    )

    # touches before the first appointment, on deals created in the window
    appts = while_open(on_deal.filter(on_deal.activity_type == "appointment"))
    appts = appts.filter((appts.created_at >= lo.to_pydatetime()) & (appts.created_at < hi.to_pydatetime()))
    first = appts.group_by(["deal_id", "owner", "created_at"]).aggregate(first_appointment=appts.occurred_at.min())
    t = on_deal.filter(on_deal.activity_type.isin(list(touch_types)))
    t = t.select(touch_deal=t.opportunity_id, touch_at=t.occurred_at, touch_id=t.activity_id)
    before = first.left_join(
        t, [first.deal_id == t.touch_deal, t.touch_at >= first.created_at, t.touch_at < first.first_appointment]
    )
    per_deal = before.group_by(["deal_id", "owner"]).aggregate(touches=before.touch_id.count())
    approach = per_deal.group_by(per_deal.owner.name("rep_id")).aggregate(
        appointment_opportunities=per_deal.deal_id.count(), touches_before_appointment=per_deal.touches.mean()
    )

    # same-day follow-up after a conversation on a deal
    kinds = on_deal.filter(on_deal.activity_type.isin(["conversation", *follow_up_types]))
    kinds = kinds.mutate(day=kinds.occurred_at.truncate("D"), secs=kinds.occurred_at.epoch_seconds())
    last_follow_up = ibis.ifelse(kinds.activity_type.isin(list(follow_up_types)), kinds.secs, ibis.null()).max()
    kinds = kinds.mutate(
        last_follow_up=last_follow_up.over(ibis.window(group_by=[kinds.rep_id, kinds.opportunity_id, kinds.day]))
    )
    conv = kinds.filter(kinds.activity_type == "conversation")
    followed = (conv.last_follow_up.notnull() & (conv.last_follow_up >= conv.secs)).cast("int64")
    same_day = conv.group_by("rep_id").aggregate(deal_conversations=conv.activity_id.count(), same_day_follow_ups=followed.sum())

    out = cadence.to_pandas()
    for part in (approach.to_pandas(), same_day.to_pandas()):
        out = pd.merge(out, part, on="rep_id", how="outer")
    counts = ["follow_up_gaps", "appointment_opportunities", "deal_conversations", "same_day_follow_ups"]
    out[counts] = out[counts].fillna(0)
    dtypes = {"rep_id": "str", "follow_up_days": "float64", "touches_before_appointment": "float64"}
    return out.astype(dtypes | dict.fromkeys(counts, "int64")).sort_values("rep_id").reset_index(drop=True)


def _next_step(dataset: Dataset, start: pd.Timestamp, cutoff: pd.Timestamp, s: Settings) -> pd.DataFrame:
    """Per rep: opportunities created in ``[start, cutoff)`` and how many had a next step in time."""
    opps = dataset.opportunities
    created = opps.loc[(opps["created_at"] >= start) & (opps["created_at"] < cutoff), ["opportunity_id", "rep_id", "created_at"]]
    hist = dataset.table("opportunity_history")
    gated = set(s.stage_order[s.stage_order.index(s.gate_minimum_stage):]) | {s.stage_won}
    h = hist.loc[hist["stage"].isin(gated) & hist["expected_close_date"].notna(), ["opportunity_id", "changed_at"]]
    first = h.groupby("opportunity_id")["changed_at"].min()
    reached = created["opportunity_id"].map(first)
    ok = reached.notna() & (reached <= created["created_at"] + pd.Timedelta(days=s.routines_next_step_days))
    grouped = created.assign(ok=ok).groupby("rep_id")["ok"]
    return pd.DataFrame({"next_step_opportunities": grouped.size(), "next_step_met": grouped.sum()})


def _top_producers(frame: pd.DataFrame, score: str, quantile: float) -> pd.Series:
    """``score >= quantile(score over the team's eligible reps)`` and ``won_revenue > 0``, per team."""
    eligible = frame["full_window"] & frame[score].notna()
    threshold = frame[score].where(eligible).groupby(frame["team"]).transform(lambda v: v.quantile(quantile))
    return (eligible & (frame[score] >= threshold) & (frame["won_revenue"] > 0)).astype("bool")


def routines(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Each rep's routines over ``[start, end)``, with attainment and the top-producer flag.

    The window defaults to :func:`salesx2lib.periods.trailing_range` of the as-of date over
    ``routines_window_weeks`` weeks; ``W`` = its length in weeks (days / 7).

    - ``call_block_share = block_dials / dials`` (:func:`call_blocks` with
      ``routines_block_min_dials`` and ``routines_block_gap_minutes``); NaN without dials
    - ``follow_up_days``, ``touches_before_appointment``, ``same_day_follow_up_share =
      same_day_follow_ups / deal_conversations`` (:func:`deal_routines` with
      ``routines_touch_types`` and ``routines_follow_up_types``), the share with its Wilson
      95% interval
    - ``conversation_days_per_week = conversation_days / W``
    - ``next_step_share = #{o : gate_at(o) <= created_at(o) + next_step_days} / #{o}`` over the
      opportunities created in ``[start, min(end, as_of) - next_step_days)`` (younger ones
      cannot be judged yet), ``gate_at`` = first history change to ``gate.minimum_stage`` or
      a later open stage or won, with an expected close date set; Wilson 95% interval
    - ``won_revenue`` = ``won_amount`` of :func:`salesx2lib.competency.rep_counts` (by close
      date); ``quota`` = :func:`salesx2lib.kpis.prorated_quota` over the window;
      ``attainment = won_revenue / quota`` (NaN when the quota is 0)
    - ``full_window``: no ``hire_date``, or hired on or before the window start. Reps hired
      inside the window cover part of it and are neither ranked nor compared
    - ``top_producer``: ``full_window``, ``won_revenue > 0`` and ``attainment >=`` the
      ``routines_top_quantile`` quantile (linear interpolation) of the attainment of the
      team's full-window reps. Without a quotas table, ``won_revenue`` replaces attainment
      in that rule (still within the team) and ``ranked_by`` / ``note`` say so

    A routine whose table is missing is NaN and ``note`` says which table it needs.

    Returns
    -------
    pandas.DataFrame
        One row per rep, sorted by team and rep: ``rep_id``, ``rep_name``, ``team``,
        ``window_start``, ``window_end``, ``full_window``, each routine with its counts
        (see the module columns), ``won_revenue``, ``quota``, ``attainment``, ``ranked_by``
        (``attainment`` or ``won_revenue``), ``top_producer``, ``note``.
    """
    s = settings or load_settings()
    lo, hi = periods.trailing_range(dataset.as_of, start, end, weeks=s.routines_window_weeks)
    weeks = (hi - lo) / pd.Timedelta(days=7)
    counts = competency.rep_counts(dataset, lo, hi)
    reps = dataset.reps
    out = reps[["rep_id", "team"]].assign(rep_name=reps["rep_name"] if "rep_name" in reps.columns else reps["rep_id"])
    hire = pd.to_datetime(reps["hire_date"]) if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    out = out.assign(window_start=lo, window_end=hi, full_window=(hire.isna() | (hire <= lo)).to_numpy()).set_index("rep_id")
    out["won_revenue"] = counts.set_index("rep_id")["won_amount"].reindex(out.index).fillna(0.0)
    notes: list[str] = []
    if dataset.has("activities"):
        blocks = call_blocks(dataset, lo, hi, min_dials=s.routines_block_min_dials,
                             gap_minutes=s.routines_block_gap_minutes).set_index("rep_id").reindex(out.index)
        deals = deal_routines(dataset, lo, hi, touch_types=s.routines_touch_types,
                              follow_up_types=s.routines_follow_up_types).set_index("rep_id").reindex(out.index)
        for c in ("dials", "block_dials", "call_blocks", "conversation_days"):
            out[c] = blocks[c].fillna(0)
        for c in ("follow_up_gaps", "appointment_opportunities", "deal_conversations", "same_day_follow_ups"):
            out[c] = deals[c].fillna(0)
        out["call_block_share"] = out["block_dials"] / out["dials"].where(out["dials"] > 0)
        out["follow_up_days"] = deals["follow_up_days"]
        out["touches_before_appointment"] = deals["touches_before_appointment"]
        out["same_day_follow_up_share"] = out["same_day_follow_ups"] / out["deal_conversations"].where(out["deal_conversations"] > 0)
        out["same_day_follow_up_ci_low"], out["same_day_follow_up_ci_high"] = wilson_interval(
            out["same_day_follow_ups"].to_numpy(dtype="float64"), out["deal_conversations"].to_numpy(dtype="float64"))
        out["conversation_days_per_week"] = out["conversation_days"] / weeks
    else:
        for c in ("dials", "block_dials", "call_blocks", "conversation_days", "follow_up_gaps",
                  "appointment_opportunities", "deal_conversations", "same_day_follow_ups"):
            out[c] = 0
        for c in ("call_block_share", "follow_up_days", "touches_before_appointment", "same_day_follow_up_share",
                  "same_day_follow_up_ci_low", "same_day_follow_up_ci_high", "conversation_days_per_week"):
            out[c] = np.nan
        notes.append("call_block_share, follow_up_days, touches_before_appointment, same_day_follow_up_share "
                     "and conversation_days_per_week need the activities table")
    if dataset.has("opportunity_history"):
        cutoff = min(hi, dataset.as_of) - pd.Timedelta(days=s.routines_next_step_days)
        nxt = _next_step(dataset, lo, cutoff, s).reindex(out.index)
        out["next_step_opportunities"] = nxt["next_step_opportunities"].fillna(0)
        met = nxt["next_step_met"].fillna(0).to_numpy(dtype="float64")
        n = out["next_step_opportunities"].to_numpy(dtype="float64")
        out["next_step_share"] = nxt["next_step_met"] / out["next_step_opportunities"].where(out["next_step_opportunities"] > 0)
        out["next_step_ci_low"], out["next_step_ci_high"] = wilson_interval(met, n)
    else:
        out["next_step_opportunities"] = 0
        out[["next_step_share", "next_step_ci_low", "next_step_ci_high"]] = np.nan
        notes.append("next_step_share needs the opportunity_history table")
    if dataset.has("quotas"):
        quotas = dataset.table("quotas")
        q = {rep: prorated_quota(quotas.loc[quotas["rep_id"] == rep], lo.normalize(), hi.normalize()) for rep in out.index}
        out["quota"] = pd.Series(q, dtype="float64")
        out["attainment"] = out["won_revenue"] / out["quota"].where(out["quota"] > 0)
        out["ranked_by"] = "attainment"
    else:
        out["quota"] = np.nan
        out["attainment"] = np.nan
        out["ranked_by"] = "won_revenue"
        notes.append("no quotas table: top producers are ranked by won revenue within each team, not by attainment")
    score = "attainment" if dataset.has("quotas") else "won_revenue"
    out["top_producer"] = _top_producers(out, score, s.routines_top_quantile)
    out["note"] = "; ".join(notes)
    out = out.reset_index()[list(_ROUTINE_COLUMNS)].astype(_ROUTINE_COLUMNS)
    return out.sort_values(["team", "rep_id"]).reset_index(drop=True)


@lru_cache(maxsize=256)
def _u_cdf(m: int, n: int) -> np.ndarray:
    """``P(U <= u)``, u = 0..m*n, of the Mann-Whitney statistic of samples of sizes m and n with no ties.

    The number of arrangements with ``U = u`` is the coefficient of ``q^u`` in the Gaussian
    binomial ``[m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)``, computed exactly
    with Python integers.
    """
    g = [1]
    for i in range(1, m + 1):
        h = g + [0] * (n + i)
        for j, v in enumerate(g):
            h[j + n + i] -= v
        for j in range(i, len(h)):
            h[j] += h[j - i]
        while len(h) > 1 and h[-1] == 0:
            h.pop()
        g = h
    total = sum(g)
    return np.array([float(c) for c in itertools.accumulate(g)]) / float(total)


def _shift_interval(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float, float]:
    """Hodges-Lehmann shift of ``a`` over ``b`` with its distribution-free (Mann-Whitney) interval.

    ``D`` = the ``m n`` differences ``a_i - b_j`` sorted; estimate ``median(D)``; interval
    ``[D_(k), D_(mn+1-k)]`` with ``k`` the largest integer such that ``P(U <= k - 1) <=
    (1 - level) / 2`` under the exact null distribution of ``U`` (no ties): it covers the
    true shift with probability at least ``level`` whenever the two groups differ by a
    shift only, whatever the distribution. ``k = 0`` (too few values for that level) gives
    an infinite interval.
    """
    d = np.sort(np.subtract.outer(a, b).ravel())
    cdf = _u_cdf(len(a), len(b))
    k = int(np.searchsorted(cdf, (1 - level) / 2, side="right"))  # #{u : P(U <= u) <= alpha/2}
    if k == 0:
        return float(np.median(d)), -np.inf, np.inf
    return float(np.median(d)), float(d[k - 1]), float(d[len(d) - k])


def _dispersion(values: np.ndarray) -> float:
    """Quartile coefficient of dispersion ``(Q3 - Q1) / (Q3 + Q1)``; 0 when ``Q3 + Q1 = 0``."""
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return float((q3 - q1) / (q3 + q1)) if q3 + q1 > 0 else 0.0


def routine_comparison(
    routines_frame: pd.DataFrame, settings: Settings | None = None, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Per routine: does it vary across reps, and do top producers differ from the rest?

    Over the full-window reps where the routine is defined (``n_reps`` of them):

    1. **Does it vary?** ``distinct`` = number of distinct values; ``dispersion`` = the
       quartile coefficient of dispersion ``(Q3 - Q1) / (Q3 + Q1)`` (0 when both are 0; the
       routines are never negative). The routine is ``uninformative`` when
       ``distinct < routines_min_distinct`` or ``dispersion < routines_min_dispersion``:
       nearly every rep does the same, so it cannot separate top producers from the rest.
    2. **Top producers against the rest**, on the ``k`` informative routines:
       ``difference`` = the Hodges-Lehmann shift, ``median_{i,j}(top_i - rest_j)`` over all
       pairs of a top producer and another rep, with its distribution-free interval from
       the exact Mann-Whitney distribution (``diff_ci_low``, ``diff_ci_high``; see
       :func:`_shift_interval`) at level ``interval_level = 1 - (1 - confidence) / k``
       (Bonferroni): the ``k`` intervals hold together with probability at least
       ``confidence``, whatever the routines' distributions, so testing several routines
       does not manufacture a difference. The interval excludes 0 exactly when the
       two-sided Mann-Whitney test rejects at ``1 - interval_level``.

    ``label``: ``uninformative`` (step 1); ``insufficient_data`` (no rep has a value, or too
    few top producers or others for an interval at that level: with 2 top producers and 10
    others the smallest attainable two-sided p is 2/66); ``differs`` (the interval excludes
    0); else ``no_clear_difference``. ``better`` is ``higher`` / ``lower`` (the top
    producers' side) when the label is ``differs``, else ``""``. A difference is an
    association, not an effect: it says what top producers do, not that doing it makes a
    top producer.

    Parameters
    ----------
    routines_frame
        Output of :func:`routines`.
    settings
        For ``routines_min_distinct`` and ``routines_min_dispersion``; the defaults if None.
    confidence
        Joint coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per routine of :data:`ROUTINES`: ``routine``, ``n_reps``, ``distinct``,
        ``n_top``, ``n_rest`` (int64), ``median``, ``q1``, ``q3``, ``dispersion``,
        ``mean_top``, ``mean_rest``, ``median_top``, ``median_rest``, ``difference``,
        ``diff_ci_low``, ``diff_ci_high``, ``interval_level`` (float64), ``uninformative``
        (bool), ``label``, ``better``, ``note`` (str).
    """
    s = settings or load_settings()
    needed = ("rep_id", "top_producer", "full_window", *ROUTINES)
    missing = [c for c in needed if c not in routines_frame.columns]
    if missing:
        raise ValueError(f"routines_frame is missing column {missing[0]!r} (see routines.routines)")
    eligible = routines_frame.loc[routines_frame["full_window"]]
    rows = []
    for name in ROUTINES:
        r = eligible.loc[eligible[name].notna()]
        values = r[name].to_numpy(dtype="float64")
        top = r.loc[r["top_producer"], name].to_numpy(dtype="float64")
        rest = r.loc[~r["top_producer"], name].to_numpy(dtype="float64")
        q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75]) if len(values) else (np.nan,) * 3
        rows.append({
            "routine": name, "n_reps": len(values), "distinct": len(np.unique(values)), "n_top": len(top),
            "n_rest": len(rest), "median": med, "q1": q1, "q3": q3,
            "dispersion": _dispersion(values) if len(values) else np.nan,
            "mean_top": top.mean() if len(top) else np.nan, "mean_rest": rest.mean() if len(rest) else np.nan,
            "median_top": np.median(top) if len(top) else np.nan, "median_rest": np.median(rest) if len(rest) else np.nan,
            "_top": top, "_rest": rest,
        })
    for row in rows:
        row["uninformative"] = row["n_reps"] > 0 and (
            row["distinct"] < s.routines_min_distinct or row["dispersion"] < s.routines_min_dispersion)
    k = sum(row["n_reps"] > 0 and not row["uninformative"] for row in rows)
    level = 1 - (1 - confidence) / max(k, 1)
    for row in rows:
        top, rest = row.pop("_top"), row.pop("_rest")
        row.update(interval_level=level, difference=np.nan, diff_ci_low=np.nan, diff_ci_high=np.nan, better="", note="")
        if row["n_reps"] == 0:
            row.update(label="insufficient_data", note="no rep has a value on this data")
            continue
        if row["uninformative"]:
            row.update(label="uninformative",
                       note=f"{row['distinct']} distinct values, quartile dispersion {row['dispersion']:.3f}: "
                            "nearly the same for every rep; not compared, not charted")
            continue
        if len(top) == 0 or len(rest) == 0:
            row.update(label="insufficient_data", note=f"{len(top)} top producers and {len(rest)} others with a value")
            continue
        diff, lo, hi = _shift_interval(top, rest, level)
        row.update(difference=diff, diff_ci_low=lo, diff_ci_high=hi)
        if not np.isfinite(lo):
            row.update(label="insufficient_data",
                       note=f"{len(top)} top producers and {len(rest)} others: too few for a {level:.1%} interval")
        elif lo > 0 or hi < 0:
            row.update(label="differs", better="higher" if lo > 0 else "lower")
        else:
            row.update(label="no_clear_difference")
    out = pd.DataFrame(rows)
    columns = ["routine", "n_reps", "distinct", "n_top", "n_rest", "median", "q1", "q3", "dispersion", "mean_top",
               "mean_rest", "median_top", "median_rest", "difference", "diff_ci_low", "diff_ci_high", "interval_level",
               "uninformative", "label", "better", "note"]
    ints = dict.fromkeys(["n_reps", "distinct", "n_top", "n_rest"], "int64")
    floats = dict.fromkeys(columns[5:17], "float64")
    return out[columns].astype({"routine": "str", "uninformative": "bool", "label": "str", "better": "str", "note": "str"} | ints | floats)


def routine_gaps(routines_frame: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Each rep's distance to the top producers' median on the routines that differ.

    For each routine labelled ``differs`` in ``comparison``: ``gap = value - median_top``;
    ``shortfall = max(median_top - value, 0)`` when top producers are higher, ``max(value -
    median_top, 0)`` when they are lower (0: at or beyond the top producers; NaN when the
    rep's value is undefined).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``routine``, ``value``, ``top_median``, ``gap``,
        ``shortfall``; sorted by routine and shortfall (largest first). Empty when no
        routine differs.
    """
    rows = []
    for c in comparison.loc[comparison["label"] == "differs"].itertuples(index=False):
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
