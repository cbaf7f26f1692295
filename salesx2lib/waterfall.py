"""What changed in the pipeline this week: the pipeline waterfall, per team and per deal.

The *pipeline* of a period ``P = [period_start, period_end]`` (by default the calendar
quarter holding the week's last day, as Salesforce's Pipeline Inspection and Clari show
it; ``[forecast] waterfall_period = "month"`` for its month) at an instant ``D`` is the set of deals open at ``D`` whose expected close date at
``D`` falls in ``P``, each counted at its amount at ``D`` (an unknown amount counts 0).
Both states come from the history (:func:`salesx2lib.pipeline.snapshots`), so a past
week's waterfall is the one a manager would have seen then.

Between the instants ``S`` (the start, a week before ``E`` by default) and ``E`` (the
as-of instant, by default the weekly rule's Monday 00:00), each deal moves the pipeline
by these steps, events stamped in ``(S, E]`` (an event at ``S`` itself belongs to the
week before, as everything stamped at or before an instant is known at it):

============  ===================================================================================
step          deals and amount
============  ===================================================================================
start         in the pipeline at ``S``, at their amount at ``S``
new           created in ``(S, E]`` and in the pipeline at ``E``, or closed in ``(S, E]`` with an
              expected close date in ``P``; at their amount at ``E``
pulled_in     created by ``S`` and not in the pipeline at ``S`` (expected close after ``P``,
              before it, or unknown), and in it at ``E`` (or closed in the week, as for new)
amount_up     in the pipeline at ``S``: amount at ``E`` minus amount at ``S``, when positive
amount_down   the same, when negative (as a positive amount that is taken off)
pushed_out    in the pipeline at ``S``, still open at ``E`` but expected to close outside ``P``
              (later, earlier, or no date any more); at the amount at ``E``
won, lost     in the pipeline at ``S`` or entering it this week (new, pulled in), closed won or
              lost in ``(S, E]``; at the amount at ``E`` (the amount it closed at)
end           in the pipeline at ``E``, at their amount at ``E``
============  ===================================================================================

so that for every deal, and therefore every team, exactly::

    end = start + new + pulled_in + amount_up - pushed_out - amount_down - won - lost

(amounts are summed in whole cents, so the identity holds to the cent with no rounding
drift). A deal that leaves the pipeline first has its amount change booked, then leaves at
its end amount: a deal won for more than it was worth at ``S`` shows ``amount_up`` and
``won``. A deal created and won in the same week shows ``new`` and ``won``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.periods import WEEK, to_timestamp
from salesx2lib.pipeline import ALL, resolve_as_of, snapshots
from salesx2lib.settings import Settings, load_settings

__all__ = ["STEPS", "WATERFALL_COLUMNS", "WATERFALL_DEAL_COLUMNS", "pipeline_period", "waterfall", "waterfall_deals"]

#: The steps of the waterfall, in the order they are shown; each movement's sign.
STEPS: dict[str, int] = {
    "start": 1,
    "new": 1,
    "pulled_in": 1,
    "pushed_out": -1,
    "amount_up": 1,
    "amount_down": -1,
    "won": -1,
    "lost": -1,
    "end": 1,
}
_MOVES = [s for s in STEPS if s not in ("start", "end")]

#: Columns of :func:`waterfall`.
WATERFALL_COLUMNS: tuple[str, ...] = (
    "team", "from_date", "to_date", "period_start", "period_end", "step", "amount", "n_deals", "level_before", "level_after",
)

#: Columns of :func:`waterfall_deals`.
WATERFALL_DEAL_COLUMNS: tuple[str, ...] = (
    "team", "rep_id", "opportunity_id", "step", "amount", "explanation", "from_date", "to_date", "period_start",
    "period_end", "stage_start", "stage_end", "amount_start", "amount_end", "expected_close_start",
    "expected_close_end", "status_end", "created_at", "closed_at",
)

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)


def pipeline_period(to_date: pd.Timestamp | str, period: str = "quarter") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The default period of the waterfall: the calendar quarter (or month) of the week's last day.

    ``quarter(day(to_date - 1 microsecond))``, so a week ending Monday 00:00 is in the
    quarter of its Sunday (the week of 29 September to 5 October 2025 reads Q4).

    Parameters
    ----------
    to_date
        The end of the week (the waterfall's as-of instant).
    period
        ``"quarter"`` or ``"month"`` (``[forecast] waterfall_period``).

    Returns
    -------
    tuple of pandas.Timestamp
        ``(period_start, period_end)``: the quarter's first and last day (midnight).

    Examples
    --------
    >>> pipeline_period("2026-11-23")
    (Timestamp('2026-10-01 00:00:00'), Timestamp('2026-12-31 00:00:00'))
    >>> pipeline_period("2026-10-05")  # the week of 29 September: its Sunday is in Q4
    (Timestamp('2026-10-01 00:00:00'), Timestamp('2026-12-31 00:00:00'))
    >>> pipeline_period("2026-11-23", "month")
    (Timestamp('2026-11-01 00:00:00'), Timestamp('2026-11-30 00:00:00'))
    """
    if period not in ("quarter", "month"):
        raise ValueError(f"period must be 'quarter' or 'month', not {period!r}")
    last = (to_timestamp(to_date, "date") - pd.Timedelta(microseconds=1)).to_period("Q" if period == "quarter" else "M")
    return last.start_time.as_unit("us"), last.end_time.normalize().as_unit("us")


