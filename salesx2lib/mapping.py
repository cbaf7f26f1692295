"""Mapping files and presets: reading a CRM's own export as the canonical tables.

A mapping file (TOML, format in ``docs/mapping.md``) says, for each canonical table it
maps, which file of the data folder holds it and where each canonical column comes from:
a column of the file, a constant, a value map, a date format, a time zone, a condition,
or a DuckDB SQL expression. A preset is a mapping file shipped in
``salesx2lib/presets/``.

Nothing is converted on disk. :func:`part_sql` turns one section into a SQL query over
the file that yields the file's record number ``_row`` and the canonical columns as
text, so the ordinary validation (:mod:`salesx2lib.validate`) checks the mapped values
and locates every problem in the user's own file and column. Rows a filter excludes are
counted, never dropped silently.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from salesx2lib.problems import DataError, Problem
from salesx2lib.schema import TABLES
from salesx2lib.sql import cell as _cell
from salesx2lib.sql import ident as _q
from salesx2lib.sql import literal as _lit
from salesx2lib.sql import text_or_null

__all__ = [
    "PRESETS",
    "UNASSIGNED_TEAM",
    "ColumnSpec",
    "Lookup",
    "Condition",
    "Filter",
    "Mapping",
    "EXCLUDED_OPPORTUNITIES",
    "Part",
    "REP_KEYS",
    "condition_sql",
    "excluded_ids_sql",
    "file_table",
    "flagged_sql",
    "lookup_key",
    "lookup_sql",
    "source_sql",
    "loose_key_sql",
    "part_sql",
    "preset_path",
    "read_mapping",
    "resolve_mapping",
]

#: The presets shipped with salesx2 (``salesx2lib/presets/<name>.toml``).
PRESETS: tuple[str, ...] = ("salesforce", "hubspot")

#: The team of a rep derived from an owner the reps file does not list.
UNASSIGNED_TEAM = "Unassigned"

_PART_KEYS = {"file", "columns", "optional", "delimiter", "encoding", "exclude", "note", "derive_missing"}

#: Text encodings a CSV file of an export may have.
ENCODINGS: tuple[str, ...] = ("utf-8", "latin-1")
_SPEC_KEYS = {"column", "value", "sql", "values", "other", "ignore_case", "format", "timezone", "when", "match", "lookup"}
_LOOKUP_KEYS = {"file", "key", "value", "match"}


@dataclass(frozen=True)
class Condition:
    """A row condition: every ``column = value(s)`` holds (trimmed text, ``""`` = empty), or ``sql``."""

    equals: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sql: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The file columns the condition names (not those inside ``sql``)."""
        return tuple(c for c, _ in self.equals)


@dataclass(frozen=True)
class Filter:
    """An ``exclude`` (rows left out) or ``note`` (rows kept and counted) entry."""

    text: str
    when: Condition
    line: int | None = None  # where the mapping file says it


@dataclass(frozen=True)
class Lookup:
    """Take the value from another file: the ``value`` column of the row whose ``key`` matches."""

    file: str
    key: str
    value: str
    loose: bool = False  # match keys ignoring case and repeated spaces


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical column's value comes from (see ``docs/mapping.md``)."""

    column: str | None = None
    value: str | None = None
    sql: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    other: str | None = None
    ignore_case: bool = False
    format: str | None = None
    timezone: str | None = None
    when: Condition | None = None
    match: str | None = None
    lookup: Lookup | None = None
    line: int | None = None  # where the mapping file says it
    #: The next ways to read the value, in order, for a file that lacks this one's columns
    #: (a list in the mapping file; :func:`resolve_part` picks one per file).
    fallbacks: tuple[ColumnSpec, ...] = ()

    @property
    def origin(self) -> str | None:
        """The file column that messages about this value point at."""
        return self.column

    @property
    def file_columns(self) -> tuple[str, ...]:
        """The file columns this way of reading the value needs: its ``column`` (unless
        ``sql`` computes the value), the double-quoted names in its ``sql``, and those of
        its ``when`` condition."""
        names = list(sql_columns(self.sql)) if self.sql is not None else ([self.column] if self.column else [])
        if self.when is not None:
            names += list(self.when.columns) + (list(sql_columns(self.when.sql)) if self.when.sql else [])
        return tuple(dict.fromkeys(names))

    def describe(self) -> str:
        """How this way reads the value, in words, for notes."""
        if self.value is not None:
            return "left empty" if self.value == "" else f"the constant {self.value!r}"
        what = f"column {self.column}" if self.sql is None else "an expression over " + (", ".join(sql_columns(self.sql)) or "the file")
        if self.when is not None:
            cols = list(self.when.columns) + (list(sql_columns(self.when.sql)) if self.when.sql else [])
            what += f" where {', '.join(cols) or 'its condition'} says so"
        return what + (f", looked up in {self.lookup.file}" if self.lookup is not None else "")


