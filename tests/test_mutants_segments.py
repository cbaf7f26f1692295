"""Tests of salesx2lib.segments written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function) on a small hand-written frame or
dataset. Expected values are worked out by hand in the comments, or by an independent
reference (statsmodels' OLS for the trend, scipy's gamma from the moments written out
here). The survivors left (equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from salesx2lib import segments
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

US = "datetime64[us]"
T = pd.Timestamp
S = load_settings()
SS, DEV, HO, RAMP = "self_sustained", "developing", "hands_on", "ramping"


# --- the one-date rules, every reason and open criterion in words ------------------------------


def _scored(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_segment_reasons_and_open_criteria_by_hand():
    nan = np.nan
    scores = _scored(
        rep_id=["ss", "one", "rise", "low", "flat0", "noq", "new"],
        attainment=[1.2, 0.85, 0.6, 0.59, 0.7, nan, 1.5],
        months=[3, 3, 3, 3, 3, 0, 3],
        months_at_quota=[3, 1, 0, 0, 0, 0, 3],
        months_at_quota_share=[1.0, 1 / 3, 0.0, 0.0, 0.0, nan, 1.0],
        competency_percentile=[70.0, 50.0, 49.6, 30.0, 30.0, nan, 80.0],
        trend_slope=[0.0, 0.0, 1234.4, 1234.4, 10.0, 0.0, 0.0],
        trend_ci_low=[-10.0, -1.0, 0.5, 0.5, 0.0, nan, -1.0],
        tenure_days=[1000.0, 500.0, nan, 200.0, 200.0, 400.0, 30.0],
        won_deals=[9, 1, 2, 0, 0, 0, 4],
        attainment_ci_low=[0.8, nan, 0.3, nan, nan, nan, 0.9],
        attainment_ci_high=[1.5, nan, 0.9, nan, nan, nan, 2.1],
        p_at_quota=[0.74, nan, 0.1, nan, nan, nan, 0.955],
    )
    out = segments.segment(scores, S)
    assert list(out.columns) == [*scores.columns, "segment", "reason", "open_criteria", "management_style"]
    assert out["segment"].tolist() == [SS, DEV, DEV, HO, HO, DEV, RAMP]
    # rows keep their own index (a filtered frame)
    again = segments.segment(scores.set_axis([7, 3, 9, 1, 5, 2, 8]), S)
    assert (again[["segment", "reason", "open_criteria"]].to_numpy() == out[["segment", "reason", "open_criteria"]]
            .to_numpy()).all()
    assert out["management_style"].tolist() == [segments.MANAGEMENT_STYLES[s] for s in out["segment"]]
    assert out["segment"].dtype == "str" and out["reason"].dtype == "str" and out["open_criteria"].dtype == "str"
    months = "at quota in at least 66% of months"  # self_sustained_months_share 0.66
    assert out["reason"].tolist() == [
        "attainment 120% (95% interval 80% to 150%, P(at quota) 0.74, 9 won deals), 3 of 3 months at quota, "
        "competencies above team median (percentile 70)",
        "attainment 85% (1 won deal: too few to judge how sure), 1 of 3 months at quota, "
        "competencies at team median (percentile 50); not yet self_sustained",
        # 49.6 is below the median, printed rounded; a 95% interval of the trend above 0: rising
        "attainment 60% (95% interval 30% to 90%, P(at quota) 0.10, 2 won deals), 0 of 3 months at quota, "
        "competencies below team median (percentile 50), won revenue rising (+1,234 a week per week); "
        "below 80% but rising",
        "attainment 59% (0 won deals: too few to judge how sure), 0 of 3 months at quota, "
        "competencies below team median (percentile 30), won revenue rising (+1,234 a week per week); "
        "attainment under 80%",
        # an interval starting exactly at 0 is not rising
        "attainment 70% (0 won deals: too few to judge how sure), 0 of 3 months at quota, "
        "competencies below team median (percentile 30); attainment under 80%",
        "no quota in the window, 0 of 0 months at quota, competencies unknown; "
        "attainment cannot be judged without a quota",
        "tenure 30 days, under the 120-day ramp; attainment 150% (95% interval 90% to 210%, P(at quota) 0.95, "
        "4 won deals), 3 of 3 months at quota, competencies above team median (percentile 80)",
    ]
    assert out["open_criteria"].tolist() == [
        "",
        f"attainment at least 100% (now 85%); {months} (now 1 of 3)",
        f"attainment at least 100% (now 60%); {months} (now 0 of 3); competency percentile at least 50 (now 50)",
        f"attainment at least 100% (now 59%); {months} (now 0 of 3); competency percentile at least 50 (now 30)",
        f"attainment at least 100% (now 70%); {months} (now 0 of 3); competency percentile at least 50 (now 30)",
        f"attainment at least 100% (no quota); {months} (now 0 of 0); competency percentile at least 50",
        "tenure at least 120 days (now 30)",
    ]


def test_each_threshold_on_its_edge():
    # the self_sustained criteria on their thresholds are met; the developing line is inclusive
    base = dict(rep_id="r", months=3, months_at_quota=2, trend_slope=0.0, trend_ci_low=-1.0, tenure_days=120.0)
    rows = pd.DataFrame([
        base | dict(attainment=1.0, months_at_quota_share=0.66, competency_percentile=50.0),  # all on the edge
        base | dict(attainment=1.0, months_at_quota_share=0.66, competency_percentile=49.99),
        base | dict(attainment=1.0, months_at_quota_share=0.6599, competency_percentile=50.0),
        base | dict(attainment=0.9999, months_at_quota_share=0.66, competency_percentile=50.0),
        base | dict(attainment=0.8, months_at_quota_share=0.0, competency_percentile=50.0, tenure_days=119.99),
        base | dict(attainment=1.0, months_at_quota_share=0.66, competency_percentile=50.7),  # above the median
    ])
    out = segments.segment(rows, S)
    assert out["segment"].tolist() == [SS, DEV, DEV, DEV, RAMP, SS]
    assert out["reason"].iloc[5].endswith("competencies above team median (percentile 51)")
    # no confidence columns in the frame: attainment alone
    assert out["reason"].iloc[0] == "attainment 100%, 2 of 3 months at quota, competencies at team median (percentile 50)"
    assert out["open_criteria"].iloc[1] == "competency percentile at least 50 (now 50)"
    assert out["open_criteria"].iloc[4].startswith("tenure at least 120 days (now 120); attainment at least 100% (now 80%)")


def test_confidence_without_a_won_deals_column_counts_none():
    rows = _scored(attainment=[0.5], months=[1], months_at_quota=[0], months_at_quota_share=[0.0],
                   competency_percentile=[50.0], trend_slope=[0.0], trend_ci_low=[-1.0], tenure_days=[500.0],
                   p_at_quota=[np.nan])
    reason = segments.segment(rows, S)["reason"].iloc[0]
    assert reason.startswith("attainment 50% (0 won deals: too few to judge how sure), 0 of 1 months at quota")


def test_segment_refuses_a_frame_without_its_columns_and_keeps_an_empty_one():
    with pytest.raises(ValueError, match=r"^scores is missing column 'months' \(see segments.rep_scores\)$"):
        segments.segment(pd.DataFrame({"attainment": [1.0]}), S)
    columns = ["attainment", "months", "months_at_quota", "months_at_quota_share", "competency_percentile",
               "trend_slope", "trend_ci_low", "tenure_days"]
    out = segments.segment(pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}), S)
    assert out.empty and list(out.columns) == [*columns, "segment", "reason", "open_criteria", "management_style"]
    assert all(out[c].dtype == "str" for c in ("segment", "reason", "open_criteria", "management_style"))
    # the packaged settings by default
    default = segments.segment(_scored(**{c: [1.0] for c in columns} | {"competency_percentile": [70.0],
                                                                            "tenure_days": [119.0]}))
    assert default["segment"].tolist() == [RAMP]


# --- the confidence on attainment ---------------------------------------------------------------


def test_confidence_drops_missing_negative_and_infinite_amounts_and_takes_a_level():
    # one usable deal of 1000: mu ~ Gamma(1, 1000) = Exponential(mean 1000), so with quota 2000
    # P(mu >= 2000) = exp(-2) and the 50% interval is -1000 ln(0.75) .. -1000 ln(0.25), over 2000
    low, high, p = segments.attainment_confidence([np.nan, -100.0, np.inf, 0.0, 1000.0], 2000.0, level=0.5)
    assert p == pytest.approx(np.exp(-2.0))
    assert low == pytest.approx(-1000 * np.log(0.75) / 2000)
    assert high == pytest.approx(-1000 * np.log(0.25) / 2000)
    assert all(isinstance(v, float) for v in (low, high, p))
    # two deals 100 and 400: S1 = 500, S2 = 170000, shape 500^2 / 170000, scale 170000 / 500
    low, high, p = segments.attainment_confidence(np.array([100.0, 400.0]), 677.0)
    ref = sps.gamma(250000 / 170000, scale=340.0)
    assert (low, high, p) == pytest.approx((ref.ppf(0.025) / 677, ref.ppf(0.975) / 677, ref.sf(677.0)))
    assert all(np.isnan(segments.attainment_confidence([500.0], -1.0)))
    # amounts and quotas below 1 are amounts like any other: one deal of 0.5 against a quota of 0.5,
    # mu ~ Exponential(mean 0.5): P(mu >= 0.5) = exp(-1)
    assert segments.attainment_confidence([0.5], 0.5)[2] == pytest.approx(np.exp(-1.0))


# --- rep_scores on a tiny dataset: two teams, no hire dates, no names, a 3-week window ----------


def _small_dataset() -> Dataset:
    """Reps x, y (team T1) and z (T2); no hire_date nor rep_name columns. Quota 1000 a month for
    x and z from January to March 2026, none for y. As of Sunday 29 March with a 3-week window:
    [9 Mar, 30 Mar), weeks starting 9, 16 and 23 March; March has 21 days in it."""
    reps = pd.DataFrame({"rep_id": ["z", "x", "y"], "team": ["T2", "T1", "T1"], "manager": "M"}).astype("str")
    months = pd.date_range("2026-01-01", "2026-03-01", freq="MS", unit="us")
    quotas = pd.DataFrame([(r, m, m + pd.offsets.MonthEnd(0), 1000.0) for r in "xz" for m in months],
                          columns=["rep_id", "period_start", "period_end", "quota"]).astype(
        {"rep_id": "str", "period_start": US, "period_end": US})
    deals = [  # id, rep, closed, amount, status
        ("o1", "x", "2026-03-10", 100.0, "won"),  # week 0
        ("o2", "x", "2026-03-25", 400.0, "won"),  # week 2
        ("o3", "x", "2026-03-08 23:00", 999.0, "won"),  # the day before the window: left out
        ("o4", "x", "2026-03-30", 999.0, "won"),  # on the window's end (exclusive): left out
        ("o5", "y", "2026-03-12", 50.0, "lost"),
        ("o6", "z", "2026-03-17", 300.0, "won"),  # week 1
        ("o7", "z", "2026-03-18", 80.0, "lost"),
        ("o8", "z", "2026-03-19", 0.0, "won"),  # a won deal of amount 0 counts as a deal, not in the spread
    ]
    o = pd.DataFrame(deals, columns=["opportunity_id", "rep_id", "closed_at", "amount", "status"])
    closed = pd.to_datetime(o["closed_at"], format="ISO8601").astype(US)
    o = o.assign(closed_at=closed, created_at=closed - pd.Timedelta(days=20), expected_close_date=closed,
                 stage=o["status"].map({"won": "Closed Won", "lost": "Closed Lost"}))
    o = o.astype({"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str"})
    return Dataset(tables={"reps": reps, "opportunities": o, "quotas": quotas}, activities=None,
                   as_of=T("2026-03-29 18:00"))


def _ols(y: list[float]) -> tuple[float, float, float]:
    fit = sm.OLS(np.asarray(y, dtype=float), sm.add_constant(np.arange(len(y), dtype=float))).fit()
    low, high = fit.conf_int(0.05)[1]
    return fit.params[1], low, high


def test_rep_scores_by_hand_on_a_three_week_window():
    s3 = replace(S, segments_window_weeks=3)
    out = segments.rep_scores(_small_dataset(), None, s3)  # the dataset's as-of date by default
    assert list(out.columns) == list(segments._SCORE_COLUMNS)
    assert out.dtypes.astype(str).to_dict() == segments._SCORE_COLUMNS
    assert out["rep_id"].tolist() == ["x", "y", "z"]  # by team, then rep
    assert out["rep_name"].tolist() == ["x", "y", "z"]  # no names: the ids
    assert out["team"].tolist() == ["T1", "T1", "T2"]
    assert (out["as_of"] == T("2026-03-29 18:00")).all()
    assert (out["window_start"] == T("2026-03-09")).all() and (out["window_end"] == T("2026-03-30")).all()
    q = 1000 * 21 / 31  # March's quota prorated to its 21 days in the window
    x, y, z = (out.iloc[i] for i in range(3))
    assert (x["won_revenue"], y["won_revenue"], z["won_revenue"]) == (500.0, 0.0, 300.0)
    assert x["quota"] == pytest.approx(q) and y["quota"] == 0.0 and z["quota"] == pytest.approx(q)
    assert x["attainment"] == pytest.approx(500 / q) and np.isnan(y["attainment"])
    assert z["attainment"] == pytest.approx(300 / q)
    assert out["won_deals"].tolist() == [2, 0, 2]
    # one month (March, 21 days >= 14) with quota for x and z; none for y
    assert out["months"].tolist() == [1, 0, 1] and out["months_at_quota"].tolist() == [0, 0, 0]
    assert x["months_at_quota_share"] == 0.0 and np.isnan(y["months_at_quota_share"])
    assert x["attainment_cv"] == 0.0 and np.isnan(y["attainment_cv"])  # one month: no spread
    # weekly won revenue: x 100, 0, 400; y nothing (flat, exactly 0); z 0, 300, 0
    assert (x["trend_slope"], x["trend_ci_low"], x["trend_ci_high"]) == pytest.approx(_ols([100, 0, 400]))
    assert x["trend_slope"] == pytest.approx(150.0)  # Sxy 300 / Sxx 2
    assert (y["trend_slope"], y["trend_ci_low"], y["trend_ci_high"]) == (0.0, 0.0, 0.0)
    assert (z["trend_slope"], z["trend_ci_low"], z["trend_ci_high"]) == pytest.approx(_ols([0, 300, 0]), abs=1e-9)
    # confidence: x from 100 and 400 (shape 500^2 / 170000, scale 340); z from 300 alone (the 0 is dropped)
    gx, gz = sps.gamma(250000 / 170000, scale=340.0), sps.gamma(1.0, scale=300.0)
    assert (x["attainment_ci_low"], x["attainment_ci_high"], x["p_at_quota"]) == pytest.approx(
        (gx.ppf(0.025) / q, gx.ppf(0.975) / q, gx.sf(q)))
    assert (z["attainment_ci_low"], z["attainment_ci_high"], z["p_at_quota"]) == pytest.approx(
        (gz.ppf(0.025) / q, gz.ppf(0.975) / q, gz.sf(q)))
    assert np.isnan(y["p_at_quota"]) and np.isnan(y["attainment_ci_low"])
    # win rate percentiles within each team: x (2/2) above y (0/1) in T1: 75 and 25; z alone in T2: 50
    assert out["competency_percentile"].tolist() == [75.0, 25.0, 50.0]
    assert out["n_competencies"].tolist() == [1, 1, 1]
    assert out["tenure_days"].isna().all()


def test_rep_scores_trend_needs_three_weeks():
    out = segments.rep_scores(_small_dataset(), "2026-03-29", replace(S, segments_window_weeks=2))
    assert out[["trend_slope", "trend_ci_low", "trend_ci_high"]].isna().all().all()  # two points: no trend


def test_rep_scores_with_deals_only_outside_the_window():
    ds = _small_dataset()
    # only o3 (won the evening before the window) and o4 (won on its exclusive end) are left;
    # z's quota is 0.5 a month (a month with any positive quota counts); the reps have names
    opps = ds.opportunities.loc[ds.opportunities["opportunity_id"].isin(["o3", "o4"])]
    quotas = ds.table("quotas").assign(quota=lambda q: q["quota"].where(q["rep_id"] != "z", 0.5))
    reps = ds.reps.assign(rep_name=lambda r: r["rep_id"].map({"x": "Xia", "y": "Yan", "z": "Zoe"}))
    outside = replace(ds, tables={**ds.tables, "opportunities": opps, "quotas": quotas, "reps": reps})
    out = segments.rep_scores(outside, "2026-03-29", replace(S, segments_window_weeks=3)).set_index("rep_id")
    assert out["rep_name"].tolist() == ["Xia", "Yan", "Zoe"]
    # nothing decided inside the window: no funnel rate, so no percentile and no competency counted
    assert out["competency_percentile"].isna().all() and (out["n_competencies"] == 0).all()
    assert (out["won_revenue"] == 0.0).all() and (out["won_deals"] == 0).all()
    # x: a month at 0 of its quota: not at quota, and no coefficient of variation around a mean of 0
    assert out.loc["x", "attainment"] == 0.0 and out.loc["x", "months"] == 1
    assert out.loc["x", "months_at_quota"] == 0 and np.isnan(out.loc["x", "attainment_cv"])
    assert out.loc["z", "quota"] == pytest.approx(0.5 * 21 / 31) and out.loc["z", "months"] == 1
    assert out.loc["z", "attainment"] == 0.0
    # every rep hired after the as-of date: an empty table with every column
    hired = replace(outside, tables={**outside.tables, "reps": reps.assign(hire_date=T("2027-01-01")).astype(
        {"hire_date": US})})
    empty = segments.rep_scores(hired, "2026-03-29", S)
    assert empty.empty and empty.dtypes.astype(str).to_dict() == segments._SCORE_COLUMNS


def test_a_window_starting_on_the_first_of_a_month():
    # as of Sunday 1 March 2026 the 13-week window is [Monday 1 December 2025, 2 March 2026):
    # December counts whole: quota 3100, won 3000, 97% (not at quota); January and February nothing
    reps = pd.DataFrame({"rep_id": ["a"], "team": ["T"], "manager": ["M"]}).astype("str")
    quotas = pd.DataFrame({"rep_id": "a", "period_start": pd.to_datetime(["2025-12-01", "2026-01-01", "2026-02-01"]),
                           "period_end": pd.to_datetime(["2025-12-31", "2026-01-31", "2026-02-28"]),
                           "quota": [3100.0, 3100.0, 2800.0]}).astype(
        {"rep_id": "str", "period_start": US, "period_end": US})
    closed = pd.Series([T("2025-12-10")], dtype=US)
    opps = pd.DataFrame({"opportunity_id": ["o1"], "rep_id": ["a"], "created_at": closed - pd.Timedelta(days=5),
                         "amount": [3000.0], "status": ["won"], "closed_at": closed, "stage": ["Closed Won"],
                         "expected_close_date": closed}).astype(
        {"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str"})
    ds = Dataset(tables={"reps": reps, "opportunities": opps, "quotas": quotas}, activities=None, as_of=T("2026-03-01"))
    a = segments.rep_scores(ds, None, S).iloc[0]
    assert (a["window_start"], a["window_end"]) == (T("2025-12-01"), T("2026-03-02"))
    assert a["months"] == 3 and a["months_at_quota"] == 0  # 1 March alone is not a month
    monthly = np.array([3000 / 3100, 0.0, 0.0])
    assert a["attainment_cv"] == pytest.approx(monthly.std() / monthly.mean())
    assert a["attainment"] == pytest.approx(3000 / (3100 + 3100 + 2800))


# --- the hysteresis over several reps and teams -------------------------------------------------


def _evaluations(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["rep_id", "team", "as_of", "segment", "attainment"])
    return frame.assign(as_of=pd.to_datetime(frame["as_of"]).astype(US), rep_name="n", reason="r")


def test_hysteresis_after_ramping_and_its_order():
    ev = _evaluations([
        ("p", "T2", "2026-03-31", DEV, 0.9),
        ("q", "T1", "2026-01-31", HO, 0.5),
        ("p", "T2", "2026-01-31", RAMP, 0.1),
        ("q", "T1", "2026-03-31", HO, 0.5),
        ("p", "T2", "2026-02-28", RAMP, 0.2),
        ("q", "T1", "2026-02-28", HO, 0.7),
    ])
    h = segments.hysteresis(ev)  # the packaged settings by default
    assert list(zip(h["as_of"].dt.strftime("%m-%d"), h["rep_id"], strict=True)) == [
        ("01-31", "q"), ("01-31", "p"), ("02-28", "q"), ("02-28", "p"), ("03-31", "q"), ("03-31", "p")]
    assert h["segment"].tolist() == [HO, RAMP, HO, RAMP, HO, DEV]
    assert h["rule_segment"].tolist() == [HO, RAMP, HO, RAMP, HO, DEV]
    assert h["reason"].tolist() == [
        "hands_on: first evaluation, as the rules say; r",
        "ramping (tenure rule); r",
        "hands_on; r",
        "ramping (tenure rule); r",
        "hands_on; r",
        "developing: first evaluation, as the rules say; r",  # the first after ramping
    ]
    # p: ramping from 31 January, developing from 31 March
    assert h["segment_since"].dt.strftime("%m-%d").tolist() == ["01-31", "01-31", "01-31", "01-31", "01-31", "03-31"]
    assert h["segment_since"].dtype == US
    # q at 70% twice under the developing rule (80%), not past it: nothing pending
    assert h["pending_segment"].tolist() == ["", "", "", "", "", ""]
    assert h["pending_evaluations"].tolist() == [0] * 6 and h["pending_evaluations"].dtype == "int64"
    assert h["management_style"].tolist() == [segments.MANAGEMENT_STYLES[s] for s in h["segment"]]
    assert h["reason"].dtype == "str" and h["segment"].dtype == "str" and h["pending_segment"].dtype == "str"


def test_hysteresis_columns_without_a_team_and_of_nothing():
    ev = _evaluations([("q", "T1", "2026-02-28", HO, 0.5), ("p", "T1", "2026-01-31", DEV, 0.9),
                       ("q", "T1", "2026-01-31", HO, 0.5)]).drop(columns="team")
    h = segments.hysteresis(ev, S)
    assert list(h.columns) == ["rep_id", "as_of", "segment", "attainment", "rep_name", "reason", "rule_segment",
                               "segment_since", "pending_segment", "pending_evaluations", "management_style"]
    assert list(zip(h["as_of"].dt.strftime("%m-%d"), h["rep_id"], strict=True)) == [
        ("01-31", "p"), ("01-31", "q"), ("02-28", "q")]  # by date, then rep
    assert list(h.index) == [0, 1, 2]
    empty = segments.hysteresis(ev.iloc[:0], S)
    assert empty.empty and list(empty.columns) == list(h.columns)
    assert all(empty[c].dtype == "str" for c in ("segment", "rule_segment", "pending_segment", "reason",
                                                 "management_style"))
    assert empty["segment_since"].dtype == US and empty["pending_evaluations"].dtype == "int64"


def test_hysteresis_refuses_an_unknown_segment():
    ev = _evaluations([("p", "T", "2026-01-31", HO, 0.5), ("p", "T", "2026-02-28", "boss", 0.5)])
    with pytest.raises(ValueError, match=r"^unknown segment 'boss' in evaluations$"):
        segments.hysteresis(ev, S)


def test_hysteresis_pending_moves_and_their_words():
    # enter 3, exit 2 (defaults). r: hands_on, then developing twice (pending developing 1, 2);
    # s: self_sustained, then under the 85% line once (pending down, 1 of 2), then above the
    # developing line only (held at or above the exit line? 0.9 >= 0.85: held, the rules say developing)
    ev = _evaluations([
        ("r", "T", "2026-01-31", HO, 0.5), ("r", "T", "2026-02-28", DEV, 0.85), ("r", "T", "2026-03-31", DEV, 0.85),
        ("s", "T", "2026-01-31", SS, 1.2), ("s", "T", "2026-02-28", DEV, 0.8), ("s", "T", "2026-03-31", DEV, 0.9),
    ])
    h = segments.hysteresis(ev, S)
    r, s = h.loc[h["rep_id"] == "r"], h.loc[h["rep_id"] == "s"]
    assert r["segment"].tolist() == [HO, HO, HO] and r["pending_segment"].tolist() == ["", DEV, DEV]
    assert r["pending_evaluations"].tolist() == [0, 1, 2]
    assert r["reason"].tolist()[1:] == [
        "stays hands_on: the developing rule holds at 1 of the 3 evaluations in a row needed to enter; r",
        "stays hands_on: the developing rule holds at 2 of the 3 evaluations in a row needed to enter; r"]
    assert s["segment"].tolist() == [SS, SS, SS] and s["pending_segment"].tolist() == ["", DEV, ""]
    assert s["pending_evaluations"].tolist() == [0, 1, 0]
    assert s["reason"].tolist()[1:] == [
        "stays self_sustained: attainment under its 85% exit line at 1 of the 2 evaluations in a row needed to leave; r",
        "stays self_sustained: attainment is at or above its 85% exit line (the rules alone say developing); r"]


# --- history dates, weekly histories, current segments without hire dates ----------------------


def test_segment_history_dates_by_month_and_by_week():
    ds = _small_dataset()
    s3 = replace(S, segments_window_weeks=3)
    # first quota 1 January + 3 weeks = 22 January: month ends 31 January and 28 February as of 1 March
    monthly = segments.segment_history(ds, s3, as_of="2026-03-01")
    assert sorted(monthly["as_of"].unique()) == [T("2026-01-31"), T("2026-02-28")]
    assert len(monthly) == 6 and monthly["as_of"].dtype == US
    # Sundays from 22 January: 25 January, 1 and 8 February (the as-of day itself counts)
    weekly = segments.segment_history(ds, s3, "week", as_of="2026-02-08 10:00")
    assert sorted(weekly["as_of"].unique()) == [T("2026-01-25"), T("2026-02-01"), T("2026-02-08")]
    # the dataset's as-of date by default (29 March): two month ends and ...
    assert sorted(segments.segment_history(ds, s3)["as_of"].unique()) == [T("2026-01-31"), T("2026-02-28")]
    # before the first full window: the as-of date alone, normalised
    early = segments.segment_history(ds, s3, as_of="2026-01-20 15:00")
    assert sorted(early["as_of"].unique()) == [T("2026-01-20")]
    with pytest.raises(ValueError, match=r"^freq must be 'month' or 'week', not 'day'$"):
        segments.segment_history(ds, s3, "day")


def test_segment_history_uses_its_settings_for_the_scores_the_rules_and_the_hysteresis():
    # a 3-week window, developing from 10% of quota, entering after one evaluation: z wins 300 on
    # 17 March, so on 15 March (window [23 Feb, 16 Mar)) it has nothing, hands_on; on 22 March
    # (window [2 Mar, 23 Mar)) 300 / (1000 x 21/31) = 44%: developing at once
    s = replace(S, segments_window_weeks=3, segments_developing_attainment=0.1, segments_developing_exit_attainment=0.1,
                segments_improving_attainment=0.1, segments_enter_evaluations=1)
    h = segments.segment_history(_small_dataset(), s, dates=["2026-03-15", "2026-03-22"])
    z = h.loc[h["rep_id"] == "z"]
    assert z["window_start"].tolist() == [T("2026-02-23"), T("2026-03-02")]
    assert z["attainment"].tolist() == pytest.approx([0.0, 300 / (1000 * 21 / 31)])
    assert z["rule_segment"].tolist() == [HO, DEV] and z["segment"].tolist() == [HO, DEV]


def test_the_bands_and_counts_are_refused_with_their_names():
    row = segments.segment(_scored(attainment=[1.2], months=[3], months_at_quota=[3], months_at_quota_share=[1.0],
                                   competency_percentile=[70.0], trend_slope=[0.0], trend_ci_low=[-1.0],
                                   tenure_days=[1000.0]), S).assign(rep_id="r", as_of=T("2026-01-31"))
    bad = replace(S, segments_developing_exit_attainment=0.81)
    with pytest.raises(ValueError, match=r"^segments\.developing_exit_attainment \(0\.81\) must not be above "
                                         r"segments\.developing_attainment \(0\.8\)$"):
        segments.hysteresis(row, bad)
    with pytest.raises(ValueError, match=r"^segments\.self_sustained_exit_attainment \(1\.1\) must not be above "
                                         r"segments\.self_sustained_attainment \(1\.0\)$"):
        segments.hysteresis(row, replace(S, segments_self_sustained_exit_attainment=1.1))
    # an exit line on its entry line is allowed (no band)
    same = replace(S, segments_developing_exit_attainment=0.8, segments_self_sustained_exit_attainment=1.0)
    assert segments.hysteresis(row, same)["segment"].tolist() == [SS]
    with pytest.raises(ValueError, match=r"^segments\.exit_evaluations must be at least 1, not 0$"):
        segments.hysteresis(row, replace(S, segments_exit_evaluations=0))
    with pytest.raises(ValueError, match=r"^segments\.enter_evaluations must be at least 1, not 0$"):
        segments.hysteresis(row, replace(S, segments_enter_evaluations=0))
    assert segments.hysteresis(row, replace(S, segments_enter_evaluations=1, segments_exit_evaluations=1))[
        "segment"].tolist() == [SS]
    with pytest.raises(ValueError, match=r"^enter_evaluations must be at least 1, not 0$"):
        segments.hysteresis_path([1], [1], enter=0)
    with pytest.raises(ValueError, match=r"^exit_evaluations must be at least 1, not -1$"):
        segments.hysteresis_path([1], [1], exit=-1)
    with pytest.raises(ValueError, match=r"^entry and hold must have one level per evaluation each$"):
        segments.hysteresis_path([1, 1], [1])
    # the smallest counts are allowed: one evaluation decides either way
    assert segments.hysteresis_path([1, 3, 1], [1, 3, 1], enter=1, exit=1) == [1, 3, 1]


def test_current_segments_without_hire_dates():
    ds = _small_dataset()
    s3 = replace(S, segments_window_weeks=3)
    cur = segments.current_segments(ds, "2026-03-29", s3)
    assert cur["rep_id"].tolist() == ["x", "y", "z"] and (cur["evaluated_as_of"] == T("2026-02-28")).all()
    assert (cur["as_of"] == T("2026-03-29")).all() and cur["as_of"].dtype == US and cur["evaluated_as_of"].dtype == US
    assert list(cur.index) == [0, 1, 2] and "index" not in cur.columns
    assert cur.columns[-1] == "evaluated_as_of"
    default = segments.current_segments(ds, settings=s3)  # the dataset's as-of date
    assert (default["as_of"] == T("2026-03-29 18:00")).all()
    # as of 27 February the history stops at 31 January (not at the dataset's own as-of date)
    before = segments.current_segments(ds, "2026-02-27", s3)
    assert (before["evaluated_as_of"] == T("2026-01-31")).all() and (before["as_of"] == T("2026-02-27")).all()


# --- transitions and stability ----------------------------------------------------------------


def _history(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["rep_id", "team", "as_of", "segment"])
    return frame.assign(as_of=pd.to_datetime(frame["as_of"]).astype(US), rep_name=frame["rep_id"].str.upper(),
                        reason="why " + frame["segment"])


def test_transitions_table_by_hand():
    h = _history([
        ("b", "T2", "2026-02-28", SS), ("a", "T1", "2026-03-31", HO), ("b", "T2", "2026-01-31", DEV),
        ("a", "T1", "2026-01-31", HO), ("a", "T1", "2026-02-28", DEV), ("c", "T1", "2026-02-28", HO),
        ("b", "T2", "2026-03-31", SS), ("c", "T1", "2026-01-31", RAMP),
    ])
    t = segments.transitions(h)
    assert list(t.columns) == ["rep_id", "rep_name", "team", "previous_as_of", "as_of", "from_segment", "to_segment",
                               "direction", "reversal", "held_evaluations", "reason"]
    expected = pd.DataFrame({
        "rep_id": ["a", "c", "b", "a"], "rep_name": ["A", "C", "B", "A"], "team": ["T1", "T1", "T2", "T1"],
        "previous_as_of": pd.to_datetime(["2026-01-31", "2026-01-31", "2026-01-31", "2026-02-28"]).astype(US),
        "as_of": pd.to_datetime(["2026-02-28", "2026-02-28", "2026-02-28", "2026-03-31"]).astype(US),
        "from_segment": [HO, RAMP, DEV, DEV], "to_segment": [DEV, HO, SS, HO],
        "direction": ["up", "graduated", "up", "down"], "reversal": [False, False, False, True],
        "held_evaluations": [1, 1, 1, 1], "reason": ["why developing", "why hands_on", "why self_sustained",
                                                      "why hands_on"],
    }).astype({"rep_id": "str", "rep_name": "str", "team": "str", "from_segment": "str", "to_segment": "str",
               "direction": "str", "reason": "str"})
    pd.testing.assert_frame_equal(t, expected)


def test_stability_of_a_history_without_pairs_and_of_one_with():
    one = _history([("a", "T1", "2026-01-31", HO), ("b", "T1", "2026-01-31", SS)])
    st = segments.stability(one)
    assert list(st.columns) == ["evaluations", "reps", "pairs", "transitions", "share_changing", "up", "down",
                                "graduated", "reversals", "blip_reversals", "reps_three_segments"]
    row = st.iloc[0]
    assert (row["evaluations"], row["reps"], row["pairs"], row["transitions"]) == (1, 2, 0, 0)
    assert np.isnan(row["share_changing"])
    two = _history([("a", "T1", "2026-01-31", HO), ("a", "T1", "2026-02-28", DEV), ("a", "T1", "2026-03-31", HO),
                    ("b", "T1", "2026-01-31", RAMP), ("b", "T1", "2026-02-28", RAMP), ("b", "T1", "2026-03-31", HO)])
    row = segments.stability(two).iloc[0]
    # a: up, then back down (a blip reversal after one evaluation); b: graduated
    assert (row["evaluations"], row["reps"], row["pairs"], row["transitions"]) == (3, 2, 4, 3)
    assert row["share_changing"] == 0.75
    assert (row["up"], row["down"], row["graduated"], row["reversals"], row["blip_reversals"]) == (1, 1, 1, 1, 1)
    assert row["reps_three_segments"] == 0


def test_an_unreadable_as_of_date_is_named_in_the_message():
    ds = _small_dataset()
    message = r"^as-of date 'soon' is not a date \(expected YYYY-MM-DD\)$"
    with pytest.raises(ValueError, match=message):
        segments.rep_scores(ds, "soon", S)
    with pytest.raises(ValueError, match=message):
        segments.segment_history(ds, S, as_of="soon")
    with pytest.raises(ValueError, match=message):
        segments.current_segments(ds, "soon", S)


def test_a_rep_hired_since_the_last_month_end_is_judged_with_the_settings():
    # z hired on 20 March 2026: not in the month ends of January and February; as of 29 March,
    # 9 days in: past a 5-day ramp, so the rules judge it on its 3-week window [9 Mar, 30 Mar):
    # 300 / (1000 x 21/31) = 44%, hands_on
    ds = _small_dataset()
    reps = ds.reps.assign(hire_date=pd.to_datetime(["2026-03-20", "2020-01-01", "2020-01-01"])).astype({"hire_date": US})
    hired = replace(ds, tables={**ds.tables, "reps": reps})
    s = replace(S, segments_window_weeks=3, segments_ramping_days=5)
    cur = segments.current_segments(hired, "2026-03-29", s).set_index("rep_id")
    assert cur.loc["z", "evaluated_as_of"] == T("2026-03-29") and cur.loc["x", "evaluated_as_of"] == T("2026-02-28")
    assert cur.loc["z", "window_start"] == T("2026-03-09") and cur.loc["z", "tenure_days"] == 9.0
    assert cur.loc["z", "segment"] == HO and cur.loc["z", "reason"].startswith("hands_on: first evaluation")
