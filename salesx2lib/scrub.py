"""Gates and the scrub: which open deals belong in the forecast, and which to question.

A *gate* is what a deal must have before it is listed in the forecast: a minimum stage and
some fields filled in (``[gate]`` in the settings). The *scrub* puts every open deal
through realism checks and says, in words a manager can use in a one-to-one, what to ask
the rep:

=========================  =======================================================  ====================
flag                       rule                                                     needs
=========================  =======================================================  ====================
``pushed``                 expected close date moved later >= ``push_threshold``    opportunity_history
                           times
``past_close_date``        expected close date before the as-of day, still open     -
``no_recent_activity``     no activity on the deal in ``stale_activity_days`` days  activities
                           (and the deal is older than that)
``stale_in_stage``         days in stage > ``stage_duration_factor`` x the median   opportunity_history
                           time won deals spent in that stage
``amount_outlier``         log(amount) outside the rep's won amounts' Tukey fences  -
                           ``[Q1 - k IQR, Q3 + k IQR]`` (log scale, k =
                           ``amount_iqr_factor``)
``early_stage_in_window``  stage in ``early_stages`` yet expected to close inside   -
                           the forecast window
=========================  =======================================================  ====================

A flag that cannot be checked is NA (not False) and the row's ``not_checked`` says why, so
a missing table only disables the flags that need it. Everything learned from the past
(stage medians, the rep's won amounts) uses only deals decided by the as-of date.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.pipeline import prepare_history, resolve_as_of, snapshots
from salesx2lib.rollup import last_activity
from salesx2lib.settings import Settings, load_settings

__all__ = ["FLAGS", "flag_counts", "gate", "join_reasons", "pipeline_state", "scrub", "stage_durations"]

#: The scrub flags, in the order they appear as ``flag_<name>`` columns.
FLAGS: tuple[str, ...] = (
    "pushed",
    "past_close_date",
    "no_recent_activity",
    "stale_in_stage",
    "amount_outlier",
    "early_stage_in_window",
)

_DAY = pd.Timedelta(days=1)
_US = "datetime64[us]"
_NEEDS_HISTORY = "needs the opportunity_history table"
_NEEDS_ACTIVITIES = "needs the activities table"


def gate(snapshot: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Whether each deal passes the gate, and if not why.

    ``passes_gate = stage_index(stage) >= stage_index(gate.minimum_stage) and all
    gate.required_fields are filled``; stage_index counts the open stages of
    ``stages.order`` (a closed or unknown stage never passes).

    Parameters
    ----------
    snapshot
        Deals with ``stage`` and every column named in ``gate.required_fields``.
    settings
        The stage order and the gate.

    Returns
    -------
    pandas.DataFrame
        Same index: ``passes_gate`` (bool), ``gate_reason`` (str: empty when it passes,
        else every failed condition joined by ``"; "``).
    """
    missing = [f for f in settings.gate_required_fields if f not in snapshot.columns]
    if missing:
        raise ValueError(f"gate.required_fields names {missing[0]!r}, which the opportunities table does not have")
    order = {s: i for i, s in enumerate(settings.stage_order)}
    minimum = order[settings.gate_minimum_stage]
    idx = snapshot["stage"].map(order).astype("float64")
    stage_ok = idx >= minimum
    reasons = pd.Series("", index=snapshot.index, dtype="str")
    unknown = idx.isna()
    reasons = reasons.where(~unknown, "stage " + snapshot["stage"].fillna("unknown").astype("str") + " is not an open stage")
    early = ~unknown & ~stage_ok
    reasons = reasons.where(~early, "stage " + snapshot["stage"].fillna("").astype("str") + f" is before {settings.gate_minimum_stage}")
    ok = stage_ok.to_numpy().copy()
    for field in settings.gate_required_fields:
        empty = snapshot[field].isna()
        ok &= ~empty.to_numpy()
        add = np.where(reasons == "", f"{field} missing", reasons + f"; {field} missing")
        reasons = reasons.where(~empty, pd.Series(add, index=snapshot.index, dtype="str"))
    return pd.DataFrame({"passes_gate": ok, "gate_reason": reasons.astype("str")}, index=snapshot.index)


