"""Charts of segments, coaching priorities and training effects: they build, encode the right fields, refuse big frames.

The frames are small hand-written stand-ins with the columns of the analyses' results
(``segments.segment``, ``segments.segment_history``, ``coaching.coaching_priorities``,
``training.training_effects``); the charts compute nothing, so their specs are checked.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

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