def _cents(amount: pd.Series) -> np.ndarray:
    return np.rint(amount.to_numpy(dtype="float64", na_value=np.nan) * 100).astype("float64")


def _deal_moves(
    dataset: Dataset,
    settings: Settings | None,
    as_of: pd.Timestamp | str | None,
    start: pd.Timestamp | str | None,
    period_start: pd.Timestamp | str | None,
    period_end: pd.Timestamp | str | None,
) -> tuple[pd.DataFrame, dict[str, pd.Timestamp]]:
    """One row per deal existing at ``E``: its states at ``S`` and ``E`` and its moves in cents."""
    dataset.require("opportunity_history")
    e = resolve_as_of(dataset, as_of)
    s = e - WEEK if start is None else to_timestamp(start, "start")
    if s >= e:
        raise ValueError(f"start {s} must be before the as-of instant {e}")
    p0, p1 = pipeline_period(e, (settings or load_settings()).forecast_waterfall_period)
    p0 = p0 if period_start is None else to_timestamp(period_start, "period start").normalize()
    p1 = p1 if period_end is None else to_timestamp(period_end, "period end").normalize()
    if p1 < p0:
        raise ValueError(f"period end {p1.date()} is before period start {p0.date()}")
    bounds = {"from_date": s, "to_date": e, "period_start": p0, "period_end": p1}

    opps = dataset.opportunities
    snap = snapshots(opps, dataset.table("opportunity_history"), [s, e])
    at_e = snap.loc[snap["as_of_date"] == e].reset_index(drop=True)
    at_s = snap.loc[snap["as_of_date"] == s, ["opportunity_id", "stage", "amount", "expected_close_date", "status"]]
    at_s = at_s.rename(columns={"stage": "stage_start", "amount": "amount_start", "expected_close_date": "expected_close_start", "status": "status_start"})
    d = at_e.rename(columns={"stage": "stage_end", "amount": "amount_end", "expected_close_date": "expected_close_end", "status": "status_end"})
    d = d.merge(at_s, on="opportunity_id", how="left")

    def in_period(ecd: pd.Series) -> np.ndarray:
        return (ecd.notna() & (ecd >= p0) & (ecd < p1 + _DAY)).to_numpy(dtype=bool)

    existed = d["created_at"].le(s).to_numpy(dtype=bool)
    open_s = existed & d["status_start"].eq("open").fillna(False).to_numpy(dtype=bool)
    in_s = open_s & in_period(d["expected_close_start"])
    open_e = d["status_end"].eq("open").to_numpy(dtype=bool)
    closed_week = ~open_e & d["closed_at"].gt(s).fillna(False).to_numpy(dtype=bool)
    in_p_e = in_period(d["expected_close_end"])
    in_e = open_e & in_p_e
    enters = ~in_s & (in_e | (closed_week & in_p_e))
    a_s = np.nan_to_num(_cents(d["amount_start"]))
    a_e = np.nan_to_num(_cents(d["amount_end"]))
    change = np.where(in_s, a_e - a_s, 0.0)
    won = (in_s | enters) & closed_week & d["status_end"].eq("won").to_numpy(dtype=bool)
    lost = (in_s | enters) & closed_week & d["status_end"].eq("lost").to_numpy(dtype=bool)
    moves = {
        "start": np.where(in_s, a_s, 0.0),
        "new": np.where(enters & ~existed, a_e, 0.0),
        "pulled_in": np.where(enters & existed, a_e, 0.0),
        "pushed_out": np.where(in_s & open_e & ~in_e, a_e, 0.0),
        "amount_up": np.clip(change, 0.0, None),
        "amount_down": np.clip(-change, 0.0, None),
        "won": np.where(won, a_e, 0.0),
        "lost": np.where(lost, a_e, 0.0),
        "end": np.where(in_e, a_e, 0.0),
    }
    flags = {
        "start": in_s,
        "new": enters & ~existed,
        "pulled_in": enters & existed,
        "pushed_out": in_s & open_e & ~in_e,
        "amount_up": change > 0,
        "amount_down": change < 0,
        "won": won,
        "lost": lost,
        "end": in_e,
    }
    for step in STEPS:
        d[f"c_{step}"] = moves[step].astype("int64")
        d[f"f_{step}"] = flags[step]
    teams = dataset.reps.set_index("rep_id")["team"]
    d["team"] = d["rep_id"].map(teams).astype("str")
    return d, bounds


