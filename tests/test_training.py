"""Tests of salesx2lib.training: the difference in differences by hand, and a known lift recovered."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from salesx2lib import training
from salesx2lib.dataset import Dataset, MissingTableError

T = pd.Timestamp("2026-05-04 09:00")  # the training; 8-week windows around it
N_CONTROL = 10


def _frame_opps(rows) -> pd.DataFrame:
    columns = ["opportunity_id", "rep_id", "created_at", "amount", "status", "closed_at"]
    o = rows[columns] if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
    o = o.astype({"created_at": "datetime64[us]", "closed_at": "datetime64[us]", "amount": "float64"})
    return o.assign(stage=o["status"], expected_close_date=o["closed_at"].dt.normalize()).astype(
        {"opportunity_id": "str", "rep_id": "str", "status": "str", "stage": "str", "created_at": "datetime64[us]",
         "closed_at": "datetime64[us]", "expected_close_date": "datetime64[us]"})


def _reps(n: int) -> pd.DataFrame:
    ids = ["t", *[f"c{i}" for i in range(n)]]
    return pd.DataFrame({"rep_id": ids, "rep_name": ids, "team": "T", "manager": "M"}).astype("str")


def _synthetic(competency: str, lift: float, seed: int, per_day: int = 5) -> Dataset:
    """Trained rep t and 10 untrained reps, ``per_day`` deals a day each over 8 weeks before and after T.

    Every deal is won with probability 0.3 and has an amount ~ lognormal(8, 0.45); from T on,
    rep t's deals are won with probability 0.3 + lift (win_rate) or are 1 + lift times larger
    (deal_size). Each deal closes 10 days after it was created."""
    rng = np.random.default_rng(seed)
    reps = _reps(N_CONTROL)["rep_id"].to_numpy()
    hours = pd.date_range(T - pd.Timedelta(weeks=8), T + pd.Timedelta(weeks=8), freq="D", inclusive="left")
    created = (hours.to_numpy()[:, None] + np.arange(per_day)[None, :] * np.timedelta64(1, "h")).ravel()
    rep = np.repeat(reps, len(created))
    created = np.tile(created, len(reps))
    treated = (rep == "t") & (created >= T.to_datetime64())
    p = 0.3 + np.where(treated & (competency == "win_rate"), lift, 0.0)
    log_amount = 8 + 0.45 * rng.standard_normal(len(rep)) + np.where(treated & (competency == "deal_size"), np.log1p(lift), 0.0)
    status = np.where(rng.random(len(rep)) < p, "won", "lost")
    rows = pd.DataFrame({"opportunity_id": [f"o{i}" for i in range(len(rep))], "rep_id": rep, "created_at": created,
                         "amount": np.exp(log_amount), "status": status, "closed_at": created + np.timedelta64(10, "D")})
    trainings = pd.DataFrame({"rep_id": ["t"], "competency": [competency], "completed_at": [T]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": "datetime64[us]"})
    return Dataset(tables={"reps": _reps(N_CONTROL), "opportunities": _frame_opps(rows), "trainings": trainings},
                   activities=None, as_of=pd.Timestamp("2026-09-01"))


@pytest.mark.parametrize(("competency", "lift", "seed"), [("win_rate", 0.2, 1), ("deal_size", 0.25, 1)])
def test_a_known_lift_is_recovered_within_its_interval(competency, lift, seed):
    row = training.training_effects(_synthetic(competency, lift, seed)).iloc[0]
    assert row["ci_low"] <= lift <= row["ci_high"]
    assert row["significant"] and row["ci_low"] > 0
    assert row["n_control_reps"] == N_CONTROL and row["window_days"] == 56 and row["warning"] == ""


@pytest.mark.parametrize("competency", ["win_rate", "deal_size"])
def test_no_lift_gives_an_interval_containing_zero(competency):
    row = training.training_effects(_synthetic(competency, 0.0, seed=1)).iloc[0]
    assert row["ci_low"] < 0 < row["ci_high"]
    assert not row["significant"]


@pytest.mark.parametrize(("competency", "lift"), [("win_rate", 0.0), ("win_rate", 0.15), ("deal_size", 0.25)])
def test_the_interval_covers_the_true_lift_about_95_percent_of_the_time(competency, lift):
    """Not one lucky seed: over 40 seeds the 95% interval holds the true lift at least 34 times
    (P(fewer) < 0.001 for a true 95% coverage; a too-narrow interval fails)."""
    rows = pd.concat([training.training_effects(_synthetic(competency, lift, seed, per_day=2)) for seed in range(100, 140)])
    covered = ((rows["ci_low"] <= lift) & (lift <= rows["ci_high"])).sum()
    assert covered >= 34


def _activity_dataset() -> Dataset:
    """conversation_to_appointment: t 2/10 before, 6/10 after; control c0 3/10 in both windows."""
    acts = []
    for rep, when, conv, appt in (("t", "2026-04-20", 10, 2), ("t", "2026-05-11", 10, 6),
                                  ("c0", "2026-04-20", 10, 3), ("c0", "2026-05-11", 10, 3)):
        acts += [(rep, when, "conversation")] * conv + [(rep, when, "appointment")] * appt
    a = pd.DataFrame(acts, columns=["rep_id", "occurred_at", "activity_type"])
    a = a.assign(activity_id=[f"x{i}" for i in range(len(a))], occurred_at=pd.to_datetime(a["occurred_at"]).astype("datetime64[us]"),
                 opportunity_id=pd.Series(None, index=a.index, dtype="str"))
    trainings = pd.DataFrame({"rep_id": ["t"], "competency": ["conversation_to_appointment"], "completed_at": [T]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": "datetime64[us]"})
    return Dataset(tables={"reps": _reps(1), "opportunities": _frame_opps([]), "trainings": trainings},
                   activities=ibis.memtable(a), as_of=pd.Timestamp("2026-09-01"))


def test_rate_difference_in_differences_by_hand():
    row = training.training_effects(_activity_dataset()).iloc[0]
    assert (row["rep_before"], row["rep_after"], row["control_before"], row["control_after"]) == pytest.approx((0.2, 0.6, 0.3, 0.3))
    assert row["effect"] == pytest.approx(0.4)
    half = 1.96 * np.sqrt(0.2 * 0.8 / 10 + 0.6 * 0.4 / 10 + 2 * 0.3 * 0.7 / 10)
    assert row["ci_low"] == pytest.approx(0.4 - half, abs=1e-3) and row["ci_high"] == pytest.approx(0.4 + half, abs=1e-3)
    assert row["effect_unit"] == "rate points"
    assert "too few conversations to tell: 10 before, 10 after" in row["warning"]


def test_after_window_cut_to_the_end_of_the_data():
    ds = _activity_dataset()
    short = Dataset(tables=ds.tables, activities=ds.activities, as_of=T + pd.Timedelta(days=20))
    row = training.training_effects(short).iloc[0]
    assert row["window_days"] == 20 and "windows cut to 20 days" in row["warning"]


def test_needs_trainings():
    ds = _activity_dataset()
    bare = Dataset(tables={k: v for k, v in ds.tables.items() if k != "trainings"}, activities=None, as_of=ds.as_of)
    with pytest.raises(MissingTableError, match="trainings"):
        training.training_effects(bare)
