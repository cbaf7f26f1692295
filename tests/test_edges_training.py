"""Date edges of the training effect's control pool, by hand (the window edges of the counts
themselves are pinned by test_training.py::test_every_window_edge_counts_on_the_right_side).

Training of rep t at D = 2 March 2026, window L = 28 days: before ``[D - L, D)`` = from 2 Feb,
after ``[D, D + L)`` = to 30 March (excluded). A control must be untrained before the after
window ends (trained at ``D + L`` exactly is still a control, a second earlier is not) and
hired before the before window starts (hired at ``D - L`` exactly is not a control, the day
before is). The win-rate warning counts the deals created in ``[t, D + L)`` still open.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from salesx2lib import training
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

US = "datetime64[us]"
D = pd.Timestamp("2026-03-02")
L = pd.Timedelta(days=28)
REPS = ["t", "a", "trained_at_end", "trained_before_end", "hired_at_start", "hired_day_before"]


def test_control_pool_edges():
    rows = []
    for rep in REPS:
        x = (10, 10, 40) if rep == "t" else (20, 20, 50)
        rows += [(rep, D - L, 100, x[0]), (rep, D - L / 2, 100, x[1]), (rep, D, 200, x[2])]
    events = pd.DataFrame(rows, columns=["rep_id", "at", "n", "x"]).assign(xx=0.0).astype(
        {"rep_id": "str", "at": US, "n": "float64", "x": "float64"})
    hires = {"hired_at_start": D - L, "hired_day_before": D - L - pd.Timedelta(days=1)}
    reps = pd.DataFrame({"rep_id": REPS, "team": "T", "hire_date": [hires.get(r, pd.Timestamp("2020-01-01")) for r in REPS]}
                        ).astype({"rep_id": "str", "team": "str", "hire_date": US})
    trainings = pd.DataFrame({"rep_id": ["t", "trained_at_end", "trained_before_end"],
                              "competency": ["connect_rate"] * 3,
                              "completed_at": [D, D + L, D + L - pd.Timedelta(seconds=1)]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": US})
    s = replace(load_settings(), training_controls=10, training_min_team_controls=1)
    out = training.effects_from_events(events, reps, trainings, kind="rate", start=D - L, as_of=D + L, settings=s, weeks=4)
    row = out.loc[out["rep_id"] == "t"].iloc[0]
    assert set(row["controls"].split(", ")) == {"a", "trained_at_end", "hired_day_before"}


T = pd.Timestamp("2026-05-04 09:30")  # the training; its day + 56 days = 29 June 00:00


def _win_rate_dataset(deals: list[tuple[str, pd.Timestamp, str]]) -> Dataset:
    rows = [("old", pd.Timestamp("2026-01-02"), "won")] + deals
    opps = pd.DataFrame(
        [(oid, "t", c, 100.0, "Closed Won" if st == "won" else "Proposal", st, c + pd.Timedelta(days=20),
          c + pd.Timedelta(days=10) if st == "won" else pd.NaT) for oid, c, st in rows],
        columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"],
    ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str", "status": "str",
              "expected_close_date": US, "closed_at": US})
    reps = pd.DataFrame({"rep_id": ["t"], "rep_name": ["t"], "team": ["T"], "manager": ["M"]}).astype("str")
    trainings = pd.DataFrame({"rep_id": ["t"], "competency": ["win_rate"], "completed_at": [T]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": US})
    return Dataset(tables={"reps": reps, "opportunities": opps, "trainings": trainings}, activities=None,
                   as_of=pd.Timestamp("2026-09-01"))


def test_open_deal_warning_counts_deals_created_from_the_training_instant_to_the_window_end():
    end = T.normalize() + pd.Timedelta(days=56)
    # Created at the training instant and still open: 1 of 3 deals of the after window -> warned.
    on = training.training_effects(_win_rate_dataset(
        [("at_t", T, "open"), ("a", T + pd.Timedelta(days=1), "won"), ("b", T + pd.Timedelta(days=2), "won")])).iloc[0]
    assert on["window_days"] == 56
    assert "1 of the rep's deals created after the training are still open" in on["warning"]
    # A second before the training, or at the window's end: not in the after window -> no warning.
    off = training.training_effects(_win_rate_dataset(
        [("before_t", T - pd.Timedelta(seconds=1), "open"), ("at_end", end, "open"),
         ("a", T + pd.Timedelta(days=1), "won"), ("b", T + pd.Timedelta(days=2), "won")])).iloc[0]
    assert "still open" not in off["warning"]
