"""Loading a folder of canonical CSV or Parquet files into a validated :class:`Dataset`.

A data folder holds one file per table, named after it: ``reps.csv``,
``opportunities.parquet``, ``activities.parquet``... (either format for any table).
:func:`load_dataset` validates everything first (:mod:`salesx2lib.validate`) and raises
one :class:`~salesx2lib.problems.DataError` listing every problem; only a clean source
becomes a Dataset. The small tables are read into pandas; the activity log stays in
DuckDB behind a lazy Ibis table. The user's folder is only ever read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.problems import DataError, Problem
from salesx2lib.schema import TABLES, Column
from salesx2lib.validate import Source, Validation, csv_record_lines, parsed_sql, scan_sql, validate_sources

__all__ = ["SUFFIXES", "find_sources", "load_dataset"]

#: File formats a table can come in.
SUFFIXES: tuple[str, ...] = (".csv", ".parquet")

_PANDAS_DTYPE = {
    "id": "str",
    "text": "str",
    "category": "str",
    "number": "float64",
    "timestamp": "datetime64[us]",
    "date": "datetime64[us]",
}


def find_sources(folder: Path) -> tuple[list[Source], list[Problem]]:
    """The table files in ``folder``, and problems with the folder itself.

    Errors: the folder does not exist; a required table is missing; a table is there
    twice (``reps.csv`` and ``reps.parquet``). Warnings: other CSV/Parquet files, which
    are ignored.
    """
    where = str(folder)
    if not folder.is_dir():
        return [], [Problem(where, None, None, "no such folder (DATA is a folder of CSV or Parquet files)")]
    sources: list[Source] = []
    problems: list[Problem] = []
    for name, table in TABLES.items():
        files = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
        if len(files) > 1:
            problems.append(
                Problem(where, None, None, f"both {files[0].name} and {files[1].name} exist; keep one")
            )
        elif files:
            sources.append(Source(name, files[0]))
        elif table.required:
            problems.append(
                Problem(where, None, None, f"missing table {name} ({name}.csv or {name}.parquet is required)")
            )
    known = {f"{name}{suffix}" for name in TABLES for suffix in SUFFIXES}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in SUFFIXES and path.name not in known:
            problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    f"not a table of the data contract, ignored (tables: {', '.join(TABLES)})",
                    severity="warning",
                )
            )
    return sources, problems


def _typed_select(table: str, types: dict[str, str], source: Source) -> str:
    """SQL giving the table with canonical columns and types (absent optional columns as NULL)."""
    cols = []
    for col in TABLES[table].columns:
        if col.name in types:
            cols.append(f"{parsed_sql(col, types[col.name])} AS \"{col.name}\"")
        else:
            cols.append(f"CAST(NULL AS {_sql_type(col)}) AS \"{col.name}\"")
    return f"SELECT {', '.join(cols)} FROM ({scan_sql(source)})"


def _sql_type(col: Column) -> str:
    return {"number": "DOUBLE", "timestamp": "TIMESTAMP", "date": "TIMESTAMP"}.get(col.kind, "VARCHAR")


def _to_pandas(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> pd.DataFrame:
    df = con.execute(sql).df()
    return df.astype({c.name: _PANDAS_DTYPE[c.kind] for c in TABLES[table].columns})


def _soft_problems(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> list[Problem]:
    """Warnings that do not stop a run: reps with no activity at all."""
    if "activities" not in sources:
        return []
    rows = con.execute(
        "SELECT _row, rep_id FROM raw_reps WHERE rep_id NOT IN "
        "(SELECT DISTINCT rep_id FROM activities WHERE rep_id IS NOT NULL) ORDER BY _row"
    ).fetchall()
    reps = sources["reps"]
    if reps.is_csv:
        lines, _ = csv_record_lines(reps.path)
        line_of = {row: lines[row - 1] for row, _ in rows}
    else:
        line_of = {row: row for row, _ in rows}
    return [
        Problem(
            reps.file,
            line_of[row],
            "rep_id",
            f"rep '{rep}' has no activity in {sources['activities'].file}",
            severity="warning",
        )
        for row, rep in rows
    ]


def _latest_event(con: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame], has_activities: bool) -> pd.Timestamp:
    """The latest activity, opportunity creation or close, or history change."""
    candidates = [tables["opportunities"]["created_at"].max(), tables["opportunities"]["closed_at"].max()]
    if "opportunity_history" in tables:
        candidates.append(tables["opportunity_history"]["changed_at"].max())
    if has_activities:
        candidates.append(pd.Timestamp(con.execute("SELECT max(occurred_at) FROM activities").fetchone()[0]))
    found = [pd.Timestamp(c) for c in candidates if not pd.isna(c)]
    if not found:
        raise DataError([Problem("opportunities", None, None, "has no rows: there is no date to report on")])
    return max(found).as_unit("us")


def load_dataset(path: str | Path, *, as_of: str | pd.Timestamp | None = None) -> Dataset:
    """Validate a folder of canonical tables and load it.

    Parameters
    ----------
    path
        A folder with ``reps`` and ``opportunities`` (CSV or Parquet) and any of the
        optional tables.
    as_of
        The moment the data describes. Default: the latest event in the data (activity,
        opportunity creation or close, history change).

    Returns
    -------
    Dataset
        Small tables in pandas with canonical dtypes, the activity log as a lazy Ibis
        table over DuckDB (time zone pinned to UTC), and the warnings found.

    Raises
    ------
    DataError
        With every problem found (errors and warnings), if there is any error.

    Examples
    --------
    >>> ds = load_dataset("data/sample")  # doctest: +SKIP
    >>> ds.teams  # doctest: +SKIP
    ['Atlas', 'Beacon', 'Compass', 'Summit']
    """
    folder = Path(path)
    sources, problems = find_sources(folder)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # it would print into terminals and notebooks
    validation: Validation = validate_sources(con, sources)
    problems.extend(validation.problems)
    if any(p.severity == "error" for p in problems):
        con.close()
        raise DataError(problems)

    by_table = {s.table: s for s in sources}
    tables: dict[str, pd.DataFrame] = {}
    for name, source in by_table.items():
        sql = _typed_select(name, validation.types[name], source)
        if name == "activities":
            con.execute(f"CREATE OR REPLACE TEMP VIEW activities AS {sql}")
        else:
            tables[name] = _to_pandas(con, name, sql)
    activities = ibis.duckdb.from_connection(con).table("activities") if "activities" in by_table else None
    problems.extend(_soft_problems(con, by_table))
    if as_of is None:
        moment = _latest_event(con, tables, activities is not None)
    else:
        try:
            moment = pd.Timestamp(as_of).as_unit("us")
        except ValueError:
            raise DataError([Problem("--as-of", None, None, f"{as_of!r} is not a date")]) from None
    return Dataset(
        tables=tables,
        activities=activities,
        as_of=moment,
        source=str(folder),
        warnings=tuple(p for p in problems if p.severity == "warning"),
    )
