"""Tests of salesx2lib.relevance (does a metric predict the next cycle's revenue?) and its chart.

Expected values come from hand computations, scipy (ranks, Spearman) and statsmodels
(multiplicity adjustments); the known-truth and calibration tests run the method on the
worlds of ``tests/worlds/relevance.py``, whose answer is declared.

Timing: the calibration loops use 999 resamples / sign vectors (enough for Holm over 13
metrics: the smallest possible p-value, 0.001, times 13 is below 0.05) instead of the
default 9,999; 200 null worlds in the default mode and 60 in ``period_and_rep``. About 50 s
on a quiet two-core machine, most of it in the 200 worlds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from worlds.relevance import CYCLE_WEEKS, EFFECTIVE, NULL_IN_EFFECT_WORLD, relevance_world

from salesx2lib import competency, relevance
from salesx2lib.charts import competency as charts
from salesx2lib.load import load_dataset
from salesx2lib.settings import load_settings

MONDAY = pd.Timestamp("2026-01-05")
TASKS = ("dials", "emails", "business_cards", "other_activities")


def _weekly(n_reps: int = 30, n_weeks: int = 20, seed: int = 0) -> pd.DataFrame:
    """Rollup-shaped weekly counts, no calendar: dials drive the next weeks' revenue, e-mails do not."""
    rng = np.random.default_rng(seed)
    rep = np.repeat(np.arange(n_reps), n_weeks)
    week = np.tile(np.arange(n_weeks), n_reps)
    dials = rng.poisson(rng.uniform(20, 120, n_reps)[rep])
    conversations = rng.binomial(dials, 0.3)
    appointments = rng.binomial(conversations, 0.4)
    opportunities = rng.binomial(appointments, 0.5)
    emails = rng.poisson(40, rep.size)
    prev_dials = np.where(week > 0, np.roll(dials, 1), 0)
    won_amount = np.maximum(0.0, 50.0 * prev_dials + rng.normal(0, 800, rep.size)).round()
    won = np.where(won_amount > 0, rng.integers(1, 4, rep.size), 0)
    lost = rng.integers(0, 4, rep.size)
    zeros = np.zeros(rep.size, dtype="int64")
    return pd.DataFrame(
        {
            "rep_id": [f"r{r:02d}" for r in rep],
            "team": np.where(rep % 2 == 0, "North", "South"),
            "period_start": (MONDAY + pd.to_timedelta(7 * week, unit="D")).astype("datetime64[us]"),
            "dials": dials,
            "conversations": conversations,
            "connected_calls": conversations,
            "appointments": appointments,
            "emails": emails,
            "meetings": zeros,
            "business_cards": zeros,
            "other_activities": zeros,
            "prospect_appointments": appointments,
            "opportunities": opportunities,
            "won": won,
            "lost": lost,
            "won_amount": won_amount,
            "lost_amount": lost * 1000.0,
        }
    ).astype({"rep_id": "str", "team": "str"})


def _tiny() -> pd.DataFrame:
    """Rep a over weeks 0-5 (won_amount 1, 10, 100, ... by week), rep b from week 2 on."""
    weeks = pd.date_range(MONDAY, periods=6, freq="7D")
    a = pd.DataFrame({"rep_id": "a", "period_start": weeks, "dials": [1, 2, 3, 4, 5, 6],
                      "won_amount": [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]})
    b = pd.DataFrame({"rep_id": "b", "period_start": weeks[2:], "dials": [7, 8, 9, 10],
                      "won_amount": [2.0, 20.0, 200.0, 2000.0]})
    frame = pd.concat([a, b], ignore_index=True).assign(team="T", won=1, lost=0, lost_amount=0.0)
    return frame.astype({"rep_id": "str", "team": "str", "period_start": "datetime64[us]"})[
        ["rep_id", "team", "period_start", "dials", "won", "lost", "won_amount", "lost_amount"]
    ]


# --- windows ----------------------------------------------------------------------------


