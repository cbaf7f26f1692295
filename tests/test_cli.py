"""The command line: exit codes, one line per problem, no traceback, summaries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from salesx2lib.cli import main

from conftest import VALID_TABLES, write_tables

BAD = {"opportunities": VALID_TABLES["opportunities"] + "O9,R404,,2026-01-07,-5,Prospecting,open,,\n"}


def test_validate_prints_a_summary_and_exits_0(valid_folder, capsys):
    assert main(["validate", str(valid_folder)]) == 0
    out = capsys.readouterr().out
    assert "valid (as of 2026-01-30 16:00:00, the latest event in the data)" in out
    assert "opportunities                 3 rows  2026-01-07 .. 2026-01-09" in out
    assert "3 reps in 2 teams: North (2), South (1)" in out


def test_validate_json_for_scripts(valid_folder, capsys):
    assert main(["validate", str(valid_folder), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tables"]["activities"]["rows"] == 5
    assert summary["tables"]["quotas"]["rows"] == 2
    assert summary["teams"] == {"North": 2, "South": 1}


def test_bad_input_exits_2_with_one_line_per_problem(tmp_path, capsys):
    folder = write_tables(tmp_path / "d", BAD)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "opportunities.csv:5:amount: -5 is negative (amount must be >= 0)",
        "opportunities.csv:5:rep_id: unknown rep_id 'R404' (not in reps.csv)",
        "salesx2 validate: 2 errors; nothing was written",
    ]


def test_the_installed_command_never_shows_a_traceback(tmp_path):
    folder = write_tables(tmp_path / "d", BAD)
    exe = Path(sys.executable).with_name("salesx2")
    run = subprocess.run([str(exe), "validate", str(folder)], capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("opportunities.csv:5:amount:")


@pytest.mark.parametrize("command", ["sample", "validate", "metrics", "report"])
def test_every_command_documents_its_options(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: salesx2 " + command in text
    for option in {"sample": ["--out", "--reps", "--weeks", "--seed"], "validate": ["--format"], "metrics": ["--table", "--team", "--start", "--end", "--freq", "--format"],
                   "report": ["--out", "--week", "--team", "--jobs", "--settings", "--overwrite"]}[command]:
        assert option in text


def test_sample_writes_every_table_and_loads(tmp_path, capsys):
    from salesx2lib.load import load_dataset

    assert main(["sample", "--out", str(tmp_path / "s"), "--reps", "4", "--weeks", "2", "--seed", "1"]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in written) == sorted(
        ["reps.csv", "activities.parquet", "opportunities.csv", "opportunity_history.csv", "forecasts.csv", "quotas.csv", "trainings.csv"]
    )
    assert len(load_dataset(tmp_path / "s").reps) == 4


def test_sample_rejects_out_of_range_arguments(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path / "s"), "--reps", "0"]) == 2
    assert "reps" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


FUNNEL_COLUMNS = ["rep_id", "team", "metric", "successes", "trials", "rate", "ci_low", "ci_high", "shrunk_rate"]


def test_metrics_funnel_is_long_format_one_row_per_rep_and_ratio(valid_folder, capsys):
    import io

    import pandas as pd

    assert main(["metrics", str(valid_folder), "--table", "funnel", "--team", "North"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table.columns[: len(FUNNEL_COLUMNS)]) == FUNNEL_COLUMNS
    assert sorted(table["metric"].unique()) == sorted(
        ["connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate"]
    )
    r1 = table.loc[(table["rep_id"] == "R1") & (table["metric"] == "connect_rate")].iloc[0]
    assert (r1["successes"], r1["trials"], r1["rate"]) == (1, 1, 1.0)
    assert len(table) == 2 * 4  # North has two reps


def test_metrics_activity_json_has_one_row_per_rep_period_type(valid_folder, capsys):
    assert main(["metrics", str(valid_folder), "--table", "activity", "--freq", "week", "--format", "json",
                 "--start", "2026-01-05", "--end", "2026-01-12"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["rep_id"], r["activity_type"], r["count"]) for r in rows} == {
        ("R1", "dial", 1), ("R1", "conversation", 1), ("R1", "appointment", 1), ("R2", "dial", 1)
    }
    assert all(r["period_start"].startswith("2026-01-05") for r in rows)


def test_metrics_that_need_activities_say_so(tmp_path, capsys):
    folder = write_tables(tmp_path / "d", {"activities": None})
    assert main(["metrics", str(folder), "--table", "funnel"]) == 0  # win_rate only
    assert set(l.split(",")[2] for l in capsys.readouterr().out.splitlines()[1:]) == {"win_rate"}
    assert main(["metrics", str(folder), "--table", "gaps"]) == 2
    assert capsys.readouterr().err.strip() == (
        "salesx2 metrics: needs the activities table (activities.csv or activities.parquet), which this dataset does not have"
    )


def test_metrics_rejects_a_bad_range_or_team(valid_folder, capsys):
    assert main(["metrics", str(valid_folder), "--table", "funnel", "--start", "2026-02-01", "--end", "2026-01-01"]) == 2
    assert "must be after --start" in capsys.readouterr().err
    assert main(["metrics", str(valid_folder), "--table", "funnel", "--team", "West"]) == 2
    assert "unknown team 'West' (teams: North, South)" in capsys.readouterr().err


def test_report_with_bad_data_exits_2_and_writes_nothing(tmp_path, capsys):
    folder = write_tables(tmp_path / "d", BAD)
    out = tmp_path / "reports"
    assert main(["report", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "opportunities.csv:5:amount: -5 is negative (amount must be >= 0)" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_report_with_an_unknown_team_exits_2(valid_folder, tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["report", str(valid_folder), "--out", str(out), "--team", "West"]) == 2
    assert "salesx2 report: unknown team 'West' (teams: North, South)" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("cycle", ["team", "n_won", "n_lost", "n_open", "km_median_days", "km_q25_days", "km_q75_days", "won_median_days"]),
        ("horizon", ["team", "horizon_bucket", "n", "forecast", "actual", "bias", "wape", "accuracy", "hit_rate"]),
        ("rolling", ["team", "rep_id", "n_opportunities", "from_pipeline", "from_new_business", "forecast", "forecast_low",
                     "forecast_high"]),
        ("scrub", ["opportunity_id", "rep_id", "passes_gate", "n_flags", "reasons"]),
        ("backtest", ["team", "method", "horizon_bucket", "bias", "wape", "skill", "coverage"]),
        ("calibration", ["kind", "bin", "n_deals", "n_won", "mean_predicted", "observed", "gap", "brier"]),
        ("segments", ["rep_id", "team", "segment", "reason", "management_style", "open_milestones"]),
        ("segment_history", ["rep_id", "as_of", "segment", "reason", "rule_segment", "p_at_quota", "won_deals"]),
        ("milestones", ["rep_id", "milestone", "met", "met_at", "progress"]),
        ("routines", ["rep_id", "conversation_days_per_week", "next_step_share", "won_revenue"]),
        ("coaching", ["rep_id", "competency", "current_rate", "benchmark_rate", "revenue_impact"]),
        ("coaching_review", ["rep_id", "segment", "status", "competency", "p_below", "revenue_impact", "impact_low",
                             "impact_high", "impact_ceiling"]),
        ("next_milestones", ["rep_id", "segment", "next_milestone", "kind", "target_date"]),
        ("training", ["rep_id", "competency", "effect", "ci_low", "ci_high", "warning"]),
    ],
)
def test_tables_have_the_documented_columns(valid_folder, capsys, table, columns):
    import io

    import pandas as pd

    assert main(["metrics", str(valid_folder), "--table", table, "--as-of", "2026-02-01"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(columns) <= set(frame.columns), sorted(set(columns) - set(frame.columns))
    if table in ("cycle", "horizon"):
        assert "all" in set(frame["team"])  # one row (set) per team plus the whole floor


def test_cycle_table_on_the_fixture_by_hand(valid_folder, capsys):


    assert main(["metrics", str(valid_folder), "--table", "cycle", "--format", "json"]) == 0
    rows = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    # O1 (North) won after 23.2 days, O3 (North) lost after 10.9 days; O2 (South) open
    assert (rows["all"]["n_won"], rows["all"]["n_lost"], rows["all"]["n_open"]) == (1, 1, 1)
    assert rows["North"]["won_median_days"] == pytest.approx(23 + 4 / 24)


def test_metrics_relevance_uses_the_measured_cycle_and_the_relevance_settings(valid_folder, tmp_path, capsys):
    assert main(["metrics", str(valid_folder), "--table", "relevance", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert list(rows[0]) == ["metric", "kind", "n_obs", "n_reps", "n_periods", "rho", "ci_low", "ci_high",
                             "p_value", "p_adjusted", "label", "lookback", "horizon"]
    # the fixture's Kaplan-Meier median cycle is 23 d 4 h (O1 won): 4 weeks before and after each
    # as-of date, but its reps span at most 4 weeks, so there is no pair and nothing to judge
    assert {(r["lookback"], r["horizon"], r["n_obs"], r["label"]) for r in rows} == {(4, 4, 0, "insufficient_data")}
    assert {r["kind"] for r in rows} == {"task", "competency"}
    one_week = tmp_path / "s.toml"
    one_week.write_text("[relevance]\nhorizon_days = 7\n", encoding="utf-8")
    assert main(["metrics", str(valid_folder), "--table", "relevance", "--settings", str(one_week), "--format",
                 "json"]) == 0
    dials = next(r for r in json.loads(capsys.readouterr().out) if r["metric"] == "dials")
    # weeks of 5, 12, 19, 26 Jan; R1 spans all four, R2 the first three, R3 the first two: only the
    # as-of week of 12 Jan has the three reps a date needs, so 3 pairs on 1 date; 3 reps < 10
    assert (dials["lookback"], dials["horizon"], dials["n_obs"], dials["n_periods"]) == (1, 1, 3, 1)
    assert dials["label"] == "insufficient_data"
    one_week.write_text("[relevance]\nwithin = \"rep\"\n", encoding="utf-8")
    assert main(["metrics", str(valid_folder), "--table", "relevance", "--settings", str(one_week)]) == 2
    assert "relevance.within: 'rep' is not one of period, period_and_rep" in capsys.readouterr().err
