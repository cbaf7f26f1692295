"""Benchmark: funnel + relevance + gap decomposition for 2,000 reps x 52 weeks.

Starts from rollup-shaped frames (what :func:`salesx2lib.competency.rep_counts` returns
with ``freq="week"``: one row per rep per week), synthesised here with a fixed seed, so
the figure measures the analyses and not the engine rollup (timed in STACK.md). Target:
at most 5 s for the three analyses together.

Run::

    .venv/bin/python benchmarks/bench_competency.py [--reps 2000] [--weeks 52] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from salesx2lib import competency, gaps, relevance

TARGET_SECONDS = 5.0


def synthesise(n_reps: int, n_weeks: int, seed: int = 20260105) -> pd.DataFrame:
    """Weekly rep counts with rep-level differences in volume and in each ratio."""
    rng = np.random.default_rng(seed)
    rep = np.repeat(np.arange(n_reps), n_weeks)
    week = np.tile(np.arange(n_weeks), n_reps)
    volume = rng.lognormal(np.log(80), 0.4, n_reps)[rep]
    connect = rng.beta(20, 60, n_reps)[rep]
    c2a = rng.beta(12, 18, n_reps)[rep]
    a2o = rng.beta(15, 15, n_reps)[rep]
    win = rng.beta(10, 20, n_reps)[rep]
    deal = rng.lognormal(np.log(8000), 0.3, n_reps)[rep]
    dials = rng.poisson(volume)
    conversations = rng.binomial(dials, connect)
    appointments = rng.binomial(conversations, c2a)
    opportunities = rng.binomial(appointments, a2o)
    closed = rng.poisson(np.maximum(opportunities, 0.5))
    won = rng.binomial(closed, win)
    lost = closed - won
    won_amount = np.round(won * deal * rng.lognormal(0, 0.2, rep.size), 2)
    lost_amount = np.round(lost * deal * rng.lognormal(0, 0.2, rep.size), 2)
    zeros = np.zeros(rep.size, dtype="int64")
    return pd.DataFrame(
        {
            "rep_id": pd.Series([f"R{r:05d}" for r in range(n_reps)], dtype="str").to_numpy()[rep],
            "team": pd.Series([f"T{t:02d}" for t in range(20)], dtype="str").to_numpy()[rep % 20],
            "period_start": (pd.Timestamp("2025-01-06") + pd.to_timedelta(7 * week, unit="D")).astype("datetime64[us]"),
            "dials": dials,
            "conversations": conversations,
            "connected_calls": conversations,
            "appointments": appointments,
            "prospect_appointments": appointments,
            "emails": rng.poisson(30, rep.size),
            "meetings": rng.poisson(2, rep.size),
            "business_cards": zeros,
            "other_activities": zeros,
            "opportunities": opportunities,
            "won": won,
            "lost": lost,
            "won_amount": won_amount,
            "lost_amount": lost_amount,
        }
    ).astype({"rep_id": "str", "team": "str"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()

    weekly = synthesise(args.reps, args.weeks)
    print(f"input: {len(weekly):,} rep-weeks ({args.reps:,} reps x {args.weeks} weeks, 20 teams)")
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    year = weekly.drop(columns="period_start").groupby(["rep_id", "team"], as_index=False, sort=True).sum()
    funnel = competency.funnel(year)
    team = competency.team_funnel(year)
    bench = competency.team_benchmarks(funnel)
    deals = competency.deal_size(year)
    weekly_funnel = competency.funnel(weekly)
    timings["funnel (year per rep + team + benchmarks + deal size + per rep-week)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rel = relevance.relevance(weekly, "week", horizon=5, n_resamples=args.resamples, seed=0)  # a 31-day cycle
    timings[f"relevance (5-week windows, {args.resamples} rep resamples and sign flips, {len(rel)} metrics)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    decomposition = gaps.gap_decomposition(year)
    top = gaps.largest_gaps(decomposition, gaps.COMPETENCY_FACTORS)
    timings["gap decomposition + largest gaps"] = time.perf_counter() - t0

    for name, seconds in timings.items():
        print(f"{seconds:7.2f} s  {name}")
    total = sum(timings.values())
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(f"{total:7.2f} s  total ({verdict} the {TARGET_SECONDS:.0f} s target)")
    print(
        f"rows: funnel {len(funnel):,}, team funnel {len(team)}, benchmarks {len(bench)}, deal size {len(deals):,}, "
        f"rep-week funnel {len(weekly_funnel):,}, relevance {len(rel)}, decomposition {len(decomposition):,}, "
        f"largest gaps {len(top):,}"
    )


if __name__ == "__main__":
    main()
