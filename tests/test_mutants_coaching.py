"""Tests of salesx2lib.coaching written to kill mutants `make mutate` would leave surviving.

Hand-written gains and review tables; expected values by hand (arithmetic in the comments)
or by numerical integration written here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from salesx2lib import coaching
from salesx2lib.settings import load_settings

S = load_settings()
GAIN_COLS = list(coaching._GAIN_COLUMNS)


def _gains(rows) -> pd.DataFrame:
    """rows: (rep_id, team, competency, p_below, revenue_impact); the other figures follow from the row number."""
    out = []
    for i, (rep, team, comp, p, impact) in enumerate(rows):
        out.append({"rep_id": rep, "team": team, "competency": comp, "trials": 100 + i, "successes": 10 + i,
                    "current_rate": 0.1 + i / 100, "benchmark_rate": 0.2, "ramp_factor": 1.0, "target_rate": 0.2,
                    "p_below": p, "unit_value": 50.0, "revenue_impact": impact, "impact_low": impact / 2,
                    "impact_high": impact * 2, "impact_ceiling": impact * 3, "status": "observed"})
    return pd.DataFrame(out, columns=GAIN_COLS).astype(coaching._GAIN_COLUMNS)


GAINS = _gains([
    # p: two competencies qualify (P >= 0.9 and a positive gain): the larger gain, connect_rate (800);
    # the win rate at P 0.99 has no gain (0): not a candidate; deal size ties connect_rate at 800 but comes later
    ("p", "T", "win_rate", 0.95, 500.0), ("p", "T", "connect_rate", 0.92, 800.0), ("p", "T", "appointment_to_opportunity", 0.99, 0.0),
    ("p", "T", "avg_deal_size", 0.95, 800.0),
    # q: nothing certain enough: no_clear_gap, showing the highest P (0.89, a hair under 0.9)
    ("q", "T", "win_rate", 0.5, 900.0), ("q", "T", "connect_rate", 0.89, 300.0),
    # s: a priority on the numbers, but self_sustained: backed off (the competency shown is still its best)
    ("s", "U", "win_rate", 0.97, 100.0), ("s", "U", "connect_rate", 0.2, 50.0),
    # n: nothing comparable (P NaN everywhere): no_clear_gap with no competency
    ("n", "U", "win_rate", np.nan, 0.0),
    # u: not in the segment table: unknown, never backed off; exactly 0.9 is enough
    ("u", "U", "deal", 0.9, 10.0),
])
SEGMENTS = pd.DataFrame({"rep_id": ["p", "q", "s", "n", "zz"],
                         "segment": ["developing", "struggling", "self_sustained", "developing", "self_sustained"]})


def test_choose_priorities_whole_table_by_hand():
    out = coaching.choose_priorities(GAINS, SEGMENTS, S)
    assert out.columns.tolist() == ["rep_id", "team", "segment", "status", "competency", "trials", "current_rate",
                                    "benchmark_rate", "ramp_factor", "target_rate", "p_below", "revenue_impact",
                                    "impact_low", "impact_high", "impact_ceiling"]
    assert out["rep_id"].tolist() == ["p", "q", "s", "n", "u"]
    assert out["team"].tolist() == ["T", "T", "U", "U", "U"]
    assert out["segment"].tolist() == ["developing", "struggling", "self_sustained", "developing", "unknown"]
    assert out["status"].tolist() == ["priority", "no_clear_gap", "backed_off", "no_clear_gap", "priority"]
    assert out["competency"].tolist()[:3] == ["connect_rate", "connect_rate", "win_rate"]
    assert out["competency"].iloc[4] == "deal"
    # the rows shown: p row 1, q row 5, s row 6, n nothing, u row 9 (trials 100 + row)
    assert out["trials"].tolist() == [101, 105, 106, 0, 109]
    assert str(out["trials"].dtype) == "int64" and str(out["competency"].dtype) == "str"
    assert out["revenue_impact"].iloc[[0, 1, 2, 4]].tolist() == [800.0, 300.0, 100.0, 10.0]
    assert out["p_below"].iloc[[0, 1, 2, 4]].tolist() == [0.92, 0.89, 0.97, 0.9]
    assert out["current_rate"].iloc[[0, 1, 2, 4]].tolist() == pytest.approx([0.11, 0.15, 0.16, 0.19])
    assert (out["impact_low"].iloc[0], out["impact_high"].iloc[0], out["impact_ceiling"].iloc[0]) == (400.0, 1600.0,
                                                                                                      2400.0)
    assert out.loc[3, ["current_rate", "p_below", "revenue_impact"]].isna().all()
    assert out.index.tolist() == [0, 1, 2, 3, 4]


def test_choose_priorities_with_a_stricter_minimum():
    """At 0.96 only p's appointment row (0.99, no gain) and s's win rate (0.97) pass: p has no clear gap
    and shows its highest P, 0.99."""
    out = coaching.choose_priorities(GAINS, SEGMENTS, replace(S, coaching_min_probability=0.96)).set_index("rep_id")
    assert out.loc["p", "status"] == "no_clear_gap" and out.loc["p", "competency"] == "appointment_to_opportunity"
    assert out.loc["s", "status"] == "backed_off" and out.loc["u", "status"] == "no_clear_gap"


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5])
def test_min_probability_must_be_strictly_between_0_and_1(bad):
    with pytest.raises(ValueError, match=rf"^coaching.min_probability must be between 0 and 1, not {bad!r}$"):
        coaching.choose_priorities(GAINS, SEGMENTS, replace(S, coaching_min_probability=bad))


def test_priority_list_ranks_by_expected_gain_overall_and_in_team():
    review = pd.DataFrame({
        "rep_id": ["a", "b", "c", "d", "e", "f"], "team": ["T", "U", "T", "T", "U", "T"],
        "status": ["priority", "priority", "backed_off", "priority", "priority", "no_clear_gap"],
        "revenue_impact": [100.0, 300.0, 900.0, 200.0, 100.0, 50.0], "sentence": list("abcdef")})
    out = coaching.priority_list(review)
    # priorities a 100, b 300, d 200, e 100 -> b, d, a, e (a before e: stable on the tie)
    assert out.columns.tolist() == ["rank", "team_rank", "rep_id", "team", "revenue_impact", "sentence"]
    assert out["rep_id"].tolist() == ["b", "d", "a", "e"]
    assert out["rank"].tolist() == [1, 2, 3, 4]
    assert out["team_rank"].tolist() == [1, 1, 2, 2]  # b first of U, d first of T, a second of T, e second of U
    assert str(out["rank"].dtype) == "int64" and str(out["team_rank"].dtype) == "int64"
    assert out.index.tolist() == [0, 1, 2, 3]
    empty = coaching.priority_list(review.assign(status="backed_off"))
    assert len(empty) == 0 and empty.columns.tolist()[:2] == ["rank", "team_rank"]


def _row(**kw) -> pd.Series:
    base = {"rep_id": "R1", "rep_name": "Ann", "status": "priority", "competency": "win_rate", "p_below": 0.934,
            "ramp_factor": 1.0, "benchmark_rate": 0.25, "current_rate": 0.181, "target_rate": 0.25,
            "revenue_impact": 12345.6, "impact_low": 1000.4, "impact_high": 25000.5}
    return pd.Series(base | kw)


def test_sentences_for_every_status():
    assert coaching._sentence(_row(status="backed_off"), S) == (
        "Ann (R1): self_sustained, backed off: general accountability, a monthly look at results, no coaching.")
    assert coaching._sentence(_row(status="no_data"), S) == "Ann (R1): no funnel to judge in the window (no dials)."
    assert coaching._sentence(_row(status="no_clear_gap", p_below=np.nan), S) == (
        "Ann (R1): no competency can be compared with a target.")
    assert coaching._sentence(_row(status="no_clear_gap", p_below=0.634, competency="connect_rate"), S) == (
        "Ann (R1): no clear gap: no competency is below its target with P >= 90% (closest: connect rate, P = 63%).")
    assert coaching._sentence(_row(), S) == (
        "Ann (R1): win rate 18.1% against a target of 25.0% (the team's); P(true value below target) 93%; "
        "reaching it would add about 12,346 over the window's activity (95% interval 1,000 to 25,000).")
    # a ramping rep: the target is a share of the team's benchmark
    assert coaching._sentence(_row(ramp_factor=0.8, target_rate=0.2), S) == (
        "Ann (R1): win rate 18.1% against a target of 20.0%, ramp-adjusted to 80% of the team's 25.0%; "
        "P(true value below target) 93%; reaching it would add about 12,346 over the window's activity "
        "(95% interval 1,000 to 25,000).")
    # deal size in money, not percent; an unknown competency keeps its own name
    text = coaching._sentence(_row(competency="avg_deal_size", current_rate=1234.5, target_rate=2000.0,
                                   benchmark_rate=2000.0), S)
    assert text.startswith("Ann (R1): average deal size 1,234 against a target of 2,000 (the team's);")
    assert coaching._sentence(_row(competency="other"), S).startswith("Ann (R1): other 18.1% against")


def test_amount_sd_pools_within_rep_deviations_by_hand():
    """Team T: rep a won 100, 300 (mean 200, squares 100^2 + 100^2), rep b 50, 50, 80 (mean 60, squares
    10^2 + 10^2 + 20^2 = 600): N = 5 won, k = 2 reps: sqrt(20600 / 3). Team U: one won deal of c
    (N - k = 0): NaN. Lost deals and reps of no team are left out."""
    deals = pd.DataFrame({"rep_id": ["a", "a", "b", "b", "b", "c", "a", "x"],
                          "won": [1, 1, 1, 1, 1, 1, 0, 1],
                          "amount": [100.0, 300.0, 50.0, 50.0, 80.0, 70.0, 5000.0, 9999.0]})
    teams = pd.DataFrame({"rep_id": ["a", "b", "c"], "team": ["T", "T", "U"]})
    sd = coaching._amount_sd(deals, teams)
    assert sd["T"] == pytest.approx(np.sqrt(20600 / 3))
    assert np.isnan(sd["U"]) and sorted(sd.index) == ["T", "U"]
    assert coaching._amount_sd(deals.assign(won=0), teams).empty
    # two won deals of one rep: N - k = 1, the smallest that gives a value
    two = coaching._amount_sd(pd.DataFrame({"rep_id": ["c", "c"], "won": [1, 1], "amount": [10.0, 30.0]}), teams)
    assert two["U"] == pytest.approx(np.sqrt(200.0))  # (10 - 20)^2 + (30 - 20)^2 = 200 over 1


def test_excess_functions_against_numerical_integration():
    p = np.linspace(0, 1, 400001)
    for u, a, b in ((0.3, 4.0, 16.0), (0.8, 2.5, 1.5), (1.0, 3.0, 3.0)):
        want = np.trapezoid(np.maximum(u - p, 0) * sps.beta.pdf(p, a, b), p)
        assert coaching._beta_excess(np.array([u]), np.array([a]), np.array([b]))[0] == pytest.approx(want, rel=1e-5)
    assert coaching._beta_excess(np.array([0.0, -0.2]), np.array([2.0, 2.0]), np.array([3.0, 3.0])).tolist() == [0.0, 0.0]
    mu = np.linspace(-50, 150, 400001)
    for u, m, sd in ((60.0, 50.0, 10.0), (20.0, 50.0, 15.0)):
        want = np.trapezoid(np.maximum(u - mu, 0) * sps.norm.pdf(mu, m, sd), mu)
        assert coaching._normal_excess(np.array([u]), np.array([m]), np.array([sd]))[0] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("bad", [dict(coaching_ramp_start=-0.01), dict(coaching_ramp_start=1.01),
                                 dict(coaching_ramp_days=0)])
def test_ramp_settings_are_checked_with_their_message(bad):
    reps = pd.DataFrame({"rep_id": ["r"], "hire_date": [pd.Timestamp("2024-06-01")]})
    with pytest.raises(ValueError, match=r"^coaching.ramp_start must be in \[0, 1\] and coaching.ramp_days at least 1$"):
        coaching.ramp_factors(reps, pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-08"), replace(S, **bad))


def test_ramp_factor_limits_and_columns():
    """Window 1..7 June; hired 1 June. ramp_start 0 and ramp_days 1: tenure 0 gives 0, tenure >= 1 gives 1:
    (0 + 6) / 7. ramp_start 1: always 1. Without a hire_date column everyone gets 1 and tenure NaN."""
    reps = pd.DataFrame({"rep_id": ["r"], "hire_date": [pd.Timestamp("2024-06-01 15:00")]})
    lo, hi = pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-08")
    out = coaching.ramp_factors(reps, lo, hi, replace(S, coaching_ramp_start=0.0, coaching_ramp_days=1))
    assert out.columns.tolist() == ["rep_id", "tenure_days", "ramp_factor"]
    assert out["ramp_factor"].iloc[0] == pytest.approx(6 / 7) and out["tenure_days"].iloc[0] == 6.0
    assert out.dtypes.astype(str).tolist() == ["str", "float64", "float64"]
    assert coaching.ramp_factors(reps, lo, hi, replace(S, coaching_ramp_start=1.0))["ramp_factor"].iloc[0] == 1.0
    bare = coaching.ramp_factors(pd.DataFrame({"rep_id": ["a", "b"]}), lo, hi, S)
    assert bare["ramp_factor"].tolist() == [1.0, 1.0] and bare["tenure_days"].isna().all()
    # the packaged settings when none are given (0.75 + 0.25 t / 84): tenure 0..6 over 7 days
    assert coaching.ramp_factors(reps, lo, hi)["ramp_factor"].iloc[0] == pytest.approx(0.75 + 0.25 * 3 / 84)


def _counts(rows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """rows: (rep_id, dials, conversations, appointments, opportunities, won, lost); 1000 a won deal,
    except rep x's deals, which alternate 600 and 1000."""
    counts = pd.DataFrame(rows, columns=["rep_id", "dials", "conversations", "appointments", "opportunities", "won",
                                         "lost"]).assign(team="T", emails=0, meetings=0, business_cards=0,
                                                         other_activities=0)
    counts = counts.assign(connected_calls=counts["conversations"], prospect_appointments=counts["appointments"])
    amounts = {r: ([600.0, 1000.0] * w)[:w] if r == "x" else [1000.0] * w for r, w in zip(counts["rep_id"], counts["won"],
                                                                                          strict=True)}
    counts = counts.assign(won_amount=[sum(amounts[r]) for r in counts["rep_id"]], lost_amount=counts["lost"] * 1000.0)
    deals = pd.DataFrame([(r, 1, a) for r, v in amounts.items() for a in v], columns=["rep_id", "won", "amount"])
    return counts.astype({"rep_id": "str", "team": "str"}), deals