def test_window_counts_sum_the_lookback_before_and_the_result_from_the_as_of_week():
    w = relevance.window_counts(_tiny(), "week", lookback=2, horizon=2)
    assert w.columns.tolist() == ["rep_id", "team", "as_of", "dials", "won", "lost", "won_amount", "lost_amount",
                                  "result"]
    a = w.loc[w["rep_id"] == "a"]
    # as-of week 2: dials of weeks 0 and 1 (before, not the as-of week), result of weeks 2 and 3
    # (the as-of week itself, and not week 4, the first after the horizon)
    assert a["as_of"].tolist() == [MONDAY + pd.Timedelta(days=14), MONDAY + pd.Timedelta(days=21),
                                   MONDAY + pd.Timedelta(days=28)]
    assert a["dials"].tolist() == [1 + 2, 2 + 3, 3 + 4]
    assert a["won_amount"].tolist() == [1.0 + 10.0, 10.0 + 100.0, 100.0 + 1000.0]
    assert a["result"].tolist() == [100.0 + 1000.0, 1000.0 + 10000.0, 10000.0 + 100000.0]
    # b starts in week 2: its first as-of week is week 4, and the last one is week 4 (weeks 4-5 after)
    b = w.loc[w["rep_id"] == "b"]
    assert b["as_of"].tolist() == [MONDAY + pd.Timedelta(days=28)]
    assert b["dials"].tolist() == [7 + 8] and b["result"].tolist() == [200.0 + 2000.0]
    assert w["dials"].dtype == "int64" and w["result"].dtype == "float64"


def test_a_window_never_spans_a_period_the_rep_has_no_row_for():
    gap = _tiny().loc[lambda f: ~((f["rep_id"] == "a") & (f["period_start"] == MONDAY + pd.Timedelta(days=21)))]
    a = relevance.window_counts(gap, "week", lookback=1, horizon=1).query("rep_id == 'a'")
    # week 3 missing: as-of 3 (lookback 2, result 3) and as-of 4 (lookback 3) are gone; 1, 2 and 5 stay
    assert a["as_of"].tolist() == [MONDAY + pd.Timedelta(days=d) for d in (7, 14, 35)]


def test_monthly_windows_follow_calendar_months():
    months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"])
    counts = pd.DataFrame({"rep_id": "a", "team": "T", "period_start": months, "dials": [1, 2, 3, 4],
                           "won": 0, "lost": 0, "won_amount": [5.0, 6.0, 7.0, 8.0], "lost_amount": 0.0})
    counts = counts.astype({"rep_id": "str", "team": "str", "period_start": "datetime64[us]"})
    w = relevance.window_counts(counts, "month", lookback=1, horizon=2)
    # February: January before, February and March after; March: February before, March and April after
    assert w["as_of"].tolist() == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01")]
    assert w["dials"].tolist() == [1, 2] and w["result"].tolist() == [6.0 + 7.0, 7.0 + 8.0]
    with pytest.raises(ValueError, match="month starts"):
        relevance.window_counts(_tiny(), "month", lookback=1, horizon=1)
    with pytest.raises(ValueError, match="period_start"):
        relevance.window_counts(_tiny().drop(columns="period_start"), "week", lookback=1, horizon=1)
    with pytest.raises(ValueError, match="at least 1"):
        relevance.window_counts(_tiny(), "week", lookback=0, horizon=1)


def test_rep_period_metrics_pairs_ratios_of_summed_counts_with_the_result():
    counts = _weekly(n_reps=3, n_weeks=6, seed=1)
    m = relevance.rep_period_metrics(counts, "week", horizon=2, lookback=3)
    assert m.columns.tolist() == ["rep_id", "team", "as_of", "metric", "kind", "value", "result"]
    rep = counts.loc[counts["rep_id"] == "r01"].reset_index(drop=True)
    row = m.loc[(m["rep_id"] == "r01") & (m["as_of"] == rep["period_start"][3])].set_index("metric")
    # as-of week 3: weeks 0-2 before, weeks 3-4 after
    assert row.loc["connect_rate", "value"] == pytest.approx(rep["connected_calls"][:3].sum() / rep["dials"][:3].sum())
    assert row.loc["win_rate", "value"] == pytest.approx(rep["won"][:3].sum() / (rep["won"][:3] + rep["lost"][:3]).sum())
    assert row.loc["dials", "result"] == rep["won_amount"][3:5].sum()
    assert set(m.loc[m["kind"] == "task", "metric"]) == {
        "dials", "conversations", "appointments", "emails", "meetings", "business_cards", "other_activities",
        "opportunities"}
    assert set(m.loc[m["kind"] == "competency", "metric"]) == {
        "connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate", "avg_deal_size"}


@pytest.mark.parametrize(
    ("days", "freq", "periods"),
    [(31.0, "week", 5), (28.0, "week", 4), (28.1, "week", 5), (1.0, "week", 1), (31.0, "month", 2),
     (30.0, "month", 1), (3.5, "day", 4)],
)
def test_periods_for_days_rounds_up(days, freq, periods):
    assert relevance.periods_for_days(days, freq) == periods


