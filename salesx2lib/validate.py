"""Validation of source files against the data contract, with located problems.

Every table, small or huge, is checked the same way: the file is opened in DuckDB with
every column read as text, and each rule of :mod:`salesx2lib.schema` becomes one SQL
condition. One scan per table counts the rows that break each rule; only for the
broken rules are the first offending rows fetched, with their raw values, so a huge
activity log is validated without ever reaching pandas.

Each problem is located as a text editor counts lines (header = line 1, a quoted field
spanning lines counts every line). Parquet files have no lines: the row number (first
row = 1) is used instead. Nothing is dropped, coerced or guessed: a value that does not
parse is an error, never a silent empty cell.

The parsing expressions here are also the ones the loader uses to build the typed
tables, so a value that passes validation is read exactly as it was checked.
"""

from __future__ import annotations

import codecs
import csv
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from salesx2lib.mapping import (
    EXCLUDED_OPPORTUNITIES,
    REP_KEYS,
    UNASSIGNED_TEAM,
    ColumnSpec,
    Part,
    condition_sql,
    excluded_ids_sql,
    file_table,
    flagged_sql,
    lookup_key,
    lookup_sql,
    loose_key_sql,
    source_sql,
    part_sql,
)
from salesx2lib.problems import Problem
from salesx2lib.schema import TABLES, Column, Table
from salesx2lib.sql import cell as _text
from salesx2lib.sql import ident as _q
from salesx2lib.sql import literal as _lit

__all__ = [
    "MAX_PROBLEMS_PER_RULE",
    "Source",
    "Validation",
    "csv_record_lines",
    "file_view",
    "line_finder",
    "parsed_sql",
    "raw_view",
    "scan_sql",
    "validate_sources",
]

#: At most this many located lines are printed per file, column and rule; the rest are
#: counted in one summary line, so a systematically broken column stays readable.
MAX_PROBLEMS_PER_RULE = 50

#: A column repeated in a CSV header: an error in a canonical file (which copy is meant?);
#: in an export read through a mapping, the first copy is read, with a note.
REPEATED_HEADER = "column appears twice in the header"


@dataclass(frozen=True)
class Source:
    """One file that holds a canonical table, or one mapped section of an export.

    Attributes
    ----------
    table
        The canonical table it feeds.
    path
        The file.
    part
        For an export read through a mapping: the mapping's section for this file
        (``None``: the file is in the canonical shape).
    index
        Which section of the table it is (a table may be fed by several).
    """

    table: str
    path: Path
    part: Part | None = None
    index: int = 0

    @property
    def file(self) -> str:
        """The file name as the user knows it, used in every message."""
        return self.path.name

    @property
    def is_csv(self) -> bool:
        """Whether the file is CSV (else Parquet)."""
        return self.path.suffix.lower() == ".csv"

    @property
    def delimiter(self) -> str:
        """The CSV field separator."""
        return self.part.delimiter if self.part is not None else ","

    @property
    def encoding(self) -> str:
        """The CSV file's text encoding: ``utf-8``, or ``latin-1`` where a mapping says so
        or the file is not UTF-8 (:func:`detect_encoding`)."""
        return (self.part.encoding if self.part is not None else None) or "utf-8"

    @property
    def view(self) -> str:
        """The DuckDB view of this source: ``_row`` plus the canonical columns it has."""
        return f"src_{self.table}_{self.index}"

    def column_label(self, column: str) -> str:
        """The file's own name for a canonical column, as messages show it."""
        return self.part.origin(column) if self.part is not None else column

    def expected_format(self, column: Column) -> str:
        """How a date or time must be written in this file, for messages."""
        spec = self.part.columns.get(column.name) if self.part is not None else None
        if spec is not None and spec.format is not None:
            return f"expected format {spec.format}, as {self.part.mapping} says"  # type: ignore[union-attr]
        example = "2026-03-02 14:05:00" if column.kind == "timestamp" else "2026-03-02"
        return f"expected ISO 8601 such as {example}"


def scan_sql(source: Source) -> str:
    """SQL that scans the file: CSV with every column as text, Parquet with its own types."""
    path = _lit(str(source.path))
    if source.is_csv:
        delim = _lit(source.delimiter)
        encoding = "" if source.encoding == "utf-8" else f", encoding={_lit(source.encoding)}"
        empty = source.part.null_values if source.part is not None else ()
        nullstr = f", nullstr=[{', '.join(_lit(v) for v in ('', *empty))}]" if empty else ""
        return (
            f"SELECT * FROM read_csv({path}, all_varchar=true, header=true, delim={delim}, quote='\"', escape='\"'{encoding}{nullstr})"
        )
    return f"SELECT * FROM read_parquet({path})"


def raw_view(source: Source) -> str:
    """SQL for the file plus ``_row``, the 1-based record (CSV) or row (Parquet) number."""
    path = _lit(str(source.path))
    if source.is_csv:
        return f"SELECT row_number() OVER () AS _row, * FROM ({scan_sql(source)})"
    return (
        f"SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({path}, file_row_number=true)"
    )


