"""Charts of forecasting within the cycle (salesx2lib.charts.forecast): fields, marks, marks drawn.

Each chart gets a small frame with the columns of the analysis it draws, written by
hand with a known number of rows; the counts are read from Vega's scenegraph
(``tests/chart_scene.py``): what the reader sees, after the spec's folds and filters and
Vega-Lite's dropping of missing values.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from chart_scene import drawn, encoding, layers, mark
from salesx2lib.charts import forecast as fc

NAN = math.nan


def _types(chart: object) -> list[tuple[str, int, int]]:
    """(mark type, instances, items) of every mark drawn, sorted."""
    return sorted((d.marktype, d.instances, d.items) for d in drawn(chart).values())


@pytest.fixture
def horizon() -> pd.DataFrame:
    """One team's horizon table: three buckets, the last without a bias (no actual)."""
    return pd.DataFrame(
        {
            "team": "A",
            "horizon_bucket": ["0-30", "31-60", "61-90"],
            "horizon_median_days": [20.0, 45.0, 75.0],
            "n": [12, 9, 4],
            "accuracy": [0.8, 0.6, 0.3],
            "bias": [0.05, 0.2, NAN],
            "wape": [0.2, 0.4, 0.7],
            "wape_ci_low": [0.1, 0.3, 0.5],
            "wape_ci_high": [0.3, 0.5, 0.9],
            "run_rate_wape": [0.25, 0.35, NAN],
            "run_rate_wape_ci_low": [0.2, 0.3, NAN],
            "run_rate_wape_ci_high": [0.3, 0.4, NAN],
            "n_clusters": [6, 5, 3],
        }
    )


def test_horizon_accuracy_chart(horizon: pd.DataFrame) -> None:
    chart = fc.horizon_accuracy_chart(horizon, 27.4)
    zero, lines, rule, text = layers(chart.to_dict())
    assert [mark(u) for u in (zero, lines, rule, text)] == ["rule", "line", "rule", "text"]
    assert lines["transform"] == [{"fold": ["accuracy", "bias"], "as": ["metric", "value"]}]
    assert encoding(lines, "x", "y", "color") == {
        "x": ("horizon_median_days", "quantitative"), "y": ("value", "quantitative"), "color": ("metric", "nominal"),
    }
    assert encoding(rule, "x") == {"x": ("days", "quantitative")}
    assert encoding(zero, "y") == {"y": ("y", "quantitative")}
    # 3 buckets x 2 metrics = 6 values on 2 lines (a line keeps a gap for the missing one), 5 points;
    # the zero line, the cycle rule and its label
    assert _types(chart) == [("line", 2, 6), ("rule", 1, 1), ("rule", 1, 1), ("symbol", 1, 5), ("text", 1, 1)]
    assert _types(fc.horizon_accuracy_chart(horizon)) == [("line", 2, 6), ("rule", 1, 1), ("symbol", 1, 5)]  # no cycle: no rule


def test_horizon_baseline_chart(horizon: pd.DataFrame) -> None:
    chart = fc.horizon_baseline_chart(horizon, 27.4)
    units = layers(chart.to_dict())
    assert [mark(u) for u in units] == ["area", "line", "area", "line", "rule", "text"]
    band, line = units[0], units[1]
    assert encoding(band, "x", "y", "y2", "color") == {
        "x": ("horizon_median_days", "quantitative"), "y": ("wape_ci_low", "quantitative"), "y2": ("wape_ci_high", None),
        "color": ("series", "nominal"),
    }
    assert encoding(line, "y") == {"y": ("wape", "quantitative")}
    assert encoding(units[3], "y") == {"y": ("run_rate_wape", "quantitative")}
    # the reps' WAPE at 3 buckets, the run-rate's points at the 2 it has (its line and band keep a gap)
    assert _types(chart) == [
        ("area", 1, 3), ("area", 1, 3), ("line", 1, 3), ("line", 1, 3), ("rule", 1, 1), ("symbol", 1, 2), ("symbol", 1, 3), ("text", 1, 1),
    ]


