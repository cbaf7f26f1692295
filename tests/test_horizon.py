"""Forecast accuracy by horizon: every figure checked against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.horizon import (
    SUMMARY_COLUMNS,
    bucket_labels,
    error_summary,
    forecast_errors,
    horizon_accuracy,
    horizon_bucket,
    won_amount_between,
)
from salesx2lib.settings import load_settings

US = "datetime64[us]"
AS_OF = pd.Timestamp("2024-03-05")


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype=US)


REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["r1", "r2"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob"], dtype="str"),
        "team": pd.array(["A", "B"], dtype="str"),
        "manager": pd.array(["M", "M"], dtype="str"),
    }
)

OPPS = pd.DataFrame(
    {
        "opportunity_id": pd.array(["o1", "o2", "o3", "o4", "o5"], dtype="str"),
        "rep_id": pd.array(["r1", "r1", "r1", "r2", "r2"], dtype="str"),
        "created_at": _ts(["2023-12-01"] * 5),
        "amount": [100.0, 50.0, 999.0, 200.0, 70.0],
        "stage": pd.array(["Closed Won", "Closed Won", "Closed Lost", "Closed Won", "Proposal"], dtype="str"),
        "status": pd.array(["won", "won", "lost", "won", "open"], dtype="str"),
        "expected_close_date": _ts(["2024-01-31", "2024-02-01", "2024-01-20", "2024-01-15", "2024-04-01"]),
        # o1 on the last evening of January (inside, end inclusive); o2 at midnight 1 Feb.
        "closed_at": _ts(["2024-01-31 23:00", "2024-02-01 00:00", "2024-01-20", "2024-01-15 10:00", None]),
    }
)

# rep, submitted_at, period_start, period_end, amount, category
FORECASTS = pd.DataFrame(
    [
        ("r1", "2024-01-01 10:00", "2024-01-01", "2024-01-31", 120.0, "commit"),  # h 30 -> 0-30, A 100
        ("r1", "2023-12-01 09:00", "2024-01-01", "2024-01-31", 80.0, "commit"),  # h 61 -> 61-90, A 100
        ("r1", "2023-11-15 09:00", "2024-01-01", "2024-01-31", 150.0, "commit"),  # h 77 -> 61-90, A 100
        ("r2", "2024-01-02 08:00", "2024-01-01", "2024-01-31", 190.0, "commit"),  # h 29 -> 0-30, A 200
        ("r2", "2024-01-20 08:00", "2024-02-01", "2024-02-29", 40.0, "commit"),  # h 40 -> 31-60, A 0
        ("r1", "2024-02-01 08:00", "2024-02-01", "2024-02-29", 55.0, "commit"),  # h 28 -> 0-30, A 50
        ("r1", "2024-03-01 08:00", "2024-03-01", "2024-03-31", 10.0, "commit"),  # period not over
        ("r1", "2024-01-01 10:00", "2024-01-01", "2024-01-31", 500.0, "best_case"),  # other category
    ],
    columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"],
).astype({"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"})


@pytest.fixture()
def dataset() -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS, "forecasts": FORECASTS}, activities=None, as_of=AS_OF)


def test_bucket_labels_and_edges():
    assert bucket_labels([30, 60, 90]) == ["0-30", "31-60", "61-90", "91+"]
    days = pd.Series([0, 30, 31, 60, 61, 90, 91, 400, -1])
    assert horizon_bucket(days, [30, 60, 90]).tolist()[:8] == ["0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91+", "91+"]
    assert pd.isna(horizon_bucket(days, [30, 60, 90]).iloc[-1])
    with pytest.raises(ValueError):
        bucket_labels([60, 30])


def test_won_amount_window_is_half_open():
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    got = won_amount_between(OPPS, ["r1", "r2", "nobody"], [start] * 3, [end] * 3)
    # r1: o1 (31 Jan 23:00) in, o2 (1 Feb 00:00 = end) out, o3 lost; r2: o4.
    np.testing.assert_allclose(got, [100.0, 200.0, 0.0])
    got = won_amount_between(OPPS, ["r1"], [end], [end + pd.Timedelta(days=1)])
    np.testing.assert_allclose(got, [50.0])
    got = won_amount_between(OPPS, ["r1"], [start], [end + pd.Timedelta(days=1)], as_of=pd.Timestamp("2024-01-31 22:00"))
    np.testing.assert_allclose(got, [0.0])  # closed after the as-of instant: unknown yet


def test_forecast_errors_by_hand(dataset):
    e = forecast_errors(dataset)
    # March (not over by 5 Mar) and the best_case row are out.
    assert len(e) == 6 and set(e["category"]) == {"commit"}
    r1_jan = e.loc[(e["rep_id"] == "r1") & (e["period_start"] == "2024-01-01")].set_index("horizon_days")
    assert sorted(r1_jan.index.tolist()) == [30, 61, 77]
    assert (r1_jan["actual"] == 100.0).all()
    assert r1_jan.loc[30, "horizon_bucket"] == "0-30" and r1_jan.loc[61, "horizon_bucket"] == "61-90"
    r2_feb = e.loc[(e["rep_id"] == "r2") & (e["period_start"] == "2024-02-01")].iloc[0]
    assert r2_feb["horizon_days"] == 40 and r2_feb["actual"] == 0.0 and r2_feb["team"] == "B"
    assert (e["error"] == e["forecast"] - e["actual"]).all()


def test_period_must_be_over(dataset):
    # On 29 Feb the February periods are not over yet (their last day is still running).
    e = forecast_errors(dataset, as_of="2024-02-29 12:00")
    assert (e["period_end"] < pd.Timestamp("2024-02-29")).all()
    assert len(forecast_errors(dataset, as_of="2024-03-01")) == 6


def test_horizon_accuracy_all_by_hand(dataset):
    out = horizon_accuracy(dataset)
    assert out["team"].unique().tolist() == ["A", "B", "all"]
    assert {"team", "horizon_bucket", "n", "forecast", "actual", "bias", "wape", "accuracy", "hit_rate"} <= set(out.columns)
    everyone = out.loc[out["team"] == "all"].set_index("horizon_bucket")
    assert everyone.index.tolist() == ["0-30", "31-60", "61-90", "91+"]
    b = everyone.loc["0-30"]  # (120, 100), (190, 200), (55, 50)
    assert b.n == 3 and b.forecast == 365 and b.actual == 350
    assert b.bias == pytest.approx(15 / 350)
    assert b.wape == pytest.approx(35 / 350) and b.accuracy == pytest.approx(0.9)
    assert b.hit_rate == pytest.approx(2 / 3)  # |10| <= 20 and |5| <= 5 (edge counts); |20| > 10
    assert b.mape == pytest.approx((0.2 + 0.05 + 0.1) / 3) and b.n_zero_actual == 0
    assert b.horizon_median_days == 29
    b = everyone.loc["31-60"]  # (40, 0): every ratio undefined, MAPE skips it and says so
    assert b.n == 1 and math.isnan(b.bias) and math.isnan(b.wape) and math.isnan(b.mape)
    assert b.n_zero_actual == 1 and b.hit_rate == 0.0
    b = everyone.loc["61-90"]  # (80, 100), (150, 100)
    assert b.bias == pytest.approx(30 / 200) and b.wape == pytest.approx(70 / 200)
    assert b.hit_rate == 0.0 and b.mape == pytest.approx(0.35)
    b = everyone.loc["91+"]
    assert b.n == 0 and math.isnan(b.accuracy)


def test_horizon_accuracy_per_team_and_rep(dataset):
    out = horizon_accuracy(dataset).set_index(["team", "horizon_bucket"])
    a = out.loc[("A", "0-30")]  # (120, 100), (55, 50)
    assert a.n == 2 and a.bias == pytest.approx(25 / 150) and a.wape == pytest.approx(25 / 150)
    reps = horizon_accuracy(dataset, by="rep")
    assert {"team", "rep_id"} <= set(reps.columns) and len(reps) == 2 * 4
    r2 = reps.loc[(reps["rep_id"] == "r2") & (reps["horizon_bucket"] == "0-30")].iloc[0]
    assert r2.wape == pytest.approx(10 / 200)


def test_category_filter(dataset):
    allcats = forecast_errors(dataset, category=None)
    assert len(allcats) == 7 and set(allcats["category"]) == {"all"}
    assert len(forecast_errors(dataset, category="best_case")) == 1


def test_error_summary_matches_formulas_on_random_data():
    rng = np.random.default_rng(3)
    f, a = rng.uniform(0, 100, 40), rng.uniform(0, 100, 40)
    a[:3] = 0.0
    s = error_summary(pd.DataFrame({"forecast": f, "actual": a}), [], 0.1).iloc[0]
    assert list(s.index) == list(SUMMARY_COLUMNS)
    assert s.bias == pytest.approx((f - a).sum() / a.sum())
    assert s.wape == pytest.approx(np.abs(f - a).sum() / a.sum())
    assert s.hit_rate == pytest.approx(np.mean(np.abs(f - a) <= 0.1 * a))
    assert s.mape == pytest.approx(np.mean(np.abs(f - a)[3:] / a[3:])) and s.n_zero_actual == 3


def test_needs_forecasts():
    ds = Dataset(tables={"reps": REPS, "opportunities": OPPS}, activities=None, as_of=AS_OF)
    with pytest.raises(MissingTableError, match="forecasts"):
        horizon_accuracy(ds)


def test_custom_buckets(dataset):
    settings = load_settings()
    from dataclasses import replace

    out = horizon_accuracy(dataset, settings=replace(settings, horizon_buckets=(45,)))
    assert out.loc[out["team"] == "all", "horizon_bucket"].tolist() == ["0-45", "46+"]
    assert out.loc[(out["team"] == "all") & (out["horizon_bucket"] == "0-45"), "n"].iloc[0] == 4
