"""The canonical tables written as two hand-kept spreadsheet files, and their mapping.

:func:`write_spreadsheet` writes what a small team keeps instead of a CRM: ``deals.csv``
(one row per deal: the deal, the owner's name, the stage as text, the created and close
dates written day first, the value, the pipeline) and ``owners.csv`` (each owner's
manager and office), plus ``mapping.toml``, the worked example of ``docs/mapping.md``
that reads them. There is no activity log, history, forecast or quota: this is the
"reps and deals only" case.

Like real hand-kept files, the owner names are not always typed the same way: every
seventh deal has its owner's name in lower case with a doubled space, which the mapping
matches loosely (each such name is listed as a warning when the files are read).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["FILES", "write_spreadsheet"]

#: The files written, in order.
FILES: tuple[str, ...] = ("deals.csv", "owners.csv", "mapping.toml")

_DAY_FIRST = "%d/%m/%Y"


def _day(values: pd.Series) -> pd.Series:
    return values.dt.strftime(_DAY_FIRST).fillna("")


def _typed_by_hand(name: str) -> str:
    """The name as someone typing fast writes it: lower case, the first space doubled."""
    return re.sub(" ", "  ", name.lower(), count=1)


def write_spreadsheet(tables: Mapping[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write ``deals.csv``, ``owners.csv`` and ``mapping.toml`` into folder ``out``.

    ``Closed`` holds the close date of a closed deal and the expected close date of an
    open one, as one spreadsheet column usually does; times of day are dropped.

    Parameters
    ----------
    tables
        The canonical tables of :func:`salesx2lib.sample.generate` (``reps`` and
        ``opportunities`` are used).
    out
        The folder to write into (created if missing; other files are left alone).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of :data:`FILES`; the same tables always give
        byte-identical files.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reps = tables["reps"].set_index("rep_id")
    opps = tables["opportunities"].reset_index(drop=True)
    owner = opps["rep_id"].map(reps["rep_name"])
    retyped = (opps.index.to_series() % 7 == 3).to_numpy()
    owner = owner.where(~retyped, owner.map(_typed_by_hand))
    closed = opps["closed_at"].where(opps["status"] != "open", opps["expected_close_date"])
    deals = pd.DataFrame(
        {
            "Deal": opps["opportunity_id"],
            "Owner": owner,
            "Stage": opps["stage"],
            "Created": _day(opps["created_at"]),
            "Closed": _day(closed),
            "Value": opps["amount"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
            "Pipeline": "New business",
        }
    )
    owners = pd.DataFrame({"Owner": reps["rep_name"], "Manager": reps["manager"].fillna(""), "Office": reps["team"]})
    written = []
    for name, frame in (("deals.csv", deals), ("owners.csv", owners)):
        path = out / name
        path.write_text(frame.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL), encoding="utf-8")
        written.append(path)
    mapping = out / "mapping.toml"
    mapping.write_text((resources.files("salesx2lib") / "sample_crm" / "spreadsheet.toml").read_text(encoding="utf-8"))
    written.append(mapping)
    return written
