"""Loading a folder of canonical CSV or Parquet files into a validated :class:`Dataset`.

A data folder holds one file per table, named after it: ``reps.csv``,
``opportunities.parquet``, ``activities.parquet``... (either format for any table), or a
CRM's own export read through a preset or a mapping file (:mod:`salesx2lib.mapping`).
:func:`load_dataset` validates everything first (:mod:`salesx2lib.validate`) and raises
one :class:`~salesx2lib.problems.DataError` listing every problem; only a clean source
becomes a Dataset. The small tables are read into pandas; the activity log stays in
DuckDB behind a lazy Ibis table. The user's folder is only ever read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesx2lib.dataset import Dataset
from salesx2lib.mapping import Mapping, Part, part_sql, resolve_mapping, resolve_part
from salesx2lib.problems import DataError, Problem
from salesx2lib.schema import TABLES, Column
from salesx2lib.sql import literal as _lit
from salesx2lib.validate import (
    Source,
    Validation,
    csv_header,
    detect_encoding,
    file_view,
    line_finder,
    parsed_sql,
    scan_sql,
    validate_sources,
)

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


def _with_encoding(part: Part, path: Path, problems: list[Problem]) -> Part:
    """``part`` with its file's detected encoding; a note when the file is not UTF-8."""
    encoding, line, byte = detect_encoding(path)
    if encoding != "utf-8":
        where = f" (byte 0x{byte:02x} on line {line})" if byte is not None else ""
        note = Problem(path.name, None, None, f"is not UTF-8{where}: read as Latin-1 (ISO-8859-1)", severity="note")
        if note not in problems:  # a file read by several sections: once
            problems.append(note)
    return replace(part, encoding=encoding)


def _header(path: Path, part: Part) -> list[str] | None:
    """The column names of an export's file, or None when they cannot be read here
    (validation then says why)."""
    try:
        if path.suffix.lower() == ".parquet":
            return list(pq.read_schema(path).names)
        return csv_header(path, part.delimiter, part.encoding)
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException):
        return None


def find_sources(folder: Path, mapping: Mapping | None = None) -> tuple[list[Source], list[Problem]]:
    """The table files in ``folder``, and problems with the folder itself.

    Errors: the folder does not exist; a required table is missing; a table is there
    twice (``reps.csv`` and ``reps.parquet``); a file the mapping reads is missing
    (unless its section is ``optional``). Warnings: other CSV/Parquet files, which are
    ignored (with a mapping, one note lists them: an export holds many files).
    """
    where = str(folder)
    if not folder.is_dir():
        return [], [Problem(where, None, None, "no such folder (DATA is a folder of CSV or Parquet files)")]
    sources: list[Source] = []
    problems: list[Problem] = []
    mapped = mapping.parts if mapping is not None else {}
    for name, parts in mapped.items():
        for index, part in enumerate(parts):
            matches = sorted(p for p in folder.glob(part.file) if p.is_file())
            if len(matches) == 1:
                if part.encoding is None and matches[0].suffix.lower() == ".csv":
                    part = _with_encoding(part, matches[0], problems)
                header = _header(matches[0], part)
                if header is not None:
                    part, chosen = resolve_part(part, header, matches[0].name)
                    problems.extend(n for n in chosen if n not in problems)  # a file read by several sections: once
                sources.append(Source(name, matches[0], part, index))
            elif len(matches) > 1:
                shown = ", ".join(p.name for p in matches)
                problems.append(Problem(where, None, None, f"{part.file} matches {len(matches)} files ({shown}); {part.mapping} reads {name} from one: keep one"))
            elif not part.optional:
                found = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))
                has = ", ".join(found) if found else "no CSV or Parquet file"
                problems.append(Problem(where, None, None, f"missing file {part.file} ({part.mapping} reads {name} from it; the folder has: {has})"))
    derived = any(p.derive_missing for p in mapped.get("reps", ()))
    for name, table in TABLES.items():
        if name in mapped:
            absent = not any(s.table == name for s in sources) and not (name == "reps" and derived)
            # (a missing file that is not optional was reported above)
            if table.required and absent and all(p.optional for p in mapped[name]):
                files = " or ".join(p.file for p in mapped[name])
                problems.append(Problem(where, None, None, f"missing table {name} ({files} is required)"))
            continue
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
    used = {s.path.name for s in sources} | {lk.file for parts in mapped.values() for part in parts for lk in part.lookups}
    strays = [p.name for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES and p.name not in known | used]
    if mapping is not None:
        if strays:
            shown = ", ".join(strays[:8]) + (f" and {len(strays) - 8} more" if len(strays) > 8 else "")
            problems.append(Problem(where, None, None, f"{len(strays)} other files not read: {shown}", severity="note"))
        return sources, problems
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


