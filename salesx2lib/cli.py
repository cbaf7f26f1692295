"""The ``salesx2`` command line: the stable surface users and scripts rely on.

Commands::

    salesx2 sample   --out DIR [--reps N --weeks W --seed S] [--as canonical|salesforce|hubspot|spreadsheet]
    salesx2 validate DATA [--preset NAME | --mapping FILE] [--format text|json]
    salesx2 metrics  DATA [--preset NAME | --mapping FILE] --table NAME [--team T] [--start DATE] [--end DATE] [--freq F] [--as-of DATE] [--format csv|json]
    salesx2 report   DATA [--preset NAME | --mapping FILE] [--week DATE] [--team T ...] --out DIR [--jobs N] [--settings FILE] [--overwrite]
    salesx2 convert  DATA [--preset NAME | --mapping FILE] --out DIR [--overwrite]

Exit codes: 0 success; 2 bad input (one ``file:line:column: what is wrong`` line per
problem on stderr, no traceback, nothing written); 1 a report whose notebook failed
(the failed notebook is kept as the record).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from salesx2lib import __version__
from salesx2lib.dataset import MissingTableError
from salesx2lib.problems import DataError, format_problems

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _date(text: str) -> pd.Timestamp:
    """An argparse type: an ISO date such as 2026-03-02."""
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def _add_data(p: argparse.ArgumentParser) -> None:
    """DATA and how to read it: canonical files, a CRM preset, or a mapping file."""
    from salesx2lib.mapping import PRESETS

    p.add_argument("data", metavar="DATA", type=Path, help="folder of CSV/Parquet files: the canonical tables, or a CRM export with --preset/--mapping")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--preset", choices=PRESETS, help="read DATA as this CRM's export (docs/mapping.md)")
    how.add_argument("--mapping", type=Path, metavar="FILE", help="read DATA through this mapping file (TOML, docs/mapping.md)")


def _parser() -> argparse.ArgumentParser:
    from salesx2lib.metrics import METRIC_TABLES

    parser = argparse.ArgumentParser(
        prog="salesx2",
        description="Sales operations analysis from CRM data: competencies, forecast accuracy, segments.",
        epilog="Exit codes: 0 success, 1 a report notebook failed, 2 bad input or usage.",
    )
    parser.add_argument("--version", action="version", version=f"salesx2 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "sample",
        help="write the synthetic sample dataset",
        description="Write a synthetic sales floor (canonical CSV files, activities as Parquet). "
        "The same arguments always give byte-identical files.",
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write into (created if missing; other files in it are left alone)")
    p.add_argument("--reps", type=int, default=30, help="number of reps (default 30)")
    p.add_argument("--weeks", type=int, default=52, help="number of whole weeks, ending on a fixed Sunday (default 52)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--as",
        dest="shape",
        choices=("canonical", "salesforce", "hubspot", "spreadsheet"),
        default="canonical",
        help="write the canonical tables (default), or the same sales floor as a CRM would export it: "
        "a Salesforce Data Export, HubSpot exports, or two spreadsheet files with their mapping.toml "
        "(read them back with --preset or --mapping; docs/mapping.md)",
    )

    p = sub.add_parser(
        "validate",
        help="check a data folder against the data contract",
        description="Check every table of DATA and list every problem at once as file:line:column: "
        "what is wrong. On success print a summary: rows per table, date range, reps, teams, warnings, "
        "and what a preset or mapping did (rows each filter excluded, and why).",
    )
    _add_data(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="summary format (default text)")

    p = sub.add_parser(
        "metrics",
        help="print a result table as CSV or JSON",
        description="Compute one result table on DATA and print it (CSV by default).\n\ntables:\n"
        + "\n".join(f"  {name:<15} {text}" for name, (_, text) in METRIC_TABLES.items())
        + "\n\nA table that needs a table DATA lacks says which and exits 2. Formulas: docs/metrics.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data(p)
    p.add_argument("--table", required=True, choices=list(METRIC_TABLES), help="which table")
    p.add_argument("--team", help="only this team (its priors and benchmarks are then the team's own)")
    p.add_argument("--start", type=_date, help="first day of the range, inclusive (default: all data)")
    p.add_argument("--end", type=_date, help="end of the range, exclusive (default: all data)")
    p.add_argument("--freq", choices=("day", "week", "month"), default="week", help="period of activity and relevance (default week, Monday to Sunday)")
    p.add_argument(
        "--as-of",
        type=_date,
        dest="as_of",
        help="as-of date (default: for rolling, scrub, backtest, cadence, waterfall and waterfall_deals, Monday 00:00 "
        "after the latest complete week, said on stderr; for the other tables the as-of date validate prints for DATA)",
    )
    p.add_argument("--settings", type=Path, help="settings TOML file overriding the defaults")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")

    p = sub.add_parser(
        "report",
        help="write the weekly report for every team",
        description="Validate DATA, then run the weekly report notebook once per team with papermill. "
        "Writes OUT/<week>/<team>.ipynb, <team>.html (no code; charts drawn offline), "
        "<team>.json (headline KPIs) and OUT/<week>/index.html.",
    )
    _add_data(p)
    p.add_argument("--out", required=True, type=Path, help="reports folder; the run goes to OUT/<week>/")
    p.add_argument("--week", help="any date of the week to report (Monday to Sunday); default: the latest complete week")
    p.add_argument("--team", action="append", dest="teams", metavar="TEAM", help="a team to report; repeat for several (default: all)")
    p.add_argument("--jobs", type=int, default=1, help="teams run in parallel (default 1)")
    p.add_argument("--settings", type=Path, help="settings TOML file overriding the defaults")
    p.add_argument("--overwrite", action="store_true", help="replace OUT/<week>/ if it exists (default: refuse)")

    p = sub.add_parser(
        "convert",
        help="write DATA (a CRM export) as a folder of canonical tables",
        description="Validate DATA, read through --preset or --mapping, and write it once as a folder of "
        "canonical tables (small tables as CSV, the activity log as Parquet) that every command and notebook "
        "then loads without mapping again. The folder appears whole or not at all.",
    )
    _add_data(p)
    p.add_argument("--out", required=True, type=Path, help="folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    return parser


def _cmd_convert(args: argparse.Namespace) -> int:
    from salesx2lib.convert import write_canonical
    from salesx2lib.load import load_dataset

    ds = load_dataset(args.data, preset=args.preset, mapping=args.mapping)
    try:
        written = write_canonical(ds, args.out, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(f"salesx2 convert: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for problem in ds.warnings + ds.notes:
        print(problem, file=sys.stderr)
    for path in written:
        print(path)
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    from salesx2lib import sample

    try:
        if args.shape == "canonical":
            written = sample.write_sample(args.out, reps=args.reps, weeks=args.weeks, seed=args.seed)
        else:
            written = _write_crm_sample(args.shape, sample.generate(reps=args.reps, weeks=args.weeks, seed=args.seed), args.out)
    except ValueError as exc:  # an argument out of range, named in the message
        print(f"salesx2 sample: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in written:
        print(path)
    return EXIT_OK


def _write_crm_sample(shape: str, tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write the sample tables in one CRM's export layout (:mod:`salesx2lib.sample_crm`)."""
    if shape == "salesforce":
        from salesx2lib.sample_crm.salesforce import write_salesforce

        return write_salesforce(tables, out)
    if shape == "hubspot":
        from salesx2lib.sample_crm.hubspot import write_hubspot

        return write_hubspot(tables, out)
    from salesx2lib.sample_crm.spreadsheet import write_spreadsheet

    return write_spreadsheet(tables, out)


