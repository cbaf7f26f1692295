"""Tests of salesx2lib.cycle written to kill mutants `make mutate` found surviving.

Uses the hand-built fixture of tests/test_cycle.py; expected values worked out by hand.
"""

from __future__ import annotations

import pytest
from test_cycle import AS_OF, OPPS, REPS

from salesx2lib.cycle import cycle_curve, sales_cycle, win_within
from salesx2lib.dataset import Dataset


def _dataset() -> Dataset:
    return Dataset(tables={"reps": REPS, "opportunities": OPPS}, activities=None, as_of=AS_OF)


def test_cycle_curve_with_two_points_by_hand():
    # Longest duration 60 d (team A's open deals on 1 Mar): with 2 points the step is
    # ceil(60 / 1) = 60, so the grid is 0 and 60. Team A: decided at 10 (of 5), 20 (of 4),
    # 30 (of 3): S(60) = 4/5 * 3/4 * 2/3 = 0.4, two still at risk. Team B: 5 (of 3),
    # 15 (of 2): S = 1/3, nobody observed 60 days.
    curve = cycle_curve(_dataset(), max_points=2)
    assert curve.columns.tolist() == ["team", "days", "n_at_risk", "survival", "ci_low", "ci_high"]
    assert curve["team"].tolist() == ["A", "A", "B", "B", "all", "all"]
    assert curve["days"].tolist() == [0.0, 60.0] * 3
    assert curve["n_at_risk"].tolist() == [5, 2, 3, 0, 8, 2]
    assert curve["survival"].tolist() == pytest.approx([1.0, 0.4, 1.0, 1 / 3, 1.0, 1 / 3])
    assert (curve["ci_low"] <= curve["survival"]).all() and (curve["survival"] <= curve["ci_high"]).all()


def test_cycle_curve_needs_two_points_with_its_message():
    with pytest.raises(ValueError, match=r"^max_points must be at least 2, not 1$"):
        cycle_curve(_dataset(), max_points=1)


def test_sales_cycle_names_both_ends_of_the_median_interval():
    out = sales_cycle(_dataset())
    assert {"km_median_ci_low", "km_median_ci_high"} <= set(out.columns)


def test_win_within_index_and_columns():
    out = win_within(_dataset())
    assert out.index.tolist() == list(range(len(out)))
    assert out.columns.tolist() == ["team", "cohort", "within_days", "n", "n_judged", "n_too_young",
                                    "n_before_start", "n_won", "win_probability", "ci_low", "ci_high", "complete"]


def test_win_within_refuses_an_unknown_frequency_with_its_message():
    with pytest.raises(ValueError, match=r"^freq must be one of week, month, quarter, not 'day'$"):
        win_within(_dataset(), freq="day")
