"""Mutation testing of the analytic core with mutmut 3 (``make mutate``).

Each core module is mutated on its own, against its own fast tests only
(``tests/test_<module>.py``, ``tests/test_edges_<module>.py``,
``tests/test_mutants_<module>.py`` and the extra files listed in ``EXTRA_TESTS``), so a
mutant is "killed" only if the module's own tests notice it. mutmut copies the project
into ``mutants/`` (the package with its data files, ``tests/`` and ``data/``) and runs
pytest there; the results stay in ``mutants/salesx2lib/<module>.py.meta``.

After the runs, the summary table of ``docs/mutation.md`` (between the
``mutation-summary`` markers) is rewritten: the modules just run get their new counts,
the other rows are kept as they were.

Usage::

    python scripts/mutation.py                          # every core module
    python scripts/mutation.py salesx2lib/stats.py      # one (or several) modules
    python scripts/mutation.py --report-only            # rewrite the table from mutants/
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "mutation.md"
START = "<!-- mutation-summary:start (written by scripts/mutation.py) -->"
END = "<!-- mutation-summary:end -->"

#: The analytic core, smallest and most used first.
CORE: list[str] = [
    "salesx2lib/stats.py",
    "salesx2lib/survival.py",
    "salesx2lib/gaps.py",
    "salesx2lib/cycle.py",
    "salesx2lib/horizon.py",
    "salesx2lib/scrub.py",
    "salesx2lib/cadence.py",
    "salesx2lib/waterfall.py",
    "salesx2lib/milestones.py",
    "salesx2lib/accounts.py",
    "salesx2lib/competency.py",
    "salesx2lib/coaching.py",
    "salesx2lib/routines.py",
    "salesx2lib/relevance.py",
    "salesx2lib/training.py",
    "salesx2lib/segments.py",
    "salesx2lib/mapping.py",
    "salesx2lib/rolling.py",
    "salesx2lib/winprob.py",
]

#: Test files of a module beyond the ``test_<name>``, ``test_edges_<name>`` and
#: ``test_mutants_<name>`` conventions.
EXTRA_TESTS: dict[str, list[str]] = {
    "mapping": ["tests/test_mapping_promises.py"],
}

#: mutmut's exit codes, as ``mutmut.stats.status_by_exit_code`` reads them.
STATUS = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
    34: "skipped", 35: "suspicious", 36: "timeout", 24: "timeout", -24: "timeout",
    152: "timeout", 255: "timeout", 37: "caught by type check", -11: "segfault",
    -9: "segfault", 2: "interrupted", None: "not checked",
}


def module_tests(module: str) -> list[str]:
    """The test files of ``module`` (a path such as ``salesx2lib/stats.py``) that exist."""
    name = Path(module).stem
    names = [f"tests/test_{name}.py", f"tests/test_edges_{name}.py", f"tests/test_mutants_{name}.py"]
    names += EXTRA_TESTS.get(name, [])
    return [n for n in names if (ROOT / n).exists()]


def survivors(module: str) -> list[str]:
    """Names of the mutants of ``module`` that survived (or had no test) in ``mutants/``."""
    return sorted(k for k, v in exit_codes(module).items() if STATUS.get(v) in ("survived", "no tests"))


def run_one(module: str, max_children: int, only_survivors: bool = False) -> None:
    """Run mutmut on one module in this process (called in a child, see ``main``).

    Every mutant of the module is tested again (mutmut re-runs the mutants it is
    given by name), or only the last run's survivors with ``only_survivors``: adding
    tests cannot bring a killed mutant back, so this is enough after new tests."""
    os.chdir(ROOT)
    survivors_before = survivors(module)
    # Mutated by an earlier run of another module, the copy in mutants/ is a plain copy
    # newer than the source, which mutmut would take for an up-to-date mutated file:
    # drop it (and its results, kept by the parent for --survivors) so it is mutated again.
    for stale in (ROOT / "mutants" / module, ROOT / "mutants" / (module + ".meta")):
        stale.unlink(missing_ok=True)
    from mutmut.configuration import config

    cfg = config()
    cfg.only_mutate = [module]
    cfg.pytest_add_cli_args_test_selection = module_tests(module)
    from mutmut.__main__ import cli

    dotted = module[: -len(".py")].replace("/", ".")
    names = survivors_before if only_survivors else [f"{dotted}.*"]
    if not names:
        print(f"{module}: no survivor to test again")
        return
    cli(["run", "--max-children", str(max_children), *names])


def exit_codes(module: str) -> dict[str, int | None]:
    """mutmut's exit code of every mutant of ``module`` recorded in ``mutants/``."""
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def keep_earlier_results(module: str, earlier: dict[str, int | None]) -> None:
    """After a --survivors run, give the mutants not run again their earlier result."""
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists() or not earlier:
        return
    data = json.loads(meta.read_text(encoding="utf-8"))
    codes = data["exit_code_by_key"]
    for key, code in codes.items():
        if code is None and key in earlier:
            codes[key] = earlier[key]
    meta.write_text(json.dumps(data, indent=4), encoding="utf-8")