def stage_durations(
    opportunities: pd.DataFrame,
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    settings: Settings,
    prepared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Median days won deals spent in each open stage, from deals won by ``as_of``.

    For each deal won with ``closed_at <= as_of``: time in stage ``s`` = sum over its runs in
    ``s`` of (start of the next run, or ``closed_at`` for the last) - (start of the run);
    ``median_days(s)`` = median of that over the won deals that were ever in ``s``.

    Returns
    -------
    pandas.DataFrame
        ``stage`` (every open stage, in order), ``n_won`` (int64: won deals that went
        through it), ``median_days`` (float; NaN when ``n_won`` is 0).
    """
    h = prepare_history(opportunities, history) if prepared is None else prepared
    closed = opportunities["closed_at"].to_numpy(dtype=_US)
    won = ((opportunities["status"] == "won") & opportunities["closed_at"].notna() & (opportunities["closed_at"] <= as_of)).to_numpy()
    rows = h.loc[won[h["opp_index"].to_numpy()] & (h["changed_at"] <= as_of)]
    runs = rows.drop_duplicates(["opp_index", "stage_entered_at"], keep="first")
    code = runs["opp_index"].to_numpy()
    start = runs["stage_entered_at"].to_numpy(dtype=_US)
    nxt_same = np.r_[code[1:] == code[:-1], False]
    nxt_start = np.r_[start[1:], np.array(["NaT"], dtype=_US)]
    end = np.where(nxt_same, nxt_start, closed[code])
    days = (end - start) / np.timedelta64(1, "D")
    per_deal = pd.DataFrame({"opp_index": code, "stage": runs["stage"].to_numpy(), "days": days})
    per_deal = per_deal.loc[per_deal["stage"].isin(settings.stage_order) & (per_deal["days"] >= 0)]
    per_deal = per_deal.groupby(["opp_index", "stage"], sort=False)["days"].sum().reset_index()
    agg = per_deal.groupby("stage")["days"].agg(n_won="size", median_days="median")
    out = pd.DataFrame({"stage": pd.array(settings.stage_order, dtype="str")})
    out = out.merge(agg.reset_index(), on="stage", how="left")
    out["n_won"] = out["n_won"].fillna(0).astype("int64")
    return out.astype({"median_days": "float64"})


def _fmt_amount(x: float) -> str:
    return f"{x:,.0f}"


def _fmt_date(x: pd.Timestamp) -> str:
    return "never" if pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def join_reasons(parts: list[pd.Series], index: pd.Index) -> pd.Series:
    """Join text columns element-wise with ``"; "``, skipping empty and missing pieces.

    The ``reasons`` and ``not_checked`` columns of the scrub and of the accounts table.
    """
    out = pd.Series("", index=index, dtype="str")
    for part in parts:
        part = part.fillna("").astype("str")
        both = (out != "") & (part != "")
        out = (out + part).where(~both, out + "; " + part)
    return out


def pipeline_state(dataset: Dataset, as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Every deal created by ``as_of``, as it stood then: the scrub's (and the accounts') view.

    With ``opportunity_history``: :func:`salesx2lib.pipeline.snapshots` at ``as_of`` (stage,
    amount, expected close date of the last history row by then; ``status = open`` unless
    ``closed_at <= as_of``). Without it, only the dataset's own date (or later) can be
    described: the current table, deals created after ``as_of`` left out, closes after it
    undone; ``n_pushes`` and ``stage_entered_at`` are then unknown (NA). When both the
    history and the current table are available at the current date, the current row is
    used and the history adds ``n_pushes`` and ``stage_entered_at`` (the latter only where
    the history's stage agrees with the current one).

    Returns
    -------
    pandas.DataFrame
        The columns of ``opportunities`` (values as of ``as_of``), ``n_pushes`` (Int64),
        ``stage_entered_at``; one row per deal created by ``as_of``.

    Raises
    ------
    MissingTableError
        If ``as_of`` is before the dataset's as-of date and there is no history.
    """
    return _state_at(dataset, resolve_as_of(dataset, as_of))[0]


def _state_at(dataset: Dataset, when: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`pipeline_state` and the prepared history (``None`` without one), for reuse."""
    opps = dataset.opportunities
    has_history = dataset.has("opportunity_history")
    current = when >= pd.Timestamp(dataset.as_of)
    if not current and not has_history:
        try:
            dataset.require("opportunity_history")
        except MissingTableError as exc:
            raise MissingTableError(
                    f"{exc} (to rebuild the pipeline as of {when:%Y-%m-%d %H:%M}, before the data's own date "
                    f"{dataset.as_of:%Y-%m-%d %H:%M}; give that date as the as-of to use the current pipeline)"
                ) from None

    if has_history:
        hist = dataset.table("opportunity_history")
        prepared = prepare_history(opps, hist)
        snap = snapshots(opps, hist, [when], prepared=prepared)
    else:
        prepared = None
        snap = None
    if current:
        state = opps.loc[opps["created_at"] <= when].reset_index(drop=True)
        closed = state["closed_at"].notna() & (state["closed_at"] <= when)
        state = state.assign(status=state["status"].where(closed, "open"), closed_at=state["closed_at"].where(closed))
        if snap is not None:
            extra = snap[["opportunity_id", "stage", "n_pushes", "stage_entered_at"]].rename(columns={"stage": "_hstage"})
            state = state.merge(extra, on="opportunity_id", how="left")
            consistent = state["_hstage"] == state["stage"]
            state["stage_entered_at"] = state["stage_entered_at"].where(consistent)
            state = state.drop(columns="_hstage")
        else:
            state["n_pushes"] = pd.Series(pd.NA, index=state.index, dtype="Int64")
            state["stage_entered_at"] = pd.Series(pd.NaT, index=state.index, dtype=_US)
    else:
        state = snap
    return state, prepared


def scrub(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Every deal open at ``as_of`` with its gate result and its scrub flags.

    ``flag = rule(deal, as_of)`` per :data:`FLAGS` (see the module docstring for each rule);
    ``n_flags`` = number of True flags; ``reasons`` = what to ask the rep, one sentence per
    raised flag.

    Parameters
    ----------
    dataset
        Needs ``opportunities`` and ``reps``; ``opportunity_history`` enables ``pushed`` and
        ``stale_in_stage`` (and is required for an as-of date before the dataset's own);
        ``activities`` enables ``no_recent_activity``.
    as_of
        Scrub the pipeline as it stood at this instant; the weekly rule's if omitted
        (:func:`salesx2lib.pipeline.resolve_as_of`: Monday 00:00 after the latest complete week).
    settings
        Stage order, gate, forecast window and the ``[scrub]`` thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per open deal: ``as_of_date``, ``opportunity_id``, ``rep_id``, ``team``,
        ``stage``, ``amount``, ``expected_close_date``, ``created_at``, ``days_in_stage``
        (float), ``n_pushes`` (Int64), ``last_activity_at``, ``passes_gate``,
        ``gate_reason``, ``flag_<name>`` for each of :data:`FLAGS` (nullable boolean),
        ``n_flags`` (int64), ``reasons`` (str), ``not_checked`` (str: flags left NA and why).
        Sorted by team, rep, most flags first, expected close date.

    Raises
    ------
    MissingTableError
        If ``as_of`` is before the dataset's as-of date and there is no history (the
        pipeline of a past date cannot be rebuilt without it).
    """
    settings = settings or load_settings()
    when = resolve_as_of(dataset, as_of)
    day = when.normalize()
    opps = dataset.opportunities
    has_history = dataset.has("opportunity_history")
    state, prepared = _state_at(dataset, when)
    medians = stage_durations(opps, dataset.table("opportunity_history"), when, settings, prepared) if has_history else None

    teams = dataset.reps.set_index("rep_id")["team"]
    state = state.assign(team=state["rep_id"].map(teams).astype("str"))
    reference = state.loc[(state["status"] == "won") & (state["amount"] > 0), ["rep_id", "amount"]]
    o = state.loc[state["status"] == "open"].reset_index(drop=True)
    n = len(o)
    na_bool = pd.Series(pd.NA, index=o.index, dtype="boolean")
    reasons: dict[str, pd.Series] = {}
    not_checked: dict[str, pd.Series] = {}
    empty_text = pd.Series("", index=o.index, dtype="str")

    def note(flag: str, why: pd.Series | str, where: pd.Series | None = None) -> None:
        text = why if isinstance(why, pd.Series) else pd.Series(why, index=o.index, dtype="str")
        mask = pd.Series(True, index=o.index) if where is None else where.fillna(False).astype(bool)
        entry = (flag + ": " + text).where(mask, "").astype("str")
        not_checked[flag] = join_reasons([not_checked.get(flag, empty_text), entry], o.index)

    # -- pushed ------------------------------------------------------------------------
    pushes = o["n_pushes"].astype("Int64")
    flag_pushed = (pushes >= settings.scrub_push_threshold).astype("boolean")
    if not has_history:
        note("pushed", _NEEDS_HISTORY)
    else:
        note("pushed", "no history row for this deal by the as-of date", pushes.isna())
    reasons["pushed"] = (
        "close date pushed " + pushes.astype("str") + " times (now " + o["expected_close_date"].map(_fmt_date).astype("str")
        + "): what has to happen for it to close, and who signs?"
    ).where(flag_pushed.fillna(False), "")

    # -- past close date ---------------------------------------------------------------
    ecd = o["expected_close_date"]
    flag_past = (ecd < day).astype("boolean").where(ecd.notna(), pd.NA)
    note("past_close_date", "no expected close date", ecd.isna())
    reasons["past_close_date"] = (
        "expected close date " + ecd.map(_fmt_date).astype("str")
        + " has passed and the deal is still open: close it or give a new date with a reason"
    ).where(flag_past.fillna(False), "")

    # -- no recent activity ------------------------------------------------------------
    stale_days = settings.scrub_stale_activity_days
    if dataset.has("activities"):
        seen = dataset.activities
        seen = seen.filter(seen.occurred_at <= when.to_pydatetime())
        last = last_activity(replace(dataset, activities=seen), by="opportunity_id")
        o = o.merge(last[["opportunity_id", "last_activity_at"]], on="opportunity_id", how="left")
        quiet = o["last_activity_at"].isna() | (when - o["last_activity_at"] > pd.Timedelta(days=stale_days))
        old_enough = when - o["created_at"] > pd.Timedelta(days=stale_days)
        flag_quiet = (quiet & old_enough).astype("boolean")
        reasons["no_recent_activity"] = (
            f"no activity logged on it in {stale_days}+ days (last: " + o["last_activity_at"].map(_fmt_date).astype("str")
            + "): is the buyer still engaged, and what is the next step?"
        ).where(flag_quiet.fillna(False), "")
    else:
        o["last_activity_at"] = pd.Series(pd.NaT, index=o.index, dtype=_US)
        flag_quiet = na_bool.copy()
        note("no_recent_activity", _NEEDS_ACTIVITIES)
        reasons["no_recent_activity"] = empty_text

    # -- stale in stage ----------------------------------------------------------------
    o["days_in_stage"] = ((when - o["stage_entered_at"]) / _DAY).astype("float64")
    factor = settings.scrub_stage_duration_factor
    if medians is not None:
        m = o["stage"].map(medians.set_index("stage")["median_days"]).astype("float64")
        k = o["stage"].map(medians.set_index("stage")["n_won"]).fillna(0).astype("int64")
        usable = (k >= settings.scrub_min_history) & m.notna()
        limit = m.where(usable) * factor
        flag_stale = (o["days_in_stage"] > limit).astype("boolean").where(usable & o["days_in_stage"].notna(), pd.NA)
        note(
            "stale_in_stage",
            "fewer than " + str(settings.scrub_min_history) + " won deals went through " + o["stage"].fillna("this stage").astype("str"),
            ~usable,
        )
        note("stale_in_stage", "stage entry date unknown", usable & o["days_in_stage"].isna())
        reasons["stale_in_stage"] = (
            o["days_in_stage"].round(0).astype("Int64").astype("str") + " days in " + o["stage"].astype("str")
            + " while won deals spent a median " + m.round(0).astype("Int64").astype("str")
            + " days there: what is blocking the next step?"
        ).where(flag_stale.fillna(False), "")
    else:
        flag_stale = na_bool.copy()
        note("stale_in_stage", _NEEDS_HISTORY)
        reasons["stale_in_stage"] = empty_text

    # -- amount outlier (log-scale Tukey fences on the rep's won amounts) ---------------
    logs = reference.assign(log=np.log10(reference["amount"].to_numpy(dtype="float64")))
    g = logs.groupby("rep_id")["log"]
    fences = pd.DataFrame({"n_ref": g.size(), "q1": g.quantile(0.25), "q3": g.quantile(0.75)})
    fences = fences.reindex(o["rep_id"].unique())
    kf = settings.scrub_amount_iqr_factor
    ref = fences.reindex(o["rep_id"]).set_axis(o.index)
    iqr = ref["q3"] - ref["q1"]
    lo, hi = ref["q1"] - kf * iqr, ref["q3"] + kf * iqr
    enough = ref["n_ref"].fillna(0) >= settings.scrub_min_history
    amount = o["amount"].astype("float64")
    with np.errstate(divide="ignore"):
        log_amount = np.log10(amount.clip(lower=0))
    out_of = (log_amount < lo) | (log_amount > hi)
    flag_amount = out_of.astype("boolean").where(enough & amount.notna(), pd.NA)
    note("amount_outlier", f"the rep has fewer than {settings.scrub_min_history} won deals to compare with", ~enough)
    note("amount_outlier", "no amount", enough & amount.isna())
    q1_text = (10 ** ref["q1"]).map(_fmt_amount).astype("str")
    q3_text = (10 ** ref["q3"]).map(_fmt_amount).astype("str")
    middle = (q1_text + " to " + q3_text).where(enough, "")
    reasons["amount_outlier"] = (
        "amount " + amount.map(lambda x: "missing" if pd.isna(x) else _fmt_amount(x)).astype("str")
        + " is far from this rep's won deals (middle half " + middle + "): is the amount right?"
    ).where(flag_amount.fillna(False), "")

    # -- early stage but expected to close in the window -------------------------------
    window = settings.forecast_window_days
    in_window = (ecd >= day) & (ecd < day + pd.Timedelta(days=window))
    early = o["stage"].isin(settings.scrub_early_stages)
    flag_early = (early & in_window).astype("boolean").where(ecd.notna(), pd.NA)
    reasons["early_stage_in_window"] = (
        "still in " + o["stage"].astype("str") + " but expected to close by " + ecd.map(_fmt_date).astype("str")
        + f": can it really close within {window} days?"
    ).where(flag_early.fillna(False), "")
    note("early_stage_in_window", "no expected close date", ecd.isna())

    flags = {
        "pushed": flag_pushed,
        "past_close_date": flag_past,
        "no_recent_activity": flag_quiet,
        "stale_in_stage": flag_stale,
        "amount_outlier": flag_amount,
        "early_stage_in_window": flag_early,
    }
    gated = gate(o, settings)
    out = pd.DataFrame(
        {
            "as_of_date": pd.Series([when] * n, dtype=_US),
            "opportunity_id": o["opportunity_id"],
            "rep_id": o["rep_id"],
            "team": o["team"],
            "stage": o["stage"],
            "amount": amount,
            "expected_close_date": ecd,
            "created_at": o["created_at"],
            "days_in_stage": o["days_in_stage"],
            "n_pushes": pushes,
            "last_activity_at": o["last_activity_at"].astype(_US),
            "passes_gate": gated["passes_gate"],
            "gate_reason": gated["gate_reason"],
        }
    )
    for name in FLAGS:
        out[f"flag_{name}"] = flags[name].astype("boolean")
    out["n_flags"] = sum(flags[name].fillna(False).astype("int64") for name in FLAGS)
    out["reasons"] = join_reasons([reasons[name] for name in FLAGS], o.index)
    out["not_checked"] = join_reasons(list(not_checked.values()), o.index)
    out = out.astype({"n_flags": "int64", "reasons": "str", "not_checked": "str"})
    out = out.sort_values(["team", "rep_id", "n_flags", "expected_close_date"], ascending=[True, True, False, True], kind="stable")
    return out.reset_index(drop=True)


def flag_counts(scrubbed: pd.DataFrame) -> pd.DataFrame:
    """How many open deals each rep has per scrub flag (long format, for charts and reports).

    ``n = #{deals of the rep with flag_<name> True}``; ``n_open`` = the rep's open deals.

    Returns
    -------
    pandas.DataFrame
        ``team``, ``rep_id``, ``flag`` (one of :data:`FLAGS`), ``n`` (int64), ``n_open``
        (int64), ``checked`` (bool: the flag could be computed for at least one deal).
    """
    cols = [f"flag_{f}" for f in FLAGS]
    long = scrubbed.melt(id_vars=["team", "rep_id"], value_vars=cols, var_name="flag", value_name="value")
    long["flag"] = long["flag"].str.removeprefix("flag_")
    long["hit"] = long["value"].fillna(False).astype("int64")
    long["known"] = long["value"].notna()
    out = (
        long.groupby(["team", "rep_id", "flag"], sort=False)
        .agg(n=("hit", "sum"), n_open=("hit", "size"), checked=("known", "any"))
        .reset_index()
    )
    order = {f: i for i, f in enumerate(FLAGS)}
    out = out.sort_values(["team", "rep_id", "flag"], key=lambda s: s.map(order) if s.name == "flag" else s, kind="stable")
    dtypes = {"team": "str", "rep_id": "str", "flag": "str", "n": "int64", "n_open": "int64", "checked": "bool"}
    return out.astype(dtypes).reset_index(drop=True)
