"""The accounts table on a hand-built floor: every figure and flag checked by hand.

The as-of instant is 1 June 2024, 00:00. Events stamped exactly then are known; events
a microsecond later are not (a close, a push, an amount change, an activity, a new deal),
and a deal created after it is in no row.
"""

from __future__ import annotations

from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib.accounts import ACCOUNT_FLAGS, account_table, deals_without_account
from salesx2lib.cli import main
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-06-01")
AFTER = "2024-06-01 00:00:00.000001"  # one microsecond after the as-of instant
SETTINGS = load_settings()

# id: (account, rep, status, [(changed_at, stage, amount, expected_close_date), ...])
DEALS: dict[str, tuple[str | None, str, str, list[tuple]]] = {
    # three open deals, two reps; pushes known by the as-of: M1 2, M2 1 (its 3 Jun push is later)
    "M1": ("ACC_MULTI", "r1", "open", [("2024-04-01", "Proposal", 100.0, "2024-05-15"), ("2024-05-10", "Proposal", 100.0, "2024-05-25"),
                                       ("2024-05-20", "Proposal", 100.0, "2024-06-20"), (AFTER, "Proposal", 99_999.0, "2024-06-20")]),
    "M2": ("ACC_MULTI", "r1", "open", [("2024-04-05", "Qualification", 200.0, "2024-06-01"),
                                       ("2024-05-15", "Qualification", 200.0, "2024-06-25"),
                                       ("2024-06-03", "Qualification", 200.0, "2024-07-30")]),
    "M3": ("ACC_MULTI", "r2", "open", [("2024-04-10", "Proposal", 300.0, "2024-08-30")]),
    # a win, then two losses (the second exactly at the as-of instant: known)
    "W0": ("ACC_LOSS", "r2", "won", [("2023-12-01", "Proposal", 500.0, "2024-01-15"), ("2024-01-15", "Closed Won", 500.0, "2024-01-15")]),
    "L1": ("ACC_LOSS", "r2", "lost", [("2024-02-01", "Proposal", 50.0, "2024-04-01"), ("2024-04-01", "Closed Lost", 50.0, "2024-04-01")]),
    "L2": ("ACC_LOSS", "r2", "lost", [("2024-03-01", "Proposal", 60.0, "2024-06-01"), ("2024-06-01", "Closed Lost", 60.0, "2024-06-01")]),
    # a win, a loss, and a loss a microsecond after the as-of: open then
    "W1": ("ACC_EDGE", "r2", "won", [("2023-12-01", "Proposal", 400.0, "2024-01-20"), ("2024-01-20", "Closed Won", 400.0, "2024-01-20")]),
    "L4": ("ACC_EDGE", "r2", "lost", [("2024-02-01", "Proposal", 70.0, "2024-04-02"), ("2024-04-02", "Closed Lost", 70.0, "2024-04-02")]),
    "L5": ("ACC_EDGE", "r2", "lost", [("2024-03-01", "Proposal", 80.0, "2024-06-01"), (AFTER, "Closed Lost", 80.0, "2024-06-01")]),
    # two old losses (more than 365 days before the as-of)
    "O1": ("ACC_OLD", "r2", "lost", [("2022-12-01", "Proposal", 10.0, "2023-01-10"), ("2023-01-10", "Closed Lost", 10.0, "2023-01-10")]),
    "O2": ("ACC_OLD", "r2", "lost", [("2022-12-05", "Proposal", 10.0, "2023-02-01"), ("2023-02-01", "Closed Lost", 10.0, "2023-02-01")]),
    # activity: last one 1 May (the one a microsecond after the as-of does not count)
    "Q1": ("ACC_QUIET", "r1", "open", [("2024-04-01", "Proposal", 1000.0, "2024-07-15")]),
    "A1": ("ACC_ACTIVE", "r1", "open", [("2024-04-01", "Proposal", 10.0, "2024-07-15")]),  # activity exactly at the as-of
    "Y1": ("ACC_NEW", "r1", "open", [("2024-05-25", "Proposal", 10.0, "2024-07-15")]),  # no activity, but 7 days old
    "D14": ("ACC_14", "r1", "open", [("2024-04-01", "Proposal", 10.0, "2024-07-15")]),  # last activity exactly 14 days before
    "D14b": ("ACC_14b", "r1", "open", [("2024-04-01", "Proposal", 10.0, "2024-07-15")]),  # ... and a second more
    # r3's rolling window: 900 on ACC_BIG, 100 on ACC_SMALL (same stage: same probability)
    "C1": ("ACC_BIG", "r3", "open", [("2024-05-01", "Proposal", 900.0, "2024-06-10")]),
    "C2": ("ACC_SMALL", "r3", "open", [("2024-05-01", "Proposal", 100.0, "2024-06-15")]),
    "C3": ("ACC_BIG", "r3", "open", [(AFTER, "Proposal", 10_000.0, "2024-06-12")]),  # created after the as-of
    # no account: one open, one won, one created after the as-of
    "N1": (None, "r1", "open", [("2024-05-01", "Proposal", 5.0, "2024-07-01")]),
    "N2": (None, "r1", "won", [("2024-02-01", "Proposal", 7.0, "2024-03-01"), ("2024-03-01", "Closed Won", 7.0, "2024-03-01")]),
    "N3": (None, "r1", "open", [("2024-06-02", "Proposal", 9.0, "2024-07-01")]),
}
OPPS, HIST = deal_frames({k: v[1:] for k, v in DEALS.items()})
OPPS.insert(2, "account_id", pd.array([DEALS[k][0] for k in OPPS["opportunity_id"]], dtype="str"))
REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["r1", "r2", "r3"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob", "Cy"], dtype="str"),
        "team": pd.array(["A", "A", "B"], dtype="str"),
        "manager": pd.array(["M", "M", "M"], dtype="str"),
    }
)
ACTIVITIES = pd.DataFrame(
    [
        ("a1", "r1", "2024-05-30 10:00", "M1"),
        ("a2", "r2", "2024-05-29 10:00", "M3"),
        ("a3", "r2", "2024-05-28 10:00", "L5"),
        ("a4", "r1", "2024-05-01 10:00", "Q1"),
        ("a5", "r1", AFTER, "Q1"),
        ("a6", "r1", "2024-06-01 00:00", "A1"),
        ("a7", "r1", "2024-05-18 00:00", "D14"),
        ("a8", "r1", "2024-05-17 23:59:59", "D14b"),
        ("a9", "r3", "2024-05-30 10:00", "C1"),
        ("a10", "r3", "2024-05-30 10:00", "C2"),
        ("a11", "r1", "2024-05-30 10:00", "N1"),
    ],
    columns=["activity_id", "rep_id", "occurred_at", "opportunity_id"],
).assign(activity_type="conversation", duration_s=60.0)
ACTIVITIES = ACTIVITIES.astype({"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})
DATA_AS_OF = pd.Timestamp("2024-06-05")


def _dataset(history: bool = True, activities: bool = True) -> Dataset:
    tables = {"reps": REPS, "opportunities": OPPS}
    if history:
        tables["opportunity_history"] = HIST
    return Dataset(tables=tables, activities=ibis.memtable(ACTIVITIES) if activities else None, as_of=DATA_AS_OF)


#: The rolling forecast's deal weights the flags are tested with, written by hand (the win model
#: needs more history than this fixture has): r1's window is M1 + M2, r2's is L5, r3's C1 + C2;
#: the deals due after the window (Q1, A1, M3, ...) are not in it.
WINDOW = pd.DataFrame(
    {
        "opportunity_id": ["M1", "M2", "L5", "C1", "C2"],
        "rep_id": ["r1", "r1", "r2", "r3", "r3"],
        "weighted_amount": [100.0, 200.0, 80.0, 900.0, 100.0],
    }
).astype({"opportunity_id": "str", "rep_id": "str"})


# Function scope on purpose: mutmut links a mutant only to the tests that call the mutated
# function, and a table cached by an earlier test is not a call (docs/mutation.md).
@pytest.fixture
def table() -> pd.DataFrame:
    return account_table(_dataset(), AS_OF, window=WINDOW).set_index("account_id")


def test_concentration_is_not_checked_before_the_model_can_weigh_deals():
    # The fixture holds 5 decided deals: below [forecast] min_training_events, so no deal has a
    # probability yet and no share of a rep's window can be computed.
    alone = account_table(_dataset(), AS_OF).set_index("account_id")
    assert alone["flag_concentrated"].isna().all()
    assert "concentrated: too little history to learn win probabilities yet" in alone.loc["ACC_BIG", "not_checked"]
    assert bool(alone.loc["ACC_MULTI", "flag_several_open_deals"])  # the other flags still work


def _raised(row: pd.Series) -> set[str]:
    return {f for f in ACCOUNT_FLAGS if row[f"flag_{f}"] is True or (pd.notna(row[f"flag_{f}"]) and bool(row[f"flag_{f}"]))}


def test_one_row_per_account_known_at_the_as_of(table):
    assert sorted(table.index) == sorted({v[0] for v in DEALS.values() if v[0] is not None})
    assert (table["as_of_date"] == AS_OF).all()
    # C3 (created a microsecond after the as-of) is not one of ACC_BIG's deals
    assert table.loc["ACC_BIG", "n_deals"] == 1 and table.loc["ACC_BIG", "open_amount"] == 900.0


def test_open_pipeline_by_hand(table):
    m = table.loc["ACC_MULTI"]
    # amounts as of the as-of: M1's later change to 99,999 is not known
    assert m.open_deals == 3 and m.open_amount == 600.0
    assert m.reps == "r1, r2" and m.n_reps == 2 and m.open_reps == "r1, r2" and m.team == "A"
    assert m.next_close_date == pd.Timestamp("2024-06-20")  # M1 20 Jun, M2 25 Jun (its 30 Jul is later), M3 30 Aug
    assert m.n_pushes == 3  # M1 twice, M2 once; M2's push on 3 Jun is after the as-of
    e = table.loc["ACC_EDGE"]
    assert e.open_deals == 1 and e.open_amount == 80.0  # L5 was lost after the as-of: open then


def test_win_history_by_hand(table):
    loss = table.loc["ACC_LOSS"]
    # W0 won, L1 lost, L2 lost exactly at the as-of instant (known)
    assert (loss.won, loss.lost, loss.n_decided, loss.won_amount) == (1, 2, 3, 500.0)
    assert loss.win_rate == pytest.approx(1 / 3)
    lo, hi = proportion_confint(1, 3, alpha=0.05, method="wilson")
    assert loss.win_rate_ci_low == pytest.approx(lo) and loss.win_rate_ci_high == pytest.approx(hi)
    assert loss.last_won_at == pd.Timestamp("2024-01-15") and loss.last_lost_at == AS_OF
    assert loss.losses_since_win == 2 and loss.open_deals == 0
    edge = table.loc["ACC_EDGE"]  # L5's loss is a microsecond too late
    assert (edge.won, edge.lost, edge.losses_since_win) == (1, 1, 1)
    old = table.loc["ACC_OLD"]
    assert (old.won, old.lost, old.losses_since_win) == (0, 2, 2) and old.win_rate == 0.0
    assert np.isnan(table.loc["ACC_MULTI", "win_rate"]) and table.loc["ACC_MULTI", "n_decided"] == 0


def test_last_activity_by_hand(table):
    assert table.loc["ACC_QUIET", "last_activity_at"] == pd.Timestamp("2024-05-01 10:00")  # not the one after the as-of
    assert table.loc["ACC_QUIET", "days_since_activity"] == pytest.approx(30 + 14 / 24)
    assert table.loc["ACC_ACTIVE", "last_activity_at"] == AS_OF and table.loc["ACC_ACTIVE", "days_since_activity"] == 0.0
    assert table.loc["ACC_MULTI", "last_activity_at"] == pd.Timestamp("2024-05-30 10:00")  # max over M1 and M3
    assert pd.isna(table.loc["ACC_NEW", "last_activity_at"])


@pytest.mark.parametrize(
    ("account", "raised"),
    [
        ("ACC_MULTI", {"several_open_deals", "several_reps", "pushed", "concentrated"}),  # all of r1's window is M1 + M2
        ("ACC_LOSS", {"repeated_losses"}),
        ("ACC_EDGE", {"concentrated"}),  # one loss since the win (not two); L5 is all of r2's window
        ("ACC_OLD", set()),  # two losses in a row, but more than 365 days ago
        ("ACC_QUIET", {"no_recent_activity"}),
        ("ACC_ACTIVE", set()),
        ("ACC_NEW", set()),  # no activity, but its deal is only 7 days old
        ("ACC_14", set()),  # exactly 14 days: not more than 14
        ("ACC_14b", {"no_recent_activity"}),
        ("ACC_BIG", {"concentrated"}),  # 900 of r3's 1,000
        ("ACC_SMALL", set()),  # 100 of 1,000
    ],
)
def test_each_flag(table, account, raised):
    row = table.loc[account]
    assert _raised(row) == raised
    assert row["n_flags"] == len(raised)
    assert (row["reasons"] == "") == (not raised)
    assert row["reasons"].count("; ") == max(len(raised) - 1, 0)
    assert row["not_checked"] == ""


def test_concentration_share_by_hand(table):
    big = table.loc["ACC_BIG"]
    assert big.top_rep == "r3" and big.top_rep_share == pytest.approx(0.9)  # same stage, same weight: 900 / 1,000
    assert table.loc["ACC_SMALL", "top_rep_share"] == pytest.approx(0.1)
    assert table.loc["ACC_MULTI", "top_rep"] == "r1" and table.loc["ACC_MULTI", "top_rep_share"] == pytest.approx(1.0)
    assert np.isnan(table.loc["ACC_QUIET", "top_rep_share"])  # its deal closes after the window
    # A window given by the caller (another forecast's weights) is used as it is.
    window = pd.DataFrame(
        {"opportunity_id": ["C1", "C2", "N1"], "rep_id": ["r3", "r3", "r3"], "weighted_amount": [300.0, 200.0, 500.0]}
    ).astype({"opportunity_id": "str", "rep_id": "str"})
    got = account_table(_dataset(), AS_OF, window=window).set_index("account_id")
    assert got.loc["ACC_BIG", "top_rep_share"] == pytest.approx(0.3)  # the deal without an account still counts in r3's total
    assert got.loc["ACC_BIG", "window_forecast"] == 300.0 and not got.loc["ACC_BIG", "flag_concentrated"]


def test_reasons_say_what_to_ask(table):
    assert "3 deals open at once, 600 in total (M1, M2, M3)" in table.loc["ACC_MULTI", "reasons"]
    assert "owned by 2 reps (r1, r2)" in table.loc["ACC_MULTI", "reasons"]
    assert "pushed 3 times in total (M1 2x, M2 1x)" in table.loc["ACC_MULTI", "reasons"]
    assert "lost its last 2 decided deals (latest 2024-06-01, no win since 2024-01-15): is the account still worth pursuing?" in (
        table.loc["ACC_LOSS", "reasons"]
    )
    assert "last: 2024-05-01) while 1 deal is open" in table.loc["ACC_QUIET", "reasons"]
    assert "90% of r3's 30-day forecast" in table.loc["ACC_BIG", "reasons"]


def test_thresholds_come_from_the_accounts_settings():
    settings = replace(SETTINGS, accounts_loss_window_days=600, accounts_several_open_deals=4, accounts_push_threshold=4)
    got = account_table(_dataset(), AS_OF, settings).set_index("account_id")
    assert bool(got.loc["ACC_OLD", "flag_repeated_losses"])  # 1 Feb 2023 is within 600 days
    assert not got.loc["ACC_MULTI", "flag_several_open_deals"] and not got.loc["ACC_MULTI", "flag_pushed"]


def test_deals_without_an_account_are_counted_not_dropped_silently(table):
    loose = deals_without_account(_dataset(), AS_OF).iloc[0]
    # N1 open (5), N2 won (7); N3 is created after the as-of
    assert (loose.n_deals, loose.n_open, loose.open_amount, loose.n_won, loose.n_lost, loose.won_amount) == (2, 1, 5.0, 1, 0, 7.0)
    got = account_table(_dataset(), AS_OF)
    assert got.attrs["note"].startswith("2 deal(s) created by 2024-06-01 00:00 have no account_id")
    assert got["account_id"].notna().all()


def test_missing_tables_leave_their_flags_empty():
    bare = _dataset(history=False)
    no_hist = account_table(bare, bare.as_of).set_index("account_id")  # the dataset's own date: allowed
    assert no_hist["flag_pushed"].isna().all() and no_hist["flag_concentrated"].isna().all()
    assert "pushed: needs the opportunity_history table" in no_hist.loc["ACC_MULTI", "not_checked"]
    assert bool(no_hist.loc["ACC_MULTI", "flag_several_open_deals"])  # the rest still works
    no_acts = account_table(_dataset(activities=False), AS_OF).set_index("account_id")
    assert no_acts["flag_no_recent_activity"].isna().all()
    assert "no_recent_activity: needs the activities table" in no_acts.loc["ACC_QUIET", "not_checked"]
    with pytest.raises(MissingTableError, match="opportunity_history"):
        account_table(_dataset(history=False), AS_OF)  # a past date cannot be rebuilt without history
    ds = _dataset()
    ds = replace(ds, tables={**ds.tables, "opportunities": OPPS.drop(columns="account_id")})
    with pytest.raises(MissingTableError, match="account_id"):
        account_table(ds, AS_OF)


def test_metrics_accounts_says_how_many_deals_have_no_account(valid_folder, capsys):
    assert main(["metrics", str(valid_folder), "--table", "accounts"]) == 0
    captured = capsys.readouterr()
    assert "1 deal(s) created by" in captured.err and "no account_id" in captured.err  # O2 has none
    lines = captured.out.splitlines()
    assert lines[0].startswith("as_of_date,account_id,") and len(lines) == 3  # AC1 and AC2


def test_nothing_after_the_as_of_is_used():
    """The table as of 1 June equals the table of the same data cut at 1 June (a different path:
    the cut data's own date, its current rows), so no later close, push, amount, deal or
    activity leaks in."""
    hist = HIST.loc[HIST["changed_at"] <= AS_OF]
    last = hist.sort_values("changed_at", kind="stable").groupby("opportunity_id").tail(1).set_index("opportunity_id")
    opps = OPPS.loc[OPPS["created_at"] <= AS_OF].copy()
    later = opps["closed_at"] > AS_OF
    opps["status"] = opps["status"].where(~later, "open")
    opps["closed_at"] = opps["closed_at"].where(~later)
    for col in ("stage", "amount", "expected_close_date"):
        opps[col] = opps["opportunity_id"].map(last[col]).astype(OPPS[col].dtype)
    acts = ACTIVITIES.loc[ACTIVITIES["occurred_at"] <= AS_OF]
    cut = Dataset(
        tables={"reps": REPS, "opportunities": opps.reset_index(drop=True), "opportunity_history": hist},
        activities=ibis.memtable(acts),
        as_of=AS_OF,
    )
    pd.testing.assert_frame_equal(account_table(cut, cut.as_of), account_table(_dataset(), AS_OF))
    pd.testing.assert_frame_equal(deals_without_account(cut, cut.as_of), deals_without_account(_dataset(), AS_OF))