def counts(module: str) -> Counter[str]:
    """Status counts of the mutants of ``module`` recorded in ``mutants/``."""
    return Counter(STATUS.get(code, "suspicious") for code in exit_codes(module).values())


def score(c: Counter[str]) -> float | None:
    """Killed share of the mutants that were tested: killed / (killed + survived + timeout
    + suspicious), the "no tests" ones counted as survivors (no test reaches them)."""
    tested = sum(v for k, v in c.items() if k not in ("not checked", "skipped", "interrupted"))
    return None if tested == 0 else (c["killed"] + c["timeout"] + c["caught by type check"]) / tested


def row(module: str, c: Counter[str], seconds: float | None, day: str, survivors_only: bool = False) -> str:
    """One line of the summary table."""
    s = score(c)
    pct = "n/a" if s is None else f"{100 * s:.1f}%"
    secs = "" if seconds is None else f"{seconds:.0f}" + (" (survivors only)" if survivors_only else "")
    return (
        f"| {module} | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['timeout']} "
        f"| {c['no tests']} | {c['suspicious'] + c['segfault']} | {pct} | {secs} | {day} |"
    )


HEADER = (
    "| module | mutants | killed | survived | timeout | no tests | suspicious | score | seconds | run on |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def write_summary(results: dict[str, str]) -> None:
    """Replace the rows of ``results`` (module -> table line) in docs/mutation.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Mutation testing\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    old_block, _, tail = rest.partition(END)
    rows: dict[str, str] = {}
    for line in old_block.splitlines():
        if line.startswith("| salesx2lib/"):
            rows[line.split("|")[1].strip()] = line
    rows.update(results)
    lines = []
    for module in CORE + sorted(set(rows) - set(CORE)):
        lines.append(rows.get(module, f"| {module} | not run | | | | | | | | |"))
    DOC.write_text(f"{head}{START}\n{HEADER}\n" + "\n".join(lines) + f"\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: the whole core)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="only rewrite the table")
    parser.add_argument(
        "--survivors", action="store_true", help="test again only the last run's survivors"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run_one(args.one, args.max_children, args.survivors)
        return 0
    modules = args.modules or CORE
    for m in modules:
        if m not in CORE and not (ROOT / m).exists():
            parser.error(f"{m}: no such module")
    day = dt.date.today().isoformat()
    results: dict[str, str] = {}
    for m in modules:
        seconds = None
        earlier = exit_codes(m)
        if not args.report_only:
            if args.survivors:
                print(f"{m}: {len(survivors(m))} survivors to test again", flush=True)
            t0 = time.monotonic()
            code = subprocess.call(
                [sys.executable, __file__, "--one", m, "--max-children", str(args.max_children)]
                + (["--survivors"] if args.survivors else []),
                cwd=ROOT,
            )
            seconds = time.monotonic() - t0
            print(f"{m}: mutmut exited {code} after {seconds:.0f} s", flush=True)
            if args.survivors:
                keep_earlier_results(m, earlier)
        c = counts(m)
        if c:
            results[m] = row(m, c, seconds, day, args.survivors)
            print(results[m], flush=True)
    write_summary(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