def parsed_sql(column: Column, native: str = "VARCHAR") -> str:
    """SQL expression reading ``column`` from a scan of the file as its canonical type.

    Ids and text keep their exact value (a blank cell is NULL); numbers are DOUBLE;
    timestamps are ISO 8601, converted to UTC when they carry an offset (naive ones are
    taken as UTC); dates are timestamps at midnight. A Parquet column that already has
    the right type is used as it is. A value that does not parse is NULL here:
    validation reports it before anything reads this expression.

    Parameters
    ----------
    column
        The contract's column.
    native
        The column's type in the file as DuckDB reports it (always VARCHAR for CSV).
    """
    name = _q(column.name)
    raw = _text(column.name)
    if column.kind == "number":
        if native in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT") or native.startswith("DECIMAL"):
            return f"CAST({name} AS DOUBLE)"
        return f"TRY_CAST({raw} AS DOUBLE)"
    if column.kind in ("timestamp", "date"):
        if native.startswith("TIMESTAMP") or native == "DATE":
            return f"CAST({name} AS TIMESTAMP)"
        return f"CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if not column.nullable and native == "VARCHAR":
        return name  # validation guarantees a value: no per-row trimming on the hot path
    return f"CASE WHEN {raw} IS NULL THEN NULL ELSE CAST({name} AS VARCHAR) END"


@dataclass(frozen=True)
class _Rule:
    """One check: rows where ``condition`` holds break it; ``message`` explains each."""

    column: str | None
    condition: str
    message: str  # SQL expression giving the text for one row
    ref: str | None = None  # SQL giving another record's number, shown as "(first at line N)"
    severity: str = "error"  # or "warning", "note": the row is read all the same
    # A cheaper query counting the offending rows, for conditions that need a window over
    # the whole file (a hash aggregate instead of a sort of every row); ``{view}`` is the view.
    count_query: str | None = None


def _show(col: str) -> str:
    """SQL showing a raw cell in a message, quoted, line breaks written as ``\\n``."""
    # chr(1) marks a mapped date that did not match its format (mapping._value_sql): not shown
    cell = f"replace(replace(replace(CAST({_q(col)} AS VARCHAR), chr(1), ''), chr(13), '\\r'), chr(10), '\\n')"
    return f"'''' || {cell} || ''''"


def _required_message(column: str, source: Source) -> str:
    """SQL for the message of a required ``column`` found empty.

    A looked-up value is empty when its key is not in the lookup file: the message then
    names the key and the file, not only the empty result.
    """
    message = _lit(f"is empty ({column} is required)")
    part = source.part
    spec = part.columns.get(column) if part is not None else None
    if part is None or spec is None or spec.lookup is None:
        return message
    flagged = flagged_sql(part, file_view(source))
    key = f"(SELECT f.{lookup_key(column)} FROM ({flagged}) f WHERE f._row = {source.view}._row)"
    missed = _lit(f" is not found in {spec.lookup.file} ({spec.lookup.key}), and {column} is required")
    return f"coalesce('''' || {key} || '''' || {missed}, {message})"


def _column_rules(table: Table, types: dict[str, str], source: Source) -> list[_Rule]:
    rules: list[_Rule] = []
    for col in table.columns:
        if col.name not in types:
            continue
        # Text cells are blank when empty or only spaces; a typed (Parquet) cell when NULL.
        raw = _text(col.name) if types[col.name] == "VARCHAR" else _q(col.name)
        value = parsed_sql(col, types[col.name])
        if not col.nullable:
            rules.append(_Rule(col.name, f"{raw} IS NULL", _required_message(col.name, source)))
        if col.kind == "number":
            rules.append(
                _Rule(
                    col.name,
                    f"{raw} IS NOT NULL AND ({value} IS NULL OR NOT isfinite({value}))",
                    f"{_show(col.name)} || ' is not a number'",
                )
            )
            if col.minimum is not None:
                what = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
                rules.append(
                    _Rule(
                        col.name,
                        f"{value} < {col.minimum}",
                        f"TRIM(CAST({_q(col.name)} AS VARCHAR)) || ' is {what} ({col.name} must be >= {col.minimum:g})'",
                    )
                )
        elif col.kind in ("timestamp", "date"):
            noun = "a date and time" if col.kind == "timestamp" else "a date"
            expected = source.expected_format(col).replace("'", "''")
            rules.append(
                _Rule(
                    col.name,
                    f"{raw} IS NOT NULL AND {value} IS NULL",
                    f"{_show(col.name)} || ' is not {noun} ({expected})'",
                )
            )
            if col.kind == "date":
                rules.append(
                    _Rule(
                        col.name,
                        f"{value} IS NOT NULL AND {value} <> date_trunc('day', {value})",
                        f"{_show(col.name)} || ' has a time of day; {col.name} is a date'",
                    )
                )
        elif col.kind == "category":
            allowed = ", ".join(_lit(v) for v in col.values)
            rules.append(
                _Rule(
                    col.name,
                    f"{raw} IS NOT NULL AND CAST({_q(col.name)} AS VARCHAR) NOT IN ({allowed})",
                    f"{_show(col.name)} || ' is not one of: {', '.join(col.values)}'",
                )
            )
    return rules