def test_windows_come_from_the_measured_cycle_or_the_settings(valid_folder, tmp_path):
    ds = load_dataset(valid_folder)
    # decided deals: O3 lost after 10 d 21 h, O1 won after 23 d 4 h; O2 is open (censored
    # before 23 d 4 h): Kaplan-Meier falls to 2/3, then to 0 at 23.17 days, its median
    assert relevance.windows(ds, "week") == (4, 4)
    assert relevance.windows(ds, "month") == (1, 1)
    custom = tmp_path / "s.toml"
    custom.write_text("[relevance]\nhorizon_days = 10\nlookback_days = 29\n", encoding="utf-8")
    assert relevance.windows(ds, "week", settings=load_settings(custom)) == (5, 2)


# --- the statistic ----------------------------------------------------------------------


def test_within_scores_are_centred_ranks_within_each_period():
    x = np.array([1.0, 2.0, 3.0, 5.0, 5.0, 1.0, 9.0, 8.0, np.nan])
    y = np.array([3.0, 2.0, 1.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    period = np.array([0, 0, 0, 1, 1, 1, 2, 2, 1])
    rep = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    sx, sy, keep = relevance.within_scores(x, y, period, rep)
    # period 2 has two pairs only (dropped); the NaN pair is dropped
    assert keep.tolist() == [True] * 6 + [False] * 3
    np.testing.assert_allclose(sx, [-1 / 3, 0, 1 / 3, 1 / 6, 1 / 6, -1 / 3])
    np.testing.assert_allclose(sy, [1 / 3, 0, -1 / 3, -1 / 3, 0, 1 / 3])


def test_rho_within_periods_is_the_average_spearman_of_the_periods():
    rng = np.random.default_rng(3)
    n_reps, n_periods = 12, 8
    period = np.repeat(np.arange(n_periods), n_reps)
    rep = np.tile(np.arange(n_reps), n_periods)
    x = rng.normal(size=period.size) + 3.0 * period  # a calendar in x ...
    y = 0.5 * x + rng.normal(size=period.size) - 2.0 * period  # ... and another one in y
    sx, sy, _ = relevance.within_scores(x, y, period, rep)
    rho = (sx * sy).sum() / math.sqrt((sx * sx).sum() * (sy * sy).sum())
    each = [sps.spearmanr(x[period == t], y[period == t]).statistic for t in range(n_periods)]
    assert rho == pytest.approx(np.mean(each), abs=1e-12)


def test_period_and_rep_scores_have_zero_means_per_period_and_per_rep_and_phase():
    rng = np.random.default_rng(4)
    period = np.repeat(np.arange(10), 6)
    rep = np.tile(np.arange(6), 10)
    x = rng.normal(size=60) + rep
    y = rng.normal(size=60)
    sx, _, _ = relevance.within_scores(x, y, period, rep, "period_and_rep", gap=4)
    frame = pd.DataFrame({"s": sx, "p": period, "r": rep, "phase": period % 4})
    assert frame.groupby("p")["s"].mean().abs().max() < 1e-9
    assert frame.groupby(["r", "phase"])["s"].mean().abs().max() < 1e-9


def _by_hand(counts: pd.DataFrame, metric: str, horizon: int) -> tuple[float, np.ndarray]:
    """rho and per-rep cross products from the pairs, with scipy's ranks (independent of the module)."""
    pairs = relevance.rep_period_metrics(counts, "week", horizon=horizon)
    sub = pairs.loc[pairs["metric"] == metric].copy()
    n = sub.groupby("as_of")["value"].transform("size")
    sub = sub.loc[n >= 3]
    n = n.loc[sub.index]
    for col in ("value", "result"):
        ranks = sub.groupby("as_of")[col].transform(lambda s: pd.Series(sps.rankdata(s), index=s.index))
        sub[col + "_s"] = (ranks - (n + 1) / 2) / n
    rho = (sub["value_s"] * sub["result_s"]).sum() / math.sqrt(
        (sub["value_s"] ** 2).sum() * (sub["result_s"] ** 2).sum())
    per_rep = (sub["value_s"] * sub["result_s"]).groupby(sub["rep_id"]).sum().to_numpy()
    return rho, per_rep


def test_relevance_rho_and_counts_match_a_hand_computation():
    counts = _weekly(seed=3)
    out = relevance.relevance(counts, "week", horizon=2, n_resamples=99).set_index("metric")
    for metric in ("dials", "connect_rate", "win_rate"):
        rho, per_rep = _by_hand(counts, metric, 2)
        assert out.loc[metric, "rho"] == pytest.approx(rho, abs=1e-12)
        assert out.loc[metric, "n_reps"] == len(per_rep)
    assert out.loc["dials", "n_obs"] == 30 * (20 - 2 - 2 + 1) and out.loc["dials", "n_periods"] == 17
    assert (out[["lookback", "horizon"]] == 2).all().all()


def test_the_p_value_is_the_sign_flip_test_over_reps():
    counts = _weekly(n_reps=10, n_weeks=12, seed=6)
    out = relevance.relevance(counts, "week", horizon=2, n_resamples=20000, seed=2).set_index("metric")
    for metric in ("dials", "emails", "conversation_to_appointment"):
        _, s = _by_hand(counts, metric, 2)
        flips = np.array(list(itertools.product([-1.0, 1.0], repeat=len(s))))  # all 1,024 sign vectors
        exact = np.mean(np.abs(flips @ s) >= abs(s.sum()) * (1 - 1e-9))
        assert out.loc[metric, "p_value"] == pytest.approx(exact, abs=0.01)


def test_adjusted_p_values_match_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 1.0])
    for method in ("holm", "fdr_bh"):
        np.testing.assert_allclose(relevance.adjust_p_values(p, method), multipletests(p, method=method)[1])
    # by hand, Holm: sorted 0.005, 0.01, 0.03, 0.04, 0.04 -> x7, x6, x5, x4, x3, then the running maximum
    np.testing.assert_allclose(relevance.adjust_p_values(p, "holm")[[3, 0, 2]], [0.035, 0.06, 0.15])
    with pytest.raises(ValueError, match="adjust"):
        relevance.adjust_p_values(p, "bonferroni")


