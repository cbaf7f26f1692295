"""The pipeline as it stood at a past moment, rebuilt from opportunity history.

``opportunities`` describes every deal *now*; ``opportunity_history`` holds a row each time
a deal's stage, amount or expected close date changed (Salesforce's OpportunityHistory
shape, with a row at creation). The state of a deal at an instant ``D`` is its latest
history row with ``changed_at <= D``; its status at ``D`` is its current status if it was
closed by then (``closed_at <= D``) and ``open`` otherwise. Nothing recorded after ``D`` is
used, which is what makes a backtest honest.

An *as-of date* is an instant (naive UTC): everything stamped at or before it is known. A
bare date such as ``2026-03-02`` means midnight at its start. A deal with no history row
at or before ``D`` has an unknown stage, amount and expected close date at ``D`` (NA), since
its state then is not in the data; current values are never borrowed from the future.

All of it is vectorised: the grid of (deal, date) pairs is built with ``searchsorted`` and
joined to the history with one ``merge_asof``, so 52 weekly snapshots of 200k deals take
about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.periods import forecast_as_of, to_timestamp

__all__ = ["ALL", "as_of", "prepare_history", "resolve_as_of", "snapshots"]

#: The team name of result rows that cover every team (forecast, cycle and scrub tables).
ALL = "all"

_STATE = ("stage", "amount", "expected_close_date")
_US = "datetime64[us]"


def resolve_as_of(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None,
    *,
    default: Literal["week_end", "latest_event"] = "week_end",
) -> pd.Timestamp:
    """The as-of instant to use: ``as_of`` as a naive UTC timestamp, or the default rule's.

    The one owner of the as-of defaults. ``as_of=None`` gives, by ``default``:

    * ``"week_end"`` (the weekly rule, for what is forecast or acted on each week: the
      rolling forecast and the end of its backtest, the scrub, the cadence and the
      waterfall, the forecast explorer, the metrics tables of
      :data:`salesx2lib.metrics.FORECAST_TABLES` and the weekly report):
      ``forecast_as_of(dataset.as_of)`` (:func:`salesx2lib.periods.forecast_as_of`),
      Monday 00:00 after the latest complete week of the data. On the sample: Monday
      2026-11-23 00:00, not the latest event (Sunday 2026-11-22 19:57); for data ending on
      a Wednesday, the Monday before it.
    * ``"latest_event"`` (for what measures the past: the cycle and horizon tables):
      ``dataset.as_of``, the latest event in the data not after the day the export was
      taken (:func:`salesx2lib.load.data_date`, the one owner of that rule).

    An aware timestamp is converted to UTC; a string is parsed (``"2026-03-02"`` is that
    day's midnight). A given ``as_of`` is always used as it is.
    """
    if as_of is None:
        if default == "week_end":
            return forecast_as_of(dataset.as_of)
        if default == "latest_event":
            return pd.Timestamp(dataset.as_of).as_unit("us")
        raise ValueError(f"default must be 'week_end' or 'latest_event', not {default!r}")
    return to_timestamp(as_of, "as-of date")


def _require_columns(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{table} is missing column {missing[0]!r}")


def prepare_history(opportunities: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """History rows in time order per deal, with what each row implies at its moment.

    For each history row: ``n_pushes`` = number of rows so far (this one included) whose
    expected close date is later than the previous row's; ``stage_entered_at`` = the
    ``changed_at`` of the first row of the current run of the same stage.

    Parameters
    ----------
    opportunities
        The current opportunities table (gives each deal its position ``opp_index``).
    history
        The opportunity_history table. Rows of unknown deals are ignored.

    Returns
    -------
    pandas.DataFrame
        ``opp_index`` (int64, position in ``opportunities``), ``changed_at``, ``stage``,
        ``amount``, ``expected_close_date``, ``n_pushes`` (int64), ``stage_entered_at``;
        sorted by ``opp_index`` then ``changed_at`` (ties keep the file's order).
    """
    _require_columns(opportunities, "opportunities", ("opportunity_id", "created_at"))
    _require_columns(history, "opportunity_history", ("opportunity_id", "changed_at", *_STATE))
    n = len(opportunities)
    ids = pd.concat([opportunities["opportunity_id"], history["opportunity_id"]], ignore_index=True)
    codes = pd.factorize(ids)[0][n:]  # unique ids come first, so a deal's code is its row
    keep = (codes >= 0) & (codes < n)
    code = codes[keep].astype("int64")
    t = history["changed_at"].to_numpy(dtype=_US)[keep]
    order = np.lexsort((t.view("int64"), code))  # stable: ties keep the file's order
    code, t = code[order], t[order]
    stage_codes, stage_names = pd.factorize(history["stage"])
    stage_codes = stage_codes[keep][order]
    ecd = history["expected_close_date"].to_numpy(dtype=_US)[keep][order]
    amount = history["amount"].to_numpy(dtype="float64", na_value=np.nan)[keep][order]
    same = np.r_[False, code[1:] == code[:-1]]
    prev_ecd = np.r_[np.array(["NaT"], dtype=_US), ecd[:-1]]
    pushed = same & ~np.isnat(ecd) & ~np.isnat(prev_ecd) & (ecd > prev_ecd)
    cum = np.cumsum(pushed.astype("int64"))
    first_row = np.flatnonzero(~same)
    base = np.repeat(cum[first_row] - pushed[first_row], np.diff(np.r_[first_row, len(code)]))
    new_run = ~same | np.r_[True, stage_codes[1:] != stage_codes[:-1]]
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(code)), 0)) if len(code) else np.zeros(0, "int64")
    stage = pd.Series(pd.array(stage_names, dtype="str")).take(stage_codes).reset_index(drop=True)
    stage = stage.where(stage_codes >= 0)
    return pd.DataFrame(
        {
            "opp_index": code,
            "changed_at": t,
            "stage": stage.astype("str"),
            "amount": amount,
            "expected_close_date": ecd,
            "n_pushes": (cum - base).astype("int64"),
            "stage_entered_at": t[run_start],
        }
    )


def snapshots(
    opportunities: pd.DataFrame,
    history: pd.DataFrame,
    dates: Sequence[pd.Timestamp | str] | pd.DatetimeIndex,
    open_only: bool = False,
    prepared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every deal's state at each of several instants, in one long table.

    For a deal ``o`` and instant ``D`` with ``o.created_at <= D``: stage, amount, expected
    close date = those of ``o``'s last history row with ``changed_at <= D`` (NA if none);
    ``status = o.status if o.closed_at <= D else "open"``; ``closed_at`` likewise.

    Parameters
    ----------
    opportunities, history
        The current opportunities table and the opportunity history.
    dates
        The as-of instants.
    open_only
        Keep only deals open at each instant (``closed_at`` empty or after it).
    prepared
        The result of :func:`prepare_history` for these tables, to reuse it.

    Returns
    -------
    pandas.DataFrame
        ``as_of_date`` then the columns of ``opportunities`` (in their order and dtypes,
        with the values they had at ``as_of_date``), then ``state_known`` (bool: a history
        row existed by then), ``n_pushes`` (Int64: expected-close-date pushes so far),
        ``stage_entered_at`` (when the deal entered its stage of that moment) and
        ``last_changed_at``. Sorted by ``as_of_date`` then the deal's row in
        ``opportunities``.
    """
    _require_columns(opportunities, "opportunities", ("opportunity_id", "created_at", "status", "closed_at", *_STATE))
    h = prepare_history(opportunities, history) if prepared is None else prepared
    d = np.unique(np.asarray(pd.DatetimeIndex([to_timestamp(x, "as-of date") for x in dates]).as_unit("us").to_numpy()))
    created = opportunities["created_at"].to_numpy(dtype=_US)
    closed = opportunities["closed_at"].to_numpy(dtype=_US)
    first = np.searchsorted(d, created, side="left")  # first date >= created_at
    if open_only:
        last = np.where(np.isnat(closed), len(d), np.searchsorted(d, closed, side="left"))
    else:
        last = np.full(len(created), len(d))
    count = np.clip(last - first, 0, None)
    opp_index = np.repeat(np.arange(len(created)), count)
    starts = np.repeat(first, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    date_idx = starts + offsets
    perm = np.argsort(date_idx, kind="stable")  # by date, then the deal's row
    opp_index, date_idx = opp_index[perm], date_idx[perm]
    grid = pd.DataFrame({"t": d[date_idx].view("int64"), "opp_index": opp_index.astype("int64")})
    h_t = h["changed_at"].to_numpy(dtype=_US).view("int64")
    h_perm = np.argsort(h_t, kind="stable")  # merge_asof wants both sides sorted by time
    right = pd.DataFrame({"t": h_t[h_perm], "opp_index": h["opp_index"].to_numpy()[h_perm], "hrow": h_perm})
    joined = pd.merge_asof(grid, right, on="t", by="opp_index", direction="backward", allow_exact_matches=True)
    hrow = joined["hrow"].to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(hrow)
    hidx = np.where(known, hrow, 0).astype("int64")

    out = opportunities.take(opp_index).reset_index(drop=True)
    when = d[date_idx]
    for col in _STATE:
        values = h[col].take(hidx).reset_index(drop=True)
        out[col] = values.where(known).astype(opportunities[col].dtype)
    is_closed = ~np.isnat(closed[opp_index]) & (closed[opp_index] <= when)
    out["status"] = out["status"].where(is_closed, "open")
    out["closed_at"] = out["closed_at"].where(is_closed)
    out.insert(0, "as_of_date", pd.Series(when, dtype=_US))
    out["state_known"] = known
    out["n_pushes"] = pd.Series(h["n_pushes"].to_numpy()[hidx], dtype="Int64").where(known)
    out["stage_entered_at"] = pd.Series(h["stage_entered_at"].to_numpy()[hidx], dtype=_US).where(known)
    out["last_changed_at"] = pd.Series(h["changed_at"].to_numpy()[hidx], dtype=_US).where(known)
    return out


def as_of(opportunities: pd.DataFrame, history: pd.DataFrame, date: pd.Timestamp | str) -> pd.DataFrame:
    """The opportunities table as it stood at ``date``, rebuilt from the history.

    Deals created after ``date`` are absent; for the others stage, amount and expected close
    date are those of the last history row with ``changed_at <= date`` (NA if there is
    none); ``status`` and ``closed_at`` are the current ones if ``closed_at <= date``, else
    ``open`` and empty. With a complete history, ``as_of`` at the latest timestamp of the
    data returns the current table.

    Parameters
    ----------
    opportunities
        The current opportunities table.
    history
        The opportunity_history table.
    date
        The as-of instant (naive UTC; a date means its midnight).

    Returns
    -------
    pandas.DataFrame
        Same columns and dtypes as ``opportunities``, rows in its order, index 0..n-1.

    Examples
    --------
    >>> past = as_of(dataset.opportunities, dataset.table("opportunity_history"), "2026-01-05")
    ... # doctest: +SKIP
    """
    snap = snapshots(opportunities, history, [date])
    return snap[list(opportunities.columns)].reset_index(drop=True)