FLOOR = [("x", 900, 150, 40, 20, 4, 16), ("o0", 1000, 200, 80, 40, 10, 10), ("o1", 1000, 220, 70, 40, 12, 8),
         ("o2", 1100, 180, 90, 40, 9, 11), ("o3", 950, 210, 60, 40, 11, 9), ("quiet", 0, 0, 0, 0, 0, 0),
         ("mute", 200, 0, 0, 0, 0, 0)]


def test_gains_rows_without_data_are_nan_and_zero():
    """quiet has no dials, mute dials but never talks: what they never tried is the team prior only
    (prior_only): no P, no gains, trials and successes 0; five rows per rep."""
    counts, deals = _counts(FLOOR)
    g = coaching.competency_gains(counts, deals, settings=S)
    assert g.columns.tolist() == GAIN_COLS and g.dtypes.astype(str).tolist() == list(coaching._GAIN_COLUMNS.values())
    assert g.groupby("rep_id").size().eq(5).all() and g.index.tolist() == list(range(len(g)))
    assert g["rep_id"].tolist()[::5] == ["mute", "o0", "o1", "o2", "o3", "quiet", "x"]  # by rep, as the factors
    quiet = g.loc[g["rep_id"] == "quiet"]
    assert set(quiet["status"]) == {"prior_only"} and quiet["p_below"].isna().all() and quiet["trials"].eq(0).all()
    assert (quiet[["revenue_impact", "impact_low", "impact_high", "impact_ceiling"]] == 0.0).all().all()
    mute = g.loc[g["rep_id"] == "mute"].set_index("competency")
    # its connect rate is observed: 0 connects of 200 dials, certainly below target (P = 1), with a gain
    assert mute.loc["connect_rate", "status"] == "observed" and mute.loc["connect_rate", "trials"] == 200
    assert mute.loc["connect_rate", "p_below"] == pytest.approx(1.0) and mute.loc["connect_rate", "revenue_impact"] > 0
    rest = mute.drop(index="connect_rate")
    assert set(rest["status"]) == {"prior_only"} and rest["p_below"].isna().all()
    assert (rest[["trials", "successes"]] == 0).all().all()
    assert (rest[["revenue_impact", "impact_low", "impact_high", "impact_ceiling"]] == 0.0).all().all()


