"""Benchmark: validate and load a large activity log, then roll it up, without pandas.

Writes a synthetic data folder (reps, opportunities and an activity log of ``--rows``
rows as Parquet; fixed seed), then times

1. ``load_dataset`` (every contract rule checked in DuckDB over the whole log), and
2. ``rollup.activity_counts(freq="week")`` (rep x week x type in the engine),
3. ``rollup.connected_calls(freq="week")`` (conversations paired with a dial of the same
   rep and second: a join of the log with itself, in the engine),

and reports the peak resident memory of the process, which shows the log never reached
pandas. Run::

    .venv/bin/python benchmarks/bench_load.py --rows 20000000

The folder is kept in ``benchmarks/out/`` (ignored by git) and reused when it exists.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from salesx2lib import rollup
from salesx2lib.load import load_dataset
from salesx2lib.schema import ACTIVITY_TYPES


def write_folder(folder: Path, rows: int, reps: int = 2000, seed: int = 7) -> None:
    """Reps, a few opportunities, and ``rows`` activities over 52 weeks, in chunks."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rep_ids = [f"R{i:05d}" for i in range(reps)]
    (folder / "reps.csv").write_text(
        "rep_id,rep_name,team,manager\n" + "".join(f"{r},Rep {r},Team {i % 20},M{i % 20}\n" for i, r in enumerate(rep_ids)),
        encoding="utf-8",
    )
    (folder / "opportunities.csv").write_text(
        "opportunity_id,rep_id,created_at,amount,stage,status,expected_close_date,closed_at\n"
        + "".join(f"O{i},{rep_ids[i % reps]},2026-01-05 10:00:00,1000,Proposal,open,2026-02-01,\n" for i in range(reps)),
        encoding="utf-8",
    )
    start = np.datetime64("2025-11-24T00:00:00", "us")
    span = np.int64(52 * 7 * 86400 * 1_000_000)
    schema = pa.schema(
        [
            ("activity_id", pa.string()),
            ("rep_id", pa.string()),
            ("occurred_at", pa.timestamp("us")),
            ("activity_type", pa.string()),
            ("opportunity_id", pa.string()),
            ("duration_s", pa.float64()),
        ]
    )
    types = np.array(ACTIVITY_TYPES)
    with pq.ParquetWriter(folder / "activities.parquet", schema, compression="zstd") as writer:
        chunk = 2_000_000
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            table = pa.table(
                {
                    "activity_id": pa.array(np.char.add("A", np.arange(lo, lo + n).astype(str))),
                    "rep_id": pa.array(np.array(rep_ids)[rng.integers(0, reps, n)]),
                    "occurred_at": pa.array(start + rng.integers(0, span, n).astype("timedelta64[us]")),
                    "activity_type": pa.array(types[rng.integers(0, len(types), n)]),
                    "opportunity_id": pa.nulls(n, pa.string()),
                    "duration_s": pa.array(rng.exponential(120.0, n)),
                },
                schema=schema,
            )
            writer.write_table(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000, help="activity rows (default 20M)")
    args = parser.parse_args()
    folder = Path(__file__).resolve().parent / "out" / f"load_{args.rows}"
    if not (folder / "activities.parquet").exists():
        t = time.perf_counter()
        write_folder(folder, args.rows)
        print(f"wrote {folder} in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    ds = load_dataset(folder)
    validated = time.perf_counter() - t
    t = time.perf_counter()
    counts = rollup.activity_counts(ds, "week")
    rolled = time.perf_counter() - t
    t = time.perf_counter()
    connected = rollup.connected_calls(ds, "week")
    paired = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = (folder / "activities.parquet").stat().st_size / 1e6
    print(f"activity log: {args.rows:,} rows, {size_mb:,.0f} MB Parquet")
    print(f"load_dataset (validation of every rule): {validated:.1f} s")
    print(f"activity_counts(week): {rolled:.1f} s -> {len(counts):,} rep x week x type rows")
    print(f"connected_calls(week): {paired:.1f} s -> {len(connected):,} rep x week rows")
    print(f"peak resident memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
