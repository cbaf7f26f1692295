"""Tests of salesx2lib.segments: scores by hand, each segment rule, monotonicity, the confidence on
attainment, the hysteresis state machine by hand, history, transitions and reversals, and the
known-truth worlds of tests/worlds/segments.py (stable and drifting reps)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from worlds.segments import dataset_world, evaluation_world

from salesx2lib import periods, segments
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
from salesx2lib.problems import DataError
from salesx2lib.settings import load_settings

S = load_settings()
AS_OF = "2026-03-29"  # a Sunday: window [2025-12-29, 2026-03-30), 13 weeks
# Monthly quota 1000: the window holds 3 days of December, January, February, 29 days of March
WINDOW_QUOTA = 1000 * (3 / 31 + 1 + 1 + 29 / 31)
MARCH_QUOTA = 1000 * 29 / 31


def _opps() -> pd.DataFrame:
    rows = []

    def deal(rep: str, closed: str, amount: float, status: str = "won") -> None:
        rows.append((f"o{len(rows)}", rep, pd.Timestamp(closed) - pd.Timedelta(days=5), amount, status, closed))

    for day in ("2026-01-15", "2026-02-15", "2026-03-15"):
        deal("a", day, 1500.0)  # at quota every month
    deal("b", "2026-01-15", 500.0)
    for _ in range(5):
        deal("b", "2026-02-10", 100.0, "lost")
    deal("c", "2026-03-10", 100.0, "lost")  # the new hire
    for day, amount in (("2026-01-15", 1000.0), ("2026-02-15", 600.0), ("2026-03-15", 1000.0)):
        deal("d", day, amount)
    deal("d", "2026-02-20", 100.0, "lost")
    for k in range(13):  # e: 100, 200, ... 1300 won in the window's successive weeks
        deal("e", str((pd.Timestamp("2025-12-30") + pd.Timedelta(weeks=k)).date()), 100.0 * (k + 1))
    o = pd.DataFrame(rows, columns=["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"])
    return o.assign(
        created_at=o["created_at"].astype("datetime64[us]"),
        closed_at=pd.to_datetime(o["closed_at"]).astype("datetime64[us]"),
        stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost"}),
        expected_close_date=pd.to_datetime(o["closed_at"]).astype("datetime64[us]"),
    ).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str"})


def _dataset(with_quotas: bool = True) -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d", "e", "f"],
            "rep_name": ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"],
            "team": "T",
            "manager": "M",
            "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2026-02-01", None, "2020-01-01", "2026-06-01"]),
        }
    ).astype({"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": "datetime64[us]"})
    months = pd.date_range("2025-12-01", "2026-03-01", freq="MS", unit="us")
    quotas = pd.DataFrame(
        [(r, m, m + pd.offsets.MonthEnd(0), 1000.0) for r in "abcde" for m in months if not (r == "c" and m.month != 3)],
        columns=["rep_id", "period_start", "period_end", "quota"],
    ).astype({"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"})
    tables = {"reps": reps, "opportunities": _opps()}
    if with_quotas:
        tables["quotas"] = quotas
    return Dataset(tables=tables, activities=None, as_of=pd.Timestamp("2026-03-29 18:00"))


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return segments.rep_scores(_dataset(), AS_OF).set_index("rep_id")


def test_window_and_reps(scores):
    assert (scores["window_start"] == pd.Timestamp("2025-12-29")).all()
    assert (scores["window_end"] == pd.Timestamp("2026-03-30")).all()
    assert "f" not in scores.index  # hired after the as-of date
    assert (scores.loc[["a", "b", "d", "e"], "months"] == 3).all()  # the 3 December days are not a month
    assert scores.loc["c", "months"] == 1  # months without quota are not counted


def test_attainment_and_consistency_by_hand(scores):
    a = scores.loc["a"]
    assert a["won_revenue"] == 4500.0
    assert a["quota"] == pytest.approx(WINDOW_QUOTA)
    assert a["attainment"] == pytest.approx(4500 / WINDOW_QUOTA)
    assert a["months_at_quota"] == 3 and a["months_at_quota_share"] == 1.0
    monthly = np.array([1.5, 1.5, 1500 / MARCH_QUOTA])
    assert a["attainment_cv"] == pytest.approx(monthly.std() / monthly.mean())
    d = scores.loc["d"]
    assert d["attainment"] == pytest.approx(2600 / WINDOW_QUOTA)  # 86%
    assert d["months_at_quota"] == 2  # January 1.0 counts, February 0.6 does not, March 1.07 does
    assert np.isnan(d["tenure_days"])  # no hire date
    assert scores.loc["c", "tenure_days"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2026-02-01")).days
    assert scores.loc["c", "quota"] == pytest.approx(MARCH_QUOTA)  # quota only from March


def test_trend_is_the_ols_slope_of_weekly_won_revenue(scores):
    e = scores.loc["e"]
    assert e["trend_slope"] == pytest.approx(100.0)  # +100 a week, exactly linear: zero-width interval
    assert e["trend_ci_low"] == pytest.approx(100.0) and e["trend_ci_high"] == pytest.approx(100.0)
    weekly = np.zeros(13)
    weekly[[2, 6, 10]] = 1500.0  # a's wins: weeks 2, 6 and 10 (15 Jan, 15 Feb, 15 Mar): slope 0
    assert scores.loc["a", "trend_slope"] == pytest.approx(np.polyfit(np.arange(13), weekly, 1)[0])
    assert scores.loc["a", "trend_ci_low"] < scores.loc["a", "trend_slope"] < scores.loc["a", "trend_ci_high"]


def test_competency_percentile_is_the_mid_rank_in_the_team(scores):
    # win rate only (no activities), shrunk: e 13/13 > a 3/3 > d 3/4 > c 0/1 > b 1/6; 100 (rank - 0.5) / 5
    pct = scores["competency_percentile"]
    assert pct.to_dict() == pytest.approx({"e": 90.0, "a": 70.0, "d": 50.0, "c": 30.0, "b": 10.0})
    assert (scores["n_competencies"] == 1).all()


def test_segments_of_the_fixture(scores):
    seg = segments.segment(scores.reset_index(), S).set_index("rep_id")
    assert seg.loc["a", "segment"] == "self_sustained"
    assert seg.loc["a", "open_criteria"] == ""
    assert seg.loc["b", "segment"] == "hands_on"
    assert seg.loc["c", "segment"] == "ramping"
    assert seg.loc["d", "segment"] == "developing"
    assert "2 of 3 months at quota" in seg.loc["d", "reason"]
    assert "attainment at least 100%" in seg.loc["d", "open_criteria"]
    assert seg.loc["a", "reason"].startswith(f"attainment {4500 / WINDOW_QUOTA:.0%} (95% interval ")
    assert ", 3 won deals), 3 of 3 months at quota, competencies above" in seg.loc["a", "reason"]
    assert seg["management_style"].str.len().gt(0).all()


def _row(**kw) -> pd.DataFrame:
    base = dict(attainment=1.2, months=3, months_at_quota=3, months_at_quota_share=1.0, competency_percentile=70.0,
                trend_slope=0.0, trend_ci_low=-10.0, tenure_days=1000.0)
    return pd.DataFrame([base | kw])


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, "self_sustained"),
        ({"tenure_days": 119.0}, "ramping"),  # tenure first, whatever the results
        ({"tenure_days": 120.0}, "self_sustained"),
        ({"tenure_days": np.nan}, "self_sustained"),  # unknown tenure is not ramping
        ({"attainment": 0.99}, "developing"),
        ({"months_at_quota": 1, "months_at_quota_share": 1 / 3}, "developing"),
        ({"months_at_quota": 2, "months_at_quota_share": 2 / 3}, "self_sustained"),
        ({"competency_percentile": 49.0}, "developing"),
        ({"competency_percentile": np.nan}, "developing"),
        ({"attainment": 0.8}, "developing"),
        ({"attainment": 0.79}, "hands_on"),
        ({"attainment": 0.6, "trend_slope": 50.0, "trend_ci_low": 5.0}, "developing"),  # rising
        ({"attainment": 0.59, "trend_slope": 50.0, "trend_ci_low": 5.0}, "hands_on"),
        ({"attainment": 0.7, "trend_slope": 50.0, "trend_ci_low": -5.0}, "hands_on"),  # interval includes 0
        ({"attainment": np.nan}, "developing"),  # no quota: not judged on attainment
    ],
)
def test_each_rule(kw, expected):
    assert segments.segment(_row(**kw), S)["segment"].iloc[0] == expected


finite = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    a1=finite,
    a2=finite,
    share=st.sampled_from([0.0, 1 / 3, 2 / 3, 1.0, np.nan]),
    pct=st.one_of(st.floats(min_value=0.0, max_value=100.0), st.just(np.nan)),
    ci_low=st.floats(min_value=-100.0, max_value=100.0),
    tenure=st.one_of(st.floats(min_value=0.0, max_value=2000.0), st.just(np.nan)),
)
def test_raising_attainment_never_lowers_the_segment(a1, a2, share, pct, ci_low, tenure):
    lo, hi = sorted([a1, a2])
    common = dict(months_at_quota_share=share, competency_percentile=pct, trend_ci_low=ci_low,
                  trend_slope=ci_low + 1.0, tenure_days=tenure)
    before = segments.segment(_row(attainment=lo, **common), S)["segment"].iloc[0]
    after = segments.segment(_row(attainment=hi, **common), S)["segment"].iloc[0]
    assert (before == "ramping") == (after == "ramping")
    assert segments.SEGMENT_RANK[after] >= segments.SEGMENT_RANK[before]


def test_every_rep_gets_exactly_one_known_segment(scores):
    seg = segments.segment(scores.reset_index(), S)
    assert seg["segment"].isin(segments.SEGMENTS).all() and seg["rep_id"].is_unique


def test_needs_quotas():
    with pytest.raises(MissingTableError, match="quotas"):
        segments.rep_scores(_dataset(with_quotas=False))
    with pytest.raises(MissingTableError, match="quotas"):
        segments.segment_history(_dataset(with_quotas=False))


def test_history_and_transitions():
    hist = segments.segment_history(_dataset(), S)
    # first month end whose window starts after the first quota (1 Dec + 13 weeks), then the as-of date
    assert sorted(hist["as_of"].unique()) == [pd.Timestamp("2026-03-29")]
    h = pd.DataFrame(
        {
            "rep_id": ["x", "x", "x", "y", "y", "z", "z"],
            "rep_name": "n",
            "team": "T",
            "as_of": pd.to_datetime(["2026-01-31", "2026-02-28", "2026-03-31"] * 2 + ["2026-03-31"]),
            "segment": ["hands_on", "developing", "developing", "ramping", "hands_on", "self_sustained", "developing"],
            "reason": "r",
        }
    )
    h.loc[6, "as_of"] = pd.Timestamp("2026-04-30")
    h.loc[5, "as_of"] = pd.Timestamp("2026-03-31")
    t = segments.transitions(h)
    assert list(zip(t["rep_id"], t["from_segment"], t["to_segment"], t["direction"], strict=True)) == [
        ("x", "hands_on", "developing", "up"),
        ("y", "ramping", "hands_on", "graduated"),
        ("z", "self_sustained", "developing", "down"),
    ]
    assert t.loc[0, "previous_as_of"] == pd.Timestamp("2026-01-31")


def test_a_rep_without_won_revenue_has_a_flat_trend(scores):
    c = scores.loc["c"]
    assert (c["trend_slope"], c["trend_ci_low"], c["trend_ci_high"]) == (0.0, 0.0, 0.0)
    assert np.isnan(c["attainment_cv"])  # mean monthly attainment 0: no coefficient of variation


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(Path(__file__).resolve().parents[1] / "data" / "sample")


@pytest.mark.slow
def test_the_committed_sample_shows_all_four_segments(sample):
    """The issue's acceptance check: with the default settings every segment occurs on the sample."""
    seg = segments.segment(segments.rep_scores(sample), S).set_index("rep_id")
    assert set(seg["segment"]) == set(segments.SEGMENTS)
    assert (seg.loc[["R028", "R029", "R030"], "segment"] == "ramping").all()  # the new hires