def test_gains_top_quartile_target_and_deal_size_interval():
    counts, deals = _counts(FLOOR[:5])
    from salesx2lib import competency

    f = competency.funnel(counts).query("metric == 'win_rate'").set_index("rep_id")
    g = coaching.competency_gains(counts, deals, benchmark="top_quartile", settings=S).set_index(["rep_id", "competency"])
    assert g.loc[("x", "win_rate"), "target_rate"] == pytest.approx(np.quantile(f["shrunk_rate"], 0.75))
    assert g.loc[("x", "win_rate"), "benchmark_rate"] == pytest.approx(np.quantile(f["shrunk_rate"], 0.75))
    # deal size of x: won 600, 1000, 600, 1000 (mean 800); the others 1000 each (no spread):
    # sd_team = sqrt(4 x 200^2 / (4 + 10 + 12 + 9 + 11 - 5)) = sqrt(160000 / 41); shrunk mean with m = 2:
    # (3200 + 2 x team average) / 6, the team average = (3200 + 42 x 1000) / 46
    ramp = pd.DataFrame({"rep_id": ["x"], "ramp_factor": [0.8]})
    g = coaching.competency_gains(counts, deals, ramp, settings=S).set_index(["rep_id", "competency"])
    row = g.loc[("x", "avg_deal_size")]
    sd = np.sqrt(160000 / 41) / np.sqrt(4 + 2.0)
    mean = (3200.0 + 2.0 * 45200 / 46) / 6
    assert row["current_rate"] == pytest.approx(mean)
    assert row["ramp_factor"] == 1.0 and row["target_rate"] == pytest.approx(row["benchmark_rate"])  # no ramp on size
    # the target: the median of the tenured reps' shrunk sizes (x ramps: left out), (1000 w + 2 avg) / (w + 2)
    # for w = 9, 10, 11, 12 won deals: the middle two, w = 10 and 11
    avg = 45200 / 46
    target = ((10000 + 2 * avg) / 12 + (11000 + 2 * avg) / 13) / 2
    assert row["target_rate"] == pytest.approx(target)
    assert row["p_below"] == pytest.approx(sps.norm.cdf(target, mean, sd))
    assert row["impact_high"] == pytest.approx(4 * min(max(target - sps.norm.ppf(0.025, mean, sd), 0), target))
    assert row["impact_low"] == pytest.approx(4 * min(max(target - sps.norm.ppf(0.975, mean, sd), 0), target))
    assert row["impact_ceiling"] == pytest.approx(4 * target)
    assert (row["trials"], row["successes"], row["unit_value"]) == (4, 4, 1.0)
    assert g.loc[("x", "win_rate"), "ramp_factor"] == 0.8
    # an unknown benchmark is refused (by the gaps module, with its message)
    with pytest.raises(ValueError, match="benchmark must be 'median' or 'top_quartile'"):
        coaching.competency_gains(counts, deals, benchmark="mean", settings=S)