def _typed_select(table: str, types: dict[str, str], sources: list[Source]) -> str:
    """SQL giving the table with canonical columns and types (absent optional columns as NULL).

    A canonical file is scanned directly, without the record numbers validation needed
    (a pass saved on a huge log); a mapped section is read from the copy of its file
    validation made in DuckDB; derived reps through the ``raw_reps`` view.
    """
    cols = []
    for col in TABLES[table].columns:
        if table == "opportunities" and col.name == "closed_at" and {"closed_at", "created_at"} <= set(types):
            # a deal closed before it was created (entered after the fact) closes at its
            # creation: a cycle of 0 (validation notes each one)
            closed, created = (parsed_sql(TABLES[table].column(c), types[c]) for c in ("closed_at", "created_at"))
            cols.append(f'CASE WHEN {closed} < {created} THEN {created} ELSE {closed} END AS "closed_at"')
        elif col.name in types:
            cols.append(f"{parsed_sql(col, types[col.name])} AS \"{col.name}\"")
        else:
            cols.append(f"CAST(NULL AS {_sql_type(col)}) AS \"{col.name}\"")
    if len(sources) == 1 and sources[0].part is None:
        return f"SELECT {', '.join(cols)} FROM ({scan_sql(sources[0])})"
    if table == "reps":  # may hold derived reps; small
        return f"SELECT {', '.join(cols)} FROM raw_reps"
    parts = " UNION ALL BY NAME ".join(part_sql(s.part, file_view(s), folder=s.path.parent) for s in sources if s.part is not None)
    return f"SELECT {', '.join(cols)} FROM ({parts})"


def _sql_type(col: Column) -> str:
    return {"number": "DOUBLE", "timestamp": "TIMESTAMP", "date": "TIMESTAMP"}.get(col.kind, "VARCHAR")


