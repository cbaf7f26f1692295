"""Shared fixtures: a tiny valid dataset written as canonical CSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

#: A minimal valid source: every table, a few rows each. Tests copy it and break one thing.
VALID_TABLES: dict[str, str] = {
    "reps": (
        "rep_id,rep_name,team,manager,region,hire_date\n"
        "R1,Ann Lee,North,Max Roe,EU,2025-01-06\n"
        "R2,Bob Diaz,North,Max Roe,EU,2025-03-03\n"
        "R3,Cy Park,South,Sue Kim,US,2026-01-05\n"
    ),
    "activities": (
        "activity_id,rep_id,occurred_at,activity_type,opportunity_id,duration_s\n"
        "A1,R1,2026-01-05 09:00:00,dial,,\n"
        "A2,R1,2026-01-05 09:00:00,conversation,,180\n"
        "A3,R1,2026-01-05 09:10:00,appointment,,\n"
        "A4,R2,2026-01-06 10:00:00,dial,,\n"
        "A5,R3,2026-01-12 11:00:00,email,O2,\n"
    ),
    "opportunities": (
        "opportunity_id,rep_id,account_id,created_at,amount,stage,status,expected_close_date,closed_at\n"
        "O1,R1,AC1,2026-01-07 12:00:00,1200,Closed Won,won,2026-02-01,2026-01-30 16:00:00\n"
        "O2,R3,,2026-01-08 12:00:00,,Prospecting,open,,\n"
        "O3,R2,AC2,2026-01-09 12:00:00,800,Closed Lost,lost,2026-01-31,2026-01-20 09:00:00\n"
    ),
    "opportunity_history": (
        "opportunity_id,changed_at,stage,amount,expected_close_date\n"
        "O1,2026-01-07 12:00:00,Prospecting,1000,2026-01-25\n"
        "O1,2026-01-30 16:00:00,Closed Won,1200,2026-02-01\n"
        "O2,2026-01-08 12:00:00,Prospecting,,\n"
        "O3,2026-01-09 12:00:00,Prospecting,800,2026-01-31\n"
        "O3,2026-01-20 09:00:00,Closed Lost,800,2026-01-31\n"
    ),
    "forecasts": (
        "rep_id,submitted_at,period_start,period_end,amount,category\n"
        "R1,2026-01-05 08:00:00,2026-01-01,2026-01-31,1000,commit\n"
    ),
    "quotas": (
        "rep_id,period_start,period_end,quota\n"
        "R1,2026-01-01,2026-01-31,3000\n"
        "R2,2026-01-01,2026-01-31,3000\n"
    ),
    "trainings": "rep_id,competency,completed_at\nR2,conversation_to_appointment,2026-01-15 15:00:00\n",
}


def write_tables(folder: Path, tables: dict[str, str | None] | None = None) -> Path:
    """Write the valid tables to ``folder`` as CSV, replaced or removed (None) per ``tables``."""
    folder.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | None] = {**VALID_TABLES, **(tables or {})}
    for name, text in merged.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def valid_folder(tmp_path: Path) -> Path:
    """A folder holding the valid tiny dataset."""
    return write_tables(tmp_path / "data")


def deal_frames(deals: dict[str, tuple[str, str, list[tuple]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``{id: (rep, final status, [(changed_at, stage, amount, ecd), ...])}`` -> (opportunities, history).

    The first row is the creation; a won/lost deal closes at its last row, and the
    opportunity's current fields are its last history row.
    """
    us, ts = "datetime64[us]", pd.Timestamp
    opp_rows, hist_rows = [], []
    for oid, (rep, status, rows) in deals.items():
        for changed, stage, amount, ecd in rows:
            hist_rows.append((oid, ts(changed), stage, amount, ts(ecd) if ecd is not None else pd.NaT))
        last = rows[-1]
        closed = ts(last[0]) if status != "open" else pd.NaT
        ecd = ts(last[3]) if last[3] is not None else pd.NaT
        opp_rows.append((oid, rep, ts(rows[0][0]), last[2], last[1], status, ecd, closed))
    opps = pd.DataFrame(
        opp_rows,
        columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
    ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": us, "amount": "float64", "stage": "str",
              "status": "str", "expected_close_date": us, "closed_at": us})
    hist = pd.DataFrame(hist_rows, columns=["opportunity_id", "changed_at", "stage", "amount", "expected_close_date"])
    hist = hist.astype({"opportunity_id": "str", "changed_at": us, "stage": "str", "amount": "float64",
                        "expected_close_date": us})
    return opps, hist
