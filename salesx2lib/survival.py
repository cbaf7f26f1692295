"""Kaplan-Meier estimation for right-censored durations (the sales cycle).

A deal that is still open on the as-of date has not yet been decided: all we know is that
its cycle is *longer* than its age. Dropping it (the median of closed deals only) or
counting its age as a cycle both bias the answer towards short cycles. The Kaplan-Meier
estimator uses every deal for as long as it was observed:
``S(t) = prod over event times t_i <= t of (1 - d_i / n_i)``, with ``d_i`` deals decided at
``t_i`` and ``n_i`` deals still undecided and observed just before ``t_i``. A deal that
only came under observation at some age (created before the data starts: delayed entry,
or left truncation) joins the risk set at that age, not at 0.

Vectorised NumPy; small typed functions returning DataFrames or floats. Checked against
statsmodels ``SurvfuncRight`` in ``tests/test_survival.py``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from salesx2lib.stats import z_score

__all__ = ["kaplan_meier", "km_quantile", "km_quantile_ci", "km_survival_at"]

#: Survival values within this distance of a quantile's level count as reaching it.
_EPS = 1e-12


def kaplan_meier(
    durations: npt.ArrayLike,
    observed: npt.ArrayLike,
    confidence: float = 0.95,
    entry: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier survival table with Greenwood standard errors, optionally with delayed entry.

    ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)``. Without ``entry``, ``n_i = #{j : T_j >= t_i}``.
    With delayed entry (left truncation: subject ``j`` only came under observation at age
    ``entry_j``, so it would not be in the data had its event happened earlier),
    ``n_i = #{j : entry_j < t_i <= T_j}``, statsmodels ``SurvfuncRight(entry=...)``'s
    convention (a subject is not in the risk set on or before its entry time); ``entry_j = 0``
    means no truncation (at risk from age 0 inclusive, so ``entry`` of all zeros gives the
    same table as ``entry=None``). Greenwood:
    ``se(S(t)) = S(t) * sqrt(sum_{t_i <= t} d_i / (n_i (n_i - d_i)))``; the interval is the
    log-log ("exponential Greenwood") one, ``S(t) ** exp(±z * se / (S |log S|))``.

    Parameters
    ----------
    durations
        Time observed for each subject (>= 0, no missing values), e.g. days from creation
        to decision, or to the as-of date for a deal still open.
    observed
        True where the event happened at ``durations`` (the deal was decided), False where
        the subject was censored then (still open).
    confidence
        Two-sided coverage of the pointwise interval.
    entry
        Optional age at which each subject entered observation (``0 <= entry <= durations``).
        A subject with ``entry == durations > 0`` was never at risk under the convention
        above and is left out of the table (its event, if any, is not counted).

    Returns
    -------
    pandas.DataFrame
        One row per distinct duration (event or censoring), sorted: ``time`` (float),
        ``n_at_risk`` (``n_i`` above: subjects with duration >= time that had
        entered before it), ``n_events``, ``n_censored``
        (int64), ``survival``, ``se``, ``ci_low``, ``ci_high`` (float; ``se`` and the
        interval are NaN where Greenwood's sum is undefined, i.e. once ``n_i = d_i``).
        Empty input gives an empty table with these columns.

    References
    ----------
    E. L. Kaplan and P. Meier (1958), "Nonparametric estimation from incomplete
    observations", JASA 53(282), 457-481. M. Greenwood (1926) for the variance.

    Examples
    --------
    >>> km = kaplan_meier([2, 3, 3, 5], [True, True, False, True])
    >>> km["survival"].round(3).tolist()
    [0.75, 0.5, 0.0]
    """
    t = np.asarray(durations, dtype="float64")
    e = np.asarray(observed, dtype=bool)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("durations and observed must be 1-d and of the same length")
    if np.isnan(t).any():
        raise ValueError("durations must not be missing")
    if (t < 0).any():
        raise ValueError("durations must not be negative")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if entry is not None:
        a = np.asarray(entry, dtype="float64")
        if a.shape != t.shape:
            raise ValueError("entry must have the same length as durations")
        if np.isnan(a).any() or (a < 0).any() or (a > t).any():
            raise ValueError("entry must be given, >= 0 and <= durations")
        keep = (a < t) | (a == 0)
        t, e, a = t[keep], e[keep], a[keep]
    times, inverse = np.unique(t, return_inverse=True)
    m = len(times)
    n_total = np.bincount(inverse, minlength=m)
    d = np.bincount(inverse, weights=e.astype("float64"), minlength=m).astype("int64")
    c = n_total - d
    if entry is None:
        at_risk = np.cumsum(n_total[::-1])[::-1]
    else:
        # n_i = #{entry_j < t_i} - #{T_j < t_i}; entry 0 counts as entered before age 0.
        entered = np.searchsorted(np.sort(np.where(a == 0, -np.inf, a)), times, side="left")
        left = np.searchsorted(np.sort(t), times, side="left")
        at_risk = entered - left
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - d / at_risk)
        terms = np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0)
        terms = np.where((d > 0) & (at_risk == d), np.inf, terms)
        green = np.cumsum(terms)
        se = s * np.sqrt(green)
        se = np.where(np.isfinite(green), se, np.nan)
        z = z_score(confidence)
        log_s = np.log(s)
        theta_se = np.sqrt(green) / np.abs(log_s)
        lo = s ** np.exp(z * theta_se)
        hi = s ** np.exp(-z * theta_se)
    # Before the first event S = 1 exactly: no uncertainty; after S reaches 0 it stays 0.
    flat = green == 0
    lo = np.where(flat, 1.0, lo)
    hi = np.where(flat, 1.0, hi)
    se = np.where(flat, 0.0, se)
    undefined = ~np.isfinite(green) | (s <= 0)
    lo = np.where(undefined, np.nan, lo)
    hi = np.where(undefined, np.nan, hi)
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": at_risk.astype("int64"),
            "n_events": d,
            "n_censored": c.astype("int64"),
            "survival": s,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def km_quantile(km: pd.DataFrame, q: float) -> float:
    """Time by which a share ``q`` of subjects has had the event (NaN if never reached).

    ``t_q = min{t : S(t) <= 1 - q}``; ``q = 0.5`` is the median. When the curve stays above
    ``1 - q`` (too many subjects still censored) the quantile is *not reached* and NaN is
    returned: say "more than the longest observed time", never a number.

    Parameters
    ----------
    km
        A table from :func:`kaplan_meier`.
    q
        Share in (0, 1).

    Notes
    -----
    Where ``S`` equals ``1 - q`` exactly over an interval, this returns the interval's
    start (lifelines' convention); SAS and statsmodels require ``S < 1 - q`` and return
    its end, R takes the midpoint. The difference only shows in tiny samples.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be between 0 and 1, not {q!r}")
    hit = np.flatnonzero(km["survival"].to_numpy() <= 1.0 - q + _EPS)
    return float(km["time"].to_numpy()[hit[0]]) if len(hit) else float("nan")


def km_quantile_ci(km: pd.DataFrame, q: float, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a Kaplan-Meier quantile by inverting z-tests (cloglog scale).

    ``{t_i event time : |g(S(t_i)) - g(1-q)| <= z * |g'(S(t_i))| * se(S(t_i))}`` with
    ``g(x) = log(-log x)``; the upper limit is the event time after the last one in the set.

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN where a limit is not reached (statsmodels reports an upper
        limit it cannot reach as infinity), both NaN when no event time qualifies.

    References
    ----------
    Brookmeyer and Crowley (1982), Biometrics 38, 29-41; the SAS PROC LIFETEST method
    as implemented by statsmodels ``SurvfuncRight.quantile_ci(method="cloglog")``.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be between 0 and 1, not {q!r}")
    ev = km.loc[km["n_events"] > 0]
    s = ev["survival"].to_numpy()
    se = ev["se"].to_numpy()
    times = ev["time"].to_numpy()
    z = z_score(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(s))
        gprime = -1.0 / (s * np.log(s))
        r = (g - np.log(-np.log(1.0 - q))) / (gprime * se)
    inside = np.flatnonzero(np.abs(r) <= z)
    if len(inside) == 0:
        return float("nan"), float("nan")
    low = float(times[inside[0]])
    last = inside[-1]
    high = float(times[last + 1]) if last + 1 < len(times) else float("nan")
    return low, high


def km_survival_at(km: pd.DataFrame, t: npt.ArrayLike) -> np.ndarray:
    """The step function ``S(t)`` read at arbitrary times (1 before the first time).

    ``S(t) = survival of the last row with time <= t``.
    """
    tt = np.atleast_1d(np.asarray(t, dtype="float64"))
    idx = np.searchsorted(km["time"].to_numpy(), tt, side="right") - 1
    surv = km["survival"].to_numpy()
    return np.where(idx >= 0, surv[np.clip(idx, 0, None)] if len(surv) else 1.0, 1.0)