@dataclass(frozen=True)
class Part:
    """One section of a mapping: a file feeding a canonical table."""

    table: str
    file: str
    columns: dict[str, ColumnSpec]
    optional: bool = False
    delimiter: str = ","
    encoding: str | None = None  # None: detected per file (UTF-8, else Latin-1, with a note)
    exclude: tuple[Filter, ...] = ()
    note: tuple[Filter, ...] = ()
    derive_missing: bool = False
    mapping: str = ""  # the mapping file's name, for messages
    #: Cell values read as empty in a CSV file (the mapping's ``null_values``), besides "".
    null_values: tuple[str, ...] = ()

    def origin(self, column: str) -> str:
        """The file column a canonical column comes from, for messages (else its own name)."""
        spec = self.columns.get(column)
        return (spec.origin if spec is not None else None) or column

    @property
    def lookups(self) -> tuple[Lookup, ...]:
        """The lookups the section's columns make, in column order."""
        return tuple(spec.lookup for spec in self.columns.values() if spec.lookup is not None)

    @property
    def file_columns(self) -> tuple[str, ...]:
        """Every file column the section names outside SQL expressions, in order, once."""
        names: list[str] = []
        for spec in self.columns.values():
            if spec.column is not None and spec.sql is None:
                names.append(spec.column)
            if spec.when is not None:
                names.extend(spec.when.columns)
        for f in self.exclude + self.note:
            names.extend(f.when.columns)
        return tuple(dict.fromkeys(names))

    @property
    def sql_file_columns(self) -> tuple[tuple[str, str], ...]:
        """``(file column, where)`` for every column the section's SQL names in double quotes.

        ``where`` says which expression, for messages: ``"the sql of
        opportunities.columns.account_id"`` or ``"the condition of exclude 'reason'"``.
        """
        found: list[tuple[str, str]] = []
        for name, spec in self.columns.items():
            for sql, kind in ((spec.sql, "sql"), (spec.when.sql if spec.when else None, "when")):
                if sql is not None:
                    found += [(c, f"the {kind} of {self.table}.columns.{name}") for c in sql_columns(sql)]
        for kind, filters in (("exclude", self.exclude), ("note", self.note)):
            for f in filters:
                if f.when.sql is not None:
                    found += [(c, f"the condition of {kind} {f.text!r}") for c in sql_columns(f.when.sql)]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file: its parts by table, in canonical table order."""

    name: str
    path: Path | None
    parts: dict[str, tuple[Part, ...]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How summaries name the mapping: its file, and its ``name`` when that says more."""
        if self.path is None:
            return self.name
        return self.path.name if self.name == self.path.stem else f"{self.path.name}, {self.name}"


# ---------------------------------------------------------------------------- reading


def preset_path(name: str) -> Path:
    """The TOML file of a shipped preset.

    Raises
    ------
    DataError
        ``name`` is not a preset (the message lists them).
    """
    if name not in PRESETS:
        raise DataError([Problem("--preset", None, None, f"unknown preset {name!r} (presets: {', '.join(PRESETS)})")])
    return Path(str(resources.files("salesx2lib") / "presets" / f"{name}.toml"))


def resolve_mapping(preset: str | None = None, mapping: str | Path | None = None) -> Mapping | None:
    """The mapping named by ``preset`` or found in file ``mapping`` (at most one of them).

    Returns ``None`` when neither is given: the data folder is canonical.
    """
    if preset is not None and mapping is not None:
        raise DataError([Problem("--mapping", None, None, "give either a preset or a mapping file, not both")])
    if preset is not None:
        return read_mapping(preset_path(preset))
    if mapping is not None:
        return read_mapping(Path(mapping))
    return None


