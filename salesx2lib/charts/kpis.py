"""Charts of the weekly report's headline KPIs, one per KPI over the weeks.

Each chart takes the frame of :func:`salesx2lib.kpis.weekly_kpis` and draws one KPI:
bars for won revenue and conversations, bars with the 100% line for quota attainment,
points with Wilson 95% error bars and each week's n (conversations) for the
conversation-to-appointment ratio. The report
week is drawn in the strong colour, the weeks before it in a pale one. Nothing is
computed here.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from salesx2lib.charts import PALETTE
from salesx2lib.kpis import KPI_FORMULAS, KPI_LABELS, KPI_UNITS, KPIS

__all__ = ["kpi_chart"]

_PALE = "#b9cfe0"
_WIDTH = 420
_HEIGHT = 180


def _week_colour() -> Any:
    """Strong colour for the report week (``weeks_before == 0``), pale for the others."""
    return alt.condition(alt.datum.weeks_before == 0, alt.value(PALETTE[0]), alt.value(_PALE))


def kpi_chart(weekly: pd.DataFrame, kpi: str) -> alt.Chart | alt.LayerChart:
    """One KPI over the weeks of ``weekly``, the report week highlighted.

    Parameters
    ----------
    weekly
        The result of :func:`salesx2lib.kpis.weekly_kpis`.
    kpi
        One of :data:`salesx2lib.kpis.KPIS`.

    Returns
    -------
    altair.Chart or altair.LayerChart
        Titled with the KPI's label and formula. When the KPI could not be computed (its
        table is missing) the chart is a single line of text with the reason.
    """
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi!r} (KPIs: {', '.join(KPIS)})")
    data = weekly.loc[weekly["kpi"] == kpi]
    title = alt.Title(KPI_LABELS[kpi], subtitle=KPI_FORMULAS[kpi])
    if data["value"].isna().all():
        return (
            alt.Chart(data.head(1), title=title, width=_WIDTH, height=30)
            .mark_text(align="left", x=0, fontSize=13, color="#555555")
            .encode(text="note:N")
        )
    unit = KPI_UNITS[kpi]
    y_format = "%" if unit == "ratio" else ",.0f"
    x = alt.X("yearmonthdate(week_start):O", title="Week starting", axis=alt.Axis(format="%d %b", labelAngle=0))
    y = alt.Y("value:Q", title=KPI_LABELS[kpi], axis=alt.Axis(format=y_format))
    tooltip = [
        alt.Tooltip("yearmonthdate(week_start):T", title="Week starting"),
        alt.Tooltip("value:Q", title=KPI_LABELS[kpi], format=".1%" if unit == "ratio" else ",.1f"),
    ]
    base = alt.Chart(data, title=title, width=_WIDTH, height=_HEIGHT)
    if kpi == "conversation_to_appointment":
        bars = base.mark_errorbar(ticks={"size": 14}, color="#777777").encode(
            x=x, y=alt.Y("ci_low:Q", title=KPI_LABELS[kpi], axis=alt.Axis(format="%")), y2="ci_high:Q"
        )
        points = base.mark_point(filled=True, size=80).encode(
            x=x,
            y=y,
            color=_week_colour(),
            tooltip=[
                *tooltip,
                alt.Tooltip("denominator:Q", title="Conversations (n)", format=",.0f"),
                alt.Tooltip("ci_low:Q", title="95% low", format=".1%"),
                alt.Tooltip("ci_high:Q", title="95% high", format=".1%"),
            ],
        )
        # The n of each week along the bottom (also keeps weeks with no conversations on the axis).
        sizes = (
            base.transform_calculate(label="'n=' + format(datum.denominator, ',.0f')")
            .mark_text(baseline="bottom", align="left", dx=9, fontSize=10, color="#555555")
            .encode(x=x, y=alt.value(_HEIGHT - 3), text="label:N")
        )
        return alt.layer(bars, points, sizes)
    chart = base.mark_bar().encode(x=x, y=y, color=_week_colour(), tooltip=tooltip)
    if kpi == "quota_attainment":
        target = alt.Chart(pd.DataFrame({"value": [1.0]})).mark_rule(strokeDash=[4, 3], color="#555555").encode(y="value:Q")
        return alt.layer(chart, target)
    return chart
