"""A synthetic sales floor: the sample dataset every notebook, test and demo runs on.

:func:`generate` simulates a floor of reps (four teams) over ``weeks`` whole
Monday-to-Sunday weeks ending on ``end`` and returns the seven canonical tables of
:mod:`salesx2lib.schema`; :func:`write_sample` writes them (CSV for the small tables,
Parquet for the activity log) byte-identically for the same arguments. Nothing here is
real: names, teams, accounts and amounts are invented.

The generating model, in one paragraph (``data/sample/README.md`` has the long form).
Each rep has latent competencies (:func:`rep_profiles`): ``connect_rate`` = P(a dial
becomes a live conversation); ``conversation_to_appointment`` = P(a conversation books a
next meeting), applied to every conversation; ``appointment_to_opportunity`` = P(an
appointment not tied to an opportunity becomes one; the opportunity is created at the
end of the meeting it books, 1-7 days later); ``win_rate`` = P(an opportunity is won,
fixed at its creation); ``deal_size`` = median amount. Each rep has a role (:data:`ROLES`):
typical, self-starter (steady outcomes, tight cycles, makes up for time off: high and
consistent attainment), high dial / low skill, efficient low volume / high skill, or new
hire (ramps from the hire date, :data:`RAMP_DAYS`). A trained rep's competency rises by
:data:`TRAINING_LIFT` from the completion date. Cycles are lognormal (:data:`CYCLE_WON_MEDIAN_DAYS`). The
simulation starts :data:`BURN_IN_WEEKS` before the window (so the window opens on a
live pipeline) and runs past ``end`` (so forecasts can be scored against what would
have been won); every table is then cut at ``end``. Every Monday each rep submits a
``commit`` for three months, made only from what the rep knows at that moment
(:func:`_rep_forecast`: the pipeline as it stands, weighted by the rep's own stage win
rates, plus a run-rate guess for deals not created yet) times the rep's declared optimism
or sandbagging (``forecast_bias``); never from what is won afterwards.
"""

from __future__ import annotations

import bisect
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesx2lib.schema import ACTIVITY_TYPES, COMPETENCIES, TABLE_ORDER, TABLES

__all__ = [
    "BASE_DEAL_SIZE",
    "BURN_IN_WEEKS",
    "CYCLE_LOST_MEDIAN_DAYS",
    "CYCLE_LOST_SIGMA",
    "CYCLE_WON_MEDIAN_DAYS",
    "CYCLE_WON_SIGMA",
    "DEFAULT_END",
    "NOT_GENERATED",
    "FORECAST_GUESS_NOISE",
    "FORECAST_MEMORY_DAYS",
    "FORECAST_NOISE",
    "FORECAST_PRIOR_DEALS",
    "FORECAST_RUN_RATE_DAYS",
    "FORECAST_STAGE_PRIOR",
    "LOST_STAGE_P",
    "MANAGERS",
    "NEW_HIRE_QUOTA_RAMP",
    "RAMP_DAYS",
    "RAMP_FLOOR",
    "RAMP_VOLUME_FLOOR",
    "REGIONS",
    "ROLES",
    "SANDBAG_BIAS",
    "SANDBAG_SHARE",
    "STAGES",
    "STAGE_LOST",
    "STAGE_WON",
    "STALE_PROBABILITY",
    "TEAMS",
    "TEAM_DEAL_FACTOR",
    "TRAINING_LIFT",
    "TYPICAL_COMPETENCIES",
    "generate",
    "rep_profiles",
    "write_sample",
]

#: The default last day of the sample: a fixed Sunday (never today's date).
DEFAULT_END: date = date(2026, 11, 22)

#: Teams, their managers, regions and deal-size factors (the median deal of a team is
#: ``BASE_DEAL_SIZE * factor``).
TEAMS: tuple[str, ...] = ("Atlas", "Beacon", "Compass", "Summit")
MANAGERS: dict[str, str] = {
    "Atlas": "Morgan Hale",
    "Beacon": "Priya Castellano",
    "Compass": "Dmitri Okafor",
    "Summit": "Helena Marsh",
}
REGIONS: dict[str, str] = {"Atlas": "North", "Beacon": "East", "Compass": "West", "Summit": "South"}
TEAM_DEAL_FACTOR: dict[str, float] = {"Atlas": 1.0, "Beacon": 1.35, "Compass": 0.8, "Summit": 1.1}
BASE_DEAL_SIZE: float = 5_000.0

#: Open stages in order, and the two closed stages (the defaults of ``settings.toml``).
STAGES: tuple[str, ...] = ("Prospecting", "Qualification", "Proposal", "Negotiation")
STAGE_WON: str = "Closed Won"
STAGE_LOST: str = "Closed Lost"

#: Rep roles: what kind of rep each latent profile describes.
ROLES: tuple[str, ...] = ("typical", "self_starter", "new_hire", "high_dial", "efficient")

#: Mean funnel competencies of a typical rep (each typical rep varies a few % around them).
TYPICAL_COMPETENCIES: dict[str, float] = {
    "connect_rate": 0.13,
    "conversation_to_appointment": 0.36,
    "appointment_to_opportunity": 0.44,
    "win_rate": 0.30,
}
#: Dials per full workday and competency ranges (connect, conversation_to_appointment,
#: appointment_to_opportunity, win_rate) of the "high dial, low skill" and the
#: "efficient, low volume, high skill" reps.
_ROLE_DIALS: dict[str, tuple[float, float]] = {"high_dial": (74, 90), "efficient": (20, 26)}
_ROLE_RATIOS: dict[str, tuple[tuple[float, float], ...]] = {
    "high_dial": ((0.085, 0.10), (0.22, 0.27), (0.32, 0.37), (0.18, 0.22)),
    "efficient": ((0.17, 0.20), (0.44, 0.48), (0.48, 0.53), (0.33, 0.36)),
}

#: The lift a completed training gives its competency from the completion date on:
#: absolute (added to the probability) for the four ratios, relative for ``deal_size``.
TRAINING_LIFT: dict[str, float] = {
    "connect_rate": 0.08,
    "conversation_to_appointment": 0.10,
    "appointment_to_opportunity": 0.10,
    "win_rate": 0.10,
    "deal_size": 0.25,
}

#: A new hire ramps over this many days: ratios from ``RAMP_FLOOR`` of their full value,
#: activity volume from ``RAMP_VOLUME_FLOOR``, linearly up to 100 %.
RAMP_DAYS: int = 84
RAMP_FLOOR: float = 0.75
RAMP_VOLUME_FLOOR: float = 0.5

#: Days from creation to close: lognormal with these medians and log-spreads; a stale
#: deal (one that goes quiet for 3-6 weeks) adds its silence to the cycle.
CYCLE_WON_MEDIAN_DAYS: float = 25.0
CYCLE_WON_SIGMA: float = 0.45
CYCLE_LOST_MEDIAN_DAYS: float = 26.0
CYCLE_LOST_SIGMA: float = 0.55
STALE_PROBABILITY: dict[bool, float] = {True: 0.08, False: 0.35}  # by won
#: Where a lost deal stopped: P(last open stage reached) in ``STAGES`` order.
LOST_STAGE_P: tuple[float, ...] = (0.35, 0.30, 0.22, 0.13)
_LOST_STAGE_CUM = [sum(LOST_STAGE_P[: i + 1]) for i in range(len(LOST_STAGE_P))]

#: How a rep makes a forecast (:func:`_rep_forecast`): only from what the rep knows at the
#: submission (the pipeline as it stands then, their own closed deals and won revenue
#: before it), never from what happens after it. A rep weights each open deal by their own
#: stage win rate: the won share of their deals closed in the last ``FORECAST_MEMORY_DAYS``
#: that reached the stage, shrunk toward ``FORECAST_STAGE_PRIOR`` (a CRM's default stage
#: table) with the weight of ``FORECAST_PRIOR_DEALS`` deals. Deals not created yet are
#: judged from the run rate (won over the last ``FORECAST_RUN_RATE_DAYS``). Each number
#: is then multiplied by ``exp(forecast_bias + FORECAST_NOISE * eps)``.
FORECAST_STAGE_PRIOR: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75)
FORECAST_PRIOR_DEALS: float = 10.0
FORECAST_MEMORY_DAYS: int = 365
FORECAST_RUN_RATE_DAYS: int = 91
FORECAST_NOISE: float = 0.10
#: The log-spread of a rep's guess at the revenue of deals not created yet (one draw per
#: submission: the rep's outlook that Monday, shared by the three months).
FORECAST_GUESS_NOISE: float = 0.25
#: Sandbaggers: this share of the floor (tenured reps who are not optimistic) forecasts
#: low on purpose, with a log bias drawn uniformly in ``SANDBAG_BIAS``.
SANDBAG_SHARE: float = 0.15
SANDBAG_BIAS: tuple[float, float] = (-0.30, -0.15)

