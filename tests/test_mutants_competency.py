"""Tests of salesx2lib.competency written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function). Expected values are worked
out by hand in the comments, Wilson intervals by statsmodels. The survivors left
(equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import competency
from salesx2lib.dataset import Dataset, MissingTableError

US = "datetime64[us]"
T = pd.Timestamp
ACTIVITY_COLUMNS = ["dials", "conversations", "appointments", "emails", "meetings", "business_cards",
                    "other_activities", "prospect_appointments", "connected_calls"]
OPPORTUNITY_COLUMNS = ["opportunities", "won", "lost", "won_amount", "lost_amount"]


def _activities() -> pd.DataFrame:
    rows: list[tuple[str, str, str, str | None]] = []

    def add(rep: str, when: str, kind: str, n: int = 1, opp: str | None = None) -> None:
        rows.extend((rep, when, kind, opp) for _ in range(n))

    add("a", "2026-03-02 09:00:00", "dial", 3)
    add("a", "2026-03-02 09:00:00", "conversation", 2)  # 2 connected calls (same second as a dial)
    add("a", "2026-03-02 15:00:00", "conversation")  # a meeting held: a conversation, no dial
    add("a", "2026-03-03 10:00:00", "appointment")  # a prospect appointment
    add("a", "2026-03-04 10:00:00", "appointment", opp="o1")  # a follow-up on o1: not a prospect one
    add("a", "2026-03-10 11:00:00", "email")
    add("a", "2026-03-10 12:00:00", "meeting")
    add("a", "2026-03-11 13:00:00", "business_card")
    add("a", "2026-03-11 14:00:00", "other")
    add("b", "2026-03-17 09:00:00", "dial", 2)
    add("b", "2026-03-17 09:00:00", "conversation")  # 1 connected call
    add("b", "2026-05-06 09:00:00", "dial")  # May: a month after an idle April
    add("z", "2026-03-02 09:00:00", "dial")  # z is not in the reps table
    frame = pd.DataFrame(rows, columns=["rep_id", "occurred_at", "activity_type", "opportunity_id"])
    return frame.assign(
        activity_id=[f"x{i}" for i in range(len(frame))],
        occurred_at=pd.to_datetime(frame["occurred_at"]).astype(US),
    ).astype({"rep_id": "str", "activity_type": "str", "opportunity_id": "str"})


def _opportunities() -> pd.DataFrame:
    o = [
        # id, rep, created, amount, status, closed
        ("o1", "a", "2026-03-03 12:00", 100.0, "won", "2026-03-20 09:00"),
        ("o2", "a", "2026-02-20 10:00", 50.0, "lost", "2026-03-05 10:00"),  # created before March
        ("o3", "b", "2026-03-17 12:00", 70.0, "open", None),
        ("o4", "c", "2026-03-05 10:00", np.nan, "lost", "2026-03-06 10:00"),  # lost without an amount
    ]
    opps = pd.DataFrame(o, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    return opps.assign(
        created_at=pd.to_datetime(opps["created_at"]).astype(US),
        closed_at=pd.to_datetime(opps["closed_at"]).astype(US),
        stage=opps["status"].map({"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}),
        expected_close_date=T("2026-04-30"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "expected_close_date": US})


def _dataset(with_activities: bool = True, activities: pd.DataFrame | None = None) -> Dataset:
    reps = pd.DataFrame(
        {"rep_id": ["a", "b", "c"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["N", "N", "S"], "manager": ["M", "M", "S"]}
    ).astype("str")
    acts = _activities() if activities is None else activities
    return Dataset(
        tables={"reps": reps, "opportunities": _opportunities()},
        activities=ibis.memtable(acts) if with_activities else None,
        as_of=T("2026-06-01"),
    )


def _frame(rows: list[tuple], period: bool = False) -> pd.DataFrame:
    """The expected rep_counts frame from rows of (rep, team, [period], 9 activity counts, 5 opportunity counts).

    ``won_without_amount`` is 0 in every row: no won deal of the fixture lacks an amount.
    """
    keys = ["rep_id", "team", *(["period_start"] if period else [])]
    out = pd.DataFrame(rows, columns=[*keys, *ACTIVITY_COLUMNS, *OPPORTUNITY_COLUMNS])
    out["won_without_amount"] = 0
    dtypes = {c: "int64" for c in ACTIVITY_COLUMNS + OPPORTUNITY_COLUMNS[:3]}
    dtypes |= {"rep_id": "str", "team": "str", "won_amount": "float64", "lost_amount": "float64"}
    if period:
        dtypes["period_start"] = US
    return out.astype(dtypes)


Z9 = (0,) * 9


# -- closed_deals ----------------------------------------------------------------------------


def test_closed_deals_is_the_decided_deals_with_their_won_and_lost_columns():
    opps = _opportunities()
    out = competency.closed_deals(opps)
    # o1 won 100; o2 lost 50; o4 lost without an amount (0); o3 is open: not a row. The index is kept.
    expected = pd.DataFrame(
        {
            "rep_id": ["a", "a", "c"],
            "closed_at": [T("2026-03-20 09:00"), T("2026-03-05 10:00"), T("2026-03-06 10:00")],
            "status": ["won", "lost", "lost"],
            "amount": [100.0, 50.0, np.nan],
            "won": [1, 0, 0],
            "lost": [0, 1, 1],
            "won_amount": [100.0, 0.0, 0.0],
            "lost_amount": [0.0, 50.0, 0.0],
            "won_without_amount": [0, 0, 0],
        },
        index=[0, 1, 3],
    ).astype({"rep_id": "str", "status": "str", "closed_at": US})
    pd.testing.assert_frame_equal(out, expected)
    # bounds: [2026-03-06, 2026-03-20 09:00) keeps o4 (closed that day), not o1 (closed at the end)
    inside = competency.closed_deals(opps, T("2026-03-06"), T("2026-03-20 09:00"))
    assert inside.index.tolist() == [3]
    # only a start, only an end
    assert competency.closed_deals(opps, start=T("2026-03-06")).index.tolist() == [0, 3]
    assert competency.closed_deals(opps, end=T("2026-03-06 10:00")).index.tolist() == [1]


def test_closed_deals_counts_a_won_deal_without_an_amount_as_zero():
    opps = _opportunities()
    opps.loc[0, "amount"] = np.nan
    out = competency.closed_deals(opps)
    assert out["won_amount"].tolist() == [0.0, 0.0, 0.0]
    assert out["won"].tolist() == [1, 0, 0]
    assert out["won_without_amount"].tolist() == [1, 0, 0]  # o4, lost without an amount, is not counted
    ds = replace(_dataset(), tables={**_dataset().tables, "opportunities": opps})
    counts = competency.rep_counts(ds, "2026-03-02", "2026-04-01").set_index("rep_id")
    assert counts["won_without_amount"].to_dict() == {"a": 1, "b": 0, "c": 0}
    assert str(counts["won_without_amount"].dtype) == "int64"


# -- rep_counts --------------------------------------------------------------------------------


def test_rep_counts_over_march_by_hand():
    out = competency.rep_counts(_dataset(), "2026-03-02", "2026-04-01")
    expected = _frame([
        # dials conv appt emails meetings cards other prospect connected | opps won lost won_amt lost_amt
        ("a", "N", 3, 3, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 100.0, 50.0),  # o1 created in March; o2 lost in March
        ("b", "N", 2, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0.0, 0.0),  # the May dial is outside
        ("c", "S", *Z9, 1, 0, 1, 0.0, 0.0),  # o4 lost without an amount
    ])  # z (not a rep) has no row
    pd.testing.assert_frame_equal(out, expected)


def test_rep_counts_with_only_a_start_or_only_an_end():
    ds = _dataset()
    after = competency.rep_counts(ds, start="2026-03-03")
    expected = _frame([
        # the 2 March calls are before the start; o2 was created before but closed after it
        ("a", "N", 0, 0, 2, 1, 1, 1, 1, 1, 0, 1, 1, 1, 100.0, 50.0),
        ("b", "N", 3, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0.0, 0.0),  # May included: no end
        ("c", "S", *Z9, 1, 0, 1, 0.0, 0.0),
    ])
    pd.testing.assert_frame_equal(after, expected)
    before = competency.rep_counts(ds, end="2026-03-03")
    expected = _frame([
        ("a", "N", 3, 3, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0.0, 0.0),  # o2 created 20 Feb, nothing closed yet
        ("b", "N", *Z9, 0, 0, 0, 0.0, 0.0),
        ("c", "S", *Z9, 0, 0, 0, 0.0, 0.0),
    ])
    pd.testing.assert_frame_equal(before, expected)


def test_rep_counts_weekly_by_hand():
    out = competency.rep_counts(_dataset(), end="2026-04-01", freq="week")
    expected = _frame([
        ("a", "N", T("2026-02-16"), *Z9, 1, 0, 0, 0.0, 0.0),  # o2 created Fri 20 Feb
        ("a", "N", T("2026-02-23"), *Z9, 0, 0, 0, 0.0, 0.0),  # idle week between two events
        ("a", "N", T("2026-03-02"), 3, 3, 2, 0, 0, 0, 0, 1, 2, 1, 0, 1, 0.0, 50.0),
        ("a", "N", T("2026-03-09"), 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0.0, 0.0),
        ("a", "N", T("2026-03-16"), *Z9, 0, 1, 0, 100.0, 0.0),  # o1 won Fri 20 Mar
        ("b", "N", T("2026-03-16"), 2, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0.0, 0.0),
        ("c", "S", T("2026-03-02"), *Z9, 1, 0, 1, 0.0, 0.0),
    ], period=True)  # z (activities only, not a rep) has no row
    pd.testing.assert_frame_equal(out, expected)


def test_rep_counts_daily_by_hand():
    out = competency.rep_counts(_dataset(), "2026-03-02", "2026-03-06", freq="day")
    expected = _frame([
        ("a", "N", T("2026-03-02"), 3, 3, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0.0, 0.0),
        ("a", "N", T("2026-03-03"), 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0.0, 0.0),  # o1 created
        ("a", "N", T("2026-03-04"), 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0),  # the follow-up
        ("a", "N", T("2026-03-05"), *Z9, 0, 0, 1, 0.0, 50.0),  # o2 lost
        ("c", "S", T("2026-03-05"), *Z9, 1, 0, 0, 0.0, 0.0),  # o4 created (lost the next day: outside)
    ], period=True)
    pd.testing.assert_frame_equal(out, expected)


def test_rep_counts_monthly_by_hand():
    out = competency.rep_counts(_dataset(), freq="month")
    expected = _frame([
        ("a", "N", T("2026-02-01"), *Z9, 1, 0, 0, 0.0, 0.0),
        ("a", "N", T("2026-03-01"), 3, 3, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 100.0, 50.0),
        ("b", "N", T("2026-03-01"), 2, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0.0, 0.0),
        ("b", "N", T("2026-04-01"), *Z9, 0, 0, 0, 0.0, 0.0),  # idle April
        ("b", "N", T("2026-05-01"), 1, *(0,) * 8, 0, 0, 0, 0.0, 0.0),
        ("c", "S", T("2026-03-01"), *Z9, 1, 0, 1, 0.0, 0.0),
    ], period=True)
    pd.testing.assert_frame_equal(out, expected)


def test_rep_counts_weekly_without_any_event_is_an_empty_frame_with_the_columns():
    out = competency.rep_counts(_dataset(), "2027-01-04", "2027-02-01", freq="week")
    assert out.empty
    assert out.columns.tolist() == [
        "rep_id", "team", "period_start", *ACTIVITY_COLUMNS, *OPPORTUNITY_COLUMNS, "won_without_amount"
    ]
    assert str(out["period_start"].dtype) == US
    assert out["dials"].dtype == "int64" and out["won_amount"].dtype == "float64"


def test_rep_counts_weekly_without_activities():
    out = competency.rep_counts(_dataset(with_activities=False), "2026-03-02", "2026-04-01", freq="week")
    expected = pd.DataFrame(
        {
            "rep_id": ["a", "a", "a", "b", "c"],
            "team": ["N", "N", "N", "N", "S"],
            "period_start": [T("2026-03-02"), T("2026-03-09"), T("2026-03-16"), T("2026-03-16"), T("2026-03-02")],
            "opportunities": [1, 0, 0, 1, 1],
            "won": [0, 0, 1, 0, 0],
            "lost": [1, 0, 0, 0, 1],
            "won_amount": [0.0, 0.0, 100.0, 0.0, 0.0],
            "lost_amount": [50.0, 0.0, 0.0, 0.0, 0.0],
            "won_without_amount": [0, 0, 0, 0, 0],
        }
    ).astype({"rep_id": "str", "team": "str", "period_start": US})
    pd.testing.assert_frame_equal(out, expected)


def test_rep_counts_refuses_an_empty_or_backwards_range_and_bad_dates():
    for ds in (_dataset(), _dataset(with_activities=False)):
        with pytest.raises(ValueError, match=r"^end 2026-03-02 must be after start 2026-03-02$"):
            competency.rep_counts(ds, "2026-03-02", "2026-03-02")
        with pytest.raises(ValueError, match=r"^end 2026-03-01 must be after start 2026-03-02$"):
            competency.rep_counts(ds, "2026-03-02", "2026-03-01")
    with pytest.raises(ValueError, match=r"^start 'soon' is not a date"):
        competency.rep_counts(_dataset(), "soon", "2026-03-02")
    with pytest.raises(ValueError, match=r"^end 'later' is not a date"):
        competency.rep_counts(_dataset(), "2026-03-02", "later")


def test_rep_counts_refuses_activity_types_outside_the_contract():
    acts = _activities()
    acts.loc[[0, 1], "activity_type"] = ["fax", "carrier_pigeon"]
    with pytest.raises(
        ValueError, match=r"^activities has activity_type values outside the data contract: carrier_pigeon, fax$"
    ):
        competency.rep_counts(_dataset(activities=acts))


# -- require_activity_columns, messages ---------------------------------------------------------


def test_require_activity_columns():
    message = r"^needs the activities table \(activities.csv or activities.parquet\), which this dataset does not have$"
    columns = {c: [0] for c in ("dials", "connected_calls", "conversations", "appointments")}
    competency.require_activity_columns(pd.DataFrame(columns))  # all four present: no error
    for missing in columns:
        with pytest.raises(MissingTableError, match=message):
            competency.require_activity_columns(pd.DataFrame({c: v for c, v in columns.items() if c != missing}))
    competency.require_activity_columns(pd.DataFrame({"emails": [0]}), columns=("emails",))
    with pytest.raises(MissingTableError, match=message):
        competency.require_activity_columns(pd.DataFrame(columns), columns=("emails",))


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"^counts is missing column 'team'$"):
        competency.funnel(pd.DataFrame({"rep_id": ["a"], "won": [1], "lost": [0]}))
    with pytest.raises(ValueError, match=r"^counts is missing column 'rep_id'$"):
        competency.team_funnel(pd.DataFrame({"team": ["t"], "won": [1], "lost": [0]}))
    with pytest.raises(ValueError, match=r"^the funnel is missing column 'defined'$"):
        competency.team_benchmarks(pd.DataFrame({"team": ["t"], "metric": ["win_rate"], "shrunk_rate": [0.5]}))
    with pytest.raises(ValueError, match=r"^counts is missing column 'lost_amount'$"):
        competency.deal_size(pd.DataFrame({"rep_id": ["a"], "team": ["t"], "won": [1], "lost": [0], "won_amount": [1.0]}))
    with pytest.raises(ValueError, match=r"^counts has none of the columns of the funnel \(see competency.rep_counts\)$"):
        competency.funnel(pd.DataFrame({"rep_id": ["a"], "team": ["t"], "dials": [3]}))


# -- funnel ------------------------------------------------------------------------------------


def _wilson(x, n):
    """statsmodels' Wilson 95% interval, NaN where there is no trial."""
    x, n = np.asarray(x, dtype="float64"), np.asarray(n, dtype="float64")
    lo, hi = proportion_confint(np.minimum(x, n), np.where(n > 0, n, 1), alpha=0.05, method="wilson")
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def _counts() -> pd.DataFrame:
    # given out of order: the funnel sorts by team and rep
    return pd.DataFrame(
        {
            "rep_id": ["s1", "n3", "n1", "s2", "n2"],
            "team": ["S", "N", "N", "S", "N"],
            "conversations": [4, 0, 10, 5, 10],
            "appointments": [1, 1, 5, 6, 2],
            "won": [0, 3, 6, 0, 9],
            "lost": [0, 7, 4, 0, 1],
        }
    )