def test_thresholds_come_from_the_settings_file(tmp_path, scores):
    path = tmp_path / "settings.toml"
    path.write_text("[segments]\nramping_days = 30\ndeveloping_attainment = 0.9\n", encoding="utf-8")
    custom = load_settings(path)
    assert custom.segments_ramping_days == 30 and custom.segments_developing_attainment == 0.9
    seg = segments.segment(scores.reset_index(), custom).set_index("rep_id")
    assert seg.loc["c", "segment"] == "hands_on"  # 56 days is past a 30-day ramp
    assert seg.loc["d", "segment"] == "hands_on"  # 86% is under 90%


def test_history_at_given_dates_scores_each_date_like_rep_scores():
    ds = _dataset()
    dates = [pd.Timestamp("2026-03-16"), pd.Timestamp("2026-03-23")]
    hist = segments.segment_history(ds, S, dates=dates)
    assert sorted(hist["as_of"].unique()) == dates
    alone = segments.segment(segments.rep_scores(ds, dates[1], S), S).sort_values("rep_id").reset_index(drop=True)
    last = hist.loc[hist["as_of"] == dates[1]].sort_values("rep_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(last[list(segments._SCORE_COLUMNS)], alone[list(segments._SCORE_COLUMNS)])
    assert last["rule_segment"].tolist() == alone["segment"].tolist()
    assert all(h.endswith(a) for h, a in zip(last["reason"], alone["reason"], strict=True))


# --- confidence on attainment --------------------------------------------------------------


def test_confidence_with_equal_amounts_is_the_erlang_posterior():
    # n deals of amount a: mu = a * Gamma(n, 1), so P(mu >= q) = P(Poisson(q / a) <= n - 1), and the
    # interval is a * chi2(2n) / 2 quantiles (independent references)
    n, a, q = 7, 1500.0, 12_000.0
    low, high, p = segments.attainment_confidence([a] * n, q)
    assert p == pytest.approx(sps.poisson.cdf(n - 1, q / a))
    assert low == pytest.approx(a * sps.chi2.ppf(0.025, 2 * n) / 2 / q)
    assert high == pytest.approx(a * sps.chi2.ppf(0.975, 2 * n) / 2 / q)


def test_confidence_matches_the_bayesian_bootstrap_of_the_deals():
    # reference: Monte Carlo of sum_i E_i a_i, E_i ~ Exp(1) (the model the Gamma approximates)
    amounts = np.array([500.0, 900.0, 1200.0, 2500.0, 4000.0, 800.0, 1500.0, 3000.0, 650.0, 2000.0])
    quota = 15_000.0
    draws = np.random.default_rng(3).exponential(size=(200_000, len(amounts))) @ amounts
    low, high, p = segments.attainment_confidence(amounts, quota)
    assert p == pytest.approx((draws >= quota).mean(), abs=0.02)
    assert low == pytest.approx(np.quantile(draws, 0.025) / quota, rel=0.08)
    assert high == pytest.approx(np.quantile(draws, 0.975) / quota, rel=0.03)


def test_confidence_needs_a_won_deal_and_a_quota():
    assert all(np.isnan(segments.attainment_confidence([], 1000.0)))
    assert all(np.isnan(segments.attainment_confidence([0.0], 1000.0)))  # a zero-amount deal says nothing
    assert all(np.isnan(segments.attainment_confidence([500.0], 0.0)))
    assert all(np.isnan(segments.attainment_confidence([500.0], np.nan)))


def test_confidence_interval_covers_the_true_attainment():
    """Known truth: deals Poisson with mean 20 * L a quarter, amounts lognormal with mean 1, quota 20.

    The true attainment is L. Over 1,500 simulated quarters per level the 95% interval covers
    L in at least 90% of them (measured: 0.93; the Bayesian bootstrap is a little narrow with
    few deals), and at L = 1 exactly, P(at quota) averages about one half.
    """
    rng = np.random.default_rng(11)
    for level in (0.7, 1.0, 1.3):
        covered, probs = [], []
        for _ in range(1500):
            amounts = rng.lognormal(-0.18, 0.6, rng.poisson(20 * level))
            low, high, p = segments.attainment_confidence(amounts, 20.0)
            covered.append(low <= level <= high)
            probs.append(p)
        assert np.mean(covered) >= 0.90, level
        if level == 1.0:
            assert 0.40 <= np.nanmean(probs) <= 0.58
        elif level == 0.7:
            assert np.nanmean(probs) < 0.2  # measured 0.16
        else:
            assert np.nanmean(probs) > 0.68  # measured 0.74


def test_scores_carry_the_won_deals_and_the_confidence(scores):
    a = scores.loc["a"]  # three deals of 1500
    assert a["won_deals"] == 3
    assert a["p_at_quota"] == pytest.approx(sps.poisson.cdf(2, WINDOW_QUOTA / 1500))
    assert scores.loc["b", "won_deals"] == 1 and scores.loc["c", "won_deals"] == 0
    assert np.isnan(scores.loc["c", "p_at_quota"])  # no won deal: no measure of the spread
    seg = segments.segment(scores.reset_index(), S).set_index("rep_id")
    assert f"P(at quota) {a['p_at_quota']:.2f}, 3 won deals" in seg.loc["a", "reason"]
    assert "0 won deals: too few to judge how sure" in seg.loc["c", "reason"]


# --- the state machine, by hand ------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "hold", "expected"),
    [
        ([1, 2, 1, 2, 2], [1, 2, 1, 2, 2], [1, 1, 1, 1, 2]),  # entering takes two in a row
        ([1, 3, 3], [1, 3, 3], [1, 1, 3]),  # two levels at once when both evaluations agree
        ([1, 3, 2], [1, 3, 2], [1, 1, 2]),  # ... only as far as both agree
        ([1, 2, 3, 3], [1, 2, 3, 3], [1, 1, 2, 3]),  # developing confirmed, then self_sustained
        ([3, 2, 2, 2], [3, 3, 3, 3], [3, 3, 3, 3]),  # the rules say developing, but above the exit line
        ([3, 2, 2], [3, 2, 3], [3, 3, 3]),  # one evaluation below the exit line is not enough
        ([3, 2, 2], [3, 2, 2], [3, 3, 2]),  # two below: leaves
        ([3, 3, 2, 1, 1], [3, 3, 2, 1, 1], [3, 3, 3, 2, 1]),  # down one level, then the next
        ([3, 1, 1], [3, 1, 1], [3, 3, 1]),  # below both exit lines twice: straight to hands_on
        ([2, 1, 1, 1], [2, 2, 1, 1], [2, 2, 2, 1]),
        ([0, 0, 3, 1, 1], [0, 0, 3, 1, 1], [0, 0, 3, 3, 1]),  # ramping, then the rules' verdict first
        ([2, 0, 1], [2, 0, 1], [2, 0, 1]),  # tenure decides ramping at once; after it: the verdict
        ([1, 2, 0, 2, 3], [1, 2, 0, 2, 3], [1, 1, 0, 2, 2]),  # ramping breaks a run
    ],
)
def test_hysteresis_path_by_hand(entry, hold, expected):
    assert segments.hysteresis_path(entry, hold, enter=2, exit=2) == expected


