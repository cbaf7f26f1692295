"""Known-truth worlds for the training effect: trainings with a declared lift (0 for a placebo).

Two generators, both vectorised and fast enough for calibration over hundreds of seeds:

* :func:`rate_world` writes per-rep per-day counts (the ``events`` of
  :func:`salesx2lib.training.effects_from_events`) of one rate competency on a floor of
  teams, with everything that makes a naive before/after comparison lie: a calendar wave
  (quarters) and holiday weeks that hit every rep, weekly team-wide swings that hit a team's
  reps alike for a month (trained and untrained), each rep's own good and bad weeks, reps of different
  levels and volumes, and optionally a rep whose rate drifts steadily (no training at all).
* :func:`deal_world` writes a whole :class:`~salesx2lib.dataset.Dataset` of deals (win
  rate and deal size), for the dataset-level function.

The truth is declared in the returned :class:`RateWorld` / ``truth`` dict: which rep was
trained when, with which lift; every other rep has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset

#: Day 0 of every world (a Monday).
START = pd.Timestamp("2026-01-05")


@dataclass(frozen=True)
class RateWorld:
    """A floor's daily counts of one rate and the declared truth.

    ``events``: ``rep_id``, ``at`` (midnight), ``n`` (trials), ``x`` (successes), ``xx`` (0).
    ``trainings``: the trainings to measure (``rep_id``, ``competency``, ``completed_at``),
    ``lift`` the true effect of each (0 for a placebo), ``drifting`` the reps whose rate
    moves by ``drift`` per week with no training.
    """

    events: pd.DataFrame
    reps: pd.DataFrame
    trainings: pd.DataFrame
    lift: float
    start: pd.Timestamp
    as_of: pd.Timestamp
    drifting: tuple[str, ...] = field(default=())
    drift: float = 0.0


def rate_world(
    seed: int,
    *,
    competency: str = "connect_rate",
    lift: float = 0.0,
    teams: int = 3,
    reps_per_team: int = 8,
    weeks: int = 30,
    base: float = 0.13,
    rep_sd: float = 0.02,
    trials_per_day: tuple[float, float] = (30.0, 50.0),
    calendar: float = 0.03,
    team_shock_sd: float = 0.03,
    rep_week_sd: float = 0.02,
    n_trained: int = 1,
    drift: float = 0.0,
) -> RateWorld:
    """A floor of ``teams`` x ``reps_per_team`` reps over ``weeks`` weeks.

    Rep ``r``'s rate on day ``d`` of week ``w``::

        p = base_r + calendar * sin(2 pi d / 91) + team_shock[team_r, w // 4] + rep_week[r, w]
            + lift * 1[r trained and d >= training day] + drift * (d - training day) / 7 * 1[r drifting]

    with ``base_r ~ N(base, rep_sd)``, ``team_shock ~ N(0, team_shock_sd)`` per team and
    block of 4 weeks (a campaign, a new lead source, a manager's push), ``rep_week ~ N(0, rep_week_sd)`` per rep and week, clipped to [0.01, 0.95]. Trials
    per weekday ~ Poisson(volume_r) with ``volume_r ~ U(trials_per_day)``, none on weekends,
    a fifth in two holiday weeks (weeks 12 and 25); successes ~ Binomial(trials, p).

    ``n_trained`` reps (each of a different team when possible) get a training at midnight
    of a day drawn in the middle of the span (at least 9 weeks from either end); with
    ``drift``, the first of them drifts instead of being trained (``lift`` is then ignored
    for it and it stays a training to measure: a "placebo" with a trend).
    """
    rng = np.random.default_rng(seed)
    n_reps = teams * reps_per_team
    days = weeks * 7
    rep_ids = np.array([f"R{i:02d}" for i in range(n_reps)])
    team = np.repeat([f"T{t}" for t in range(teams)], reps_per_team)
    d = np.arange(days)
    w = d // 7
    weekday = d % 7
    day_factor = np.where(weekday < 5, 1.0, 0.0) * np.where(np.isin(w, [12, 25]), 0.2, 1.0)
    base_r = rng.normal(base, rep_sd, n_reps)
    volume = rng.uniform(*trials_per_day, n_reps)
    shocks = rng.normal(0, team_shock_sd, (teams, weeks // 4 + 1))[np.repeat(np.arange(teams), reps_per_team)][:, w // 4]
    rep_week = rng.normal(0, rep_week_sd, (n_reps, weeks))[:, w]
    p = base_r[:, None] + calendar * np.sin(2 * np.pi * d / 91)[None, :] + shocks + rep_week
    chosen = [int(t * reps_per_team + rng.integers(reps_per_team)) for t in range(teams)][:n_trained]
    if len(chosen) < n_trained:
        rest = [r for r in range(n_reps) if r not in chosen]
        chosen += list(rng.choice(rest, n_trained - len(chosen), replace=False))
    train_days = rng.integers(9 * 7, days - 9 * 7, n_trained)
    drifting: list[str] = []
    for j, (r, td) in enumerate(zip(chosen, train_days, strict=True)):
        if drift and j == 0:
            p[r] += drift * (d - td) / 7
            drifting.append(rep_ids[r])
        else:
            p[r] += lift * (d >= td)
    p = np.clip(p, 0.01, 0.95)
    n = rng.poisson(volume[:, None] * day_factor[None, :])
    x = rng.binomial(n, p)
    at = START + pd.to_timedelta(d, unit="D")
    events = pd.DataFrame({
        "rep_id": np.repeat(rep_ids, days), "at": np.tile(at.to_numpy(), n_reps),
        "n": n.ravel().astype("float64"), "x": x.ravel().astype("float64"), "xx": 0.0,
    }).astype({"rep_id": "str", "at": "datetime64[us]"})
    reps = pd.DataFrame({"rep_id": rep_ids, "team": team}).astype("str")
    trainings = pd.DataFrame({
        "rep_id": rep_ids[chosen], "competency": competency,
        "completed_at": START + pd.to_timedelta(train_days, unit="D"),
    }).astype({"rep_id": "str", "competency": "str", "completed_at": "datetime64[us]"})
    return RateWorld(events, reps, trainings, lift, START, START + pd.Timedelta(days=days),
                     tuple(drifting), drift)


def _opportunities(rows: pd.DataFrame) -> pd.DataFrame:
    o = rows.astype({"created_at": "datetime64[us]", "closed_at": "datetime64[us]", "amount": "float64"})
    return o.assign(stage=o["status"], expected_close_date=o["closed_at"].dt.normalize()).astype(
        {"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str",
         "expected_close_date": "datetime64[us]"})


def deal_world(seed: int, competency: str, lift: float, *, reps_per_team: int = 6, weeks: int = 30,
               deals_per_day: int = 3, trained_day: int = 105) -> tuple[Dataset, dict]:
    """Two teams of ``reps_per_team`` reps; each creates ``deals_per_day`` deals every day.

    Every deal is won with probability 0.3 and has an amount ~ exp(N(8, 0.45)); from the
    training (rep ``A0``, midnight of day ``trained_day``) on, that rep's deals are won
    with probability 0.3 + lift (``win_rate``) or are 1 + lift times larger (``deal_size``).
    Each deal closes 10 days after it is created; deals created in the last 10 days are open.
    Returns the dataset and its truth ``{"rep_id", "competency", "completed_at", "lift"}``.
    """
    rng = np.random.default_rng(seed)
    ids = [f"{t}{i}" for t in "AB" for i in range(reps_per_team)]
    reps = pd.DataFrame({"rep_id": ids, "rep_name": ids, "team": [i[0] for i in ids], "manager": "M"}).astype("str")
    t = START + pd.Timedelta(days=trained_day)
    days = pd.date_range(START, periods=weeks * 7, freq="D")
    created = (days.to_numpy()[:, None] + (9 + np.arange(deals_per_day))[None, :] * np.timedelta64(1, "h")).ravel()
    rep = np.repeat(ids, len(created))
    created = np.tile(created, len(ids))
    treated = (rep == "A0") & (created >= t.to_datetime64())
    p = 0.3 + np.where(treated & (competency == "win_rate"), lift, 0.0)
    log_amount = 8 + 0.45 * rng.standard_normal(len(rep)) + np.where(
        treated & (competency == "deal_size"), np.log1p(lift), 0.0)
    as_of = START + pd.Timedelta(weeks=weeks)
    closed = created + np.timedelta64(10, "D")
    status = np.where(closed >= as_of.to_datetime64(), "open", np.where(rng.random(len(rep)) < p, "won", "lost"))
    rows = pd.DataFrame({"opportunity_id": [f"o{i}" for i in range(len(rep))], "rep_id": rep, "created_at": created,
                         "amount": np.exp(log_amount), "status": status,
                         "closed_at": np.where(status == "open", np.datetime64("NaT"), closed)})
    trainings = pd.DataFrame({"rep_id": ["A0"], "competency": [competency], "completed_at": [t]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": "datetime64[us]"})
    ds = Dataset(tables={"reps": reps, "opportunities": _opportunities(rows), "trainings": trainings},
                 activities=None, as_of=as_of)
    return ds, {"rep_id": "A0", "competency": competency, "completed_at": t, "lift": lift}
