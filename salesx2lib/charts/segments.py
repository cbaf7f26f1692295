"""Charts of self-starter segmentation, milestones, coaching priorities, routines and training effects.

Each function takes a result frame of :mod:`salesx2lib.segments`,
:mod:`salesx2lib.milestones`, :mod:`salesx2lib.coaching`, :mod:`salesx2lib.routines` or
:mod:`salesx2lib.training` and returns an Altair chart; none
computes a figure (counts and sort orders are Vega-Lite's). Segments always wear
:data:`salesx2lib.charts.SEGMENT_COLORS`. Inputs are aggregated frames: more than 5,000
rows is refused with a message saying how to narrow it (Altair would raise
``MaxRowsError`` anyway).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesx2lib.charts import PALETTE, SEGMENT_COLORS
from salesx2lib.settings import Settings

__all__ = [
    "COMPETENCY_COLORS",
    "coaching_priority_chart",
    "milestone_progress_chart",
    "routine_link_chart",
    "segment_counts_chart",
    "segment_history_chart",
    "segment_map_chart",
    "training_effect_chart",
]

#: One colour per coaching competency (the factors of the gap decomposition), the same in every chart.
COMPETENCY_COLORS: dict[str, str] = {
    "connect_rate": PALETTE[0],
    "conversation_to_appointment": PALETTE[1],
    "appointment_to_opportunity": PALETTE[2],
    "win_rate": PALETTE[3],
    "avg_deal_size": PALETTE[5],
}

_MAX_ROWS = 5000
_SEGMENT_ORDER = ["self_sustained", "developing", "hands_on", "ramping"]
_SEGMENT_SCALE = alt.Scale(domain=_SEGMENT_ORDER, range=[SEGMENT_COLORS[s] for s in _SEGMENT_ORDER])


def _check_rows(frame: pd.DataFrame, what: str, hint: str) -> None:
    if len(frame) > _MAX_ROWS:
        raise ValueError(f"{what} got {len(frame)} rows (at most {_MAX_ROWS} can be drawn); {hint}")


def _check_columns(frame: pd.DataFrame, what: str, columns: list[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs column {missing[0]!r} (pass {source})")


def _segment_color(title: str = "segment") -> alt.Color:
    return alt.Color("segment:N", title=title, scale=_SEGMENT_SCALE, sort=_SEGMENT_ORDER)


def segment_map_chart(segmented: pd.DataFrame, settings: Settings | None = None) -> alt.LayerChart:
    """Attainment against consistency, one point per rep, coloured by segment.

    Across: ``attainment`` (won / quota over the window); up: ``months_at_quota_share``
    (share of the window's months at or above quota). The tooltip carries the rep, the
    scores and the ``reason`` in words. With ``settings``, dashed lines mark the
    self_sustained thresholds (attainment and months share) and the developing attainment
    threshold: the self_sustained corner is top right. Ramping reps are placed by their
    scores too, but their segment is decided by tenure; reps without a quota have no
    attainment and are not drawn.

    Parameters
    ----------
    segmented
        :func:`salesx2lib.segments.segment` (one as-of date).
    settings
        The settings whose thresholds to draw; ``None``: no threshold lines.

    Returns
    -------
    altair.LayerChart
    """
    _check_rows(segmented, "segment_map_chart", "pass one as-of date of the segment history")
    _check_columns(segmented, "segment_map_chart",
                   ["rep_id", "team", "attainment", "months_at_quota_share", "segment", "reason"],
                   "segments.segment(scores)")
    columns = [c for c in ("rep_id", "rep_name", "team", "attainment", "attainment_ci_low", "attainment_ci_high",
                           "p_at_quota", "won_deals", "months_at_quota", "months",
                           "months_at_quota_share", "competency_percentile", "tenure_days", "segment",
                           "reason", "open_criteria") if c in segmented.columns]
    data = segmented[columns]
    tooltip = [alt.Tooltip(c) for c in ("rep_id", "rep_name", "team", "segment") if c in data.columns] + [
        alt.Tooltip("attainment:Q", format=".0%"),
        alt.Tooltip("months_at_quota_share:Q", format=".0%", title="months at quota"),
        alt.Tooltip("reason:N"),
    ]
    if "competency_percentile" in data.columns:
        tooltip.insert(-1, alt.Tooltip("competency_percentile:Q", format=".0f", title="competency percentile"))
    if "p_at_quota" in data.columns:
        tooltip.insert(5, alt.Tooltip("p_at_quota:Q", format=".2f", title="P(at quota)"))
        tooltip.insert(6, alt.Tooltip("won_deals:Q", title="won deals"))
    base = alt.Chart(data)
    x = alt.X("attainment:Q", title="attainment (won / quota over the window)", axis=alt.Axis(format="%"))
    y = alt.Y("months_at_quota_share:Q", title="share of months at quota", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1.08], nice=False))
    points = base.mark_point(filled=True, size=90, opacity=0.85).encode(
        x=x, y=y, color=_segment_color(), shape=alt.Shape("segment:N", sort=_SEGMENT_ORDER, legend=None),
        tooltip=tooltip,
    )
    labels = base.mark_text(align="left", dx=7, dy=-6, fontSize=9, color="#555555").encode(x=x, y=y, text="rep_id:N")
    layers: list[alt.Chart] = [points, labels]
    subtitle = ["point = rep; hover for the reason in words"]
    if settings is not None:
        s = settings
        rules = pd.DataFrame(
            {
                "attainment": [s.segments_self_sustained_attainment, s.segments_developing_attainment],
                "rule": [f"self_sustained attainment {s.segments_self_sustained_attainment:.0%}",
                         f"developing attainment {s.segments_developing_attainment:.0%}"],
            }
        )
        layers.append(
            alt.Chart(rules).mark_rule(strokeDash=[5, 4], color="#888888").encode(x="attainment:Q", tooltip=["rule:N"])
        )
        layers.append(
            alt.Chart(pd.DataFrame({"share": [s.segments_self_sustained_months_share]}))
            .mark_rule(strokeDash=[5, 4], color="#888888")
            .encode(y="share:Q")
        )
        subtitle.append(
            f"dashed: self_sustained needs attainment ≥ {s.segments_self_sustained_attainment:.0%}, months at quota "
            f"≥ {s.segments_self_sustained_months_share:.0%} and competency percentile ≥ "
            f"{s.segments_self_sustained_percentile:.0f}; developing needs attainment ≥ {s.segments_developing_attainment:.0%}"
        )
    return alt.layer(*layers).properties(
        width=520, height=300,
        title=alt.Title("Segment map: attainment against consistency", subtitle=subtitle),
    )


def segment_counts_chart(segmented: pd.DataFrame) -> alt.Chart:
    """How many reps are in each segment (bars, counted by Vega-Lite), in the segment colours.

    Parameters
    ----------
    segmented
        :func:`salesx2lib.segments.segment` (one as-of date).

    Returns
    -------
    altair.Chart
    """
    _check_rows(segmented, "segment_counts_chart", "pass one as-of date of the segment history")
    _check_columns(segmented, "segment_counts_chart", ["rep_id", "segment"], "segments.segment(scores)")
    data = segmented[["rep_id", "segment"]]
    y = alt.Y("segment:N", title=None, sort=_SEGMENT_ORDER, scale=alt.Scale(domain=_SEGMENT_ORDER))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("count():Q", title="reps"), y=y, color=alt.Color("segment:N", scale=_SEGMENT_SCALE, legend=None),
        tooltip=["segment:N", alt.Tooltip("count():Q", title="reps")],
    )
    text = alt.Chart(data).mark_text(align="left", dx=4).encode(x="count():Q", y=y, text="count():Q")
    return (bars + text).properties(width=200, height=alt.Step(24), title="Reps per segment")


def segment_history_chart(history: pd.DataFrame) -> alt.FacetChart:
    """Each rep's segment as of each month end: a heat strip, one row per rep, one panel per team.

    Read along a row: a rep who stays one colour is settled; a rep who changes colour
    every month sits near a threshold. The tooltip gives the reason at that date, and with
    the hysteresis columns of :func:`salesx2lib.segments.segment_history`, what the
    one-date rules said and P(at quota).

    Parameters
    ----------
    history
        :func:`salesx2lib.segments.segment_history`.

    Returns
    -------
    altair.FacetChart
    """
    _check_rows(history, "segment_history_chart", "pass one team (dataset.for_team) or fewer as-of dates")
    _check_columns(history, "segment_history_chart", ["rep_id", "team", "as_of", "segment", "reason"],
                   "segments.segment_history(dataset)")
    columns = [c for c in ("rep_id", "rep_name", "team", "as_of", "segment", "rule_segment", "reason", "attainment",
                           "p_at_quota") if c in history.columns]
    data = history[columns]
    tooltip = [alt.Tooltip(c) for c in ("rep_id", "rep_name", "team") if c in data.columns] + [
        alt.Tooltip("as_of:T", format="%Y-%m-%d", title="as of"),
        alt.Tooltip("segment:N"),
        *([alt.Tooltip("rule_segment:N", title="the rules alone")] if "rule_segment" in data.columns else []),
        *([alt.Tooltip("p_at_quota:Q", format=".2f", title="P(at quota)")] if "p_at_quota" in data.columns else []),
        alt.Tooltip("reason:N"),
    ]
    strip = (
        alt.Chart()
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X("yearmonthdate(as_of):O", title="as of", axis=alt.Axis(format="%d %b %Y", labelAngle=-40)),
            y=alt.Y("rep_id:N", title=None, sort="ascending"),
            color=_segment_color(),
            tooltip=tooltip,
        )
        .properties(width=alt.Step(48), height=alt.Step(16))
    )
    return (
        alt.layer(strip, data=data)
        .facet(row=alt.Row("team:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .resolve_scale(y="independent")
        .properties(title=alt.Title("Segment history: each rep's segment as of each date",
                                    subtitle="one row per rep, one panel per team; hover for the reason"))
    )


def coaching_priority_chart(priorities: pd.DataFrame) -> alt.LayerChart:
    """Revenue at stake per rep: bars of ``revenue_impact`` with its 95% interval, coloured by competency.

    Each bar is the revenue the rep is expected to add over the window's activity if the
    named competency alone reached its target (the team benchmark, ramp-adjusted for a new
    hire); the whisker is its 95% interval (``impact_low`` to ``impact_high``) when the frame
    has it. Longest bar first. Self_sustained reps are not in the frame (backed off).

    Parameters
    ----------
    priorities
        :func:`salesx2lib.coaching.coaching_priorities`, or some of its rows (e.g. each
        team's first three: ``priorities[priorities["team_rank"] <= 3]``).

    Returns
    -------
    altair.LayerChart
    """
    _check_rows(priorities, "coaching_priority_chart", "pass the first rows (priorities.head(n))")
    _check_columns(priorities, "coaching_priority_chart",
                   ["rep_id", "team", "competency", "current_rate", "benchmark_rate", "revenue_impact"],
                   "coaching.coaching_priorities(dataset)")
    columns = [c for c in ("rank", "team_rank", "rep_id", "rep_name", "team", "competency", "current_rate",
                           "benchmark_rate", "target_rate", "p_below", "revenue_impact", "impact_low", "impact_high",
                           "sentence") if c in priorities.columns]
    data = priorities[columns]
    label = "rep_name" if "rep_name" in data.columns else "rep_id"
    domain = list(COMPETENCY_COLORS)
    tooltip = [c for c in ("rep_id", "rep_name", "team", "competency") if c in data.columns] + [
        alt.Tooltip(f"{c}:Q", format=",.3~f") for c in ("current_rate", "benchmark_rate", "target_rate") if c in data.columns
    ] + [alt.Tooltip(f"{c}:Q", format=".0%") for c in ("p_below",) if c in data.columns] + [
        alt.Tooltip(f"{c}:Q", format=",.0f") for c in ("revenue_impact", "impact_low", "impact_high") if c in data.columns
    ] + (["sentence:N"] if "sentence" in data.columns else [])
    base = alt.Chart(data).transform_calculate(who=f"datum.{label} + ' (' + datum.team + ')'")
    y = alt.Y("who:N", title=None, sort=alt.EncodingSortField("revenue_impact", op="max", order="descending"))
    bars = base.mark_bar().encode(
        x=alt.X("revenue_impact:Q", title="revenue_impact: expected revenue added at the target",
                axis=alt.Axis(format=",.0f")),
        y=y,
        color=alt.Color("competency:N", title="competency to coach",
                        scale=alt.Scale(domain=domain, range=[COMPETENCY_COLORS[c] for c in domain])),
        tooltip=tooltip,
    )
    layers = [bars]
    if {"impact_low", "impact_high"} <= set(data.columns):
        layers.append(base.mark_rule(color="#333333").encode(x="impact_low:Q", x2="impact_high:Q", y=y, tooltip=tooltip))
    return alt.layer(*layers).properties(
        width=420, height=alt.Step(18),
        title=alt.Title("Coaching priorities: a real gap (P(below target) ≥ 0.9), ranked by expected revenue",
                        subtitle="bar = E[revenue added if that one competency reached its target], line = 95% interval; "
                                 "self_sustained reps are backed off, not listed"),
    )


#: Colour of each training verdict (salesx2lib.training.VERDICTS) and of each pre-trend check.
_VERDICT_COLORS = {"improved": SEGMENT_COLORS["self_sustained"], "no_clear_change": "#777777",
                   "worse": SEGMENT_COLORS["hands_on"], "pre_trend_failed": PALETTE[3], "insufficient_data": "#cccccc"}
_PRE_TREND_COLORS = {"passed": "#777777", "failed": PALETTE[3], "not_checked": "#cccccc"}


def training_effect_chart(effects: pd.DataFrame) -> alt.VConcatChart:
    """The effect of each training with its interval, and next to it the pre-trend check.

    Left: the effect (difference in differences: the trained rep's change from the before
    window to the after window, minus the change of its matched untrained reps), the bar its
    interval calibrated on placebo trainings, coloured by ``verdict``: green improved, grey
    no clear change, red worse, purple pre-trend failed, light grey insufficient data (a
    point without a trustworthy bar). Right (when the frame has the columns): the same
    comparison between the two halves of the before window, which should straddle zero; a
    purple bar clear of zero means the rep was already moving apart before the training.
    Rates are in rate points, deal size as a relative change: one row of panels each.
    Hover for the sentence and the warning.

    Parameters
    ----------
    effects
        :func:`salesx2lib.training.training_effects`.

    Returns
    -------
    altair.VConcatChart
    """
    _check_rows(effects, "training_effect_chart", "pass fewer trainings")
    _check_columns(effects, "training_effect_chart",
                   ["rep_id", "competency", "completed_at", "effect", "ci_low", "ci_high", "effect_unit", "warning"],
                   "training.training_effects(dataset)")
    columns = [c for c in ("rep_id", "team", "competency", "metric", "completed_at", "rep_before", "rep_after",
                           "rep_n_before", "rep_n_after", "control_before", "control_after", "controls", "effect",
                           "ci_low", "ci_high", "effect_unit", "verdict", "pre_trend", "pre_trend_low",
                           "pre_trend_high", "pre_trend_check", "sentence", "warning") if c in effects.columns]
    data = effects[columns]
    if "verdict" not in data.columns:
        data = data.assign(verdict=pd.Series("no_clear_change", index=data.index, dtype="str"))
    with_pre = {"pre_trend", "pre_trend_low", "pre_trend_high", "pre_trend_check"} <= set(data.columns)
    tooltip = [alt.Tooltip("rep_id:N"), alt.Tooltip("competency:N"),
               alt.Tooltip("completed_at:T", format="%Y-%m-%d", title="completed"), alt.Tooltip("verdict:N")] + [
        alt.Tooltip(f"{c}:Q", format=",.3~f") for c in ("rep_before", "rep_after", "control_before", "control_after")
        if c in data.columns
    ] + [alt.Tooltip(f"{c}:Q", format="+.1%") for c in ("effect", "ci_low", "ci_high")] + [
        alt.Tooltip(f"{c}:N") for c in ("controls", "sentence", "warning") if c in data.columns]
    color = alt.Color("verdict:N", title="verdict",
                      scale=alt.Scale(domain=list(_VERDICT_COLORS), range=list(_VERDICT_COLORS.values())))
    pre_color = alt.Color("pre_trend_check:N", title="pre-trend check",
                          scale=alt.Scale(domain=list(_PRE_TREND_COLORS), range=list(_PRE_TREND_COLORS.values())))
    titles = {"rate points": ("effect in rate points (+10% = ten points)", "pre-trend, rate points"),
              "relative": ("effect as a relative change (+25% = deals 25% larger)", "pre-trend, relative")}
    rows = []
    for unit in [u for u in ("rate points", "relative") if u in set(data["effect_unit"])]:
        base = alt.Chart(data).transform_filter(alt.datum.effect_unit == unit).transform_calculate(
            training="datum.rep_id + ' ' + datum.competency", zero="0")
        y = alt.Y("training:N", title=None, sort=alt.EncodingSortField("completed_at", op="min", order="ascending"))
        x = alt.X("ci_low:Q", title=titles.get(unit, (unit, unit))[0], axis=alt.Axis(format="+.0%"))
        effect = alt.layer(
            base.mark_rule(color="#333333").encode(x="zero:Q"),
            base.mark_rule(strokeWidth=2.5, opacity=0.7).encode(x=x, x2="ci_high:Q", y=y, color=color, tooltip=tooltip),
            base.mark_point(size=70, filled=True).encode(x="effect:Q", y=y, color=color, tooltip=tooltip),
        ).properties(width=360, height=alt.Step(20))
        if not with_pre:
            rows.append(effect)
            continue
        pre_tip = [alt.Tooltip("rep_id:N"), alt.Tooltip("competency:N"), alt.Tooltip("pre_trend_check:N"),
                   alt.Tooltip("pre_trend:Q", format="+.1%"), alt.Tooltip("pre_trend_low:Q", format="+.1%"),
                   alt.Tooltip("pre_trend_high:Q", format="+.1%")]
        px = alt.X("pre_trend_low:Q", title=titles.get(unit, (unit, unit))[1], axis=alt.Axis(format="+.0%"))
        pre = alt.layer(
            base.mark_rule(color="#333333").encode(x="zero:Q"),
            base.mark_rule(strokeWidth=2.5, opacity=0.7).encode(x=px, x2="pre_trend_high:Q", y=alt.Y(
                "training:N", title=None, axis=None, sort=alt.EncodingSortField("completed_at", op="min",
                                                                              order="ascending")),
                color=pre_color, tooltip=pre_tip),
            base.mark_point(size=50, filled=True, shape="diamond").encode(
                x="pre_trend:Q", y=alt.Y("training:N", axis=None, sort=alt.EncodingSortField(
                    "completed_at", op="min", order="ascending")), color=pre_color, tooltip=pre_tip),
        ).properties(width=200, height=alt.Step(20))
        rows.append(alt.hconcat(effect, pre, spacing=10).resolve_scale(color="independent"))
    return alt.vconcat(*rows, spacing=25).properties(
        title=alt.Title(
            "Training effect against matched untrained reps, with the pre-trend check",
            subtitle=["left: point = effect (rep's change − matched reps' change), bar = interval calibrated on "
                      "placebo trainings, black line = no effect",
                      "right: the same comparison inside the before window (should cross the line; purple = "
                      "the rep was already moving: not trusted)"],
        )
    )


_STATUS_COLORS = {"met": SEGMENT_COLORS["self_sustained"], "open": SEGMENT_COLORS["hands_on"], "not checkable": "#dddddd"}


def milestone_progress_chart(milestones_frame: pd.DataFrame) -> alt.FacetChart:
    """Each rep's milestones on the ladder: met (green), open (orange), not checkable (grey).

    One row per rep, one column per milestone in ladder order, one panel per team; the
    cell shows the current run over the latest periods (``progress``, e.g. ``3 of 4
    weeks``): green only when the milestone holds now. Hover for the description, the
    window judged and since when it has held.

    Parameters
    ----------
    milestones_frame
        :func:`salesx2lib.milestones.milestones`.

    Returns
    -------
    altair.FacetChart
    """
    _check_rows(milestones_frame, "milestone_progress_chart", "pass one team (dataset.for_team)")
    _check_columns(milestones_frame, "milestone_progress_chart",
                   ["rep_id", "team", "milestone", "description", "met", "met_at", "progress", "note"],
                   "milestones.milestones(dataset)")
    m = milestones_frame
    columns = [c for c in ("rep_id", "rep_name", "team", "milestone", "description", "met_at", "window_start",
                           "window_end", "progress", "note") if c in m.columns]
    # met is a nullable boolean; the chart gets it as text so that "not checkable" survives JSON.
    data = m[columns].assign(status=m["met"].astype("boolean").map({True: "met", False: "open"}).fillna("not checkable")
                             .astype("str"))
    ladder = list(dict.fromkeys(m["milestone"]))
    tooltip = [alt.Tooltip(c) for c in ("rep_id", "rep_name") if c in data.columns] + [
        "milestone:N", "description:N", "status:N", "progress:N",
        alt.Tooltip("met_at:T", format="%Y-%m-%d", title="held since"), "note:N",
    ] + [alt.Tooltip(f"{c}:T", format="%Y-%m-%d") for c in ("window_start", "window_end") if c in data.columns]
    x = alt.X("milestone:N", title=None, sort=ladder, axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("rep_id:N", title=None, sort="ascending")
    cells = alt.Chart().mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("status:N", title="milestone", scale=alt.Scale(domain=list(_STATUS_COLORS),
                                                                       range=list(_STATUS_COLORS.values()))),
    )
    text = alt.Chart().mark_text(fontSize=10).encode(
        x=x, y=y, text="progress:N", tooltip=tooltip,
        color=alt.condition(alt.datum.status == "not checkable", alt.value("#333333"), alt.value("white")),
    )
    return (
        alt.layer(cells, text, data=data)
        .properties(width=alt.Step(190), height=alt.Step(18))
        .facet(row=alt.Row("team:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .resolve_scale(y="independent")
        .properties(title=alt.Title("Milestones on the road to self_sustained: held now?",
                                    subtitle="green = held in each of the latest weeks/months; cell = current run; "
                                             "hover for since when"))
    )


def routine_link_chart(comparison: pd.DataFrame) -> alt.FacetChart:
    """Top producers against the rest on each routine: the shift with its interval, a zero line.

    One panel per routine labelled ``differs`` or ``no_clear_difference``, each with its own
    x scale (the routines have different units: a share, days, touches). The point is the
    Hodges-Lehmann shift (top producers minus the rest), the bar its interval (joint over
    the routines compared), the black line no difference. A bar wholly right of zero: top
    producers do more of it; wholly left: less. Routines labelled ``uninformative`` (nearly
    the same for every rep) or ``insufficient_data`` are **not drawn**: a chart of a routine
    that does not vary would invite coaching on nothing. The tooltip has the number of
    reps and both groups' medians.

    Parameters
    ----------
    comparison
        :func:`salesx2lib.routines.routine_comparison`.

    Returns
    -------
    altair.FacetChart
    """
    _check_rows(comparison, "routine_link_chart", "pass one row per routine")
    needed = ["routine", "label", "difference", "diff_ci_low", "diff_ci_high", "n_top", "n_rest", "median_top",
              "median_rest"]
    _check_columns(comparison, "routine_link_chart", needed, "routines.routine_comparison(routines_frame)")
    data = comparison.loc[comparison["label"].isin(["differs", "no_clear_difference"]), needed]
    color = alt.Color("label:N", title="top producers vs the rest",
                      scale=alt.Scale(domain=["differs", "no_clear_difference"], range=[PALETTE[2], "#999999"]))
    tooltip = ["routine:N", "label:N", alt.Tooltip("n_top:Q", title="top producers"),
               alt.Tooltip("n_rest:Q", title="the rest")] + [
        alt.Tooltip(f"{c}:Q", format=",.3~f")
        for c in ("median_top", "median_rest", "difference", "diff_ci_low", "diff_ci_high")]
    base = alt.Chart().encode(tooltip=tooltip)
    panel = alt.layer(
        base.transform_calculate(zero="0").mark_rule(color="#333333").encode(
            x=alt.X("zero:Q", title="top producers minus the rest", scale=alt.Scale(zero=True, nice=True))),
        base.mark_rule(strokeWidth=3).encode(x="diff_ci_low:Q", x2="diff_ci_high:Q", color=color),
        base.mark_point(filled=True, size=80).encode(x="difference:Q", color=color),
        data=data,
    ).properties(width=380, height=24)
    return panel.facet(
        row=alt.Row("routine:N", title=None, sort=data["routine"].tolist(),
                    header=alt.Header(labelAngle=0, labelAlign="left")),
    ).resolve_scale(x="independent").properties(
        title=alt.Title("Routines: do top producers (by attainment in their team) do it differently?",
                        subtitle="point = shift (Hodges-Lehmann), bar = joint interval, black line = no difference; "
                                 "routines that barely vary are not drawn"),
    )