def test_hysteresis_path_counts():
    # enter 1, exit 1: the rules alone (the hold levels here are the rules')
    assert segments.hysteresis_path([1, 2, 1, 3], [1, 2, 1, 3], enter=1, exit=1) == [1, 2, 1, 3]
    assert segments.hysteresis_path([3, 2, 2], [3, 2, 2], enter=1, exit=1) == [3, 2, 2]
    # enter 3, exit 3
    assert segments.hysteresis_path([1, 2, 2, 2], [1, 2, 2, 2], enter=3, exit=3) == [1, 1, 1, 2]
    assert segments.hysteresis_path([3, 1, 1, 1], [3, 1, 1, 1], enter=3, exit=3) == [3, 3, 3, 1]
    # the counts differ: each direction uses its own
    assert segments.hysteresis_path([1, 2, 2], [1, 2, 2], enter=3, exit=2) == [1, 1, 1]
    assert segments.hysteresis_path([3, 2, 2], [3, 2, 2], enter=3, exit=2) == [3, 3, 2]
    assert segments.hysteresis_path([1, 2, 2], [1, 2, 2], enter=2, exit=3) == [1, 1, 2]
    assert segments.hysteresis_path([3, 2, 2], [3, 2, 2], enter=2, exit=3) == [3, 3, 3]
    assert segments.hysteresis_path([3, 2, 2, 2], [3, 2, 2, 2], enter=2, exit=3) == [3, 3, 3, 2]
    # the defaults (enter 3, exit 2, as the settings): only as far as all three agree to enter;
    # two below the exit line to leave
    assert segments.hysteresis_path([1, 3, 3, 2], [1, 3, 3, 2]) == [1, 1, 1, 2]
    assert segments.hysteresis_path([1, 3, 3, 3], [1, 3, 3, 3]) == [1, 1, 1, 3]
    assert segments.hysteresis_path([3, 2, 2, 3, 3, 3], [3, 2, 2, 3, 3, 3]) == [3, 3, 2, 2, 2, 3]
    assert segments.hysteresis_path([3, 1, 1, 1], [3, 1, 1, 1]) == [3, 3, 1, 1]
    assert segments.hysteresis_path([3, 1, 2], [3, 1, 2]) == [3, 3, 2]  # below both lines, then only one
    with pytest.raises(ValueError, match="enter_evaluations must be at least 1"):
        segments.hysteresis_path([1], [1], enter=0, exit=2)
    with pytest.raises(ValueError, match="exit_evaluations must be at least 1"):
        segments.hysteresis_path([1], [1], enter=3, exit=0)
    with pytest.raises(ValueError, match="one level per evaluation"):
        segments.hysteresis_path([1, 2], [1], enter=2, exit=2)


