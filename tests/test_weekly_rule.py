"""The weekly rule: one as-of default for the forecast tables (issue 11, item 7).

``periods.forecast_as_of`` owns the rule (Monday 00:00 after the latest complete week),
``pipeline.resolve_as_of`` applies it to a dataset, and the rolling forecast, its
backtest, the scrub, the metrics tables and the CLI take it from there. Every edge is
tested with data ending just before, on and after a week's end.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from salesx2lib import metrics, periods, rolling, scrub
from salesx2lib.cli import main
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import resolve_as_of
from salesx2lib.settings import load_settings

SETTINGS = load_settings()


@pytest.mark.parametrize(
    ("data_as_of", "expected"),
    [
        ("2026-11-22 19:57:36", "2026-11-23"),  # Sunday evening (the sample): the Monday after
        ("2026-11-22 00:00", "2026-11-23"),  # Sunday midnight: Sunday is in the data, the week counts
        ("2026-11-22 23:59:59.999999", "2026-11-23"),
        ("2026-11-23 00:00", "2026-11-23"),  # Monday midnight itself
        ("2026-11-23 09:00", "2026-11-23"),  # Monday morning: last week is the complete one
        ("2026-11-25 10:00", "2026-11-23"),  # Wednesday: Monday-Wednesday wait for next week
        ("2026-11-21 23:59", "2026-11-16"),  # Saturday: the week is not over, the one before is
        ("2026-11-29 08:00", "2026-11-30"),  # the next Sunday completes the next week
    ],
)
def test_forecast_as_of_is_the_monday_after_the_latest_complete_week(data_as_of: str, expected: str) -> None:
    when = periods.forecast_as_of(data_as_of)
    assert when == pd.Timestamp(expected)
    assert when.weekday() == 0 and when == when.normalize()
    # Independently of the library: the day after the last Sunday on or before the as-of day.
    day = pd.Timestamp(data_as_of).normalize()
    last_sunday = day - pd.Timedelta(days=(day.weekday() + 1) % 7)
    assert when == last_sunday + pd.Timedelta(days=1)


def test_forecast_as_of_of_a_chosen_week() -> None:
    # A complete past week: the Monday after it, whatever day of it names it.
    assert periods.forecast_as_of("2026-11-25 10:00", week="2026-11-11") == pd.Timestamp("2026-11-16")
    assert periods.forecast_as_of("2026-11-25 10:00", week="2026-11-22") == pd.Timestamp("2026-11-23")
    # The week still running: its end is not in the data, so the data's own instant.
    assert periods.forecast_as_of("2026-11-25 10:00", week="2026-11-23") == pd.Timestamp("2026-11-25 10:00")
    # Data ending on the Sunday completes that week.
    assert periods.forecast_as_of("2026-11-22 19:57", week="2026-11-22") == pd.Timestamp("2026-11-23")
    with pytest.raises(ValueError, match="starts after the data ends"):
        periods.forecast_as_of("2026-11-22 19:57", week="2026-11-23")


def _dataset(as_of: str) -> Dataset:
    reps = pd.DataFrame({"rep_id": ["R1"], "rep_name": ["Ann"], "team": ["North"], "manager": ["M"]}).astype("str")
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "rep_id": ["R1", "R1"],
            "account_id": ["A1", "A2"],
            "created_at": pd.to_datetime(["2026-10-01 09:00", "2026-11-25 08:00"]).as_unit("us"),
            "amount": [1000.0, 500.0],
            "stage": ["Proposal", "Proposal"],
            "status": ["open", "open"],
            "expected_close_date": pd.to_datetime(["2026-12-10", "2026-12-11"]).as_unit("us"),
            "closed_at": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]"),
        }
    ).astype({"opportunity_id": "str", "rep_id": "str", "account_id": "str", "stage": "str", "status": "str"})
    hist = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "changed_at": opps["created_at"],
            "stage": ["Proposal", "Proposal"],
            "amount": [1000.0, 500.0],
            "expected_close_date": opps["expected_close_date"],
        }
    ).astype({"opportunity_id": "str", "stage": "str"})
    return Dataset(
        tables={"reps": reps, "opportunities": opps, "opportunity_history": hist},
        activities=None,
        as_of=pd.Timestamp(as_of).as_unit("us"),
    )


def test_resolve_as_of_defaults() -> None:
    ds = _dataset("2026-11-25 10:00")  # a Wednesday
    assert resolve_as_of(ds, None) == pd.Timestamp("2026-11-23")
    assert resolve_as_of(ds, None, default="week_end") == pd.Timestamp("2026-11-23")
    assert resolve_as_of(ds, None, default="latest_event") == pd.Timestamp("2026-11-25 10:00")
    assert resolve_as_of(ds, "2026-11-24 12:00") == pd.Timestamp("2026-11-24 12:00")  # given: kept
    with pytest.raises(ValueError, match="default must be"):
        resolve_as_of(ds, None, default="today")  # type: ignore[arg-type]


def test_without_history_a_monday_before_the_data_is_refused_with_the_fix() -> None:
    from dataclasses import replace

    from salesx2lib.dataset import MissingTableError

    def without_history(ds: Dataset) -> Dataset:
        return replace(ds, tables={k: v for k, v in ds.tables.items() if k != "opportunity_history"})

    # Wednesday data: Monday 2026-11-23 is before it and cannot be rebuilt without history.
    wednesday = without_history(_dataset("2026-11-25 10:00"))
    with pytest.raises(MissingTableError, match=r"as of 2026-11-23 00:00, before the data's own date 2026-11-25 10:00; give"):
        scrub.scrub(wednesday)
    assert len(scrub.scrub(wednesday, wednesday.as_of)) == 2  # the current pipeline, as told
    # Sunday-evening data: the rule's Monday is after it, the current state is that Monday's.
    sunday = without_history(_dataset("2026-11-22 19:57"))
    assert scrub.scrub(sunday)["as_of_date"].unique().tolist() == [pd.Timestamp("2026-11-23")]


def test_scrub_and_rolling_default_to_the_week_end() -> None:
    ds = _dataset("2026-11-25 10:00")
    # O2 was created on Wednesday 25th, after the week's end: not in the pipeline as of Monday 23rd.
    s = scrub.scrub(ds, settings=SETTINGS)
    assert s["as_of_date"].unique().tolist() == [pd.Timestamp("2026-11-23")]
    assert s["opportunity_id"].tolist() == ["O1"]
    assert scrub.scrub(ds, "2026-11-25 10:00", SETTINGS)["opportunity_id"].tolist() == ["O1", "O2"]
    r = rolling.rolling_forecast(ds, settings=SETTINGS)
    assert r["as_of_date"].unique().tolist() == [pd.Timestamp("2026-11-23")]
    assert r["window_start"].iloc[0] == pd.Timestamp("2026-11-23")


def test_backtest_ends_with_the_last_window_over_by_the_week_end() -> None:
    ds = _dataset("2026-11-25 10:00")
    # Mondays M with M + 30 days <= Monday 23 November: the last is 19 October (ends 18 Nov);
    # 26 October's window ends 25 November, past the rule's as-of (though before the data's end).
    dates = rolling.backtest_dates(ds, SETTINGS, start="2026-10-01")
    assert dates.max() == pd.Timestamp("2026-10-19")


def test_metric_tables_default_as_of() -> None:
    ds = _dataset("2026-11-25 10:00")
    for name in ("rolling", "scrub", "backtest", "cadence", "waterfall", "waterfall_deals"):
        assert name in metrics.FORECAST_TABLES
        assert metrics.default_as_of(ds, name) == pd.Timestamp("2026-11-23")
    for name in ("cycle", "horizon", "segments"):
        assert metrics.default_as_of(ds, name) == pd.Timestamp("2026-11-25 10:00")
    out = metrics.metric_table(ds, "scrub", settings=SETTINGS)
    assert out["as_of_date"].unique().tolist() == [pd.Timestamp("2026-11-23")]


def test_cli_says_which_as_of_it_used_on_stderr_only(valid_folder) -> None:
    # The fixture's latest event is Friday 30 January 2026 16:00: the rule gives Monday 26 January.
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["metrics", str(valid_folder), "--table", "scrub"]) == 0
    assert "as of 2026-01-26 00:00 (Monday), the end of the latest complete week" in err.getvalue()
    assert "data as of 2026-01-30 16:00" in err.getvalue()
    table = pd.read_csv(io.StringIO(out.getvalue()))
    assert "salesx2" not in out.getvalue()
    assert set(table["as_of_date"]) == {"2026-01-26"}
    # Given explicitly: no note; a non-forecast table: no note.
    for argv in (["--table", "scrub", "--as-of", "2026-01-28"], ["--table", "cycle"]):
        err = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            assert main(["metrics", str(valid_folder), *argv]) == 0
        assert "end of the latest complete week" not in err.getvalue()
