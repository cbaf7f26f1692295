"""Tests of salesx2lib.horizon written to kill the mutants `make mutate` found surviving.

Every test builds its own small frames and calls the library itself (no module-scoped
fixture: mutmut links a mutant only to the tests that call the mutated function).
Expected values are worked out by hand in the comments; the bootstrap bounds are
recomputed here from the documented formulas over the same draws
(:func:`salesx2lib.stats.cluster_resample_counts`, tested in its own module). The
survivors left (equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import horizon as hz
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings
from salesx2lib.stats import cluster_resample_counts

US = "datetime64[us]"
T = pd.Timestamp
AS_OF = T("2024-03-01")

REPS = pd.DataFrame(
    {"rep_id": ["r1", "r2", "r3"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["A", "A", "B"], "manager": ["M"] * 3}
).astype("str")

# id, rep, status, amount, closed_at
_DEALS = [
    ("o1", "r1", "won", 100.0, "2024-01-10 12:00"),
    ("o2", "r1", "won", 60.0, "2024-02-05"),
    ("o3", "r1", "lost", 500.0, "2024-01-15"),
    ("o4", "r2", "won", 200.0, "2024-01-31 18:00"),
    ("o5", "r3", "won", 40.0, "2024-02-20"),
    ("o6", "r2", "open", 999.0, None),
    ("o7", "r1", "won", 91.0, "2023-11-01"),
    ("o8", "r3", "won", 130.0, "2023-12-15"),
]


def _opps(deals=_DEALS) -> pd.DataFrame:
    closed = pd.Series([T(d[4]) if d[4] else pd.NaT for d in deals], dtype=US)
    return pd.DataFrame(
        {
            "opportunity_id": pd.array([d[0] for d in deals], dtype="str"),
            "rep_id": pd.array([d[1] for d in deals], dtype="str"),
            "created_at": pd.Series([T("2023-06-01")] * len(deals), dtype=US),
            "amount": [d[3] for d in deals],
            "stage": pd.array(["Closed Won" if d[2] == "won" else "Closed Lost" if d[2] == "lost" else "Proposal"
                               for d in deals], dtype="str"),
            "status": pd.array([d[2] for d in deals], dtype="str"),
            "expected_close_date": closed.dt.normalize().fillna(T("2024-04-01")),
            "closed_at": closed,
        }
    )


# rep, submitted_at, period_start, period_end, amount, category
_SUBMISSIONS = [
    ("r1", "2024-01-05 09:00", "2024-01-01", "2024-01-31", 90.0, "commit"),  # h 26, A 100, R 91 x 31/91 = 31
    ("r1", "2023-12-20", "2024-02-01", "2024-02-29", 50.0, "commit"),  # h 71, A 60, R 91 x 29/91 = 29
    ("r2", "2024-02-10 15:00", "2024-02-01", "2024-02-29", 30.0, "commit"),  # h 19, A 0, R 200 x 29/91
    ("r2", "2024-01-02 08:00", "2024-01-01", "2024-01-31", 180.0, "commit"),  # h 29, A 200, R 0
    ("r2", "2024-01-15", "2024-01-01", "2024-01-31", 210.0, "commit"),  # h 16, A 200, R 0
    ("r3", "2024-02-01 10:00", "2024-02-01", "2024-02-29", 44.0, "commit"),  # h 28, A 40, R 130 x 29/91
    ("r1", "2024-01-20", "2024-01-01", "2024-01-31", 110.0, "best_case"),  # another category
    ("r2", "2024-02-25", "2024-03-01", "2024-03-31", 70.0, "commit"),  # March is not over on 1 March
]


def _forecasts(rows=_SUBMISSIONS) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rep_id", "submitted_at", "period_start", "period_end", "amount", "category"]).astype(
        {"rep_id": "str", "submitted_at": US, "period_start": US, "period_end": US, "category": "str"}
    )


def _dataset(forecasts=None, reps=REPS) -> Dataset:
    fc = _forecasts() if forecasts is None else forecasts
    return Dataset(tables={"reps": reps, "opportunities": _opps(), "forecasts": fc}, activities=None, as_of=AS_OF)


Q = 200 * 29 / 91  # r2's run-rate on 10 Feb: o4 (200) known, February has 29 days
S = 130 * 29 / 91  # r3's run-rate on 1 Feb: o8 (130)

ERROR_COLUMNS = ["rep_id", "team", "submitted_at", "period_start", "period_end", "category", "horizon_days",
                 "horizon_bucket", "forecast", "actual", "error", "abs_error", "run_rate"]


# -- buckets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("edges", [[30, 30], [60, 30], [-1, 30], [-5]])
def test_bucket_labels_refuse_edges_not_increasing_or_negative_with_the_message(edges):
    with pytest.raises(ValueError, match=r"^horizon bucket edges must be increasing and >= 0, not \[.*\]$"):
        hz.bucket_labels(edges)


def test_bucket_labels_accept_a_zero_edge_and_no_edge():
    assert hz.bucket_labels([0, 1]) == ["0-0", "1-1", "2+"]
    assert hz.bucket_labels(()) == ["0+"]


def test_bucket_bounds_table_by_hand():
    out = hz.bucket_bounds((30, 60, 90))
    assert out.columns.tolist() == ["horizon_bucket", "horizon_min_days", "horizon_max_days"]
    assert out["horizon_bucket"].tolist() == ["0-30", "31-60", "61-90", "91+"]
    assert out["horizon_min_days"].tolist() == [0, 31, 61, 91]
    assert out["horizon_max_days"].tolist()[:3] == [30, 60, 90] and pd.isna(out["horizon_max_days"].iloc[3])
    assert out.dtypes.astype(str).tolist() == ["str", "Int64", "Int64"]


def test_horizon_bucket_keeps_the_index_and_leaves_missing_or_negative_days_empty():
    days = pd.Series([5.0, np.nan, -0.5, 45.0, 10.0], index=[10, 11, 12, 13, 14])
    out = hz.horizon_bucket(days, (10, 40))
    assert out.index.tolist() == [10, 11, 12, 13, 14]
    assert str(out.dtype) == "str"
    # 5 -> 0-10; NaN and -0.5 -> NA; 45 -> 41+; 10 (the edge) -> 0-10
    assert out.isna().tolist() == [False, True, True, False, False]
    assert out.dropna().tolist() == ["0-10", "41+", "0-10"]
    # Text and pandas' missing value are read as numbers or NA, not refused.
    assert hz.horizon_bucket(pd.Series(["41", None], dtype="object"), (10, 40)).tolist()[0] == "41+"


# -- won amounts ----------------------------------------------------------------------------------


def test_won_amount_between_several_reps_and_windows_in_the_callers_order():
    opps = _opps()
    reps = ["r3", "r1", "r2", "r1", "zz", "r1"]
    starts = [T("2023-01-01"), T("2024-01-10 12:00"), T("2024-01-01"), T("2023-11-01"), T("2023-01-01"),
              T("2024-02-05")]
    ends = [T("2025-01-01"), T("2024-02-05"), T("2024-02-01"), T("2024-01-10 12:00"), T("2025-01-01"),
            T("2024-02-05")]
    got = hz.won_amount_between(opps, reps, starts, ends)
    # r3: 40 + 130; r1 [10 Jan 12:00, 5 Feb): o1 at the start (in), o2 at the end (out), o3 lost;
    # r2 January: 200; r1 [1 Nov, 10 Jan 12:00): o7 at the start; nobody: 0; an empty window: 0
    assert got.tolist() == [170.0, 100.0, 200.0, 91.0, 0.0, 0.0]
    assert got.dtype == np.float64
    got = hz.won_amount_between(opps, pd.Series(reps), pd.Series(starts), pd.Series(ends), as_of=T("2024-01-31 18:00"))
    assert got.tolist() == [130.0, 100.0, 200.0, 91.0, 0.0, 0.0]  # o5 (20 Feb) not known yet; o4 at the as-of: known


def test_won_amount_between_counts_a_won_deal_without_amount_as_zero():
    deals = [("a", "r1", "won", np.nan, "2024-01-05"), ("b", "r1", "won", 7.0, "2024-01-06")]
    got = hz.won_amount_between(_opps(deals), ["r1"], [T("2024-01-01")], [T("2024-02-01")])
    assert got.tolist() == [7.0]


def test_won_amount_between_with_no_window_is_empty():
    got = hz.won_amount_between(_opps(), [], [], [])
    assert got.shape == (0,) and got.dtype == np.float64


# -- run-rate -------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -3])
def test_run_rate_refuses_a_lookback_under_one_day_with_the_message(days):
    with pytest.raises(ValueError, match=rf"^lookback_days must be at least 1, not {days}$"):
        hz.run_rate_baseline(_opps(), ["r1"], [T("2024-01-05")], [31.0], days)


def test_run_rate_with_a_one_day_lookback():
    # (4 Feb 12:00, 5 Feb 12:00]: o2 (5 Feb 00:00, 60) -> 60 x 29 / 1; min_days 1 lets one day count
    got = hz.run_rate_baseline(_opps(), ["r1"], [T("2024-02-05 12:00")], [29.0], 1, min_days=1.0)
    assert got.tolist() == [60.0 * 29]


def test_run_rate_defaults_are_91_days_and_28_days():
    at = [T("2024-02-10 15:00")]
    assert hz.run_rate_baseline(_opps(), ["r2"], at, [29.0])[0] == pytest.approx(Q)
    # data starting 28 days back is just enough; 27.5 days is not
    assert hz.run_rate_baseline(_opps(), ["r2"], at, [29.0], start=at[0] - pd.Timedelta(days=28))[0] == pytest.approx(
        200 * 29 / 28)
    assert np.isnan(hz.run_rate_baseline(_opps(), ["r2"], at, [29.0], start=at[0] - pd.Timedelta(days=27.5))[0])


# -- forecast_errors -------------------------------------------------------------------------------


def test_forecast_errors_whole_table_by_hand():
    out = hz.forecast_errors(_dataset())
    assert out.columns.tolist() == ERROR_COLUMNS
    assert out.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert out.dtypes.astype(str).tolist() == ["str", "str", US, US, US, "str", "int64", "str", "float64",
                                                "float64", "float64", "float64", "float64"]
    # sorted by rep, then submission
    assert out["rep_id"].tolist() == ["r1", "r1", "r2", "r2", "r2", "r3"]
    assert out["team"].tolist() == ["A", "A", "A", "A", "A", "B"]
    assert out["submitted_at"].tolist() == [T("2023-12-20"), T("2024-01-05 09:00"), T("2024-01-02 08:00"),
                                            T("2024-01-15"), T("2024-02-10 15:00"), T("2024-02-01 10:00")]
    assert out["period_start"].tolist() == [T("2024-02-01"), T("2024-01-01"), T("2024-01-01"), T("2024-01-01"),
                                            T("2024-02-01"), T("2024-02-01")]
    assert out["period_end"].tolist() == [T("2024-02-29"), T("2024-01-31"), T("2024-01-31"), T("2024-01-31"),
                                          T("2024-02-29"), T("2024-02-29")]
    assert out["category"].tolist() == ["commit"] * 6
    # 29 Feb - 20 Dec = 11 + 31 + 29 = 71; 31 Jan - 5 Jan = 26; 29; 16; 29 Feb - 10 Feb = 19; 28
    assert out["horizon_days"].tolist() == [71, 26, 29, 16, 19, 28]
    assert out["horizon_bucket"].tolist() == ["61-90", "0-30", "0-30", "0-30", "0-30", "0-30"]
    assert out["forecast"].tolist() == [50.0, 90.0, 180.0, 210.0, 30.0, 44.0]
    # r1 Feb: o2; r1 Jan: o1 (o3 lost); r2 Jan: o4 (31 Jan 18:00, the last day counts); r2 Feb: 0; r3 Feb: o5
    assert out["actual"].tolist() == [60.0, 100.0, 200.0, 200.0, 0.0, 40.0]
    assert out["error"].tolist() == [-10.0, -10.0, -20.0, 10.0, 30.0, 4.0]
    assert out["abs_error"].tolist() == [10.0, 10.0, 20.0, 10.0, 30.0, 4.0]
    # r1 on 20 Dec and 5 Jan knows o7 (91, 1 Nov): 91 x 29/91 and 91 x 31/91; r2 in January knows
    # nothing yet (o4 is 31 Jan); on 10 Feb o4; r3 on 1 Feb o8 (130, 15 Dec)
    assert out["run_rate"].tolist() == pytest.approx([29.0, 31.0, 0.0, 0.0, Q, S])


def test_forecast_errors_as_of_string_and_run_rate_settings():
    # As of 29 Feb only January is over: r1's, and r2's two.
    out = hz.forecast_errors(_dataset(), "2024-02-29 23:59", run_rate_days=30, run_rate_min_days=10)
    assert out["submitted_at"].tolist() == [T("2024-01-05 09:00"), T("2024-01-02 08:00"), T("2024-01-15")]
    # 30 days back from 5 Jan 09:00 is 6 Dec: o7 (1 Nov) is out, so 0
    assert out["run_rate"].tolist() == [0.0, 0.0, 0.0]
    # With a data start of 1 Dec 2023 and 40 days needed, only r2's 15 Jan and 10 Feb and r3's 1 Feb have one
    settings = replace(load_settings(), cycle_data_start="2023-12-01", forecast_run_rate_days=91)
    out = hz.forecast_errors(_dataset(), settings=settings, run_rate_min_days=40)
    # days observed: 20 Dec: 19 (NaN); 5 Jan 09:00: 35.4 (NaN); 2 Jan: 32.3 (NaN); 15 Jan: 45; 10 Feb: 71.6; 1 Feb: 62.4
    assert out["run_rate"].isna().tolist() == [True, True, True, False, False, False]
    assert out["run_rate"].iloc[3] == 0.0
    assert out["run_rate"].iloc[4] == pytest.approx(200 * 29 / (71 + 15 / 24))
    assert out["run_rate"].iloc[5] == pytest.approx(130 * 29 / (62 + 10 / 24))


def test_forecast_errors_reads_the_settings_run_rate_days():
    settings = replace(load_settings(), forecast_run_rate_days=30)
    out = hz.forecast_errors(_dataset(), settings=settings)
    # 30 days: r3 on 1 Feb no longer sees o8 (15 Dec); r2 on 10 Feb still sees o4 -> 200 x 29/30
    assert out["run_rate"].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0, 200 * 29 / 30, 0.0])


def test_forecast_errors_keeps_a_table_whose_categories_are_all_empty():
    fc = _forecasts().assign(category=pd.array([None] * 8, dtype="str"))
    out = hz.forecast_errors(_dataset(fc))
    assert len(out) == 7 and out["category"].tolist() == ["all"] * 7
    out = hz.forecast_errors(_dataset(_forecasts().drop(columns="category")))
    assert len(out) == 7 and out["category"].tolist() == ["all"] * 7


def test_forecast_errors_category_filter_names_the_category():
    out = hz.forecast_errors(_dataset(), category="best_case")
    # 20 Jan to 31 Jan: 11 days; r1's January actual is o1 (100)
    assert out[["rep_id", "category", "horizon_days", "forecast", "actual"]].values.tolist() == [
        ["r1", "best_case", 11, 110.0, 100.0]
    ]


# -- error_summary ---------------------------------------------------------------------------------


def test_error_summary_per_group_by_hand_with_wilson_interval():
    errors = pd.DataFrame(
        {
            "g": ["b", "a", "a", "b", "a", "c", None],
            "forecast": [10.0, 110.0, 50.0, 5.0, np.nan, 3.0, 8.0],
            "actual": [0.0, 100.0, 40.0, 10.0, 20.0, 0.0, 4.0],
        }
    )
    out = hz.error_summary(errors, ["g"], 0.25)
    assert out.columns.tolist() == ["g", *hz.SUMMARY_COLUMNS]
    assert out["g"].tolist()[:3] == ["a", "b", "c"] and pd.isna(out["g"].iloc[3])  # a missing key is a group
    # a: (110, 100), (50, 40); the NaN forecast is left out. b: (10, 0), (5, 10). c: (3, 0). None: (8, 4)
    assert out["n"].tolist() == [2, 2, 1, 1]
    assert out["forecast"].tolist() == [160.0, 15.0, 3.0, 8.0]
    assert out["actual"].tolist() == [140.0, 10.0, 0.0, 4.0]
    assert out["bias"].tolist()[:2] == pytest.approx([20 / 140, 5 / 10])
    assert out["wape"].tolist()[:2] == pytest.approx([20 / 140, 15 / 10])
    assert out["accuracy"].tolist()[:2] == pytest.approx([1 - 20 / 140, 1 - 15 / 10])
    assert np.isnan(out["bias"].iloc[2]) and np.isnan(out["wape"].iloc[2]) and np.isnan(out["accuracy"].iloc[2])
    assert out["bias"].iloc[3] == pytest.approx(1.0)
    # hits at 25%: a: 10 <= 25 yes, 10 <= 10 yes (the edge); b: 10 <= 0 no, 5 <= 2.5 no; c no; None: 4 <= 1 no
    assert out["hit_rate"].tolist() == [1.0, 0.0, 0.0, 0.0]
    # MAPE over A > 0: a: (0.1 + 0.25) / 2; b: 0.5; c: none
    assert out["mape"].tolist()[:2] == pytest.approx([0.175, 0.5]) and np.isnan(out["mape"].iloc[2])
    assert out["n_zero_actual"].tolist() == [0, 1, 1, 0]
    lo, hi = proportion_confint([2, 0, 0, 0], [2, 2, 1, 1], alpha=0.05, method="wilson")
    assert out["hit_rate_ci_low"].tolist() == pytest.approx(lo, abs=1e-12)
    assert out["hit_rate_ci_high"].tolist() == pytest.approx(hi, abs=1e-12)
    assert out[["n", "n_zero_actual"]].dtypes.astype(str).tolist() == ["int64", "int64"]


def test_error_summary_without_keys_and_without_rows():
    errors = pd.DataFrame({"forecast": [12.0, 0.0, np.nan], "actual": [10.0, 0.0, 5.0]})
    out = hz.error_summary(errors, [], 0.1)
    assert out.columns.tolist() == list(hz.SUMMARY_COLUMNS) and len(out) == 1
    row = out.iloc[0]
    # (12, 10) and (0, 0): sums 12 and 10; |2| > 1 no hit, |0| <= 0 hit (the edge counts)
    assert (row.n, row.forecast, row.actual, row.n_zero_actual) == (2, 12.0, 10.0, 1)
    assert row.bias == pytest.approx(0.2) and row.wape == pytest.approx(0.2) and row.hit_rate == 0.5
    assert row.mape == pytest.approx(0.2)
    empty = hz.error_summary(pd.DataFrame({"g": pd.Series([], dtype="str"), "forecast": [], "actual": []}), [], 0.1)
    assert empty["n"].tolist() == [0] and np.isnan(empty["hit_rate"].iloc[0]) and np.isnan(empty["bias"].iloc[0])
    assert empty[["n", "n_zero_actual"]].dtypes.astype(str).tolist() == ["int64", "int64"]


def test_error_summary_hit_forgives_only_a_rounding_hair():
    # A = 100, tolerance 10%: |F - A| = 10 + 1e-10 is a hit (rounding), 10 + 1e-6 is not.
    errors = pd.DataFrame({"forecast": [110 + 1e-10, 110 + 1e-6, 90.0], "actual": [100.0, 100.0, 100.0]})
    out = hz.error_summary(errors.assign(k=["x", "y", "z"]), ["k"], 0.1)
    assert out["hit_rate"].tolist() == [1.0, 0.0, 1.0]


# -- cluster_intervals -----------------------------------------------------------------------------


def _bootstrap(rows, tol, n_resamples, seed, confidence=0.95):
    """The documented cluster bootstrap written out: rows ``(cluster, F, A, R)`` of one group.

    Clusters in sorted order (the draws are matched to them in that order)."""
    clusters = sorted({r[0] for r in rows})
    sums = np.zeros((len(clusters), 7))
    for c, f, a, r in rows:
        i = clusters.index(c)
        paired = not np.isnan(r)
        sums[i] += [1, abs(f - a) <= tol * a + 1e-9, abs(f - a), a,
                    abs(f - a) if paired else 0, abs(r - a) if paired else 0, a if paired else 0]
    w = cluster_resample_counts(len(clusters), n_resamples, seed) @ sums
    with np.errstate(divide="ignore", invalid="ignore"):
        stats = {
            "hit_rate": w[:, 1] / w[:, 0],
            "wape": np.where(w[:, 3] > 0, w[:, 2] / w[:, 3], np.nan),
            "run_rate_wape": np.where(w[:, 6] > 0, w[:, 5] / w[:, 6], np.nan),
            "wape_minus_run_rate": np.where(w[:, 6] > 0, (w[:, 4] - w[:, 5]) / w[:, 6], np.nan),
        }
    out = {}
    for name, v in stats.items():
        v = v[~np.isnan(v)]
        lo, hi = np.quantile(v, [(1 - confidence) / 2, (1 + confidence) / 2]) if len(v) else (np.nan, np.nan)
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = lo, hi
    return out


def _cluster_frame():
    # Group x: rep a twice for one period, b, c (3 clusters); group y: d only (1 cluster).
    return pd.DataFrame(
        {
            "grp": ["x", "x", "x", "x", "y", "x"],
            "rep_id": ["a", "a", "c", "b", "d", "a"],
            "period_start": pd.Series([T("2024-01-01")] * 5 + [T("2024-02-01")], dtype=US),
            "period_end": pd.Series([T("2024-01-31")] * 5 + [T("2024-02-29")], dtype=US),
            "forecast": [100.0, 130.0, 50.0, 205.0, 10.0, 75.0],
            "actual": [100.0, 100.0, 0.0, 200.0, 12.0, 60.0],
            "run_rate": [90.0, 90.0, 20.0, np.nan, 11.0, 70.0],
        }
    )


@pytest.mark.parametrize("confidence", [0.95, 0.5])
def test_cluster_intervals_equal_the_bootstrap_written_out(confidence):
    e = _cluster_frame()
    out = hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=60, confidence=confidence, seed=4)
    assert out.columns.tolist() == ["grp", *hz.BOOTSTRAP_COLUMNS]
    assert out["grp"].tolist() == ["x", "y"] and out["n_clusters"].tolist() == [4, 1]
    assert out.dtypes.astype(str).tolist()[1:] == ["int64"] + ["float64"] * 8
    # x's clusters in order: (a, Jan), (a, Feb), (b, Jan), (c, Jan)
    x = [(("a", 1), 100.0, 100.0, 90.0), (("a", 1), 130.0, 100.0, 90.0), (("c", 1), 50.0, 0.0, 20.0),
         (("b", 1), 205.0, 200.0, np.nan), (("a", 2), 75.0, 60.0, 70.0)]
    want = _bootstrap(x, 0.1, 60, 4, confidence)
    got = out.iloc[0]
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert out.iloc[1, 2:].isna().all()  # one cluster: no spread


def test_cluster_intervals_per_rep_and_rows_without_forecast():
    e = _cluster_frame().assign(forecast=[100.0, 130.0, 50.0, 205.0, 10.0, np.nan])
    out = hz.cluster_intervals(e, [], 0.1, cluster="rep", n_resamples=30, seed=2)
    assert out.columns.tolist() == list(hz.BOOTSTRAP_COLUMNS)
    # rep clusters a, b, c, d; a's February row has no forecast and is left out
    rows = [("a", 100.0, 100.0, 90.0), ("a", 130.0, 100.0, 90.0), ("c", 50.0, 0.0, 20.0), ("b", 205.0, 200.0, np.nan),
            ("d", 10.0, 12.0, 11.0)]
    assert out["n_clusters"].tolist() == [4]
    want = _bootstrap(rows, 0.1, 30, 2)
    for name, value in want.items():
        assert out.iloc[0][name] == pytest.approx(value, abs=1e-12), name


def _wide_frame():
    # 12 rep-periods of one rep each, F and A spread out, so that every bootstrap setting moves the bounds
    f = [100.0, 80.0, 130.0, 55.0, 210.0, 20.0, 95.0, 160.0, 40.0, 75.0, 300.0, 12.0]
    a = [90.0, 100.0, 100.0, 60.0, 180.0, 35.0, 95.0, 120.0, 44.0, 70.0, 250.0, 10.0]
    r = [70.0, 110.0, 60.0, 65.0, 150.0, 30.0, 80.0, 150.0, 40.0, 90.0, 200.0, 15.0]
    return pd.DataFrame({"rep_id": [f"r{i:02d}" for i in range(12)],
                         "period_start": pd.Series([T("2024-01-01")] * 12, dtype=US),
                         "period_end": pd.Series([T("2024-01-31")] * 12, dtype=US),
                         "forecast": f, "actual": a, "run_rate": r}), list(zip(f, a, r, strict=True))


def test_cluster_intervals_defaults_are_2000_resamples_seed_0_and_95_percent():
    e, fars = _wide_frame()
    rows = [(f"r{i:02d}", *far) for i, far in enumerate(fars)]
    got = hz.cluster_intervals(e, [], 0.1).iloc[0]
    want = _bootstrap(rows, 0.1, 2000, 0)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    # and the test can tell: another count, seed or level moves the bounds
    for other in (_bootstrap(rows, 0.1, 1999, 0), _bootstrap(rows, 0.1, 2000, 1), _bootstrap(rows, 0.1, 2000, 0, 0.9)):
        assert any(got[name] != value for name, value in other.items())


def test_cluster_intervals_two_clusters_without_actual_have_no_wape_interval():
    e = _cluster_frame().loc[[2, 4]].assign(grp="x", actual=0.0, forecast=0.0, run_rate=np.nan)
    out = hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=20).iloc[0]
    # both hit (|0| <= 0): hit rate 1 in every resample; sum A = 0 everywhere: no WAPE
    assert out.n_clusters == 2 and out.hit_rate_ci_low == 1.0 and out.hit_rate_ci_high == 1.0
    assert np.isnan(out.wape_ci_low) and np.isnan(out.wape_ci_high) and np.isnan(out.run_rate_wape_ci_low)


@pytest.mark.parametrize("cluster", ["submission", "REP"])
def test_cluster_intervals_refuses_an_unknown_cluster_with_the_message(cluster):
    with pytest.raises(ValueError, match=rf"^cluster must be one of rep_period, rep, not '{cluster}'$"):
        hz.cluster_intervals(_cluster_frame(), [], 0.1, cluster=cluster)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_cluster_intervals_refuses_a_confidence_outside_0_1_with_the_message(confidence):
    with pytest.raises(ValueError, match=rf"^confidence must be between 0 and 1, not {confidence!r}$"):
        hz.cluster_intervals(_cluster_frame(), [], 0.1, confidence=confidence)


@pytest.mark.parametrize("column", ["forecast", "actual", "rep_id", "period_start", "period_end", "grp"])
def test_cluster_intervals_names_a_missing_column(column):
    with pytest.raises(ValueError, match=rf"^errors is missing column '{column}'$"):
        hz.cluster_intervals(_cluster_frame().drop(columns=column), ["grp"], 0.1)


def test_cluster_intervals_per_rep_needs_only_rep_id():
    e = _cluster_frame().drop(columns=["period_start", "period_end"])
    assert hz.cluster_intervals(e, ["grp"], 0.1, cluster="rep", n_resamples=5)["n_clusters"].tolist() == [3, 1]
    with pytest.raises(ValueError, match=r"^errors is missing column 'period_start'$"):
        hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=5)


# -- horizon_accuracy -------------------------------------------------------------------------------

HEAD = ["team", "category", "horizon_bucket", "horizon_min_days", "horizon_max_days", "horizon_median_days"]
TAIL = ["n_clusters", "wape_ci_low", "wape_ci_high", "n_run_rate", "run_rate_forecast", "run_rate_bias",
        "run_rate_wape", "run_rate_hit_rate", "wape_minus_run_rate", "run_rate_wape_ci_low", "run_rate_wape_ci_high",
        "wape_minus_run_rate_ci_low", "wape_minus_run_rate_ci_high"]


def test_horizon_accuracy_whole_table_by_hand():
    out = hz.horizon_accuracy(_dataset(), n_resamples=50, seed=7)
    assert out.columns.tolist() == [*HEAD, *hz.SUMMARY_COLUMNS, *TAIL]
    assert out.index.tolist() == list(range(12))
    assert out["team"].tolist() == ["A"] * 4 + ["B"] * 4 + ["all"] * 4
    assert out["category"].tolist() == ["commit"] * 12
    assert out["horizon_bucket"].tolist() == ["0-30", "31-60", "61-90", "91+"] * 3
    assert out["horizon_min_days"].tolist() == [0, 31, 61, 91] * 3
    assert out["horizon_max_days"].isna().tolist() == [False, False, False, True] * 3
    # Submissions (F, A, R, h) -- A 0-30: r1 (90, 100, 31, 26), r2 (180, 200, 0, 29), (210, 200, 0, 16),
    # (30, 0, Q, 19); A 61-90: r1 (50, 60, 29, 71); B 0-30: r3 (44, 40, S, 28); all = A + B.
    med = out["horizon_median_days"].tolist()
    assert med[0] == 22.5 and med[2] == 71.0 and med[4] == 28.0 and med[8] == 26.0 and med[10] == 71.0
    assert np.isnan([med[i] for i in (1, 3, 5, 6, 7, 9, 11)]).all()
    assert out["n"].tolist() == [4, 0, 1, 0, 1, 0, 0, 0, 5, 0, 1, 0]
    assert out["forecast"].tolist() == [510.0, 0, 50.0, 0, 44.0, 0, 0, 0, 554.0, 0, 50.0, 0]
    assert out["actual"].tolist() == [500.0, 0, 60.0, 0, 40.0, 0, 0, 0, 540.0, 0, 60.0, 0]
    # bias: A 0-30 (-10 - 20 + 10 + 30) / 500; 61-90 -10/60; B 4/40; all 14/540
    by = out.set_index(["team", "horizon_bucket"])
    assert by["bias"].loc[[("A", "0-30"), ("A", "61-90"), ("B", "0-30"), ("all", "0-30")]].tolist() == pytest.approx(
        [10 / 500, -10 / 60, 4 / 40, 14 / 540])
    assert by["wape"].loc[[("A", "0-30"), ("A", "61-90"), ("B", "0-30"), ("all", "0-30")]].tolist() == pytest.approx(
        [70 / 500, 10 / 60, 4 / 40, 74 / 540])
    assert by["accuracy"].loc[("all", "0-30")] == pytest.approx(1 - 74 / 540)
    # hits at 10%: 10 <= 10, 20 <= 20, 10 <= 20 yes; 30 <= 0 no; 10 <= 6 no; 4 <= 4 yes
    assert by["hit_rate"].loc[[("A", "0-30"), ("A", "61-90"), ("B", "0-30"), ("all", "0-30")]].tolist() == [
        0.75, 0.0, 1.0, 0.8]
    assert by["mape"].loc[[("A", "0-30"), ("B", "0-30"), ("all", "0-30")]].tolist() == pytest.approx(
        [0.25 / 3, 0.1, 0.35 / 4])
    assert out["n_zero_actual"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    empty = out.loc[out["n"] == 0]
    assert empty[["bias", "wape", "accuracy", "hit_rate", "mape", "hit_rate_ci_low", "wape_ci_low",
                  "run_rate_wape", "wape_minus_run_rate"]].isna().all().all()
    # run-rate: R per bucket as above; every submission has one
    assert out["n_run_rate"].tolist() == [4, 0, 1, 0, 1, 0, 0, 0, 5, 0, 1, 0]
    assert out["run_rate_forecast"].tolist() == pytest.approx([31 + Q, 0, 29, 0, S, 0, 0, 0, 31 + Q + S, 0, 29, 0])
    keys = [("A", "0-30"), ("A", "61-90"), ("B", "0-30"), ("all", "0-30")]
    assert by["run_rate_bias"].loc[keys].tolist() == pytest.approx(
        [(31 + Q - 500) / 500, (29 - 60) / 60, (S - 40) / 40, (31 + Q + S - 540) / 540])
    # |R - A|: 69, 200, 200, Q | 31 | S - 40 (1.43)
    rr_wape = [(469 + Q) / 500, 31 / 60, (S - 40) / 40, (469 + Q + S - 40) / 540]
    assert by["run_rate_wape"].loc[keys].tolist() == pytest.approx(rr_wape)
    assert by["run_rate_hit_rate"].loc[keys].tolist() == [0.0, 0.0, 1.0, 0.2]  # only r3's 1.43 <= 4
    assert by["wape_minus_run_rate"].loc[keys].tolist() == pytest.approx(
        [70 / 500 - rr_wape[0], 10 / 60 - rr_wape[1], 4 / 40 - rr_wape[2], 74 / 540 - rr_wape[3]])
    # clusters: A 0-30 (r1 Jan), (r2 Jan), (r2 Feb); all adds (r3 Feb); the rest one or none
    assert out["n_clusters"].tolist() == [3, 0, 1, 0, 1, 0, 0, 0, 4, 0, 1, 0]
    assert out.dtypes[["n", "n_zero_actual", "n_clusters", "n_run_rate"]].astype(str).tolist() == ["int64"] * 4
    assert str(out["horizon_median_days"].dtype) == "float64" and str(out["category"].dtype) == "str"
    a = [("r1", 90.0, 100.0, 31.0), ("r2a", 180.0, 200.0, 0.0), ("r2a", 210.0, 200.0, 0.0), ("r2b", 30.0, 0.0, Q)]
    for row, rows in ((0, a), (8, [*a, ("r3", 44.0, 40.0, S)])):
        want = _bootstrap(rows, 0.1, 50, 7)
        for name, value in want.items():
            assert out.loc[row, name] == pytest.approx(value, abs=1e-12), (row, name)
    singles = out.loc[out["n_clusters"] < 2, ["hit_rate_ci_low", "hit_rate_ci_high", "wape_ci_low", "wape_ci_high",
                                             "run_rate_wape_ci_low", "run_rate_wape_ci_high",
                                             "wape_minus_run_rate_ci_low", "wape_minus_run_rate_ci_high"]]
    assert singles.isna().all().all()


def test_horizon_accuracy_per_rep_by_hand():
    out = hz.horizon_accuracy(_dataset(), by="rep", n_resamples=20)
    assert out.columns.tolist()[:7] == ["team", "rep_id", "category", "horizon_bucket", "horizon_min_days",
                                        "horizon_max_days", "horizon_median_days"]
    assert out["team"].tolist() == ["A"] * 8 + ["B"] * 4
    assert out["rep_id"].tolist() == ["r1"] * 4 + ["r2"] * 4 + ["r3"] * 4
    assert out["n"].tolist() == [1, 0, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0]
    # r2 0-30: (180, 200), (210, 200), (30, 0): wape 60/400; clusters: January and February
    assert out.loc[4, "wape"] == pytest.approx(60 / 400) and out.loc[4, "n_clusters"] == 2
    assert out.loc[4, "horizon_median_days"] == 19.0


def test_horizon_accuracy_reps_sorted_by_team_then_rep():
    reps = pd.DataFrame({"rep_id": ["r3", "r2", "r1"], "rep_name": ["Cy", "Bob", "Ann"], "team": ["B", "A", "A"],
                         "manager": ["M"] * 3}).astype("str")
    out = hz.horizon_accuracy(_dataset(reps=reps), by="rep", n_resamples=5)
    assert out["rep_id"].tolist()[::4] == ["r1", "r2", "r3"]
    assert out.index.tolist() == list(range(12))


def test_horizon_accuracy_drops_submissions_after_their_period():
    rows = [*_SUBMISSIONS, ("r3", "2024-02-29 12:00", "2024-01-01", "2024-01-31", 5.0, "commit")]  # h = -29
    out = hz.horizon_accuracy(_dataset(_forecasts(rows)), n_resamples=5)
    assert out["n"].tolist() == [4, 0, 1, 0, 1, 0, 0, 0, 5, 0, 1, 0]


def test_horizon_accuracy_names_the_category_even_without_judged_submissions():
    out = hz.horizon_accuracy(_dataset(), AS_OF - pd.Timedelta(days=60), n_resamples=5)
    assert out["n"].sum() == 0 and out["category"].tolist() == ["commit"] * 12
    assert out["forecast"].tolist() == [0.0] * 12 and out["n_clusters"].tolist() == [0] * 12
    out = hz.horizon_accuracy(_dataset(), AS_OF - pd.Timedelta(days=60), category=None, n_resamples=5)
    assert out["category"].tolist() == ["all"] * 12
    out = hz.horizon_accuracy(_dataset(), category="best_case", n_resamples=5)
    assert out["category"].tolist() == ["best_case"] * 12 and out["n"].sum() == 2  # A and all


def test_horizon_accuracy_settings_and_run_rate_days():
    settings = replace(load_settings(), horizon_buckets=(20,), hit_tolerance=0.2)
    out = hz.horizon_accuracy(_dataset(), settings=settings, run_rate_days=30, run_rate_min_days=10, n_resamples=5)
    all_rows = out.loc[out["team"] == "all"].set_index("horizon_bucket")
    assert all_rows.index.tolist() == ["0-20", "21+"]
    # 0-20: (210, 200), (30, 0); 21+: the other four
    assert all_rows["n"].tolist() == [2, 4]
    # at 20%: 21+: 10 <= 20, 20 <= 40, 10 <= 12, 4 <= 8: all hit
    assert all_rows.loc["21+", "hit_rate"] == 1.0
    # 30-day run-rate: only r2 on 10 Feb sees o4: 200 x 29/30
    assert all_rows["run_rate_forecast"].tolist() == pytest.approx([200 * 29 / 30, 0.0])


def test_horizon_accuracy_defaults_are_2000_resamples_and_seed_0():
    ds = _dataset()
    a = hz.horizon_accuracy(ds)
    b = hz.horizon_accuracy(ds, by="team", category="commit", cluster="rep_period", n_resamples=2000, seed=0)
    pd.testing.assert_frame_equal(a, b)
    rows = [("r1", 90.0, 100.0, 31.0), ("r2a", 180.0, 200.0, 0.0), ("r2a", 210.0, 200.0, 0.0), ("r2b", 30.0, 0.0, Q),
            ("r3", 44.0, 40.0, S)]
    want = _bootstrap(rows, 0.1, 2000, 0)
    for name, value in want.items():
        assert a.loc[8, name] == pytest.approx(value, abs=1e-12), name


def test_horizon_accuracy_refuses_a_bad_grouping_with_the_message():
    with pytest.raises(ValueError, match=r"^by must be 'team' or 'rep', not 'manager'$"):
        hz.horizon_accuracy(_dataset(), by="manager")
    with pytest.raises(ValueError, match=r"^with by='rep' every group is one rep, so one cluster: use cluster='rep_period'$"):
        hz.horizon_accuracy(_dataset(), by="rep", cluster="rep")


# -- baseline_verdict -------------------------------------------------------------------------------


def _verdict_rows(lows, highs, n=None):
    buckets = ["0-30", "31-60", "61-90", "91+"][: len(lows)]
    return pd.DataFrame({"horizon_bucket": buckets, "n": n or [3] * len(lows),
                         "wape_minus_run_rate_ci_low": lows, "wape_minus_run_rate_ci_high": highs})


def test_baseline_verdict_one_bucket_and_no_cycle():
    rows = _verdict_rows([-0.3], [-0.1])
    assert hz.baseline_verdict(rows) == (
        "The submitted forecasts **beat** the run-rate at 0-30 days (95% intervals over rep-periods).")
    assert hz.baseline_verdict(rows, float("nan")) == hz.baseline_verdict(rows)
    assert hz.baseline_verdict(rows, 45.6).endswith("; the measured cycle is 46 days.")


def test_baseline_verdict_lists_three_buckets_and_reads_the_edges():
    # hi exactly 0 is not below 0; lo exactly 0 is not above; unknown bounds are "no different"
    rows = _verdict_rows([0.1, -0.2, 0.05, np.nan], [0.3, 0.0, 0.2, np.nan])
    assert hz.baseline_verdict(rows) == (
        "The submitted forecasts are **worse** than the run-rate at 0-30 and 61-90 days; are **no different** from "
        "the run-rate at 31-60 and 91+ days (95% intervals over rep-periods).")
    rows = _verdict_rows([0.1, 0.2, 0.3], [0.2, 0.3, 0.4])
    assert hz.baseline_verdict(rows) == (
        "The submitted forecasts are **worse** than the run-rate at 0-30, 31-60 and 61-90 days "
        "(95% intervals over rep-periods).")


def test_baseline_verdict_skips_buckets_without_submissions():
    rows = _verdict_rows([-0.3, 0.1], [-0.1, 0.2], n=[0, 1])
    assert hz.baseline_verdict(rows) == (
        "The submitted forecasts are **worse** than the run-rate at 31-60 days (95% intervals over rep-periods).")
    rows = _verdict_rows([-0.3, 0.1], [-0.1, 0.2], n=[1, 0])
    assert "**beat** the run-rate at 0-30 days (" in hz.baseline_verdict(rows)
    assert hz.baseline_verdict(_verdict_rows([np.nan], [np.nan], n=[0])) == (
        "No submission has been judged yet: no period is over.")


def test_baseline_verdict_reads_nullable_bounds():
    rows = _verdict_rows([-0.3, None], [-0.1, None]).astype(
        {"wape_minus_run_rate_ci_low": "Float64", "wape_minus_run_rate_ci_high": "Float64"})
    assert hz.baseline_verdict(rows) == (
        "The submitted forecasts **beat** the run-rate at 0-30 days; are **no different** from the run-rate at "
        "31-60 days (95% intervals over rep-periods).")


# -- second batch: edges the first run's survivors pointed at ----------------------------------------


def test_horizon_bucket_reads_nullable_and_unparseable_days_as_missing():
    days = pd.Series([31, None, 0], dtype="Int64")
    assert hz.horizon_bucket(days, (30,)).tolist()[::2] == ["31+", "0-30"]
    assert hz.horizon_bucket(days, (30,)).isna().tolist() == [False, True, False]
    text = pd.Series(["12", "n/a"], dtype="object")
    assert hz.horizon_bucket(text, (30,)).isna().tolist() == [False, True]


def test_won_amount_between_with_deals_at_the_same_instant():
    # Three instants, six deals at each (r1 and r2 alternating), amounts 1, 2, 4, ... 2^17: a sum
    # says exactly which deals it took. r1 has the even powers, r2 the odd ones.
    deals, k = [], 0
    for day in ("2024-01-10", "2024-01-20", "2024-01-30"):
        for rep in ("r1", "r2") * 3:
            deals.append((f"d{k}", rep, "won", 2.0**k, day))
            k += 1
    opps = _opps(deals)
    ends = [T("2024-01-15"), T("2024-01-15"), T("2024-01-25"), T("2024-01-25"), T("2024-02-01"), T("2024-02-01")]
    got = hz.won_amount_between(opps, ["r1", "r2"] * 3, [T("2024-01-01")] * 6, ends)
    # to 15 Jan: r1 1 + 4 + 16 = 21, r2 2 + 8 + 32 = 42; to 25 Jan: r1 21 + 64 + 256 + 1024 = 1365, r2 2730;
    # all: r1 = 4^0 + ... + 4^8 = (4^9 - 1) / 3 = 87381, r2 twice that
    assert got.tolist() == [21.0, 42.0, 1365.0, 2730.0, 87381.0, 174762.0]
    # a window starting at the second instant leaves the first instant's deals out
    got = hz.won_amount_between(opps, ["r2"], [T("2024-01-20")], [T("2024-01-21")])
    assert got.tolist() == [128.0 + 512 + 2048]


def test_won_amount_between_reads_nanosecond_timestamps():
    opps = _opps()
    opps["closed_at"] = opps["closed_at"].astype("datetime64[ns]")
    got = hz.won_amount_between(opps, ["r1", "r2"], [T("2024-01-01")] * 2, [T("2024-02-01")] * 2,
                                as_of=T("2024-03-01"))
    assert got.tolist() == [100.0, 200.0]


def test_run_rate_without_observed_days_is_missing_and_quiet():
    # Data starting at the very instant of the submission: 0 days observed. A deal at that
    # instant (won > 0, 60 / 0) and a rep with nothing (0 / 0) both give NaN (fewer than 28 days),
    # without a warning from the division made before that rule.
    at = T("2024-02-05")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = hz.run_rate_baseline(_opps(), ["r1", "r3"], [at, at], [29.0, 29.0], start=at)
    assert np.isnan(got).all()


def test_forecast_errors_default_needs_28_observed_days_not_29():
    # Data from 5 Dec 2023: r2's 2 Jan 08:00 submission has 28 days and 8 hours behind it.
    settings = replace(load_settings(), cycle_data_start="2023-12-05")
    out = hz.forecast_errors(_dataset(), settings=settings)
    assert out["run_rate"].tolist()[2] == 0.0  # r2 knew nothing then; zero, not missing
    assert np.isnan(out["run_rate"].iloc[0])  # 20 Dec: 15 days
    out = hz.horizon_accuracy(_dataset(), settings=settings, n_resamples=5)
    # A 0-30: 5 Jan (31.4 days), 2 Jan (28.3), 15 Jan, 10 Feb: all four have a baseline
    assert out.loc[0, "n_run_rate"] == 4
    out = hz.horizon_accuracy(_dataset(), settings=settings, run_rate_min_days=29.0, n_resamples=5)
    assert out.loc[0, "n_run_rate"] == 3


def test_forecast_errors_forecast_is_float_even_for_whole_amounts():
    fc = _forecasts().astype({"amount": "int64"})
    out = hz.forecast_errors(_dataset(fc))
    assert str(out["forecast"].dtype) == "float64" and out["forecast"].tolist()[:2] == [50.0, 90.0]


def test_hit_forgives_a_hair_even_at_a_zero_actual():
    # A = 0: |F - A| <= 0 + 1e-9 is a hit for F = 1e-9 exactly, not for F = 2e-9
    errors = pd.DataFrame({"k": ["a", "b"], "forecast": [1e-9, 2e-9], "actual": [0.0, 0.0]})
    assert hz.error_summary(errors, ["k"], 0.1)["hit_rate"].tolist() == [1.0, 0.0]


def test_error_summary_zero_and_small_actuals_quietly():
    # Group a: A = 0.5 and 0.25 (MAPE and ratios defined: A > 0); group b: A = 0 only, F = 3 and
    # F = 0 (3 / 0 and 0 / 0 for the MAPE terms, quietly left out).
    errors = pd.DataFrame({"k": ["a", "a", "b", "b"], "forecast": [1.0, 0.25, 3.0, 0.0],
                           "actual": [0.5, 0.25, 0.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = hz.error_summary(errors, ["k"], 0.1)
        none = hz.error_summary(errors, [], 0.1)
    # a: err 0.5 + 0 over 0.75; |.5| / .5 = 1 and 0: MAPE 0.5
    assert out["bias"].tolist()[0] == pytest.approx(0.5 / 0.75) and out["wape"].tolist()[0] == pytest.approx(0.5 / 0.75)
    assert out["mape"].tolist()[0] == pytest.approx(0.5)
    assert np.isnan(out["bias"].iloc[1]) and np.isnan(out["mape"].iloc[1]) and out["hit_rate"].iloc[1] == 0.5
    assert out["n_zero_actual"].tolist() == [0, 2]
    assert none["wape"].iloc[0] == pytest.approx(3.5 / 0.75)
    assert out.dtypes[["forecast", "actual", "bias", "wape", "hit_rate", "mape"]].astype(str).tolist() == ["float64"] * 6


def test_error_summary_sums_are_floats_when_a_forecast_is_missing():
    errors = pd.DataFrame({"k": ["a", "a"], "forecast": [np.nan, 4.0], "actual": [2.0, 5.0]})
    out = hz.error_summary(errors, ["k"], 0.1)
    assert out[["forecast", "actual"]].values.tolist() == [[4.0, 5.0]]
    assert out.dtypes[["forecast", "actual", "mape"]].astype(str).tolist() == ["float64"] * 3
    assert out["mape"].tolist() == [0.2]


def test_cluster_intervals_quietly_leave_out_resamples_without_actual():
    # Two rep-periods: p (F 5, A 0) and q (F 10, A 10). A resample of p twice has sum A = 0: no
    # WAPE, not an infinite one (and no warning). Group names longer than a letter.
    e = pd.DataFrame({"grp": ["team x", "team x"], "rep_id": ["p", "q"],
                      "period_start": pd.Series([T("2024-01-01")] * 2, dtype=US),
                      "period_end": pd.Series([T("2024-01-31")] * 2, dtype=US),
                      "forecast": [5.0, 10.0], "actual": [0.0, 10.0], "run_rate": [1.0, 12.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=40, seed=1)
    assert out["grp"].tolist() == ["team x"]
    want = _bootstrap([("p", 5.0, 0.0, 1.0), ("q", 10.0, 10.0, 12.0)], 0.1, 40, 1)
    for name, value in want.items():
        assert out.iloc[0][name] == pytest.approx(value, abs=1e-12), name
    assert np.isfinite(out.iloc[0, 2:].to_numpy(dtype="float64")).all()
    # resamples: q twice: WAPE 0; p and q: 5/10; p twice: none. So the bounds lie in [0, 0.5]
    assert 0.0 <= out.iloc[0]["wape_ci_low"] <= out.iloc[0]["wape_ci_high"] <= 0.5


def test_cluster_intervals_with_small_actuals():
    # Actuals below 1 are still actuals (the ratios need sum A > 0, not > 1).
    e = _cluster_frame().assign(actual=lambda d: d["actual"] / 1000, forecast=lambda d: d["forecast"] / 1000,
                                run_rate=lambda d: d["run_rate"] / 1000)
    out = hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=30, seed=3).iloc[0]
    x = [(("a", 1), .1, .1, .09), (("a", 1), .13, .1, .09), (("c", 1), .05, 0.0, .02), (("b", 1), .205, .2, np.nan),
         (("a", 2), .075, .06, .07)]
    want = _bootstrap(x, 0.1, 30, 3)
    for name, value in want.items():
        assert out[name] == pytest.approx(value, abs=1e-12), name
    assert np.isfinite(out.iloc[1:].to_numpy(dtype="float64")).all()


def test_cluster_intervals_missing_group_key_is_a_group_of_its_own():
    e = _cluster_frame().assign(grp=["x", None, "x", None, "x", None])
    out = hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=10)
    # x: (a, Jan), (c, Jan), (d, Jan); missing: (a, Jan), (b, Jan), (a, Feb)
    assert out["grp"].tolist()[0] == "x" and pd.isna(out["grp"].iloc[1])
    assert out["n_clusters"].tolist() == [3, 3]
    # a cluster key may be missing too: a rep-period of its own
    e = _cluster_frame().assign(rep_id=[None, None, "c", "b", "d", "a"])
    assert hz.cluster_intervals(e, ["grp"], 0.1, n_resamples=10)["n_clusters"].tolist() == [4, 1]


def test_cluster_intervals_of_nothing_is_an_empty_table_with_its_columns():
    e = _cluster_frame().iloc[:0]
    out = hz.cluster_intervals(e, ["grp"], 0.1)
    assert out.columns.tolist() == ["grp", *hz.BOOTSTRAP_COLUMNS] and len(out) == 0
    assert out.dtypes.astype(str).tolist()[1:] == ["int64"] + ["float64"] * 8


def test_horizon_accuracy_with_one_judged_submission_and_string_columns():
    rows = [("r3", "2024-02-01 10:00", "2024-02-01", "2024-02-29", 44.0, "commit")]
    out = hz.horizon_accuracy(_dataset(_forecasts(rows)), n_resamples=5)
    assert out["n"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    assert out["category"].tolist() == ["commit"] * 12
    assert out.dtypes[["team", "category", "horizon_bucket"]].astype(str).tolist() == ["str"] * 3


def test_cluster_intervals_quietly_leave_out_resamples_of_nothing():
    # p: F = A = R = 0; a resample of p twice is 0 / 0 for every ratio: left out, no warning.
    e = pd.DataFrame({"rep_id": ["p", "q"], "period_start": pd.Series([T("2024-01-01")] * 2, dtype=US),
                      "period_end": pd.Series([T("2024-01-31")] * 2, dtype=US),
                      "forecast": [0.0, 10.0], "actual": [0.0, 10.0], "run_rate": [0.0, 12.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = hz.cluster_intervals(e, [], 0.1, n_resamples=40, seed=2).iloc[0]
    # every resample with q has WAPE 0 and run-rate WAPE 2/10 (1 or 2 copies of q alike)
    assert (out.wape_ci_low, out.wape_ci_high) == (0.0, 0.0)
    assert out.run_rate_wape_ci_low == pytest.approx(0.2) and out.run_rate_wape_ci_high == pytest.approx(0.2)


def test_horizon_accuracy_of_a_table_without_categories_says_all():
    out = hz.horizon_accuracy(_dataset(_forecasts().drop(columns="category")), n_resamples=5)
    assert out["category"].tolist() == ["all"] * 12


def _ten_reps() -> Dataset:
    # Ten reps of one team, each one January commit made on 10 Jan (h = 21) against one won deal.
    reps = pd.DataFrame({"rep_id": [f"s{i}" for i in range(10)], "rep_name": "x", "team": "A", "manager": "M"}).astype("str")
    won = [100.0, 80.0, 120.0, 60.0, 200.0, 40.0, 90.0, 150.0, 30.0, 70.0]
    fcs = [110.0, 60.0, 125.0, 90.0, 150.0, 45.0, 90.0, 100.0, 33.0, 95.0]
    deals = [(f"o{i}", f"s{i}", "won", w, f"2024-01-{12 + i}") for i, w in enumerate(won)]
    opps = _opps(deals)
    fc = _forecasts([(f"s{i}", "2024-01-10", "2024-01-01", "2024-01-31", f, "commit") for i, f in enumerate(fcs)])
    return Dataset(tables={"reps": reps, "opportunities": opps, "forecasts": fc}, activities=None, as_of=AS_OF)


def test_horizon_accuracy_bootstrap_defaults_on_ten_rep_periods():
    ds = _ten_reps()
    got = hz.horizon_accuracy(ds).set_index(["team", "horizon_bucket"]).loc[("all", "0-30")]
    assert got.n == 10 and got.n_clusters == 10
    fcs = [110.0, 60.0, 125.0, 90.0, 150.0, 45.0, 90.0, 100.0, 33.0, 95.0]
    won = [100.0, 80.0, 120.0, 60.0, 200.0, 40.0, 90.0, 150.0, 30.0, 70.0]
    rows = [(f"s{i}", f, a, 0.0) for i, (f, a) in enumerate(zip(fcs, won, strict=True))]  # nothing won before 10 Jan
    want = _bootstrap(rows, 0.1, 2000, 0)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    # the test can tell another count or seed
    for other in (_bootstrap(rows, 0.1, 2001, 0), _bootstrap(rows, 0.1, 2000, 1)):
        assert any(got[name] != value for name, value in other.items())