class _Reader:
    """Turns the TOML document into a :class:`Mapping`, collecting located problems."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        self.base = 0  # index of the line where the section being read starts

    def line_of(self, *keys: str) -> int | None:
        """Best-effort editor line of a dotted key (the section header, then the key in it),
        searched from the current section's header (:attr:`base`)."""
        line = None
        start = self.base
        for depth, key in enumerate(keys):
            pattern = re.compile(rf'^\s*(\[\[?\s*)?(["\']?){re.escape(key)}\2\s*(=|\]|\.)')
            dotted = ".".join(keys[: depth + 1])
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(dotted)}\s*\]")
            for i in range(start, len(self.lines)):
                text = self.lines[i]
                if header.match(text) or pattern.match(text) or (depth > 0 and re.search(rf'(^|[{{,.\s])(["\']?){re.escape(key)}\2\s*=', text)):
                    line, start = i + 1, i
                    break
        return line

    def nth_header(self, dotted: str, n: int, start: int = 0) -> int | None:
        """Index (0-based) of the ``n``-th ``[dotted]`` or ``[[dotted]]`` header from ``start``."""
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(dotted)}\s*\]")
        seen = 0
        for i in range(start, len(self.lines)):
            if header.match(self.lines[i]):
                if seen == n:
                    return i
                seen += 1
        return None

    def error(self, keys: tuple[str, ...], message: str, line: int | None = None) -> None:
        where = line if line is not None else self.line_of(*keys)
        self.problems.append(Problem(self.path.name, where, ".".join(keys) or None, message))

    def condition(self, keys: tuple[str, ...], raw: Any, line: int | None = None) -> Condition | None:
        if isinstance(raw, dict) and set(raw) == {"sql"} and isinstance(raw["sql"], str):
            return Condition(sql=raw["sql"])
        if not isinstance(raw, dict) or not raw:
            self.error(keys, 'must be a table of column = value(s), such as { Stage = ["Won", "Lost"] }, or { sql = "..." }', line)
            return None
        equals = []
        for column, value in raw.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str | int | float | bool) for v in values):
                self.error((*keys, column), "must be a value or a list of values", line)
                return None
            equals.append((column, tuple(_text(v) for v in values)))
        return Condition(equals=tuple(equals))

    def spec(self, keys: tuple[str, ...], raw: Any) -> ColumnSpec | None:
        if isinstance(raw, list):
            if not raw or any(isinstance(r, list) for r in raw):
                self.error(keys, "a list of ways to read the value must hold one or more columns or tables, tried in order")
                return None
            found = [self.spec(keys, r) for r in raw]
            if any(f is None for f in found):
                return None
            first, *rest = found
            return replace(first, fallbacks=tuple(rest))  # type: ignore[arg-type]
        if isinstance(raw, str):
            return ColumnSpec(column=raw, line=self.line_of(*keys))
        if not isinstance(raw, dict):
            self.error(keys, "must be a column name or a table such as { column = \"...\", format = \"...\" }")
            return None
        unknown = sorted(set(raw) - _SPEC_KEYS)
        if unknown:
            self.error((*keys, unknown[0]), f"unknown key (a column takes: {', '.join(sorted(_SPEC_KEYS))})")
            return None
        sources = [k for k in ("column", "value", "sql") if k in raw]
        if not sources:
            self.error(keys, "says neither column, value nor sql: where does the value come from?")
            return None
        if "value" in raw and len(sources) > 1:
            self.error(keys, "a constant value takes no column or sql")
            return None
        for k in ("column", "sql", "other", "format", "timezone", "match"):
            if k in raw and not isinstance(raw[k], str):
                self.error((*keys, k), "must be text")
                return None
        values = raw.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            self.error((*keys, "values"), 'must be a table of "text in the file" = "canonical value"')
            return None
        if "match" in raw and raw["match"] != "loose":
            self.error((*keys, "match"), 'the only match is "loose"')
            return None
        when = self.condition((*keys, "when"), raw["when"]) if "when" in raw else None
        if "when" in raw and when is None:
            return None
        lookup = None
        if "lookup" in raw:
            found = raw["lookup"]
            if (
                not isinstance(found, dict)
                or not {"file", "key", "value"} <= set(found) <= _LOOKUP_KEYS
                or not all(isinstance(v, str) and v for v in found.values())
            ):
                self.error((*keys, "lookup"), 'must be { file = "...", key = "column there", value = "column there" } (and match = "loose")')
                return None
            if Path(found["file"]).is_absolute() or ".." in Path(found["file"]).parts:
                self.error((*keys, "lookup", "file"), "must name a file inside DATA (a relative name)")
                return None
            if found.get("match", "loose") != "loose":
                self.error((*keys, "lookup", "match"), 'the only match is "loose"')
                return None
            if "value" in raw:
                self.error((*keys, "lookup"), "a constant value takes no lookup")
                return None
            lookup = Lookup(found["file"], found["key"], found["value"], "match" in found)
        return ColumnSpec(
            column=raw.get("column"),
            value=_text(raw["value"]) if "value" in raw else None,
            sql=raw.get("sql"),
            values=tuple((str(k), v) for k, v in values.items()),
            other=raw.get("other"),
            ignore_case=bool(raw.get("ignore_case", False)),
            format=raw.get("format"),
            timezone=raw.get("timezone"),
            when=when,
            match=raw.get("match"),
            lookup=lookup,
            line=self.line_of(*keys),
        )

    def filters(self, keys: tuple[str, ...], raw: Any, text_key: str) -> tuple[Filter, ...]:
        if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
            self.error(keys, f'must be a list of {{ {text_key} = "...", when = ... }} ([[...]] sections)')
            return ()
        found = []
        for n, f in enumerate(raw):
            header = self.nth_header(".".join(keys), n, self.base)
            line = None
            if header is not None:  # this entry's own `when`, below its [[...]] header
                line = next((i + 1 for i in range(header, len(self.lines)) if re.match(r"^\s*when\s*=", self.lines[i])), header + 1)
            if set(f) != {text_key, "when"} or not isinstance(f[text_key], str) or not f[text_key].strip():
                self.error(keys, f"each entry needs {text_key} (why, in words) and when, and nothing else", line)
                continue
            when = self.condition((*keys, "when"), f["when"], line)
            if when is not None:
                found.append(Filter(f[text_key], when, line))
        return tuple(found)

    def part(self, table: str, raw: dict[str, Any]) -> Part | None:
        keys = (table,)
        unknown = sorted(set(raw) - _PART_KEYS)
        if unknown:
            self.error((table, unknown[0]), f"unknown key (a table section takes: {', '.join(sorted(_PART_KEYS))})")
        if not isinstance(raw.get("file"), str) or not raw["file"]:
            self.error(keys, "needs file = \"name of the file in DATA\"")
            return None
        if Path(raw["file"]).is_absolute() or ".." in Path(raw["file"]).parts:
            self.error((table, "file"), "must name a file inside DATA (a relative name such as \"deals.csv\")")
            return None
        columns_raw = raw.get("columns")
        if not isinstance(columns_raw, dict):
            self.error(keys, f"needs a [{table}.columns] section")
            return None
        canonical = TABLES[table]
        columns: dict[str, ColumnSpec] = {}
        for name, spec_raw in columns_raw.items():
            if name not in canonical.names:
                self.error((table, "columns", name), f"{table} has no column {name!r} (columns: {', '.join(canonical.names)})")
                continue
            spec = self.spec((table, "columns", name), spec_raw)
            if spec is not None:
                if spec.match is not None and name != "rep_id":
                    self.error((table, "columns", name, "match"), "loose matching is for rep_id only")
                columns[name] = spec
        for col in canonical.columns:
            # A column that may be empty (a rep's manager) may be left unmapped: it is then empty.
            if col.required and not col.nullable and col.name not in columns_raw:
                self.error((table, "columns"), f"does not map {col.name}, which {table} requires")
        if raw.get("derive_missing") and table != "reps":
            self.error((table, "derive_missing"), "is for the reps table only")
        delimiter = raw.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            self.error((table, "delimiter"), "must be one character, such as \",\" or \";\"")
            delimiter = ","
        encoding = raw.get("encoding")
        if encoding is not None and encoding not in ENCODINGS:
            self.error((table, "encoding"), f"must be one of: {', '.join(ENCODINGS)}")
            encoding = None
        return Part(
            table=table,
            file=raw["file"],
            columns=columns,
            optional=bool(raw.get("optional", False)),
            delimiter=delimiter,
            encoding=encoding,
            exclude=self.filters((table, "exclude"), raw.get("exclude", []), "reason"),
            note=self.filters((table, "note"), raw.get("note", []), "says"),
            derive_missing=bool(raw.get("derive_missing", False)),
            mapping=self.path.name,
        )