def _row_rules(table: Table, types: dict[str, str]) -> list[_Rule]:
    """Rules that relate several columns of one row."""
    rules: list[_Rule] = []
    present = set(types)

    def p(name: str) -> str:
        return parsed_sql(table.column(name), types[name])

    if table.name == "opportunities" and {"status", "closed_at"} <= present:
        status = _text("status")
        rules.append(
            _Rule(
                "closed_at",
                f"{status} IN ('won', 'lost') AND {_text('closed_at')} IS NULL",
                "'is empty but status is ' || status || ' (a won or lost deal has a close time)'",
            )
        )
        rules.append(
            _Rule(
                "closed_at",
                f"{status} = 'open' AND {_text('closed_at')} IS NOT NULL",
                f"{_show('closed_at')} || ' is set but status is open (an open deal has no close time)'",
            )
        )
        if "created_at" in present:
            # entered after the fact (a CRM lets people type a past close date): the loader
            # takes the creation time as the close (load._typed_select)
            rules.append(
                _Rule(
                    "closed_at",
                    f"{p('closed_at')} < {p('created_at')}",
                    f"{_show('closed_at')} || ' is before created_at ' || {_show('created_at')} || "
                    "': closed at its creation (a cycle of 0)'",
                    severity="note",
                )
            )
        if "amount" in present:
            rules.append(
                _Rule(
                    "amount",
                    f"{status} = 'won' AND {_text('amount')} IS NULL",
                    "'is empty on a won deal: it counts as won, and adds nothing to won revenue'",
                    severity="warning",
                )
            )
    if {"period_start", "period_end"} <= present:
        rules.append(
            _Rule(
                "period_end",
                f"{p('period_end')} < {p('period_start')}",
                f"{_show('period_end')} || ' is before period_start ' || {_show('period_start')}",
            )
        )
    return rules


def _key_rules(table: Table, present: set[str]) -> list[_Rule]:
    """Duplicate keys: every occurrence after the first is an error naming the first."""
    if not table.key or not set(table.key) <= present:
        return []
    key = ", ".join(_q(k) for k in table.key)
    shown = " || ', ' || ".join(_show(k) for k in table.key)
    return [
        _Rule(
            table.key[-1] if len(table.key) == 1 else None,
            f"row_number() OVER (PARTITION BY {key} ORDER BY _row) > 1",
            f"'duplicate {' + '.join(table.key)} ' || {shown}",
            ref=f"first_value(_row) OVER (PARTITION BY {key} ORDER BY _row)",
            count_query=f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {{view}} GROUP BY {key} HAVING n > 1)",
        )
    ]


def _foreign_rules(table: Table, present: dict[str, dict[str, str]], sources: dict[str, str]) -> list[_Rule]:
    """Values that must exist in another table; ``sources`` names each table's file(s)."""
    rules: list[_Rule] = []
    for fk in table.foreign_keys:
        if fk.column not in present[table.name] or fk.target not in present.get(fk.table, ()):
            continue
        target = f"raw_{fk.table}"
        rules.append(
            _Rule(
                fk.column,
                f"{_text(fk.column)} IS NOT NULL AND CAST({_q(fk.column)} AS VARCHAR) NOT IN "
                f"(SELECT CAST({_q(fk.target)} AS VARCHAR) FROM {target} WHERE {_q(fk.target)} IS NOT NULL)",
                f"'unknown {fk.column} ' || {_show(fk.column)} || ' (not in {sources[fk.table]})'",
            )
        )
    return rules


