"""Gap decomposition: which factor of the funnel separates a rep's revenue from the benchmark.

Funnel revenue is a product of six factors::

    revenue = dials x connect_rate x conversation_to_appointment
              x appointment_to_opportunity x win_rate x avg_deal_size

so the log of a rep's revenue relative to the team benchmark splits exactly into one term
per factor, ``log(rev / bench_rev) = sum_f log(rep_f / bench_f)``, and the report can say
"62% of the gap is conversion to appointment, 10% is volume". The rates are the shrunk
rates of :func:`salesx2lib.competency.funnel` and the deal size the shrunk one of
:func:`salesx2lib.competency.deal_size`, so every factor of a rep with at least one dial
is positive even with zero conversations or zero won deals (the factor then rests on the
team prior and says so in ``status``). A rep with zero dials has no funnel to decompose:
its rows are kept with ``decomposed = False`` and NaN terms.

Funnel revenue equals the rep's won revenue only when the range's created opportunities
are the ones that closed in it; over a range much longer than the sales cycle they agree
closely. It is a model of where revenue comes from, not a second revenue figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.competency import deal_size, funnel, require_activity_columns, team_benchmarks

__all__ = [
    "COMPETENCY_FACTORS",
    "FACTORS",
    "benchmark_factors",
    "decompose",
    "gap_decomposition",
    "largest_gaps",
    "rep_factors",
    "top_competency_gaps",
    "waterfall",
]

#: The factors of funnel revenue, in funnel order.
FACTORS: tuple[str, ...] = (
    "dials",
    "connect_rate",
    "conversation_to_appointment",
    "appointment_to_opportunity",
    "win_rate",
    "avg_deal_size",
)

#: The factors that are competencies (all but the volume of dials).
COMPETENCY_FACTORS: tuple[str, ...] = FACTORS[1:]

Benchmark = Literal["median", "top_quartile"]


def _order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rank = {f: i for i, f in enumerate(FACTORS)}
    return (
        frame.assign(_o=frame["factor"].map(rank))
        .sort_values([*by, "_o"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def rep_factors(counts: pd.DataFrame) -> pd.DataFrame:
    """Each rep's six revenue factors over one range, long format.

    ``dials`` = the count; the four rates = ``shrunk_rate`` of
    :func:`~salesx2lib.competency.funnel`; ``avg_deal_size`` = ``shrunk_avg_deal_size`` of
    :func:`~salesx2lib.competency.deal_size`.

    ``status``: ``observed`` (the rep has trials for this factor: dials > 0, a defined rate,
    at least one won deal), ``prior_only`` (no trials: the value is the team prior, e.g.
    zero conversations or zero won deals) or ``undefined`` (zero dials, or a team without
    any won deal for the deal size: no positive value exists).

    Parameters
    ----------
    counts
        :func:`~salesx2lib.competency.rep_counts` over one range (no ``freq``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``factor``, ``rep_value`` (float64), ``status``.

    Raises
    ------
    MissingTableError
        If ``counts`` has no activity counts (the dataset has no activity log).
    """
    require_activity_columns(counts)
    if "period_start" in counts.columns:
        raise ValueError("the gap decomposition is per rep over one range: build counts without freq")
    f = funnel(counts)
    rates = f.assign(
        factor=f["metric"],
        rep_value=f["shrunk_rate"],
        status=np.where(f["defined"], "observed", "prior_only"),
    )
    d = deal_size(counts)
    deals = d.assign(
        factor="avg_deal_size",
        rep_value=d["shrunk_avg_deal_size"],
        status=np.select(
            [d["defined"], d["team_avg_deal_size"].notna()], ["observed", "prior_only"], default="undefined"
        ),
    )
    dials = counts.assign(
        factor="dials",
        rep_value=counts["dials"].astype("float64"),
        status=np.where(counts["dials"] > 0, "observed", "undefined"),
    )
    columns = ["rep_id", "team", "factor", "rep_value", "status"]
    out = pd.concat([dials[columns], rates[columns], deals[columns]], ignore_index=True)
    out = out.astype({"factor": "str", "status": "str", "rep_value": "float64"})
    return _order(out, ["team", "rep_id"])


def benchmark_factors(factors: pd.DataFrame, benchmark: Benchmark = "median") -> pd.DataFrame:
    """The team benchmark of each factor: median (or top quartile) over the team's reps.

    ``benchmark_value = median_r(rep_value)`` (or the 0.75 quantile) over the reps whose
    factor is ``observed``; computed by :func:`salesx2lib.competency.team_benchmarks`, the
    same definition as the funnel's benchmarks. The benchmark revenue is the product of
    these values: a "benchmark rep" at the team's median on every factor, not the median
    rep's revenue.

    Returns
    -------
    pandas.DataFrame
        ``team``, ``factor``, ``n_reps``, ``benchmark_value``.
    """
    if benchmark not in ("median", "top_quartile"):
        raise ValueError(f"benchmark must be 'median' or 'top_quartile', not {benchmark!r}")
    shaped = pd.DataFrame(
        {
            "team": factors["team"],
            "metric": factors["factor"],
            "shrunk_rate": factors["rep_value"],
            "defined": factors["status"] == "observed",
        }
    )
    bench = team_benchmarks(shaped)
    out = bench.rename(columns={"metric": "factor", benchmark: "benchmark_value"})
    return _order(out[["team", "factor", "n_reps", "benchmark_value"]], ["team"])


def decompose(factors: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Split each rep's log revenue gap to the benchmark into one term per factor.

    ``log_term_f = log(rep_f) - log(bench_f)``; ``log_gap = sum_f log_term_f =
    log(revenue / benchmark_revenue)`` with ``revenue = prod_f rep_f``;
    ``share_f = log_term_f / sum_g |log_term_g|``.

    The share is signed and normalised by the *absolute* terms: the shares' absolute
    values add up to 1 (100% of what separates the rep from the benchmark), a negative
    share is a factor the rep is behind on, a positive one a factor the rep is ahead on.
    When every term is negative (the usual case for a rep well below the benchmark) the
    shares are exactly the parts of the gap: "-62%: conversion to appointment". This
    definition stays bounded when factors pull in opposite directions and the net gap is
    near 0 (where ``term / log_gap`` would explode); a rep equal to the benchmark on
    every factor gets shares of 0.

    A rep with any factor not positive or not finite (``status == "undefined"``, e.g.
    zero dials), or a team benchmark that is missing, is not decomposed: its rows are kept
    with ``decomposed = False`` and NaN ``log_term``, ``share``, ``log_gap``.

    Parameters
    ----------
    factors
        :func:`rep_factors` (``rep_id``, ``team``, ``factor``, ``rep_value``, ``status``).
    benchmarks
        :func:`benchmark_factors` (``team``, ``factor``, ``benchmark_value``).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``factor``, ``rep_value``, ``benchmark_value``, ``log_term``,
        ``share``, ``log_gap``, ``revenue``, ``benchmark_revenue`` (float64), ``status``,
        ``decomposed`` (bool); one row per rep per factor.
    """
    merged = factors.merge(benchmarks[["team", "factor", "benchmark_value"]], on=["team", "factor"], how="left")
    rep = merged["rep_value"].to_numpy(dtype="float64")
    bench = merged["benchmark_value"].to_numpy(dtype="float64")
    usable = np.isfinite(rep) & (rep > 0) & np.isfinite(bench) & (bench > 0)
    if "status" in merged.columns:
        usable &= (merged["status"] != "undefined").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.log(rep) - np.log(bench)
    keys = [merged["team"], merged["rep_id"]]
    n_factors = merged.groupby(keys, sort=False)["factor"].transform("size")
    decomposed = pd.Series(usable, index=merged.index).groupby(keys, sort=False).transform("all")
    decomposed &= n_factors == len(FACTORS)
    term = np.where(decomposed, term, np.nan)
    merged = merged.assign(log_term=term)
    grouped = merged.groupby(keys, sort=False)
    log_gap = grouped["log_term"].transform("sum")
    abs_total = merged["log_term"].abs().groupby(keys, sort=False).transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(abs_total > 0, merged["log_term"] / abs_total, 0.0)
    revenue = grouped["rep_value"].transform("prod")
    benchmark_revenue = grouped["benchmark_value"].transform("prod")
    out = merged.assign(
        share=np.where(decomposed, share, np.nan),
        log_gap=log_gap.where(decomposed),
        revenue=revenue.where(decomposed),
        benchmark_revenue=benchmark_revenue.where(decomposed),
        decomposed=decomposed.astype("bool"),
    )
    if "status" not in out.columns:
        out = out.assign(status=np.where(usable, "observed", "undefined"))
    columns = ["rep_id", "team", "factor", "rep_value", "benchmark_value", "log_term", "share", "log_gap",
               "revenue", "benchmark_revenue", "status", "decomposed"]
    return _order(out[columns].astype({"status": "str"}), ["team", "rep_id"])


def gap_decomposition(counts: pd.DataFrame, benchmark: Benchmark = "median") -> pd.DataFrame:
    """:func:`decompose` of :func:`rep_factors` against :func:`benchmark_factors`, in one call.

    ``log(revenue / benchmark_revenue) = sum_f log(rep_f / bench_f)``; see :func:`decompose`
    for the columns and the definition of ``share``.

    Raises
    ------
    MissingTableError
        If ``counts`` has no activity counts (the dataset has no activity log).
    """
    factors = rep_factors(counts)
    return decompose(factors, benchmark_factors(factors, benchmark))


def largest_gaps(decomposition: pd.DataFrame, factors: Sequence[str] = FACTORS) -> pd.DataFrame:
    """Per rep, the factor that costs the most: the most negative log term among ``factors``.

    ``factor = argmin_f log_term_f`` over ``factors`` with ``log_term_f < 0``: the factor
    that explains the largest part of the rep's gap (``share``). A rep ahead of the
    benchmark on every one of ``factors`` has a missing ``factor`` and a term of 0; a rep
    not decomposed has NaN figures. Pass ``COMPETENCY_FACTORS`` to leave volume (dials) out.

    This describes the gap; it does not price it. What closing a competency gap is worth,
    whether the gap is certain enough to coach, and what the funnel can add at most are
    :func:`salesx2lib.coaching.competency_gains` (the one owner of that figure).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``team``, ``revenue``, ``benchmark_revenue``, ``log_gap``, ``factor``,
        ``log_term``, ``share``, ``decomposed``; sorted by ``log_term``,
        most negative first (not decomposed last).
    """
    unknown = sorted(set(factors) - set(FACTORS))
    if unknown:
        raise ValueError(f"unknown factor {', '.join(map(repr, unknown))} (factors: {', '.join(FACTORS)})")
    rep_cols = ["rep_id", "team", "revenue", "benchmark_revenue", "log_gap", "decomposed"]
    reps = decomposition.drop_duplicates(["team", "rep_id"])[rep_cols]
    behind = decomposition.loc[decomposition["factor"].isin(list(factors)) & (decomposition["log_term"] < 0)]
    worst = behind.sort_values("log_term", kind="stable").drop_duplicates(["team", "rep_id"])
    out = reps.merge(worst[["rep_id", "team", "factor", "log_term", "share"]], on=["team", "rep_id"], how="left")
    ahead = out["decomposed"] & out["factor"].isna()
    out = out.assign(log_term=out["log_term"].where(~ahead, 0.0), share=out["share"].where(~ahead, 0.0))
    out = out.astype({"factor": "str"})
    columns = ["rep_id", "team", "revenue", "benchmark_revenue", "log_gap", "factor", "log_term", "share", "decomposed"]
    return out[columns].sort_values("log_term", na_position="last", kind="stable").reset_index(drop=True)


def waterfall(decomposition: pd.DataFrame, rep_id: str) -> pd.DataFrame:
    """The steps of a rep's gap waterfall, from benchmark revenue to the rep's funnel revenue.

    ``end_k = benchmark_revenue * exp(log_term_1 + ... + log_term_k)``, ``start_k =
    end_{k-1}``; on a logarithmic axis each bar's length is its log term, so the picture
    does not depend on the order of the factors. The first and last rows (``kind =
    total``) are the benchmark and the rep's revenue, drawn from ``floor`` (half the
    smallest value, a baseline for the log axis).

    Returns
    -------
    pandas.DataFrame
        ``step`` (0, 1, ...), ``label``, ``kind`` (total / factor), ``start``, ``end``,
        ``log_term``, ``share``.

    Raises
    ------
    ValueError
        If the rep is unknown or not decomposed (e.g. zero dials).
    """
    rows = decomposition.loc[decomposition["rep_id"] == rep_id]
    if rows.empty:
        raise ValueError(f"unknown rep_id {rep_id!r}")
    if not rows["decomposed"].all():
        bad = rows.loc[rows["status"] == "undefined", "factor"].tolist()
        why = f" (undefined: {', '.join(bad)})" if bad else ""
        raise ValueError(f"rep {rep_id!r} has no gap decomposition{why}")
    rows = _order(rows, [])
    bench = float(rows["benchmark_revenue"].iloc[0])
    ends = bench * np.exp(np.cumsum(rows["log_term"].to_numpy()))
    starts = np.concatenate([[bench], ends[:-1]])
    floor = min(bench, float(ends.min()), float(starts.min())) / 2.0
    labels = ["benchmark", *rows["factor"].tolist(), "rep"]
    out = pd.DataFrame(
        {
            "step": np.arange(len(labels)),
            "label": labels,
            "kind": ["total", *["factor"] * len(rows), "total"],
            "start": [floor, *starts, floor],
            "end": [bench, *ends, float(ends[-1])],
            "log_term": [np.nan, *rows["log_term"].to_numpy(), float(rows["log_gap"].iloc[0])],
            "share": [np.nan, *rows["share"].to_numpy(), np.nan],
        }
    )
    return out.astype({"label": "str", "kind": "str"})


#: How a factor is named in sentences for managers.
FACTOR_NAMES: dict[str, str] = {
    "dials": "dial volume",
    "connect_rate": "connect rate",
    "conversation_to_appointment": "conversation-to-appointment ratio",
    "appointment_to_opportunity": "appointment-to-opportunity ratio",
    "win_rate": "win rate",
    "avg_deal_size": "average deal size",
}


def _show(factor: str, value: float) -> str:
    if factor == "avg_deal_size":
        return f"{value:,.0f}"
    if factor == "dials":
        return f"{value:,.0f} dials"
    return f"{value:.0%}"


def top_competency_gaps(decomposition: pd.DataFrame, reps: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` reps furthest behind the benchmark on one competency, with a sentence each.

    Ranks reps by ``log_term`` of :func:`largest_gaps` over :data:`COMPETENCY_FACTORS`
    (most negative first; volume left out: principle 1 trains competencies, not tasks):
    ``exp(-log_term)`` is how many times the benchmark's ratio exceeds the rep's. The
    sentence says what share of the rep's gap that competency explains. It does not put a
    revenue figure on it: whether to coach it and what it is worth, with its uncertainty
    and the funnel's ceiling, is :func:`salesx2lib.coaching.coaching_review`.

    Parameters
    ----------
    decomposition
        :func:`gap_decomposition` of one range.
    reps
        The reps table (for names).
    n
        How many reps.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``team``, ``factor``, ``rep_value``, ``benchmark_value``,
        ``share``, ``log_term``, ``sentence``; reps with no gap are left out.
    """
    worst = largest_gaps(decomposition, COMPETENCY_FACTORS)
    worst = worst.loc[worst["decomposed"] & (worst["log_term"] < 0)]
    worst = worst.sort_values("log_term", kind="stable").head(n)
    values = decomposition[["rep_id", "team", "factor", "rep_value", "benchmark_value"]]
    out = worst.merge(values, on=["rep_id", "team", "factor"], how="left").merge(
        reps[["rep_id", "rep_name"]], on="rep_id", how="left"
    )
    sentences = [
        f"{row.rep_name} ({row.rep_id}): {FACTOR_NAMES[row.factor]} {_show(row.factor, row.rep_value)} "
        f"against the team's {_show(row.factor, row.benchmark_value)}: {abs(row.share):.0%} of what "
        f"separates the rep's funnel from the benchmark."
        for row in out.itertuples()
    ]
    out = out.assign(sentence=pd.Series(sentences, index=out.index, dtype="str"))
    columns = ["rep_id", "rep_name", "team", "factor", "rep_value", "benchmark_value", "share", "log_term", "sentence"]
    return out[columns].reset_index(drop=True)
