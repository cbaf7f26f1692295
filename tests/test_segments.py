"""Tests of salesx2lib.segments: scores by hand, each segment rule, monotonicity, history and transitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib import segments
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
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
    assert seg.loc["a", "reason"].startswith(f"attainment {4500 / WINDOW_QUOTA:.0%}, 3 of 3 months at quota, competencies above")
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


def test_the_committed_sample_shows_all_four_segments():
    """The issue's acceptance check: with the default settings every segment occurs on the sample."""
    sample = load_dataset(Path(__file__).resolve().parents[1] / "data" / "sample")
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
    alone = segments.segment(segments.rep_scores(ds, dates[1], S), S)
    pd.testing.assert_frame_equal(
        hist.loc[hist["as_of"] == dates[1]].sort_values("rep_id").reset_index(drop=True),
        alone.sort_values("rep_id").reset_index(drop=True),
        check_like=True,
    )