def _evaluations(attainments: list[float], enter: int | None = None, exit: int | None = None) -> pd.DataFrame:
    """One rep's evaluations at successive month ends, scored by hand (percentile 70, 3 of 3 months
    at quota when attainment >= 1, else 1 of 3), then ruled by ``segments.segment``; the hysteresis
    with ``enter_evaluations = enter`` and ``exit_evaluations = exit`` (the default settings when
    ``None``)."""
    n = len(attainments)
    at_quota = [3 if a >= 1 else 1 for a in attainments]
    rows = pd.DataFrame(
        {
            "rep_id": "r", "rep_name": "R", "team": "T",
            "as_of": pd.date_range("2026-01-31", periods=n, freq="ME", unit="us"),
            "attainment": attainments, "months": 3, "months_at_quota": at_quota,
            "months_at_quota_share": [m / 3 for m in at_quota], "competency_percentile": 70.0,
            "trend_slope": 0.0, "trend_ci_low": -1.0, "tenure_days": 1000.0,
        }
    )
    s = replace(S, segments_enter_evaluations=_enter(enter), segments_exit_evaluations=_exit(exit))
    return segments.hysteresis(segments.segment(rows, S), s)


def _enter(enter: int | None) -> int:
    return S.segments_enter_evaluations if enter is None else enter


def _exit(exit: int | None) -> int:
    return S.segments_exit_evaluations if exit is None else exit


def _path(attainments: list[float], enter: int | None = None, exit: int | None = None) -> list[str]:
    return _evaluations(attainments, enter, exit)["segment"].tolist()


SS, DEV, HO = "self_sustained", "developing", "hands_on"
EXIT_SS, EXIT_DEV = S.segments_self_sustained_exit_attainment, S.segments_developing_exit_attainment
EPS = 1e-9


def test_default_settings():
    assert (S.segments_enter_evaluations, S.segments_exit_evaluations) == (3, 2)
    assert EXIT_DEV < S.segments_developing_attainment < EXIT_SS < S.segments_self_sustained_attainment


