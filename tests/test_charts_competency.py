"""Charts of activity vs competency (salesx2lib.charts.competency): fields, marks, marks drawn.

Small hand-written frames with the columns of the analyses' results and a known number
of rows; the counts are read from Vega's scenegraph (``tests/chart_scene.py``).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from chart_scene import axis_labels, drawn, encoding, layers, mark
from salesx2lib.charts import competency as cc

NAN = math.nan
RATIOS = ["connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate"]


def _types(chart: object) -> list[tuple[str, int, int]]:
    return sorted((d.marktype, d.instances, d.items) for d in drawn(chart).values())


def test_funnel_chart_one_panel_per_ratio_and_nothing_drawn_for_an_undefined_rate() -> None:
    rows = []
    for metric in RATIOS:
        rows.append({"rep_id": "R1", "team": "A", "metric": metric, "successes": 3, "trials": 10, "rate": 0.3, "ci_low": 0.1, "ci_high": 0.6, "shrunk_rate": 0.32})
        rows.append({"rep_id": "R2", "team": "A", "metric": metric, "successes": 0, "trials": 0, "rate": NAN, "ci_low": NAN, "ci_high": NAN, "shrunk_rate": 0.35})
    chart = cc.funnel_chart(pd.DataFrame(rows))
    spec = chart.to_dict()
    assert spec["facet"]["column"]["field"] == "metric" and spec["facet"]["column"]["sort"] == RATIOS
    interval, point, tick = layers(spec)
    assert [mark(u) for u in (interval, point, tick)] == ["rule", "point", "tick"]
    assert encoding(interval, "x", "x2", "y", "color") == {
        "x": ("ci_low", "quantitative"), "x2": ("ci_high", None), "y": ("rep_id", "nominal"), "color": ("team", "nominal"),
    }
    assert encoding(point, "x", "y") == {"x": ("rate", "quantitative"), "y": ("rep_id", "nominal")}
    assert encoding(tick, "x") == {"x": ("shrunk_rate", "quantitative")}
    # 4 panels; in each R1 has a point and a bar, R2 (no trials) only its shrunk tick: 4 + 4 + 8
    counts = {}
    for d in drawn(chart).values():
        counts[d.marktype] = counts.get(d.marktype, 0) + d.items
    assert counts == {"rule": 4, "symbol": 4, "rect": 8}


def test_funnel_chart_refuses_two_ranges() -> None:
    frame = pd.DataFrame({"rep_id": ["R1", "R1"], "team": "A", "metric": "win_rate", "successes": 1, "trials": 2, "rate": 0.5,
                          "ci_low": 0.1, "ci_high": 0.9, "period_start": pd.to_datetime(["2026-01-05", "2026-01-12"])})
    with pytest.raises(ValueError, match="one range"):
        cc.funnel_chart(frame)


def test_funnel_comparison_chart_draws_the_defined_rates_of_both_windows() -> None:
    rows = []
    for window, start, end in (("current", "2026-11-16", "2026-11-23"), ("baseline", "2026-08-24", "2026-11-16")):
        for metric in RATIOS:
            defined = not (window == "current" and metric == "win_rate")  # no deal decided this week
            rows.append({"window": window, "metric": metric, "defined": defined, "window_start": pd.Timestamp(start), "window_end": pd.Timestamp(end),
                         "successes": 5 if defined else 0, "trials": 20 if defined else 0, "rate": 0.25 if defined else NAN,
                         "ci_low": 0.1 if defined else NAN, "ci_high": 0.45 if defined else NAN})
    chart = cc.funnel_comparison_chart(pd.DataFrame(rows))
    bars, points = layers(chart.to_dict())
    assert (mark(bars), mark(points)) == ("rule", "point")
    assert encoding(points, "x", "y", "yOffset", "color") == {
        "x": ("rate", "quantitative"), "y": ("metric", "nominal"), "yOffset": ("label", "nominal"), "color": ("label", "nominal"),
    }
    assert encoding(bars, "x", "x2") == {"x": ("ci_low", "quantitative"), "x2": ("ci_high", None)}
    assert _types(chart) == [("rule", 1, 7), ("symbol", 1, 7)]
    labels = set(chart.data["label"])
    assert labels == {"this period (16 Nov to 22 Nov)", "baseline (24 Aug to 15 Nov)"}  # the window's last day, not its exclusive end


def test_gap_waterfall_chart_one_bar_per_step_and_a_share_per_factor() -> None:
    steps = pd.DataFrame(
        {
            "step": [0, 1, 2, 3],
            "label": ["benchmark", "dials", "win_rate", "rep"],
            "kind": ["total", "factor", "factor", "total"],
            "start": [1.0, 1.0, 1000.0, 1.0],
            "end": [1000.0, 1000.0, 500.0, 500.0],
            "log_term": [NAN, 0.0, -0.693, NAN],
            "share": [NAN, 0.0, -1.0, NAN],
        }
    )
    chart = cc.gap_waterfall_chart(steps, "Ann")
    bars, labels = layers(chart.to_dict())
    assert (mark(bars), mark(labels)) == ("bar", "text")
    assert encoding(bars, "x", "y", "y2", "color") == {
        "x": ("label", "nominal"), "y": ("start", "quantitative"), "y2": ("end", None), "color": ("direction", "nominal"),
    }
    assert bars["encoding"]["y"]["scale"]["type"] == "log"
    assert {"filter": "(datum.kind === 'factor')"} in labels["transform"]
    assert _types(chart) == [("rect", 1, 4), ("text", 1, 2)]
    assert chart.to_dict()["title"]["text"].startswith("Ann: ")


def test_metric_vs_result_chart_draws_only_the_chosen_metric() -> None:
    points = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R1", "R2"], "team": "A", "metric": ["dials"] * 3 + ["win_rate"] * 2,
                           "value": [100.0, 150.0, 90.0, 0.3, 0.2], "result": [1000.0, 1800.0, 700.0, 1000.0, 1800.0]})
    trend = pd.DataFrame({"metric": ["dials"] * 4 + ["win_rate"] * 2, "value": [90.0, 110.0, 130.0, 150.0, 0.2, 0.3],
                          "fit": [800.0, 1100.0, 1400.0, 1700.0, 1500.0, 1200.0], "ci_low": [500.0, 900.0, 1100.0, 1200.0, 900.0, 800.0],
                          "ci_high": [1100.0, 1300.0, 1700.0, 2200.0, 2100.0, 1600.0]})
    chart = cc.metric_vs_result_chart(points, trend, "dials")
    band, line, scatter = layers(chart.to_dict())
    assert [mark(u) for u in (band, line, scatter)] == ["area", "line", "point"]
    assert encoding(scatter, "x", "y", "color") == {"x": ("value", "quantitative"), "y": ("result", "quantitative"), "color": ("team", "nominal")}
    assert encoding(line, "x", "y") == {"x": ("value", "quantitative"), "y": ("fit", "quantitative")}
    assert encoding(band, "y", "y2") == {"y": ("ci_low", "quantitative"), "y2": ("ci_high", None)}
    assert _types(chart) == [("area", 1, 4), ("line", 1, 4), ("symbol", 1, 3)]
    with pytest.raises(ValueError, match="no metric 'calls'"):
        cc.metric_vs_result_chart(points, trend, "calls")


def test_relevance_chart_one_row_per_metric_with_a_correlation() -> None:
    rel = pd.DataFrame(
        {
            "metric": ["conversations", "dials", "win_rate", "emails"],
            "kind": ["activity", "activity", "competency", "activity"],
            "rho": [0.5, 0.05, 0.4, NAN],
            "ci_low": [0.3, -0.2, 0.1, NAN],
            "ci_high": [0.7, 0.3, 0.6, NAN],
            "p_value": [0.001, 0.6, 0.01, NAN],
            "p_adjusted": [0.003, 0.6, 0.02, NAN],
            "n_obs": [100, 100, 90, 0],
            "n_reps": [20, 20, 18, 0],
            "n_periods": [5, 5, 5, 0],
            "label": ["predicts_results", "not_predictive", "predicts_results", "insufficient_data"],
            "lookback": 4,
            "horizon": 4,
        }
    )
    chart = cc.relevance_chart(rel)
    zero, bars, points = layers(chart.to_dict())
    assert [mark(u) for u in (zero, bars, points)] == ["rule", "rule", "point"]
    assert encoding(points, "x", "y", "color", "shape") == {
        "x": ("rho", "quantitative"), "y": ("metric", "nominal"), "color": ("label", "nominal"), "shape": ("kind", "nominal"),
    }
    assert points["encoding"]["y"]["sort"] == {"field": "rho", "order": "descending"}
    assert encoding(bars, "x", "x2") == {"x": ("ci_low", "quantitative"), "x2": ("ci_high", None)}
    assert _types(chart) == [("rule", 1, 1), ("rule", 1, 3), ("symbol", 1, 3)]  # emails has no rho: not drawn ...
    assert ["conversations", "win_rate", "dials"] in axis_labels(chart)  # ... nor listed; the others by rho, highest first


def test_frames_too_big_to_draw_are_refused() -> None:
    big = pd.DataFrame({"metric": ["dials"] * 5001, "rho": 0.1})
    with pytest.raises(ValueError, match="at most 5000"):
        cc.relevance_chart(big)
