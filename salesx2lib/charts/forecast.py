"""Charts for forecasting within the cycle (principle 4).

Each function takes a result table of :mod:`salesx2lib.horizon`, :mod:`salesx2lib.cycle`,
:mod:`salesx2lib.rolling`, :mod:`salesx2lib.scrub`, :mod:`salesx2lib.cadence` or
:mod:`salesx2lib.waterfall` and returns an Altair chart; nothing
is computed here (filter to one team before charting where a function says so).
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from salesx2lib.waterfall import STEPS

__all__ = [
    "backtest_chart",
    "cycle_curve_chart",
    "horizon_accuracy_chart",
    "horizon_baseline_chart",
    "reliability_chart",
    "scrub_flags_chart",
    "waterfall_chart",
    "win_within_chart",
]

#: Bar colours of the waterfall's steps: totals neutral, additions green, removals vermillion.
WATERFALL_COLORS: dict[str, str] = {
    "start": "#0072B2",
    "new": "#009E73",
    "pulled_in": "#009E73",
    "pushed_out": "#D55E00",
    "amount_up": "#009E73",
    "amount_down": "#D55E00",
    "won": "#E69F00",
    "lost": "#D55E00",
    "end": "#0072B2",
}


def _one_team(df: pd.DataFrame, what: str) -> None:
    teams = df["team"].unique().tolist() if "team" in df.columns else []
    if len(teams) > 1:
        raise ValueError(f"{what} draws one team; filter first (got teams {', '.join(map(str, teams))})")


def horizon_accuracy_chart(horizon: pd.DataFrame, cycle_days: float | None = None) -> alt.LayerChart:
    """Accuracy (1 - WAPE) and bias of submitted forecasts against the horizon, with the cycle.

    Parameters
    ----------
    horizon
        Rows of :func:`salesx2lib.horizon.horizon_accuracy` for one team (e.g. ``all``).
        Each bucket is drawn at its submissions' median horizon.
    cycle_days
        The measured cycle (``km_median_days`` of :func:`salesx2lib.cycle.sales_cycle`),
        drawn as a vertical rule: forecasts to the right of it look past the cycle.
    """
    _one_team(horizon, "horizon_accuracy_chart")
    base = alt.Chart(horizon).transform_fold(["accuracy", "bias"], as_=["metric", "value"])
    tooltip = [
        alt.Tooltip("horizon_bucket:N", title="horizon (days)"),
        alt.Tooltip("n:Q", title="submissions"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("value:Q", format=".0%"),
    ]
    x = alt.X("horizon_median_days:Q", title="Forecast horizon: days from submission to period end")
    y = alt.Y("value:Q", title="accuracy = 1 - WAPE;  bias = sum(F-A)/sum(A)", axis=alt.Axis(format="%"))
    color = alt.Color("metric:N", title=None)
    lines = base.mark_line(point=True).encode(x=x, y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888888", strokeDash=[2, 2]).encode(y="y:Q")
    layers: list[alt.Chart] = [zero, lines]
    if cycle_days is not None and pd.notna(cycle_days):
        cyc = pd.DataFrame({"days": [float(cycle_days)], "label": [f"sales cycle (KM median) {cycle_days:.0f} d"]})
        rule = alt.Chart(cyc).mark_rule(color="#D55E00", strokeWidth=2).encode(x="days:Q")
        text = alt.Chart(cyc).mark_text(align="left", dx=4, dy=-6, color="#D55E00").encode(x="days:Q", y=alt.value(8), text="label:N")
        layers += [rule, text]
    title = alt.Title("Forecast accuracy by horizon", subtitle="Past the sales cycle, forecasts are guesses")
    return alt.layer(*layers).properties(title=title)


def cycle_curve_chart(curve: pd.DataFrame, band: bool = True) -> alt.LayerChart:
    """Kaplan-Meier curve: share of deals still undecided against their age, per team.

    Parameters
    ----------
    curve
        :func:`salesx2lib.cycle.cycle_curve` (all teams, or filtered).
    band
        Draw the pointwise confidence band (best with one team).
    """
    x = alt.X("days:Q", title="Days since the deal was created")
    y = alt.Y("survival:Q", title="Share of deals still undecided", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    color = alt.Color("team:N", title="team")
    line = alt.Chart(curve).mark_line(interpolate="step-after").encode(
        x=x, y=y, color=color, tooltip=["team:N", "days:Q", alt.Tooltip("survival:Q", format=".1%"), "n_at_risk:Q"]
    )
    half = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(color="#888888", strokeDash=[4, 3]).encode(y="y:Q")
    layers: list[alt.Chart] = [half, line]
    if band:
        area = alt.Chart(curve).mark_area(opacity=0.15, interpolate="step-after").encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color)
        layers.insert(0, area)
    return alt.layer(*layers).properties(
        title=alt.Title("Sales cycle (Kaplan-Meier, open deals censored)", subtitle="The median cycle is where the curve crosses 50%")
    )


def backtest_chart(backtest: pd.DataFrame) -> alt.LayerChart:
    """Rolling forecast as of each Monday, with its 80% interval, against what was won.

    Parameters
    ----------
    backtest
        Rows of :func:`salesx2lib.rolling.backtest` for one team (e.g. ``all``):
        ``forecast`` with ``forecast_low`` and ``forecast_high`` (the band), ``actual``.
    """
    _one_team(backtest, "backtest_chart")
    x = alt.X("as_of_date:T", title="As of (Monday)")
    band = (
        alt.Chart(backtest)
        .mark_area(opacity=0.25, color="#0072B2")
        .encode(
            x=x,
            y=alt.Y("forecast_low:Q", title="Won revenue in the window starting that Monday"),
            y2="forecast_high:Q",
            tooltip=[
                alt.Tooltip("as_of_date:T", title="as of"),
                alt.Tooltip("forecast_low:Q", title="80% low", format=",.0f"),
                alt.Tooltip("forecast_high:Q", title="80% high", format=",.0f"),
            ],
        )
    )
    lines = (
        alt.Chart(backtest)
        .transform_fold(["forecast", "actual"], as_=["series", "amount"])
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("amount:Q"),
            color=alt.Color("series:N", title=None, scale=alt.Scale(domain=["forecast", "actual"], range=["#0072B2", "#009E73"])),
            tooltip=["as_of_date:T", "series:N", alt.Tooltip("amount:Q", format=",.0f")],
        )
    )
    return (band + lines).properties(
        title=alt.Title("Rolling forecast backtest", subtitle="Forecast with its 80% interval (band) against what was won in the window")
    )


def reliability_chart(calibration: pd.DataFrame) -> alt.LayerChart:
    """Reliability diagram: each probability decile's mean predicted chance against how often it won.

    Parameters
    ----------
    calibration
        :func:`salesx2lib.rolling.calibration`; its ``decile`` rows are drawn (point size =
        deals, whiskers = the observed rate's Wilson 95% interval) over the diagonal of a
        perfectly calibrated forecast.
    """
    deciles = calibration.loc[calibration["kind"] == "decile"]
    diagonal = alt.Chart(pd.DataFrame({"p": [0.0, 1.0]})).mark_line(strokeDash=[4, 4], color="#999999").encode(
        x=alt.X("p:Q"), y=alt.Y("p:Q")
    )
    x = alt.X("mean_predicted:Q", title="Predicted chance of a win in the window", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))
    y = alt.Y("observed:Q", title="Share won in the window", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))
    whiskers = alt.Chart(deciles).mark_rule(color="#0072B2").encode(x=x, y=alt.Y("ci_low:Q"), y2="ci_high:Q")
    points = alt.Chart(deciles).mark_circle(color="#0072B2", opacity=0.8).encode(
        x=x,
        y=y,
        size=alt.Size("n_deals:Q", title="deals"),
        tooltip=[
            alt.Tooltip("bin:N", title="decile"),
            alt.Tooltip("n_deals:Q", title="deals", format=","),
            alt.Tooltip("mean_predicted:Q", title="predicted", format=".1%"),
            alt.Tooltip("observed:Q", title="won", format=".1%"),
            alt.Tooltip("ci_low:Q", title="95% low", format=".1%"),
            alt.Tooltip("ci_high:Q", title="95% high", format=".1%"),
        ],
    )
    return (diagonal + whiskers + points).properties(
        title=alt.Title("Are the deal probabilities calibrated?", subtitle="On the dashed line, deals given p won a share p of the time")
    )


def scrub_flags_chart(counts: pd.DataFrame) -> alt.Chart:
    """Scrub flags raised per rep, stacked by flag (a deal with two flags counts twice).

    Parameters
    ----------
    counts
        :func:`salesx2lib.scrub.flag_counts`.
    """
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=alt.Y("rep_id:N", title="rep", sort="-x"),
            x=alt.X("n:Q", title="flags raised on open deals (one deal can raise several)"),
            color=alt.Color("flag:N", title="flag"),
            tooltip=["team:N", "rep_id:N", "flag:N", "n:Q", "n_open:Q"],
        )
        .properties(title="Scrub flags per rep")
    )


def win_within_chart(win: pd.DataFrame) -> alt.Chart:
    """Time-bounded win probability by creation cohort; cohorts not yet complete are faded.

    Parameters
    ----------
    win
        Rows of :func:`salesx2lib.cycle.win_within` for one team (e.g. ``all``).
    """
    _one_team(win, "win_within_chart")
    return (
        alt.Chart(win)
        .mark_line(point=True)
        .encode(
            x=alt.X("cohort:T", title="Creation cohort"),
            y=alt.Y("win_probability:Q", title="Won within d days of creation", axis=alt.Axis(format="%")),
            color=alt.Color("within_days:O", title="d (days)"),
            opacity=alt.condition("datum.complete", alt.value(1.0), alt.value(0.35)),
            tooltip=["cohort:T", "within_days:O", "n:Q", "n_judged:Q", "n_too_young:Q", alt.Tooltip("win_probability:Q", format=".1%")],
        )
        .properties(
            title=alt.Title(
                "Won within 30/60/90 days, by creation cohort",
                subtitle="Faded: some deals of the cohort are too young to judge",
            )
        )
    )


def horizon_baseline_chart(horizon: pd.DataFrame, cycle_days: float | None = None) -> alt.LayerChart:
    """WAPE of the reps' forecasts and of the naive run-rate per horizon, with 95% intervals.

    Parameters
    ----------
    horizon
        Rows of :func:`salesx2lib.horizon.horizon_accuracy` for one team (e.g. ``all``):
        ``wape`` and ``run_rate_wape`` with their ``_ci_low``/``_ci_high`` (rep-period
        cluster bootstrap), drawn at each bucket's median horizon.
    cycle_days
        The measured cycle (``km_median_days``), drawn as a vertical rule.
    """
    _one_team(horizon, "horizon_baseline_chart")
    x = alt.X("horizon_median_days:Q", title="Forecast horizon: days from submission to period end")
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=["forecasts submitted", "run-rate (91 days)"]))
    layers: list[alt.Chart] = []
    for name, col in (("forecasts submitted", "wape"), ("run-rate (91 days)", "run_rate_wape")):
        base = alt.Chart(horizon).transform_calculate(series=json.dumps(name))  # a quoted string literal
        tooltip = [
            alt.Tooltip("horizon_bucket:N", title="horizon (days)"),
            alt.Tooltip("series:N"),
            alt.Tooltip(f"{col}:Q", title="WAPE", format=".0%"),
            alt.Tooltip(f"{col}_ci_low:Q", title="95% low", format=".0%"),
            alt.Tooltip(f"{col}_ci_high:Q", title="95% high", format=".0%"),
            alt.Tooltip("n_clusters:Q", title="rep-periods"),
        ]
        band = base.mark_area(opacity=0.2).encode(x=x, y=alt.Y(f"{col}_ci_low:Q"), y2=alt.Y2(f"{col}_ci_high:Q"), color=color)
        y = alt.Y(f"{col}:Q", title="WAPE = sum|F - A| / sum(A) (lower is better)", axis=alt.Axis(format="%"))
        line = base.mark_line(point=True).encode(x=x, y=y, color=color, tooltip=tooltip)
        layers += [band, line]
    if cycle_days is not None and pd.notna(cycle_days):
        cyc = pd.DataFrame({"days": [float(cycle_days)], "label": [f"sales cycle (KM median) {cycle_days:.0f} d"]})
        rule = alt.Chart(cyc).mark_rule(color="#D55E00", strokeWidth=2).encode(x="days:Q")
        text = alt.Chart(cyc).mark_text(align="left", dx=4, dy=-6, color="#D55E00").encode(x="days:Q", y=alt.value(8), text="label:N")
        layers += [rule, text]
    title = alt.Title("Forecasts against a naive run-rate, by horizon", subtitle="Where the submitted forecasts err more than the run-rate, they add nothing")
    return alt.layer(*layers).properties(title=title)
def waterfall_chart(waterfall: pd.DataFrame) -> alt.LayerChart:
    """The pipeline waterfall of one team: start, each movement as a floating bar, end.

    Each bar spans ``level_before`` to ``level_after`` (the running total), so the end
    bar's top is where the movements lead:
    ``end = start + new + pulled_in + amount_up - pushed_out - amount_down - won - lost``.
    Won deals are shown in orange: they leave the pipeline as revenue, not as a loss.

    Parameters
    ----------
    waterfall
        Rows of :func:`salesx2lib.waterfall.waterfall` for one team (e.g. ``all``).
    """
    _one_team(waterfall, "waterfall_chart")
    order = list(STEPS)
    first = waterfall.iloc[0] if len(waterfall) else None
    subtitle = (
        f"Open deals expected to close {first['period_start']:%d %b} to {first['period_end']:%d %b %Y}, "
        f"from {first['from_date']:%a %d %b %H:%M} to {first['to_date']:%a %d %b %H:%M}"
        if first is not None
        else ""
    )
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(waterfall)
    bars = base.mark_bar(size=40).encode(
        x=x,
        y=alt.Y("level_before:Q", title="Pipeline amount", axis=alt.Axis(format=",.2~s")),
        y2="level_after:Q",
        color=alt.Color("step:N", scale=alt.Scale(domain=order, range=[WATERFALL_COLORS[s] for s in order]), legend=None),
        tooltip=[
            alt.Tooltip("step:N"),
            alt.Tooltip("amount:Q", format=",.0f", title="amount (signed)"),
            alt.Tooltip("n_deals:Q", title="deals"),
            alt.Tooltip("level_after:Q", format=",.0f", title="pipeline after"),
        ],
    )
    labels = base.mark_text(dy=-6, fontSize=10, color="#333333").encode(
        x=x, y=alt.Y("level_top:Q"), text=alt.Text("amount:Q", format=",.3~s")
    ).transform_calculate(level_top="max(datum.level_before, datum.level_after)")
    title = alt.Title("What changed in the pipeline this week", subtitle=subtitle)
    return alt.layer(bars, labels).properties(title=title, width=640)