def test_labels_read_the_adjusted_p_value_of_the_judged_metrics():
    out = relevance.relevance(_weekly(), "week", horizon=1, n_resamples=999, seed=1)
    assert out.columns.tolist() == list(relevance.RELEVANCE_COLUMNS)
    row = out.set_index("metric")
    judged = row["label"] != "insufficient_data"
    np.testing.assert_allclose(row.loc[judged, "p_adjusted"],
                               multipletests(row.loc[judged, "p_value"], method="holm")[1])
    assert row.loc["dials", "label"] == "predicts_results" and row.loc["dials", "rho"] > 0.3
    assert row.loc["emails", "label"] == "not_predictive"
    assert ((row["label"] == "predicts_results") == (row["p_adjusted"] <= 0.05)).all()
    # never varies: insufficient_data, no p-value, left out of the adjustment
    for constant in ("meetings", "business_cards", "other_activities"):
        assert row.loc[constant, "label"] == "insufficient_data" and np.isnan(row.loc[constant, "p_value"])
    assert out["rho"].dropna().is_monotonic_decreasing and out["rho"].isna().sum() == 3  # NaN last
    bh = relevance.relevance(_weekly(), "week", horizon=1, n_resamples=999, seed=1, adjust="fdr_bh")
    bh = bh.set_index("metric")
    np.testing.assert_allclose(bh.loc[judged, "p_adjusted"], multipletests(row.loc[judged, "p_value"], method="fdr_bh")[1])


def test_relevance_needs_enough_reps_to_judge():
    out = relevance.relevance(_weekly(n_reps=4, seed=2), "week", horizon=1, n_resamples=50)
    assert set(out["label"]) == {"insufficient_data"}
    assert out["p_adjusted"].isna().all()


