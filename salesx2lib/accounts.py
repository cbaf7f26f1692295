"""Strategy per account: each account's pipeline, activity and win history, and what to ask.

Principle 4 ends with "a strategy per account": deals are scrubbed one by one
(:mod:`salesx2lib.scrub`), but a manager also asks about the account behind them. This
module groups the deals of each ``account_id`` as they stood at the as-of date (the
pipeline rebuilt by :func:`salesx2lib.scrub.pipeline_state`, so nothing recorded later is
used) and asks the account-level questions:

======================  ==========================================================  =================
flag                    rule (``[accounts]`` settings)                              needs
======================  ==========================================================  =================
``several_open_deals``  at least ``several_open_deals`` (2) deals open at once      -
``several_reps``        its open deals are owned by two reps or more                -
``repeated_losses``     its latest ``repeated_losses`` (2) or more decided deals    -
                        were all lost (no win since), the latest of them within
                        ``loss_window_days`` (365)
``no_recent_activity``  deals open, no activity on any of its deals in              activities
                        ``stale_activity_days`` (14) days, and its oldest open
                        deal is older than that
``concentrated``        at least ``concentration_share`` (0.5) of one rep's         opportunity_history
                        rolling-forecast window (``from_pipeline``: the
                        weighted amounts of the rep's open deals) rides on
                        this account; not checked before the win model has
                        enough history
``pushed``              the expected close dates of its open deals were moved      opportunity_history
                        later ``push_threshold`` (3) times or more in total
======================  ==========================================================  =================

As in the scrub, a flag that cannot be checked is NA (not False) and ``not_checked`` says
why; ``reasons`` says in plain words what to ask, one sentence per raised flag.

Deals without an ``account_id`` belong to no account: they are kept out of every row, and
:func:`deals_without_account` counts them (the ``accounts`` table of ``salesx2 metrics``
says how many on stderr), so they are never dropped silently.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from salesx2lib import rolling
from salesx2lib.competency import closed_deals
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.pipeline import resolve_as_of
from salesx2lib.rollup import last_activity
from salesx2lib.scrub import join_reasons, pipeline_state
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import wilson_interval

__all__ = ["ACCOUNT_FLAGS", "account_table", "deals_without_account"]

#: The account flags, in the order they appear as ``flag_<name>`` columns.
ACCOUNT_FLAGS: tuple[str, ...] = (
    "several_open_deals",
    "several_reps",
    "repeated_losses",
    "no_recent_activity",
    "concentrated",
    "pushed",
)

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)
_TICK = pd.Timedelta(microseconds=1)


def _fmt_amount(x: float) -> str:
    return f"{x:,.0f}"


def _fmt_date(x: pd.Timestamp) -> str:
    return "never" if pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def _require_accounts(dataset: Dataset) -> None:
    if "account_id" not in dataset.opportunities.columns:
        raise MissingTableError("needs the account_id column of opportunities, which this dataset does not have")


def deals_without_account(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None
) -> pd.DataFrame:
    """How many deals created by ``as_of`` have no ``account_id``, and what they weigh.

    ``n_deals = #{o : o.created_at <= as_of, o.account_id empty}``; ``n_open``,
    ``open_amount`` (sum of the known amounts), ``n_won``, ``n_lost`` and ``won_amount``
    by their status at ``as_of`` (decided when ``closed_at <= as_of``).

    Returns
    -------
    pandas.DataFrame
        One row: ``as_of_date``, ``n_deals``, ``n_open``, ``open_amount``, ``n_won``,
        ``n_lost``, ``won_amount`` (counts int64).
    """
    _require_accounts(dataset)
    when = resolve_as_of(dataset, as_of)
    state = pipeline_state(dataset, when)
    loose = state.loc[state["account_id"].isna()]
    is_open = loose["status"] == "open"
    won = loose["status"] == "won"
    return pd.DataFrame(
        {
            "as_of_date": pd.Series([when], dtype=_US),
            "n_deals": [len(loose)],
            "n_open": [int(is_open.sum())],
            "open_amount": [float(loose.loc[is_open, "amount"].sum())],
            "n_won": [int(won.sum())],
            "n_lost": [int((loose["status"] == "lost").sum())],
            "won_amount": [float(loose.loc[won, "amount"].fillna(0.0).sum())],
        }
    ).astype({"n_deals": "int64", "n_open": "int64", "n_won": "int64", "n_lost": "int64"})


def _listing(ids: pd.Series, by: pd.Series, limit: int = 5) -> pd.Series:
    """Per group of ``by``, the first ``limit`` values of ``ids`` joined by ', ' (+ 'and N more')."""
    frame = pd.DataFrame({"by": by.to_numpy(), "id": ids.astype("str").to_numpy()}).sort_values(["by", "id"], kind="stable")

    def text(values: pd.Series) -> str:
        items = values.tolist()
        head = ", ".join(items[:limit])
        return head if len(items) <= limit else f"{head} and {len(items) - limit} more"

    return frame.groupby("by", sort=True)["id"].agg(text).astype("str")


def account_table(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    *,
    window: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per account as of ``as_of``: open pipeline, reps, last activity, win history and flags.

    Over the deals of an account created by ``as_of``, each as it stood then
    (:func:`salesx2lib.scrub.pipeline_state`):

    - ``open_deals`` = #deals open; ``open_amount`` = sum of their known amounts;
      ``next_close_date`` = their earliest expected close date;
    - ``reps`` = the owners of its deals, ``open_reps`` = the owners of its open deals;
    - ``last_activity_at`` = max ``occurred_at <= as_of`` over activities on any of its
      deals (computed in the engine, :func:`salesx2lib.rollup.last_activity`);
    - ``won``, ``lost`` = deals decided (``closed_at <= as_of``) each way; ``won_amount``;
      ``win_rate = won / (won + lost)`` with its Wilson 95% interval (``n_decided`` trials);
      ``last_won_at``; ``losses_since_win`` = lost deals decided after its last win;
    - ``window_forecast`` = sum of the weighted amounts of its deals in the rolling
      forecast's window; ``top_rep_share`` = max over reps ``r`` of (this account's part of
      ``r``'s window forecast) / (``r``'s whole window forecast);
    - ``n_pushes`` = expected-close-date pushes so far, summed over its open deals;

    and the flags of :data:`ACCOUNT_FLAGS` (rules in the module docstring).

    Parameters
    ----------
    dataset
        Needs ``opportunities`` with ``account_id`` and ``reps``; ``activities`` enables
        ``no_recent_activity``; ``opportunity_history`` enables ``concentrated`` and
        ``pushed`` (and is required for an as-of date before the dataset's own).
    as_of
        Describe the accounts as of this instant; the dataset's as-of date if omitted.
    settings
        The ``[accounts]`` thresholds (and what the rolling forecast reads).
    window
        The deals of the rolling forecast as of ``as_of`` (``opportunity_id``, ``rep_id``,
        ``weighted_amount``), as :func:`salesx2lib.rolling.rolling_pipeline` returns them;
        computed if omitted (it needs ``opportunity_history``).

    Returns
    -------
    pandas.DataFrame
        One row per account with a deal created by ``as_of``: ``as_of_date``,
        ``account_id``, ``team`` (its reps' teams, ``", "``-joined), ``reps``, ``n_reps``,
        ``open_reps``, ``n_deals``, ``open_deals``, ``open_amount``, ``next_close_date``,
        ``last_activity_at``, ``days_since_activity``, ``n_decided``, ``won``, ``lost``,
        ``won_amount``, ``win_rate``, ``win_rate_ci_low``, ``win_rate_ci_high``,
        ``last_won_at``, ``last_lost_at``, ``losses_since_win``, ``n_pushes`` (Int64),
        ``window_forecast``, ``top_rep``, ``top_rep_share``, ``flag_<name>`` for each of
        :data:`ACCOUNT_FLAGS` (nullable boolean), ``n_flags``, ``reasons``,
        ``not_checked``. Sorted by most flags, then largest open amount. Deals without an
        account are in no row (:func:`deals_without_account` counts them); their count is
        also in ``attrs["note"]``.

    Raises
    ------
    MissingTableError
        Without an ``account_id`` column, or for a past ``as_of`` without history.

    Examples
    --------
    >>> table = account_table(dataset)  # doctest: +SKIP
    >>> table.loc[table["n_flags"] > 0, ["account_id", "open_deals", "reasons"]]  # doctest: +SKIP
    """
    _require_accounts(dataset)
    settings = settings or load_settings()
    when = resolve_as_of(dataset, as_of)
    state = pipeline_state(dataset, when)
    has_history = dataset.has("opportunity_history")
    teams = dataset.reps.set_index("rep_id")["team"]
    loose = state["account_id"].isna()
    n_loose = int(loose.sum())
    d = state.loc[~loose].reset_index(drop=True)
    d = d.assign(account_id=d["account_id"].astype("str"), rep_id=d["rep_id"].astype("str"))
    is_open = d["status"] == "open"
    accounts = pd.Index(sorted(d["account_id"].unique()), dtype="str", name="account_id")
    out = pd.DataFrame(index=accounts)
    out["as_of_date"] = pd.Series(when, index=accounts, dtype=_US)
    team_of = d[["account_id"]].assign(team=d["rep_id"].map(teams).fillna("").astype("str")).drop_duplicates()
    out["team"] = _listing(team_of["team"], team_of["account_id"]).reindex(accounts)
    reps = d[["account_id", "rep_id"]].drop_duplicates()
    out["reps"] = _listing(reps["rep_id"], reps["account_id"]).reindex(accounts)
    out["n_reps"] = reps.groupby("account_id").size().reindex(accounts).astype("int64")
    open_reps = d.loc[is_open, ["account_id", "rep_id"]].drop_duplicates()
    out["open_reps"] = _listing(open_reps["rep_id"], open_reps["account_id"]).reindex(accounts).fillna("").astype("str")
    n_open_reps = open_reps.groupby("account_id").size().reindex(accounts, fill_value=0)
    out["n_deals"] = d.groupby("account_id").size().reindex(accounts).astype("int64")
    o = d.loc[is_open]
    g_open = o.groupby("account_id")
    out["open_deals"] = g_open.size().reindex(accounts, fill_value=0).astype("int64")
    out["open_amount"] = g_open["amount"].sum().reindex(accounts, fill_value=0.0).astype("float64")
    out["next_close_date"] = g_open["expected_close_date"].min().reindex(accounts).astype(_US)

    # -- last activity on any of its deals (in the engine, nothing after the as-of) -------
    stale_days = settings.accounts_stale_activity_days
    if dataset.has("activities"):
        seen = dataset.activities.filter(dataset.activities.occurred_at <= when.to_pydatetime())
        last = last_activity(replace(dataset, activities=seen), by="opportunity_id")
        acts = d[["opportunity_id", "account_id"]].merge(last, on="opportunity_id", how="inner")
        out["last_activity_at"] = acts.groupby("account_id")["last_activity_at"].max().reindex(accounts).astype(_US)
    else:
        out["last_activity_at"] = pd.Series(pd.NaT, index=accounts, dtype=_US)
    out["days_since_activity"] = ((when - out["last_activity_at"]) / _DAY).astype("float64")

    # -- win history: deals decided by the as-of date -----------------------------------
    decided = closed_deals(d, end=when + _TICK).assign(account_id=d["account_id"])
    g_dec = decided.groupby("account_id")
    won = g_dec["won"].sum().reindex(accounts, fill_value=0).astype("int64")
    lost = g_dec["lost"].sum().reindex(accounts, fill_value=0).astype("int64")
    out["n_decided"] = (won + lost).astype("int64")
    out["won"], out["lost"] = won, lost
    out["won_amount"] = g_dec["won_amount"].sum().reindex(accounts, fill_value=0.0).astype("float64")
    n = out["n_decided"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["win_rate"] = np.where(n > 0, won.to_numpy() / n, np.nan)
    lo, hi = wilson_interval(won.to_numpy(), n)
    out["win_rate_ci_low"], out["win_rate_ci_high"] = lo, hi
    out["last_won_at"] = decided.loc[decided["won"] == 1].groupby("account_id")["closed_at"].max().reindex(accounts).astype(_US)
    out["last_lost_at"] = decided.loc[decided["lost"] == 1].groupby("account_id")["closed_at"].max().reindex(accounts).astype(_US)
    # reindex, not map: map fails on an export whose deals have no account (no account to map)
    last_win = pd.Series(out["last_won_at"].reindex(decided["account_id"]).to_numpy(), index=decided.index)
    after_win = last_win.isna() | (decided["closed_at"] > last_win)
    streak = decided.loc[(decided["lost"] == 1) & after_win.to_numpy()].groupby("account_id").size()
    out["losses_since_win"] = streak.reindex(accounts, fill_value=0).astype("int64")

    # -- pushes of its open deals -----------------------------------------------------------
    pushes = o.groupby("account_id")["n_pushes"].agg(lambda s: s.sum() if s.notna().any() else pd.NA)
    out["n_pushes"] = pushes.reindex(accounts).astype("Int64")
    pushed_list = o.loc[o["n_pushes"].fillna(0) > 0]
    pushed_text = _listing(
        pushed_list["opportunity_id"].astype("str") + " " + pushed_list["n_pushes"].astype("Int64").astype("str") + "x",
        pushed_list["account_id"],
    ).reindex(accounts).fillna("")

    # -- concentration of a rep's rolling-forecast window -----------------------------------
    concentration_checked, concentration_missing = True, "concentrated: needs the opportunity_history table"
    if window is None:
        if has_history:
            window = rolling.rolling_pipeline(dataset, when, settings, with_scrub=False)
            if len(window) and window["weighted_amount"].isna().all():
                concentration_checked = False
                concentration_missing = "concentrated: too little history to learn win probabilities yet"
        else:
            concentration_checked = False
    if concentration_checked:
        w = window[["opportunity_id", "rep_id", "weighted_amount"]].merge(
            d[["opportunity_id", "account_id"]], on="opportunity_id", how="left"
        ).astype({"weighted_amount": "float64", "rep_id": "str"})
        rep_total = w.groupby("rep_id")["weighted_amount"].sum()
        part = w.loc[w["account_id"].notna()].groupby(["account_id", "rep_id"], as_index=False)["weighted_amount"].sum()
        part["rep_total"] = part["rep_id"].map(rep_total).astype("float64")
        part["share"] = np.where(part["rep_total"] > 0, part["weighted_amount"] / part["rep_total"], np.nan)
        top = part.sort_values(["account_id", "share"], ascending=[True, False], kind="stable").drop_duplicates("account_id")
        top = top.set_index("account_id")
        out["window_forecast"] = part.groupby("account_id")["weighted_amount"].sum().reindex(accounts, fill_value=0.0)
        out["top_rep"] = top["rep_id"].reindex(accounts).astype("str")
        out["top_rep_share"] = top["share"].reindex(accounts).astype("float64")
        top_rep_total = top["rep_total"].reindex(accounts).astype("float64")
        top_rep_part = top["weighted_amount"].reindex(accounts).astype("float64")
    else:
        out["window_forecast"] = np.nan
        out["top_rep"] = pd.Series(pd.NA, index=accounts, dtype="str")
        out["top_rep_share"] = np.nan
        top_rep_total = top_rep_part = pd.Series(np.nan, index=accounts)

    # -- the flags and what to ask --------------------------------------------------------
    s = settings
    has_open = out["open_deals"] > 0
    flags: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    not_checked: list[pd.Series] = []
    empty = pd.Series("", index=accounts, dtype="str")

    flags["several_open_deals"] = (out["open_deals"] >= s.accounts_several_open_deals).astype("boolean")
    open_ids = _listing(o["opportunity_id"], o["account_id"]).reindex(accounts).fillna("")
    reasons["several_open_deals"] = (
        out["open_deals"].astype("str") + " deals open at once, " + out["open_amount"].map(_fmt_amount).astype("str")
        + " in total (" + open_ids + "): one buying decision or several, and who decides each?"
    ).where(flags["several_open_deals"].fillna(False), "")

    flags["several_reps"] = (n_open_reps >= 2).astype("boolean")
    reasons["several_reps"] = (
        "its open deals are owned by " + n_open_reps.astype("str") + " reps (" + out["open_reps"]
        + "): who owns the account and its plan?"
    ).where(flags["several_reps"].fillna(False), "")

    recent_loss = (when - out["last_lost_at"]) <= pd.Timedelta(days=s.accounts_loss_window_days)
    flags["repeated_losses"] = ((out["losses_since_win"] >= s.accounts_repeated_losses) & recent_loss.fillna(False)).astype("boolean")
    since = out["last_won_at"].map(lambda x: "no win ever" if pd.isna(x) else f"no win since {_fmt_date(x)}").astype("str")
    ask = pd.Series("what will be different this time?", index=accounts, dtype="str").where(
        has_open, "is the account still worth pursuing?"
    )
    reasons["repeated_losses"] = (
        "lost its last " + out["losses_since_win"].astype("str") + " decided deals (latest "
        + out["last_lost_at"].map(_fmt_date).astype("str") + ", " + since + "): " + ask
    ).where(flags["repeated_losses"].fillna(False), "")

    oldest_open = g_open["created_at"].min().reindex(accounts).astype(_US)
    if dataset.has("activities"):
        quiet = out["last_activity_at"].isna() | (out["days_since_activity"] > stale_days)
        old_enough = (when - oldest_open) > pd.Timedelta(days=stale_days)
        flags["no_recent_activity"] = (has_open & quiet & old_enough.fillna(False)).astype("boolean")
        reasons["no_recent_activity"] = (
            f"no activity on any of its deals in {stale_days}+ days (last: "
            + out["last_activity_at"].map(_fmt_date).astype("str") + ") while "
            + out["open_deals"].map(lambda k: "1 deal is" if k == 1 else f"{k} deals are").astype("str")
            + " open: who is talking to this account, and what is the next step?"
        ).where(flags["no_recent_activity"].fillna(False), "")
    else:
        flags["no_recent_activity"] = pd.Series(pd.NA, index=accounts, dtype="boolean")
        reasons["no_recent_activity"] = empty
        not_checked.append(pd.Series("no_recent_activity: needs the activities table", index=accounts, dtype="str"))

    if concentration_checked:
        share = out["top_rep_share"]
        flags["concentrated"] = (share >= s.accounts_concentration_share).fillna(False).astype("boolean")
        reasons["concentrated"] = (
            (share * 100).round(0).astype("Int64").astype("str") + "% of " + out["top_rep"].fillna("").astype("str")
            + f"'s {s.forecast_window_days}-day forecast (" + top_rep_part.map(lambda x: "" if pd.isna(x) else _fmt_amount(x)).astype("str")
            + " of " + top_rep_total.map(lambda x: "" if pd.isna(x) else _fmt_amount(x)).astype("str")
            + ") rides on this account: what is the plan if it slips?"
        ).where(flags["concentrated"].fillna(False), "")
    else:
        flags["concentrated"] = pd.Series(pd.NA, index=accounts, dtype="boolean")
        reasons["concentrated"] = empty
        not_checked.append(pd.Series(concentration_missing, index=accounts, dtype="str"))

    if has_history:
        flags["pushed"] = (out["n_pushes"] >= s.accounts_push_threshold).fillna(False).astype("boolean")
        flags["pushed"] = flags["pushed"].where(~(has_open & out["n_pushes"].isna()), pd.NA)
        reasons["pushed"] = (
            "close dates of its open deals pushed " + out["n_pushes"].astype("str") + " times in total ("
            + pushed_text.astype("str") + "): is the account's buying process understood?"
        ).where(flags["pushed"].fillna(False), "")
        not_checked.append(
            pd.Series("pushed: no history row for its open deals by the as-of date", index=accounts, dtype="str").where(
                flags["pushed"].isna(), ""
            )
        )
    else:
        flags["pushed"] = pd.Series(pd.NA, index=accounts, dtype="boolean")
        reasons["pushed"] = empty
        not_checked.append(pd.Series("pushed: needs the opportunity_history table", index=accounts, dtype="str"))

    for name in ACCOUNT_FLAGS:
        out[f"flag_{name}"] = flags[name].astype("boolean")
    out["n_flags"] = sum(flags[name].fillna(False).astype("int64") for name in ACCOUNT_FLAGS)
    out["reasons"] = join_reasons([reasons[name] for name in ACCOUNT_FLAGS], accounts)
    out["not_checked"] = join_reasons(not_checked, accounts)
    out = out.astype({"n_flags": "int64", "reasons": "str", "not_checked": "str", "team": "str", "reps": "str"})
    out = out.reset_index()
    out = out.sort_values(["n_flags", "open_amount", "account_id"], ascending=[False, False, True], kind="stable")
    out = out.reset_index(drop=True)
    columns = [
        "as_of_date", "account_id", "team", "reps", "n_reps", "open_reps", "n_deals", "open_deals", "open_amount",
        "next_close_date", "last_activity_at", "days_since_activity", "n_decided", "won", "lost", "won_amount",
        "win_rate", "win_rate_ci_low", "win_rate_ci_high", "last_won_at", "last_lost_at", "losses_since_win",
        "n_pushes", "window_forecast", "top_rep", "top_rep_share",
        *[f"flag_{f}" for f in ACCOUNT_FLAGS], "n_flags", "reasons", "not_checked",
    ]
    out = out[columns]
    out.attrs["note"] = (
        f"{n_loose} deal(s) created by {when:%Y-%m-%d %H:%M} have no account_id and are in no account row"
        if n_loose else ""
    )
    return out
