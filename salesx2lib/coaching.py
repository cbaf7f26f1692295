"""Coaching priorities: per rep, the one competency whose gap to the team costs the most (principles 3 and 5).

The gap decomposition of :mod:`salesx2lib.gaps` already splits each rep's funnel revenue
gap into one term per factor; :func:`coaching_priorities` takes, per rep, the competency
(volume of dials left out) with the largest revenue uplift if it alone rose to the team
benchmark (:func:`salesx2lib.gaps.top_competency_gaps`), and ranks the reps by that uplift.
Nothing is recomputed here: the figures are those of the decomposition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesx2lib import competency, gaps, periods
from salesx2lib.dataset import Dataset

__all__ = ["coaching_priorities"]


def coaching_priorities(
    dataset: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    *,
    benchmark: gaps.Benchmark = "median",
    weeks: int = 13,
) -> pd.DataFrame:
    """Per rep, the competency to coach first, ranked by the revenue closing its gap would add.

    ``competency = argmin_f log(rep_f / bench_f)`` over the competency factors (connect
    rate, conversation to appointment, appointment to opportunity, win rate, average deal
    size) and ``revenue_impact = revenue * (bench_f / rep_f - 1)``: the funnel revenue the
    rep would add over the range if that competency alone rose to the team benchmark
    (:func:`salesx2lib.gaps.largest_gaps`). Rates are the shrunk rates of the funnel, so a
    rep with few trials is not sent to coaching on noise.

    Parameters
    ----------
    dataset
        The data (narrow it to a team first if needed); needs activities.
    start, end
        The range ``[start, end)``; by default :func:`salesx2lib.periods.trailing_range`
        of the dataset's as-of date over ``weeks`` weeks.
    benchmark
        ``median`` (default) or ``top_quartile`` of the team's reps.
    weeks
        Length of the default range.

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = the largest revenue impact), ``team_rank`` (the same within the
        team), ``rep_id``, ``rep_name``, ``team``, ``competency``, ``current_rate``,
        ``benchmark_rate`` (for ``avg_deal_size`` both are amounts, not rates),
        ``revenue_impact``, ``share`` (the competency's signed share of the rep's gap),
        ``window_start``, ``window_end``, ``sentence``. Reps ahead of the benchmark on
        every competency, and reps with no funnel to decompose (zero dials), are not listed.

    Raises
    ------
    MissingTableError
        If the dataset has no activity log.
    """
    lo, hi = periods.trailing_range(dataset.as_of, start, end, weeks=weeks)
    counts = competency.rep_counts(dataset, lo, hi)
    decomposition = gaps.gap_decomposition(counts, benchmark)
    top = gaps.top_competency_gaps(decomposition, dataset.reps, n=len(dataset.reps))
    out = top.rename(
        columns={
            "factor": "competency",
            "rep_value": "current_rate",
            "benchmark_value": "benchmark_rate",
            "revenue_uplift": "revenue_impact",
        }
    )
    out = out.sort_values("revenue_impact", ascending=False, kind="stable").reset_index(drop=True)
    out = out.assign(
        rank=np.arange(1, len(out) + 1, dtype="int64"),
        team_rank=out.groupby("team").cumcount().astype("int64") + 1,
        window_start=lo,
        window_end=hi,
    )
    columns = ["rank", "team_rank", "rep_id", "rep_name", "team", "competency", "current_rate", "benchmark_rate",
               "revenue_impact", "share", "window_start", "window_end", "sentence"]
    return out[columns].astype({"window_start": "datetime64[us]", "window_end": "datetime64[us]"})