def test_relevance_is_deterministic_for_a_seed():
    counts = _weekly(seed=4)
    a = relevance.relevance(counts, "week", horizon=2, n_resamples=200, seed=5)
    b = relevance.relevance(counts, "week", horizon=2, n_resamples=200, seed=5)
    c = relevance.relevance(counts, "week", horizon=2, n_resamples=200, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"].dropna(), c["ci_low"].dropna())


def test_relevance_refuses_bad_arguments():
    with pytest.raises(ValueError, match="month starts"):
        relevance.relevance(_weekly(n_reps=5, n_weeks=4), "month", horizon=1)
    with pytest.raises(ValueError, match="within"):
        relevance.relevance(_weekly(), "week", horizon=1, within="rep")
    with pytest.raises(ValueError, match="adjust"):
        relevance.relevance(_weekly(), "week", horizon=1, adjust="none")
    with pytest.raises(TypeError):
        relevance.relevance(_weekly(), "week")  # the horizon is the sales cycle: never guessed


def test_without_activities_only_the_opportunity_metrics():
    opp_only = _weekly(seed=5).drop(
        columns=["dials", "conversations", "connected_calls", "appointments", "emails", "meetings", "business_cards",
                 "other_activities", "prospect_appointments"]
    )
    out = relevance.relevance(opp_only, "week", horizon=2, n_resamples=50)
    assert sorted(out["metric"]) == ["avg_deal_size", "opportunities", "win_rate"]


# --- known truth --------------------------------------------------------------------------


def test_the_worlds_calendar_fools_a_pooled_next_week_correlation():
    """The world is hard on purpose: the old method (pooled rho with next week) calls every task predictive."""
    counts = relevance_world(0).counts
    nxt = counts[["rep_id", "period_start", "won_amount"]].assign(
        period_start=lambda f: f["period_start"] - pd.Timedelta(days=7))
    pairs = counts.drop(columns="won_amount").merge(nxt, on=["rep_id", "period_start"])
    for task in TASKS:  # rho from 0.1 (cards) to 0.5 (dials), each "significant" if rep-weeks were independent
        result = sps.spearmanr(pairs[task], pairs["won_amount"])
        assert result.statistic > 0.05 and result.pvalue < 0.01


@pytest.mark.slow
def test_known_truth_tasks_are_not_predictive_and_competencies_predict():
    seeds = range(30)
    labels = pd.DataFrame([
        relevance.relevance(relevance_world(s).counts, "week", horizon=CYCLE_WEEKS, n_resamples=999)
        .set_index("metric")["label"] for s in seeds
    ])
    hits = (labels == "predicts_results").mean()
    for metric in EFFECTIVE:  # power: at least 80% of the worlds
        assert hits[metric] >= 0.8, (metric, hits[metric])
    for metric in NULL_IN_EFFECT_WORLD:  # tasks and the competencies without effect
        assert hits[metric] <= 0.1, (metric, hits[metric])
    assert hits[list(TASKS)].max() <= 0.05


@pytest.mark.slow
def test_known_truth_within_reps_sees_the_drifting_competency_not_the_tasks():
    seeds = range(15)
    labels = pd.DataFrame([
        relevance.relevance(relevance_world(s).counts, "week", horizon=CYCLE_WEEKS, n_resamples=999,
                            within="period_and_rep").set_index("metric")["label"] for s in seeds
    ])
    hits = (labels == "predicts_results").mean()
    # conversation_to_appointment drifts within each rep and drives revenue a cycle later
    assert hits["conversation_to_appointment"] >= 0.8
    assert hits[list(TASKS)].max() <= 0.1


def _null_runs(within: str, n_worlds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """p-values and labels of every metric over null worlds (no effect, strong calendar)."""
    p_values, labels = [], []
    for seed in range(1000, 1000 + n_worlds):
        out = relevance.relevance(relevance_world(seed, effect=0.0).counts, "week", horizon=CYCLE_WEEKS,
                                  n_resamples=999, within=within, seed=seed).set_index("metric")
        p_values.append(out["p_value"])
        labels.append(out["label"])
    return pd.DataFrame(p_values), pd.DataFrame(labels) == "predicts_results"


@pytest.mark.slow
def test_calibration_over_200_null_worlds():
    """No metric has an effect, the calendar is strong: false labels stay rare, p-values uniform."""
    p, labelled = _null_runs("period", 200)
    assert p.notna().all().all()  # every metric judged in every world
    # the raw test holds its 5% level: pooled over metrics, and per metric (binomial sd 1.5%)
    assert 0.03 <= (p <= 0.05).to_numpy().mean() <= 0.07
    assert (p <= 0.05).mean().max() <= 0.10
    # labels use Holm: each null metric labelled in at most 6% of the worlds ...
    assert labelled.mean().max() <= 0.06
    # ... and any false predicts_results at all (family-wise) in about 5% at most (sd 1.5%)
    assert labelled.any(axis=1).mean() <= 0.08


@pytest.mark.slow
def test_calibration_within_reps_has_no_lagged_outcome_bias():
    """Demeaning per rep over overlapping windows made win_rate "significant" in 35% of null
    worlds (Nickell's bias); the phase-wise rep average keeps every metric near 5% (60 worlds)."""
    p, labelled = _null_runs("period_and_rep", 60)
    rejected = (p <= 0.05).mean()
    assert rejected[["win_rate", "avg_deal_size"]].max() <= 0.15
    assert (p <= 0.05).to_numpy().mean() <= 0.08
    assert labelled.mean().max() <= 0.07 and labelled.any(axis=1).mean() <= 0.12


# --- scatter plots and chart --------------------------------------------------------------


def test_metric_vs_result_uses_shrunk_rates_and_the_ranges_revenue():
    weekly = _weekly(n_reps=8, n_weeks=6, seed=7)
    counts = weekly.drop(columns="period_start").groupby(["rep_id", "team"], as_index=False).sum()
    points = relevance.metric_vs_result(counts)
    f = competency.funnel(counts)
    mine = points.loc[points["metric"] == "connect_rate"].set_index("rep_id")["value"]
    theirs = f.loc[f["metric"] == "connect_rate"].set_index("rep_id")["shrunk_rate"]
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), check_names=False)
    dials = points.loc[points["metric"] == "dials"].set_index("rep_id")
    assert dials["result"].to_dict() == counts.set_index("rep_id")["won_amount"].to_dict()
    assert set(points["kind"]) == {"task", "competency"}
    with pytest.raises(ValueError, match="without freq"):
        relevance.metric_vs_result(weekly)


