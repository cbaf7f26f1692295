"""Tests of salesx2lib.gaps: the exact log decomposition of a rep's revenue gap, and its waterfall."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesx2lib import competency, gaps
from salesx2lib.charts import competency as charts
from salesx2lib.dataset import MissingTableError

FACTORS = list(gaps.FACTORS)

BENCH = [200.0, 0.2, 0.25, 0.5, 0.5, 1000.0]  # benchmark revenue 200*.2*.25*.5*.5*1000 = 2500
REP_A = [100.0, 0.2, 0.5, 0.5, 0.2, 1000.0]  # revenue 1000


def _factors(values: dict[str, list[float]], team: str = "T") -> pd.DataFrame:
    rows = [
        (rep, team, f, v, "observed" if v > 0 else "undefined")
        for rep, vals in values.items()
        for f, v in zip(FACTORS, vals, strict=True)
    ]
    return pd.DataFrame(rows, columns=["rep_id", "team", "factor", "rep_value", "status"])


def _bench(values: list[float], team: str = "T") -> pd.DataFrame:
    return pd.DataFrame({"team": team, "factor": FACTORS, "n_reps": 3, "benchmark_value": values})


@pytest.fixture(scope="module")
def hand() -> pd.DataFrame:
    return gaps.decompose(_factors({"a": REP_A, "b": BENCH, "c": [0.0, *BENCH[1:]]}), _bench(BENCH))


def test_decompose_by_hand(hand):
    a = hand.loc[hand["rep_id"] == "a"].set_index("factor")
    expected_terms = [math.log(0.5), 0.0, math.log(2.0), 0.0, math.log(0.4), 0.0]
    np.testing.assert_allclose(a.loc[FACTORS, "log_term"], expected_terms, atol=1e-12)
    assert a["log_gap"].iloc[0] == pytest.approx(math.log(1000 / 2500))
    assert a["revenue"].iloc[0] == pytest.approx(1000.0)
    assert a["benchmark_revenue"].iloc[0] == pytest.approx(2500.0)
    total = math.log(2) * 2 + math.log(2.5)
    assert a.loc["dials", "share"] == pytest.approx(-math.log(2) / total)  # -30.1%
    assert a.loc["conversation_to_appointment", "share"] == pytest.approx(math.log(2) / total)  # ahead: +30.1%
    assert a.loc["win_rate", "share"] == pytest.approx(-math.log(2.5) / total)  # -39.8%
    assert a["share"].abs().sum() == pytest.approx(1.0)


def test_a_rep_at_the_benchmark_has_no_gap_and_zero_shares(hand):
    b = hand.loc[hand["rep_id"] == "b"]
    assert b["decomposed"].all()
    assert (b["log_term"] == 0).all() and (b["share"] == 0).all() and (b["log_gap"] == 0).all()


def test_zero_dials_is_not_decomposed_explicitly(hand):
    c = hand.loc[hand["rep_id"] == "c"]
    assert not c["decomposed"].any()
    assert c["log_term"].isna().all() and c["share"].isna().all() and c["log_gap"].isna().all()
    assert c.set_index("factor").loc["dials", "status"] == "undefined"
    # the other reps are untouched by c
    assert hand.loc[hand["rep_id"] != "c", "log_term"].notna().all()


def test_largest_gaps(hand):
    top = gaps.largest_gaps(hand)
    assert top["rep_id"].tolist() == ["a", "b", "c"]  # most negative term first, not decomposed last
    a = top.iloc[0]
    assert a["factor"] == "win_rate"
    assert a["log_term"] == pytest.approx(math.log(0.4))  # win rate 0.2 against 0.5
    assert "revenue_uplift" not in top.columns  # the gap is described here, priced by coaching only
    b = top.iloc[1]
    assert pd.isna(b["factor"]) and b["log_term"] == 0.0 and b["share"] == 0.0 and b["decomposed"]
    assert not top.iloc[2]["decomposed"] and np.isnan(top.iloc[2]["log_term"])
    volume_only = gaps.largest_gaps(hand, factors=["dials"]).set_index("rep_id")
    assert volume_only.loc["a", "factor"] == "dials"
    assert volume_only.loc["a", "log_term"] == pytest.approx(math.log(0.5))
    with pytest.raises(ValueError, match="unknown factor"):
        gaps.largest_gaps(hand, factors=["calls"])


def test_competency_factors_leave_volume_out(hand):
    worse_volume = gaps.decompose(_factors({"v": [10.0, *BENCH[1:4], 0.45, 1000.0]}), _bench(BENCH))
    assert gaps.largest_gaps(worse_volume).iloc[0]["factor"] == "dials"
    assert gaps.largest_gaps(worse_volume, gaps.COMPETENCY_FACTORS).iloc[0]["factor"] == "win_rate"


positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(rep=st.lists(positive, min_size=6, max_size=6), bench=st.lists(positive, min_size=6, max_size=6))
def test_terms_sum_to_the_log_gap_for_any_positive_inputs(rep, bench):
    out = gaps.decompose(_factors({"x": rep}), _bench(bench))
    assert out["decomposed"].all()
    expected_gap = math.log(math.prod(rep) / math.prod(bench))
    assert out["log_term"].sum() == pytest.approx(expected_gap, abs=1e-9)
    assert out["log_gap"].iloc[0] == pytest.approx(expected_gap, abs=1e-9)
    assert math.log(out["revenue"].iloc[0] / out["benchmark_revenue"].iloc[0]) == pytest.approx(expected_gap, abs=1e-9)
    np.testing.assert_allclose(out["log_term"], np.log(rep) - np.log(bench), atol=1e-12)
    if (out["log_term"].abs() > 0).any():
        assert out["share"].abs().sum() == pytest.approx(1.0)
        assert (np.sign(out["share"]) == np.sign(out["log_term"])).all()


def test_waterfall_goes_from_the_benchmark_to_the_rep(hand):
    steps = gaps.waterfall(hand, "a")
    assert steps["label"].tolist() == ["benchmark", *FACTORS, "rep"]
    factors = steps.loc[steps["kind"] == "factor"]
    assert factors["start"].iloc[0] == pytest.approx(2500.0)
    assert factors["end"].iloc[-1] == pytest.approx(1000.0)
    assert steps["end"].iloc[-1] == pytest.approx(1000.0)
    np.testing.assert_allclose(factors["start"].to_numpy()[1:], factors["end"].to_numpy()[:-1])
    np.testing.assert_allclose(np.log(factors["end"] / factors["start"]), factors["log_term"], atol=1e-12)
    with pytest.raises(ValueError, match="undefined: dials"):
        gaps.waterfall(hand, "c")
    with pytest.raises(ValueError, match="unknown rep_id"):
        gaps.waterfall(hand, "zz")
    spec = charts.gap_waterfall_chart(steps, "Ann").to_dict()
    assert spec["title"]["text"].startswith("Ann: ")
    assert "win_rate" in spec["title"]["subtitle"][0]


# -- from counts --------------------------------------------------------------------------------


def _counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d", "e"],
            "team": ["T"] * 5,
            "dials": [400, 300, 200, 500, 0],
            "conversations": [100, 60, 0, 150, 0],  # c: no conversations
            "connected_calls": [70, 40, 0, 100, 0],
            "appointments": [40, 30, 0, 60, 0],
            "prospect_appointments": [36, 30, 0, 50, 0],
            "opportunities": [20, 12, 1, 30, 0],
            "won": [5, 3, 0, 9, 0],  # c: no won deal
            "lost": [10, 6, 1, 15, 0],
            "won_amount": [50_000.0, 24_000.0, 0.0, 99_000.0, 0.0],
            "lost_amount": [80_000.0, 50_000.0, 9_000.0, 120_000.0, 0.0],
        }
    )


def test_gap_decomposition_uses_the_shrunk_funnel_and_team_benchmarks():
    counts = _counts()
    out = gaps.gap_decomposition(counts)
    f = competency.funnel(counts)
    bench = competency.team_benchmarks(f)
    for metric in ("connect_rate", "win_rate"):
        mine = out.loc[out["factor"] == metric].set_index("rep_id")["rep_value"]
        theirs = f.loc[f["metric"] == metric].set_index("rep_id")["shrunk_rate"]
        pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), check_names=False)
        assert out.loc[out["factor"] == metric, "benchmark_value"].iloc[0] == pytest.approx(
            bench.loc[bench["metric"] == metric, "median"].iloc[0]
        )
    # the dials benchmark is the median over reps with dials: 200, 300, 400, 500
    assert out.loc[out["factor"] == "dials", "benchmark_value"].iloc[0] == 350.0
    d = competency.deal_size(counts).set_index("rep_id")
    deal = out.loc[out["factor"] == "avg_deal_size"].set_index("rep_id")
    assert deal.loc["c", "rep_value"] == pytest.approx(d.loc["c", "shrunk_avg_deal_size"])


def test_zero_counts_are_handled_explicitly():
    out = gaps.gap_decomposition(_counts())
    c = out.loc[out["rep_id"] == "c"].set_index("factor")
    assert c["decomposed"].all()  # zero conversations and zero wins: factors rest on the team prior
    assert c.loc["conversation_to_appointment", "status"] == "prior_only"
    assert c.loc["avg_deal_size", "status"] == "prior_only"
    assert c.loc["dials", "status"] == "observed"
    assert (c["rep_value"] > 0).all() and c["log_term"].notna().all()
    e = out.loc[out["rep_id"] == "e"]
    assert not e["decomposed"].any() and e["log_term"].isna().all()
    assert out.loc[out["decomposed"], "log_term"].notna().all()
    sums = out.loc[out["decomposed"]].groupby("rep_id").agg(total=("log_term", "sum"), gap=("log_gap", "first"))
    np.testing.assert_allclose(sums["total"], sums["gap"], atol=1e-12)


def test_top_quartile_benchmark_is_higher():
    median = gaps.gap_decomposition(_counts(), "median")
    top = gaps.gap_decomposition(_counts(), "top_quartile")
    assert (top["benchmark_value"] >= median["benchmark_value"]).all()
    assert top["benchmark_revenue"].max() > median["benchmark_revenue"].max()
    with pytest.raises(ValueError, match="benchmark"):
        gaps.gap_decomposition(_counts(), "mean")


def test_gaps_need_the_activity_counts():
    opp_only = _counts().drop(columns=["dials", "conversations", "appointments"])
    with pytest.raises(MissingTableError, match="activities table"):
        gaps.gap_decomposition(opp_only)


def test_gaps_are_over_one_range():
    with pytest.raises(ValueError, match="one range"):
        gaps.gap_decomposition(_counts().assign(period_start=pd.Timestamp("2026-01-05")))


def test_top_competency_gaps_ranks_by_the_largest_gap_and_says_it_in_words():
    counts = _counts()
    decomposition = gaps.gap_decomposition(counts)
    reps = pd.DataFrame({"rep_id": list("abcde"), "rep_name": ["Ann", "Bob", "Cy", "Dee", "Eve"]})
    top = gaps.top_competency_gaps(decomposition, reps, n=2)
    # Plain pandas, not the library's helper: each rep's most negative competency term (dials left
    # out), then the two reps whose worst term is the most negative.
    competencies = ["connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate", "avg_deal_size"]
    behind = decomposition.loc[decomposition["factor"].isin(competencies) & (decomposition["log_term"] < 0)]
    worst = behind.groupby("rep_id")["log_term"].min()
    assert top["rep_id"].tolist() == worst.nsmallest(2).index.tolist()
    assert top["log_term"].is_monotonic_increasing and (top["log_term"] < 0).all()
    assert "dials" not in set(top["factor"])  # volume is not a competency
    first = top.iloc[0]
    assert first["sentence"].startswith(f"{first['rep_name']} ({first['rep_id']}): ")
    assert f"{abs(first['share']):.0%} of what separates" in first["sentence"]
    row = decomposition.set_index(["rep_id", "factor"]).loc[(first["rep_id"], first["factor"])]
    assert first["rep_value"] == row["rep_value"] and first["benchmark_value"] == row["benchmark_value"]
