"""Sales cycle with censoring and the time-bounded win probability, on hand-built fixtures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesx2lib.cycle import CYCLE_COLUMNS, cycle_curve, cycle_durations, data_start, sales_cycle, win_within
from salesx2lib.dataset import Dataset

AS_OF = pd.Timestamp("2024-03-01")


def _opps(rows: list[tuple[str, str, str, str, float | None]]) -> pd.DataFrame:
    """(id, rep, created, status, days to close or None) -> an opportunities table."""
    ids, reps, created, status, closed = [], [], [], [], []
    for oid, rep, c, st, days in rows:
        ids.append(oid)
        reps.append(rep)
        created.append(pd.Timestamp(c))
        status.append(st)
        closed.append(pd.Timestamp(c) + pd.Timedelta(days=days) if days is not None else pd.NaT)
    stage = {"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}
    return pd.DataFrame(
        {
            "opportunity_id": pd.array(ids, dtype="str"),
            "rep_id": pd.array(reps, dtype="str"),
            "created_at": pd.Series(created, dtype="datetime64[us]"),
            "amount": 100.0,
            "stage": pd.array([stage[s] for s in status], dtype="str"),
            "status": pd.array(status, dtype="str"),
            "expected_close_date": pd.Series([pd.Timestamp("2024-04-01")] * len(ids), dtype="datetime64[us]"),
            "closed_at": pd.Series(closed, dtype="datetime64[us]"),
        }
    )


REPS = pd.DataFrame(
    {
        "rep_id": pd.array(["a1", "b1"], dtype="str"),
        "rep_name": pd.array(["Ann", "Bob"], dtype="str"),
        "team": pd.array(["A", "B"], dtype="str"),
        "manager": pd.array(["M", "M"], dtype="str"),
    }
)

# Team A (created 1 Jan): won at 10 d, lost at 20 d, won at 30 d, two open (60 d old on 1 Mar).
# Team B (created 1 Feb, 29 d old on 1 Mar): won at 5 d, lost at 15 d, one open.
OPPS = _opps(
    [
        ("A1", "a1", "2024-01-01", "won", 10),
        ("A2", "a1", "2024-01-01", "lost", 20),
        ("A3", "a1", "2024-01-01", "won", 30),
        ("A4", "a1", "2024-01-01", "open", None),
        ("A5", "a1", "2024-01-01", "open", None),
        ("B1", "b1", "2024-02-01", "won", 5),
        ("B2", "b1", "2024-02-01", "lost", 15),
        ("B3", "b1", "2024-02-01", "open", None),
    ]
)


@pytest.fixture()
def dataset() -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS}, activities=None, as_of=AS_OF)


def test_durations_censor_open_deals_at_as_of():
    d = cycle_durations(OPPS, AS_OF).set_index("opportunity_id")
    assert d.loc["A1", "days"] == 10 and d.loc["A1", "decided"]
    assert d.loc["A4", "days"] == 60 and not d.loc["A4", "decided"]
    assert d.loc["B3", "days"] == 29 and d.loc["B3", "status"] == "open"


def test_cycle_table_by_hand(dataset):
    out = sales_cycle(dataset)
    assert list(out.columns) == list(CYCLE_COLUMNS)
    assert out["team"].tolist() == ["A", "B", "all"]
    a, b, everyone = (out.iloc[i] for i in range(3))
    # Team A: S(10)=4/5, S(20)=3/5, S(30)=2/5 -> median 30, q25 20, q75 not reached.
    assert (a.n, a.n_won, a.n_lost, a.n_open) == (5, 2, 1, 2)
    assert a.km_median_days == 30 and a.km_q25_days == 20 and math.isnan(a.km_q75_days)
    # The naive median of won deals (10, 30) says 20: it ignores the two open 60-day-old deals.
    assert a.won_median_days == 20 and a.won_mean_days == 20
    # Team B: S(5)=2/3, S(15)=1/3 -> median 15, q25 5.
    assert b.km_median_days == 15 and b.km_q25_days == 5 and b.won_median_days == 5
    # All: S = 7/8, 3/4, 5/8, 1/2 (at 20, exactly), 1/3 -> median 20 (S <= 0.5), q25 10 (S <= 0.75).
    assert everyone.n == 8 and everyone.km_median_days == 20 and everyone.km_q25_days == 10
    assert math.isnan(everyone.km_q75_days)


def test_past_as_of_treats_later_closes_as_open(dataset):
    out = sales_cycle(dataset, as_of="2024-01-25").set_index("team")
    # Only team A exists; A3 (closed on day 30 = 31 Jan) is still open on 25 Jan.
    assert out.loc["A", "n"] == 5
    assert (out.loc["A", "n_won"], out.loc["A", "n_lost"], out.loc["A", "n_open"]) == (1, 1, 3)
    assert out.loc["B", "n"] == 0 and math.isnan(out.loc["B", "km_median_days"])


def test_median_interval_brackets_the_median(dataset):
    row = sales_cycle(dataset).iloc[-1]
    assert row.km_median_ci_low <= row.km_median_days
    assert np.isnan(row.km_median_ci_high) or row.km_median_ci_high >= row.km_median_days


def test_curve_starts_at_one_and_never_rises(dataset):
    curve = cycle_curve(dataset)
    assert set(curve["team"]) == {"A", "B", "all"}
    for _, g in curve.groupby("team"):
        assert g["survival"].iloc[0] == 1.0 and g["days"].iloc[0] == 0.0
        assert (np.diff(g["survival"]) <= 1e-12).all()
    everyone = curve.loc[curve["team"] == "all"].set_index("days")
    assert everyone.loc[20.0, "survival"] == pytest.approx(0.5)
    assert everyone.loc[20.0, "n_at_risk"] == 5  # durations >= 20: 20, 29, 30, 60, 60


def test_win_within_by_hand_with_young_cohorts(dataset):
    out = win_within(dataset, days=[30, 60, 90])
    a = out.loc[out["team"] == "A"].set_index("within_days")
    # A's January cohort: all 5 judged at 30 and 60 days (1 Jan + 60 d = 1 Mar <= as-of);
    # won within 30 d: A1 (10 d) and A3 (30 d, inclusive).
    assert a.loc[30, "n_judged"] == 5 and a.loc[30, "n_won"] == 2
    assert a.loc[30, "win_probability"] == pytest.approx(0.4) and bool(a.loc[30, "complete"])
    assert a.loc[60, "win_probability"] == pytest.approx(0.4)
    # At 90 days nobody is old enough: no rate, all counted as too young.
    assert a.loc[90, "n_too_young"] == 5 and math.isnan(a.loc[90, "win_probability"])
    assert not bool(a.loc[90, "complete"])
    b = out.loc[out["team"] == "B"].set_index("within_days")
    # B's February cohort is 29 days old: B1's win at 5 d is known but the cohort cannot be
    # judged at 30 d; counting it would report 100% from the fast deals alone.
    assert b.loc[30, "n_judged"] == 0 and b.loc[30, "n_too_young"] == 3
    assert math.isnan(b.loc[30, "win_probability"])
    assert out["cohort"].dtype == "datetime64[us]"
    ci = out.dropna(subset=["win_probability"])
    assert ((ci["ci_low"] <= ci["win_probability"]) & (ci["win_probability"] <= ci["ci_high"])).all()


def test_win_within_uses_settings_windows(dataset):
    out = win_within(dataset)
    assert sorted(out["within_days"].unique().tolist()) == [30, 60, 90]
    assert set(out["team"]) == {"A", "B", "all"}


def test_runs_without_optional_tables(dataset):
    # Only reps and opportunities: the cycle needs nothing else.
    assert not dataset.has("opportunity_history") and not dataset.has("forecasts")
    assert len(sales_cycle(dataset)) == 3


# --- delayed entry: deals created before the data starts ------------------------------

START = "2024-01-15"  # a Monday

# (id, rep, created, status, days to close): before, just before, on and after the start.
TRUNC = _opps(
    [
        ("P1", "a1", "2024-01-10", "won", 20),  # before: enters at 5 d
        ("P2", "a1", "2024-01-14 23:00", "lost", 3),  # one hour before: enters at 1/24 d
        ("P3", "a1", "2024-01-15", "won", 4),  # on the start: from 0
        ("P4", "a1", "2024-01-20", "lost", 2),  # after
        ("P5", "b1", "2024-01-12", "open", None),  # before: enters at 3 d, open 49 d
        ("P6", "b1", "2024-01-16", "won", 10),
        ("P7", "b1", "2024-02-01", "open", None),  # 29 d old on 1 Mar
        ("P8", "a1", "2024-01-05", "won", 6),  # decided before the start: never observed at risk
    ]
)


def _settings(start: str = START):
    from dataclasses import replace

    from salesx2lib.settings import load_settings

    return replace(load_settings(), cycle_data_start=start)


def _trunc_dataset(activities=None) -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": TRUNC}, activities=activities, as_of=AS_OF)


def _acts(*times: str):
    import ibis

    return ibis.memtable(
        pd.DataFrame(
            {
                "activity_id": pd.array([f"X{i}" for i in range(len(times))], dtype="str"),
                "rep_id": pd.array(["a1"] * len(times), dtype="str"),
                "activity_type": pd.array(["call"] * len(times), dtype="str"),
                "occurred_at": pd.Series([pd.Timestamp(t) for t in times], dtype="datetime64[us]"),
            }
        )
    )


def test_data_start_from_settings_activities_or_none():
    ds = _trunc_dataset(_acts("2024-01-15 09:30", "2024-02-03 10:00"))
    # Inferred: midnight of the earliest activity's day.
    assert data_start(ds, _settings("")) == pd.Timestamp("2024-01-15")
    assert data_start(ds, _settings("2024-01-10")) == pd.Timestamp("2024-01-10")
    assert data_start(ds, _settings("none")) is None
    # Without an activity log nothing marks the start.
    assert data_start(_trunc_dataset(), _settings("")) is None
    with pytest.raises(ValueError, match="data_start"):
        data_start(ds, _settings("soon"))


def test_entry_days_before_on_and_after_the_start():
    d = cycle_durations(TRUNC, AS_OF, pd.Timestamp(START)).set_index("opportunity_id")
    assert d.loc["P1", "entry_days"] == 5
    assert d.loc["P2", "entry_days"] == pytest.approx(1 / 24)
    assert d.loc["P3", "entry_days"] == 0 and d.loc["P4", "entry_days"] == 0
    assert d.loc["P5", "entry_days"] == 3 and d.loc["P5", "days"] == 49
    assert d.loc["P8", "entry_days"] == d.loc["P8", "days"] == 6  # clipped: decided before the start
    assert (cycle_durations(TRUNC, AS_OF)["entry_days"] == 0).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels takes log(0) at S = 0
def test_sales_cycle_with_delayed_entry_by_hand_and_statsmodels():
    from statsmodels.duration.survfunc import SurvfuncRight

    ds = _trunc_dataset()
    row = sales_cycle(ds, settings=_settings()).set_index("team").loc["all"]
    # Risk sets (entry < t <= T; P8 never at risk):
    # t=2: P2 P3 P4 P6 P7 -> 5, S=4/5;  t=3: P2 P3 P6 P7 (P5 enters at 3, not before) -> 4, 3/5
    # t=4: P3 P5 P6 P7 -> 4, 9/20 <= 0.5: median 4;  t=10: P1 P5 P6 P7 -> 4, 27/80; t=20: 3 -> 9/40
    assert row.km_median_days == 4 and row.km_q25_days == 3 and row.km_q75_days == 20
    assert row.n == 8
    t = np.array([20, 3, 4, 2, 49, 10, 29.0])
    ref = SurvfuncRight(t, np.array([1, 1, 1, 1, 0, 1, 0.0]), entry=np.array([5, 1 / 24, 0, 0, 3, 0, 0]))
    np.testing.assert_allclose(ref.surv_prob, [4 / 5, 3 / 5, 9 / 20, 27 / 80, 9 / 40])
    lo, hi = ref.quantile_ci(0.5)
    assert row.km_median_ci_low == pytest.approx(lo)
    assert row.km_median_ci_high == pytest.approx(hi) or (math.isnan(row.km_median_ci_high) and math.isinf(hi))
    # Ignoring the start: everyone at risk from 0, S(2) = 7/8, S(3) = 6/8, S(4) = 5/8, S(6) = 4/8.
    naive = sales_cycle(ds, settings=_settings("none")).set_index("team").loc["all"]
    assert naive.km_median_days == 6


def test_curve_at_risk_with_delayed_entry():
    curve = cycle_curve(_trunc_dataset(), settings=_settings())
    everyone = curve.loc[curve["team"] == "all"].set_index("days")
    assert everyone.loc[0.0, "n_at_risk"] == 4  # P3 P4 P6 P7: the late entrants are not there yet
    assert everyone.loc[3.0, "n_at_risk"] == 4  # P2 P3 P6 P7 (P5 enters at 3, after it)
    assert everyone.loc[5.0, "n_at_risk"] == 3  # P5 P6 P7 (P1 enters at 5)
    assert everyone.loc[4.0, "survival"] == pytest.approx(9 / 20)


def test_win_within_leaves_out_deals_created_before_the_start():
    ds = _trunc_dataset()
    month = win_within(ds, settings=_settings(), days=[30]).set_index(["team", "cohort"])
    jan = month.loc[("all", pd.Timestamp("2024-01-01"))]
    # January: P1 P2 P5 P8 created before the start, not judged; P3 P4 P6 judged, P3 P6 won.
    assert (jan.n, jan.n_before_start, jan.n_judged, jan.n_too_young, jan.n_won) == (7, 4, 3, 0, 2)
    assert jan.win_probability == pytest.approx(2 / 3) and not bool(jan.complete)
    week = win_within(ds, settings=_settings(), days=[30], freq="week").set_index(["team", "cohort"])
    # The week starting on the start day (P3 on it, P4, P6) is complete; the week before is not.
    on = week.loc[("all", pd.Timestamp("2024-01-15"))]
    assert (on.n, on.n_before_start, on.n_judged) == (3, 0, 3) and bool(on.complete)
    prior = week.loc[("all", pd.Timestamp("2024-01-08"))]
    assert (prior.n, prior.n_before_start, prior.n_judged) == (3, 3, 0) and not bool(prior.complete)
    assert math.isnan(prior.win_probability)
    # Without a start the same week counts as complete: P2 lost at 3 d, P1 won at 20 d, P5 open.
    naive = win_within(ds, settings=_settings("none"), days=[30], freq="week").set_index(["team", "cohort"])
    assert bool(naive.loc[("all", pd.Timestamp("2024-01-08")), "complete"])
    assert (week["n"] == week["n_judged"] + week["n_too_young"] + week["n_before_start"]).all()


def test_metric_table_passes_the_data_start_setting():
    from salesx2lib.metrics import metric_table

    ds = _trunc_dataset()
    late = metric_table(ds, "cycle", settings=_settings()).set_index("team").loc["all", "km_median_days"]
    naive = metric_table(ds, "cycle", settings=_settings("none")).set_index("team").loc["all", "km_median_days"]
    assert (late, naive) == (4, 6)