def waterfall(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    period_start: pd.Timestamp | str | None = None,
    period_end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The pipeline waterfall per team and for ``all``, between ``start`` and ``as_of``.

    ``end = start + new + pulled_in + amount_up - pushed_out - amount_down - won - lost``
    exactly (in cents), with each step as defined in the module docstring; the pipeline is
    the open deals expected to close in ``[period_start, period_end]``.

    Parameters
    ----------
    dataset
        Needs ``opportunities``, ``reps`` and ``opportunity_history``.
    as_of
        The week's end ``E``; default the weekly rule's (Monday 00:00 after the latest
        complete week, :func:`salesx2lib.pipeline.resolve_as_of`).
    settings
        ``[forecast] waterfall_period`` (quarter or month) for the default period.
    start
        The instant ``S`` to compare with; default a week before ``as_of``.
    period_start, period_end
        First and last day of the period whose pipeline is followed; default the calendar
        quarter (or month, per ``waterfall_period``) of the week's last day
        (:func:`pipeline_period`). Pass the forecast window
        (``E`` to ``E + window_days - 1``) to follow the rolling forecast's pipeline.

    Returns
    -------
    pandas.DataFrame
        :data:`WATERFALL_COLUMNS`: per team (each team of ``reps``, then ``all``) one row per
        step of :data:`STEPS` in order: ``amount`` (signed: what the step adds to the
        pipeline; ``start`` and ``end`` are the totals), ``n_deals`` (deals in the step),
        ``level_before`` and ``level_after`` (the running total the waterfall bar spans),
        with ``from_date`` (``S``), ``to_date`` (``E``), ``period_start``, ``period_end``.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    ValueError
        If ``start`` is not before ``as_of`` or the period ends before it starts.

    Examples
    --------
    >>> waterfall(dataset).query("team == 'all'")[["step", "amount", "n_deals"]]  # doctest: +SKIP
    """
    d, bounds = _deal_moves(dataset, settings, as_of, start, period_start, period_end)
    teams = list(dataset.teams)
    cents = d[[f"c_{s}" for s in STEPS]].groupby(d["team"]).sum()
    counts = d[[f"f_{s}" for s in STEPS]].groupby(d["team"]).sum()
    cents.loc[ALL] = d[[f"c_{s}" for s in STEPS]].sum()
    counts.loc[ALL] = d[[f"f_{s}" for s in STEPS]].sum()
    rows = []
    for team in [*teams, ALL]:
        c = cents.loc[team] if team in cents.index else pd.Series(0, index=cents.columns)
        n = counts.loc[team] if team in counts.index else pd.Series(0, index=counts.columns)
        level = 0
        for step, sign in STEPS.items():
            value = int(c[f"c_{step}"])
            if step == "start":
                before, after, signed = 0, value, value
            elif step == "end":
                before, after, signed = 0, value, value
            else:
                signed = sign * value
                before, after = level, level + signed
            level = after if step != "end" else level
            rows.append((team, step, signed, int(n[f"f_{step}"]), before, after))
    out = pd.DataFrame(rows, columns=["team", "step", "c_amount", "n_deals", "c_before", "c_after"])
    out = out.assign(
        amount=out["c_amount"] / 100.0,
        level_before=out["c_before"] / 100.0,
        level_after=out["c_after"] / 100.0,
        n_deals=out["n_deals"].astype("int64"),
        **{k: pd.Series(v, index=out.index, dtype=_US) for k, v in bounds.items()},
    )
    return out[list(WATERFALL_COLUMNS)].astype({"team": "str", "step": "str"})


def _fmt_amount(cents: pd.Series) -> pd.Series:
    return (cents / 100.0).map(lambda v: f"{v:,.0f}" if v == round(v) else f"{v:,.2f}").astype("str")


def _fmt_day(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%d").fillna("none").astype("str")


def waterfall_deals(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    start: pd.Timestamp | str | None = None,
    period_start: pd.Timestamp | str | None = None,
    period_end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Every movement of :func:`waterfall`, deal by deal, with what happened in words.

    Same arguments and definitions as :func:`waterfall`; ``start`` and ``end`` memberships
    are not listed (only movements), so the sum of ``amount`` per team and step equals the
    waterfall's row.

    Returns
    -------
    pandas.DataFrame
        :data:`WATERFALL_DEAL_COLUMNS`: one row per deal and movement (a deal can move
        twice: ``amount_up`` then ``won``, ``new`` then ``lost``): ``step``, ``amount``
        (signed as in the waterfall), ``explanation`` (e.g. ``expected close 2026-12-10 ->
        2027-01-15``), the deal's stage, amount and expected close date at ``from_date`` and
        ``to_date``, ``status_end``, ``created_at``, ``closed_at``. Sorted by team, step (in
        the waterfall's order), largest amount first.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    """
    d, bounds = _deal_moves(dataset, settings, as_of, start, period_start, period_end)
    ecd_s, ecd_e = _fmt_day(d["expected_close_start"]), _fmt_day(d["expected_close_end"])
    amt_s = _fmt_amount(pd.Series(np.nan_to_num(_cents(d["amount_start"])), index=d.index))
    amt_e = _fmt_amount(pd.Series(np.nan_to_num(_cents(d["amount_end"])), index=d.index))
    closed = _fmt_day(d["closed_at"])
    words = {
        "new": "created " + _fmt_day(d["created_at"]) + ", expected to close " + ecd_e + ", amount " + amt_e,
        "pulled_in": "expected close " + ecd_s + " -> " + ecd_e + " (into the period)",
        "pushed_out": "expected close " + ecd_s + " -> " + ecd_e + " (out of the period)",
        "amount_up": "amount " + amt_s + " -> " + amt_e,
        "amount_down": "amount " + amt_s + " -> " + amt_e,
        "won": "closed won " + closed + " at " + amt_e,
        "lost": "closed lost " + closed + " at " + amt_e,
    }
    parts = []
    keep = ["team", "rep_id", "opportunity_id", "stage_start", "stage_end", "amount_start", "amount_end",
            "expected_close_start", "expected_close_end", "status_end", "created_at", "closed_at"]
    for step in _MOVES:
        mask = d[f"f_{step}"].to_numpy(dtype=bool)
        part = d.loc[mask, keep].assign(
            step=step,
            amount=STEPS[step] * d.loc[mask, f"c_{step}"] / 100.0,
            explanation=words[step][mask],
            _order=_MOVES.index(step),
            _abs=d.loc[mask, f"c_{step}"],
        )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    team_order = {t: i for i, t in enumerate(dataset.teams)}
    out = out.assign(_team=out["team"].map(team_order)).sort_values(["_team", "_order", "_abs", "opportunity_id"], ascending=[True, True, False, True], kind="stable")
    for k, v in bounds.items():
        out[k] = pd.Series(v, index=out.index, dtype=_US)
    out = out.astype({"team": "str", "step": "str", "explanation": "str", "amount": "float64"})
    return out[list(WATERFALL_DEAL_COLUMNS)].reset_index(drop=True)
