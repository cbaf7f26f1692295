"""Known-truth worlds for metric relevance: rep x week counts whose answer is declared.

A small, vectorised generator (no activity log, no deals: the rep x week counts that
:func:`salesx2lib.competency.rep_counts` would return), built to fool a pooled
correlation and to be seen through by a method that compares reps within each week.

What is true in every world (the declared truth, also in :class:`RelevanceWorld`):

* **A strong calendar.** Every rep's activity *and* deal flow follow the same weekly
  factor: a quarter wave (+-40% over 13 weeks), a holiday fortnight at the year's turn
  (15% of normal) and a four-week summer dip (60%), plus two trade-show weeks with many
  business cards. The calendar moves tasks and revenue together, so over rep-weeks every
  task "predicts" revenue.
* **Tasks with no effect.** ``dials``, ``emails``, ``business_cards`` and
  ``other_activities`` follow the calendar and the rep's busyness (a rep factor,
  lognormal, independent of everything else) and nothing in the revenue depends on them.
* **Rep fixed effects.** Each rep has a territory factor (lognormal, independent of every
  metric) that scales their deal flow: reps differ in revenue for reasons no metric sees.
* **Competencies.** ``connect_rate`` (per rep), ``conversation_to_appointment`` (per rep,
  drifting week to week: an AR(1) in logit) and ``appointment_to_opportunity`` (per rep)
  produce the funnel counts from the dials; ``win_rate`` is per rep.
* **What drives revenue** (``effect > 0``): the number of deals decided in week ``t`` is
  Poisson with mean ``12 x calendar[t] x territory x (c2a[t - lag] / 0.35) ** effect``
  (``lag`` = 4 weeks: a sales cycle), and each is won with the rep's ``win_rate``, which
  differs between reps (uniform, 0.08 to 0.52). So ``conversation_to_appointment`` and ``win_rate``
  predict revenue; ``connect_rate``, ``appointment_to_opportunity``, ``avg_deal_size``
  (every deal's amount is drawn from the same distribution) and the tasks do not. The
  counts downstream of an effective competency (``conversations``, ``appointments``,
  ``meetings``, ``opportunities``) carry part of its signal: they are left undeclared.
* **The null world** (``effect = 0``): deal flow depends on the calendar and the
  territory only and every rep's win rate is 0.30, so no metric predicts revenue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CYCLE_WEEKS", "EFFECTIVE", "NULL_IN_EFFECT_WORLD", "RelevanceWorld", "relevance_world"]

#: The world's sales cycle in weeks: the lag from a competency to the deals it decides (+1).
CYCLE_WEEKS = 5
#: Metrics with an effect on revenue when ``effect > 0``.
EFFECTIVE: tuple[str, ...] = ("conversation_to_appointment", "win_rate")
#: Metrics without an effect in every world.
NULL_IN_EFFECT_WORLD: tuple[str, ...] = (
    "dials", "emails", "business_cards", "other_activities",
    "connect_rate", "appointment_to_opportunity", "avg_deal_size",
)
_FIRST_MONDAY = pd.Timestamp("2025-12-01")
_LAG = 4


@dataclass(frozen=True)
class RelevanceWorld:
    """A generated world: its weekly counts and its declared truth.

    Attributes
    ----------
    counts
        Rep x week counts shaped like ``rep_counts(..., freq="week")``.
    effective
        Metrics that drive revenue (empty in the null world).
    null
        Metrics that do not (every metric in the null world).
    cycle_weeks
        The horizon to use: the world's sales cycle.
    calendar
        The weekly calendar factor shared by every rep.
    """

    counts: pd.DataFrame
    effective: tuple[str, ...]
    null: tuple[str, ...]
    cycle_weeks: int
    calendar: np.ndarray


def calendar(n_weeks: int) -> np.ndarray:
    """The shared weekly factor: quarter wave, holiday fortnight, summer dip (weeks from 1 Dec)."""
    t = np.arange(n_weeks)
    wave = 1.0 + 0.4 * np.sin(2 * np.pi * t / 13.0)
    holidays = np.where(np.isin(t % 52, [3, 4]), 0.15, 1.0)  # 22 Dec - 4 Jan
    summer = np.where(np.isin(t % 52, [35, 36, 37, 38]), 0.6, 1.0)  # August
    return wave * holidays * summer


def relevance_world(seed: int, *, n_reps: int = 30, n_weeks: int = 52, effect: float = 1.5) -> RelevanceWorld:
    """Generate one world (see the module docstring for its declared truth).

    Parameters
    ----------
    seed
        ``numpy.random.default_rng(seed)``: the same seed gives the same world.
    n_reps, n_weeks
        Size of the floor and of the window.
    effect
        Elasticity of the deal flow to the lagged conversation-to-appointment ratio, and
        whether win rates differ between reps; 0 gives the null world.
    """
    rng = np.random.default_rng(seed)
    cal = calendar(n_weeks + _LAG)  # _LAG weeks of burn-in before the window
    busy = np.exp(0.35 * rng.normal(size=n_reps))[:, None]
    territory = np.exp(0.2 * rng.normal(size=n_reps))[:, None]
    load = cal[None, _LAG:] * busy
    shape = (n_reps, n_weeks)
    dials = rng.poisson(200.0 * load)
    emails = rng.poisson(50.0 * load)
    other = rng.poisson(10.0 * load)
    shows = np.isin(np.arange(n_weeks), [10, 36])[None, :]
    cards = rng.poisson(1.0 * load) + rng.poisson(15.0 * shows * np.ones(shape))
    connect = rng.uniform(0.10, 0.20, size=(n_reps, 1))
    conversations = rng.binomial(dials, np.broadcast_to(connect, shape))
    # conversation_to_appointment: a rep level plus an AR(1) drift in logit, with burn-in
    drift = np.zeros((n_reps, n_weeks + _LAG))
    shocks = rng.normal(0.0, 0.12, size=drift.shape)
    for t in range(1, drift.shape[1]):
        drift[:, t] = 0.9 * drift[:, t - 1] + shocks[:, t]
    logit = np.log(0.35 / 0.65) + 0.45 * rng.normal(size=(n_reps, 1)) + drift
    c2a = 1.0 / (1.0 + np.exp(-logit))
    appointments = rng.binomial(conversations, c2a[:, _LAG:])
    meetings = rng.binomial(appointments, 0.9)
    a2o = rng.uniform(0.30, 0.50, size=(n_reps, 1))
    opportunities = rng.binomial(appointments, np.broadcast_to(a2o, shape))
    flow = 12.0 * cal[None, _LAG:] * territory * (c2a[:, :n_weeks] / 0.35) ** effect
    decided = rng.poisson(flow)
    win = rng.uniform(0.08, 0.52, size=(n_reps, 1)) if effect > 0 else np.full((n_reps, 1), 0.30)
    won = rng.binomial(decided, np.broadcast_to(win, shape))
    lost = decided - won
    # each deal's amount is gamma(4, 1250): mean 5,000 for every rep; a sum of k is gamma(4k, 1250)
    won_amount = np.where(won > 0, rng.gamma(np.maximum(4.0 * won, 1e-9), 1250.0), 0.0).round()
    lost_amount = np.where(lost > 0, rng.gamma(np.maximum(4.0 * lost, 1e-9), 1250.0), 0.0).round()
    rep = np.repeat(np.arange(n_reps), n_weeks)
    week = np.tile(np.arange(n_weeks), n_reps)
    counts = pd.DataFrame(
        {
            "rep_id": [f"W{r:03d}" for r in rep],
            "team": np.where(rep % 3 == 0, "North", np.where(rep % 3 == 1, "South", "West")),
            "period_start": (_FIRST_MONDAY + pd.to_timedelta(7 * week, unit="D")),
            "dials": dials.ravel(),
            "conversations": conversations.ravel(),
            "connected_calls": conversations.ravel(),  # every conversation of this world is a call
            "appointments": appointments.ravel(),
            "emails": emails.ravel(),
            "meetings": meetings.ravel(),
            "business_cards": cards.ravel(),
            "other_activities": other.ravel(),
            "prospect_appointments": appointments.ravel(),
            "opportunities": opportunities.ravel(),
            "won": won.ravel(),
            "lost": lost.ravel(),
            "won_amount": won_amount.ravel(),
            "lost_amount": lost_amount.ravel(),
        }
    ).astype({"rep_id": "str", "team": "str", "period_start": "datetime64[us]"})
    int_columns = [c for c in counts.columns if c not in ("rep_id", "team", "period_start", "won_amount", "lost_amount")]
    counts = counts.astype({c: "int64" for c in int_columns})
    if effect > 0:
        effective, null = EFFECTIVE, NULL_IN_EFFECT_WORLD
    else:
        effective = ()
        null = (*NULL_IN_EFFECT_WORLD, *EFFECTIVE, "conversations", "appointments", "meetings", "opportunities")
    return RelevanceWorld(counts, effective, null, CYCLE_WEEKS, cal[_LAG:])
