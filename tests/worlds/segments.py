"""Known-truth worlds for the segments: stable reps near a threshold, and a rep who drifts up.

Two generators, both with the truth declared in what they return:

* :func:`evaluation_world` is vectorised and fast (many seeds in one call): it simulates
  each rep's won deals week by week and returns the rows :func:`salesx2lib.segments.segment`
  needs at each "month end" (every 4 weeks), computed exactly as ``rep_scores`` defines
  them over a 13-week window (months are the window's 4-week blocks). Use it to check the
  hysteresis over hundreds of seeds.
* :func:`dataset_world` writes the same kind of floor as an in-memory
  :class:`~salesx2lib.dataset.Dataset` (reps, opportunities, monthly quotas, no activity
  log), so :func:`salesx2lib.segments.segment_history` runs end to end on it.

The model (both): a rep's won deals in a week are Poisson with mean
``deals_per_quarter / 13 * level(week)``, each deal's amount is lognormal with mean 1 and
log-sd ``sigma``, and the weekly quota is ``deals_per_quarter / 13``: so the rep's TRUE
attainment in a week is exactly ``level(week)``. Any change of segment of a rep whose level
is constant is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesx2lib.dataset import Dataset

WINDOW_WEEKS = 13
MONTH_WEEKS = 4


@dataclass(frozen=True)
class Truth:
    """The declared truth of a world.

    Attributes
    ----------
    levels
        ``rep_id`` -> the true attainment in each simulated week (constant for a stable rep).
    kind
        ``rep_id`` -> ``"stable"`` or ``"drifting"``.
    """

    levels: dict[str, np.ndarray]
    kind: dict[str, str]


def stable_and_drifting_levels(weeks: int, drift_weeks: int = 26) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The default cast: stable reps on and near each threshold, and one drifting rep.

    Stable (true attainment constant): 0.6 (the developing exit line), 0.7, 0.8 (the
    developing entry line), 0.9, 1.0 (the self_sustained entry line), 1.1, 1.3 (clearly
    self_sustained). Drifting: 0.5 for the first 13 weeks, then rising linearly to 1.3 over
    ``drift_weeks`` weeks, then 1.3.
    """
    levels = {f"S{int(round(v * 100)):03d}": np.full(weeks, v) for v in (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3)}
    ramp = np.concatenate([np.full(WINDOW_WEEKS, 0.5), np.linspace(0.5, 1.3, drift_weeks),
                           np.full(max(weeks - WINDOW_WEEKS - drift_weeks, 0), 1.3)])[:weeks]
    levels["DRIFT"] = ramp
    kind = {rep: "stable" for rep in levels} | {"DRIFT": "drifting"}
    return levels, kind