# --- the Dataset level, on a tiny floor --------------------------------------------------------

LO, HI = pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-30")
US = "datetime64[us]"


def _tiny(rep_names: bool = True):
    """Team T: A (100 dials, 30 conversations, 10 appointments), B (100, 10, 2); team S: Z (no activity).
    Deals closed in [2 Mar, 30 Mar): A won 1000 and 500, lost 700; B won 300 and (created before the
    window, closed inside it) 5000, lost 900. No quotas: every segment unknown."""
    import ibis

    from salesx2lib.dataset import Dataset

    acts = []
    for rep, (d, c, a) in {"A": (100, 30, 10), "B": (100, 10, 2)}.items():
        for kind, k in (("dial", d), ("conversation", c), ("appointment", a)):
            acts += [(rep, LO + pd.Timedelta(hours=9 + i % 8, days=i % 27), kind) for i in range(k)]
    act = pd.DataFrame(acts, columns=["rep_id", "occurred_at", "activity_type"])
    act = act.assign(activity_id=[f"a{i}" for i in range(len(act))],
                     opportunity_id=pd.Series(None, index=act.index, dtype="str")).astype({"occurred_at": US})
    opps = [("o1", "A", 1, 1000.0, "won"), ("o2", "A", 2, 500.0, "won"), ("o3", "A", 3, 700.0, "lost"),
            ("o4", "B", 1, 300.0, "won"), ("o5", "B", 2, 900.0, "lost"), ("o6", "B", -2, 5000.0, "won")]
    o = pd.DataFrame(opps, columns=["opportunity_id", "rep_id", "day", "amount", "status"])
    o = o.assign(created_at=LO + pd.to_timedelta(o["day"], unit="D")).drop(columns="day")
    o = o.assign(closed_at=o["created_at"] + pd.Timedelta(days=5), expected_close_date=o["created_at"] + pd.Timedelta(days=5),
                 stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost"})).astype(
        {"created_at": US, "closed_at": US, "expected_close_date": US})
    reps = pd.DataFrame({"rep_id": ["A", "B", "Z"], "rep_name": ["Ann", "Bob", "Zoe"], "team": ["T", "T", "S"],
                         "manager": "M"}).astype("str")
    if not rep_names:
        reps = reps.drop(columns="rep_name")
    return Dataset(tables={"reps": reps, "opportunities": o}, activities=ibis.memtable(act),
                   as_of=pd.Timestamp("2026-04-01"))


