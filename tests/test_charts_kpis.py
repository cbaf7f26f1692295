"""The weekly KPI charts (salesx2lib.charts.kpis.kpi_chart): fields on each axis, mark, marks drawn.

The frame stands for :func:`salesx2lib.kpis.weekly_kpis` over three weeks (the report week
and two before it), written by hand; what is drawn is read from Vega's scenegraph
(``tests/chart_scene.py``), so a filter or a dropped row shows as a count.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from chart_scene import drawn, encoding, layers, mark
from salesx2lib.charts.kpis import kpi_chart

WEEKS = pd.to_datetime(["2026-11-02", "2026-11-09", "2026-11-16"])
NAN = math.nan


def weekly(kpi: str, values: list[float], **more: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"kpi": kpi, "week_start": WEEKS, "weeks_before": [2, 1, 0], "value": values, "note": ""})
    for column in ("ci_low", "ci_high", "denominator"):
        frame[column] = more.get(column, [NAN, NAN, NAN])
    return frame


@pytest.mark.parametrize("kpi", ["won_revenue", "conversations"])
def test_amount_and_count_kpis_are_one_bar_per_week(kpi: str) -> None:
    chart = kpi_chart(weekly(kpi, [100.0, 0.0, 250.0]), kpi)
    (unit,) = layers(chart.to_dict())
    assert mark(unit) == "bar"
    assert encoding(unit, "x", "y", "color") == {
        "x": ("week_start", "ordinal"), "y": ("value", "quantitative"), "color": (None, "condition"),
    }
    assert unit["encoding"]["x"]["timeUnit"] == "yearmonthdate"
    assert unit["encoding"]["color"]["condition"]["test"] == "(datum.weeks_before === 0)"  # the report week stands out
    (bars,) = drawn(chart).values()
    assert (bars.marktype, bars.items) == ("rect", 3)  # a week with 0 is still a bar


def test_quota_attainment_has_the_100_percent_line() -> None:
    chart = kpi_chart(weekly("quota_attainment", [0.8, 1.1, NAN]), "quota_attainment")
    bars, target = layers(chart.to_dict())
    assert (mark(bars), mark(target)) == ("bar", "rule")
    assert encoding(bars, "x", "y") == {"x": ("week_start", "ordinal"), "y": ("value", "quantitative")}
    assert encoding(target, "y") == {"y": ("value", "quantitative")}
    assert target["encoding"]["y"]["field"] == "value" and target["mark"]["strokeDash"] == [4, 3]
    counts = {d.marktype: d.items for d in drawn(chart).values()}
    assert counts == {"rect": 2, "rule": 1}  # the week without a quota has no bar


def test_conversation_ratio_is_points_with_wilson_bars_and_each_weeks_n() -> None:
    frame = weekly("conversation_to_appointment", [0.5, NAN, 0.6], ci_low=[0.3, NAN, 0.31], ci_high=[0.7, NAN, 0.83], denominator=[20.0, 0.0, 10.0])
    chart = kpi_chart(frame, "conversation_to_appointment")
    bars, points, sizes = layers(chart.to_dict())
    assert (mark(bars), mark(points), mark(sizes)) == ("errorbar", "point", "text")
    assert encoding(bars, "x", "y", "y2") == {"x": ("week_start", "ordinal"), "y": ("ci_low", "quantitative"), "y2": ("ci_high", None)}
    assert encoding(points, "x", "y") == {"x": ("week_start", "ordinal"), "y": ("value", "quantitative")}
    assert encoding(sizes, "x", "text") == {"x": ("week_start", "ordinal"), "text": ("label", "nominal")}
    counts = sorted((d.marktype, d.items) for d in drawn(chart).values())
    # 2 weeks with conversations: 2 error rules and their 2 x 2 end ticks, 2 points; the n of all 3 weeks
    assert counts == [("rect", 2), ("rect", 2), ("rule", 2), ("symbol", 2), ("text", 3)]


def test_a_kpi_without_its_table_is_one_line_of_text() -> None:
    frame = weekly("conversations", [NAN, NAN, NAN]).assign(note="needs the activities table")
    chart = kpi_chart(frame, "conversations")
    (unit,) = layers(chart.to_dict())
    assert mark(unit) == "text" and encoding(unit, "text") == {"text": ("note", "nominal")}
    assert [(d.marktype, d.items) for d in drawn(chart).values()] == [("text", 1)]


def test_an_unknown_kpi_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown KPI 'dials'"):
        kpi_chart(weekly("dials", [1.0, 2.0, 3.0]), "dials")
