"""Located problems in input data, and the exception that carries them all at once.

A :class:`Problem` says where (file, line as an editor counts it, column) and what is
wrong, with the raw value and the rule. Validation collects every problem before it
raises one :class:`DataError`, so a user fixes a file in one pass instead of one error
per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["DataError", "Problem", "format_problems"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (``error``) or worth knowing (``warning``) about the input.

    Attributes
    ----------
    file
        File name as the user knows it (``opportunities.csv``), or the folder for a
        missing table.
    line
        Line as a text editor counts it (header = 1) for CSV; row number (first row = 1)
        for Parquet; ``None`` when the problem concerns the whole file or column.
    column
        Column name, or ``None`` when the problem concerns a whole row or file.
    message
        What is wrong, with the raw value and the rule.
    severity
        ``error`` stops the run; ``warning`` is reported and the run goes on; ``note``
        says what a mapping did (rows a filter excluded, and why).
    unlisted
        How many problems of the same kind this line stands for without listing them
        (a rule broken by thousands of rows lists the first few, then one line for the
        rest); 0 for a problem that is itself one problem.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    severity: Literal["error", "warning", "note"] = "error"
    unlisted: int = 0

    @property
    def count(self) -> int:
        """How many problems this line accounts for: itself, or the ones it stands for."""
        return self.unlisted or 1

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column is not None:
            where += f":{self.column}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"

    def sort_key(self) -> tuple[str, int, str, str]:
        """Order problems by file, line, column, as a user reads them."""
        return (self.file, self.line or 0, self.column or "", self.message)


def format_problems(problems: Iterable[Problem]) -> str:
    """One line per problem, sorted by file, line and column."""
    return "\n".join(str(p) for p in sorted(problems, key=Problem.sort_key))


class DataError(Exception):
    """The input breaks the data contract; ``problems`` lists every error found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        n = sum(p.count for p in self.problems)
        super().__init__(f"{n:,} problem{'s' if n != 1 else ''} in the input:\n" + format_problems(self.problems))

    @property
    def error_count(self) -> int:
        """The number of errors, those a summary line stands for included (not the lines)."""
        return sum(p.count for p in self.problems if p.severity == "error")