def _cmd_validate(args: argparse.Namespace) -> int:
    from salesx2lib.load import load_dataset
    from salesx2lib.summary import dataset_summary, format_summary

    ds = load_dataset(args.data, preset=args.preset, mapping=args.mapping)
    summary = dataset_summary(ds)
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace) -> int:
    from salesx2lib.load import load_dataset
    from salesx2lib.metrics import FORECAST_TABLES, default_as_of, metric_table
    from salesx2lib.settings import load_settings

    settings = load_settings(args.settings)
    ds = load_dataset(args.data, preset=args.preset, mapping=args.mapping)
    if args.team is not None and args.team not in ds.teams:
        print(f"salesx2 metrics: unknown team {args.team!r} (teams: {', '.join(ds.teams)})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.start is not None and args.end is not None and args.end <= args.start:
        print(f"salesx2 metrics: --end {args.end.date()} must be after --start {args.start.date()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.as_of is None and args.table in FORECAST_TABLES:
        when = default_as_of(ds, args.table)
        print(
            f"salesx2 metrics: as of {when:%Y-%m-%d %H:%M} ({when:%A}), the end of the latest complete week "
            f"(data as of {ds.as_of:%Y-%m-%d %H:%M}); pass --as-of to choose",
            file=sys.stderr,
        )
    table = metric_table(
        ds, args.table, team=args.team, start=args.start, end=args.end, freq=args.freq, as_of=args.as_of, settings=settings
    )
    if table.attrs.get("note"):  # e.g. deals kept out of the accounts table: said, never silent
        print(f"salesx2 metrics: {table.attrs['note']}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(table.to_json(orient="records", date_format="iso", indent=1) + "\n")
    else:
        table.to_csv(sys.stdout, index=False)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from salesx2lib import report

    try:
        result = report.run_report(
            args.data,
            args.out,
            preset=args.preset,
            mapping=args.mapping,
            week=args.week,
            teams=args.teams,
            settings=args.settings,
            jobs=args.jobs,
            overwrite=args.overwrite,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except (ValueError, FileExistsError) as exc:  # raised before anything is written
        print(f"salesx2 report: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(result.index)
    if not result.ok:
        print(
            f"salesx2 report: {len(result.failed)} team(s) failed: {', '.join(result.failed)}; "
            "their executed notebooks are kept next to the HTML",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


_COMMANDS = {
    "sample": _cmd_sample,
    "validate": _cmd_validate,
    "metrics": _cmd_metrics,
    "report": _cmd_report,
    "convert": _cmd_convert,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except DataError as exc:
        print(format_problems(exc.problems), file=sys.stderr)
        n = exc.error_count
        print(f"salesx2 {args.command}: {n:,} error{'s' if n != 1 else ''}; nothing was written", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MissingTableError as exc:
        print(f"salesx2 {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = None  # type: ignore[assignment]  # nothing left to flush at exit
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
