"""Date edges of the period helpers not already pinned in test_periods.py / test_weekly_rule.py."""

from __future__ import annotations

import pandas as pd
import pytest

from salesx2lib import periods

T = pd.Timestamp


def test_trailing_range_refuses_an_empty_range_and_accepts_one_day():
    with pytest.raises(ValueError, match="must be after start"):
        periods.trailing_range("2026-01-25", start="2026-01-05", end="2026-01-05")
    assert periods.trailing_range("2026-01-25", start="2026-01-05", end="2026-01-06") == (T("2026-01-05"), T("2026-01-06"))


def test_weeks_ending_last_week_is_the_given_one():
    # A Sunday names the week of the Monday before it; the next Monday starts a new week.
    assert periods.weeks_ending("2026-11-22 23:59", 1).tolist() == [T("2026-11-16")]
    assert periods.weeks_ending("2026-11-23", 1).tolist() == [T("2026-11-23")]