def test_cycle_curve_chart() -> None:
    curve = pd.DataFrame(
        {
            "team": ["A", "A", "A", "B", "B"],
            "days": [0.0, 10.0, 30.0, 0.0, 20.0],
            "survival": [1.0, 0.6, 0.3, 1.0, 0.5],
            "ci_low": [1.0, 0.4, 0.1, 1.0, 0.3],
            "ci_high": [1.0, 0.8, 0.5, 1.0, 0.7],
            "n_at_risk": [10, 6, 3, 8, 4],
        }
    )
    chart = fc.cycle_curve_chart(curve)
    area, half, line = layers(chart.to_dict())
    assert [mark(u) for u in (area, half, line)] == ["area", "rule", "line"]
    assert encoding(line, "x", "y", "color") == {"x": ("days", "quantitative"), "y": ("survival", "quantitative"), "color": ("team", "nominal")}
    assert line["mark"]["interpolate"] == "step-after"
    assert encoding(area, "y", "y2") == {"y": ("ci_low", "quantitative"), "y2": ("ci_high", None)}
    assert _types(chart) == [("area", 2, 5), ("line", 2, 5), ("rule", 1, 1)]  # one curve and one band per team
    assert _types(fc.cycle_curve_chart(curve, band=False)) == [("line", 2, 5), ("rule", 1, 1)]


