"""Quoting for the SQL that validation and mappings write (DuckDB dialect).

Every name and value that comes from a user's file or mapping goes through one of these,
so a column called ``Deal "Stage"`` or a value ``O'Neill`` cannot break a query.
"""

from __future__ import annotations

__all__ = ["ident", "literal"]


def ident(name: str) -> str:
    """An SQL identifier: ``Deal Stage`` -> ``"Deal Stage"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """An SQL string literal: ``O'Neill`` -> ``'O''Neill'``."""
    return "'" + text.replace("'", "''") + "'"
