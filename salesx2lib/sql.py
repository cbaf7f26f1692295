"""Quoting for the SQL that validation and mappings write (DuckDB dialect).

Every name and value that comes from a user's file or mapping goes through one of these,
so a column called ``Deal "Stage"`` or a value ``O'Neill`` cannot break a query.
"""

from __future__ import annotations

__all__ = ["cell", "ident", "literal", "text_or_null"]


def ident(name: str) -> str:
    """An SQL identifier: ``Deal Stage`` -> ``"Deal Stage"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """An SQL string literal: ``O'Neill`` -> ``'O''Neill'``."""
    return "'" + text.replace("'", "''") + "'"


def text_or_null(expr: str) -> str:
    """SQL for ``expr`` as trimmed text, with an empty or blank value as NULL."""
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def cell(column: str) -> str:
    """SQL for a file's cell as trimmed text, an empty or blank cell as NULL."""
    return text_or_null(ident(column))
