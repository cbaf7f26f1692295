"""Writing a loaded dataset as a folder of canonical tables.

A CRM export read through a preset or mapping is validated and mapped every time it is
loaded: seconds for a large export, in every notebook and every team's report kernel.
:func:`write_canonical` writes the mapped dataset once as the canonical folder the loader
reads fastest (the small tables as CSV an analyst can open, the activity log as Parquet
written by DuckDB, never through pandas). Loading that folder gives the same tables.
"""

from __future__ import annotations

from pathlib import Path

from salesx2lib.dataset import Dataset
from salesx2lib.folders import new_folder
from salesx2lib.schema import TABLES

__all__ = ["write_canonical"]


def write_canonical(dataset: Dataset, out: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write every table of ``dataset`` into folder ``out``, in the canonical shape.

    ``reps.csv``, ``opportunities.csv`` and each other small table present as CSV (ISO
    dates and times, UTC; an empty cell for a missing value), and ``activities.parquet``
    when the dataset has an activity log. The folder appears whole or not at all
    (:func:`salesx2lib.folders.new_folder`).

    Parameters
    ----------
    dataset
        A loaded dataset (:func:`salesx2lib.load.load_dataset`), typically a CRM export.
    out
        The folder to create.
    overwrite
        Replace ``out`` if it exists (default: refuse).

    Returns
    -------
    list of pathlib.Path
        The files written, in canonical table order.

    Raises
    ------
    FileExistsError
        ``out`` exists and ``overwrite`` is false (nothing is written).
    """
    final = Path(out).resolve()
    names = [f"{name}.csv" for name in dataset.tables]
    with new_folder(final, overwrite=overwrite) as build:
        for name, frame in dataset.tables.items():
            frame.to_csv(build / f"{name}.csv", index=False, lineterminator="\n")
        if dataset.activities is not None:
            dataset.activities.to_parquet(build / "activities.parquet")
            names.append("activities.parquet")
    order = {name: i for i, name in enumerate(TABLES)}
    return sorted((final / n for n in names), key=lambda p: order[p.stem])
