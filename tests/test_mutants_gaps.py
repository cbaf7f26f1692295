"""Tests of salesx2lib.gaps written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function). Expected values are worked
out by hand in the comments. The survivors left (equivalent mutants) are listed in
docs/mutation.md.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from salesx2lib import gaps

FACTORS = list(gaps.FACTORS)
BENCH = [200.0, 0.2, 0.25, 0.5, 0.5, 1000.0]  # benchmark revenue 2500
# log terms: log .5, 0, log 2, 0, log .4, log .5 -> revenue 2500 * .5 * 2 * .4 * .5 = 500
REP_D = [100.0, 0.2, 0.5, 0.5, 0.2, 500.0]


def _factors(values, team="T", status=True):
    rows = [(rep, team, f, v) for rep, vals in values.items() for f, v in zip(FACTORS, vals, strict=True)]
    out = pd.DataFrame(rows, columns=["rep_id", "team", "factor", "rep_value"])
    if status:
        out = out.assign(status=np.where(out["rep_value"] > 0, "observed", "undefined"))
    return out


def _bench(values=BENCH, team="T"):
    return pd.DataFrame({"team": team, "factor": FACTORS, "n_reps": 3, "benchmark_value": values})


COLUMNS = ["rep_id", "team", "factor", "rep_value", "benchmark_value", "log_term", "share", "log_gap",
           "revenue", "benchmark_revenue", "status", "decomposed"]


# -- decompose ------------------------------------------------------------------------------------


def test_decompose_columns_and_index_are_exactly_the_documented_ones():
    out = gaps.decompose(_factors({"d": REP_D}), _bench())
    assert out.columns.tolist() == COLUMNS
    assert out.index.tolist() == list(range(6))
    assert out["factor"].tolist() == FACTORS


def test_decompose_without_a_status_column_says_observed_or_undefined():
    # e has a zero deal size: not usable, so e is not decomposed and says why.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = gaps.decompose(_factors({"d": REP_D, "e": [*REP_D[:5], 0.0]}, status=False), _bench())
    d, e = out.loc[out["rep_id"] == "d"], out.loc[out["rep_id"] == "e"]
    assert d["status"].tolist() == ["observed"] * 6
    assert e["status"].tolist() == ["observed"] * 5 + ["undefined"]
    assert d["decomposed"].all() and not e["decomposed"].any()
    assert e["log_term"].isna().all() and e["share"].isna().all()
    # d: total |terms| = log 2 * 3 + log 2.5; share of dials = log .5 / total
    total = 3 * math.log(2) + math.log(2.5)
    assert d.set_index("factor").loc["dials", "share"] == pytest.approx(math.log(0.5) / total)
    assert d["log_gap"].iloc[0] == pytest.approx(math.log(500 / 2500))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
@pytest.mark.parametrize("where", ["rep", "bench"])
def test_a_factor_not_positive_and_finite_on_either_side_stops_the_decomposition(bad, where):
    rep, bench = list(REP_D), list(BENCH)
    (rep if where == "rep" else bench)[4] = bad
    out = gaps.decompose(_factors({"d": rep}, status=False), _bench(bench))
    assert not out["decomposed"].any() and out["log_term"].isna().all()


def test_status_undefined_stops_the_decomposition_even_with_a_positive_value():
    f = _factors({"d": REP_D, "g": REP_D})
    f.loc[(f["rep_id"] == "d") & (f["factor"] == "win_rate"), "status"] = "undefined"
    out = gaps.decompose(f, _bench())
    assert not out.loc[out["rep_id"] == "d", "decomposed"].any()
    assert out.loc[out["rep_id"] == "g", "decomposed"].all()


def test_a_rep_with_a_missing_factor_row_is_not_decomposed():
    f = _factors({"d": REP_D, "g": REP_D})
    f = f.loc[~((f["rep_id"] == "d") & (f["factor"] == "connect_rate"))]
    out = gaps.decompose(f, _bench())
    assert not out.loc[out["rep_id"] == "d", "decomposed"].any()
    assert out.loc[out["rep_id"] == "d", "log_term"].isna().all()
    assert out.loc[out["rep_id"] == "g", "decomposed"].all()


def test_a_team_without_benchmarks_keeps_its_reps_undecomposed():
    f = pd.concat([_factors({"d": REP_D}), _factors({"u": REP_D}, team="U")], ignore_index=True)
    out = gaps.decompose(f, _bench())
    u = out.loc[out["team"] == "U"]
    assert len(u) == 6 and u["benchmark_value"].isna().all() and not u["decomposed"].any()


def test_a_rep_exactly_at_the_benchmark_has_zero_shares_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = gaps.decompose(_factors({"b": BENCH}), _bench())
    assert (out["share"] == 0.0).all() and (out["log_gap"] == 0.0).all()


def test_benchmark_default_is_the_median():
    f = _factors({"a": [100.0, 0.1, 0.2, 0.3, 0.4, 100.0], "b": REP_D, "c": BENCH})
    pd.testing.assert_frame_equal(gaps.benchmark_factors(f), gaps.benchmark_factors(f, "median"))


# -- rep_factors ----------------------------------------------------------------------------------


def _counts():
    return pd.DataFrame(
        {
            "rep_id": ["a", "b", "one", "zero"],
            "team": ["T"] * 4,
            "dials": [400, 300, 1, 0],
            "conversations": [100, 60, 1, 0],
            "connected_calls": [70, 40, 1, 0],
            "appointments": [40, 30, 0, 0],
            "prospect_appointments": [36, 30, 0, 0],
            "opportunities": [20, 12, 0, 0],
            "won": [5, 3, 0, 0],
            "lost": [10, 6, 0, 0],
            "won_amount": [50_000.0, 24_000.0, 0.0, 0.0],
            "lost_amount": [80_000.0, 50_000.0, 0.0, 0.0],
        }
    )


def test_rep_factors_status_words_and_the_one_dial_edge():
    f = gaps.rep_factors(_counts()).set_index(["rep_id", "factor"])["status"]
    assert f[("one", "dials")] == "observed"  # one dial is a dial
    assert f[("zero", "dials")] == "undefined"
    assert f[("a", "avg_deal_size")] == "observed"
    assert f[("one", "avg_deal_size")] == "prior_only"  # no won deal: the team's size
    assert set(f.unique()) <= {"observed", "prior_only", "undefined"}


def test_rep_factors_output_is_one_row_per_rep_and_factor_with_a_fresh_index():
    out = gaps.rep_factors(_counts())
    assert len(out) == 4 * 6 and out.index.tolist() == list(range(24))
    assert str(out["rep_value"].dtype) == "float64"


def test_rep_factors_refuses_counts_per_period_with_its_message():
    counts = _counts().assign(period_start=pd.Timestamp("2026-01-05"))
    with pytest.raises(ValueError, match=r"^the gap decomposition is per rep over one range: build counts without freq$"):
        gaps.rep_factors(counts)


# -- largest_gaps and waterfall -------------------------------------------------------------------


def test_largest_gaps_unknown_factors_message_lists_them_all():
    d = gaps.decompose(_factors({"d": REP_D}), _bench())
    with pytest.raises(ValueError) as err:
        gaps.largest_gaps(d, ["nope", "zz", "dials"])
    assert str(err.value) == f"unknown factor 'nope', 'zz' (factors: {', '.join(FACTORS)})"


def test_largest_gaps_columns_and_index():
    d = gaps.decompose(_factors({"d": REP_D, "b": BENCH}), _bench())
    out = gaps.largest_gaps(d)
    assert out.columns.tolist() == ["rep_id", "team", "revenue", "benchmark_revenue", "log_gap", "factor",
                                    "log_term", "share", "decomposed"]
    assert out.index.tolist() == [0, 1]


def test_waterfall_table_written_out():
    d = gaps.decompose(_factors({"d": REP_D}), _bench())
    d = d.iloc[::-1].reset_index(drop=True)  # the steps follow the factor order, not the rows'
    steps = gaps.waterfall(d, "d")
    assert steps.columns.tolist() == ["step", "label", "kind", "start", "end", "log_term", "share"]
    assert steps["step"].tolist() == list(range(8))
    assert steps["label"].tolist() == ["benchmark", *FACTORS, "rep"]
    assert steps["kind"].tolist() == ["total", *["factor"] * 6, "total"]
    # ends 1250, 1250, 2500, 2500, 1000, 500; starts 2500 then the previous end; the totals
    # rise from the floor min(2500, 500, 1000) / 2 = 250.
    np.testing.assert_allclose(steps["end"], [2500, 1250, 1250, 2500, 2500, 1000, 500, 500])
    np.testing.assert_allclose(steps["start"], [250, 2500, 1250, 1250, 2500, 2500, 1000, 250])
    assert steps["log_term"].iloc[-1] == pytest.approx(math.log(500 / 2500))
    assert math.isnan(steps["log_term"].iloc[0])
    assert math.isnan(steps["share"].iloc[0]) and math.isnan(steps["share"].iloc[-1])


def test_waterfall_refusals_say_why():
    f = _factors({"c": [0.0, 0.2, 0.25, 0.5, 0.0, 1000.0], "m": REP_D})
    f = f.loc[~((f["rep_id"] == "m") & (f["factor"] == "win_rate"))]
    d = gaps.decompose(f, _bench())
    with pytest.raises(ValueError) as err:
        gaps.waterfall(d, "c")
    assert str(err.value) == "rep 'c' has no gap decomposition (undefined: dials, win_rate)"
    with pytest.raises(ValueError) as err:
        gaps.waterfall(d, "m")
    assert str(err.value) == "rep 'm' has no gap decomposition"


# -- top_competency_gaps --------------------------------------------------------------------------


def test_top_competency_gaps_defaults_to_three_reps_behind_and_names_deal_sizes_as_amounts():
    reps = {f"r{i}": [*BENCH[:5], 1000.0 - 100 * i] for i in range(1, 6)}  # behind on deal size only
    reps["at"] = BENCH  # at the benchmark: no gap, left out
    d = gaps.decompose(_factors(reps), _bench())
    names = pd.DataFrame({"rep_id": [*reps], "rep_name": [f"Name {r}" for r in reps]})
    out = gaps.top_competency_gaps(d, names)
    assert out["rep_id"].tolist() == ["r5", "r4", "r3"]
    assert out.index.tolist() == [0, 1, 2]
    assert out.columns.tolist() == ["rep_id", "rep_name", "team", "factor", "rep_value", "benchmark_value",
                                    "share", "log_term", "sentence"]
    assert str(out["sentence"].dtype) == "str"
    assert out["sentence"].iloc[0] == (
        "Name r5 (r5): average deal size 500 against the team's 1,000: 100% of what "
        "separates the rep's funnel from the benchmark."
    )
    assert "at" not in gaps.top_competency_gaps(d, names, n=10)["rep_id"].tolist()


def test_top_competency_gaps_keeps_a_rep_missing_from_the_reps_table():
    d = gaps.decompose(_factors({"x": REP_D}), _bench())
    out = gaps.top_competency_gaps(d, pd.DataFrame({"rep_id": ["other"], "rep_name": ["Other"]}))
    assert out["rep_id"].tolist() == ["x"]


def test_show_formats_each_kind_of_factor():
    assert gaps._show("dials", 1234.0) == "1,234 dials"
    assert gaps._show("avg_deal_size", 1234.0) == "1,234"
    assert gaps._show("win_rate", 0.25) == "25%"


def test_deal_size_of_a_team_that_never_won_is_undefined():
    # No rep of team N won a deal: no own size and no team size to fall back on.
    counts = _counts().assign(team="N", won=0, won_amount=0.0)
    f = gaps.rep_factors(counts)
    sizes = f.loc[f["factor"] == "avg_deal_size", "status"]
    assert sizes.tolist() == ["undefined"] * 4