def csv_record_lines(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> tuple[list[int], list[Problem]]:
    """Editor line of each CSV record (index 0 = first record after the header).

    Streams the file with the csv module (never into pandas), so it works on any size.
    Also returns structural problems: undecodable bytes, a record with the wrong number
    of fields, a quote that is never closed. Blank lines are skipped, as the readers do.

    The last few files read are remembered (keyed by path, size and modification time):
    one file read by several sections of a mapping, and then located, is read once.
    """
    stat = path.stat()
    lines, problems = _record_lines(path, delimiter, encoding, stat.st_size, stat.st_mtime_ns)
    return list(lines), list(problems)


def detect_encoding(path: Path) -> tuple[str, int | None, int | None]:
    """``("utf-8", None, None)`` if the whole file is UTF-8 (a byte-order mark or not), else
    ``("latin-1", line, byte)``: the editor line and value of the first byte that is not.

    Streams the file in chunks (an export may be large); Latin-1 (ISO-8859-1) reads any
    byte, and is what CRMs that do not write UTF-8 (Salesforce's Data Export) write.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return "latin-1", line + chunk.count(b"\n", 0, max(exc.start, 0)), chunk[max(exc.start, 0)]
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1", line, None
    return "utf-8", None, None


def csv_header(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[str]:
    """The column names of a CSV file's header line, as written (empty for an empty file)."""
    with path.open(newline="", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def _source_lines(source: Source) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
    """:func:`csv_record_lines` of a source's file, without copying the cached result."""
    stat = source.path.stat()
    return _record_lines(source.path, source.delimiter, source.encoding, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _record_lines(
    path: Path, delimiter: str, encoding: str, _size: int, _mtime: int
) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
    """:func:`csv_record_lines`, cached; the size and time make a changed file a new key."""
    lines: list[int] = []
    problems: list[Problem] = []
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as handle:
            reader = csv.reader(handle, strict=True, delimiter=delimiter)
            try:
                header = next(reader)
            except StopIteration:
                return (), (Problem(name, None, None, "is empty (a header line is required)"),)
            repeated = sorted({c for c in header if header.count(c) > 1})
            problems.extend(Problem(name, 1, c, REPEATED_HEADER) for c in repeated)
            start = reader.line_num + 1
            try:
                for record in reader:
                    if record:
                        if len(record) != len(header):
                            problems.append(
                                Problem(
                                    name,
                                    start,
                                    None,
                                    f"has {len(record)} fields but the header has {len(header)}",
                                )
                            )
                        lines.append(start)
                    start = reader.line_num + 1
            except csv.Error as exc:
                problems.append(Problem(name, start, None, f"cannot be read as CSV: {exc}"))
    except UnicodeDecodeError as exc:
        line = _line_of_offset(path, exc.start)
        problems.append(Problem(name, line, None, f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8, or read an export with encoding = \"latin-1\" in its mapping"))
    return tuple(lines), tuple(problems)


def _line_of_offset(path: Path, offset: int) -> int:
    """1-based line of a byte offset, read in chunks."""
    line = 1
    seen = 0
    with path.open("rb") as handle:
        while seen < offset:
            chunk = handle.read(min(1 << 20, offset - seen))
            if not chunk:
                break
            line += chunk.count(b"\n")
            seen += len(chunk)
    return line


def _column_types(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    """Column name -> DuckDB type of a view, in file order, without ``_row``."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {view}").fetchall() if row[0] != "_row"}


def _header_problems(source: Source, table: Table, found: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for col in table.columns:
        if col.required and col.name not in found:
            problems.append(
                Problem(
                    source.file,
                    1 if source.is_csv else None,
                    col.name,
                    f"missing column (required; the file has: {', '.join(found) or 'no columns'})",
                )
            )
    for name in found:
        if name not in table.names:
            problems.append(
                Problem(
                    source.file,
                    1 if source.is_csv else None,
                    name,
                    f"unknown column, ignored (known: {', '.join(table.names)})",
                    severity="warning",
                )
            )
    return problems


@dataclass(frozen=True)
class Validation:
    """What :func:`validate_sources` found.

    Attributes
    ----------
    problems
        Every error and warning, located.
    types
        For each table that could be read: its columns and their types in the file
        (every column is text for a mapped export).
    notes
        What a mapping did that the user should know: rows each filter excluded, rows
        each note counted (severity ``note``).
    """

    problems: tuple[Problem, ...]
    types: dict[str, dict[str, str]]
    notes: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)


def _union(views: list[str]) -> str:
    return " UNION ALL BY NAME ".join(f"SELECT * FROM {v}" for v in views)


def _open_source(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    """Create the source's view (``src_<table>_<i>``); return why it cannot be read, if so.

    A canonical file is scanned where it is. An export's file is read once into DuckDB
    (never pandas): its sections, checks and notes all query it, several times each.
    """
    part = source.part
    if part is None:
        if source.is_csv:
            # A cheap streaming pass that locates malformed records exactly; DuckDB's own
            # messages for these are not located well enough for a user.
            _, structure = _source_lines(source)
            if structure:
                return list(structure)
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {source.view} AS {raw_view(source)}")
        except duckdb.Error as exc:
            return [Problem(source.file, None, None, f"cannot be read: {_first_line(exc)}")]
        return []
    found = _open_file(con, source)
    if isinstance(found, list):
        return found
    scanned = file_view(source)
    line = 1 if source.is_csv else None
    missing = [(c, f"for {source.table}") for c in part.file_columns if c not in found]
    named = {c for c, _ in missing}
    for c, where in part.sql_file_columns:
        if c not in found and c not in named:
            missing.append((c, f"in {where}"))
            named.add(c)
    if missing:
        shown = ", ".join(found) or "no columns"
        return [
            Problem(source.file, line, c, f"missing column ({part.mapping} reads it {where}; the file has: {shown})")
            for c, where in missing
        ]
    problems = _open_lookups(con, source)
    if problems:
        return problems
    for name, spec in part.columns.items():
        # Each expression alone, so a broken one is named; SQL and time zones can also fail
        # on some value (a cast, an unknown zone), so those run over every row.
        every_row = spec.sql is not None or spec.timezone is not None
        query = f"SELECT count({_q(name)}) FROM ({part_sql(_only(part, name), scanned, folder=source.path.parent, cascade=False)})"
        try:
            con.execute(query if every_row else query + " LIMIT 0")
        except duckdb.Error as exc:
            problems.append(Problem(part.mapping, spec.line, f"{source.table}.columns.{name}", f"does not run on {source.file}: {_first_line(exc)}"))
    for f in part.exclude + part.note:
        try:
            con.execute(f"SELECT count_if(_c) FROM (SELECT {condition_sql(f.when)} AS _c FROM {scanned})")
        except duckdb.Error as exc:
            problems.append(Problem(part.mapping, f.line, None, f"condition of {f.text!r} does not run on {source.file}: {_first_line(exc)}"))
    if problems:
        return problems
    con.execute(f"CREATE OR REPLACE TEMP VIEW {source.view} AS {part_sql(part, scanned, folder=source.path.parent)}")
    return []


def _open_lookups(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    """Read each lookup file of a mapped source into DuckDB; problems if one is missing or
    lacks the key or value column."""
    part = source.part
    assert part is not None
    problems: list[Problem] = []
    for lookup in part.lookups:
        path = source.path.parent / lookup.file
        if not path.is_file():
            problems.append(
                Problem(str(source.path.parent), None, None, f"missing file {lookup.file} ({part.mapping} looks values up in it for {source.table})")
            )
            continue
        other = Source(source.table, path, part)
        found = _open_file(con, other)
        if isinstance(found, list):
            problems.extend(found)
            continue
        problems.extend(
            Problem(other.file, 1 if other.is_csv else None, c, f"missing column ({part.mapping} looks values up in it; the file has: {', '.join(found)})")
            for c in (lookup.key, lookup.value)
            if c not in found
        )
    return problems


def _open_file(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem] | tuple[str, ...]:
    """Read an export's file into its DuckDB table (once); its columns, or why it cannot be read.

    A column repeated in the header is read (its first copy; see :func:`_repeated_header_notes`).
    """
    if source.is_csv:
        _, structure = _source_lines(source)
        structure = tuple(p for p in structure if p.message != REPEATED_HEADER)
        if structure:
            return list(structure)
    try:
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {file_view(source)} AS {raw_view(source)}")
        return tuple(_column_types(con, file_view(source)))
    except duckdb.Error as exc:
        return [Problem(source.file, None, None, f"cannot be read: {_first_line(exc)}")]


def _repeated_header_notes(sources: list[Source]) -> list[Problem]:
    """A note per column an export's header repeats, once per file: the mapping reads the
    first copy; DuckDB names the later ones ``<name>_1``, ``<name>_2``..."""
    notes: list[Problem] = []
    for path, source in {s.path: s for s in sources if s.part is not None and s.is_csv}.items():
        header = csv_header(path, source.delimiter, source.encoding)
        for column in sorted({c for c in header if header.count(c) > 1}):
            later = ", ".join(f"{column}_{k}" for k in range(1, header.count(column)))
            notes.append(
                Problem(source.file, 1, column, f"appears {header.count(column)} times in the header: the first copy is read; the later ones are named {later}", severity="note")
            )
    return notes


def _null_value_notes(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> list[Problem]:
    """A note per export file with cells its mapping's ``null_values`` made empty: how
    many, in which columns (counted on the file as written, once per file)."""
    notes: list[Problem] = []
    for path, source in {s.path: s for s in sources if s.part is not None and s.part.null_values and s.is_csv}.items():
        part = source.part
        assert part is not None
        written = replace(source, part=replace(part, null_values=()))
        header = csv_header(path, source.delimiter, source.encoding)
        columns = list(dict.fromkeys(header))
        values = ", ".join(_lit(v) for v in part.null_values)
        counts = con.execute(
            f"SELECT {', '.join(f'count_if({_q(c)} IN ({values}))' for c in columns)} FROM ({scan_sql(written)})"
        ).fetchone()
        found = [(c, n) for c, n in zip(columns, counts, strict=True) if n]
        if found:
            total = sum(n for _, n in found)
            where = ", ".join(f"{c} {n:,}" for c, n in found)
            shown = ", ".join(part.null_values)
            notes.append(
                Problem(source.file, None, None, f"{total:,} cells read as empty: {shown} ({part.mapping} null_values; {where})", severity="note")
            )
    return notes


def _first_line(exc: Exception) -> str:
    """The first line of a DuckDB error: what went wrong, without the query dump."""
    return str(exc).strip().splitlines()[0]


def file_view(source: Source) -> str:
    """The DuckDB table of a mapped source's file as it is (its own columns plus ``_row``)."""
    return file_table(source.path, source.delimiter)


def _only(part: Part, column: str) -> Part:
    """The section with one column and no filters (to test that column's expression alone)."""
    return replace(part, columns={column: part.columns[column]}, exclude=(), note=())


def _plural(n: int, what: str = "row") -> str:
    return f"{n:,} {what}{'s' if n != 1 else ''}"


def _filter_notes(con: duckdb.DuckDBPyConnection, source: Source, sections: int) -> list[Problem]:
    """How many rows each ``exclude`` left out (in order), each ``note`` counted, and how
    many went with an excluded opportunity. ``sections``: how many feed the table (the
    notes then say which one)."""
    part = source.part
    if part is None:
        return []
    constants = [spec.value for spec in part.columns.values() if spec.value]
    which = ", ".join(constants) if constants else f"section {source.index + 1} of {sections}"
    where = source.table if sections == 1 else f"{source.table} ({which})"
    notes = []
    if part.exclude or part.note:
        counts = []
        for i in range(len(part.exclude)):
            earlier = "".join(f" AND NOT _exclude_{k}" for k in range(i))
            counts.append(f"count(*) FILTER (WHERE _exclude_{i}{earlier})")
        kept = "".join(f" AND NOT _exclude_{k}" for k in range(len(part.exclude)))
        counts += [f"count(*) FILTER (WHERE _note_{j}{kept})" for j in range(len(part.note))]
        values = con.execute(f"SELECT {', '.join(counts)} FROM ({flagged_sql(part, file_view(source))})").fetchone()
        notes += [
            Problem(source.file, None, None, f"{_plural(n)} excluded from {where}: {f.text}", severity="note")
            for f, n in zip(part.exclude, values, strict=False)
        ]
        notes += [
            Problem(source.file, None, None, f"{_plural(n)} of {where}: {f.text}", severity="note")
            for f, n in zip(part.note, values[len(part.exclude) :], strict=True)
        ]
    if source.table != "opportunities" and "opportunity_id" in part.columns:
        n = con.execute(
            f"SELECT count(*) FROM ({part_sql(part, file_view(source), folder=source.path.parent, cascade=False)}) "
            f"WHERE opportunity_id IN (SELECT opportunity_id FROM {EXCLUDED_OPPORTUNITIES})"
        ).fetchone()[0]
        if n:
            notes.append(
                Problem(source.file, None, None, f"{_plural(n)} excluded from {where}: their opportunity is excluded", severity="note")
            )
    return notes


def _lookup_misses(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    """A warning per looked-up column whose key is not in the lookup file (the value is then empty)."""
    part = source.part
    if part is None:
        return []
    found = []
    for name, spec in part.columns.items():
        if spec.lookup is None:
            continue
        lookup = spec.lookup
        key = lookup_key(name)
        table = file_table(source.path.parent / lookup.file, source.delimiter)
        rows = con.execute(
            f"SELECT {key}, min(_row), count(*) FROM ({flagged_sql(part, file_view(source))}) "
            f"WHERE {key} IS NOT NULL AND {lookup_sql(lookup, key, table)} IS NULL GROUP BY ALL ORDER BY 2"
        ).fetchall()
        if not rows:
            continue
        n = sum(r[2] for r in rows)
        shown = ", ".join(f"'{r[0]}'" for r in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
        found.append(
            Problem(
                source.file,
                line_finder(source)(rows[0][1]),
                spec.origin or name,
                f"{_plural(n)} with {shown}, not found in {lookup.file} ({lookup.key}): {name} left empty",
                severity="warning",
            )
        )
    return found


def _ambiguous_reps(con: duckdb.DuckDBPyConnection, reps: list[Source]) -> list[Problem]:
    """A warning for listed reps whose ids differ only by case and spacing: a loose match
    cannot tell them apart and takes the first in sort order."""
    if not reps:
        return []
    rows = con.execute(
        f"SELECT list(rep_id ORDER BY rep_id), min(_row) FROM reps_listed WHERE rep_id IS NOT NULL "
        f"GROUP BY {loose_key_sql('rep_id')} HAVING count(DISTINCT rep_id) > 1 ORDER BY 2"
    ).fetchall()
    line_of = line_finder(reps[0])
    return [
        Problem(
            reps[0].file,
            line_of(row),
            reps[0].column_label("rep_id"),
            f"reps {' and '.join(repr(r) for r in ids)} differ only in case and spacing: "
            f"a name matched loosely goes to {ids[0]!r}",
            severity="warning",
        )
        for ids, row in rows
    ]


def _loose_spec(source: Source) -> ColumnSpec | None:
    """The source's ``rep_id`` spec when it is matched loosely."""
    spec = source.part.columns.get("rep_id") if source.part is not None else None
    return spec if spec is not None and spec.match == "loose" else None


def _loose_matches(con: duckdb.DuckDBPyConnection, source: Source, reps_file: str) -> list[Problem]:
    """A warning for each name matched to a rep only when case and spacing are ignored."""
    spec = _loose_spec(source)
    if spec is None:
        return []
    # the value before the loose match: the cell, or what the spec's sql made of it
    rows = con.execute(
        f"SELECT f._raw, s.rep_id, min(s._row), count(*) FROM {source.view} s "
        f"JOIN (SELECT _row, {source_sql(spec)} AS _raw FROM {file_view(source)}) f USING (_row) "
        f"WHERE s.rep_id IS DISTINCT FROM f._raw GROUP BY ALL ORDER BY 3"
    ).fetchall()
    line_of = line_finder(source)
    return [
        Problem(
            source.file,
            line_of(row),
            spec.origin or "rep_id",
            f"'{name}' taken as rep '{rep}' of {reps_file} (case and spacing ignored; {_plural(n)})",
            severity="warning",
        )
        for name, rep, row, n in rows
    ]


def _derive_reps(con: duckdb.DuckDBPyConnection, readable: dict[str, list[Source]], reps_file: str | None) -> list[Problem]:
    """Make ``raw_reps`` the listed reps plus every owner they lack (team Unassigned).

    Owners matched loosely are grouped by their loose key: ``jane smith`` and ``Jane
    Smith`` are one rep, named by the spelling most rows use. Returns the warnings: one
    per owner added, at its first row, or one line when there is no reps file at all.
    """
    owners = [s for t, group in readable.items() if t != "reps" for s in group if "rep_id" in _column_types(con, s.view)]
    if not owners:
        con.execute("CREATE OR REPLACE TEMP VIEW raw_reps AS SELECT * FROM reps_listed")
        return []
    seen = " UNION ALL ".join(
        f"SELECT {loose_key_sql('rep_id') if _loose_spec(s) else 'rep_id'} AS key, {bool(_loose_spec(s))} AS loose, "
        f"rep_id, {i} AS _source, min(_row) AS _first, count(*) AS _n FROM {s.view} "
        f"WHERE rep_id IS NOT NULL AND rep_id NOT IN (SELECT rep_id FROM reps_listed WHERE rep_id IS NOT NULL) GROUP BY rep_id"
        for i, s in enumerate(owners)
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE reps_derived AS "
        f"WITH seen AS ({seen}), spelled AS (SELECT key, rep_id, sum(_n) AS n FROM seen GROUP BY key, rep_id) "
        f"SELECT key, bool_or(loose) AS loose, "
        f"(SELECT rep_id FROM spelled p WHERE p.key = seen.key ORDER BY n DESC, rep_id LIMIT 1) AS rep_id, "
        f"min(_source) AS _source, arg_min(_first, _source * 1e12 + _first) AS _first, sum(_n) AS _n "
        f"FROM seen GROUP BY key"
    )
    con.execute(f"INSERT INTO {REP_KEYS} SELECT key, rep_id FROM reps_derived WHERE loose")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW raw_reps AS SELECT * FROM reps_listed UNION ALL BY NAME "
        f"SELECT NULL::BIGINT AS _row, rep_id, rep_id AS rep_name, {_lit(UNASSIGNED_TEAM)} AS team FROM reps_derived"
    )
    rows = con.execute("SELECT rep_id, _source, _first, _n FROM reps_derived ORDER BY _source, _first").fetchall()
    if not rows:
        return []
    if reps_file is None:
        files = ", ".join(dict.fromkeys(s.file for s in owners))
        return [
            Problem(
                files,
                None,
                None,
                f"no reps file: {_plural(len(rows), 'rep')} derived from the owners, named as the owners are, in team {UNASSIGNED_TEAM!r}",
                severity="warning",
            )
        ]
    return [
        Problem(
            owners[i].file,
            line_finder(owners[i])(first),
            owners[i].column_label("rep_id"),
            f"'{rep}' is not in {reps_file}: added as a rep of team {UNASSIGNED_TEAM!r} ({_plural(n)})",
            severity="warning",
        )
        for rep, i, first, n in rows
    ]


def line_finder(source: Source) -> Callable[[int], int]:
    """Record number (1-based) -> editor line (CSV) or row number (Parquet)."""
    if not source.is_csv:
        return lambda row: row
    lines, _ = _source_lines(source)
    return lambda row: lines[row - 1]


_EMPTY_REPS = "SELECT NULL::BIGINT AS _row, " + ", ".join(f"NULL::VARCHAR AS {_q(c)}" for c in TABLES["reps"].names) + " WHERE false"

#: Tables in the order their sources are opened: loose matching needs the listed reps,
#: and the other tables need the opportunities an ``exclude`` left out.
_OPEN_ORDER = ("reps", "opportunities", *(t for t in TABLES if t not in ("reps", "opportunities")))


def validate_sources(
    con: duckdb.DuckDBPyConnection, sources: Iterable[Source], *, derive_reps: bool = False
) -> Validation:
    """Check every source against the contract; register a ``raw_<table>`` view for each.

    Parameters
    ----------
    con
        A DuckDB connection with its time zone set to UTC. The views ``raw_<table>``
        (the table's columns plus ``_row``; the rows of all its sources) are created in it.
    sources
        The sources present: one per canonical table, or one per mapped section.
    derive_reps
        Add owners the reps lack (in opportunities, activities, ...) as reps of team
        ``Unassigned``, with a warning each (a mapping's ``derive_missing``).

    Returns
    -------
    Validation
        Located errors and warnings, the column types of each readable table, and the
        mapping's notes. Tables that could not be opened (malformed CSV, unreadable
        Parquet) are reported and left out of the later checks.
    """
    by_table: dict[str, list[Source]] = {}
    for s in sources:
        by_table.setdefault(s.table, []).append(s)
    problems: list[Problem] = []
    notes: list[Problem] = []
    readable: dict[str, list[Source]] = {}
    types: dict[str, dict[str, str]] = {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REP_KEYS} (key VARCHAR, rep_id VARCHAR)")
    for name in _OPEN_ORDER:
        for source in by_table.get(name, []):
            found = _open_source(con, source)
            if found:
                problems.extend(found)
                continue
            columns = _column_types(con, source.view)
            if source.part is None:
                problems.extend(_header_problems(source, TABLES[name], list(columns)))
            readable.setdefault(name, []).append(source)
            types.setdefault(name, {}).update(columns)
        views = [s.view for s in readable.get(name, [])]
        if name == "reps":
            con.execute(f"CREATE OR REPLACE TEMP VIEW reps_listed AS {_union(views) if views else _EMPTY_REPS}")
            con.execute(
                f"INSERT INTO {REP_KEYS} SELECT {loose_key_sql('rep_id')}, min(rep_id) FROM reps_listed "
                "WHERE rep_id IS NOT NULL GROUP BY 1"
            )
            if any(_loose_spec(s) for group in by_table.values() for s in group):
                problems.extend(_ambiguous_reps(con, readable.get("reps", [])))
        elif views:
            con.execute(f"CREATE OR REPLACE TEMP VIEW raw_{name} AS {_union(views)}")
        if name == "opportunities":
            excluded = [
                q for s in readable.get(name, []) if s.part is not None and (q := excluded_ids_sql(s.part, file_view(s), s.path.parent))
            ]
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {EXCLUDED_OPPORTUNITIES} AS "
                + (" UNION ALL ".join(excluded) if excluded else "SELECT NULL::VARCHAR AS opportunity_id WHERE false")
            )
    reps_file = ", ".join(s.file for s in readable.get("reps", [])) or None
    # A reps file that is there but could not be read is an error already: deriving the
    # reps from the owners would report "no reps file" and every owner as unknown.
    reps_unread = len(readable.get("reps", [])) < len(by_table.get("reps", []))
    if derive_reps and not reps_unread:
        problems.extend(_derive_reps(con, readable, reps_file))
        if "reps" not in readable:
            types["reps"] = {c: "VARCHAR" for c in ("rep_id", "rep_name", "team")}
            readable["reps"] = []
    elif "reps" in readable:
        con.execute("CREATE OR REPLACE TEMP VIEW raw_reps AS SELECT * FROM reps_listed")
    for group in readable.values():
        for source in group:
            problems.extend(_loose_matches(con, source, reps_file or "the derived reps"))
            problems.extend(_lookup_misses(con, source))
            notes.extend(_filter_notes(con, source, len(group)))
    notes.extend(_repeated_header_notes([s for group in readable.values() for s in group]))
    notes.extend(_null_value_notes(con, [s for group in readable.values() for s in group]))

    files = {t: ", ".join(s.file for s in group) or "the derived reps" for t, group in readable.items()}
    for name, group in readable.items():
        table = TABLES[name]
        for source in group:
            present = _column_types(con, source.view)
            rules = (
                _column_rules(table, present, source)
                + _row_rules(table, present)
                + _key_rules(table, set(present))
                + _foreign_rules(table, {**types, name: present}, files)
            )
            problems.extend(_run_rules(con, source, rules))
        problems.extend(_cross_part_keys(con, table, group))
    # A file read by several sections reports a malformed record once.
    return Validation(tuple(dict.fromkeys(problems)), types, tuple(notes))


def _cross_part_keys(con: duckdb.DuckDBPyConnection, table: Table, group: list[Source]) -> list[Problem]:
    """Keys repeated across the sections of one table (each section checks its own)."""
    if len(group) < 2 or not table.key:
        return []
    key = ", ".join(_q(k) for k in table.key)
    n = con.execute(
        f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM raw_{table.name} GROUP BY {key} HAVING n > 1)"
    ).fetchone()[0]
    if not n:
        return []
    files = " and ".join(dict.fromkeys(s.file for s in group))
    return [Problem(files, None, None, f"{n:,} {' + '.join(table.key)} values occur in more than one section of {table.name}")]


def _run_rules(con: duckdb.DuckDBPyConnection, source: Source, rules: list[_Rule]) -> list[Problem]:
    """Count each rule's offending rows in one scan, then fetch the first few of each."""
    if not rules:
        return []
    view = source.view
    scanned = [i for i, r in enumerate(rules) if r.count_query is None]
    counts: list[int] = [0] * len(rules)
    if scanned:
        counts_sql = ", ".join(f"count(*) FILTER (WHERE {rules[i].condition})" for i in scanned)
        for i, n in zip(scanned, con.execute(f"SELECT {counts_sql} FROM {view}").fetchone(), strict=True):
            counts[i] = n
    for i, rule in enumerate(rules):
        if rule.count_query is not None:
            counts[i] = con.execute(rule.count_query.format(view=view)).fetchone()[0]
    found: list[tuple[int, _Rule, str, int | None]] = []
    overflow: list[Problem] = []
    for rule, n in zip(rules, counts, strict=True):
        if not n:
            continue
        ref = rule.ref or "NULL"
        rows = con.execute(
            f"SELECT _row, _msg, _ref FROM (SELECT _row, ({rule.condition}) AS _bad, "
            f"({rule.message}) AS _msg, ({ref}) AS _ref FROM {view}) "
            f"WHERE _bad ORDER BY _row LIMIT {MAX_PROBLEMS_PER_RULE}"
        ).fetchall()
        found.extend((row, rule, msg, other) for row, msg, other in rows)
        if n > MAX_PROBLEMS_PER_RULE:
            overflow.append(
                Problem(
                    source.file,
                    None,
                    _label(source, rule.column),
                    f"{n:,} rows in all {'break this rule' if rule.severity == 'error' else 'are like this'} "
                    f"(the first {MAX_PROBLEMS_PER_RULE} are listed)",
                    severity=rule.severity,
                    unlisted=n - MAX_PROBLEMS_PER_RULE,
                )
            )
    if not found:
        return overflow
    line_of = line_finder(source)
    where = "line" if source.is_csv else "row"
    located = [
        Problem(
            source.file,
            line_of(row),
            _label(source, rule.column),
            _mapped(source, rule.column, msg if other is None else f"{msg} (first at {where} {line_of(other)})"),
            severity=rule.severity,
        )
        for row, rule, msg, other in found
    ]
    return located + overflow


def _label(source: Source, column: str | None) -> str | None:
    return None if column is None else source.column_label(column)


def _mapped(source: Source, column: str | None, message: str) -> str:
    """Name the canonical column when the file calls it something else."""
    if column is None or source.column_label(column) == column:
        return message
    return f"{message} [{column}]"
