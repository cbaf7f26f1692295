"""Charts of segments, coaching, milestones, routines and training effects: fields, marks drawn, big frames refused.

The frames are small hand-written stand-ins with the columns of the analyses' results
(``segments.segment``, ``segments.segment_history``, ``coaching.coaching_priorities``,
``training.training_effects``); the charts compute nothing, so their specs are checked.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest
import vl_convert

from chart_scene import drawn, encoding, layers, mark
from salesx2lib.charts import SEGMENT_COLORS
from salesx2lib.charts import segments as sc
from salesx2lib.settings import load_settings


@pytest.fixture(scope="module")
def segmented() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "rep_name": ["Ann", "Bo", "Cy", "Di"],
            "team": ["A", "A", "B", "B"],
            "attainment": [1.2, 0.9, 0.5, 0.3],
            "months_at_quota": [3, 1, 0, 0],
            "months": [3, 3, 3, 3],
            "months_at_quota_share": [1.0, 1 / 3, 0.0, 0.0],
            "competency_percentile": [70.0, 55.0, 20.0, 40.0],
            "tenure_days": [800.0, 500.0, 400.0, 30.0],
            "segment": ["self_sustained", "developing", "hands_on", "ramping"],
            "reason": ["r1", "r2", "r3", "r4"],
            "open_criteria": ["", "o2", "o3", "o4"],
        }
    )


def _fields(spec: object) -> set[str]:
    """Every ``field`` named anywhere in a Vega-Lite spec."""
    found: set[str] = set()
    if isinstance(spec, dict):
        if isinstance(spec.get("field"), str):
            found.add(spec["field"])
        for value in spec.values():
            found |= _fields(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= _fields(value)
    return found


def test_segment_map_encodes_attainment_consistency_segment(segmented: pd.DataFrame) -> None:
    chart = sc.segment_map_chart(segmented, load_settings())
    spec = chart.to_dict()
    points = spec["layer"][0]["encoding"]
    assert points["x"]["field"] == "attainment"
    assert points["y"]["field"] == "months_at_quota_share"
    assert points["color"]["field"] == "segment"
    scale = points["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == SEGMENT_COLORS
    assert "reason" in {t["field"] for t in points["tooltip"]}
    assert len(spec["layer"]) == 4  # points, labels, two threshold rules


def test_segment_map_without_settings_has_no_threshold_lines(segmented: pd.DataFrame) -> None:
    assert len(sc.segment_map_chart(segmented).to_dict()["layer"]) == 2


def test_segment_counts_chart(segmented: pd.DataFrame) -> None:
    spec = sc.segment_counts_chart(segmented).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["aggregate"] == "count"
    assert spec["layer"][0]["encoding"]["y"]["field"] == "segment"


def test_segment_history_chart(segmented: pd.DataFrame) -> None:
    history = pd.concat(
        [segmented.assign(as_of=pd.Timestamp("2026-09-30")), segmented.assign(as_of=pd.Timestamp("2026-10-31"))]
    )
    spec = sc.segment_history_chart(history).to_dict()
    assert {"rep_id", "as_of", "segment", "reason", "team"} <= _fields(spec)
    assert spec["facet"]["row"]["field"] == "team"
    assert "rule_segment" not in _fields(spec)  # only drawn when the history has it


def test_segment_history_chart_shows_the_rules_and_the_confidence(segmented: pd.DataFrame) -> None:
    history = segmented.assign(as_of=pd.Timestamp("2026-09-30"), rule_segment=segmented["segment"],
                               p_at_quota=[0.9, 0.4, 0.1, 0.0])
    assert {"rule_segment", "p_at_quota"} <= _fields(sc.segment_history_chart(history).to_dict())
    spec = sc.segment_map_chart(segmented.assign(p_at_quota=[0.9, 0.4, 0.1, 0.0], won_deals=[20, 10, 5, 1])).to_dict()
    tooltip = {t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]}
    assert {"p_at_quota", "won_deals", "reason"} <= tooltip


def test_coaching_priority_chart() -> None:
    priorities = pd.DataFrame(
        {
            "rank": [1, 2],
            "team_rank": [1, 1],
            "rep_id": ["R1", "R2"],
            "rep_name": ["Ann", "Bo"],
            "team": ["A", "B"],
            "competency": ["connect_rate", "win_rate"],
            "current_rate": [0.1, 0.2],
            "benchmark_rate": [0.2, 0.3],
            "revenue_impact": [5000.0, 2000.0],
            "impact_low": [3000.0, 0.0],
            "impact_high": [7000.0, 4000.0],
            "sentence": ["s1", "s2"],
        }
    )
    bars, interval = sc.coaching_priority_chart(priorities).to_dict()["layer"]
    assert bars["encoding"]["x"]["field"] == "revenue_impact"
    assert bars["encoding"]["color"]["field"] == "competency"
    assert bars["encoding"]["y"]["sort"] == {"field": "revenue_impact", "op": "max", "order": "descending"}
    assert (interval["encoding"]["x"]["field"], interval["encoding"]["x2"]["field"]) == ("impact_low", "impact_high")
    without = sc.coaching_priority_chart(priorities.drop(columns=["impact_low", "impact_high"])).to_dict()["layer"]
    assert len(without) == 1


def test_training_effect_chart_has_interval_zero_line_and_one_panel_per_unit() -> None:
    effects = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "competency": ["connect_rate", "win_rate", "deal_size"],
            "completed_at": pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-03"]),
            "effect": [0.1, 0.02, 0.3],
            "ci_low": [0.05, -0.2, -0.1],
            "ci_high": [0.15, 0.25, 0.8],
            "effect_unit": ["rate points", "rate points", "relative"],
            "warning": ["", "too few decided deals to tell", ""],
        }
    )
    spec = sc.training_effect_chart(effects).to_dict()
    assert len(spec["vconcat"]) == 2
    zero, interval, point = spec["vconcat"][0]["layer"]
    assert zero["encoding"]["x"]["field"] == "zero"
    assert (interval["encoding"]["x"]["field"], interval["encoding"]["x2"]["field"]) == ("ci_low", "ci_high")
    assert point["encoding"]["x"]["field"] == "effect"
    only_rates = sc.training_effect_chart(effects.iloc[:2]).to_dict()
    assert len(only_rates["vconcat"]) == 1


def test_training_effect_chart_shows_the_verdict_and_the_pre_trend_check() -> None:
    effects = pd.DataFrame(
        {
            "rep_id": ["R1", "R2"],
            "competency": ["connect_rate", "win_rate"],
            "completed_at": pd.to_datetime(["2026-05-01", "2026-05-02"]),
            "effect": [0.1, 0.02], "ci_low": [0.05, -0.2], "ci_high": [0.15, 0.25],
            "pre_trend": [0.0, 0.2], "pre_trend_low": [-0.03, 0.05], "pre_trend_high": [0.03, 0.35],
            "pre_trend_check": ["passed", "failed"], "verdict": ["improved", "pre_trend_failed"],
            "effect_unit": ["rate points", "rate points"], "warning": ["", ""],
        }
    )
    spec = sc.training_effect_chart(effects).to_dict()
    effect_panel, pre_panel = spec["vconcat"][0]["hconcat"]
    assert effect_panel["layer"][1]["encoding"]["color"]["field"] == "verdict"
    _, interval, point = pre_panel["layer"]
    assert (interval["encoding"]["x"]["field"], interval["encoding"]["x2"]["field"]) == ("pre_trend_low", "pre_trend_high")
    assert point["encoding"]["x"]["field"] == "pre_trend"
    assert interval["encoding"]["color"]["field"] == "pre_trend_check"


def test_charts_render_to_svg(segmented: pd.DataFrame) -> None:
    svg = (sc.segment_map_chart(segmented, load_settings()) | sc.segment_counts_chart(segmented)).to_json()
    assert "segment" in svg
    import io

    out = io.StringIO()
    sc.segment_map_chart(segmented).save(out, format="svg")
    assert out.getvalue().startswith("<svg")


def test_big_frames_are_refused(segmented: pd.DataFrame) -> None:
    big = pd.concat([segmented] * 1300, ignore_index=True)
    with pytest.raises(ValueError, match="at most 5000"):
        sc.segment_map_chart(big)
    with pytest.raises(ValueError, match="at most 5000"):
        sc.segment_history_chart(big.assign(as_of=pd.Timestamp("2026-09-30")))


def test_missing_column_is_named(segmented: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'reason'"):
        sc.segment_map_chart(segmented.drop(columns="reason"))
    assert isinstance(sc.segment_counts_chart(segmented), alt.LayerChart)


def test_milestone_progress_chart_shows_met_open_and_unchecked() -> None:
    frame = pd.DataFrame(
        {
            "rep_id": ["R1", "R1", "R2"],
            "rep_name": ["Ann", "Ann", "Bo"],
            "team": ["A", "A", "A"],
            "milestone": ["months_at_quota", "forecast_accuracy", "months_at_quota"],
            "description": ["d1", "d2", "d1"],
            "met": pd.array([True, pd.NA, False], dtype="boolean"),
            "met_at": pd.to_datetime(["2026-07-31", None, None]),
            "progress": ["2 of 2 months", "", "1 of 2 months"],
            "note": ["", "not checkable: no forecasts", "current run 1 of 2 months"],
        }
    )
    chart = sc.milestone_progress_chart(frame)
    spec = chart.to_dict()
    assert set(chart.data["status"]) == {"met", "open", "not checkable"}
    cells = spec["spec"]["layer"][0]["encoding"]
    assert (cells["x"]["field"], cells["y"]["field"], cells["color"]["field"]) == ("milestone", "rep_id", "status")
    assert cells["x"]["sort"] == ["months_at_quota", "forecast_accuracy"]


def test_routine_link_chart() -> None:
    comparison = pd.DataFrame(
        {
            "routine": ["call_block_share", "follow_up_days", "conversation_days_per_week", "next_step_share"],
            "label": ["no_clear_difference", "differs", "uninformative", "insufficient_data"],
            "difference": [-0.03, -0.5, float("nan"), float("nan")],
            "diff_ci_low": [-0.16, -0.76, float("nan"), float("nan")],
            "diff_ci_high": [0.02, -0.03, float("nan"), float("nan")],
            "n_top": [8, 8, 8, 0],
            "n_rest": [19, 19, 19, 0],
            "median_top": [0.03, 3.2, 5.0, float("nan")],
            "median_rest": [0.06, 3.7, 5.0, float("nan")],
        }
    )
    chart = sc.routine_link_chart(comparison)
    spec = chart.to_dict()
    zero, interval, point = spec["spec"]["layer"]
    assert (interval["encoding"]["x"]["field"], interval["encoding"]["x2"]["field"]) == ("diff_ci_low", "diff_ci_high")
    assert point["encoding"]["x"]["field"] == "difference" and point["encoding"]["color"]["field"] == "label"
    assert zero["transform"] == [{"calculate": "0", "as": "zero"}]
    assert spec["resolve"]["scale"]["x"] == "independent"  # each routine in its own unit
    # the uninformative routine and the one without data are not drawn
    drawn = next(iter(spec["datasets"].values()))
    assert [r["routine"] for r in drawn] == ["call_block_share", "follow_up_days"]
    assert spec["facet"]["row"]["sort"] == ["call_block_share", "follow_up_days"]
    with pytest.raises(ValueError, match="needs column 'label'"):
        sc.routine_link_chart(comparison.drop(columns="label"))


# ------------------------------------------------------------------ what each chart draws
# The marks Vega draws for the frames above, counted in its scenegraph (tests/chart_scene.py),
# with the field and type on each axis: a chart that drops or doubles a rep shows here.


def _types(chart: object) -> list[tuple[str, int]]:
    """(mark type, items drawn) of every mark, summed over facets, sorted."""
    total: dict[str, int] = {}
    for d in drawn(chart).values():
        total[d.marktype] = total.get(d.marktype, 0) + d.items
    return sorted(total.items())


def test_segment_map_draws_one_point_and_label_per_rep_with_an_attainment(segmented: pd.DataFrame) -> None:
    frame = pd.concat([segmented, segmented.head(1).assign(rep_id="R5", attainment=float("nan"))], ignore_index=True)
    chart = sc.segment_map_chart(frame, load_settings())
    points, labels, attainment_rules, share_rule = layers(chart.to_dict())
    assert [mark(u) for u in (points, labels, attainment_rules, share_rule)] == ["point", "text", "rule", "rule"]
    assert encoding(points, "x", "y", "color", "shape") == {
        "x": ("attainment", "quantitative"), "y": ("months_at_quota_share", "quantitative"),
        "color": ("segment", "nominal"), "shape": ("segment", "nominal"),
    }
    assert encoding(labels, "text") == {"text": ("rep_id", "nominal")}
    assert encoding(attainment_rules, "x") == {"x": ("attainment", "quantitative")}
    assert encoding(share_rule, "y") == {"y": ("share", "quantitative")}
    # 4 reps with an attainment (R5 has none: not drawn); 2 attainment thresholds, 1 months-share threshold
    assert _types(chart) == [("rule", 3), ("symbol", 4), ("text", 4)]


def test_segment_counts_draws_one_bar_per_segment_present(segmented: pd.DataFrame) -> None:
    frame = segmented.assign(segment=["developing", "developing", "hands_on", "developing"])
    chart = sc.segment_counts_chart(frame)
    bars, text = layers(chart.to_dict())
    assert (mark(bars), mark(text)) == ("bar", "text")
    assert encoding(bars, "x", "y", "color") == {"x": ("count", "quantitative"), "y": ("segment", "nominal"), "color": ("segment", "nominal")}
    assert _types(chart) == [("rect", 2), ("text", 2)]
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    assert ">3</text>" in svg and ">1</text>" in svg  # the counts written next to the bars


def test_segment_history_draws_one_cell_per_rep_and_month_end(segmented: pd.DataFrame) -> None:
    history = pd.concat([segmented.assign(as_of=pd.Timestamp("2026-09-30")), segmented.assign(as_of=pd.Timestamp("2026-10-31"))])
    chart = sc.segment_history_chart(history)
    units = layers(chart.to_dict())
    assert mark(units[0]) == "rect"
    assert encoding(units[0], "x", "y", "color") == {"x": ("as_of", "ordinal"), "y": ("rep_id", "nominal"), "color": ("segment", "nominal")}
    assert _types(chart)[0] == ("rect", 8)  # 4 reps x 2 month ends, over the two team panels


def test_coaching_priority_draws_one_bar_and_interval_per_priority() -> None:
    priorities = pd.DataFrame(
        {"rank": [1, 2, 3], "team_rank": [1, 1, 2], "rep_id": ["R1", "R2", "R3"], "rep_name": ["Ann", "Bo", "Cy"], "team": ["A", "B", "A"],
         "competency": ["connect_rate", "win_rate", "win_rate"], "current_rate": [0.1, 0.2, 0.25], "benchmark_rate": [0.2, 0.3, 0.3],
         "revenue_impact": [5000.0, 2000.0, 1000.0], "impact_low": [3000.0, 0.0, 100.0], "impact_high": [7000.0, 4000.0, 2000.0]}
    )
    chart = sc.coaching_priority_chart(priorities)
    bars, interval = layers(chart.to_dict())
    assert (mark(bars), mark(interval)) == ("bar", "rule")
    assert encoding(bars, "x", "y", "color") == {"x": ("revenue_impact", "quantitative"), "y": ("who", "nominal"), "color": ("competency", "nominal")}
    assert _types(chart) == [("rect", 3), ("rule", 3)]


def test_training_effect_draws_one_interval_and_point_per_training_in_its_units_panel() -> None:
    effects = pd.DataFrame(
        {"rep_id": ["R1", "R2", "R3"], "competency": ["connect_rate", "win_rate", "deal_size"],
         "completed_at": pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-03"]), "effect": [0.1, 0.02, 0.3],
         "ci_low": [0.05, -0.2, -0.1], "ci_high": [0.15, 0.25, 0.8], "effect_unit": ["rate points", "rate points", "relative"],
         "warning": ["", "", ""]}
    )
    chart = sc.training_effect_chart(effects)
    units = layers(chart.to_dict())
    assert [mark(u) for u in units] == ["rule", "rule", "point"] * 2
    assert encoding(units[2], "x", "y", "color") == {"x": ("effect", "quantitative"), "y": ("training", "nominal"), "color": ("verdict", "nominal")}
    assert units[0]["transform"][0] == {"filter": "(datum.effect_unit === 'rate points')"}
    # per training: its zero line, its interval, its point; 2 trainings in rate points, 1 relative
    assert _types(chart) == [("rule", 6), ("symbol", 3)]


def test_milestone_progress_draws_one_cell_and_label_per_rep_and_milestone() -> None:
    frame = pd.DataFrame(
        {"rep_id": ["R1", "R1", "R2", "R3"], "rep_name": ["Ann", "Ann", "Bo", "Cy"], "team": ["A", "A", "A", "B"],
         "milestone": ["months_at_quota", "forecast_accuracy", "months_at_quota", "months_at_quota"], "description": "d",
         "met": pd.array([True, pd.NA, False, True], dtype="boolean"), "met_at": pd.to_datetime(["2026-07-31", None, None, "2026-08-31"]),
         "progress": ["2 of 2 months", "", "1 of 2 months", "2 of 2 months"], "note": ""}
    )
    chart = sc.milestone_progress_chart(frame)
    cells, text = layers(chart.to_dict())
    assert (mark(cells), mark(text)) == ("rect", "text")
    assert encoding(text, "x", "y", "text") == {"x": ("milestone", "nominal"), "y": ("rep_id", "nominal"), "text": ("progress", "nominal")}
    assert chart.to_dict()["facet"]["row"]["field"] == "team"
    assert _types(chart) == [("rect", 4), ("text", 4)]


def test_routine_link_draws_only_the_routines_that_vary() -> None:
    comparison = pd.DataFrame(
        {"routine": ["call_block_share", "follow_up_days", "conversation_days_per_week"], "label": ["no_clear_difference", "differs", "uninformative"],
         "difference": [-0.03, -0.5, float("nan")], "diff_ci_low": [-0.16, -0.76, float("nan")], "diff_ci_high": [0.02, -0.03, float("nan")],
         "n_top": [8, 8, 8], "n_rest": [19, 19, 19], "median_top": [0.03, 3.2, 5.0], "median_rest": [0.06, 3.7, 5.0]}
    )
    chart = sc.routine_link_chart(comparison)
    zero, interval, point = layers(chart.to_dict())
    assert encoding(point, "x", "color") == {"x": ("difference", "quantitative"), "color": ("label", "nominal")}
    assert encoding(interval, "x", "x2") == {"x": ("diff_ci_low", "quantitative"), "x2": ("diff_ci_high", None)}
    # two panels (the uninformative routine is not drawn): in each a zero line, an interval, a point
    assert _types(chart) == [("rule", 4), ("symbol", 2)]