#: Weeks simulated before the window (a live pipeline at its start), and days after.
BURN_IN_WEEKS: int = 12
_POST_DAYS: int = 130

#: A new hire's quota as a share of the full quota in the hire month (also prorated by
#: the workdays left in it) and the months after.
NEW_HIRE_QUOTA_RAMP: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75)

#: Quotas are set so that the median typical rep attains this share of quota.
_TYPICAL_ATTAINMENT: float = 0.9

_DAY = 86_400
_NAN = float("nan")
_LOG_TALK = math.log(240)
_LOG_MEETING = math.log(1800)
_TYPE_CODE = {t: i for i, t in enumerate(ACTIVITY_TYPES)}
_DIAL, _CONV, _APPT, _EMAIL, _MEET, _CARD, _OTHER = (
    _TYPE_CODE[t] for t in ("dial", "conversation", "appointment", "email", "meeting", "business_card", "other")
)
# Office hours (UTC): share of the day's work in each hour from 08:00 to 17:00, lunch dip.
_HOURS = np.arange(8, 18)
_HOUR_CUM = np.cumsum(np.array([0.6, 1.0, 1.0, 1.0, 0.45, 0.75, 1.0, 1.0, 0.85, 0.45]))
_HOUR_CUM = _HOUR_CUM / _HOUR_CUM[-1]
_HOUR_CUM_LIST = [float(x) for x in _HOUR_CUM]

_FIRST_NAMES = (
    "Avery", "Blake", "Carmen", "Dana", "Elliot", "Farah", "Gideon", "Hana", "Idris", "Jules",
    "Kasia", "Leon", "Maren", "Nikhil", "Odile", "Pavel", "Quinn", "Rosa", "Soren", "Talia",
    "Umar", "Vera", "Wes", "Ximena", "Yusuf", "Zora", "Anders", "Bea", "Cyrus", "Delphine",
    "Emeka", "Freya", "Goran", "Hiro", "Ines", "Jonah", "Keiko", "Luca", "Mira", "Nils",
)  # fmt: skip
_LAST_NAMES = (
    "Abernathy", "Brandt", "Coelho", "Drummond", "Eklund", "Fairweather", "Galloway", "Halvorsen",
    "Iwata", "Jankowski", "Kowalczyk", "Lindqvist", "Moreau", "Nakagawa", "Oyelaran", "Pellegrini",
    "Quiroga", "Ravensworth", "Szabo", "Thorne", "Ulrich", "Vasquez", "Whitlock", "Yardley",
    "Zielinski", "Amundsen", "Beaumont", "Castellan", "Delacroix", "Espinoza", "Fitzgerald",
    "Grimaldi", "Hollis", "Ivanova", "Jespersen", "Kilbride", "Lachance", "Merriweather",
    "Northcott", "Ostrowski",
)  # fmt: skip


# ---------------------------------------------------------------------------------------
# calendar
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Window:
    """Day indices of the simulation; day 0 is ``sim_start`` (a Monday)."""

    sim_start: date
    start: int  # first day of the window (a Monday)
    end: int  # last day of the window (a Sunday), inclusive
    horizon: int  # simulated days

    def day(self, d: int) -> date:
        return self.sim_start + timedelta(days=int(d))

    def index(self, d: date) -> int:
        return (d - self.sim_start).days


def _window(weeks: int, end: date) -> _Window:
    start = end - timedelta(days=7 * weeks - 1)
    sim_start = start - timedelta(weeks=BURN_IN_WEEKS)
    first = (start - sim_start).days
    last = (end - sim_start).days
    return _Window(sim_start, first, last, last + 1 + _POST_DAYS)


def _next_workday(day: int) -> int:
    wd = day % 7
    return day + 2 if wd == 5 else day + 1 if wd == 6 else day


def _prev_workday(day: int) -> int:
    wd = day % 7
    return day - 1 if wd == 5 else day - 2 if wd == 6 else day