def test_trend_is_the_least_squares_line_with_a_band():
    points = pd.DataFrame(
        {
            "metric": ["dials"] * 5 + ["flat"] * 3 + ["two"] * 2,
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 2.0, 2.0, 1.0, 2.0],
            "result": [2.1, 3.9, 6.2, 7.8, 10.1, 1.0, 2.0, 3.0, 1.0, 2.0],
        }
    )
    t = relevance.trend(points, n_grid=5)
    assert set(t["metric"]) == {"dials"}  # constant value and two points: no trend
    slope, intercept = np.polyfit(points["value"][:5], points["result"][:5], 1)
    assert t["slope"].iloc[0] == pytest.approx(slope)
    np.testing.assert_allclose(t["fit"], intercept + slope * np.linspace(1, 5, 5))
    assert (t["ci_low"] < t["fit"]).all() and (t["fit"] < t["ci_high"]).all()
    middle = t["ci_high"] - t["ci_low"]
    assert middle.iloc[2] < middle.iloc[0]  # narrowest at the mean of x


def test_relevance_and_scatter_charts_build():
    weekly = _weekly(n_reps=10, n_weeks=8, seed=8)
    rel = relevance.relevance(weekly, "week", horizon=2, n_resamples=50)
    spec = charts.relevance_chart(rel).to_dict()
    assert "Spearman" in spec["title"]["subtitle"][0] and "2 periods" in spec["title"]["subtitle"][0]
    assert set(spec["layer"][1]["encoding"]["color"]["scale"]["domain"]) == set(relevance.LABELS)
    counts = weekly.drop(columns="period_start").groupby(["rep_id", "team"], as_index=False).sum()
    points = relevance.metric_vs_result(counts)
    chart = charts.metric_vs_result_chart(points, relevance.trend(points), "conversation_to_appointment")
    spec = chart.to_dict()
    assert "appointments / conversations" in spec["title"]["subtitle"][0]
    with pytest.raises(ValueError, match="no metric"):
        charts.metric_vs_result_chart(points, relevance.trend(points), "calls")


def test_the_label_holds_at_an_adjusted_p_exactly_on_alpha():
    """``predicts_results`` when ``p_adjusted <= alpha``: a metric whose adjusted p equals alpha is
    labelled, and with alpha a hair lower it is not (the p-values themselves do not depend on alpha)."""
    counts = _weekly(seed=3)
    first = relevance.relevance(counts, "week", horizon=1, n_resamples=99).set_index("metric")
    p = float(first.loc["dials", "p_adjusted"])
    assert 0.0 < p < 1.0
    on = relevance.relevance(counts, "week", horizon=1, n_resamples=99, alpha=p).set_index("metric")
    below = relevance.relevance(counts, "week", horizon=1, n_resamples=99, alpha=p * (1 - 1e-9)).set_index("metric")
    assert on.loc["dials", "p_adjusted"] == below.loc["dials", "p_adjusted"] == p
    assert on.loc["dials", "label"] == "predicts_results"
    assert below.loc["dials", "label"] == "not_predictive"
