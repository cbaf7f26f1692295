"""A short description of a loaded dataset: rows per table, date ranges, reps, teams.

This is what ``salesx2 validate`` prints for a good load, as text or as JSON for
scripts. The activity log is summarised in the engine (one aggregate query).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.schema import TABLES

__all__ = ["dataset_summary", "format_summary", "incomplete_rows"]

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


def incomplete_rows(dataset: Dataset) -> dict[str, int]:
    """Rows the contract allows but the analyses treat specially, counted.

    ``open_without_amount``: open deals with no amount (the rolling forecast and the
    pipeline count them as 0); ``open_without_expected_close``: open deals with no
    expected close date (in no forecast window or horizon); ``without_account``: deals
    with no account; ``won_without_amount``: won deals with no amount (counted as won,
    adding nothing to won revenue); ``lost_without_amount``: lost deals with no amount
    (value-based win rates leave them out).
    """
    opp = dataset.opportunities
    status = opp["status"]
    return {
        "open_without_amount": int(((status == "open") & opp["amount"].isna()).sum()),
        "open_without_expected_close": int(((status == "open") & opp["expected_close_date"].isna()).sum()),
        "won_without_amount": int(((status == "won") & opp["amount"].isna()).sum()),
        "lost_without_amount": int(((status == "lost") & opp["amount"].isna()).sum()),
        "without_account": int(opp["account_id"].isna().sum()),
    }


_INCOMPLETE_TEXT = {
    "open_without_amount": "open deals without an amount (counted as 0 in pipeline and forecast)",
    "open_without_expected_close": "open deals without an expected close date (in no forecast window)",
    "won_without_amount": "won deals without an amount (counted as won, adding nothing to won revenue)",
    "lost_without_amount": "lost deals without an amount (left out of value-based win rates)",
    "without_account": "deals without an account",
}


def dataset_summary(dataset: Dataset) -> dict[str, Any]:
    """Rows, first and last date per table, reps, teams, warnings and notes, JSON-ready.

    Returns
    -------
    dict
        ``source``, ``as_of``, ``as_of_source`` (where the as-of came from), ``reps``, ``teams`` (name -> reps), ``tables`` (name ->
        ``rows``, ``first``, ``last``; absent tables have ``rows`` None), ``incomplete``
        (:func:`incomplete_rows`), ``warnings`` (one located line each) and ``notes``
        (what a preset or mapping did: rows each filter excluded, and why).
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
        "as_of_source": dataset.as_of_source,
        "reps": len(dataset.reps),
        "teams": {str(k): int(v) for k, v in teams.items()},
        "tables": tables,
        "incomplete": incomplete_rows(dataset),
        "warnings": [str(w) for w in dataset.warnings],
        "notes": [str(n) for n in dataset.notes],
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a few aligned lines of text."""
    whence = f", {summary['as_of_source']}" if summary.get("as_of_source") else ""
    lines = [f"{summary['source']}: valid (as of {summary['as_of']}{whence})"]
    for name, info in summary["tables"].items():
        if info["rows"] is None:
            lines.append(f"  {name:<20} absent")
        else:
            span = f"  {info['first'][:10]} .. {info['last'][:10]}" if info["first"] else ""
            lines.append(f"  {name:<20} {info['rows']:>10,} rows{span}")
    teams = ", ".join(f"{team} ({n})" for team, n in summary["teams"].items())
    lines.append(f"  {summary['reps']} reps in {len(summary['teams'])} teams: {teams}")
    lines.extend(f"  {n:,} {_INCOMPLETE_TEXT[key]}" for key, n in summary["incomplete"].items() if n)
    if summary["notes"]:
        lines.append("  notes:")
        lines.extend(f"    {n}" for n in summary["notes"])
    if summary["warnings"]:
        lines.append(f"  {len(summary['warnings'])} warning(s):")
        lines.extend(f"    {w}" for w in summary["warnings"])
    return "\n".join(lines)
