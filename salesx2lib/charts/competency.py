"""Charts of activity vs competency: the funnel, metric vs result, relevance, gap waterfall.

Each function takes a result frame of :mod:`salesx2lib.competency`,
:mod:`salesx2lib.relevance` or :mod:`salesx2lib.gaps` and returns an Altair chart; none
computes a figure (filters and sort orders are Vega-Lite's). Titles state the metric and
its formula. Inputs are aggregated frames: more than 5,000 rows is refused with a message
saying how to narrow it (Altair would raise ``MaxRowsError`` anyway).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesx2lib.charts import PALETTE

__all__ = [
    "FORMULAS",
    "funnel_chart",
    "funnel_comparison_chart",
    "gap_waterfall_chart",
    "metric_vs_result_chart",
    "relevance_chart",
]

#: One-line formula of each metric, for titles and tooltips.
FORMULAS: dict[str, str] = {
    "connect_rate": "connected calls / dials",
    "conversation_to_appointment": "appointments / conversations",
    "appointment_to_opportunity": "opportunities created / prospect appointments",
    "win_rate": "won / (won + lost), by close date",
    "avg_deal_size": "won_amount / won",
    "dials": "dials in the period",
}

_MAX_ROWS = 5000
_FUNNEL_ORDER = ["connect_rate", "conversation_to_appointment", "appointment_to_opportunity", "win_rate"]
_LABEL_COLORS = {"predicts_results": PALETTE[2], "not_predictive": "#999999", "insufficient_data": "#cccccc"}


def _check_rows(frame: pd.DataFrame, what: str, hint: str) -> None:
    if len(frame) > _MAX_ROWS:
        raise ValueError(f"{what} got {len(frame)} rows (at most {_MAX_ROWS} can be drawn); {hint}")


def funnel_chart(funnel_frame: pd.DataFrame) -> alt.FacetChart:
    """The funnel by rep (or by team), one panel per ratio, with Wilson 95% intervals.

    Points are the observed rates, horizontal bars their Wilson intervals, and ticks the
    empirical-Bayes shrunk rates (rep funnel only). A rep whose rate is undefined (no
    trials) shows only its shrunk rate (the team prior).

    Parameters
    ----------
    funnel_frame
        :func:`salesx2lib.competency.funnel` (rows per rep) or
        :func:`salesx2lib.competency.team_funnel` (rows per team), for one range; narrow it
        to one team when it has more than 5,000 rows.

    Returns
    -------
    altair.FacetChart
    """
    _check_rows(funnel_frame, "funnel_chart", "pass one team's rows")
    if "period_start" in funnel_frame.columns and funnel_frame["period_start"].nunique() > 1:
        raise ValueError("funnel_chart draws one range: pass the rows of one period_start")
    who = "rep_id" if "rep_id" in funnel_frame.columns else "team"
    data = funnel_frame.drop(columns=[c for c in ("period_start",) if c in funnel_frame.columns])
    y = alt.Y(f"{who}:N", title="rep" if who == "rep_id" else "team", sort="ascending")
    color = alt.Color("team:N", title="team")
    tooltip = [
        alt.Tooltip(f"{who}:N"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("successes:Q"),
        alt.Tooltip("trials:Q"),
        alt.Tooltip("rate:Q", format=".1%"),
        alt.Tooltip("ci_low:Q", format=".1%", title="Wilson low"),
        alt.Tooltip("ci_high:Q", format=".1%", title="Wilson high"),
    ]
    x = alt.X("rate:Q", title="rate", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart()
    layers = [
        base.mark_rule(strokeWidth=2, opacity=0.6).encode(
            x=alt.X("ci_low:Q", title="rate"), x2="ci_high:Q", y=y, color=color
        ),
        base.mark_point(filled=True, size=45).encode(x=x, y=y, color=color, tooltip=tooltip),
    ]
    if "shrunk_rate" in data.columns:
        tooltip_shrunk = [alt.Tooltip(f"{who}:N"), alt.Tooltip("shrunk_rate:Q", format=".1%", title="shrunk rate")]
        layers.append(
            base.mark_tick(color="#000000", thickness=2, size=12).encode(x="shrunk_rate:Q", y=y, tooltip=tooltip_shrunk)
        )
    subtitle = [f"{m} = {FORMULAS[m]}" for m in _FUNNEL_ORDER] + [
        "point = rate, bar = Wilson 95% interval"
        + (", black tick = empirical-Bayes shrunk rate (team prior)" if "shrunk_rate" in data.columns else "")
    ]
    return (
        alt.layer(*layers, data=data)
        .properties(width=180, height=alt.Step(14))
        .facet(column=alt.Column("metric:N", title=None, sort=_FUNNEL_ORDER))
        .properties(title=alt.Title("Competency funnel: rate per ratio with Wilson 95% interval", subtitle=subtitle))
    )


def metric_vs_result_chart(points: pd.DataFrame, trend_frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """One metric against won revenue per rep, with the OLS trend and its 95% band.

    Parameters
    ----------
    points
        :func:`salesx2lib.relevance.metric_vs_result`.
    trend_frame
        :func:`salesx2lib.relevance.trend` of the same points.
    metric
        The metric to show (``dials``, ``conversation_to_appointment``, ...).

    Returns
    -------
    altair.LayerChart
    """
    _check_rows(points, "metric_vs_result_chart", "pass one team's points")
    if metric not in set(points["metric"]):
        raise ValueError(f"points have no metric {metric!r} (metrics: {', '.join(sorted(set(points['metric'])))})")
    is_rate = metric in _FUNNEL_ORDER
    x_title = f"{metric}" + (" (shrunk rate)" if is_rate else "")
    x_axis = alt.Axis(format="%") if is_rate else alt.Axis()
    keep = alt.datum.metric == metric
    scatter = (
        alt.Chart(points)
        .transform_filter(keep)
        .mark_point(filled=True, opacity=0.7)
        .encode(
            x=alt.X("value:Q", title=x_title, axis=x_axis),
            y=alt.Y("result:Q", title="won_amount"),
            color=alt.Color("team:N", title="team"),
            tooltip=[
                "rep_id:N",
                "team:N",
                alt.Tooltip("value:Q", format=".3~f"),
                alt.Tooltip("result:Q", format=",.0f"),
            ],
        )
    )
    band = (
        alt.Chart(trend_frame)
        .transform_filter(keep)
        .mark_area(opacity=0.2, color=PALETTE[0])
        .encode(x="value:Q", y="ci_low:Q", y2="ci_high:Q")
    )
    line = alt.Chart(trend_frame).transform_filter(keep).mark_line(color=PALETTE[0]).encode(x="value:Q", y="fit:Q")
    formula = FORMULAS.get(metric, "count over the range")
    return alt.layer(band, line, scatter).properties(
        title=alt.Title(
            f"won_amount vs {metric} per rep",
            subtitle=[f"{metric} = {formula}", "line: least-squares trend; band: 95% interval of the mean"],
        )
    )


def relevance_chart(relevance_frame: pd.DataFrame) -> alt.LayerChart:
    """Metrics ranked by how well they predict the next sales cycle's won revenue, with intervals.

    Parameters
    ----------
    relevance_frame
        :func:`salesx2lib.relevance.relevance`.

    Returns
    -------
    altair.LayerChart
    """
    _check_rows(relevance_frame, "relevance_chart", "pass the relevance table")
    data = relevance_frame.loc[relevance_frame["rho"].notna()]
    y = alt.Y("metric:N", sort=alt.EncodingSortField("rho", order="descending"), title=None)
    color = alt.Color(
        "label:N",
        title="label",
        scale=alt.Scale(domain=list(_LABEL_COLORS), range=list(_LABEL_COLORS.values())),
    )
    tooltip = [
        "metric:N",
        "kind:N",
        alt.Tooltip("rho:Q", format=".2f"),
        alt.Tooltip("ci_low:Q", format=".2f"),
        alt.Tooltip("ci_high:Q", format=".2f"),
        alt.Tooltip("p_value:Q", format=".4f"),
        alt.Tooltip("p_adjusted:Q", format=".4f"),
        "n_obs:Q",
        "n_reps:Q",
        "n_periods:Q",
        "label:N",
    ]
    lookback = int(data["lookback"].iloc[0]) if len(data) else 0
    horizon = int(data["horizon"].iloc[0]) if len(data) else 0
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title="rank correlation with the next cycle's won_amount, within each date",
                scale=alt.Scale(domain=[-1, 1])),
        x2="ci_high:Q",
        y=y,
        color=color,
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="rho:Q", y=y, color=color, shape=alt.Shape("kind:N", title="kind"), tooltip=tooltip
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#555555", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(zero, bars, points).properties(
        title=alt.Title(
            "Which metrics predict results",
            subtitle=[
                f"rho: Spearman's rank correlation among reps on the same date, metric over the {lookback} periods "
                f"before vs won_amount over the {horizon} after",
                "bar: 95% interval, reps resampled; label: the p-value of a sign-flip test over reps, adjusted for testing every metric",
            ],
        )
    )


def gap_waterfall_chart(steps: pd.DataFrame, title: str = "") -> alt.LayerChart:
    """A rep's gap waterfall from the benchmark revenue to the rep's, one bar per factor.

    The y axis is logarithmic, so each factor bar's length is its log term and the bars
    add up exactly; labels give each factor's signed share.

    Parameters
    ----------
    steps
        :func:`salesx2lib.gaps.waterfall` for one rep.
    title
        Who it is about (e.g. the rep's name), put before the formula in the title.

    Returns
    -------
    altair.LayerChart
    """
    _check_rows(steps, "gap_waterfall_chart", "pass one rep's waterfall")
    x = alt.X("label:N", sort=alt.EncodingSortField("step"), title=None, axis=alt.Axis(labelAngle=-30))
    color = alt.Color(
        "direction:N",
        title=None,
        scale=alt.Scale(domain=["total", "behind", "ahead"], range=["#999999", PALETTE[5], PALETTE[2]]),
    )
    base = alt.Chart(steps).transform_calculate(
        direction="datum.kind == 'total' ? 'total' : (datum.log_term < 0 ? 'behind' : 'ahead')"
    )
    bars = (
        base.mark_bar()
        .encode(
            x=x,
            y=alt.Y("start:Q", scale=alt.Scale(type="log"), title="funnel revenue (log scale)"),
            y2="end:Q",
            color=color,
            tooltip=[
                "label:N",
                alt.Tooltip("start:Q", format=",.0f"),
                alt.Tooltip("end:Q", format=",.0f"),
                alt.Tooltip("log_term:Q", format="+.3f"),
                alt.Tooltip("share:Q", format="+.0%"),
            ],
        )
    )
    labels = (
        base.transform_filter(alt.datum.kind == "factor")
        .mark_text(dy=-8, fontSize=11)
        .encode(x=x, y=alt.Y("end:Q", scale=alt.Scale(type="log")), text=alt.Text("share:Q", format="+.0%"))
    )
    head = f"{title}: " if title else ""
    return alt.layer(bars, labels).properties(
        width=alt.Step(60),
        title=alt.Title(
            f"{head}gap to the team benchmark by factor",
            subtitle=[
                "revenue = dials × connect_rate × conversation_to_appointment × appointment_to_opportunity"
                " × win_rate × avg_deal_size",
                "share = log(rep / benchmark) of the factor ÷ sum of |log terms|",
            ],
        )
    )


def funnel_comparison_chart(comparison: pd.DataFrame) -> alt.LayerChart:
    """The team funnel of the current window against the baseline, with Wilson intervals.

    Parameters
    ----------
    comparison
        :func:`salesx2lib.competency.funnel_comparison` for one team.
    """
    _check_rows(comparison, "funnel_comparison_chart", "pass one team's rows")
    data = comparison.loc[comparison["defined"]].assign(
        label=lambda f: f["window"].map({"current": "this period", "baseline": "baseline"})
        + " ("
        + f["window_start"].dt.strftime("%d %b")
        + " to "
        + (f["window_end"] - pd.Timedelta(days=1)).dt.strftime("%d %b")
        + ")"
    )
    y = alt.Y("metric:N", sort=_FUNNEL_ORDER, title=None)
    color = alt.Color("label:N", title=None, scale=alt.Scale(range=[PALETTE[0], "#9aa5b1"]), sort="descending")
    offset = alt.YOffset("label:N", sort="descending")
    tooltip = [
        alt.Tooltip("label:N", title="window"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("successes:Q"),
        alt.Tooltip("trials:Q", title="n"),
        alt.Tooltip("rate:Q", format=".1%"),
        alt.Tooltip("ci_low:Q", format=".1%", title="Wilson low"),
        alt.Tooltip("ci_high:Q", format=".1%", title="Wilson high"),
    ]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="rate (pooled over the team)", axis=alt.Axis(format="%")),
        x2="ci_high:Q",
        y=y,
        yOffset=offset,
        color=color,
    )
    points = base.mark_point(filled=True, size=60).encode(x="rate:Q", y=y, yOffset=offset, color=color, tooltip=tooltip)
    return alt.layer(bars, points).properties(
        width=460,
        height=alt.Step(16),
        title=alt.Title(
            "Team funnel: this period against the baseline",
            subtitle=["point = rate, bar = Wilson 95% interval; a gap between bars is more than noise"],
        ),
    )