def _office_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` seconds-of-day during office hours (08:00-18:00 UTC, lunch dip)."""
    u = rng.random(n)
    k = np.searchsorted(_HOUR_CUM, u, side="right").clip(0, len(_HOURS) - 1)
    lo = np.where(k > 0, _HOUR_CUM[k - 1], 0.0)
    frac = (u - lo) / (_HOUR_CUM[k] - lo)
    return _HOURS[k] * 3600 + np.minimum((frac * 3600).astype(np.int64), 3599)


def _office_second(rng: np.random.Generator) -> int:
    """One second-of-day during office hours (scalar twin of :func:`_office_seconds`)."""
    u = rng.random()
    k = min(bisect.bisect_right(_HOUR_CUM_LIST, u), len(_HOUR_CUM_LIST) - 1)
    lo = _HOUR_CUM_LIST[k - 1] if k > 0 else 0.0
    return (8 + k) * 3600 + min(int((u - lo) / (_HOUR_CUM_LIST[k] - lo) * 3600), 3599)


def _office_time(rng: np.random.Generator, day: int) -> int:
    """A moment during office hours of ``day`` (moved to Monday if it is a weekend day)."""
    return _next_workday(day) * _DAY + _office_second(rng)


def _meeting_time(rng: np.random.Generator, day: int) -> int:
    """A meeting start on the hour or half hour, 09:00-16:30, on a workday."""
    slot = int(rng.integers(0, 16))
    return _next_workday(day) * _DAY + 9 * 3600 + slot * 1800 + int(rng.integers(0, 180))


# ---------------------------------------------------------------------------------------
# latent profiles
# ---------------------------------------------------------------------------------------
@dataclass
class _Profile:
    """Latent truth about one rep (see :func:`rep_profiles`)."""

    rep_id: str
    rep_name: str
    team: str
    role: str
    hire_day: int
    dials_per_day: float
    emails_per_day: float
    connect_rate: float
    conversation_to_appointment: float
    appointment_to_opportunity: float
    win_rate: float
    deal_size: float
    deal_sigma: float
    volume_noise: float  # gamma shape of the day-to-day volume factor (higher = steadier)
    forecast_bias: float  # log bias of forecasts (> 0 = optimistic)
    close_estimate_days: float  # how far out the rep puts a new deal's expected close
    cycle_spread: float = 1.0  # scales the log-spread of cycle times (a steady closer < 1)
    stale_factor: float = 1.0  # scales the chance that a deal goes quiet
    training: str | None = None
    training_at: int | None = None  # seconds since sim start


def _role_counts(n: int) -> dict[str, int]:
    """How many reps of each special role a floor of ``n`` reps has."""

    def share(frac: float, cap: int) -> int:
        k = int(round(n * frac))
        return min(cap, max(1, k) if n >= 6 else k)

    counts = {
        "self_starter": share(0.13, 5),
        "new_hire": share(0.10, 4),
        "high_dial": share(0.12, 4),
        "efficient": share(0.07, 3),
    }
    counts["typical"] = n - sum(counts.values())
    return counts


def _draw_profiles(rng: np.random.Generator, reps: int, win: _Window) -> list[_Profile]:
    counts = _role_counts(reps)
    # teams dealt round the roles, so that every role is spread over the teams
    roles = np.array([r for r in ROLES[::-1] for _ in range(counts[r])])
    offset = int(rng.integers(len(TEAMS)))
    teams = np.array([TEAMS[(offset + i) % len(TEAMS)] for i in range(reps)])
    shuffle = rng.permutation(reps)
    roles, teams = roles[shuffle], teams[shuffle]
    # hire dates: tenured reps 6 months to 6 years before the window; new hires 8-12
    # weeks before the end (always inside the window), on a Monday.
    weeks = (win.end + 1 - win.start) // 7
    hire = np.empty(reps, dtype=np.int64)
    for i, role in enumerate(roles):
        if role == "new_hire":
            back = min(int(rng.integers(8, 13)), max(1, weeks - 1))
            hire[i] = win.end + 1 - 7 * back
        else:
            hire[i] = _prev_workday(win.start - int(rng.integers(180, 6 * 365)))
    order = np.lexsort((np.arange(reps), hire))  # rep ids follow hire order
    names = rng.choice(len(_FIRST_NAMES) * len(_LAST_NAMES), size=reps, replace=False)
    optimistic = rng.random(reps) < 0.3

    profiles: list[_Profile] = []
    for k, i in enumerate(order):
        role = str(roles[i])
        team = str(teams[i])
        z = rng.normal(size=6)
        typical = np.array([TYPICAL_COMPETENCIES[c] for c in COMPETENCIES[:4]])
        if role in ("high_dial", "efficient"):
            dials = rng.uniform(*_ROLE_DIALS[role])
            ratios = tuple(float(rng.uniform(lo, hi)) for lo, hi in _ROLE_RATIOS[role])
            size_f, sigma, shape = (0.9, 0.5, 20.0) if role == "high_dial" else (1.05, 0.4, 25.0)
        elif role == "self_starter":  # a little better on each ratio, busy, steady
            dials = 44 * np.exp(0.08 * z[1])
            ratios = tuple(float(x) for x in typical * 1.03 * np.exp(0.03 * z[2:6]))
            size_f, sigma, shape = 1.06, 0.25, 60.0
        else:  # typical and new hires (who ramp towards a typical profile)
            # busier reps convert a little worse: volume is only loosely tied to results
            dials = 40 * np.exp(0.17 * z[1])
            ratios = tuple(float(x) for x in typical * np.exp(0.035 * z[2:6] - 0.038 * z[1] + 0.02 * z[0]))
            size_f, sigma, shape = float(np.exp(0.06 * rng.normal())), 0.45, 25.0
        bias = rng.uniform(0.15, 0.35) if optimistic[i] and role != "self_starter" else rng.normal(0, 0.04)
        first, last = divmod(int(names[i]), len(_LAST_NAMES))
        profiles.append(
            _Profile(
                rep_id=f"R{k + 1:03d}",
                rep_name=f"{_FIRST_NAMES[first]} {_LAST_NAMES[last]}",
                team=team,
                role=role,
                hire_day=int(hire[i]),
                dials_per_day=float(dials),
                emails_per_day=float(rng.uniform(6, 16)),
                connect_rate=float(ratios[0]),
                conversation_to_appointment=float(ratios[1]),
                appointment_to_opportunity=float(ratios[2]),
                win_rate=float(ratios[3]),
                deal_size=float(round(BASE_DEAL_SIZE * TEAM_DEAL_FACTOR[team] * size_f, -1)),
                deal_sigma=sigma,
                volume_noise=shape,
                forecast_bias=float(bias),
                close_estimate_days=float(rng.uniform(17, 24) if bias > 0.1 else rng.uniform(24, 34)),
                cycle_spread=0.4 if role == "self_starter" else 1.0,
                stale_factor=0.3 if role == "self_starter" else 1.0,
            )
        )

    # trainings: about a third of the tenured reps, one competency each, around mid-window
    candidates = [p for p in profiles if p.role != "new_hire"]
    n_train = min(len(candidates), min(12, max(1, int(round(reps / 3)))))
    chosen = rng.choice(len(candidates), size=n_train, replace=False) if n_train else []
    first_competency = int(rng.integers(len(COMPETENCIES)))
    mid = (win.start + win.end) // 2
    for j, c in enumerate(sorted(int(x) for x in chosen)):
        day = int(np.clip(mid + int(rng.integers(-21, 22)), win.start, win.end))
        day = _prev_workday(day) if day % 7 >= 5 else day
        day = max(day, win.start)
        p = candidates[c]
        p.training = COMPETENCIES[(first_competency + j) % len(COMPETENCIES)]
        p.training_at = day * _DAY + _office_second(rng)
    return profiles


# ---------------------------------------------------------------------------------------
# the simulation of one rep
# ---------------------------------------------------------------------------------------
@dataclass
class _RepLog:
    """Everything one rep did, in simulation seconds; opportunities by local index."""

    t: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    opp: list[np.ndarray] = field(default_factory=list)
    dur: list[np.ndarray] = field(default_factory=list)
    # scalar events (python lists, converted once)
    st: list[int] = field(default_factory=list)
    sk: list[int] = field(default_factory=list)
    so: list[int] = field(default_factory=list)
    sd: list[float] = field(default_factory=list)
    # per opportunity: created, closed, account, won, account left blank
    opps: list[tuple[int, int, int, bool, int]] = field(default_factory=list)
    # per history row: opportunity, t, stage index, amount, expected close day
    history: list[tuple[int, int, int, float, float]] = field(default_factory=list)

    def add(self, t: int, kind: int, opp: int = -1, dur: float = np.nan) -> None:
        self.st.append(t)
        self.sk.append(kind)
        self.so.append(opp)
        self.sd.append(dur)

    def bulk(self, t: np.ndarray, kind: int, dur: np.ndarray | None = None) -> None:
        self.t.append(t.astype(np.int64))
        self.kind.append(np.full(len(t), kind, dtype=np.int8))
        self.opp.append(np.full(len(t), -1, dtype=np.int64))
        self.dur.append(np.full(len(t), np.nan) if dur is None else dur.astype(np.float64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t = np.concatenate([*self.t, np.array(self.st, dtype=np.int64)])
        kind = np.concatenate([*self.kind, np.array(self.sk, dtype=np.int8)])
        opp = np.concatenate([*self.opp, np.array(self.so, dtype=np.int64)])
        dur = np.concatenate([*self.dur, np.array(self.sd, dtype=np.float64)])
        return t, kind, opp, dur


class _Rates:
    """A rep's competencies and volume factor on each simulated day.

    :meth:`decide` turns a probability into an outcome: a coin flip for most reps; for a
    self-starter an error-diffusion draw (successes come at the rate ``p`` but evenly
    spaced, not in lucky or unlucky streaks), which is what makes them consistent.
    """

    def __init__(self, p: _Profile, win: _Window, rng: np.random.Generator) -> None:
        self.rng = rng
        self.steady = p.role == "self_starter"
        self.carry = {name: float(rng.random()) for name in COMPETENCIES[:4]}
        days = np.arange(win.horizon)
        tenure = days - p.hire_day
        if p.role == "new_hire":
            ramp = np.clip(tenure / RAMP_DAYS, 0.0, 1.0)
            self.ramp = RAMP_FLOOR + (1 - RAMP_FLOOR) * ramp
            self.volume_ramp = RAMP_VOLUME_FLOOR + (1 - RAMP_VOLUME_FLOOR) * ramp
        else:
            self.ramp = np.ones(win.horizon)
            self.volume_ramp = np.ones(win.horizon)
        trained_from = win.horizon if p.training_at is None else p.training_at // _DAY
        self.trained = days >= trained_from
        self.training_at = p.training_at
        self.rates: dict[str, np.ndarray] = {}
        for name in COMPETENCIES[:4]:
            base = getattr(p, name) * self.ramp
            if p.training == name:
                base = base + np.where(self.trained, TRAINING_LIFT[name], 0.0)
            self.rates[name] = np.clip(base, 0.0, 0.95)
        size = p.deal_size * (0.8 + 0.2 * self.ramp / max(self.ramp.max(), 1e-9))
        if p.training == "deal_size":
            size = size * np.where(self.trained, 1 + TRAINING_LIFT["deal_size"], 1.0)
        self.deal_size = size

    def decide(self, name: str, t: int) -> bool:
        """Whether an event of probability ``name`` at ``t`` succeeds."""
        p = self(name, t)
        if not self.steady:
            return bool(self.rng.random() < p)
        self.carry[name] += p
        if self.carry[name] >= 1.0:
            self.carry[name] -= 1.0
            return True
        return False

    def decide_many(self, name: str, p: np.ndarray) -> np.ndarray:
        """Vector form of :meth:`decide` for events of probabilities ``p``, in order."""
        if not self.steady:
            return self.rng.random(len(p)) < p
        level = self.carry[name] + np.cumsum(p)
        steps = np.floor(level)
        success = np.diff(np.concatenate([[0.0], steps])) > 0
        if len(p):
            self.carry[name] = float(level[-1] - steps[-1])
        return success

    def __call__(self, name: str, t: int) -> float:
        """The competency ``name`` at simulation second ``t`` (a training counts from its moment)."""
        day = t // _DAY
        value = self.rates[name][day] if name != "deal_size" else self.deal_size[day]
        if self.training_at is not None and day == self.training_at // _DAY and t < self.training_at:
            return float(self.rates[name][day - 1] if name != "deal_size" else self.deal_size[day - 1])
        return float(value)


def _day_factors(win: _Window) -> np.ndarray:
    """Calendar volume factor per day: weekends 0, Fridays lighter, August and year-end dips."""
    f = np.zeros(win.horizon)
    for d in range(win.horizon):
        day = win.day(d)
        if day.weekday() >= 5:
            continue
        v = 0.9 if day.weekday() == 4 else 1.0
        if day.month == 8:
            v *= 0.85
        if (day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1):
            v *= 0.15
        f[d] = v
    return f


def _simulate_rep(
    rng: np.random.Generator, p: _Profile, win: _Window, calendar: np.ndarray, month: np.ndarray
) -> _RepLog:
    log = _RepLog()
    rates = _Rates(p, win, rng)
    n = win.horizon
    days = np.arange(n)
    hired = days >= p.hire_day
    present = hired & (calendar > 0)
    # time off: ~2.5 blocks of 3-7 days a year
    for _ in range(rng.poisson(2.5 * n / 365)):
        s = int(rng.integers(0, n))
        present[s : s + int(rng.integers(3, 8))] = False
    # trade shows: a day of business cards and few calls
    show = np.zeros(n, dtype=bool)
    for _ in range(rng.poisson(1.5 * n / 365)):
        show[_next_workday(int(rng.integers(0, n - 2)))] = True
    show &= present
    noise = rng.gamma(p.volume_noise, 1 / p.volume_noise, size=n)
    volume = np.where(present, calendar * rates.volume_ramp * noise, 0.0) * np.where(show, 0.2, 1.0)
    if p.role == "self_starter":  # makes up for holidays and time off: level monthly volume
        per_month = np.bincount(month, weights=volume)
        target = float(np.median(per_month[1:-1])) if len(per_month) > 2 else float(per_month.mean())
        volume = volume * np.clip(target / np.maximum(per_month, 1e-9), 0.6, 1.4)[month]

    # --- prospecting dials -> conversations -> appointments (vectorised)
    n_dials = rng.poisson(p.dials_per_day * volume)
    dial_day = np.repeat(days, n_dials)
    dial_t = dial_day * _DAY + _office_seconds(rng, len(dial_day))
    connected = rates.decide_many("connect_rate", rates.rates["connect_rate"][dial_day])
    talk = _talk_seconds(rng, int(connected.sum()))
    dial_dur = _missed_call_seconds(rng, len(dial_t))
    dial_dur[connected] = talk
    log.bulk(dial_t, _DIAL, dial_dur)
    conv_t = dial_t[connected]
    log.bulk(conv_t, _CONV, talk)
    conv_day = dial_day[connected]
    c2a = _rate_at(rates, "conversation_to_appointment", conv_t, conv_day)
    booked = rates.decide_many("conversation_to_appointment", c2a)
    appt_t = conv_t[booked] + talk[booked].astype(np.int64) + rng.integers(30, 300, size=int(booked.sum()))
    log.bulk(appt_t, _APPT)

    # --- task volume unrelated to results
    log.bulk(_events_per_day(rng, days, rng.poisson(p.emails_per_day * volume)), _EMAIL)
    weekend = hired & (calendar == 0)
    log.bulk(_events_per_day(rng, days, rng.poisson(0.35 * weekend), hours=(7, 22)), _EMAIL)
    log.bulk(_events_per_day(rng, days, rng.poisson(0.12 * (volume > 0)) + rng.poisson(14 * show)), _CARD)
    log.bulk(_events_per_day(rng, days, rng.poisson(2.0 * volume)), _OTHER)

    # --- appointments not tied to an opportunity: meeting held 1-7 days later; the
    # opportunity (if any) is created at its end
    queue = sorted(int(x) for x in appt_t)
    accounts = 0
    i = 0
    while i < len(queue):
        booked_at = queue[i]
        i += 1
        day = booked_at // _DAY
        meet = _meeting_time(rng, day + int(rng.integers(1, 8)))
        if meet // _DAY >= n:
            continue
        length = _meeting_seconds(rng)
        log.add(meet, _MEET, -1, length)
        log.add(meet, _CONV, -1, length)
        after = meet + int(length)
        next_appt = rates.decide("conversation_to_appointment", meet)
        if rates.decide("appointment_to_opportunity", booked_at):
            created = after + int(rng.integers(120, 5400))
            if created // _DAY >= n:
                continue
            if accounts > 0 and rng.random() < 0.12:
                account = int(rng.integers(0, accounts))
            else:
                account = accounts
                accounts += 1
            _run_opportunity(rng, p, rates, log, created, account, n, first_appt=next_appt)
        elif next_appt:
            t = after + int(rng.integers(60, 300))
            log.add(t, _APPT, -1)
            queue.append(t)
    return log


def _rate_at(rates: _Rates, name: str, t: np.ndarray, day: np.ndarray) -> np.ndarray:
    r = rates.rates[name][day]
    if rates.training_at is not None:
        same = (day == rates.training_at // _DAY) & (t < rates.training_at)
        r = np.where(same, rates.rates[name][np.maximum(day - 1, 0)], r)
    return r


def _missed_call_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Length of a dial that did not become a conversation: 0 s when nobody answered
    (60 %), else 5-59 s (voicemail, gatekeeper, a quick "not now")."""
    short = rng.integers(5, 60, size=n).astype(np.float64)
    return np.where(rng.random(n) < 0.6, 0.0, short)


def _missed_call_second(rng: np.random.Generator) -> float:
    """Scalar twin of :func:`_missed_call_seconds`."""
    return 0.0 if rng.random() < 0.6 else float(rng.integers(5, 60))


def _talk_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Length of a live phone conversation: lognormal, median 4 minutes, 61 s to 30 minutes."""
    return np.clip(np.round(np.exp(rng.normal(_LOG_TALK, 0.6, size=n))), 61, 1800).astype(np.float64)


def _talk_second(rng: np.random.Generator) -> float:
    """Scalar twin of :func:`_talk_seconds`."""
    return float(min(max(round(math.exp(rng.normal(_LOG_TALK, 0.6))), 61), 1800))


def _meeting_seconds(rng: np.random.Generator) -> float:
    """Length of a meeting held: lognormal, median 30 minutes, 10 to 90 minutes."""
    return float(min(max(round(math.exp(rng.normal(_LOG_MEETING, 0.35))), 600), 5400))


def _events_per_day(
    rng: np.random.Generator, days: np.ndarray, counts: np.ndarray, hours: tuple[int, int] | None = None
) -> np.ndarray:
    day = np.repeat(days, counts)
    if hours is None:
        return day * _DAY + _office_seconds(rng, len(day))
    return day * _DAY + rng.integers(hours[0] * 3600, hours[1] * 3600, size=len(day))


def _run_opportunity(
    rng: np.random.Generator,
    p: _Profile,
    rates: _Rates,
    log: _RepLog,
    created: int,
    account: int,
    horizon: int,
    *,
    first_appt: bool,
) -> None:
    """Decide an opportunity's fate at creation, then log its history and follow-ups."""
    k = len(log.opps)
    won = rates.decide("win_rate", created)
    stale = bool(rng.random() < STALE_PROBABILITY[won] * p.stale_factor)
    if won:
        active = math.exp(rng.normal(math.log(CYCLE_WON_MEDIAN_DAYS), CYCLE_WON_SIGMA * p.cycle_spread))
        reached = len(STAGES) - 1
    else:
        active = math.exp(rng.normal(math.log(CYCLE_LOST_MEDIAN_DAYS), CYCLE_LOST_SIGMA * p.cycle_spread))
        reached = min(bisect.bisect_right(_LOST_STAGE_CUM, rng.random()), len(STAGES) - 1)
    active_s = max(2.0, float(active)) * _DAY
    gap = int(rng.integers(21, 43)) * _DAY if stale else 0
    gap_at = rng.uniform(0.3, 0.7) * active_s

    def clock(a: float) -> int:  # active seconds -> simulation seconds (skips the silence)
        return int(created + a + (gap if a > gap_at else 0))

    def snap(t: int) -> int:  # a moment in office hours on a workday, never before t
        moved = _office_time(rng, t // _DAY)
        return moved if moved >= t else _office_time(rng, t // _DAY + 1)

    closed = snap(clock(active_s))
    if closed <= created:
        closed = created + int(rng.integers(900, 4 * 3600))
    blank_account = (not won) and rng.random() < 0.03
    log.opps.append((created, closed, account, won, int(blank_account)))

    # --- field changes
    stage_times = []  # when the deal entered Qualification, Proposal, Negotiation
    for frac in sorted(rng.uniform(0.05, 0.95, size=reached).tolist()):
        t = snap(clock(frac * active_s))
        stage_times.append(t if created < t < closed else clock(frac * active_s))
    stage_times.sort()
    size = rates("deal_size", created)
    amount = float(round(size * math.exp(rng.normal(0, p.deal_sigma)), -1))
    start_amount = _NAN if rng.random() < 0.12 else amount
    has_ecd = rng.random() >= 0.04
    ecd = created // _DAY + max(5, round(p.close_estimate_days * math.exp(rng.normal(0, 0.25))))
    rows: list[tuple[int, int, float, float]] = [(created, 0, start_amount, float(ecd) if has_ecd else _NAN)]
    changes: list[tuple[int, int, float, float]] = []  # t, stage (-1 = unchanged), amount, ecd (nan = unchanged)
    for j, t in enumerate(stage_times, start=1):
        new_amount = _NAN
        if j == 1 and math.isnan(start_amount):
            new_amount = amount
        elif j == 2 and rng.random() < 0.35:
            amount = float(round(amount * rng.uniform(0.8, 1.3), -1))
            new_amount = amount
        elif j == 3 and rng.random() < 0.4:
            amount = float(round(amount * rng.uniform(0.82, 0.98), -1))
            new_amount = amount
        changes.append((t, j, new_amount, _NAN))
    if rng.random() < 0.1 and reached >= 1:
        t = int(rng.uniform(stage_times[0], closed))
        amount = float(round(amount * rng.uniform(0.85, 1.2), -1))
        changes.append((t, -1, amount, _NAN))
    if has_ecd:  # push the expected close date whenever it passes with the deal still open
        last = created
        for _ in range(8):
            if ecd >= closed // _DAY:
                break
            t = _office_time(rng, max(ecd - int(rng.integers(0, 3)), last // _DAY))
            if t <= last:
                t = last + int(rng.integers(600, 7200))
            if t >= closed:
                break
            ecd += int(rng.integers(7, 29))
            changes.append((t, -1, _NAN, float(ecd)))
            last = t
    changes.append((closed, len(STAGES) if won else len(STAGES) + 1, _NAN, float(closed // _DAY)))
    changes.sort(key=lambda e: (e[0], e[1] < 0))
    stage, cur_amount, cur_ecd = 0, start_amount, rows[0][3]
    last_t = created
    for t, st, am, ec in changes:  # each row carries the fields as they stand after it
        t = max(t, last_t + 1)
        if st >= 0:
            stage = st
        if not math.isnan(am):
            cur_amount = am
        if not math.isnan(ec):
            cur_ecd = ec
        rows.append((t, stage, cur_amount, cur_ecd))
        last_t = t
    for t, st, am, ec in rows:
        log.history.append((k, t, st, am, ec))

    # --- follow-ups while the deal is open (none during its silence)
    def meeting_chain(booked_at: int) -> None:
        while True:
            meet = _meeting_time(rng, booked_at // _DAY + int(rng.integers(1, 7)))
            if meet >= closed or meet // _DAY >= horizon:
                return
            length = _meeting_seconds(rng)
            log.add(meet, _MEET, k, length)
            log.add(meet, _CONV, k, length)
            if not rates.decide("conversation_to_appointment", meet):
                return
            booked_at = meet + int(length) + int(rng.integers(60, 300))
            if booked_at >= closed:
                return
            log.add(booked_at, _APPT, k)

    if first_appt:
        booked_at = created + int(rng.integers(60, 600))
        if booked_at < closed:
            log.add(booked_at, _APPT, k)
            meeting_chain(booked_at)
    a = rng.uniform(0.2, 2.5) * _DAY
    spacing = (1.5, 5.0) if won else (2.0, 7.0)
    while True:
        t = snap(clock(a))
        if t >= closed or t // _DAY >= horizon:
            break
        if rng.random() < 0.55:
            connected = rates.decide("connect_rate", t)
            talk = _talk_second(rng) if connected else _missed_call_second(rng)
            log.add(t, _DIAL, k, talk)
            if connected:
                log.add(t, _CONV, k, talk)
                if rates.decide("conversation_to_appointment", t):
                    booked_at = t + int(talk) + int(rng.integers(30, 300))
                    if booked_at < closed:
                        log.add(booked_at, _APPT, k)
                        meeting_chain(booked_at)
        else:
            log.add(t, _EMAIL, k)
        a += rng.uniform(*spacing) * _DAY


# ---------------------------------------------------------------------------------------
# assembling the tables
# ---------------------------------------------------------------------------------------
def _check_args(reps: int, weeks: int, end: date) -> None:
    if not 1 <= reps <= 999:
        raise ValueError(f"reps must be between 1 and 999, not {reps}")
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    if not isinstance(end, date) or end.weekday() != 6:
        raise ValueError(f"end must be a Sunday, not {end!r}")


@dataclass(frozen=True)
class _Streams:
    """Independent random streams, children of ``SeedSequence(seed)`` by position: 0 the
    profiles, 1 the forecasts, 2 .. reps + 1 one per rep's simulation, then the sandbaggers
    and the reps' outlooks (added later at the end, so the earlier streams, and the tables
    drawn from them, did not change)."""

    profile: np.random.Generator
    forecast: np.random.Generator
    reps: list[np.random.Generator]
    sandbag: np.random.Generator
    outlook: np.random.Generator


def _streams(seed: int, reps: int) -> _Streams:
    profile, forecast, *rest = np.random.default_rng(seed).spawn(4 + reps)
    return _Streams(profile, forecast, rest[:reps], rest[reps], rest[reps + 1])


def _assign_sandbaggers(rng: np.random.Generator, profiles: list[_Profile]) -> None:
    """Make ``round(SANDBAG_SHARE * reps)`` tenured reps who are not optimistic into
    sandbaggers: their ``forecast_bias`` becomes a draw in ``SANDBAG_BIAS`` (< 0)."""
    candidates = [p for p in profiles if p.role != "new_hire" and p.forecast_bias < 0.1]
    n = min(len(candidates), int(round(SANDBAG_SHARE * len(profiles))))
    for i in sorted(int(x) for x in rng.choice(len(candidates), size=n, replace=False)):
        candidates[i].forecast_bias = float(rng.uniform(*SANDBAG_BIAS))


def rep_profiles(*, reps: int = 30, weeks: int = 52, seed: int = 42, end: date = DEFAULT_END) -> pd.DataFrame:
    """The latent truth behind :func:`generate` with the same arguments: one row per rep.

    Use it to check that an analysis recovers what the generator put in.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``role`` (one of :data:`ROLES`), ``hire_date``,
        ``dials_per_day`` (mean on a full workday, before ramp), the four funnel
        competencies as probabilities (before ramp and training), ``deal_size`` (median
        amount, currency units), ``forecast_bias`` (log factor on the rep's forecasts; > 0 is
        optimistic, < 0 a sandbagger),
        ``training`` (competency trained, or missing) and ``training_completed_at``.
    """
    _check_args(reps, weeks, end)
    win = _window(weeks, end)
    streams = _streams(seed, reps)
    profiles = _draw_profiles(streams.profile, reps, win)
    _assign_sandbaggers(streams.sandbag, profiles)
    return _profiles_frame(profiles, win)


def _profiles_frame(profiles: list[_Profile], win: _Window) -> pd.DataFrame:
    def ts(s: int | None) -> pd.Timestamp:
        return pd.NaT if s is None else pd.Timestamp(win.sim_start) + pd.Timedelta(seconds=s)

    return pd.DataFrame(
        {
            "rep_id": pd.Series([p.rep_id for p in profiles], dtype="str"),
            "rep_name": pd.Series([p.rep_name for p in profiles], dtype="str"),
            "team": pd.Series([p.team for p in profiles], dtype="str"),
            "role": pd.Series([p.role for p in profiles], dtype="str"),
            "hire_date": _dates([win.day(p.hire_day) for p in profiles]),
            "dials_per_day": [round(p.dials_per_day, 1) for p in profiles],
            **{c: [round(getattr(p, c), 4) for p in profiles] for c in COMPETENCIES[:4]},
            "deal_size": [p.deal_size for p in profiles],
            "forecast_bias": [round(p.forecast_bias, 3) for p in profiles],
            "training": pd.Series([p.training for p in profiles], dtype="str"),
            "training_completed_at": pd.Series([ts(p.training_at) for p in profiles], dtype="datetime64[us]"),
        }
    )


def _simulate(
    reps: int, weeks: int, seed: int, end: date
) -> tuple[_Window, _Streams, list[_Profile], list[_RepLog]]:
    """The simulation behind :func:`generate`: the window, the random streams (the forecast
    and outlook streams not used yet), the profiles and every rep's log."""
    win = _window(weeks, end)
    streams = _streams(seed, reps)
    profiles = _draw_profiles(streams.profile, reps, win)
    _assign_sandbaggers(streams.sandbag, profiles)
    calendar = _day_factors(win)
    month = np.array([_month(win.day(d)) for d in range(win.horizon)])
    month = month - month[0]
    logs = [_simulate_rep(rng, p, win, calendar, month) for rng, p in zip(streams.reps, profiles, strict=True)]
    return win, streams, profiles, logs


def generate(*, reps: int = 30, weeks: int = 52, seed: int = 42, end: date = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """Simulate a sales floor and return the seven canonical tables.

    Parameters
    ----------
    reps
        Number of reps (1-999), spread over the four :data:`TEAMS`.
    weeks
        Whole Monday-to-Sunday weeks in the window.
    seed
        Seed of ``numpy.random.default_rng``; the same arguments give the same tables.
    end
        Last day of the window; must be a Sunday.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``reps``, ``activities``, ``opportunities``, ``opportunity_history``,
        ``forecasts``, ``quotas``, ``trainings``: canonical columns of
        :mod:`salesx2lib.schema` in canonical order, ids and text as ``str``, numbers as
        ``float64``, timestamps and dates as naive UTC ``datetime64[us]``.

    Examples
    --------
    >>> tables = generate(reps=8, weeks=10)
    >>> sorted(tables)[:2]
    ['activities', 'forecasts']
    """
    _check_args(reps, weeks, end)
    win, streams, profiles, logs = _simulate(reps, weeks, seed, end)
    epoch = np.datetime64(win.sim_start, "s")
    end_s = (win.end + 1) * _DAY
    start_s = win.start * _DAY

    # opportunities alive in the window: closed on/after its start (or open at its end)
    opp_rows = []
    for r, log in enumerate(logs):
        for k, (created, closed, account, won, blank) in enumerate(log.opps):
            opp_rows.append((created, r, k, closed, account, won, blank))
    opp = pd.DataFrame(opp_rows, columns=["created", "rep", "k", "closed", "account", "won", "blank"])
    opp = opp.sort_values(["created", "rep", "k"], kind="stable").reset_index(drop=True)
    keep = (opp["created"] < end_s) & (opp["closed"] >= start_s)
    opp = opp.loc[keep].reset_index(drop=True)
    opp["opportunity_id"] = [f"O{i + 1:06d}" for i in range(len(opp))]
    opp_id = {(int(r), int(k)): i for i, (r, k) in enumerate(zip(opp["rep"], opp["k"], strict=True))}

    # won amount per rep and month over the whole simulation (sets the quotas' level)
    won_by_month = _won_by_month(logs, win)

    tables = {
        "reps": _reps_table(profiles, win),
        "activities": _activities_table(
            logs, profiles, opp_id, opp["opportunity_id"].to_numpy(), epoch, start_s, end_s
        ),
    }
    tables["opportunities"], tables["opportunity_history"] = _opportunity_tables(logs, profiles, opp, epoch, end_s)
    tables["quotas"] = _quotas_table(profiles, win, won_by_month)
    deals = [_DealRows.of(log) for log in logs]
    tables["forecasts"] = _forecasts_table(streams.forecast, streams.outlook, profiles, win, deals)
    tables["trainings"] = _trainings_table(profiles, win)
    return {name: tables[name] for name in TABLE_ORDER}


def _ts(seconds: np.ndarray | pd.Series, epoch: np.datetime64) -> pd.Series:
    s = np.asarray(seconds, dtype=np.float64)
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]")
    ok = ~np.isnan(s)
    out[ok] = (epoch + s[ok].astype(np.int64).astype("timedelta64[s]")).astype("datetime64[us]")
    return pd.Series(out, dtype="datetime64[us]")


def _reps_table(profiles: list[_Profile], win: _Window) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": pd.Series([p.rep_id for p in profiles], dtype="str"),
            "rep_name": pd.Series([p.rep_name for p in profiles], dtype="str"),
            "team": pd.Series([p.team for p in profiles], dtype="str"),
            "manager": pd.Series([MANAGERS[p.team] for p in profiles], dtype="str"),
            "region": pd.Series([REGIONS[p.team] for p in profiles], dtype="str"),
            "hire_date": _dates([win.day(p.hire_day) for p in profiles]),
        }
    )


def _activities_table(
    logs: list[_RepLog],
    profiles: list[_Profile],
    opp_id: dict[tuple[int, int], int],
    opp_ids: np.ndarray,
    epoch: np.datetime64,
    start_s: int,
    end_s: int,
) -> pd.DataFrame:
    parts = []
    for r, log in enumerate(logs):
        t, kind, opp, dur = log.arrays()
        inside = (t >= start_s) & (t < end_s)
        t, kind, opp, dur = t[inside], kind[inside], opp[inside], dur[inside]
        local = np.array([opp_id.get((r, k), -1) for k in range(len(log.opps))] + [-1], dtype=np.int64)
        gidx = local[np.where(opp >= 0, opp, -1)]
        parts.append((np.full(len(t), r, dtype=np.int64), t, kind, gidx, dur))
    rep, t, kind, gidx, dur = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((kind, rep, t))  # time, then rep, then type (a dial before its conversation)
    rep, t, kind, gidx, dur = rep[order], t[order], kind[order], gidx[order], dur[order]
    rep_ids = np.array([p.rep_id for p in profiles], dtype=object)
    types = np.array(ACTIVITY_TYPES, dtype=object)
    opp_col = np.where(gidx >= 0, opp_ids[np.maximum(gidx, 0)].astype(object), None)
    return pd.DataFrame(
        {
            "activity_id": pd.Series([f"A{i + 1:07d}" for i in range(len(t))], dtype="str"),
            "rep_id": pd.Series(rep_ids[rep], dtype="str"),
            "occurred_at": _ts(t, epoch),
            "activity_type": pd.Series(types[kind], dtype="str"),
            "opportunity_id": pd.Series(opp_col, dtype="str"),
            "duration_s": pd.Series(dur, dtype="float64"),
        }
    )


def _opportunity_tables(
    logs: list[_RepLog], profiles: list[_Profile], opp: pd.DataFrame, epoch: np.datetime64, end_s: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    stage_names = np.array([*STAGES, STAGE_WON, STAGE_LOST], dtype=object)
    hist_parts = []
    index = {(int(r), int(k)): i for i, (r, k) in enumerate(zip(opp["rep"], opp["k"], strict=True))}
    for r, log in enumerate(logs):
        h = np.array(log.history, dtype=np.float64).reshape(-1, 5)
        gi = np.array([index.get((r, int(k)), -1) for k in h[:, 0]], dtype=np.int64)
        ok = (gi >= 0) & (h[:, 1] < end_s)
        hist_parts.append(np.column_stack([gi[ok], h[ok, 1:]]))
    h = np.concatenate(hist_parts)
    h = h[np.lexsort((h[:, 1], h[:, 0]))]
    gi = h[:, 0].astype(np.int64)
    sim_start = epoch.astype("datetime64[D]")
    ecd = np.where(np.isnan(h[:, 4]), np.datetime64("NaT"), sim_start + np.nan_to_num(h[:, 4]).astype("timedelta64[D]"))
    history = pd.DataFrame(
        {
            "opportunity_id": pd.Series(opp["opportunity_id"].to_numpy()[gi], dtype="str"),
            "changed_at": _ts(h[:, 1], epoch),
            "stage": pd.Series(stage_names[h[:, 2].astype(np.int64)], dtype="str"),
            "amount": pd.Series(h[:, 3], dtype="float64"),
            "expected_close_date": pd.Series(ecd.astype("datetime64[us]"), dtype="datetime64[us]"),
        }
    )
    last = history.groupby("opportunity_id", sort=True).tail(1).set_index("opportunity_id")
    first = history.groupby("opportunity_id", sort=True).head(1).set_index("opportunity_id")
    ids = opp["opportunity_id"]
    stage = last["stage"].reindex(ids).to_numpy()
    status = np.where(stage == STAGE_WON, "won", np.where(stage == STAGE_LOST, "lost", "open"))
    closed_at = np.where(status != "open", last["changed_at"].reindex(ids).to_numpy(), np.datetime64("NaT"))
    # accounts: ids in order of first appearance; a few lost/open deals have none
    acc_key = list(zip(opp["rep"], opp["account"], strict=True))
    acc_id: dict[tuple[int, int], str] = {}
    for key in acc_key:
        acc_id.setdefault((int(key[0]), int(key[1])), f"AC{len(acc_id) + 1:05d}")
    account = [
        None if blank else acc_id[(int(r), int(a))]
        for r, a, blank in zip(opp["rep"], opp["account"], opp["blank"], strict=True)
    ]
    rep_ids = np.array([p.rep_id for p in profiles], dtype=object)
    opportunities = pd.DataFrame(
        {
            "opportunity_id": pd.Series(ids.to_numpy(), dtype="str"),
            "rep_id": pd.Series(rep_ids[opp["rep"].to_numpy()], dtype="str"),
            "account_id": pd.Series(account, dtype="str"),
            "created_at": pd.Series(first["changed_at"].reindex(ids).to_numpy(), dtype="datetime64[us]"),
            "amount": pd.Series(last["amount"].reindex(ids).to_numpy(), dtype="float64"),
            "stage": pd.Series(stage, dtype="str"),
            "status": pd.Series(status, dtype="str"),
            "expected_close_date": pd.Series(
                last["expected_close_date"].reindex(ids).to_numpy(), dtype="datetime64[us]"
            ),
            "closed_at": pd.Series(closed_at, dtype="datetime64[us]"),
        }
    )
    return opportunities, history


def _month(d: date) -> int:
    """Month number (``year * 12 + month - 1``): consecutive months differ by one."""
    return d.year * 12 + d.month - 1


def _month_bounds(m: int) -> tuple[date, date]:
    """First and last day of month number ``m``."""
    first = date(m // 12, m % 12 + 1, 1)
    following = date((m + 1) // 12, (m + 1) % 12 + 1, 1)
    return first, following - timedelta(days=1)


@dataclass(frozen=True)
class _Won:
    """Won amount per rep (row) and month (column ``m - first``) over the whole simulation."""

    first: int
    amount: np.ndarray

    def mean(self, rep: int, months: range) -> float:
        return float(self.amount[rep, months.start - self.first : months.stop - self.first].mean())


def _won_by_month(logs: list[_RepLog], win: _Window) -> _Won:
    first = _month(win.day(0))
    n_months = _month(win.day(win.horizon - 1)) - first + 1
    month_of_day = np.array([_month(win.day(d)) - first for d in range(win.horizon)])
    out = np.zeros((len(logs), n_months))
    for r, log in enumerate(logs):
        h = np.array(log.history, dtype=np.float64).reshape(-1, 5)
        # won rows; deals closing after the simulation are not counted
        h = h[(h[:, 2] == len(STAGES)) & (h[:, 1] < win.horizon * _DAY)]
        np.add.at(out[r], month_of_day[(h[:, 1] // _DAY).astype(np.int64)], h[:, 3])
    return _Won(first, out)


def _quotas_table(profiles: list[_Profile], win: _Window, won: _Won) -> pd.DataFrame:
    """Monthly quotas for the months that start inside the window (the last one may be
    in progress at ``end``), from each rep's hire month on."""
    start, end = win.day(win.start), win.day(win.end)
    months = range(_month(start) + (start.day > 1), _month(end) + 1)
    # the floor's base quota: what the median typical rep wins in a month (per unit of team
    # deal factor) over the full months of the simulation once its pipeline is established,
    # divided by the target attainment
    first_full = _month(win.day(8 * 7)) + 1
    last_full = _month(win.day(win.horizon)) - 1
    cols = range(first_full, max(first_full, last_full) + 1)
    typical = [i for i, p in enumerate(profiles) if p.role == "typical"] or list(range(len(profiles)))
    per_unit = [won.mean(i, cols) / TEAM_DEAL_FACTOR[profiles[i].team] for i in typical]
    base = float(np.median(per_unit)) / _TYPICAL_ATTAINMENT
    rows = []
    for p in profiles:
        hire = win.day(p.hire_day)
        for m in months:
            first, last = _month_bounds(m)
            if last < hire:
                continue
            quota = base * TEAM_DEAL_FACTOR[p.team]
            months_in = m - _month(hire)
            if p.role == "new_hire" and months_in < len(NEW_HIRE_QUOTA_RAMP):
                share = np.busday_count(max(first, hire), last + timedelta(days=1)) / np.busday_count(
                    first, last + timedelta(days=1)
                )
                quota *= NEW_HIRE_QUOTA_RAMP[months_in] * float(share)
            rows.append((p.rep_id, first, last, float(round(quota / 500) * 500)))
    return pd.DataFrame(
        {
            "rep_id": pd.Series([r[0] for r in rows], dtype="str"),
            "period_start": _dates([r[1] for r in rows]),
            "period_end": _dates([r[2] for r in rows]),
            "quota": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )


def _dates(values: list[date]) -> pd.Series:
    return pd.Series(np.array(values, dtype="datetime64[D]").astype("datetime64[us]"), dtype="datetime64[us]")


def _forecast_months(when: date) -> tuple[int, int, int]:
    """The month whose end is nearest 30 days after ``when``, and the two after it."""
    target = when + timedelta(days=30)
    m = _month(target)
    if abs((_month_bounds(m - 1)[1] - target).days) < abs((_month_bounds(m)[1] - target).days):
        m -= 1
    return m, m + 1, m + 2


@dataclass(frozen=True)
class _DealRows:
    """One rep's deal history over the whole simulation, sorted by deal then time: the rows
    of ``_RepLog.history`` as arrays (deal index, second, stage index in ``STAGES`` then
    won, lost; amount, NaN if not set yet; expected close day, NaN if not set)."""

    deal: np.ndarray
    t: np.ndarray
    stage: np.ndarray
    amount: np.ndarray
    ecd: np.ndarray

    @classmethod
    def of(cls, log: _RepLog) -> _DealRows:
        h = np.array(log.history, dtype=np.float64).reshape(-1, 5)
        h = h[np.lexsort((h[:, 1], h[:, 0]))]
        return cls(h[:, 0].astype(np.int64), h[:, 1].astype(np.int64), h[:, 2].astype(np.int64), h[:, 3], h[:, 4])

    def until(self, s: int) -> _DealRows:
        """The rows written at or before second ``s``: what the CRM held at that moment."""
        keep = self.t <= s
        return _DealRows(self.deal[keep], self.t[keep], self.stage[keep], self.amount[keep], self.ecd[keep])


def _rep_forecast(
    rows: _DealRows, p: _Profile, s: int, periods: list[tuple[int, int]], win: _Window
) -> list[tuple[float, float]]:
    """What rep ``p`` expects to win in each period, judged at second ``s`` from the CRM as
    it stands then: only the rows of ``rows`` written at or before ``s`` are read.

    For a period of days ``[first, last]`` (simulation day indices, both included) it
    returns ``(known, guessed)``: ``known = won_so_far + sum(amount_i * q_rep(stage_i) *
    on_time)`` and ``guessed = new_business``, where

    - ``won_so_far``: the rep's deals already won on a day of the period;
    - the sum runs over the deals open at ``s`` whose expected close date as it stands then
      falls in the period (an overdue date counts as today; a missing one as created + the
      rep's habitual estimate); a missing amount counts as the median amount the rep won
      over the last ``FORECAST_MEMORY_DAYS``;
    - ``q_rep(j) = (won_j + n0 * prior_j) / (closed_j + n0)``: the won share of the rep's
      deals closed in the last ``FORECAST_MEMORY_DAYS`` that reached stage ``j``, shrunk
      toward ``FORECAST_STAGE_PRIOR`` with ``n0 = FORECAST_PRIOR_DEALS``;
    - ``on_time = (on_time_won + 5 * 0.5) / (won_dated + 5)``: the share of those won deals
      that closed in the calendar month of their first expected close date (the rep's
      experience of slipping deals);
    - ``new_business = sum over the period's days d after today of
      run_rate * clip((d - today - C / 2) / C, 0, 1)``: a deal closing ``x`` days out is
      not created yet with a chance that rises from 0 at half the rep's median won cycle
      ``C`` (from the same memory) to 1 at one and a half cycles; ``run_rate`` is the
      rep's won amount per day over the last ``FORECAST_RUN_RATE_DAYS``, counted from three
      weeks after the hire or the start of the records at the earliest (the time a new book
      takes to close its first deal); with less than 14 such days it is 0.

    The rep's bias and noise are applied by the caller.
    """
    known = rows.until(s)
    today = s // _DAY
    if len(known.deal) == 0:
        return [(0.0, 0.0) for _ in periods]
    n_open = len(STAGES)
    starts = np.flatnonzero(np.r_[True, known.deal[1:] != known.deal[:-1]])
    ends = np.r_[starts[1:], len(known.deal)] - 1
    stage, amount, ecd, last_t = known.stage[ends], known.amount[ends], known.ecd[ends], known.t[ends]
    created_day, first_ecd = known.t[starts] // _DAY, known.ecd[starts]
    reached = np.maximum.reduceat(np.where(known.stage < n_open, known.stage, -1), starts)
    won = stage == n_open
    closed = stage >= n_open
    memory = closed & (last_t > s - FORECAST_MEMORY_DAYS * _DAY)
    q = np.array(
        [
            (np.sum(memory & won & (reached >= j)) + FORECAST_PRIOR_DEALS * FORECAST_STAGE_PRIOR[j])
            / (np.sum(memory & (reached >= j)) + FORECAST_PRIOR_DEALS)
            for j in range(n_open)
        ]
    )
    remembered = memory & won
    dated = remembered & ~np.isnan(first_ecd)
    month = np.datetime64(win.sim_start, "D")
    same_month = (month + np.nan_to_num(first_ecd).astype(np.int64)).astype("datetime64[M]") == (
        month + last_t // _DAY
    ).astype("datetime64[M]")
    on_time = (np.sum(dated & same_month) + 2.5) / (np.sum(dated) + 5.0)
    typical = float(np.median(amount[remembered])) if remembered.any() else p.deal_size
    cycles = (last_t[remembered] // _DAY - created_day[remembered]).astype(np.float64)
    cycle = float(np.median(cycles)) if len(cycles) >= 5 else CYCLE_WON_MEDIAN_DAYS
    is_open = ~closed
    close_day = np.where(np.isnan(ecd), created_day + round(p.close_estimate_days), np.nan_to_num(ecd))
    close_day = np.maximum(close_day, today)
    weight = np.where(np.isnan(amount), typical, amount) * q[np.minimum(stage, n_open - 1)] * on_time
    since = max(today - FORECAST_RUN_RATE_DAYS, max(p.hire_day, 0) + 21)
    span = today - since
    recent = won & (last_t // _DAY >= since)
    run_rate = float(amount[recent].sum()) / span if span >= 14 else 0.0
    out = []
    for first, last in periods:
        won_so_far = float(amount[won & (last_t // _DAY >= first) & (last_t // _DAY <= last)].sum())
        pipeline = float(weight[is_open & (close_day >= first) & (close_day <= last)].sum())
        days = np.arange(max(first, today + 1), last + 1)
        new = run_rate * float(np.clip((days - today - cycle / 2) / cycle, 0.0, 1.0).sum())
        out.append((won_so_far + pipeline, new))
    return out


def _forecasts_table(
    rng: np.random.Generator,
    outlook_rng: np.random.Generator,
    profiles: list[_Profile],
    win: _Window,
    deals: list[_DealRows],
) -> pd.DataFrame:
    """Every Monday, each hired rep's ``commit`` for the three months of
    :func:`_forecast_months`, from :func:`_rep_forecast`'s ``(known, guessed)``:
    ``round((known + guessed * exp(FORECAST_GUESS_NOISE * u)) * exp(forecast_bias +
    FORECAST_NOISE * eps), -2)``, with one ``u`` per submission (the rep's outlook that
    Monday) and one ``eps`` per month. The draws (submission second, ``u``, ``eps``) do not
    depend on the data, so a submission depends only on the CRM rows written before it."""
    rows = []
    for monday in range(win.start, win.end + 1, 7):
        when = win.day(monday)
        months = [_month_bounds(m) for m in _forecast_months(when)]
        periods = [(win.index(first), win.index(last)) for first, last in months]
        for r, p in enumerate(profiles):
            if monday < p.hire_day:
                continue
            seconds = monday * _DAY + 8 * 3600 + int(rng.integers(0, 3 * 3600))
            expected = _rep_forecast(deals[r], p, seconds, periods, win)
            outlook = math.exp(FORECAST_GUESS_NOISE * outlook_rng.normal())
            for (first, last), (known, guessed) in zip(months, expected, strict=True):
                amount = (known + guessed * outlook) * math.exp(p.forecast_bias + FORECAST_NOISE * rng.normal())
                rows.append((p.rep_id, seconds, first, last, float(round(amount, -2))))
    epoch = np.datetime64(win.sim_start, "s")
    return pd.DataFrame(
        {
            "rep_id": pd.Series([r[0] for r in rows], dtype="str"),
            "submitted_at": _ts(np.array([r[1] for r in rows], dtype=np.float64), epoch),
            "period_start": _dates([r[2] for r in rows]),
            "period_end": _dates([r[3] for r in rows]),
            "amount": pd.Series([r[4] for r in rows], dtype="float64"),
            "category": pd.Series(["commit"] * len(rows), dtype="str"),
        }
    )


def _trainings_table(profiles: list[_Profile], win: _Window) -> pd.DataFrame:
    done = sorted((p.training_at, p.rep_id, p.training) for p in profiles if p.training_at is not None)
    epoch = np.datetime64(win.sim_start, "s")
    return pd.DataFrame(
        {
            "rep_id": pd.Series([d[1] for d in done], dtype="str"),
            "competency": pd.Series([d[2] for d in done], dtype="str"),
            "completed_at": _ts(np.array([d[0] for d in done], dtype=np.float64), epoch),
        }
    )


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
_ACTIVITY_SCHEMA = pa.schema(
    [
        pa.field("activity_id", pa.string(), nullable=False),
        pa.field("rep_id", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us"), nullable=False),
        pa.field("activity_type", pa.string(), nullable=False),
        pa.field("opportunity_id", pa.string()),
        pa.field("duration_s", pa.float64()),
    ]
)


#: Optional contract columns the sample does not have: its history and activities
#: already tell when it was taken (see :func:`salesx2lib.load.data_date`).
NOT_GENERATED: dict[str, tuple[str, ...]] = {"opportunities": ("modified_at",)}


def _csv_text(name: str, df: pd.DataFrame) -> str:
    """Fixed formatting: timestamps ``YYYY-MM-DD HH:MM:SS``, dates ``YYYY-MM-DD``,
    numbers in whole units, an empty cell for a missing value, ``\\n`` line ends."""
    out = {}
    for col in TABLES[name].columns:
        if col.name in NOT_GENERATED.get(name, ()):
            continue
        s = df[col.name]
        if col.kind == "timestamp":
            s = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif col.kind == "date":
            s = s.dt.strftime("%Y-%m-%d")
        elif col.kind == "number":
            s = pd.Series([f"{v:.0f}" if not np.isnan(v) else "" for v in s], index=s.index, dtype="str")
        out[col.name] = s.fillna("").astype("str")
    return pd.DataFrame(out).to_csv(index=False, lineterminator="\n")


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_arrays(
        [
            pa.array(df["activity_id"].to_numpy(dtype=object), type=pa.string()),
            pa.array(df["rep_id"].to_numpy(dtype=object), type=pa.string()),
            pa.array(df["occurred_at"].to_numpy(dtype="datetime64[us]"), type=pa.timestamp("us")),
            pa.array(df["activity_type"].to_numpy(dtype=object), type=pa.string()),
            pa.array(df["opportunity_id"].to_numpy(dtype=object, na_value=None), type=pa.string()),
            pa.array(df["duration_s"].to_numpy(dtype=np.float64), type=pa.float64(), from_pandas=True),
        ],
        schema=_ACTIVITY_SCHEMA,
    )
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        row_group_size=1 << 20,
        version="2.6",
        use_dictionary=["rep_id", "activity_type", "opportunity_id"],
        column_encoding={"activity_id": "DELTA_BYTE_ARRAY", "occurred_at": "DELTA_BINARY_PACKED"},
        write_statistics=True,
    )


def write_sample(out: Path, *, reps: int = 30, weeks: int = 52, seed: int = 42, end: date = DEFAULT_END) -> list[Path]:
    """Generate the sample (see :func:`generate`) and write it into folder ``out``.

    The small tables go to ``<table>.csv`` (fixed formatting), the activity log to
    ``activities.parquet`` (pyarrow, zstd, explicit schema, no pandas metadata). Each
    file is written atomically; ``out`` is created if missing; other files in ``out``
    are left alone. The same arguments give byte-identical files.

    Parameters
    ----------
    out
        Folder to write into (``data/sample`` for the committed sample).
    reps, weeks, seed, end
        As for :func:`generate`.

    Returns
    -------
    list of pathlib.Path
        The files written, in canonical table order (``reps.csv``,
        ``activities.parquet``, ``opportunities.csv``, ``opportunity_history.csv``,
        ``forecasts.csv``, ``quotas.csv``, ``trainings.csv``).

    Examples
    --------
    >>> from pathlib import Path
    >>> write_sample(Path("data/sample"))  # doctest: +SKIP
    """
    out = Path(out)
    tables = generate(reps=reps, weeks=weeks, seed=seed, end=end)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLE_ORDER:
        df = tables[name]
        if name == "activities":
            path = out / "activities.parquet"
            _atomic_write(path, lambda tmp, df=df: _write_parquet(df, tmp))
        else:
            path = out / f"{name}.csv"
            data = _csv_text(name, df).encode("utf-8")
            _atomic_write(path, lambda tmp, data=data: tmp.write_bytes(data))
        written.append(path)
    return written