def test_review_counts_the_won_deals_without_an_amount_beside_the_won_revenue():
    ds = _tiny()
    o = ds.opportunities
    extra = o.loc[o["opportunity_id"].isin(["o1", "o4"])].assign(opportunity_id=["o7", "o8"], amount=float("nan"))
    extra = extra.assign(created_at=LO + pd.Timedelta(days=10), closed_at=LO + pd.Timedelta(days=12))
    r = coaching.coaching_review(replace(ds, tables={**ds.tables, "opportunities": pd.concat([o, extra], ignore_index=True)}), LO, HI)
    # A won o1 (1000) and o2 (500); B won o4 (300) and o6 (5000, created before LO, closed in the range)
    assert r["rep_id"].tolist() == ["Z", "A", "B"]
    assert r["won_revenue"].tolist() == [0.0, 1500.0, 5300.0]
    assert r["won_without_amount"].tolist() == [0, 1, 1]


def test_review_and_priorities_on_a_tiny_floor():
    r = coaching.coaching_review(_tiny(), LO, HI)
    assert r.columns.tolist() == ["rep_id", "rep_name", "team", "segment", "status", "competency", "trials",
                                  "current_rate", "benchmark_rate", "ramp_factor", "target_rate", "p_below",
                                  "revenue_impact", "impact_low", "impact_high", "impact_ceiling", "won_revenue",
                                  "won_without_amount", "window_start", "window_end", "sentence"]
    assert r["rep_id"].tolist() == ["Z", "A", "B"]  # by team (S before T), then rep
    assert r["rep_name"].tolist() == ["Zoe", "Ann", "Bob"] and r["segment"].eq("unknown").all()
    assert r["won_revenue"].tolist() == [0.0, 1500.0, 5300.0]
    assert r["won_without_amount"].tolist() == [0, 0, 0] and str(r["won_without_amount"].dtype) == "int64"
    assert r["window_start"].eq(LO).all() and r["window_end"].eq(HI).all()
    assert str(r["window_start"].dtype) == US and str(r["trials"].dtype) == "int64"
    z = r.iloc[0]
    assert (z["status"], z["trials"], z["sentence"]) == ("no_data", 0, "Zoe (Z): no funnel to judge in the window (no dials).")
    assert z[["current_rate", "p_below", "revenue_impact"]].isna().all()
    # A and B dialled: a decision either way, never no_data
    assert set(r["status"].iloc[1:]) <= {"priority", "no_clear_gap"}
    assert r.index.tolist() == [0, 1, 2]
    # the list: the priority rows ranked; without a rep_name column the rep id stands in
    p = coaching.coaching_priorities(_tiny(rep_names=False), LO, HI)
    priority = r.loc[r["status"] == "priority"].sort_values("revenue_impact", ascending=False)
    assert p["rep_id"].tolist() == priority["rep_id"].tolist() and p["rep_name"].tolist() == p["rep_id"].tolist()
    assert p["rank"].tolist() == list(range(1, len(p) + 1)) and "status" not in p.columns
