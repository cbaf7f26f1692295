"""Tests of salesx2lib.accounts written to kill the mutants `make mutate` leaves surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function). The main floor is the one of
tests/test_accounts.py (as of 1 June 2024 00:00, the rolling window's weights given by
hand); the expected values are worked out by hand in the comments. The survivors left
(equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest

from salesx2lib import rolling
from salesx2lib.accounts import ACCOUNT_FLAGS, account_table, deals_without_account
from salesx2lib.dataset import Dataset

from conftest import deal_frames
from test_accounts import ACTIVITIES, AS_OF, HIST, OPPS, REPS, SETTINGS, WINDOW, _dataset

US = "datetime64[us]"

COLUMNS = [
    "as_of_date", "account_id", "team", "reps", "n_reps", "open_reps", "n_deals", "open_deals", "open_amount",
    "next_close_date", "last_activity_at", "days_since_activity", "n_decided", "won", "lost", "won_amount",
    "win_rate", "win_rate_ci_low", "win_rate_ci_high", "last_won_at", "last_lost_at", "losses_since_win",
    "n_pushes", "window_forecast", "top_rep", "top_rep_share",
    *[f"flag_{f}" for f in ACCOUNT_FLAGS], "n_flags", "reasons", "not_checked",
]

SLIPS = "rides on this account: what is the plan if it slips?"
QUIET = "open: who is talking to this account, and what is the next step?"


def test_order_columns_dtypes_and_every_reason_by_hand() -> None:
    out = account_table(_dataset(), AS_OF, window=WINDOW)
    assert out.columns.tolist() == COLUMNS
    assert out.index.tolist() == list(range(11))
    # Most flags first (ACC_MULTI: 4), then largest open amount, then the account id:
    # one flag: QUIET 1,000, BIG 900, EDGE 80, 14b 10, LOSS 0; none: SMALL 100, then 14, ACTIVE,
    # NEW (10 each, by id), OLD 0.
    assert out["account_id"].tolist() == [
        "ACC_MULTI", "ACC_QUIET", "ACC_BIG", "ACC_EDGE", "ACC_14b", "ACC_LOSS",
        "ACC_SMALL", "ACC_14", "ACC_ACTIVE", "ACC_NEW", "ACC_OLD",
    ]
    assert out["n_flags"].tolist() == [4, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    t = out.set_index("account_id")
    assert t.loc["ACC_MULTI", "reasons"] == (
        "3 deals open at once, 600 in total (M1, M2, M3): one buying decision or several, and who decides each?; "
        "its open deals are owned by 2 reps (r1, r2): who owns the account and its plan?; "
        # r1's window is M1 100 + M2 200 = 300, all on ACC_MULTI
        f"100% of r1's 30-day forecast (300 of 300) {SLIPS}; "
        "close dates of its open deals pushed 3 times in total (M1 2x, M2 1x): is the account's buying process understood?"
    )
    assert t.loc["ACC_LOSS", "reasons"] == (
        "lost its last 2 decided deals (latest 2024-06-01, no win since 2024-01-15): is the account still worth pursuing?"
    )
    assert t.loc["ACC_EDGE", "reasons"] == f"100% of r2's 30-day forecast (80 of 80) {SLIPS}"
    assert t.loc["ACC_BIG", "reasons"] == f"90% of r3's 30-day forecast (900 of 1,000) {SLIPS}"
    assert t.loc["ACC_QUIET", "reasons"] == f"no activity on any of its deals in 14+ days (last: 2024-05-01) while 1 deal is {QUIET}"
    assert t.loc["ACC_14b", "reasons"] == f"no activity on any of its deals in 14+ days (last: 2024-05-17) while 1 deal is {QUIET}"
    assert (t["not_checked"] == "").all()
    assert out.attrs["note"] == "2 deal(s) created by 2024-06-01 00:00 have no account_id and are in no account row"
    dtypes = out.dtypes.astype(str).to_dict()
    assert dtypes == {
        "as_of_date": US, "account_id": "str", "team": "str", "reps": "str", "n_reps": "int64", "open_reps": "str",
        "n_deals": "int64", "open_deals": "int64", "open_amount": "float64", "next_close_date": US,
        "last_activity_at": US, "days_since_activity": "float64", "n_decided": "int64", "won": "int64", "lost": "int64",
        "won_amount": "float64", "win_rate": "float64", "win_rate_ci_low": "float64", "win_rate_ci_high": "float64",
        "last_won_at": US, "last_lost_at": US, "losses_since_win": "int64", "n_pushes": "Int64",
        "window_forecast": "float64", "top_rep": "str", "top_rep_share": "float64",
        **{f"flag_{f}": "boolean" for f in ACCOUNT_FLAGS}, "n_flags": "int64", "reasons": "str", "not_checked": "str",
    }


def test_the_other_columns_by_hand() -> None:
    t = account_table(_dataset(), AS_OF, window=WINDOW).set_index("account_id")
    # teams: r1 and r2 are in team A, r3 in B.
    assert t.loc["ACC_MULTI", "team"] == "A" and t.loc["ACC_BIG", "team"] == "B"
    # open reps: none for an account without an open deal.
    assert t.loc["ACC_LOSS", "open_reps"] == "" and t.loc["ACC_LOSS", "reps"] == "r2" and t.loc["ACC_LOSS", "n_reps"] == 1
    assert t.loc["ACC_LOSS", "open_deals"] == 0 and t.loc["ACC_LOSS", "open_amount"] == 0.0 and t.loc["ACC_LOSS", "n_deals"] == 3
    assert pd.isna(t.loc["ACC_LOSS", "next_close_date"])
    # ACC_LOSS: nothing open, so no pushes to count (NA); ACC_QUIET: Q1 never moved (0).
    assert pd.isna(t.loc["ACC_LOSS", "n_pushes"]) and t.loc["ACC_QUIET", "n_pushes"] == 0
    # last activity 28 May 10:00 on L5 (an ACC_EDGE deal): 3 days 14 hours before the as-of.
    assert t.loc["ACC_EDGE", "last_activity_at"] == pd.Timestamp("2024-05-28 10:00")
    assert t.loc["ACC_EDGE", "days_since_activity"] == pytest.approx(3 + 14 / 24)
    assert np.isnan(t.loc["ACC_NEW", "days_since_activity"])
    # ACC_EDGE: W1 won 400 on 20 Jan, L4 lost 2 Apr; L5 is lost after the as-of.
    assert (t.loc["ACC_EDGE", "won_amount"], t.loc["ACC_EDGE", "win_rate"]) == (400.0, 0.5)
    assert t.loc["ACC_EDGE", "last_won_at"] == pd.Timestamp("2024-01-20") and t.loc["ACC_EDGE", "last_lost_at"] == pd.Timestamp("2024-04-02")
    assert t.loc["ACC_OLD", "last_lost_at"] == pd.Timestamp("2023-02-01") and pd.isna(t.loc["ACC_OLD", "last_won_at"])
    assert np.isnan(t.loc["ACC_MULTI", "win_rate_ci_low"]) and np.isnan(t.loc["ACC_MULTI", "win_rate_ci_high"])
    # nothing decided yet: no won amount (0, not missing)
    assert t.loc["ACC_MULTI", "won_amount"] == 0.0 and t.loc["ACC_QUIET", "won_amount"] == 0.0
    # window: ACC_MULTI 100 + 200, ACC_EDGE 80, ACC_BIG 900, ACC_SMALL 100; the rest 0 and no top rep.
    wf = t["window_forecast"]
    assert wf.to_dict() == {a: {"ACC_MULTI": 300.0, "ACC_EDGE": 80.0, "ACC_BIG": 900.0, "ACC_SMALL": 100.0}.get(a, 0.0) for a in t.index}
    assert pd.isna(t.loc["ACC_QUIET", "top_rep"]) and np.isnan(t.loc["ACC_QUIET", "top_rep_share"])
    assert t.loc["ACC_SMALL", "top_rep"] == "r3"
    # flags that are False (not NA) where checked and not raised.
    assert t.loc["ACC_OLD", "flag_repeated_losses"] is False or not bool(t.loc["ACC_OLD", "flag_repeated_losses"])
    assert t[[f"flag_{f}" for f in ACCOUNT_FLAGS]].notna().all().all()


# -- a second floor: long listings, several teams, two quiet deals, an unpriced window ------

L_DEALS = {
    # ACC_WIDE: six open deals of r1 (team A) and r2 (team B), no activity, created 1 April.
    **{f"W{i}": ("ACC_WIDE", "r1" if i < 4 else "r2", "open", [("2024-04-01", "Proposal", 10.0 * i, "2024-08-01")]) for i in range(1, 7)},
    # ACC_ZERO: r3's only window deal weighs 0: no share can be computed (created 25 May: too young to be quiet).
    "Z1": ("ACC_ZERO", "r3", "open", [("2024-05-25", "Proposal", 50.0, "2024-06-10")]),
    # ACC_BACK: lost twice in a row and still has an open deal: "what will be different this time?"
    "B1": ("ACC_BACK", "r1", "lost", [("2024-01-01", "Proposal", 5.0, "2024-03-01"), ("2024-03-01", "Closed Lost", 5.0, "2024-03-01")]),
    "B2": ("ACC_BACK", "r1", "lost", [("2024-01-01", "Proposal", 5.0, "2024-04-01"), ("2024-04-01", "Closed Lost", 5.0, "2024-04-01")]),
    "B3": ("ACC_BACK", "r1", "open", [("2024-05-30", "Proposal", 7.0, "2024-09-01")]),
}
L_REPS = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["A", "B", "A"],
                       "manager": ["M", "M", "M"]}).astype("str")


def _wide(history: bool = True) -> Dataset:
    opps, hist = deal_frames({k: v[1:] for k, v in L_DEALS.items()})
    opps.insert(2, "account_id", pd.array([L_DEALS[k][0] for k in opps["opportunity_id"]], dtype="str"))
    acts = pd.DataFrame({"activity_id": ["x"], "rep_id": ["r1"], "occurred_at": [pd.Timestamp("2024-05-31")],
                         "opportunity_id": ["B3"], "activity_type": ["email"], "duration_s": [0.0]}).astype(
        {"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})
    tables = {"reps": L_REPS, "opportunities": opps}
    if history:
        tables["opportunity_history"] = hist
    return Dataset(tables=tables, activities=ibis.memtable(acts), as_of=AS_OF)


def test_long_listings_several_teams_and_a_window_without_weight() -> None:
    window = pd.DataFrame({"opportunity_id": ["Z1"], "rep_id": ["r3"], "weighted_amount": [0.0]}).astype(
        {"opportunity_id": "str", "rep_id": "str"})
    out = account_table(_wide(), AS_OF, SETTINGS, window=window)
    assert out["account_id"].tolist() == ["ACC_WIDE", "ACC_BACK", "ACC_ZERO"]  # 3 flags, 1, 0
    t = out.set_index("account_id")
    w = t.loc["ACC_WIDE"]
    assert w.team == "A, B" and w.reps == "r1, r2" and w.n_reps == 2 and w.open_reps == "r1, r2"
    # 10 + 20 + ... + 60 = 210; six deals: the first five listed, "and 1 more".
    assert (w.open_deals, w.open_amount) == (6, 210.0)
    assert w.reasons == (
        "6 deals open at once, 210 in total (W1, W2, W3, W4, W5 and 1 more): one buying decision or several, and who decides each?; "
        "its open deals are owned by 2 reps (r1, r2): who owns the account and its plan?; "
        f"no activity on any of its deals in 14+ days (last: never) while 6 deals are {QUIET}"
    )
    b = t.loc["ACC_BACK"]
    assert b.reasons == "lost its last 2 decided deals (latest 2024-04-01, no win ever): what will be different this time?"
    assert not bool(b.flag_no_recent_activity)  # an activity 31 May
    z = t.loc["ACC_ZERO"]
    # r3's window total is 0: the share is undefined (NaN), not raised; the account's part is 0.
    assert np.isnan(z.top_rep_share) and z.top_rep == "r3" and z.window_forecast == 0.0 and not bool(z.flag_concentrated)
    assert out.attrs["note"] == ""


def test_an_open_deal_without_history_leaves_pushed_unchecked() -> None:
    ds = _wide()
    hist = ds.table("opportunity_history")
    ds = replace(ds, tables={**ds.tables, "opportunity_history": hist.loc[hist["opportunity_id"] != "Z1"]})
    window = pd.DataFrame({"opportunity_id": ["Z1"], "rep_id": ["r3"], "weighted_amount": [40.0]}).astype(
        {"opportunity_id": "str", "rep_id": "str"})
    t = account_table(ds, AS_OF, SETTINGS, window=window).set_index("account_id")
    assert pd.isna(t.loc["ACC_ZERO", "flag_pushed"]) and pd.isna(t.loc["ACC_ZERO", "n_pushes"])
    assert t.loc["ACC_ZERO", "not_checked"] == "pushed: no history row for its open deals by the as-of date"
    assert t.loc["ACC_ZERO", "reasons"] == f"100% of r3's 30-day forecast (40 of 40) {SLIPS}"
    assert t.loc["ACC_WIDE", "not_checked"] == "" and t.loc["ACC_WIDE", "n_pushes"] == 0 and not bool(t.loc["ACC_WIDE", "flag_pushed"])


def test_without_history_or_activities_every_unchecked_flag_says_why() -> None:
    ds = replace(_wide(history=False), activities=None)
    t = account_table(ds, AS_OF, SETTINGS).set_index("account_id")
    assert t.loc["ACC_BACK", "not_checked"] == (
        "no_recent_activity: needs the activities table; concentrated: needs the opportunity_history table; "
        "pushed: needs the opportunity_history table"
    )
    assert t["window_forecast"].isna().all() and t["top_rep"].isna().all() and t["top_rep_share"].isna().all()
    assert t["last_activity_at"].isna().all() and t["days_since_activity"].isna().all()
    assert str(t["top_rep"].dtype) == "str" and str(t["last_activity_at"].dtype) == US
    assert str(t["window_forecast"].dtype) == "float64" and str(t["top_rep_share"].dtype) == "float64"
    assert t.loc["ACC_ZERO", "reasons"] == "" and t.loc["ACC_BACK", "reasons"].startswith("lost its last 2")
    assert t["n_flags"].tolist() == [2, 1, 0]  # WIDE: several deals, several reps; BACK: repeated losses


def test_deals_without_account_columns_and_dtypes() -> None:
    out = deals_without_account(_dataset(), AS_OF)
    assert out.columns.tolist() == ["as_of_date", "n_deals", "n_open", "open_amount", "n_won", "n_lost", "won_amount"]
    assert out.dtypes.astype(str).tolist() == [US, "int64", "int64", "float64", "int64", "int64", "float64"]
    assert out.iloc[0]["as_of_date"] == AS_OF
    # Nothing without an account on the second floor: zeros.
    none = deals_without_account(_wide(), AS_OF).iloc[0]
    assert (none.n_deals, none.n_open, none.open_amount, none.n_won, none.n_lost, none.won_amount) == (0, 0, 0.0, 0, 0, 0.0)


def _small() -> Dataset:
    deals = {
        **{f"F{i}": ("ACC_FIVE", "r1", "open", [("2024-05-25", "Proposal", 1.0, "2024-08-01")]) for i in range(1, 6)},
        # ACC_ONE: one decided deal, lost: win rate 0 of 1.
        "G1": ("ACC_ONE", "r2", "lost", [("2024-01-01", "Proposal", 2.0, "2024-03-01"), ("2024-03-01", "Closed Lost", 2.0, "2024-03-01")]),
        # no account: one lost (3), one won at an unknown amount, one open (4).
        "N1": (None, "r1", "lost", [("2024-01-01", "Proposal", 3.0, "2024-03-01"), ("2024-03-01", "Closed Lost", 3.0, "2024-03-01")]),
        "N2": (None, "r1", "won", [("2024-01-01", "Proposal", None, "2024-03-01"), ("2024-03-01", "Closed Won", None, "2024-03-01")]),
        "N3": (None, "r1", "open", [("2024-05-01", "Proposal", 4.0, "2024-08-01")]),
    }
    opps, hist = deal_frames({k: v[1:] for k, v in deals.items()})
    opps.insert(2, "account_id", pd.array([deals[k][0] for k in opps["opportunity_id"]], dtype="str"))
    return Dataset(tables={"reps": L_REPS, "opportunities": opps, "opportunity_history": hist}, activities=None, as_of=AS_OF)


def test_five_deals_one_decided_deal_and_a_window_below_one() -> None:
    # r1's window is F1 at 0.5: all of it on ACC_FIVE (share 1, printed "0 of 0" once rounded).
    window = pd.DataFrame({"opportunity_id": ["F1"], "rep_id": ["r1"], "weighted_amount": [0.5]}).astype(
        {"opportunity_id": "str", "rep_id": "str"})
    t = account_table(_small(), AS_OF, SETTINGS, window=window).set_index("account_id")
    five = t.loc["ACC_FIVE"]
    assert five.reasons == (
        "5 deals open at once, 5 in total (F1, F2, F3, F4, F5): one buying decision or several, and who decides each?; "
        f"100% of r1's 30-day forecast (0 of 0) {SLIPS}"
    )
    assert five.top_rep_share == 1.0 and bool(five.flag_concentrated)
    one = t.loc["ACC_ONE"]
    assert (one.n_decided, one.won, one.lost, one.win_rate, one.losses_since_win) == (1, 0, 1, 0.0, 1)
    # Deals without an account: N1 lost, N2 won (unknown amount: adds 0), N3 open at 4.
    loose = deals_without_account(_small(), AS_OF).iloc[0]
    assert (loose.n_deals, loose.n_open, loose.open_amount, loose.n_won, loose.n_lost, loose.won_amount) == (3, 1, 4.0, 1, 1, 0.0)


def test_two_reps_on_one_account_shares_on_the_threshold_and_no_warning() -> None:
    # Window: r1 M1 100 + M2 200; r2 M3 100 + L5 100; r3 C1 200 + C2 100.
    # ACC_MULTI: r1 300 of 300 (share 1) and r2 100 of 200 (0.5): the top rep is r1; 400 in all.
    # ACC_EDGE: r2 100 of 200 = 0.5, exactly the threshold: concentrated. ACC_BIG: 200 of 300
    # (67%); ACC_SMALL 100 of 300 (a third): not. Three open deals reach a threshold of 3.
    window = pd.DataFrame(
        {"opportunity_id": ["M1", "M2", "M3", "L5", "C1", "C2"], "rep_id": ["r1", "r1", "r2", "r2", "r3", "r3"],
         "weighted_amount": [100.0, 200.0, 100.0, 100.0, 200.0, 100.0]}
    ).astype({"opportunity_id": "str", "rep_id": "str"})
    settings = replace(SETTINGS, accounts_several_open_deals=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # accounts with no decided deal: no 0/0 warning
        t = account_table(_dataset(), AS_OF, settings, window=window).set_index("account_id")
    m = t.loc["ACC_MULTI"]
    assert (m.top_rep, m.top_rep_share, m.window_forecast) == ("r1", 1.0, 400.0)
    assert bool(m.flag_several_open_deals) and m.losses_since_win == 0
    assert t.loc["ACC_EDGE", "reasons"] == f"50% of r2's 30-day forecast (100 of 200) {SLIPS}"
    assert t.loc["ACC_BIG", "reasons"] == f"67% of r3's 30-day forecast (200 of 300) {SLIPS}"
    assert t.loc["ACC_SMALL", "top_rep_share"] == pytest.approx(1 / 3) and not bool(t.loc["ACC_SMALL", "flag_concentrated"])
    assert t.loc["ACC_QUIET", "losses_since_win"] == 0


def test_defaults_and_the_missing_column_message() -> None:
    # No as-of given: the weekly rule on data up to Wednesday 5 June 2024 gives Monday 3 June
    # 00:00, so N3 (created 2 June, open, 9) now counts: 3 deals, 2 open (5 + 9), N2 won (7).
    ds = _dataset()
    loose = deals_without_account(ds).iloc[0]
    assert loose.as_of_date == pd.Timestamp("2024-06-03")
    assert (loose.n_deals, loose.n_open, loose.open_amount, loose.n_won, loose.n_lost, loose.won_amount) == (3, 2, 14.0, 1, 0, 7.0)
    out = account_table(ds, window=WINDOW)
    assert (out["as_of_date"] == pd.Timestamp("2024-06-03")).all()
    bare = replace(ds, tables={**ds.tables, "opportunities": OPPS.drop(columns="account_id")})
    from salesx2lib.dataset import MissingTableError

    with pytest.raises(MissingTableError, match=r"^needs the account_id column of opportunities, which this dataset does not have$"):
        deals_without_account(bare, AS_OF)


def test_a_won_deal_without_amount_adds_nothing_to_won_amount() -> None:
    # N2 (won, no account) closes with an unknown amount: won_amount 0, not 1 or NaN.
    opps = OPPS.assign(amount=OPPS["amount"].where(OPPS["opportunity_id"] != "N2"))
    hist = HIST.assign(amount=HIST["amount"].where(HIST["opportunity_id"] != "N2"))
    ds = replace(_dataset(), tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist})
    loose = deals_without_account(ds, AS_OF).iloc[0]
    assert (loose.n_won, loose.won_amount, loose.open_amount) == (1, 0.0, 5.0)


def test_the_window_is_the_rolling_forecast_at_the_same_instant() -> None:
    # With the training threshold lowered to 2, the fixture's 5 decided deals are enough for
    # the win model: the window computed by account_table must be the documented one,
    # rolling_pipeline at the same as-of with the same settings (not the data's default
    # as-of, 3 June, when C3 exists and M1 is worth 99,999), summed per account here in
    # plain pandas.
    s = replace(SETTINGS, forecast_min_training_events=2)
    ds = _dataset()
    t = account_table(ds, AS_OF, s).set_index("account_id")
    w = rolling.rolling_pipeline(ds, AS_OF, s, with_scrub=False)
    account = w["opportunity_id"].map(OPPS.set_index("opportunity_id")["account_id"])
    want = w.groupby(account)["weighted_amount"].sum()
    assert want.notna().all() and len(want) >= 5
    got = t["window_forecast"]
    assert got.loc[want.index].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    assert (got.drop(want.index) == 0.0).all()
    assert (t["not_checked"] == "").all()


def test_an_empty_window_is_checked_and_a_window_without_weights_is_not() -> None:
    # Only a lost deal: the rolling window is empty, which is a checked answer (nothing rides
    # on any account: False, window 0), not "too little history".
    deals = {"G1": ("ACC_ONE", "r2", "lost", [("2024-01-01", "Proposal", 2.0, "2024-03-01"),
                                               ("2024-03-01", "Closed Lost", 2.0, "2024-03-01")])}
    opps, hist = deal_frames({k: v[1:] for k, v in deals.items()})
    opps.insert(2, "account_id", pd.array(["ACC_ONE"], dtype="str"))
    ds = Dataset(tables={"reps": L_REPS, "opportunities": opps, "opportunity_history": hist}, activities=None, as_of=AS_OF)
    one = account_table(ds, AS_OF, SETTINGS).iloc[0]
    assert one.flag_concentrated is False or (pd.notna(one.flag_concentrated) and not bool(one.flag_concentrated))
    assert one.window_forecast == 0.0
    assert one.not_checked == "no_recent_activity: needs the activities table"
    # The second floor has 2 decided deals, below the 30 the model needs: every weight is
    # missing, and the sentence says so exactly.
    t = account_table(_wide(), AS_OF, SETTINGS).set_index("account_id")
    assert t["flag_concentrated"].isna().all()
    assert t.loc["ACC_ZERO", "not_checked"] == "concentrated: too little history to learn win probabilities yet"