def test_funnel_by_hand():
    out = competency.funnel(_counts())
    c2a, win = "conversation_to_appointment", "win_rate"
    # Priors, fitted per team and metric over the reps with trials (x capped at n):
    # N c2a: n1 5/10, n2 2/10 (n3 has no conversation: k = 2 < 3): weak prior, strength 2 at the pooled
    #   7/20 = .35: alpha .7, beta 1.3; shrunk (x + .7) / (n + 2): 5.7/12, 2.7/12, .7/2.
    # N win: 6/10, 9/10, 3/10: k = 3, N = 30, X = 18, p = .6; MSB = (10 (0)² + 10 (.3)² + 10 (.3)²) / 2 = .9;
    #   MSW = (10 .24 + 10 .09 + 10 .21) / 27 = .2; n0 = (30 - 300/30) / 2 = 10;
    #   rho = (.9 - .2) / (.9 + 9 x .2) = 7/27; strength = 27/7 - 1 = 20/7 (inside [1, N/k = 10]);
    #   alpha = .6 x 20/7 = 12/7, beta = 8/7; shrunk (x + 12/7) / (10 + 20/7) = 54/90, 75/90, 33/90.
    # S c2a: s1 1/4, s2 6/5 capped to 5/5: k = 2, pooled 6/9: alpha 4/3, beta 2/3; shrunk (1 + 4/3)/6, (5 + 4/3)/7.
    # S win: no trial at all: Beta(1, 1), shrunk .5.
    expected = pd.DataFrame(
        {
            "rep_id": ["n1", "n1", "n2", "n2", "n3", "n3", "s1", "s1", "s2", "s2"],
            "team": ["N"] * 6 + ["S"] * 4,
            "metric": [c2a, win] * 5,
            "successes": [5, 6, 2, 9, 1, 3, 1, 0, 6, 0],
            "trials": [10, 10, 10, 10, 0, 10, 4, 0, 5, 0],
            "rate": [0.5, 0.6, 0.2, 0.9, np.nan, 0.3, 0.25, np.nan, 1.0, np.nan],
            "shrunk_rate": [5.7 / 12, 54 / 90, 2.7 / 12, 75 / 90, 0.35, 33 / 90, 7 / 18, 0.5, 19 / 21, 0.5],
            "prior_alpha": [0.7, 12 / 7, 0.7, 12 / 7, 0.7, 12 / 7, 4 / 3, 1.0, 4 / 3, 1.0],
            "prior_beta": [1.3, 8 / 7, 1.3, 8 / 7, 1.3, 8 / 7, 2 / 3, 1.0, 2 / 3, 1.0],
            "defined": [True, True, True, True, False, True, True, False, True, False],
            "capped": [False, False, False, False, True, False, False, False, True, False],
        }
    )
    assert out.columns.tolist() == ["rep_id", "team", "metric", "successes", "trials", "rate", "ci_low", "ci_high",
                                    "shrunk_rate", "prior_alpha", "prior_beta", "defined", "capped"]
    assert out.index.tolist() == list(range(10))
    plain = ["rep_id", "team", "metric", "successes", "trials", "defined", "capped"]
    pd.testing.assert_frame_equal(out[plain], expected[plain].astype({"rep_id": "str", "team": "str", "metric": "str"}))
    for column in ("rate", "shrunk_rate", "prior_alpha", "prior_beta"):
        np.testing.assert_allclose(out[column], expected[column], rtol=1e-12, err_msg=column)
        assert out[column].dtype == "float64"
    assert out["successes"].dtype == "int64" and out["trials"].dtype == "int64"
    lo, hi = _wilson(expected["successes"], expected["trials"])
    np.testing.assert_allclose(out["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(out["ci_high"], hi, atol=1e-12)


def test_funnel_sums_the_trial_columns_of_a_metric_and_reads_every_metric():
    counts = pd.DataFrame({"rep_id": ["a"], "team": ["t"], "dials": [8], "connected_calls": [2], "conversations": [4],
                           "appointments": [3], "prospect_appointments": [2], "opportunities": [1],
                           "won": [1], "lost": [3]})
    out = competency.funnel(counts)
    assert out["metric"].tolist() == list(competency.FUNNEL_METRICS)
    # win_rate's trials are won + lost = 4
    assert out[["successes", "trials"]].to_numpy().tolist() == [[2, 8], [3, 4], [1, 2], [1, 4]]
    np.testing.assert_allclose(out["rate"], [0.25, 0.75, 0.5, 0.25])


def test_funnel_fits_one_prior_per_team_and_period():
    counts = pd.DataFrame(
        {
            "rep_id": ["b", "a", "a", "b"],
            "team": "T",
            "period_start": [T("2026-03-09"), T("2026-03-09"), T("2026-03-02"), T("2026-03-02")],
            "won": [1, 3, 1, 0],
            "lost": [0, 1, 1, 2],
        }
    ).astype({"period_start": US})
    out = competency.funnel(counts)
    # week 1: a 1/2, b 0/2: pooled 1/4, weak prior (2 reps): alpha .5, beta 1.5; shrunk 1.5/4, .5/4
    # week 2: a 3/4, b 1/1: pooled 4/5: alpha 1.6, beta .4; shrunk 4.6/6, 2.6/3
    assert out.columns.tolist()[:4] == ["rep_id", "team", "period_start", "metric"]
    assert out["rep_id"].tolist() == ["a", "a", "b", "b"]
    assert out["period_start"].tolist() == [T("2026-03-02"), T("2026-03-09")] * 2
    np.testing.assert_allclose(out["prior_alpha"], [0.5, 1.6, 0.5, 1.6])
    np.testing.assert_allclose(out["prior_beta"], [1.5, 0.4, 1.5, 0.4])
    np.testing.assert_allclose(out["shrunk_rate"], [1.5 / 4, 4.6 / 6, 0.5 / 4, 2.6 / 3])


def test_funnel_moment_prior_counts_a_one_trial_rep_and_not_a_zero_trial_one():
    counts = pd.DataFrame({"rep_id": ["a", "b", "c", "d"], "team": "T", "won": [1, 1, 4, 0], "lost": [0, 3, 0, 0]})
    out = competency.funnel(counts)
    # a 1/1, b 1/4, c 4/4 (d has no deal: not one of the k = 3 reps): N = 9, X = 6, p = 2/3;
    # Q = 1 + 1/4 + 4 = 21/4, S = 1 + 16 + 16 = 33; MSB = (21/4 - 9 x 4/9) / 2 = 5/8; MSW = (6 - 21/4) / 6 = 1/8;
    # n0 = (9 - 33/9) / 2 = 8/3; rho = (5/8 - 1/8) / (5/8 + 5/3 x 1/8) = 3/5; 1/rho - 1 = 2/3, clipped up to 1:
    # alpha = 2/3, beta = 1/3; shrunk (x + 2/3) / (n + 1): 5/6, 1/3, 14/15, and d the prior mean 2/3
    np.testing.assert_allclose(out["prior_alpha"], [2 / 3] * 4)
    np.testing.assert_allclose(out["prior_beta"], [1 / 3] * 4)
    np.testing.assert_allclose(out["shrunk_rate"], [5 / 6, 1 / 3, 14 / 15, 2 / 3])


def test_funnel_moment_prior_leaves_a_zero_trial_rep_out_of_its_sums():
    counts = pd.DataFrame({"rep_id": ["a", "b", "c", "d"], "team": "T", "won": [6, 9, 3, 0], "lost": [4, 1, 7, 0]})
    out = competency.funnel(counts)
    # as N's win rates in test_funnel_by_hand (6/10, 9/10, 3/10: strength 20/7, not clipped, alpha 12/7,
    # beta 8/7); d has no deal: it adds nothing to k, N, X, Q or S, and its shrunk rate is the prior mean .6
    np.testing.assert_allclose(out["prior_alpha"], [12 / 7] * 4)
    np.testing.assert_allclose(out["prior_beta"], [8 / 7] * 4)
    np.testing.assert_allclose(out["shrunk_rate"], [54 / 90, 75 / 90, 33 / 90, 0.6])


def test_funnel_team_funnel_and_deal_size_divide_quietly():
    counts = pd.DataFrame({"rep_id": ["a", "b", "c"], "team": "T", "conversations": [0, 4, 2], "appointments": [0, 1, 2],
                           "won": [0, 0, 1], "lost": [0, 1, 0], "won_amount": [0.0, 0.0, 5.0],
                           "lost_amount": [0.0, 0.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = competency.funnel(counts)
        t = competency.team_funnel(counts.assign(team=["T", "T", "U"]))
        d = competency.deal_size(counts)
    assert f["defined"].tolist() == [False, False, True, True, True, True]
    assert t["defined"].tolist() == [True, True, True, True]
    assert d["defined"].tolist() == [False, False, True]
    # b: a lost deal without an amount, value 0 / 0: undefined; c: 5 of 5, even below one unit of money
    small = competency.deal_size(counts.assign(won_amount=[0.0, 0.0, 0.5]))
    np.testing.assert_allclose(small["win_rate_value"], [np.nan, np.nan, 1.0])
    np.testing.assert_allclose(small["avg_deal_size"], [np.nan, np.nan, 0.5])


# -- team_funnel -------------------------------------------------------------------------------


def test_team_funnel_by_hand():
    out = competency.team_funnel(_counts())
    c2a, win = "conversation_to_appointment", "win_rate"
    # N: appointments 5 + 2 + 1 = 8 of 20 conversations, won 18 of 30; S: 7 of 9 (pooled: not capped), no deal
    expected = pd.DataFrame(
        {
            "team": ["N", "N", "S", "S"],
            "metric": [c2a, win, c2a, win],
            "n_reps": [3, 3, 2, 2],
            "successes": [8, 18, 7, 0],
            "trials": [20, 30, 9, 0],
            "defined": [True, True, True, False],
            "capped": [False, False, False, False],
        }
    ).astype({"team": "str", "metric": "str"})
    assert out.columns.tolist() == ["team", "metric", "n_reps", "successes", "trials", "rate", "ci_low", "ci_high",
                                    "defined", "capped"]
    pd.testing.assert_frame_equal(out[expected.columns], expected)
    np.testing.assert_allclose(out["rate"], [0.4, 0.6, 7 / 9, np.nan])
    lo, hi = _wilson(expected["successes"], expected["trials"])
    np.testing.assert_allclose(out["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(out["ci_high"], hi, atol=1e-12)


def test_team_funnel_per_period_and_capped():
    counts = pd.DataFrame(
        {
            "rep_id": ["b", "a", "a", "b"],
            "team": "T",
            "period_start": [T("2026-03-09"), T("2026-03-09"), T("2026-03-02"), T("2026-03-02")],
            "conversations": [1, 1, 4, 4],
            "appointments": [2, 1, 1, 0],
        }
    ).astype({"period_start": US})
    out = competency.team_funnel(counts)
    # week 1: 1 of 8; week 2: 3 appointments for 2 conversations: capped, rate 1
    assert out.columns.tolist()[:3] == ["team", "period_start", "metric"]
    assert out["period_start"].tolist() == [T("2026-03-02"), T("2026-03-09")]
    assert out[["n_reps", "successes", "trials"]].to_numpy().tolist() == [[2, 1, 8], [2, 3, 2]]
    assert out["capped"].tolist() == [False, True]
    np.testing.assert_allclose(out["rate"], [1 / 8, 1.0])


# -- team_benchmarks ---------------------------------------------------------------------------


def test_team_benchmarks_by_hand():
    frame = pd.DataFrame(
        [
            ("S", "win_rate", 0.5, False),
            ("N", "win_rate", 0.3, True),
            ("N", "connect_rate", 0.6, True),
            ("N", "custom", 0.5, True),  # not a funnel metric: after the funnel's
            ("N", "connect_rate", 0.2, True),
            ("N", "win_rate", 0.1, True),
            ("N", "connect_rate", 0.9, False),  # not defined: left out
            ("S", "connect_rate", 0.7, True),
            ("N", "connect_rate", 0.4, True),
        ],
        columns=["team", "metric", "shrunk_rate", "defined"],
    )
    out = competency.team_benchmarks(frame)
    # N connect_rate .2 .4 .6: median .4, 75% quantile .4 + .5 (.6 - .4) = .5
    # N win_rate .1 .3: median .2, .1 + .75 (.3 - .1) = .25; S connect_rate .7 alone; S win_rate: no rep
    expected = pd.DataFrame(
        {
            "team": ["N", "N", "N", "S", "S"],
            "metric": ["connect_rate", "win_rate", "custom", "connect_rate", "win_rate"],
            "n_reps": [3, 2, 1, 1, 0],
            "median": [0.4, 0.2, 0.5, 0.7, np.nan],
            "top_quartile": [0.5, 0.25, 0.5, 0.7, np.nan],
        }
    ).astype({"team": "str", "metric": "str"})
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-12)


def test_team_benchmarks_per_period():
    frame = pd.DataFrame(
        {
            "team": "T",
            "period_start": [T("2026-03-09"), T("2026-03-02"), T("2026-03-09"), T("2026-03-02")],
            "metric": "win_rate",
            "shrunk_rate": [0.8, 0.1, 0.6, 0.3],
            "defined": True,
        }
    ).astype({"period_start": US})
    out = competency.team_benchmarks(frame)
    # week 1: .1 .3 -> median .2, top quartile .25; week 2: .6 .8 -> .7, .75
    assert out.columns.tolist() == ["team", "period_start", "metric", "n_reps", "median", "top_quartile"]
    assert out["period_start"].tolist() == [T("2026-03-02"), T("2026-03-09")]
    np.testing.assert_allclose(out[["median", "top_quartile"]].to_numpy(), [[0.2, 0.25], [0.7, 0.75]])


# -- deal_size ---------------------------------------------------------------------------------


def _deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["d", "c", "b", "a"],
            "team": ["S", "N", "N", "N"],
            "won": [0, 1, 0, 2],
            "lost": [0, 0, 1, 1],
            "won_amount": [0.0, 100.0, 0.0, 300.0],
            "lost_amount": [0.0, 0.0, 50.0, 100.0],
        }
    )


def test_deal_size_by_hand():
    out = competency.deal_size(_deals())
    # N: team average 400 / 3; m = 2: a (300 + 800/3) / 4 = 425/3, b (800/3) / 2 = 400/3, c (100 + 800/3) / 3
    # = 1100/9; S has no won deal: NaN team average. Value win rate: 300/400, 0/50, 100/100, 0/0.
    expected = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "team": ["N", "N", "N", "S"],
            "won": [2, 0, 1, 0],
            "lost": [1, 1, 0, 0],
            "won_amount": [300.0, 0.0, 100.0, 0.0],
            "lost_amount": [100.0, 50.0, 0.0, 0.0],
            "avg_deal_size": [150.0, np.nan, 100.0, np.nan],
            "team_avg_deal_size": [400 / 3, 400 / 3, 400 / 3, np.nan],
            "shrunk_avg_deal_size": [425 / 3, 400 / 3, 1100 / 9, np.nan],
            "win_rate_value": [0.75, 0.0, 1.0, np.nan],
            "defined": [True, False, True, False],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-12)
    # m = 1: a (300 + 400/3) / 3 = 1300/9, b 400/3, c (100 + 400/3) / 2 = 350/3
    one = competency.deal_size(_deals(), prior_deals=1.0)
    np.testing.assert_allclose(one["shrunk_avg_deal_size"], [1300 / 9, 400 / 3, 350 / 3, np.nan])


def test_deal_size_per_period_and_its_prior_must_be_positive():
    counts = _deals().assign(period_start=[T("2026-03-02"), T("2026-03-09"), T("2026-03-02"), T("2026-03-02")])
    out = competency.deal_size(counts)
    # N week 1: a 300 / 2 deals (b none): team average 150; N week 2: c 100 / 1
    assert out.columns.tolist()[:3] == ["rep_id", "team", "period_start"]
    assert out[["rep_id", "period_start"]].to_numpy().tolist() == [
        ["a", T("2026-03-02")], ["b", T("2026-03-02")], ["c", T("2026-03-09")], ["d", T("2026-03-02")]]
    np.testing.assert_allclose(out["team_avg_deal_size"], [150.0, 150.0, 100.0, np.nan])
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match=rf"^prior_deals must be positive, not {bad!r}$"):
            competency.deal_size(_deals(), prior_deals=bad)


# -- funnel_comparison -------------------------------------------------------------------------


def test_funnel_comparison_by_hand():
    out = competency.funnel_comparison(_dataset(), "2026-03-09", "2026-03-23", "2026-03-02")
    metrics = list(competency.FUNNEL_METRICS)
    # current [9 Mar, 23 Mar): a won o1; b 2 dials, 1 connected conversation, o3 created; c nothing
    # baseline [2 Mar, 9 Mar): a 3 dials, 2 connected, 3 conversations, 2 appointments (1 prospect), o1
    # created, o2 lost; c o4 created and lost
    expected = pd.DataFrame(
        {
            "team": ["N"] * 4 + ["S"] * 4 + ["N"] * 4 + ["S"] * 4,
            "metric": metrics * 4,
            "n_reps": [2] * 4 + [1] * 4 + [2] * 4 + [1] * 4,
            "successes": [1, 0, 1, 1, 0, 0, 0, 0, 2, 2, 1, 0, 0, 0, 1, 0],
            "trials": [2, 1, 0, 1, 0, 0, 0, 0, 3, 3, 1, 1, 0, 0, 0, 1],
            "window": ["current"] * 8 + ["baseline"] * 8,
            "window_start": [T("2026-03-09")] * 8 + [T("2026-03-02")] * 8,
            "window_end": [T("2026-03-23")] * 8 + [T("2026-03-09")] * 8,
        }
    ).astype({"team": "str", "metric": "str", "window": "str", "window_start": US, "window_end": US})
    assert out.columns.tolist() == ["team", "metric", "n_reps", "successes", "trials", "rate", "ci_low", "ci_high",
                                    "defined", "capped", "window", "window_start", "window_end"]
    pd.testing.assert_frame_equal(out[expected.columns], expected)
    np.testing.assert_allclose(out["rate"], [0.5, 0.0, np.nan, 1.0] + [np.nan] * 4 + [2 / 3, 2 / 3, 1.0, 0.0]
                               + [np.nan, np.nan, np.nan, 0.0])
    assert out["capped"].tolist() == [False, False, True, False] + [False] * 10 + [True, False]