def test_backtest_chart() -> None:
    bt = pd.DataFrame(
        {
            "team": "all",
            "as_of_date": pd.to_datetime(["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]),
            "forecast": [100.0, 120.0, 90.0, 110.0],
            "forecast_low": [70.0, 90.0, 60.0, 80.0],
            "forecast_high": [140.0, 160.0, 130.0, 150.0],
            "actual": [80.0, 130.0, NAN, NAN],  # the last windows have not ended
        }
    )
    chart = fc.backtest_chart(bt)
    band, lines = layers(chart.to_dict())
    assert mark(band) == "area" and mark(lines) == "line"
    assert encoding(band, "x", "y", "y2") == {
        "x": ("as_of_date", "temporal"), "y": ("forecast_low", "quantitative"), "y2": ("forecast_high", None)
    }
    assert encoding(lines, "x", "y", "color") == {"x": ("as_of_date", "temporal"), "y": ("amount", "quantitative"), "color": ("series", "nominal")}
    assert lines["encoding"]["color"]["scale"]["domain"] == ["forecast", "actual"]
    # one band over 4 weeks; 2 lines of 4 weeks (a missing actual is a gap); 4 + 2 points
    assert _types(chart) == [("area", 1, 4), ("line", 2, 8), ("symbol", 1, 6)]
    with pytest.raises(ValueError, match="draws one team"):
        fc.backtest_chart(pd.concat([bt, bt.assign(team="B")]))


def test_reliability_chart() -> None:
    calib = pd.DataFrame(
        {
            "kind": ["decile", "decile", "all", "interval_rep"],
            "bin": ["0.0-0.1", "0.9-1.0", "all", "80%"],
            "n_deals": [100, 40, 140, 30],
            "mean_predicted": [0.05, 0.92, 0.3, 0.8],
            "observed": [0.06, 0.75, 0.25, 0.83],
            "ci_low": [0.03, 0.6, 0.2, 0.66],
            "ci_high": [0.12, 0.86, 0.33, 0.93],
        }
    )
    chart = fc.reliability_chart(calib)
    diagonal, whiskers, points = layers(chart.to_dict())
    assert (mark(diagonal), mark(whiskers), mark(points)) == ("line", "rule", "circle")
    assert encoding(points, "x", "y", "size") == {
        "x": ("mean_predicted", "quantitative"), "y": ("observed", "quantitative"), "size": ("n_deals", "quantitative")
    }
    assert encoding(whiskers, "x", "y", "y2") == {"x": ("mean_predicted", "quantitative"), "y": ("ci_low", "quantitative"), "y2": ("ci_high", None)}
    # the diagonal (one line, 2 points); one whisker and one circle per decile: not the 'all' or interval rows
    assert _types(chart) == [("line", 1, 2), ("rule", 1, 2), ("symbol", 1, 2)]


def test_scrub_flags_chart() -> None:
    counts = pd.DataFrame(
        {
            "team": "A",
            "rep_id": ["R1", "R1", "R2", "R3"],
            "flag": ["pushed", "past_close_date", "pushed", "stale_in_stage"],
            "n": [3, 1, 2, 5],
            "n_open": [10, 10, 4, 7],
        }
    )
    chart = fc.scrub_flags_chart(counts)
    (unit,) = layers(chart.to_dict())
    assert mark(unit) == "bar"
    assert encoding(unit, "x", "y", "color") == {"x": ("n", "quantitative"), "y": ("rep_id", "nominal"), "color": ("flag", "nominal")}
    assert unit["encoding"]["y"]["sort"] == "-x"
    assert _types(chart) == [("rect", 1, 4)]  # one stacked piece per rep and flag


def test_win_within_chart() -> None:
    win = pd.DataFrame(
        {
            "team": "all",
            "cohort": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01"] * 2),
            "within_days": [30, 30, 30, 60, 60, 60],
            "win_probability": [0.2, 0.25, 0.1, 0.35, 0.3, NAN],
            "complete": [True, True, False, True, False, False],
            "n": [20, 18, 15] * 2,
            "n_judged": [20, 18, 9, 20, 12, 0],
            "n_too_young": [0, 0, 6, 0, 6, 15],
        }
    )
    chart = fc.win_within_chart(win)
    (unit,) = layers(chart.to_dict())
    assert mark(unit) == "line"
    assert encoding(unit, "x", "y", "color", "opacity") == {
        "x": ("cohort", "temporal"), "y": ("win_probability", "quantitative"), "color": ("within_days", "ordinal"),
        "opacity": (None, "condition"),
    }
    assert _types(chart) == [("line", 2, 6), ("symbol", 1, 5)]  # one line per d; no point for the cohort nobody can judge yet


def test_waterfall_chart() -> None:
    from salesx2lib.waterfall import STEPS

    steps = list(STEPS)
    amounts = {"start": 1000.0, "new": 300.0, "pulled_in": 0.0, "pushed_out": -200.0, "amount_up": 50.0, "amount_down": -25.0,
               "won": -400.0, "lost": -100.0, "end": 625.0}
    levels, before = [], 0.0
    for s in steps:
        if s in ("start", "end"):
            levels.append((0.0, amounts[s]))
            before = amounts[s]
        else:
            levels.append((before, before + amounts[s]))
            before += amounts[s]
    wf = pd.DataFrame(
        {
            "team": "A",
            "step": steps,
            "amount": [amounts[s] for s in steps],
            "n_deals": [10, 3, 0, 2, 1, 1, 4, 1, 6],
            "level_before": [lo for lo, _ in levels],
            "level_after": [hi for _, hi in levels],
            "period_start": pd.Timestamp("2026-10-01"),
            "period_end": pd.Timestamp("2026-12-31"),
            "from_date": pd.Timestamp("2026-11-16"),
            "to_date": pd.Timestamp("2026-11-23"),
        }
    )
    assert levels[-1] == (0.0, 625.0) and levels[-2][1] == 625.0  # the fixture adds up
    chart = fc.waterfall_chart(wf)
    bars, labels = layers(chart.to_dict())
    assert (mark(bars), mark(labels)) == ("bar", "text")
    assert encoding(bars, "x", "y", "y2", "color") == {
        "x": ("step", "nominal"), "y": ("level_before", "quantitative"), "y2": ("level_after", None), "color": ("step", "nominal"),
    }
    assert bars["encoding"]["x"]["sort"] == steps
    assert encoding(labels, "y", "text") == {"y": ("level_top", "quantitative"), "text": ("amount", "quantitative")}
    assert _types(chart) == [("rect", 1, 9), ("text", 1, 9)]  # every step, the empty one too
    assert "Open deals expected to close 01 Oct to 31 Dec 2026" in str(chart.to_dict()["title"])
