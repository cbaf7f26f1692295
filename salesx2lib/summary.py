"""A short description of a loaded dataset: rows per table, date ranges, reps, teams.

This is what ``salesx2 validate`` prints for a good load, as text or as JSON for
scripts. The activity log is summarised in the engine (one aggregate query).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.schema import TABLES

__all__ = ["dataset_summary", "format_summary"]

#: The timestamp that dates each table's rows in the summary.
_DATED_BY: dict[str, str] = {
    "activities": "occurred_at",
    "opportunities": "created_at",
    "opportunity_history": "changed_at",
    "forecasts": "submitted_at",
    "quotas": "period_start",
    "trainings": "completed_at",
    "reps": "hire_date",
}


def _iso(ts: Any) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat(sep=" ")


def dataset_summary(dataset: Dataset) -> dict[str, Any]:
    """Rows, first and last date per table, reps, teams and warnings, JSON-ready.

    Returns
    -------
    dict
        ``source``, ``as_of``, ``reps``, ``teams`` (name -> reps), ``tables`` (name ->
        ``rows``, ``first``, ``last``; absent tables have ``rows`` None) and ``warnings``
        (one located line each).
    """
    tables: dict[str, dict[str, Any]] = {}
    for name in TABLES:
        column = _DATED_BY[name]
        if not dataset.has(name):
            tables[name] = {"rows": None, "first": None, "last": None}
        elif name == "activities":
            t = dataset.activities
            row = t.aggregate(rows=t.count(), first=t[column].min(), last=t[column].max()).to_pandas().iloc[0]
            tables[name] = {"rows": int(row["rows"]), "first": _iso(row["first"]), "last": _iso(row["last"])}
        else:
            df = dataset.tables[name]
            tables[name] = {"rows": len(df), "first": _iso(df[column].min()), "last": _iso(df[column].max())}
    teams = dataset.reps.groupby("team")["rep_id"].count()
    return {
        "source": dataset.source,
        "as_of": _iso(dataset.as_of),
        "reps": len(dataset.reps),
        "teams": {str(k): int(v) for k, v in teams.items()},
        "tables": tables,
        "warnings": [str(w) for w in dataset.warnings],
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a few aligned lines of text."""
    lines = [f"{summary['source']}: valid (as of {summary['as_of']})"]
    for name, info in summary["tables"].items():
        if info["rows"] is None:
            lines.append(f"  {name:<20} absent")
        else:
            span = f"  {info['first'][:10]} .. {info['last'][:10]}" if info["first"] else ""
            lines.append(f"  {name:<20} {info['rows']:>10,} rows{span}")
    teams = ", ".join(f"{team} ({n})" for team, n in summary["teams"].items())
    lines.append(f"  {summary['reps']} reps in {len(summary['teams'])} teams: {teams}")
    if summary["warnings"]:
        lines.append(f"  {len(summary['warnings'])} warning(s):")
        lines.extend(f"    {w}" for w in summary["warnings"])
    return "\n".join(lines)
