"""Date edges of the accounts table not pinned by test_accounts.py, by hand. As of 1 June 2024:

* repeated losses count only when the latest loss is within 365 days: 2 June 2023 is exactly
  365 days before (counts), 1 June 2023 is 366 (does not);
* a loss at the same instant as the account's last win is not a loss *since* the win;
* an account is old enough to be called quiet when its oldest open deal is more than 14 days
  old: created 18 May (14 days) is not, 17 May (15 days) is.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from salesx2lib.accounts import account_table
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

from conftest import deal_frames

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-06-01")
S = load_settings()


def _lost(day: str) -> tuple:
    return ("r1", "lost", [("2023-01-01", "Proposal", 10.0, day), (day, "Closed Lost", 10.0, day)])


DEALS = {
    "A1": ("ACC_365", *_lost("2023-02-01")), "A2": ("ACC_365", *_lost("2023-06-02")),
    "B1": ("ACC_366", *_lost("2023-02-01")), "B2": ("ACC_366", *_lost("2023-06-01")),
    "T0": ("ACC_TIE", "r1", "won", [("2024-01-01", "Proposal", 10.0, "2024-03-01"), ("2024-03-01", "Closed Won", 10.0, "2024-03-01")]),
    "T1": ("ACC_TIE", *_lost("2024-03-01")), "T2": ("ACC_TIE", *_lost("2024-04-01")),
    "Y14": ("ACC_Y14", "r1", "open", [("2024-05-18", "Proposal", 10.0, "2024-07-15")]),
    "Y15": ("ACC_Y15", "r1", "open", [("2024-05-17", "Proposal", 10.0, "2024-07-15")]),
}
OPPS, HIST = deal_frames({k: v[1:] for k, v in DEALS.items()})
OPPS.insert(2, "account_id", pd.array([DEALS[k][0] for k in OPPS["opportunity_id"]], dtype="str"))
REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")
ACTS = pd.DataFrame({"activity_id": ["x"], "rep_id": ["r1"], "occurred_at": [pd.Timestamp("2023-01-01")],
                     "opportunity_id": ["A1"], "activity_type": ["email"], "duration_s": [0.0]}).astype(
    {"activity_id": "str", "rep_id": "str", "occurred_at": US, "opportunity_id": "str", "activity_type": "str"})


# Function scope on purpose: mutmut links a mutant only to the tests that call the mutated
# function, and a table cached by an earlier test is not a call (docs/mutation.md).
@pytest.fixture
def table() -> pd.DataFrame:
    ds = Dataset(tables={"reps": REPS, "opportunities": OPPS, "opportunity_history": HIST}, activities=ibis.memtable(ACTS),
                 as_of=pd.Timestamp("2024-06-05"))
    return account_table(ds, AS_OF, S).set_index("account_id")


def test_repeated_losses_window_edge(table):
    assert table.loc["ACC_365", "losses_since_win"] == 2 and bool(table.loc["ACC_365", "flag_repeated_losses"])
    assert table.loc["ACC_366", "losses_since_win"] == 2 and not bool(table.loc["ACC_366", "flag_repeated_losses"])


def test_a_loss_at_the_instant_of_the_last_win_is_not_after_it(table):
    assert table.loc["ACC_TIE", "losses_since_win"] == 1
    assert not bool(table.loc["ACC_TIE", "flag_repeated_losses"])


def test_quiet_needs_an_open_deal_older_than_14_days(table):
    assert not bool(table.loc["ACC_Y14", "flag_no_recent_activity"])
    assert bool(table.loc["ACC_Y15", "flag_no_recent_activity"])
