"""Benchmark: reading the sample as a CRM export, through a preset, against the canonical folder.

Writes the sample sales floor (``--reps`` reps, ``--weeks`` weeks, seed 42) four times:
canonical, as a Salesforce Data Export, as HubSpot exports and as two spreadsheet files
(``salesx2 sample --as ...``), then times for each

1. ``load_dataset`` (the mapping applied in DuckDB and every contract rule checked), and
2. ``rollup.activity_counts(freq="week")`` over the mapped activity log,

best and median of ``--repeat`` runs, and the size of the files. Run::

    .venv/bin/python benchmarks/bench_mapping.py --reps 30 --weeks 52 --repeat 3

The folders are kept in ``benchmarks/out/mapping-<reps>x<weeks>/`` (ignored by git) and
reused when they exist.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from salesx2lib import rollup
from salesx2lib.cli import main as salesx2
from salesx2lib.load import load_dataset

SHAPES = {
    "canonical": {},
    "salesforce": {"preset": "salesforce"},
    "hubspot": {"preset": "hubspot"},
    "spreadsheet": {"mapping": "mapping.toml"},
}


def _size(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(__file__).parent / "out" / f"mapping-{args.reps}x{args.weeks}"
    print(f"{'shape':<12} {'MB':>7} {'rows':>10} {'load best':>10} {'median':>8} {'rollup best':>12}")
    for shape, how in SHAPES.items():
        folder = root / shape
        if not folder.exists():
            salesx2(["sample", "--reps", str(args.reps), "--weeks", str(args.weeks), "--as", shape, "--out", str(folder)])
        kwargs = {k: (folder / v if k == "mapping" else v) for k, v in how.items()}
        loads, rollups = [], []
        rows = 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ds = load_dataset(folder, **kwargs)
            t1 = time.perf_counter()
            if ds.activities is not None:
                assert len(rollup.activity_counts(ds, freq="week")) > 0
            rollups.append(time.perf_counter() - t1)
            if ds.activities is not None:
                rows = int(ds.activities.count().to_pyarrow().as_py())
            loads.append(t1 - t0)
        print(
            f"{shape:<12} {_size(folder):>7.1f} {rows:>10,} {min(loads):>9.2f}s {statistics.median(loads):>7.2f}s "
            f"{min(rollups):>11.2f}s"
        )


if __name__ == "__main__":
    main()