def _weekly_won(rng: np.random.Generator, level: np.ndarray, deals_per_quarter: float, sigma: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Won revenue and won deal count per (rep, week) for a (reps x weeks) array of true levels."""
    counts = rng.poisson(deals_per_quarter / WINDOW_WEEKS * level)
    amounts = rng.lognormal(-sigma**2 / 2, sigma, size=int(counts.sum()))  # mean 1
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    won = np.bincount(cell, weights=amounts, minlength=counts.size).reshape(counts.shape)
    return won, counts


def evaluation_world(
    seeds: range | list[int],
    weeks: int = 13 + 4 * 15,
    deals_per_quarter: float = 20.0,
    sigma: float = 0.6,
    percentile: float = 60.0,
    levels: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, Truth]:
    """Evaluation rows of many independent floors (one per seed), ready for ``segments.segment``.

    Each seed simulates every rep of ``levels`` (default :func:`stable_and_drifting_levels`)
    with its own random generator ``numpy.random.default_rng(seed)``. Evaluations fall every
    4 weeks from week 13 on; at week ``t`` the window is weeks ``[t - 13, t)``:

    - ``attainment = won(window) / (13 q)`` with ``q = deals_per_quarter / 13`` the weekly quota
    - months: the three 4-week blocks ending at ``t``; ``months_at_quota`` counts blocks with
      ``won(block) >= 4 q``
    - ``trend_slope``, ``trend_ci_low``: OLS slope of weekly won revenue on the week index
      with its t-based 95% interval (as ``rep_scores``)
    - ``competency_percentile = percentile`` for everyone (declared: competencies above the
      team median, so self_sustained turns on attainment and consistency alone)
    - ``tenure_days = 1000`` (nobody is ramping)

    Returns
    -------
    (pandas.DataFrame, Truth)
        One row per seed, rep and evaluation: ``seed``, ``rep_id`` (``"<seed>:<rep>"``),
        ``rep_name``, ``team``, ``as_of`` (a Sunday, 4 weeks apart), ``week`` (``t``),
        ``true_attainment`` (mean true level over the window), the score columns above,
        ``won_deals``; and the truth (levels by the rep's own id, without the seed).
    """
    if levels is None:
        levels, kind = stable_and_drifting_levels(weeks)
    else:
        kind = {rep: "stable" if np.ptp(v) == 0 else "drifting" for rep, v in levels.items()}
    names = list(levels)
    level = np.vstack([levels[r][:weeks] for r in names])
    q = deals_per_quarter / WINDOW_WEEKS
    eval_weeks = np.arange(WINDOW_WEEKS, weeks + 1, MONTH_WEEKS)
    x = np.arange(WINDOW_WEEKS, dtype="float64") - (WINDOW_WEEKS - 1) / 2
    sxx = float((x**2).sum())
    t975 = float(sps.t.ppf(0.975, WINDOW_WEEKS - 2))
    first_sunday = pd.Timestamp("2026-01-04")
    frames = []
    for seed in seeds:
        won, counts = _weekly_won(np.random.default_rng(seed), level, deals_per_quarter, sigma)
        for t in eval_weeks:
            w = won[:, t - WINDOW_WEEKS:t]
            blocks = np.stack([won[:, t - (b + 1) * MONTH_WEEKS:t - b * MONTH_WEEKS].sum(axis=1) for b in range(3)], axis=1)
            at_quota = (blocks >= MONTH_WEEKS * q).sum(axis=1)
            slope = (w * x).sum(axis=1) / sxx
            resid = w - w.mean(axis=1, keepdims=True) - slope[:, None] * x
            se = np.sqrt((resid**2).sum(axis=1) / (WINDOW_WEEKS - 2) / sxx)
            frames.append(
                pd.DataFrame(
                    {
                        "seed": seed,
                        "rep_id": [f"{seed}:{r}" for r in names],
                        "rep_name": names,
                        "team": "T",
                        "as_of": first_sunday + pd.Timedelta(weeks=int(t)),
                        "week": int(t),
                        "true_attainment": level[:, t - WINDOW_WEEKS:t].mean(axis=1),
                        "attainment": w.sum(axis=1) / (WINDOW_WEEKS * q),
                        "won_deals": counts[:, t - WINDOW_WEEKS:t].sum(axis=1),
                        "months": 3,
                        "months_at_quota": at_quota,
                        "months_at_quota_share": at_quota / 3,
                        "competency_percentile": percentile,
                        "trend_slope": slope,
                        "trend_ci_low": slope - t975 * se,
                        "trend_ci_high": slope + t975 * se,
                        "tenure_days": 1000.0,
                    }
                )
            )
    rows = pd.concat(frames, ignore_index=True).astype({"rep_id": "str", "rep_name": "str", "team": "str",
                                                        "as_of": "datetime64[us]"})
    return rows, Truth(levels=levels, kind=kind)


def dataset_world(
    seed: int,
    months: int = 15,
    deals_per_quarter: float = 20.0,
    sigma: float = 0.6,
    quota: float = 30_000.0,
) -> tuple[Dataset, Truth]:
    """An in-memory Dataset: a team of stable reps near the thresholds and one drifting rep.

    Monthly quota ``quota`` for every rep from 2025-12-01 for ``months`` months; deals close
    on weekdays with amounts scaled so that the weekly quota is ``quota * 12 / 52`` and the
    true attainment of a rep in a week is its level (:func:`stable_and_drifting_levels`).
    Each won deal comes with lost deals (win rate 0.5 for the drifting rep, 0.3 for the
    others: the drifting rep's competencies are the team's best, declared), so the
    competency percentile (win rate only: there is no activity log) puts it above the median.
    The data's as-of date is the last day of the last quota month.

    Returns
    -------
    (Dataset, Truth)
        The dataset and the declared truth (weekly levels from 2025-12-01).
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-12-01")
    end = start + pd.offsets.MonthBegin(months)
    weeks = int((end - start).days // 7)
    levels, kind = stable_and_drifting_levels(weeks)
    names = list(levels)
    won, counts = _weekly_won(rng, np.vstack([levels[r] for r in names]), deals_per_quarter, sigma)
    scale = quota * 12 / 52 / (deals_per_quarter / WINDOW_WEEKS)  # currency per unit of deal amount
    rows = []
    for i, rep in enumerate(names):
        win_rate = 0.5 if kind[rep] == "drifting" else 0.3
        for week in range(weeks):
            n = int(counts[i, week])
            if n == 0:
                continue
            amounts = rng.dirichlet(np.ones(n)) * won[i, week] * scale if n > 1 else np.array([won[i, week] * scale])
            lost = rng.binomial(n * 3, (1 - win_rate) / 3 / win_rate) if win_rate < 1 else 0
            days = rng.integers(0, 5, size=n + lost)
            for j in range(n + lost):
                closed = start + pd.Timedelta(weeks=week, days=int(days[j]), hours=12)
                status = "won" if j < n else "lost"
                rows.append((f"{rep}-{week}-{j}", rep, closed - pd.Timedelta(days=20),
                             float(round(amounts[j], 2)) if j < n else 1000.0, status, closed))
    opps = pd.DataFrame(rows, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    opps = opps.assign(
        stage=opps["status"].map({"won": "Closed Won", "lost": "Closed Lost"}),
        expected_close_date=opps["closed_at"].dt.normalize(),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str",
              "created_at": "datetime64[us]", "closed_at": "datetime64[us]", "expected_close_date": "datetime64[us]"})
    reps = pd.DataFrame({"rep_id": names, "rep_name": names, "team": "T", "manager": "M",
                         "hire_date": pd.Timestamp("2020-01-01")}).astype(
        {"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": "datetime64[us]"})
    month_starts = pd.date_range(start, periods=months, freq="MS", unit="us")
    quotas = pd.DataFrame([(r, m, m + pd.offsets.MonthEnd(0), quota) for r in names for m in month_starts],
                          columns=["rep_id", "period_start", "period_end", "quota"]).astype(
        {"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"})
    as_of = end - pd.Timedelta(days=1) + pd.Timedelta(hours=18)
    dataset = Dataset(tables={"reps": reps, "opportunities": opps, "quotas": quotas}, activities=None, as_of=as_of)
    return dataset, Truth(levels=levels, kind=kind)
