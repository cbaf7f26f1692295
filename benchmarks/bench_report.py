"""Benchmark: ``salesx2 report`` for one team on the sample data, end to end.

Each run is the command a user types, timed from outside as a subprocess: Python start,
imports, validation of ``data/sample``, the kernel's start, the papermill run of
``notebooks/weekly_report.ipynb``, the HTML export, the JSON and the index. Every run
writes into a fresh temporary folder (deleted afterwards).

Target (issue 2, Measure): <= 15 s on a 2-core machine. Run from the repository root:

    .venv/bin/python benchmarks/bench_report.py [--team Atlas] [--repeat 3] [--data data/sample]

Not part of the test suite. Prints one line per run (with the machine's load average,
since other processes on a 2-core machine change the figure a lot) and the figures as
JSON at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_team(data: Path) -> str:
    """The alphabetically first team of ``reps.csv`` (no pandas: nothing warms the caches)."""
    with (data / "reps.csv").open(encoding="utf-8", newline="") as f:
        return min(row["team"] for row in csv.DictReader(f))


def salesx2() -> list[str]:
    """The installed ``salesx2`` command next to this interpreter."""
    script = Path(sys.executable).with_name("salesx2")
    if not script.exists():
        raise SystemExit(f"{script} not found: install the project first (make report does)")
    return [str(script)]


def run_once(data: Path, team: str) -> float:
    """Seconds for one ``salesx2 report DATA --team TEAM --out TMP``; exits on failure."""
    out = Path(tempfile.mkdtemp(prefix="bench_report_"))
    try:
        start = time.perf_counter()
        done = subprocess.run(
            [*salesx2(), "report", str(data), "--team", team, "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"salesx2 report failed ({done.returncode}):\n{done.stderr}")
        html = list(out.glob(f"*/{team}.html"))
        if not html:
            raise SystemExit(f"no {team}.html written:\n{done.stderr}")
        return seconds
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--team", help="default: the first team of the data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    team = args.team or first_team(args.data)
    print(f"salesx2 report {args.data} --team {team}: {args.repeat} runs, {os.cpu_count()} CPUs")
    runs, times = [], []
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        seconds = run_once(args.data, team)
        times.append(seconds)
        runs.append({"seconds": round(seconds, 2), "load_before": round(load, 2)})
        print(f"run {i + 1}: {seconds:5.1f} s (1-minute load average before: {load:.2f})")
    summary = {
        "benchmark": "report_one_team",
        "team": team,
        "min_s": round(min(times), 2),
        "median_s": round(statistics.median(times), 2),
        "target_s": 15.0,
        "runs": runs,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(f"min {summary['min_s']:.1f} s, median {summary['median_s']:.1f} s (target <= 15 s)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