def _text(value: Any) -> str:
    """A TOML scalar as the text a CSV cell would hold (``true`` -> ``true``, 1 -> ``1``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file.

    Parameters
    ----------
    path
        The TOML file (see ``docs/mapping.md``).

    Returns
    -------
    Mapping
        One or more parts per mapped table.

    Raises
    ------
    DataError
        Every problem in the file at once, each located as ``file:line:key``.
    """
    path = Path(path)
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError([Problem(str(path), None, None, "no such mapping file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([Problem(label, None, None, f"cannot be read: {exc}")]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else None
        message = str(exc).split(" (at line")[0]
        raise DataError([Problem(label, line, None, f"is not valid TOML: {message}")]) from None
    reader = _Reader(path, text)
    name = doc.pop("name", path.stem)
    if not isinstance(name, str):
        reader.error(("name",), "must be text")
        name = path.stem
    null_values = doc.pop("null_values", [])
    if not isinstance(null_values, list) or not all(isinstance(v, str) and v.strip() for v in null_values):
        reader.error(("null_values",), 'must be a list of texts read as empty, such as ["000000000000000AAA"]')
        null_values = []
    parts: dict[str, tuple[Part, ...]] = {}
    for key, raw in doc.items():
        if key not in TABLES:
            reader.error((key,), f"is not a table (tables: {', '.join(TABLES)}; and name, null_values)")
            continue
        sections = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(s, dict) for s in sections):
            reader.error((key,), "must be a [section] or [[sections]]")
            continue
        found = []
        for n, section in enumerate(sections):
            reader.base = reader.nth_header(key, n) or 0
            part = reader.part(key, section)
            if part is not None:
                found.append(replace(part, null_values=tuple(null_values)))
        reader.base = 0
        if found:
            parts[key] = tuple(found)
    if reader.problems:
        raise DataError(reader.problems)
    ordered = {t: parts[t] for t in TABLES if t in parts}
    return Mapping(name=name, path=path, parts=ordered)


# ---------------------------------------------------------------------------- SQL


def resolve_part(part: Part, header: Sequence[str], file: str) -> tuple[Part, list[Problem]]:
    """``part`` with each column read the first way, in order, whose columns ``header`` has.

    A column given as a list in the mapping file (``rep_name = ["Name", { sql = ... }]``)
    is read the first way whose :attr:`ColumnSpec.file_columns` are all in the file. A
    note says, for each column not read the first way, what the file lacks and what was
    used instead. When no way fits, the first is kept: validation then names its missing
    columns.
    """
    columns: dict[str, ColumnSpec] = {}
    notes: list[Problem] = []
    have = set(header)
    for name, spec in part.columns.items():
        ways = (replace(spec, fallbacks=()), *spec.fallbacks)
        chosen = next((w for w in ways if set(w.file_columns) <= have), ways[0])
        columns[name] = chosen
        if chosen is not ways[0]:
            lacking = ", ".join(c for c in ways[0].file_columns if c not in have)
            notes.append(
                Problem(file, None, None, f"{part.table}.{name}: the file has no {lacking}: {chosen.describe()} instead", severity="note")
            )
    return replace(part, columns=columns), notes


def sql_columns(sql: str) -> tuple[str, ...]:
    """The columns an SQL expression names in double quotes (``"Close Date"``), in order, once.

    Unquoted names are left out: they may be functions' or lambdas' own names. An
    expression that does not parse names none (running it then gives DuckDB's message).
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError:
        return ()
    # Depth first: the order they are written in (breadth first would put "Last" before
    # "First" in `"First" || ' ' || "Last"`).
    names = [c.name for c in tree.find_all(exp.Column, bfs=False) if c.this.quoted and not c.table]
    return tuple(dict.fromkeys(names))


def file_table(path: Path, delimiter: str = ",") -> str:
    """The name of the DuckDB table holding a copy of an export's file (one per file)."""
    digest = hashlib.sha1(f"{path.resolve()}\0{delimiter}".encode()).hexdigest()[:16]
    return f"file_{digest}"


def condition_sql(cond: Condition) -> str:
    """SQL that is true exactly on the rows where ``cond`` holds (never NULL)."""
    if cond.sql is not None:
        return f"coalesce(({cond.sql}), false)"
    terms = [f"coalesce({_cell(c)}, '') IN ({', '.join(_lit(v) for v in values)})" for c, values in cond.equals]
    return "(" + " AND ".join(terms) + ")"


def loose_key_sql(expr: str) -> str:
    """The key loose matching compares: lower case, spaces trimmed and runs of them collapsed."""
    return f"lower(trim(regexp_replace({expr}, '\\s+', ' ', 'g')))"


def source_sql(spec: ColumnSpec) -> str:
    """SQL for the value a spec starts from: its constant, its SQL, or its column (text)."""
    if spec.value is not None:
        return _lit(spec.value)
    if spec.sql is not None:
        return text_or_null(f"({spec.sql})")
    return _cell(spec.column)  # type: ignore[arg-type]  # the reader guarantees one source


def lookup_key(column: str) -> str:
    """The column of :func:`flagged_sql` holding the key a canonical column looks up."""
    return _q(f"_key_{column}")


def lookup_sql(lookup: Lookup, key: str, table: str) -> str:
    """SQL for the ``value`` of the row of ``table`` (the lookup file) whose key is ``key``.

    ``key`` must not be a bare column name of the file: the lookup file may be the same
    file (a User's manager is another User), whose names would shadow it.
    """
    theirs = text_or_null(f"l.{_q(lookup.key)}")
    if lookup.loose:
        theirs, key = loose_key_sql(theirs), loose_key_sql(key)
    return f"(SELECT min({text_or_null(f'l.{_q(lookup.value)}')}) FROM {table} l WHERE {theirs} = {key})"


def _value_sql(spec: ColumnSpec, kind: str, column: str, folder: Path | None = None, delimiter: str = ",") -> str:
    """SQL for canonical ``column`` as text: the file's value after the spec's steps.

    Reads from :func:`flagged_sql` (which holds the lookup keys); ``folder`` (the data
    folder) names the table of a lookup file.
    """
    expr = source_sql(spec)
    if spec.lookup is not None and folder is not None:
        expr = lookup_sql(spec.lookup, lookup_key(column), file_table(folder / spec.lookup.file, delimiter))
    if spec.values:
        key = f"lower({expr})" if spec.ignore_case else expr
        cases = " ".join(
            f"WHEN {_lit(k.strip().lower() if spec.ignore_case else k.strip())} THEN {_lit(v)}" for k, v in spec.values
        )
        fallback = _lit(spec.other) if spec.other is not None else expr
        expr = f"CASE WHEN {expr} IS NULL THEN NULL ELSE (CASE {key} {cases} ELSE {fallback} END) END"
    elif spec.other is not None:
        expr = f"CASE WHEN {expr} IS NULL THEN NULL ELSE {_lit(spec.other)} END"
    if kind in ("timestamp", "date") and (spec.format is not None or spec.timezone is not None):
        parsed = f"try_strptime({expr}, {_lit(spec.format)})" if spec.format else f"TRY_CAST({expr} AS TIMESTAMP)"
        if kind == "date":  # the calendar date as written; a time of day in the format is dropped
            parsed = f"CAST(CAST({parsed} AS DATE) AS TIMESTAMP)"
        elif spec.timezone is not None:
            parsed = f"timezone({_lit(spec.timezone)}, {parsed})"
        # A value that does not parse stays as it was, so validation reports it, located
        # (a value in ISO 8601 is read as such). Where a time zone applies, it is kept behind
        # a marker (chr(1)) that no date parses: read as ISO it would be taken as UTC,
        # silently skipping the time zone.
        marker = "chr(1) || " if kind == "timestamp" and spec.timezone is not None else ""
        expr = f"coalesce(CAST({parsed} AS VARCHAR), {marker}{expr})"
    if spec.when is not None:
        expr = f"CASE WHEN {condition_sql(spec.when)} THEN {expr} END"
    return expr


#: The DuckDB table of loose keys (``key``, ``rep_id``) that loose matching looks up: the
#: listed reps, then the reps derived from owners (:mod:`salesx2lib.validate` fills it).
REP_KEYS = "rep_keys"

#: The DuckDB view of the opportunity ids an ``exclude`` of the opportunities left out;
#: rows of other tables on those opportunities are left out with them.
EXCLUDED_OPPORTUNITIES = "opportunities_excluded"


def flagged_sql(part: Part, file_view: str) -> str:
    """The file with one boolean column per filter (``_exclude_<i>``, ``_note_<j>``) and
    the key of each lookup (``_key_<column>``).

    Conditions are evaluated as columns, not in a WHERE clause, so they may use window
    functions over the whole file (``max("SystemModstamp") OVER ()``: the export's moment).
    """
    flags = [f"{condition_sql(f.when)} AS _exclude_{i}" for i, f in enumerate(part.exclude)]
    flags += [f"{condition_sql(f.when)} AS _note_{j}" for j, f in enumerate(part.note)]
    flags += [f"{source_sql(spec)} AS {lookup_key(name)}" for name, spec in part.columns.items() if spec.lookup is not None]
    return f"SELECT *{''.join(', ' + f for f in flags)} FROM {file_view}"


def _excluded(part: Part) -> str:
    """SQL true on the rows of :func:`flagged_sql` an ``exclude`` leaves out."""
    return " OR ".join(f"_exclude_{i}" for i in range(len(part.exclude))) or "false"


def excluded_ids_sql(part: Part, file_view: str, folder: Path | None = None) -> str | None:
    """SQL giving the ``opportunity_id`` of every row an ``exclude`` of ``part`` leaves out."""
    if part.table != "opportunities" or not part.exclude:
        return None
    spec = part.columns["opportunity_id"]
    value = _value_sql(spec, "id", "opportunity_id", folder, part.delimiter)
    return f"SELECT {value} AS opportunity_id FROM ({flagged_sql(part, file_view)}) WHERE {_excluded(part)}"


def part_sql(part: Part, file_view: str, *, folder: Path | None = None, cascade: bool = True) -> str:
    """SQL giving ``_row`` and the canonical columns (as text) of one mapped section.

    Parameters
    ----------
    part
        The section.
    file_view
        A view of the file with its own columns plus ``_row`` (the record number).
    folder
        The data folder: a lookup file ``f`` is the table :func:`file_table` of ``folder / f``.
    cascade
        Leave out the rows on an excluded opportunity (the view
        :data:`EXCLUDED_OPPORTUNITIES` must exist).

    Rows matching an ``exclude`` condition are left out. A ``rep_id`` matched loosely
    becomes the ``rep_id`` of table :data:`REP_KEYS` whose key (:func:`loose_key_sql`)
    equals its own, or stays as it is when there is none.
    """
    table = TABLES[part.table]
    selected = ["_row"]
    for col in table.columns:
        spec = part.columns.get(col.name)
        if spec is None:
            continue
        expr = _value_sql(spec, col.kind, col.name, folder, part.delimiter)
        if spec.match == "loose":
            expr = f"coalesce((SELECT min(k.rep_id) FROM {REP_KEYS} k WHERE k.key = {loose_key_sql(expr)}), {expr})"
        selected.append(f"{expr} AS {_q(col.name)}")
    sql = f"SELECT {', '.join(selected)} FROM ({flagged_sql(part, file_view)}) WHERE NOT ({_excluded(part)})"
    if cascade and part.table != "opportunities" and "opportunity_id" in part.columns:
        sql = (
            f"SELECT * FROM ({sql}) WHERE opportunity_id IS NULL OR opportunity_id NOT IN "
            f"(SELECT opportunity_id FROM {EXCLUDED_OPPORTUNITIES} WHERE opportunity_id IS NOT NULL)"
        )
    return sql
