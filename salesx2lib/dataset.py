"""The validated dataset every analysis works on.

A :class:`Dataset` holds the small canonical tables as pandas DataFrames with canonical
dtypes (ids and text as ``str``, numbers as ``float64``, timestamps and dates as naive
UTC ``datetime64``), and the activity log as a lazy Ibis table that stays in the engine.
It knows its as-of date and can be narrowed to a team or a date range; it never changes
in place (each filter returns a new Dataset).

Build one with :func:`salesx2lib.load.load_dataset`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import ibis
import pandas as pd

from salesx2lib.problems import Problem
from salesx2lib.schema import TABLES

__all__ = ["Dataset", "MissingTableError"]

#: Each small table's event timestamp, used by :meth:`Dataset.between`.
_EVENT_COLUMN: dict[str, str] = {
    "opportunity_history": "changed_at",
    "forecasts": "submitted_at",
    "trainings": "completed_at",
}


_IBIS_TYPE: dict[str, str] = {"number": "float64", "timestamp": "timestamp", "date": "timestamp"}
_IBIS_TYPE.update(dict.fromkeys(("id", "text", "category"), "string"))


class MissingTableError(LookupError):
    """An analysis needs a table the dataset does not have.

    The message is one line a report can show as it is, e.g. ``needs the activities
    table (activities.csv or activities.parquet), which this dataset does not have``.
    """


@dataclass(frozen=True)
class Dataset:
    """Validated canonical tables, the lazy activity log, and the as-of date.

    Attributes
    ----------
    tables
        Small tables by canonical name (``reps``, ``opportunities`` always; the optional
        ones only when present). Never the activity log.
    activities
        The activity log as a lazy Ibis table (columns as in the data contract), or
        ``None`` when the source has none. Aggregate it with :mod:`salesx2lib.rollup`.
    as_of
        The moment the data describes: by default the latest event in it (activity,
        opportunity creation or close, history change) not after the day the export was
        taken (:func:`salesx2lib.load.data_date`).
    source
        Where the data came from, for messages and report footers.
    as_of_source
        Where ``as_of`` came from (``"given"``, ``"the latest event in the data"``...),
        for the summary.
    warnings
        Soft problems found while loading (they did not stop the run).
    notes
        What a mapping did: rows each filter excluded and each note counted, files of
        the export it did not read.
    """

    tables: Mapping[str, pd.DataFrame]
    activities: ibis.Table | None
    as_of: pd.Timestamp
    source: str = ""
    as_of_source: str = ""
    warnings: tuple[Problem, ...] = field(default=())
    notes: tuple[Problem, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        if self.activities is not None:
            # Every analysis may rely on the contract's columns: add absent optional ones as
            # empty (the loader already does; this covers a Dataset built by hand).
            missing = {
                c.name: ibis.null().cast(_IBIS_TYPE[c.kind])
                for c in TABLES["activities"].columns
                if not c.required and c.name not in self.activities.columns
            }
            if missing:
                object.__setattr__(self, "activities", self.activities.mutate(**missing))

    # -- access -----------------------------------------------------------------------
    def has(self, name: str) -> bool:
        """Whether the dataset has table ``name`` (the activity log included)."""
        if name == "activities":
            return self.activities is not None
        return name in self.tables

    def require(self, *names: str) -> None:
        """Raise :class:`MissingTableError` naming the first missing table of ``names``."""
        for name in names:
            if name not in TABLES:
                raise KeyError(f"{name!r} is not a canonical table")
            if not self.has(name):
                raise MissingTableError(
                    f"needs the {name} table ({name}.csv or {name}.parquet), "
                    "which this dataset does not have"
                )

    def table(self, name: str) -> pd.DataFrame:
        """A small table by name; :class:`MissingTableError` if the dataset has none."""
        if name == "activities":
            raise ValueError("the activity log is lazy: use Dataset.activities or salesx2lib.rollup")
        self.require(name)
        return self.tables[name]

    @property
    def reps(self) -> pd.DataFrame:
        """The reps table."""
        return self.tables["reps"]

    @property
    def opportunities(self) -> pd.DataFrame:
        """The opportunities table."""
        return self.tables["opportunities"]

    @property
    def teams(self) -> list[str]:
        """Team names, sorted."""
        return sorted(self.reps["team"].unique().tolist())

    # -- filters ------------------------------------------------------------------------
    def for_team(self, team: str | Sequence[str]) -> Dataset:
        """The same data restricted to the reps of ``team`` (one name or several).

        Every table keyed by rep is filtered to those reps; opportunity history follows
        its opportunities. The as-of date is kept (it describes the whole source).
        """
        wanted = [team] if isinstance(team, str) else list(team)
        unknown = sorted(set(wanted) - set(self.teams))
        if unknown:
            raise ValueError(f"unknown team {', '.join(map(repr, unknown))} (teams: {', '.join(self.teams)})")
        reps = self.reps.loc[self.reps["team"].isin(wanted)]
        rep_ids = reps["rep_id"]
        tables: dict[str, pd.DataFrame] = {}
        for name, df in self.tables.items():
            if name == "reps":
                tables[name] = reps
            elif "rep_id" in df.columns:
                tables[name] = df.loc[df["rep_id"].isin(rep_ids)]
            else:
                tables[name] = df
        if "opportunity_history" in tables:
            hist = tables["opportunity_history"]
            keep = hist["opportunity_id"].isin(tables["opportunities"]["opportunity_id"])
            tables["opportunity_history"] = hist.loc[keep]
        activities = self.activities
        if activities is not None:
            activities = activities.filter(activities.rep_id.isin(rep_ids.tolist()))
        return replace(self, tables=tables, activities=activities)

    def between(self, start: pd.Timestamp | str | None = None, end: pd.Timestamp | str | None = None) -> Dataset:
        """The same data restricted to events in ``[start, end)``.

        Activities, history changes, forecast submissions and trainings are kept when
        their timestamp falls in the range; opportunities when they were alive in it
        (created before ``end`` and not closed before ``start``); quotas when their period
        overlaps it. The as-of date becomes ``min(as_of, end)``.
        """
        lo = pd.Timestamp(start) if start is not None else None
        hi = pd.Timestamp(end) if end is not None else None
        if lo is not None and hi is not None and hi <= lo:
            raise ValueError(f"end {hi.date()} must be after start {lo.date()}")
        tables: dict[str, pd.DataFrame] = {}
        for name, df in self.tables.items():
            keep = pd.Series(True, index=df.index)
            if name == "opportunities":
                if hi is not None:
                    keep &= df["created_at"] < hi
                if lo is not None:
                    keep &= df["closed_at"].isna() | (df["closed_at"] >= lo)
            elif name == "quotas":
                if hi is not None:
                    keep &= df["period_start"] < hi
                if lo is not None:
                    keep &= df["period_end"] >= lo.normalize()
            elif name in _EVENT_COLUMN:
                ts = df[_EVENT_COLUMN[name]]
                if lo is not None:
                    keep &= ts >= lo
                if hi is not None:
                    keep &= ts < hi
            tables[name] = df.loc[keep]
        activities = self.activities
        if activities is not None:
            if lo is not None:
                activities = activities.filter(activities.occurred_at >= lo.to_pydatetime())
            if hi is not None:
                activities = activities.filter(activities.occurred_at < hi.to_pydatetime())
        if hi is None or hi >= self.as_of:
            return replace(self, tables=tables, activities=activities)
        return replace(self, tables=tables, activities=activities, as_of=hi, as_of_source="the end of the range kept")
