"""Week boundaries of the weekly report (salesx2lib.periods)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from salesx2lib import periods
from salesx2lib.load import load_dataset

from conftest import write_tables

MONDAY = pd.Timestamp("2026-11-16")


@pytest.mark.parametrize(
    "value",
    ["2026-11-16", "2026-11-16 00:00:00", "2026-11-18 13:45", "2026-11-22", "2026-11-22 23:59:59.999999"],
)
def test_week_start_is_the_monday_of_the_week(value: str) -> None:
    assert periods.week_start(value) == MONDAY


def test_week_start_next_monday_starts_a_new_week() -> None:
    assert periods.week_start("2026-11-23 00:00") == pd.Timestamp("2026-11-23")
    assert periods.week_start("2026-11-15 23:59") == pd.Timestamp("2026-11-09")


def test_week_start_accepts_dates_and_aware_timestamps() -> None:
    assert periods.week_start(dt.date(2026, 11, 19)) == MONDAY
    # 2026-11-23 00:30 in Paris is still Sunday 22 in UTC.
    assert periods.week_start(pd.Timestamp("2026-11-23 00:30", tz="Europe/Paris")) == MONDAY


def test_week_end_is_the_sunday() -> None:
    assert periods.week_end("2026-11-18") == pd.Timestamp("2026-11-22")
    assert periods.week_end("2026-11-22").day_name() == "Sunday"


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-11-22", "2026-11-16"),  # Sunday: its own week is complete
        ("2026-11-22 00:00:01", "2026-11-16"),
        ("2026-11-22 23:59", "2026-11-16"),
        ("2026-11-23", "2026-11-16"),  # Monday: the week just ended
        ("2026-11-23 12:00", "2026-11-16"),
        ("2026-11-21 23:59", "2026-11-09"),  # Saturday: the week is not over
        ("2026-11-16", "2026-11-09"),
        ("2026-11-29", "2026-11-23"),
    ],
)
def test_latest_complete_week_sunday_rule(as_of: str, expected: str) -> None:
    week = periods.latest_complete_week(as_of)
    assert week == pd.Timestamp(expected)
    assert week.day_name() == "Monday"
    assert periods.week_end(week) <= pd.Timestamp(as_of).normalize()


def test_parse_week_any_date_gives_its_monday() -> None:
    for day in pd.date_range("2026-11-16", "2026-11-22"):
        assert periods.parse_week(day.strftime("%Y-%m-%d")) == MONDAY


def test_parse_week_rejects_non_dates_with_the_value() -> None:
    with pytest.raises(ValueError, match="'last week' is not a date"):
        periods.parse_week("last week")
    with pytest.raises(ValueError, match="is not a date"):
        periods.parse_week("2026-13-01")


def test_parse_week_after_the_data_is_refused() -> None:
    assert periods.parse_week("2026-11-22", as_of="2026-11-22") == MONDAY
    # The current, incomplete week is allowed: it has started.
    assert periods.parse_week("2026-11-25", as_of="2026-11-23 08:00") == pd.Timestamp("2026-11-23")
    with pytest.raises(ValueError, match="starts after the data ends.*latest complete week is 2026-11-16"):
        periods.parse_week("2026-11-24", as_of="2026-11-22")


def test_weeks_ending() -> None:
    weeks = periods.weeks_ending("2026-11-20", 5)
    assert list(weeks) == list(pd.date_range("2026-10-19", "2026-11-16", freq="7D"))
    assert str(weeks.dtype) == "datetime64[us]"
    with pytest.raises(ValueError):
        periods.weeks_ending(MONDAY, 0)


def test_trailing_range_is_13_complete_weeks_up_to_the_as_of_date(tmp_path: Path) -> None:
    ds = load_dataset(write_tables(tmp_path))  # latest event: Friday 2026-01-30
    start, end = periods.trailing_range(ds.as_of)
    assert end == pd.Timestamp("2026-01-26")  # the Monday after the week of 19-25 January
    assert start == end - pd.Timedelta(weeks=13) == pd.Timestamp("2025-10-27")
    assert periods.trailing_range(ds.as_of, weeks=2) == (pd.Timestamp("2026-01-12"), end)


def test_trailing_range_keeps_given_bounds(tmp_path: Path) -> None:
    ds = load_dataset(write_tables(tmp_path))
    assert periods.trailing_range(ds.as_of, "2026-01-01", "2026-02-01") == (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"))
    assert periods.trailing_range(ds.as_of, end="2026-02-02") == (pd.Timestamp("2025-11-03"), pd.Timestamp("2026-02-02"))
    assert periods.trailing_range(ds.as_of, start="2025-12-01")[0] == pd.Timestamp("2025-12-01")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, "must be after start"),
        ({"start": "soon"}, "start 'soon' is not a date"),
        ({"weeks": 0}, "weeks must be at least 1"),
    ],
)
def test_trailing_range_refuses_bad_bounds(tmp_path: Path, kwargs: dict, message: str) -> None:
    ds = load_dataset(write_tables(tmp_path))
    with pytest.raises(ValueError, match=message):
        periods.trailing_range(ds.as_of, **kwargs)