def _to_pandas(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> pd.DataFrame:
    df = con.execute(sql).df()
    return df.astype({c.name: _PANDAS_DTYPE[c.kind] for c in TABLES[table].columns})


def _soft_problems(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> list[Problem]:
    """Warnings that do not stop a run: listed reps with no opportunity, or no activity at all.

    Such reps are kept (a new hire, a rep on leave, a manager listed with the team): they
    appear with zero counts. One warning per rep says what it lacks.
    """
    reps = [s for s in sources if s.table == "reps"]
    present = {s.table for s in sources}
    checks = [(t, what) for t, what in (("opportunities", "opportunity"), ("activities", "activity")) if t in present]
    if not reps or not checks:
        return []
    lacks = ", ".join(
        f"rep_id NOT IN (SELECT DISTINCT rep_id FROM raw_{t} WHERE rep_id IS NOT NULL) AS no_{t}" for t, _ in checks
    )
    rows = con.execute(f"SELECT _row, rep_id, rep_name, {lacks} FROM {reps[0].view} ORDER BY _row").fetchall()
    files = {t: ", ".join(dict.fromkeys(s.file for s in sources if s.table == t)) for t, _ in checks}
    line_of = line_finder(reps[0])
    found = []
    for row, rep, name, *flags in rows:
        missing = [f"no {what} in {files[t]}" for (t, what), flag in zip(checks, flags, strict=True) if flag]
        if missing:
            who = f"rep '{rep}'" + (f" ({name})" if name and name != rep else "")
            found.append(
                Problem(reps[0].file, line_of(row), reps[0].column_label("rep_id"), f"{who} has {' and '.join(missing)}", severity="warning")
            )
    return found


#: A stage label that looks like a closed stage: a whole word won, lost or closed, or
#: HubSpot's internal ids closedwon and closedlost (lower case).
CLOSED_LOOKING_STAGE = r"^closed(won|lost)$|(^|[^a-z])(won|lost|closed)([^a-z']|$)"


def _nothing_closed(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> list[Problem]:
    """A warning when no deal reads as won or lost although some stage labels look closed:
    the status is most likely misread (a custom pipeline's closed stages read as open)."""
    deals = [s for s in sources if s.table == "opportunities"]
    if not deals:
        return []
    closed, labels = con.execute(
        "SELECT count(*) FILTER (WHERE status IN ('won', 'lost')), "
        f"list(DISTINCT stage ORDER BY stage) FILTER (WHERE regexp_matches(lower(trim(stage)), {_lit(CLOSED_LOOKING_STAGE)})) "
        "FROM raw_opportunities"
    ).fetchone()
    if closed or not labels:
        return []
    shown = ", ".join(f"'{label}'" for label in labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
    return [
        Problem(
            _files(sources, "opportunities"),
            None,
            deals[0].column_label("stage"),
            f"no deal reads as won or lost, yet some stages look closed ({shown}): check how status is read",
            severity="warning",
        )
    ]


def _files(sources: list[Source], table: str) -> str:
    """The file(s) a table was read from, for locating a message."""
    return ", ".join(dict.fromkeys(s.file for s in sources if s.table == table)) or table


@dataclass(frozen=True)
class DataDate:
    """The moment a dataset describes, and where it came from (see :func:`data_date`)."""

    moment: pd.Timestamp
    source: str
    notes: tuple[Problem, ...] = ()


def data_date(
    created: pd.Series,
    closed: pd.Series,
    *,
    changes: list[pd.Timestamp],
    activity: pd.Timestamp | None = None,
    deals_file: str = "opportunities",
) -> DataDate:
    """The as-of default: the latest event not after the day the export was taken.

    A CRM stamps some times itself, as things happen, so none of them is in the future: a
    deal's creation, its last modification and its history changes (the ``changes``: a
    close is one of them), an activity. A close date is typed by people and can be in the
    future: real exports hold won deals "closing" months after the export. So when the
    data has a modification or history time, the export was taken on the day of
    ``taken = max(created, changes, activity)``, and with ``cutoff = day(taken) + 1 day``

        as_of = max(taken, max{closed_at : closed_at < cutoff})

    Closes on or after ``cutoff`` do not move the as-of; one note counts them. Without a
    modification or history time, nothing records when deals were closed (the last thing
    before the export may be a close), so the as-of is the latest event:
    ``max(created, closed, activity)``.

    Parameters
    ----------
    created, closed
        The opportunities' ``created_at`` and ``closed_at`` (naive UTC, NaT allowed).
    changes
        The latest ``modified_at`` and history ``changed_at`` (NaT when there is none).
    activity
        The latest activity (None or NaT without one).
    deals_file
        The opportunities' file(s), to locate the note.

    Returns
    -------
    DataDate
        The moment, a phrase saying where it came from, and the note on later closes.

    Raises
    ------
    DataError
        When there is no date at all (no opportunity).
    """
    stamped = [pd.Timestamp(t) for t in changes if not pd.isna(t)]
    known = [pd.Timestamp(t) for t in (created.max(), activity) if t is not None and not pd.isna(t)]
    if not stamped:
        events = known + ([] if pd.isna(closed.max()) else [pd.Timestamp(closed.max())])
        if not events:
            raise DataError([Problem(deals_file, None, None, "has no rows: there is no date to report on")])
        return DataDate(max(events).as_unit("us"), "the latest event in the data")
    taken = max(stamped + known).as_unit("us")
    cutoff = taken.normalize() + pd.Timedelta(days=1)
    before = closed[closed < cutoff]
    moment = max(taken, before.max()) if len(before) else taken
    later = closed[closed >= cutoff]
    if later.empty:
        return DataDate(moment.as_unit("us"), "the latest event in the data")
    n = len(later)
    note = Problem(
        deals_file,
        None,
        "closed_at",
        f"{n:,} {'deals close' if n != 1 else 'deal closes'} after {taken:%Y-%m-%d}, the day of the data's latest "
        f"creation, change or activity (the latest on {later.max():%Y-%m-%d}): the as-of date is not moved to "
        "those dates, and until then they count as not yet closed",
        severity="note",
    )
    source = f"the latest event not after {taken:%Y-%m-%d}, the day of the latest creation, change or activity"
    return DataDate(moment.as_unit("us"), source, (note,))


def load_dataset(
    path: str | Path,
    *,
    preset: str | None = None,
    mapping: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> Dataset:
    """Validate a folder of canonical tables, or a CRM export through a mapping, and load it.

    Parameters
    ----------
    path
        A folder with ``reps`` and ``opportunities`` (CSV or Parquet) and any of the
        optional tables; or a CRM's export when ``preset`` or ``mapping`` is given.
    preset
        Read the folder as this CRM's export: ``"salesforce"`` or ``"hubspot"``
        (see ``docs/mapping.md``).
    mapping
        Read the folder through this mapping file (TOML, see ``docs/mapping.md``).
        At most one of ``preset`` and ``mapping``.
    as_of
        The moment the data describes. Default: the latest event in the data (activity,
        opportunity creation or close, history change) not after the day the export was
        taken; see :func:`data_date`.

    Returns
    -------
    Dataset
        Small tables in pandas with canonical dtypes, the activity log as a lazy Ibis
        table over DuckDB (time zone pinned to UTC), the warnings found and the
        mapping's notes (rows each filter excluded, and why).

    Raises
    ------
    DataError
        With every problem found (errors and warnings), if there is any error, located
        in the user's own files and columns (and in the mapping file).

    Examples
    --------
    >>> ds = load_dataset("data/sample")  # doctest: +SKIP
    >>> ds.teams  # doctest: +SKIP
    ['Atlas', 'Beacon', 'Compass', 'Summit']
    >>> ds = load_dataset("exports/sfdc", preset="salesforce")  # doctest: +SKIP
    """
    folder = Path(path)
    spec = resolve_mapping(preset, mapping)
    sources, problems = find_sources(folder, spec)
    derive = spec is not None and any(p.derive_missing for p in spec.parts.get("reps", ()))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # it would print into terminals and notebooks
    validation: Validation = validate_sources(con, sources, derive_reps=derive)
    problems.extend(validation.problems)
    if any(p.severity == "error" for p in problems):
        con.close()
        raise DataError(problems)

    by_table: dict[str, list[Source]] = {}
    for s in sources:
        by_table.setdefault(s.table, []).append(s)
    tables: dict[str, pd.DataFrame] = {}
    for name in validation.types:
        sql = _typed_select(name, validation.types[name], by_table.get(name, []))
        if name == "activities":
            con.execute(f"CREATE OR REPLACE TEMP VIEW activities AS {sql}")
        else:
            tables[name] = _to_pandas(con, name, sql)
    activities = ibis.duckdb.from_connection(con).table("activities") if "activities" in validation.types else None
    problems.extend(_soft_problems(con, sources))
    problems.extend(_nothing_closed(con, sources))
    if as_of is None:
        deals = tables["opportunities"]
        changes = [deals["modified_at"].max()]
        if "opportunity_history" in tables:
            changes.append(tables["opportunity_history"]["changed_at"].max())
        latest = con.execute("SELECT max(occurred_at) FROM activities").fetchone()[0] if activities is not None else None
        found = data_date(
            deals["created_at"], deals["closed_at"], changes=changes, activity=latest, deals_file=_files(sources, "opportunities")
        )
        problems.extend(found.notes)
    else:
        try:
            found = DataDate(pd.Timestamp(as_of).as_unit("us"), "given")
        except ValueError:
            raise DataError([Problem("--as-of", None, None, f"{as_of!r} is not a date")]) from None
    origin = str(folder) if spec is None else f"{folder} (read with {spec.label})"
    return Dataset(
        tables=tables,
        activities=activities,
        as_of=found.moment,
        as_of_source=found.source,
        source=origin,
        warnings=tuple(sorted((p for p in problems if p.severity == "warning"), key=Problem.sort_key)),
        notes=tuple(p for p in problems + list(validation.notes) if p.severity == "note"),
    )