def test_why_three_confirmations_month_end_windows_overlap():
    """The default's reason (settings.toml, docs section 3): consecutive month ends' 13-week windows
    share 8 or 9 weeks, so two evaluations are barely more than one look at the data; three span 21
    or 22 weeks, and the third window shares only 4 or 5 weeks with the first."""
    assert S.segments_window_weeks == 13
    ends = pd.date_range("2025-01-31", "2027-12-31", freq="ME")
    windows = [periods.trailing_range(d, weeks=S.segments_window_weeks) for d in ends]
    shared = {(a_end - b_start).days // 7 for (_, a_end), (b_start, _) in zip(windows, windows[1:])}
    span = {(c_end - a_start).days // 7 for (a_start, _), (_, c_end) in zip(windows, windows[2:])}
    first_third = {(a_end - c_start).days // 7 for (_, a_end), (c_start, _) in zip(windows, windows[2:])}
    assert shared == {8, 9} and span == {21, 22} and first_third == {4, 5}


# Boundaries: on, just below and just above each entry and exit line, with the default counts
# (enter 3, exit 2: None below) and with others (the mechanism at other settings). n - 1
# evaluations past the line, then the n-th on the boundary (n the count of that direction).
COUNTS = [(None, None), (2, 2), (1, 1), (2, 3)]


@pytest.mark.parametrize(("enter", "exit"), COUNTS)
@pytest.mark.parametrize(
    ("last", "expected"),
    [(1.0, SS), (1.0 - EPS, DEV), (1.0 + EPS, SS)],  # on, just below, just above the entry line
)
def test_entering_self_sustained_boundaries(enter, exit, last, expected):
    n = _enter(enter)
    assert _path([0.9] + [1.2] * (n - 1) + [last], enter, exit) == [DEV] * n + [expected]


@pytest.mark.parametrize(("enter", "exit"), COUNTS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [(EXIT_SS, SS), (EXIT_SS - EPS, DEV), (EXIT_SS + EPS, SS)],  # on the exit line holds; below leaves
)
def test_leaving_self_sustained_boundaries(enter, exit, value, expected):
    n = _exit(exit)
    assert _path([1.2] + [EXIT_SS - 0.05] * (n - 1) + [value], enter, exit) == [SS] * n + [expected]


@pytest.mark.parametrize(("enter", "exit"), COUNTS)
@pytest.mark.parametrize(
    ("last", "expected"),
    [(0.8, DEV), (0.8 - EPS, HO), (0.8 + EPS, DEV)],
)
def test_entering_developing_boundaries(enter, exit, last, expected):
    n = _enter(enter)
    assert _path([0.5] + [0.85] * (n - 1) + [last], enter, exit) == [HO] * n + [expected]


@pytest.mark.parametrize(("enter", "exit"), COUNTS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [(EXIT_DEV, DEV), (EXIT_DEV - EPS, HO), (EXIT_DEV + EPS, DEV)],
)
def test_leaving_developing_boundaries(enter, exit, value, expected):
    n = _exit(exit)
    assert _path([0.9] + [EXIT_DEV - 0.05] * (n - 1) + [value], enter, exit) == [DEV] * n + [expected]


def test_with_the_defaults_enter_after_three_leave_after_two():
    """Defaults: two month ends past an entry line leave the segment unchanged, the third enters;
    one month end under an exit line leaves it unchanged, the second leaves. A month end not past
    the line restarts the count."""
    assert _path([0.9, 1.2, 1.2]) == [DEV] * 3
    assert _path([0.9, 1.2, 1.2, 0.95, 1.2, 1.2]) == [DEV] * 6
    assert _path([0.9, 1.2, 1.2, 1.2]) == [DEV] * 3 + [SS]
    assert _path([0.5, 0.85, 0.85]) == [HO] * 3
    assert _path([0.5, 0.85, 0.85, 0.85]) == [HO] * 3 + [DEV]
    assert _path([1.2, 0.8]) == [SS] * 2
    assert _path([1.2, 0.8, 0.8]) == [SS] * 2 + [DEV]
    assert _path([1.2, 0.8, 0.9, 0.8]) == [SS] * 4  # 0.9 is above the 85% exit line: the count restarts
    assert _path([1.2, 0.8, 0.9, 0.8, 0.8]) == [SS] * 4 + [DEV]
    assert _path([1.2, 0.5, 0.5]) == [SS] * 2 + [HO]  # under both lines twice: straight to hands_on
    assert _path([0.9, 0.5]) == [DEV] * 2
    assert _path([0.9, 0.5, 0.5]) == [DEV] * 2 + [HO]


def test_hysteresis_columns_and_reasons():
    h = _evaluations([0.9, 1.2, 1.2, 0.8, 0.8, 0.5], enter=2, exit=2)
    assert h["rule_segment"].tolist() == [DEV, SS, SS, DEV, DEV, HO]
    assert h["segment"].tolist() == [DEV, DEV, SS, SS, DEV, DEV]
    assert h["segment_since"].tolist() == [pd.Timestamp("2026-01-31")] * 2 + [pd.Timestamp("2026-03-31")] * 2 + [
        pd.Timestamp("2026-05-31")] * 2
    assert h["pending_segment"].tolist() == ["", SS, "", DEV, "", HO]
    assert h["pending_evaluations"].tolist() == [0, 1, 0, 1, 0, 1]
    assert h["reason"].iloc[0].startswith("developing: first evaluation")
    assert h["reason"].iloc[1].startswith("stays developing: the self_sustained rule holds at 1 of the 2")
    assert h["reason"].iloc[2].startswith("entered self_sustained: its rule held at 2 evaluations in a row")
    assert h["reason"].iloc[3].startswith(f"stays self_sustained: attainment under its {EXIT_SS:.0%} exit line at 1 of")
    assert h["reason"].iloc[4].startswith(f"left self_sustained: attainment under its {EXIT_SS:.0%} exit line")
    assert "attainment 80%" in h["reason"].iloc[4]  # then the rules' own reason
    assert (h["management_style"] == h["segment"].map(segments.MANAGEMENT_STYLES)).all()


def test_hysteresis_reasons_with_the_default_counts():
    h = _evaluations([0.9, 1.2, 1.2, 1.2, 0.8, 0.8])
    assert h["segment"].tolist() == [DEV, DEV, DEV, SS, SS, DEV]
    assert h["pending_segment"].tolist() == ["", SS, SS, "", DEV, ""]
    assert h["pending_evaluations"].tolist() == [0, 1, 2, 0, 1, 0]
    assert h["reason"].iloc[2].startswith("stays developing: the self_sustained rule holds at 2 of the 3 evaluations")
    assert h["reason"].iloc[3].startswith("entered self_sustained: its rule held at 3 evaluations in a row")
    assert h["reason"].iloc[4].startswith(f"stays self_sustained: attainment under its {EXIT_SS:.0%} exit line at 1 "
                                          "of the 2 evaluations in a row needed to leave")
    assert h["reason"].iloc[5].startswith(f"left self_sustained: attainment under its {EXIT_SS:.0%} exit line at 2 "
                                          "evaluations in a row")
    one = _evaluations([0.9, 1.2, 0.5, 0.5], enter=1, exit=1)["reason"].tolist()
    assert one[1].startswith("entered self_sustained: its rule held at 1 evaluation in a row")
    assert one[2].startswith(f"left self_sustained: attainment under its {EXIT_SS:.0%} exit line at 1 evaluation in")


def test_held_above_the_rules_says_so():
    h = _evaluations([1.2, 1.2, 0.9])
    assert h["segment"].iloc[-1] == SS and h["rule_segment"].iloc[-1] == DEV
    assert h["reason"].iloc[-1].startswith(f"stays self_sustained: attainment is at or above its {EXIT_SS:.0%} exit line "
                                           "(the rules alone say developing); attainment 90%")


def test_bands_must_sit_below_the_entry_thresholds():
    bad = replace(S, segments_self_sustained_exit_attainment=1.1)
    with pytest.raises(ValueError, match="self_sustained_exit_attainment"):
        segments.hysteresis(segments.segment(_row(), S).assign(rep_id="r", as_of=pd.Timestamp("2026-01-31"),
                                                               reason="r"), bad)
    for key in ("enter_evaluations", "exit_evaluations"):
        with pytest.raises(ValueError, match=f"segments.{key} must be at least 1"):
            segments.hysteresis(segments.segment(_row(), S).assign(rep_id="r", as_of=pd.Timestamp("2026-01-31"),
                                                                   reason="r"), replace(S, **{f"segments_{key}": 0}))


def test_new_settings_come_from_the_file(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("[segments]\nenter_evaluations = 2\nexit_evaluations = 1\nself_sustained_exit_attainment = 0.7\n"
                    "developing_exit_attainment = 0.5\n", encoding="utf-8")
    custom = load_settings(path)
    assert (custom.segments_enter_evaluations, custom.segments_exit_evaluations,
            custom.segments_self_sustained_exit_attainment, custom.segments_developing_exit_attainment) == (2, 1, 0.7, 0.5)
    for text in ("enter_evaluations = 2.5", "exit_evaluations = 2.5", "confirm_evaluations = 2"):  # the last: renamed
        path.write_text(f"[segments]\n{text}\n", encoding="utf-8")
        with pytest.raises(DataError):
            load_settings(path)


def _slipping_dataset(edge_deal: str) -> Dataset:
    """One established rep, quota 1000 a month from December 2025: won 1500 on the 15th of each
    month December to April, then nothing but one won deal of 3000 closed at ``edge_deal``; as of
    5 August 2026. A month end's window is the 13 weeks up to the Monday after its last complete
    week (periods.trailing_range). By hand (quota prorated by days):

    - 31 March: [29 Dec, 30 Mar), 4500 / 1000 (3/31 + 2 + 29/31) = 1.48, self_sustained (first
      evaluation; alone in its team, percentile 50);
    - 30 April: [26 Jan, 27 Apr), 4500 / 1000 (6/31 + 2 + 26/30) = 1.47;
    - 31 May (a Sunday): [2 Mar, 1 Jun), 3000 / 1000 (30/31 + 2) = 1.01;
    - 30 June: [30 Mar, 29 Jun), 1500 / 1000 (2/31 + 2 + 28/30) = 0.50, under the 85% exit line once;
    - 31 July: [27 Apr, 27 Jul), 3000 / 1000 (4/30 + 2 + 26/31) = 1.01 if the edge deal closed
      before 27 July, else 0: under the line a second time (and under the 60% line twice).
    """
    reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"], "manager": ["M"],
                         "hire_date": pd.to_datetime(["2020-01-01"])}).astype(
        {"rep_id": "str", "rep_name": "str", "team": "str", "manager": "str", "hire_date": "datetime64[us]"})
    months = pd.date_range("2025-12-01", "2026-08-01", freq="MS", unit="us")
    quotas = pd.DataFrame({"rep_id": "a", "period_start": months, "period_end": months + pd.offsets.MonthEnd(0),
                           "quota": 1000.0}).astype({"rep_id": "str", "period_start": "datetime64[us]",
                                                     "period_end": "datetime64[us]"})
    closed = [pd.Timestamp(f"{m}-15") for m in ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04")]
    closed.append(pd.Timestamp(edge_deal))
    amounts = [1500.0] * 5 + [3000.0]
    closed_at = pd.Series(closed, dtype="datetime64[us]")
    opps = pd.DataFrame({
        "opportunity_id": [f"o{i}" for i in range(6)], "rep_id": "a", "created_at": closed_at - pd.Timedelta(days=5),
        "amount": amounts, "status": "won", "closed_at": closed_at, "stage": "Closed Won",
        "expected_close_date": closed_at,
    }).astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str"})
    return Dataset(tables={"reps": reps, "opportunities": opps, "quotas": quotas}, activities=None,
                   as_of=pd.Timestamp("2026-08-05"))


@pytest.mark.parametrize(
    ("edge_deal", "leaves"),
    [
        ("2026-07-25", False),  # before the last day of the 31 July window: one month end under the line
        ("2026-07-26 23:00", False),  # on it (Sunday 26 July): still one, stays self_sustained
        ("2026-07-27", True),  # after it (the window ends on Monday 27 July): two in a row, leaves
    ],
)
def test_self_sustained_leaves_after_exactly_two_month_ends_under_the_exit_line(edge_deal, leaves):
    history = segments.segment_history(_slipping_dataset(edge_deal), S)
    assert history["as_of"].dt.strftime("%m-%d").tolist() == ["03-31", "04-30", "05-31", "06-30", "07-31"]
    expected_att = [4500 / (1000 * (3 / 31 + 2 + 29 / 31)), 4500 / (1000 * (6 / 31 + 2 + 26 / 30)),
                    3000 / (1000 * (30 / 31 + 2)), 1500 / (1000 * (2 / 31 + 2 + 28 / 30)),
                    0.0 if leaves else 3000 / (1000 * (4 / 30 + 2 + 26 / 31))]
    assert history["attainment"].tolist() == pytest.approx(expected_att)
    assert history["segment"].tolist()[:4] == [SS] * 4  # 30 June: under the line once, stays
    assert history["reason"].iloc[3].startswith(
        f"stays self_sustained: attainment under its {EXIT_SS:.0%} exit line at 1 of the 2 evaluations")
    last = history.iloc[-1]
    if leaves:  # 0.5 then 0: under both lines twice
        assert last["segment"] == HO and last["management_style"] == segments.MANAGEMENT_STYLES[HO]
        assert last["reason"].startswith(f"left self_sustained: attainment under its {EXIT_SS:.0%} exit line at 2 "
                                         "evaluations in a row")
    else:
        assert last["segment"] == SS and last["pending_segment"] == ""


# --- transitions, reversals, stability ----------------------------------------------------------


def _history(paths: dict[str, str]) -> pd.DataFrame:
    """A history from letters (H, D, S, R) per rep at successive month ends."""
    names = {"H": HO, "D": DEV, "S": SS, "R": "ramping"}
    rows = [
        (rep, "n", "T", pd.Timestamp("2026-01-31") + pd.offsets.MonthEnd(i), names[c], "r")
        for rep, path in paths.items() for i, c in enumerate(path)
    ]
    return pd.DataFrame(rows, columns=["rep_id", "rep_name", "team", "as_of", "segment", "reason"])


def test_transitions_flag_reversals_and_how_long_the_segment_held():
    h = _history({"x": "DSDDSD", "y": "HHDDSS", "z": "RRH"})
    t = segments.transitions(h)
    x = t.loc[t["rep_id"] == "x"]
    # D->S (held D 1), S->D (back to D: reversal, held S 1), D->S (back to S: reversal, held D 2), S->D (reversal)
    assert x["to_segment"].tolist() == [SS, DEV, SS, DEV]
    assert x["reversal"].tolist() == [False, True, True, True]
    assert x["held_evaluations"].tolist() == [1, 1, 2, 1]
    y = t.loc[t["rep_id"] == "y"]
    assert y["reversal"].tolist() == [False, False] and y["held_evaluations"].tolist() == [2, 2]
    z = t.loc[t["rep_id"] == "z"]
    assert z["direction"].tolist() == ["graduated"] and z["held_evaluations"].tolist() == [2]


def test_stability_counts_by_hand():
    h = _history({"x": "DSDDSD", "y": "HHDDSS", "z": "RRH", "w": "SSSSSS"})
    st = segments.stability(h).iloc[0]
    assert st["pairs"] == 5 + 5 + 2 + 5 and st["transitions"] == 4 + 2 + 1
    assert st["share_changing"] == pytest.approx(7 / 17)
    assert (st["up"], st["down"], st["graduated"]) == (4, 2, 1)
    assert st["reversals"] == 3 and st["blip_reversals"] == 2  # x: S at one date only, then D at one date only
    assert st["reps_three_segments"] == 1  # y: hands_on, developing, self_sustained
    assert st["evaluations"] == 6 and st["reps"] == 4


# --- known truth: stable reps near a threshold, and a rep who drifts up ---------------------------


@pytest.fixture(scope="module")
def world():
    """200 independent floors of :func:`worlds.segments.evaluation_world` (20 won deals a quarter at
    quota, lognormal amounts with log-sd 0.6: a 13-week attainment is about +-27% noise), 16 month ends."""
    rows, truth = evaluation_world(range(200))
    history = segments.hysteresis(segments.segment(rows, S), S)
    by_rep = history.groupby("rep_id")
    return history.assign(
        moved=by_rep["segment"].shift().pipe(lambda p: p.notna() & (p != history["segment"])),
        rule_moved=by_rep["rule_segment"].shift().pipe(lambda p: p.notna() & (p != history["rule_segment"])),
        first=by_rep.cumcount() == 0,
    ), truth


@pytest.mark.slow
def test_stable_reps_rarely_change_segment(world):
    """Declared truth: a stable rep's attainment is constant (0.6 to 1.3, on and around each threshold),
    so every change of segment is noise. With the defaults (enter 3, exit 2), over 200 seeds: 8.0%
    of their rep-months change segment pooled (bound 9%; enter 3/exit 3: 6.3%, enter 2/exit 2:
    10.0%, enter 3/exit 1: 11.3%, enter 1/exit 1: 17.9%, the rules alone: 32.6%), 11.1% for the
    rep worst placed (bound 12.5%; S090, true attainment 0.9, between the developing and
    self_sustained lines; 2/2: 14.5%, 3/1: 14.9%, 1/1: 24.2%, rules alone 41.9%), and 24.6% of
    what the one-date rules alone do (bound 28%; 2/2: 31%, 1/1: 55%). S130 (true 1.3, clearly
    self_sustained) changes in 3.4% of its rep-months (bound 5%; 1/1: 7.5%, 3/1: 6.7%, rules alone
    25.2%) and is self_sustained at 89.5% of them (bound 86%; 3/1: 81%, rules alone 74%). So each
    bound fails if the hysteresis is removed or the counts go back to 1."""
    history, truth = world
    stable = history.loc[history["rep_name"].map(truth.kind).eq("stable") & ~history["first"]]
    assert stable["moved"].mean() <= 0.09
    assert stable.groupby("rep_name")["moved"].mean().max() <= 0.125
    assert stable["moved"].mean() <= 0.28 * stable["rule_moved"].mean()
    far = stable.loc[stable["rep_name"] == "S130"]  # clearly self_sustained
    assert far["moved"].mean() <= 0.05 and far["segment"].eq("self_sustained").mean() >= 0.86  # measured 0.034, 0.895


@pytest.mark.slow  # 200 simulated floors, like its sibling above: left out of make mutate
def test_drifting_rep_reaches_self_sustained(world):
    """Declared truth: DRIFT's attainment is 0.5, then rises linearly to 1.3 over 26 weeks (it passes
    1.0 at week 29) and stays there. This test guards the other side: the hysteresis must not be
    so slow that real improvement goes unrecognised. With the default enter_evaluations = 3 it
    arrives about a month later than with 2 (slower but surer: the price of the stable reps' 8.0%
    instead of 10.0%). Measured over 200 seeds: self_sustained a median 5 month ends after its true
    attainment passes 1.0 (enter 2: 4; enter 4: 6; enter 5: 7), within 9 month ends (36 weeks) in
    87% of seeds (enter 2: 93.5%, enter 4: 68%, enter 5: 53.5%), within 8 in 78%. Bounds: at least
    82% within 9, median at most 6, so an entry count of 4 or more fails. At the last month end at
    least 85% of seeds have it self_sustained (measured 88.5% with exit 2: a noisy month end can
    now move it down sooner; exit 3: 92%; enter 4: 77%). It is never self_sustained while its
    true attainment is still 0.5."""
    history, truth = world
    drift = history.loc[history["rep_name"] == "DRIFT"]
    crossed = int(np.argmax(truth.levels["DRIFT"] >= 1.0))
    first_ss = drift.loc[drift["segment"] == "self_sustained"].groupby("seed")["week"].min().reindex(range(200))
    evaluations_after = (first_ss - crossed) / 4
    assert (evaluations_after <= 9).mean() >= 0.82
    assert evaluations_after.median() <= 6
    assert drift.loc[drift["week"] == drift["week"].max(), "segment"].eq("self_sustained").mean() >= 0.85
    assert not drift.loc[drift["true_attainment"] <= 0.5, "segment"].eq("self_sustained").any()


@pytest.mark.slow
def test_segment_history_end_to_end_on_a_dataset_world():
    """The same truth written as a Dataset (deals, monthly quotas): segment_history runs the rules
    and the hysteresis at each month end. With seed 2: 12 month ends; DRIFT ends self_sustained; with
    the defaults (enter 3, exit 2) the stable reps change segment in 7.8% of their rep-months (6 of
    77, the same as with exit 3; bound 10%; enter 2/exit 2: 11.7%, 1/1: 18.2%) and the rules alone
    27 times, more than three times as often. S130 (true attainment 1.3) is never hands_on; its
    competencies are declared typical (the team's win rate), so its percentile wanders around the
    median and its rules say self_sustained at 4 of the 12 month ends, never 3 in a row: it stays
    developing (with enter 2 it became self_sustained in August)."""
    ds, truth = dataset_world(2)
    history = segments.segment_history(ds, S)
    assert history["as_of"].nunique() == 12 and history["as_of"].dt.is_month_end.all()
    last = history.loc[history["as_of"] == history["as_of"].max()].set_index("rep_id")
    assert last.loc["DRIFT", "segment"] == "self_sustained"
    s130 = history.loc[history["rep_id"] == "S130"]
    assert not s130["segment"].eq("hands_on").any() and s130["rule_segment"].eq("self_sustained").sum() == 4
    stable = history.loc[history["rep_id"].map(truth.kind).eq("stable")]
    st = segments.stability(stable).iloc[0]
    rules = segments.stability(stable.assign(segment=stable["rule_segment"])).iloc[0]
    assert st["share_changing"] <= 0.10 and rules["transitions"] > 3 * st["transitions"]
    assert st["blip_reversals"] == 0

    # current_segments: the state after the last month end on or before the date
    month_end = pd.Timestamp("2026-09-30")
    rows = history.loc[history["as_of"] == month_end].set_index("rep_id")
    for when in ("2026-09-30", "2026-10-30 23:00"):  # on the month end, and up to the next one
        cur = segments.current_segments(ds, when, S).set_index("rep_id")
        assert (cur["evaluated_as_of"] == month_end).all() and (cur["as_of"] == pd.Timestamp(when)).all()
        assert cur["segment"].to_dict() == rows["segment"].to_dict()
    before = segments.current_segments(ds, "2026-09-29", S)  # the day before: the August evaluation
    assert (before["evaluated_as_of"] == pd.Timestamp("2026-08-31")).all()
    reused = segments.current_segments(ds, "2026-09-29", S, history=history)  # later rows of the history ignored
    pd.testing.assert_frame_equal(reused, before)
    assert set(segments.segment(_row(), S).columns) <= set(before.columns)


def test_current_segments_adds_reps_hired_since_the_last_month_end():
    ds = _dataset()  # no month end has a full window yet: the as-of date is the one evaluation
    cur = segments.current_segments(ds, "2026-03-29", S).set_index("rep_id")
    assert set(cur.index) == {"a", "b", "c", "d", "e"}  # f is hired after the date
    assert cur.loc["c", "segment"] == "ramping" and cur.loc["a", "segment"] == "self_sustained"
    hired = replace(ds, tables={**ds.tables, "reps": ds.reps.assign(
        hire_date=ds.reps["hire_date"].where(ds.reps["rep_id"] != "f", pd.Timestamp("2026-03-20")))})
    cur = segments.current_segments(hired, "2026-03-29", S).set_index("rep_id")
    assert cur.loc["f", "segment"] == "ramping"


@pytest.mark.slow
def test_the_sample_segments_flip_far_less_with_hysteresis(sample):
    """On data/sample (8 month ends, March to October 2026): the one-date rules change 30% of
    rep-months (58 of 192) with 20 reversals and 13 reps through 3 segments; with the hysteresis
    (defaults: enter 3, exit 2) 19 of 192 (9.9%) change, within the issue's 10% (enter 3/exit 3:
    15, 7.8%; enter 2/exit 2: 23, 12.0%): 15 up, 4 down, 2 reversals (R027 developing ->
    self_sustained in August -> developing in October, at 82% then 68% attainment; R026
    self_sustained -> developing in June -> self_sustained in October), none a one-month blip, and
    one rep (R018, hands_on -> developing -> self_sustained) through 3 segments."""
    history = segments.segment_history(sample, S)
    assert history["as_of"].dt.is_month_end.all() and history["as_of"].nunique() == 8
    st = segments.stability(history).iloc[0]
    rules = segments.stability(history.assign(segment=history["rule_segment"])).iloc[0]
    assert (rules["transitions"], rules["reversals"], rules["blip_reversals"]) == (58, 20, 11)
    assert st["share_changing"] <= 0.10 and st["transitions"] <= 0.35 * rules["transitions"]
    assert st["reversals"] <= 2 and st["blip_reversals"] == 0 and st["reps_three_segments"] <= 2
    r027 = history.loc[history["rep_id"] == "R027"]  # a slipping rep is not backed off
    assert r027["segment"].iloc[-1] == "developing" and (r027["attainment"].iloc[-2:] < 0.85).all()
    path = history.loc[history["rep_id"] == "R005", "segment"]
    assert path.nunique() == 1  # R005: D/S/D/D/S/D/S/D under the rules alone


def test_metric_tables_use_the_hysteresis():
    from salesx2lib.metrics import metric_table

    ds = _dataset()
    table = metric_table(ds, "segment_history", as_of="2026-03-29")
    assert list(table.columns[:4]) == ["rep_id", "as_of", "segment", "reason"]
    history = segments.segment_history(ds, S, as_of="2026-03-29")
    assert table["segment"].tolist() == history["segment"].tolist()
    current = metric_table(ds, "segments", as_of="2026-03-29").set_index("rep_id")
    expected = segments.current_segments(ds, "2026-03-29", S).set_index("rep_id")
    assert current["segment"].to_dict() == expected["segment"].to_dict()
