"""Date edges of forecast accuracy by horizon, written out by hand.

* a period is judged only when ``period_end + 1 day <= as_of`` and ``submitted_at <= as_of``;
* the actual is the won amount with ``period_start <= date(closed_at) <= period_end``;
* ``horizon_days = period_end - date(submitted_at)``, buckets 0-30, 31-60, 61-90, 91+;
* the run-rate window is ``(lo, at]`` with ``lo = max(at - 91 days, data start)`` (a close
  exactly at the data start counts) and needs at least 28 observed days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset
from salesx2lib.horizon import forecast_errors, horizon_bucket, run_rate_baseline, won_amount_between
from salesx2lib.settings import load_settings

US = "datetime64[us]"
T = pd.Timestamp
SETTINGS = load_settings()
REPS = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"], "manager": ["M"]}).astype("str")


def _won(rows: list[tuple[str, float]]) -> pd.DataFrame:
    """Won deals of r1: (closed_at, amount)."""
    df = pd.DataFrame(
        [(f"o{k}", "r1", T("2024-01-01"), amt, "Closed Won", "won", T(c).normalize(), T(c)) for k, (c, amt) in enumerate(rows)],
        columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
    )
    return df.astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
                      "expected_close_date": US, "closed_at": US})


def _forecasts(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(submitted_at, period_start, period_end), amount 100, commit."""
    df = pd.DataFrame([("r1", T(s), T(a), T(b), 100.0, "commit") for s, a, b in rows],
                      columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"])
    return df.astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})


# Won in May's edges: 1 the second before, 10 at its first instant, 100 at its last second, 1000 on 1 June.
MAY_EDGES = _won([("2024-04-30 23:59:59", 1.0), ("2024-05-01", 10.0), ("2024-05-31 23:59:59", 100.0), ("2024-06-01", 1000.0)])


def _errors(forecasts: pd.DataFrame, as_of: str, opps: pd.DataFrame = MAY_EDGES) -> pd.DataFrame:
    ds = Dataset(tables={"reps": REPS, "opportunities": opps, "forecasts": forecasts}, activities=None, as_of=T("2024-12-31"))
    return forecast_errors(ds, T(as_of), SETTINGS)


def test_a_period_is_judged_from_the_day_after_it_ends():
    fc = _forecasts([("2024-04-15", "2024-05-01", "2024-05-31")])
    assert len(_errors(fc, "2024-05-31 23:59:59")) == 0
    assert len(_errors(fc, "2024-06-01")) == 1
    assert len(_errors(fc, "2024-06-02")) == 1


def test_actual_is_the_won_amount_inside_the_period_days():
    out = _errors(_forecasts([("2024-04-15", "2024-05-01", "2024-05-31")]), "2024-06-30")
    assert out["actual"].tolist() == [110.0]  # 10 + 100; not the 1 before nor the 1000 after


def test_won_amount_between_stops_at_the_as_of_instant():
    opps = _won([("2024-05-10", 10.0), ("2024-05-31 12:00", 100.0), ("2024-05-31 12:00:01", 1000.0)])
    got = won_amount_between(opps, ["r1"], [T("2024-05-01")], [T("2024-06-01")], as_of=T("2024-05-31 12:00"))
    assert got.tolist() == [110.0]


def test_submissions_up_to_the_as_of_instant():
    # Submitted after the period ended (horizon < 0, no bucket): kept when at or before the as-of.
    fc = _forecasts([("2024-06-01", "2024-05-01", "2024-05-31"), ("2024-06-01 00:00:01", "2024-05-01", "2024-05-31")])
    out = _errors(fc, "2024-06-01")
    assert out["submitted_at"].tolist() == [T("2024-06-01")]
    assert out["horizon_days"].tolist() == [-1] and out["horizon_bucket"].isna().all()


def test_horizon_days_counts_from_the_submission_day():
    # Period ends 30 June: submitted 31 May 18:00 -> 30 days; 30 May -> 31; 1 May -> 60; 30 April -> 61.
    fc = _forecasts([
        ("2024-05-31 18:00", "2024-06-01", "2024-06-30"),
        ("2024-05-30", "2024-06-01", "2024-06-30"),
        ("2024-05-01", "2024-06-01", "2024-06-30"),
        ("2024-04-30", "2024-06-01", "2024-06-30"),
    ])
    out = _errors(fc, "2024-07-01").sort_values("submitted_at", ascending=False)
    assert out["horizon_days"].tolist() == [30, 31, 60, 61]
    assert out["horizon_bucket"].tolist() == ["0-30", "31-60", "31-60", "61-90"]


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "0-30"), (29, "0-30"), (30, "0-30"), (31, "31-60"), (59, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "91+"), (400, "91+")],
)
def test_bucket_edges(days, bucket):
    assert horizon_bucket(pd.Series([days]), (30, 60, 90)).tolist() == [bucket]


def test_negative_horizon_has_no_bucket():
    assert horizon_bucket(pd.Series([-1, 0]), (30, 60, 90)).isna().tolist() == [True, False]


AT = T("2024-06-01 12:00")
LO = AT - pd.Timedelta(days=91)  # 2024-03-02 12:00


def _run_rate(opps: pd.DataFrame, start: pd.Timestamp | None = None) -> float:
    return float(run_rate_baseline(opps, ["r1"], [AT], [30.0], 91, start=start)[0])


def test_run_rate_window_is_open_at_its_start_and_closed_at_its_end():
    opps = _won([(str(LO), 1.0), (str(LO + pd.Timedelta(seconds=1)), 10.0), (str(AT), 100.0),
                 (str(AT + pd.Timedelta(seconds=1)), 1000.0)])
    assert _run_rate(opps) == pytest.approx(110.0 * 30 / 91)


def test_run_rate_counts_a_close_exactly_at_the_data_start():
    start = AT - pd.Timedelta(days=28)  # 28 observed days: just enough
    opps = _won([(str(start - pd.Timedelta(seconds=1)), 1.0), (str(start), 10.0), (str(AT), 100.0)])
    assert _run_rate(opps, start) == pytest.approx(110.0 * 30 / 28)


def test_run_rate_needs_28_observed_days():
    opps = _won([(str(AT), 100.0)])
    assert _run_rate(opps, AT - pd.Timedelta(days=29)) == pytest.approx(100.0 * 30 / 29)
    assert _run_rate(opps, AT - pd.Timedelta(days=28)) == pytest.approx(100.0 * 30 / 28)
    assert np.isnan(_run_rate(opps, AT - pd.Timedelta(days=27)))
    assert np.isnan(_run_rate(opps, AT - pd.Timedelta(days=28) + pd.Timedelta(seconds=1)))
    # A data start before the lookback's start does not cut it: the full 91 days.
    assert _run_rate(opps, LO - pd.Timedelta(days=1)) == pytest.approx(100.0 * 30 / 91)


def test_a_close_exactly_at_the_data_start_counts_when_it_is_also_the_lookback_start():
    # The docstring: "a close exactly at start counts"; also when start = at - 91 days exactly.
    opps = _won([(str(LO), 1.0), (str(AT), 100.0)])
    assert _run_rate(opps, LO) == pytest.approx(101.0 * 30 / 91)
    assert _run_rate(opps, LO - pd.Timedelta(seconds=1)) == pytest.approx(100.0 * 30 / 91)
