"""Benchmark: the rolling-forecast backtest over 52 weekly as-of dates.

Synthesises (fixed seed, vectorised) 200,000 opportunities with 1,000,000 opportunity
history rows for 400 reps in 8 teams over two years, then times

- ``pipeline.snapshots`` of the open pipeline at 52 Mondays,
- ``rolling.backtest`` over the same 52 Mondays (snapshots of the backtest and training
  Mondays, the win-by-window-end model refitted every ``refit_weeks`` on what was known,
  every open deal scored, new business, the simulated 80% interval, actuals), per team,
- ``pipeline.as_of`` at the last date, and ``cycle.sales_cycle``.

Target (issues 4 and 11): the 52-date backtest in <= 10 s. Run from the repository root:

    .venv/bin/python benchmarks/bench_forecast.py [--opportunities 200000] [--seed 7]

Not part of the test suite; prints one line per step and the figures as JSON at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd

from salesx2lib.cycle import sales_cycle
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import as_of, snapshots
from salesx2lib.rolling import backtest, backtest_dates
from salesx2lib.settings import load_settings

STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
START = pd.Timestamp("2024-01-01")
DAYS = 730


def synthesise(n_opportunities: int = 200_000, n_reps: int = 400, rows_per_opportunity: int = 5, seed: int = 7) -> Dataset:
    """A dataset of the canonical shape with ``n_opportunities * rows_per_opportunity`` history rows.

    Each deal gets ``rows_per_opportunity`` history rows: creation in Prospecting, then
    changes every ~9 days (stage advances, close-date pushes, amount edits); a deal that
    reaches its decision before the end of the data gets a closing row at ``closed_at``.
    """
    rng = np.random.default_rng(seed)
    n, k = n_opportunities, rows_per_opportunity
    teams = np.array([f"team_{i}" for i in range(8)])
    rep_ids = np.array([f"r{i:04d}" for i in range(n_reps)])
    reps = pd.DataFrame(
        {
            "rep_id": pd.array(rep_ids, dtype="str"),
            "rep_name": pd.array([f"Rep {i}" for i in range(n_reps)], dtype="str"),
            "team": pd.array(teams[np.arange(n_reps) % len(teams)], dtype="str"),
            "manager": pd.array([f"Manager {i % 8}" for i in range(n_reps)], dtype="str"),
        }
    )
    end = START + pd.Timedelta(days=DAYS)
    rep_of = rng.integers(0, n_reps, n)
    created = START + pd.to_timedelta(rng.uniform(0, DAYS - 60, n) * 86400, unit="s")
    created = created.floor("min")
    size = np.exp(rng.normal(9.5, 0.4, n_reps))[rep_of] * np.exp(rng.normal(0, 0.5, n))
    # Row times: creation, then exponential gaps (mean 9 days).
    gaps = rng.exponential(9.0, (n, k))
    gaps[:, 0] = 0.0
    offsets = np.cumsum(gaps, axis=1)
    row_time = created.to_numpy()[:, None] + (offsets * 86400e6).astype("timedelta64[us]")
    # Stage path: advance on about two changes in three, never past Negotiation.
    advance = rng.random((n, k)) < 0.65
    advance[:, 0] = False
    stage_idx = np.minimum(np.cumsum(advance, axis=1), len(STAGES) - 1)
    # Outcome decided at the last row: won more likely the further the deal got.
    reached = stage_idx[:, -2]
    p_win = np.array([0.1, 0.25, 0.45, 0.65])[reached]
    won = rng.random(n) < p_win
    closed_at = row_time[:, -1]
    is_closed = closed_at <= end.to_datetime64()
    # Expected close date: 30-60 days after creation, pushed 14 days on some changes.
    ecd0 = (created + pd.to_timedelta(rng.integers(30, 60, n), unit="D")).normalize().to_numpy()
    pushes = np.cumsum(rng.random((n, k)) < 0.2, axis=1)
    ecd = ecd0[:, None] + (pushes * 14).astype("timedelta64[D]")
    amount = size[:, None] * np.cumprod(np.where(rng.random((n, k)) < 0.15, rng.uniform(0.8, 1.25, (n, k)), 1.0), axis=1)
    amount = np.round(amount, -1)

    stage_names = np.array(STAGES, dtype=object)[stage_idx]
    final = np.where(won, "Closed Won", "Closed Lost")
    stage_names[:, -1] = np.where(is_closed, final, stage_names[:, -2])
    ecd[:, -1] = np.where(is_closed, closed_at.astype("datetime64[D]"), ecd[:, -1])
    keep = row_time <= end.to_datetime64()
    keep[:, -1] &= is_closed  # the closing row exists only for decided deals
    opp_ids = np.array([f"o{i:07d}" for i in range(n)], dtype=object)
    history = pd.DataFrame(
        {
            "opportunity_id": pd.array(np.repeat(opp_ids, k)[keep.ravel()], dtype="str"),
            "changed_at": pd.Series(row_time.ravel()[keep.ravel()]).astype("datetime64[us]"),
            "stage": pd.array(stage_names.ravel()[keep.ravel()], dtype="str"),
            "amount": amount.ravel()[keep.ravel()],
            "expected_close_date": pd.Series(ecd.ravel()[keep.ravel()]).astype("datetime64[us]"),
        }
    )
    last = np.maximum(keep.sum(axis=1) - 1, 0)
    rows = np.arange(n)
    status = np.where(is_closed, np.where(won, "won", "lost"), "open")
    opportunities = pd.DataFrame(
        {
            "opportunity_id": pd.array(opp_ids, dtype="str"),
            "rep_id": pd.array(rep_ids[rep_of], dtype="str"),
            "created_at": pd.Series(created).astype("datetime64[us]"),
            "amount": amount[rows, last],
            "stage": pd.array(stage_names[rows, last], dtype="str"),
            "status": pd.array(status, dtype="str"),
            "expected_close_date": pd.Series(ecd[rows, last]).astype("datetime64[us]"),
            "closed_at": pd.Series(np.where(is_closed, closed_at, np.datetime64("NaT"))).astype("datetime64[us]"),
        }
    )
    as_of_date = max(history["changed_at"].max(), opportunities["created_at"].max())
    return Dataset(
        tables={"reps": reps, "opportunities": opportunities, "opportunity_history": history},
        activities=None,
        as_of=as_of_date,
        source="benchmarks/bench_forecast.py",
    )


def _timed(label: str, fn):  # noqa: ANN001, ANN202 - a tiny local helper
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<48} {dt:7.2f} s (cpu {cpu:.2f} s, load {os.getloadavg()[0]:.1f})")
    return result, dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3, help="time the backtest this many times; report the best and the median")
    args = parser.parse_args()
    settings = load_settings()
    ds, t_synth = _timed("synthesise", lambda: synthesise(args.opportunities, args.reps, seed=args.seed))
    opps, hist = ds.opportunities, ds.table("opportunity_history")
    print(f"opportunities {len(opps):,}, history rows {len(hist):,}, as of {ds.as_of}")
    dates = backtest_dates(ds, settings)[-args.weeks :]
    print(f"as-of dates: {len(dates)} Mondays, {dates[0].date()} .. {dates[-1].date()}")
    snap, t_snap = _timed(f"snapshots (open pipeline, {len(dates)} dates)", lambda: snapshots(opps, hist, dates, open_only=True))
    print(f"  (deal, date) rows: {len(snap):,}")
    runs = []
    for i in range(max(args.repeat, 1)):
        bt, t = _timed(f"backtest ({len(dates)} Mondays, per team) run {i + 1}", lambda: backtest(ds, settings, start=dates[0], end=dates[-1]))
        runs.append(t)
    t_bt = min(runs)
    t_bt_median = float(np.median(runs))
    _, t_asof = _timed("as_of(last date)", lambda: as_of(opps, hist, ds.as_of))
    _, t_cycle = _timed("sales_cycle (KM per team)", lambda: sales_cycle(ds))
    allrows = bt.loc[bt["team"] == "all"]
    wape = (allrows["forecast"] - allrows["actual"]).abs().sum() / allrows["actual"].sum()
    print(f"backtest WAPE (team all, weekly): {wape:.3f}")
    verdict = "OK" if t_bt_median <= 10.0 else "OVER TARGET"
    print(f"backtest: best {t_bt:.2f} s, median {t_bt_median:.2f} s of {len(runs)} for {len(dates)} dates (target <= 10 s): {verdict}")
    print(
        json.dumps(
            {
                "opportunities": len(opps),
                "history_rows": len(hist),
                "dates": len(dates),
                "snapshots_s": round(t_snap, 2),
                "backtest_best_s": round(t_bt, 2),
                "backtest_median_s": round(t_bt_median, 2),
                "as_of_s": round(t_asof, 2),
                "sales_cycle_s": round(t_cycle, 2),
                "synthesise_s": round(t_synth, 2),
                "python": platform.python_version(),
                "pandas": pd.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
