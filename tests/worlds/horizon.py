"""Known-truth worlds for the horizon table's intervals: submissions duplicated per rep-period.

A rep forecasts the same period several times (weekly re-submissions of one month): the
copies share the period's actual and mostly the rep's view of it, so they are one piece
of evidence, not several. These worlds build the judged-submission table of
:func:`salesx2lib.horizon.forecast_errors` directly (no deals), vectorised.

Declared truth (also returned in :class:`HorizonWorld`):

* ``n_rep_periods`` rep-periods (``reps`` reps, each with ``n_rep_periods / reps``
  periods). Each has an actual ``A ~ lognormal(log 50,000, 0.5)`` and a relative error
  ``e ~ Normal(mu, sigma)`` independent of ``A``; the rep forecasts ``F = A (1 + e)``.
* Each rep-period is submitted ``copies`` times with exactly that forecast.
* So the true hit rate (``|F - A| <= tol A``) is ``P(|e| <= tol) = Phi((tol - mu)/sigma) -
  Phi((-tol - mu)/sigma)`` and the true WAPE (``E|F - A| / E A``, the limit of ``sum|F -
  A| / sum A``) is ``E|e|``, the mean of a folded normal:
  ``sigma sqrt(2/pi) exp(-mu^2 / (2 sigma^2)) + mu (1 - 2 Phi(-mu/sigma))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class HorizonWorld:
    """The submissions and the truth they were drawn from."""

    errors: pd.DataFrame
    true_hit_rate: float
    true_wape: float


def true_values(mu: float, sigma: float, tolerance: float) -> tuple[float, float]:
    """``(P(|e| <= tol), E|e|)`` for ``e ~ Normal(mu, sigma)``."""
    hit = float(stats.norm.cdf((tolerance - mu) / sigma) - stats.norm.cdf((-tolerance - mu) / sigma))
    wape = float(sigma * np.sqrt(2 / np.pi) * np.exp(-(mu**2) / (2 * sigma**2)) + mu * (1 - 2 * stats.norm.cdf(-mu / sigma)))
    return hit, wape


def duplicated_submissions(
    seed: int,
    *,
    n_rep_periods: int = 60,
    reps: int = 12,
    copies: int = 4,
    mu: float = 0.05,
    sigma: float = 0.25,
    tolerance: float = 0.10,
) -> HorizonWorld:
    """One world: ``n_rep_periods`` rep-periods, each submitted ``copies`` times."""
    rng = np.random.default_rng(seed)
    actual = np.exp(rng.normal(np.log(50_000.0), 0.5, n_rep_periods))
    e = rng.normal(mu, sigma, n_rep_periods)
    forecast = actual * (1.0 + e)
    rep = np.arange(n_rep_periods) % reps
    period = np.arange(n_rep_periods) // reps
    starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(period * 31, unit="D")
    base = pd.DataFrame(
        {
            "rep_id": pd.array([f"r{k}" for k in rep], dtype="str"),
            "period_start": starts.as_unit("us"),
            "period_end": (starts + pd.Timedelta(days=30)).as_unit("us"),
            "forecast": forecast,
            "actual": actual,
        }
    )
    errors = base.loc[base.index.repeat(copies)].reset_index(drop=True)
    hit, wape = true_values(mu, sigma, tolerance)
    return HorizonWorld(errors=errors, true_hit_rate=hit, true_wape=wape)
