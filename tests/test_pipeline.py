"""Point-in-time pipeline: as_of() by hand, as_of(last) == current, and no leak from the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib.pipeline import as_of, prepare_history, snapshots

US = "datetime64[us]"
OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype=US)


OPPS = pd.DataFrame(
    {
        "opportunity_id": pd.array(["o1", "o2", "o3", "o4"], dtype="str"),
        "rep_id": pd.array(["r1", "r1", "r2", "r2"], dtype="str"),
        "created_at": _ts(["2024-01-01", "2024-01-10", "2024-02-01", "2024-03-01"]),
        "amount": [100.0, 200.0, 50.0, 10.0],
        "stage": pd.array(["Closed Won", "Proposal", "Closed Lost", "Prospecting"], dtype="str"),
        "status": pd.array(["won", "open", "lost", "open"], dtype="str"),
        "expected_close_date": _ts(["2024-02-01", "2024-03-15", "2024-02-20", "2024-04-01"]),
        "closed_at": _ts(["2024-02-03", None, "2024-02-18", None]),
    }
)
HIST = pd.DataFrame(
    {
        "opportunity_id": pd.array(["o1", "o1", "o1", "o2", "o2", "o2", "o2", "o3", "o3", "o4"], dtype="str"),
        "changed_at": _ts(
            ["2024-01-01", "2024-01-15", "2024-02-03", "2024-01-10", "2024-01-20", "2024-02-10", "2024-02-12", "2024-02-01", "2024-02-18", "2024-03-01"]
        ),
        "stage": pd.array(
            ["Prospecting", "Proposal", "Closed Won", "Qualification", "Qualification", "Proposal", "Proposal", "Prospecting", "Closed Lost", "Prospecting"],
            dtype="str",
        ),
        "amount": [80.0, 100.0, 100.0, 150.0, 200.0, 200.0, 200.0, 50.0, 50.0, 10.0],
        "expected_close_date": _ts(
            ["2024-01-25", "2024-02-01", "2024-02-01", "2024-02-15", "2024-03-01", "2024-03-10", "2024-03-15", "2024-02-20", "2024-02-20", "2024-04-01"]
        ),
    }
)


def test_as_of_mid_january_by_hand():
    got = as_of(OPPS, HIST, "2024-01-16").set_index("opportunity_id")
    assert got.index.tolist() == ["o1", "o2"]  # o3, o4 not created yet
    assert got.loc["o1", "stage"] == "Proposal" and got.loc["o1", "amount"] == 100.0
    assert got.loc["o1", "status"] == "open" and pd.isna(got.loc["o1", "closed_at"])
    assert got.loc["o1", "expected_close_date"] == pd.Timestamp("2024-02-01")
    assert got.loc["o2", "stage"] == "Qualification" and got.loc["o2", "amount"] == 150.0


def test_change_at_the_instant_counts():
    # A change stamped exactly at the as-of instant is known at it.
    got = as_of(OPPS, HIST, "2024-01-15").set_index("opportunity_id")
    assert got.loc["o1", "stage"] == "Proposal"
    got = as_of(OPPS, HIST, pd.Timestamp("2024-01-15") - pd.Timedelta(microseconds=1)).set_index("opportunity_id")
    assert got.loc["o1", "stage"] == "Prospecting"


def test_closed_status_appears_at_close():
    got = as_of(OPPS, HIST, "2024-02-05").set_index("opportunity_id")
    assert got.loc["o1", "status"] == "won" and got.loc["o1", "stage"] == "Closed Won"
    assert got.loc["o1", "closed_at"] == pd.Timestamp("2024-02-03")
    assert got.loc["o3", "status"] == "open" and got.loc["o3", "stage"] == "Prospecting"


def test_as_of_last_date_equals_current_table():
    last = max(HIST["changed_at"].max(), OPPS["created_at"].max())
    pd.testing.assert_frame_equal(as_of(OPPS, HIST, last), OPPS)


def test_missing_history_gives_unknown_state():
    hist = HIST.loc[HIST["opportunity_id"] != "o2"]
    got = as_of(OPPS, hist, "2024-02-15").set_index("opportunity_id")
    assert pd.isna(got.loc["o2", "stage"]) and pd.isna(got.loc["o2", "amount"])
    assert got.loc["o2", "status"] == "open"  # status comes from closed_at, known


def test_history_derivatives():
    h = prepare_history(OPPS, HIST)
    o2 = h.loc[h["opp_index"] == 1]
    # ECD 15 Feb -> 1 Mar -> 10 Mar -> 15 Mar: three pushes, counted as they happen.
    assert o2["n_pushes"].tolist() == [0, 1, 2, 3]
    # Qualification from 10 Jan (the 20 Jan row keeps the stage), Proposal from 10 Feb.
    assert o2["stage_entered_at"].tolist() == [pd.Timestamp(x) for x in ["2024-01-10", "2024-01-10", "2024-02-10", "2024-02-10"]]


def test_snapshots_open_only_and_order():
    snap = snapshots(OPPS, HIST, ["2024-03-01", "2024-01-16", "2024-02-11"], open_only=True)
    assert snap["as_of_date"].is_monotonic_increasing
    pairs = list(zip(snap["as_of_date"].dt.strftime("%m-%d"), snap["opportunity_id"], strict=True))
    assert pairs == [("01-16", "o1"), ("01-16", "o2"), ("02-11", "o2"), ("02-11", "o3"), ("03-01", "o2"), ("03-01", "o4")]
    feb = snap.loc[snap["as_of_date"] == "2024-02-11"].iloc[0]
    assert feb["n_pushes"] == 2 and feb["stage_entered_at"] == pd.Timestamp("2024-02-10")
    assert bool(feb["state_known"]) and (snap["status"] == "open").all()


def test_same_instant_changes_keep_file_order():
    hist = pd.concat([HIST, HIST.iloc[[3]].assign(stage="Negotiation", amount=999.0)], ignore_index=True)
    got = as_of(OPPS, hist, "2024-01-12").set_index("opportunity_id")
    assert got.loc["o2", "stage"] == "Negotiation" and got.loc["o2", "amount"] == 999.0


def _random_tables(seed: int, n: int = 25) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Consistent random opportunities + history: the current row is the last history row."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30")
    opp_rows, hist_rows = [], []
    for i in range(n):
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=int(rng.integers(0, 24 * 150)))
        created = t
        stage, amount = 0, float(rng.integers(1, 50) * 100)
        ecd = (t + pd.Timedelta(days=int(rng.integers(10, 60)))).normalize()
        rows = [(t, OPEN_STAGES[stage], amount, ecd)]
        status, closed = "open", pd.NaT
        for _ in range(int(rng.integers(0, 6))):
            t = t + pd.Timedelta(hours=int(rng.integers(0, 24 * 20)))  # 0: same-instant change
            if t > end:
                break
            roll = rng.random()
            if roll < 0.15:
                status = "won" if rng.random() < 0.5 else "lost"
                closed = t
                rows.append((t, "Closed Won" if status == "won" else "Closed Lost", amount, ecd))
                break
            if roll < 0.5:
                stage = min(stage + 1, 3)
            elif roll < 0.75:
                ecd = ecd + pd.Timedelta(days=int(rng.integers(-5, 20)))
            else:
                amount = amount * float(rng.uniform(0.5, 1.5))
            rows.append((t, OPEN_STAGES[stage], amount, ecd))
        oid = f"o{i}"
        hist_rows += [(oid, *r) for r in rows]
        last = rows[-1]
        opp_rows.append((oid, f"r{i % 3}", created, last[2], last[1], status, last[3], closed))
    opps = pd.DataFrame(
        opp_rows, columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"]
    ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str", "expected_close_date": US, "closed_at": US})
    hist = pd.DataFrame(hist_rows, columns=["opportunity_id", "changed_at", "stage", "amount", "expected_close_date"])
    hist = hist.astype({"opportunity_id": "str", "changed_at": US, "stage": "str", "expected_close_date": US})
    # File order by time; same-instant changes keep the order they were made in.
    hist = hist.assign(seq=np.arange(len(hist))).sort_values(["changed_at", "seq"]).drop(columns="seq").reset_index(drop=True)
    last = max(hist["changed_at"].max(), opps["created_at"].max())
    return opps, hist, last


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_property_as_of_last_is_current(seed):
    opps, hist, last = _random_tables(seed)
    pd.testing.assert_frame_equal(as_of(opps, hist, last), opps)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), day=st.integers(0, 180))
def test_property_future_rows_do_not_change_the_past(seed, day):
    opps, hist, _ = _random_tables(seed)
    when = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    before = as_of(opps, hist, when)
    future = hist["changed_at"] > when
    hist2 = hist.assign(
        amount=hist["amount"].where(~future, hist["amount"] * 7),
        stage=hist["stage"].where(~future, "Negotiation"),
        expected_close_date=hist["expected_close_date"].where(~future, pd.Timestamp("2030-01-01")),
    )
    opps2 = opps.assign(amount=opps["amount"] * 3, stage="Closed Won", expected_close_date=pd.Timestamp("2031-01-01"))
    flipped = opps2["closed_at"] > when
    opps2 = opps2.assign(status=opps2["status"].where(~flipped, opps2["status"].map({"won": "lost", "lost": "won"})))
    opps2 = opps2.astype(opps.dtypes.to_dict())
    after = as_of(opps2, hist2, when)
    cols = ["opportunity_id", "stage", "amount", "expected_close_date", "status", "closed_at"]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_unknown_history_ids_are_ignored():
    extra = pd.DataFrame(
        {"opportunity_id": pd.array(["zz"], dtype="str"), "changed_at": _ts(["2024-01-02"]), "stage": pd.array(["Proposal"], dtype="str"), "amount": [1.0], "expected_close_date": _ts([None])}
    )
    got = as_of(OPPS, pd.concat([HIST, extra], ignore_index=True), "2024-01-16")
    assert got["opportunity_id"].tolist() == ["o1", "o2"]


def test_bad_date():
    with pytest.raises(ValueError, match="not a date"):
        as_of(OPPS, HIST, "yesterday-ish")
