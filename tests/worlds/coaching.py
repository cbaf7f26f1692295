"""Worlds with a known answer for coaching priorities and milestones.

Two kinds:

* :func:`funnel_world`: many independent teams at once (one team per world), drawn as
  per-rep counts with the shape of ``competency.rep_counts`` and ``competency.closed_deals``.
  Vectorised, so hundreds of seeds take a fraction of a second. The declared truth is
  each rep's true rates (``truth``), drawn from a known population, and each rep's role.
* :func:`small_floor`: one small in-memory :class:`~salesx2lib.dataset.Dataset` (activities,
  opportunities, quotas, hire dates) with deterministic counts, where the right coaching
  decision of every rep is written down (``EXPECTED``).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset

#: The rates of the funnel, in order.
RATES = ("connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate")
#: Population means of the true rates of typical reps (close to the sample's typical reps).
TYPICAL = {"connect_rate": 0.13, "conversation_to_appointment": 0.36, "appointment_to_opportunity": 0.44,
           "win_rate": 0.30}
#: Concentration (alpha + beta) of the Beta population each typical rep's true rate is drawn from.
CONCENTRATION = 600.0


@dataclass(frozen=True)
class FunnelWorld:
    """One draw of :func:`funnel_world`: counts, deals, ramp factors and the declared truth."""

    counts: pd.DataFrame  # rep_id, team, dials ... lost_amount (the columns of competency.rep_counts)
    deals: pd.DataFrame  # rep_id, won, amount (the columns of competency.closed_deals that coaching reads)
    ramp: pd.DataFrame  # rep_id, ramp_factor
    truth: pd.DataFrame  # rep_id, team, role, the four true rates, deal_size, ramp_factor


def funnel_world(
    seed: int,
    n_worlds: int,
    *,
    n_typical: int = 11,
    dials: int = 2500,
    special: dict[str, float] | None = None,
    special_role: str = "typical",
    special_dials: int | None = None,
    special_ramp: float = 1.0,
    deal_size: float = 5000.0,
) -> FunnelWorld:
    """``n_worlds`` teams, each of ``n_typical`` typical reps plus one special rep ``X``.

    Declared truth: a typical rep's true rate of each step is drawn from
    ``Beta(m * CONCENTRATION, (1 - m) * CONCENTRATION)`` with ``m`` from :data:`TYPICAL`;
    the special rep ``X`` of each team has the rates ``special`` (missing steps drawn like
    a typical rep), ``special_dials`` dials (default ``dials``) and ``special_ramp`` as its
    ramp factor. Counts are binomial down the funnel: conversations ~ Bin(dials, connect),
    appointments ~ Bin(conversations, c2a) (all prospect appointments), opportunities ~
    Bin(appointments, a2o), all decided in the window, won ~ Bin(opportunities, win). Every
    conversation is a connected call (no meetings held).
    Every won deal is worth ``deal_size`` exactly, so the value of a won deal is known.

    Rep ids are ``w{world}_{i}`` (typical) and ``w{world}_X``; the team is ``w{world}``.
    """
    rng = np.random.default_rng(seed)
    n_reps = n_typical + 1
    teams = np.repeat([f"w{w}" for w in range(n_worlds)], n_reps)
    ids = np.array([f"w{w}_{i}" if i < n_typical else f"w{w}_X" for w in range(n_worlds) for i in range(n_reps)])
    is_x = np.tile(np.arange(n_reps) == n_typical, n_worlds)
    true = {}
    for step, m in TYPICAL.items():
        p = rng.beta(m * CONCENTRATION, (1 - m) * CONCENTRATION, size=len(ids))
        if special and step in special:
            p = np.where(is_x, special[step], p)
        true[step] = p
    d = np.where(is_x, special_dials if special_dials is not None else dials, dials)
    conv = rng.binomial(d, true["connect_rate"])
    appt = rng.binomial(conv, true["conversation_to_appointment"])
    opps = rng.binomial(appt, true["appointment_to_opportunity"])
    won = rng.binomial(opps, true["win_rate"])
    lost = opps - won
    zeros = np.zeros(len(ids), dtype="int64")
    counts = pd.DataFrame(
        {
            "rep_id": ids, "team": teams, "dials": d.astype("int64"), "conversations": conv, "connected_calls": conv,
            "appointments": appt,
            "emails": zeros, "meetings": zeros, "business_cards": zeros, "other_activities": zeros,
            "prospect_appointments": appt, "opportunities": opps, "won": won, "lost": lost,
            "won_amount": won * deal_size, "lost_amount": lost * deal_size,
        }
    ).astype({"rep_id": "str", "team": "str", "won_amount": "float64", "lost_amount": "float64"})
    deals = pd.DataFrame({"rep_id": np.repeat(ids, won), "won": 1, "amount": deal_size}).astype({"rep_id": "str"})
    ramp_factor = np.where(is_x, special_ramp, 1.0)
    ramp = pd.DataFrame({"rep_id": ids, "ramp_factor": ramp_factor}).astype({"rep_id": "str"})
    truth = pd.DataFrame(
        {"rep_id": ids, "team": teams, "role": np.where(is_x, special_role, "typical"), **true,
         "deal_size": deal_size, "ramp_factor": ramp_factor}
    ).astype({"rep_id": "str", "team": "str", "role": "str"})
    return FunnelWorld(counts, deals, ramp, truth)


# ---------------------------------------------------------------------------------------------
# A small floor as a Dataset

#: As-of Sunday 29 March 2026: the 13-week window is [2025-12-29, 2026-03-30).
AS_OF = pd.Timestamp("2026-03-29 18:00")
WINDOW = (pd.Timestamp("2025-12-29"), pd.Timestamp("2026-03-30"))
#: The new hire's hire date: 49 days of the window, tenure 0 to 48; ramp factor by hand
#: (0.75 + 0.25 * mean(t) / 84, mean(t) = 24).
HIRE_N = pd.Timestamp("2026-02-09")
RAMP_N = 0.75 + 0.25 * 24 / 84

# Per rep over the window: dials, conversations, appointments, opportunities, won, lost, deal size,
# monthly quota, hire date. All opportunities are created and decided inside the window.
_PLAN = {
    #        dials  conv  appt  opp  won  lost  size   quota   hired
    "T1": (2600, 390, 156, 78, 26, 52, 1000.0, 9000.0, "2020-01-06"),
    "T2": (2600, 380, 150, 76, 25, 51, 1000.0, 9000.0, "2020-01-06"),
    "T3": (2600, 400, 160, 80, 27, 53, 1000.0, 9000.0, "2020-01-06"),
    "T4": (2600, 385, 152, 77, 26, 51, 1000.0, 9000.0, "2020-01-06"),
    "T5": (2600, 395, 158, 79, 26, 53, 1000.0, 9000.0, "2020-01-06"),
    # S: self-starter, far above quota, strong ratios, but a real win-rate gap (0.20 on 195 deals)
    "S": (3900, 780, 351, 195, 39, 156, 5000.0, 9000.0, "2019-01-07"),
    # G: a large, certain conversation-to-appointment gap (0.15 against 0.40), far below quota
    "G": (2600, 390, 58, 29, 10, 19, 1000.0, 9000.0, "2020-01-06"),
    # N: new hire on the ramp: every ratio at RAMP_N (0.82) of the typical reps', 7 weeks of work
    "N": (1400, 172, 56, 23, 6, 13, 1000.0, 3000.0, "2026-02-09"),
}

#: The right decision for each rep of :func:`small_floor`.
EXPECTED = {
    "S": "backed_off",  # self_sustained: never coached, although its win-rate gap is certain
    "G": "priority",  # listed first, on conversation_to_appointment
    "N": "no_clear_gap",  # on the ramp curve: not flagged
}


def _spread(n: int, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DatetimeIndex:
    """``n`` instants spread evenly over ``[lo, hi)`` (the middle of ``n`` equal slices)."""
    span = (hi - lo) / max(n, 1)
    return pd.DatetimeIndex([lo + span * (i + 0.5) for i in range(n)]).as_unit("us")


def small_floor(with_quotas: bool = True) -> Dataset:
    """The small floor of :data:`_PLAN` as a Dataset; :data:`EXPECTED` is its truth."""
    lo, hi = WINDOW
    acts, opps, quotas, reps = [], [], [], []
    for rep, (d, c, a, o, w, lost, size, quota, hired) in _PLAN.items():
        start = max(lo, pd.Timestamp(hired))
        dials = _spread(d, start, hi)
        talks = dials[(np.arange(c) * d) // c]  # every conversation is a connected call: same second as a dial
        for kind, times in (("dial", dials), ("conversation", talks), ("appointment", _spread(a, start, hi))):
            acts.append(pd.DataFrame({"rep_id": rep, "occurred_at": times, "activity_type": kind}))
        created = _spread(o, start, hi - pd.Timedelta(days=15))
        for i, when in enumerate(created):
            # won deals spread evenly among the decided ones
            is_won = (i + 1) * w // o > i * w // o
            amount = size * (1.0 + 0.1 * ((i % 3) - 1))
            opps.append((f"{rep}-{i}", rep, when, amount, "won" if is_won else "lost", when + pd.Timedelta(days=10)))
        for m in pd.date_range("2025-12-01", "2026-03-01", freq="MS"):
            quotas.append((rep, m, m + pd.offsets.MonthEnd(0), quota))
        reps.append((rep, f"Rep {rep}", "T", "M", pd.Timestamp(hired)))
    act = pd.concat(acts, ignore_index=True)
    act = act.assign(
        activity_id=[f"a{i}" for i in range(len(act))], opportunity_id=pd.Series(None, index=act.index, dtype="str")
    ).astype({"rep_id": "str", "activity_type": "str", "occurred_at": "datetime64[us]"})
    o = pd.DataFrame(opps, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    o = o.assign(
        stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost"}), expected_close_date=o["closed_at"]
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "created_at": "datetime64[us]",
              "closed_at": "datetime64[us]", "expected_close_date": "datetime64[us]"})
    r = pd.DataFrame(reps, columns=["rep_id", "rep_name", "team", "manager", "hire_date"]).astype(
        {"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": "datetime64[us]"}
    )
    q = pd.DataFrame(quotas, columns=["rep_id", "period_start", "period_end", "quota"]).astype(
        {"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"}
    )
    tables = {"reps": r, "opportunities": o} | ({"quotas": q} if with_quotas else {})
    return Dataset(tables=tables, activities=ibis.memtable(act), as_of=AS_OF)
