"""Explorer of the rolling forecast: move the as-of date and the gate, see what changes.

The rolling forecast (:mod:`salesx2lib.rolling`) lists the open deals that passed the gate
and are expected to close inside the window, weights each by its stage's win probability
as known on the as-of date, and the scrub (:mod:`salesx2lib.scrub`) says what to ask the
rep about each of them. This explorer lets a manager move the as-of date over the Mondays
of the data (the weekly rule) and change the gate (the minimum stage and the fields a deal
must have), and redraws the per-rep forecast, one rep's deal list with its questions, and
the scrub flags. On a past Monday whose window is over it also shows what was actually won.

Two layers, as in :mod:`salesx2lib.widgets.competency`:

* :func:`rolling_view` is the pure function behind the controls: a dataset and a selection
  in, a :class:`ForecastView` (tables, chart, notes) out. It only calls the library.
* :func:`explorer` builds the :class:`ForecastExplorer` whose controls call it.

Without a front end (papermill, nbval, an HTML export) a widget draws nothing, so a
notebook shows the widget and then ``display(app.result)``: the view of the starting
selection, a complete static picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import altair as alt
import ipywidgets
import pandas as pd
from IPython.display import Markdown, display

from salesx2lib import rolling, scrub
from salesx2lib.charts import forecast as forecast_charts
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL, resolve_as_of
from salesx2lib.schema import TABLES
from salesx2lib.settings import Settings, load_settings
from salesx2lib.widgets import html_view

__all__ = [
    "ALL_REPS",
    "ForecastExplorer",
    "ForecastView",
    "as_of_options",
    "explorer",
    "gate_fields",
    "gate_settings",
    "rolling_view",
]

#: Rep dropdown value meaning "every rep" (the view then shows the per-rep totals).
ALL_REPS = ""

_AMOUNT_COLUMNS = ("pipeline_amount", "forecast", "actual", "error", "amount", "weighted_amount")
_DEAL_COLUMNS = [
    "opportunity_id",
    "stage",
    "amount",
    "expected_close_date",
    "win_probability",
    "probability_source",
    "weighted_amount",
    "n_flags",
    "reasons",
]
_REP_COLUMNS = ["team", "rep_id", "n_opportunities", "pipeline_amount", "forecast", "actual", "error"]
_TEAM_COLUMNS = ["team", "n_opportunities", "pipeline_amount", "forecast", "actual", "error"]


def gate_fields(settings: Settings | None = None) -> list[str]:
    """The fields a gate may require: the opportunity columns that can be empty.

    ``account_id``, ``amount`` and ``expected_close_date`` under the data contract, plus any
    field the settings already require.
    """
    settings = settings or load_settings()
    nullable = [c.name for c in TABLES["opportunities"].columns if c.nullable and c.name != "closed_at"]
    return list(dict.fromkeys([*settings.gate_required_fields, *nullable]))


def gate_settings(
    settings: Settings,
    minimum_stage: str | None = None,
    required_fields: Sequence[str] | None = None,
) -> Settings:
    """The settings with another gate: ``dataclasses.replace`` of ``[gate]``.

    Parameters
    ----------
    settings
        The settings to start from.
    minimum_stage
        A stage of ``settings.stage_order``; ``None`` keeps ``gate.minimum_stage``.
    required_fields
        Fields a deal must have filled; ``None`` keeps ``gate.required_fields``, an empty
        sequence requires none.

    Raises
    ------
    ValueError
        If ``minimum_stage`` is not an open stage of the settings.
    """
    if minimum_stage is not None and minimum_stage not in settings.stage_order:
        raise ValueError(f"minimum_stage {minimum_stage!r} is not one of the stages ({', '.join(settings.stage_order)})")
    return dataclasses.replace(
        settings,
        gate_minimum_stage=settings.gate_minimum_stage if minimum_stage is None else minimum_stage,
        gate_required_fields=settings.gate_required_fields if required_fields is None else tuple(required_fields),
    )


def as_of_options(dataset: Dataset, settings: Settings | None = None) -> list[tuple[str, str]]:
    """The as-of dates the explorer offers: every Monday 00:00 of the data, and the data's as-of.

    The Mondays are those of :func:`salesx2lib.rolling.backtest_dates` (from the first
    Monday after the first decided deal) up to the weekly rule's as-of instant
    (:func:`salesx2lib.pipeline.resolve_as_of`: Monday 00:00 after the latest complete
    week), which comes last and is the explorer's default; the data's own as-of instant
    (its latest event) is offered too, in time order, unless it is a Monday midnight already.

    Returns
    -------
    list of (label, value)
        In time order. ``value`` is ``YYYY-MM-DD`` for a Monday, ``YYYY-MM-DD
        HH:MM:SS[.ffffff]`` for the data's as-of; labels read ``Mon 2026-11-16`` and
        ``2026-11-22 19:57 (data as of)``.
    """
    settings = settings or load_settings()
    last = resolve_as_of(dataset, None)
    mondays = rolling.backtest_dates(dataset, settings, end=last)
    options = [(f"Mon {d:%Y-%m-%d}", f"{d:%Y-%m-%d}") for d in mondays]
    if not len(mondays) or mondays[-1] != last:
        options.append((f"Mon {last:%Y-%m-%d}", f"{last:%Y-%m-%d}"))  # the rule gives a Monday midnight
    data_end = pd.Timestamp(dataset.as_of)
    if data_end not in {pd.Timestamp(v) for _, v in options}:
        options.append((f"{data_end:%Y-%m-%d %H:%M} (data as of)", data_end.isoformat(sep=" ")))
        options.sort(key=lambda o: pd.Timestamp(o[1]))
    return options


@dataclass(frozen=True, eq=False)
class ForecastView:
    """What the explorer shows for one as-of date, gate and rep.

    Attributes
    ----------
    as_of
        The as-of instant of the forecast.
    minimum_stage, required_fields
        The gate applied.
    rep
        The rep whose deals are listed; ``None``: every rep (per-rep totals shown).
    teams
        :func:`salesx2lib.rolling.rolling_forecast` per team (and ``all``): deals,
        unweighted pipeline, weighted forecast, and the actual once the window is over.
    table
        The main table: the rep's deals in the forecast (stage, amount, expected close
        date, win probability, weighted amount, scrub flags and the questions to ask) when
        ``rep`` is set, else the per-rep totals of :func:`~salesx2lib.rolling.rolling_forecast`.
    deals
        Every deal of :func:`salesx2lib.rolling.rolling_pipeline` (all reps), with scrub.
    flags
        :func:`salesx2lib.scrub.flag_counts` of the deals in the forecast (of ``rep`` only
        when it is set): for each rep and flag, how many listed deals raise it.
    chart
        The scrub flags per rep (``None`` when no deal is listed).
    notes
        One line each: the window and the gate, totals, and why something is empty.
    """

    as_of: pd.Timestamp
    minimum_stage: str
    required_fields: tuple[str, ...]
    rep: str | None
    teams: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    deals: pd.DataFrame = field(repr=False)
    flags: pd.DataFrame = field(repr=False)
    chart: alt.Chart | None = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_html(self) -> str:
        """Notes, the team totals, the main table and the chart (SVG) in one HTML fragment."""
        return html_view(self.notes, [_styled(self.teams), _styled(self.table)], self.chart)

    def _ipython_display_(self) -> None:
        """Notes as a list, the team totals, the main table, then the chart."""
        if self.notes:
            display(Markdown("\n".join(f"- {note}" for note in self.notes)))
        display(_styled(self.teams))
        display(_styled(self.table))
        if self.chart is not None:
            display(self.chart)


def _styled(frame: pd.DataFrame) -> object:
    formats: dict[str, object] = {c: "{:,.0f}" for c in _AMOUNT_COLUMNS if c in frame.columns}
    if "win_probability" in frame.columns:
        formats["win_probability"] = "{:.0%}"
    if "expected_close_date" in frame.columns:
        formats["expected_close_date"] = lambda d: "" if pd.isna(d) else f"{d:%Y-%m-%d}"
    styler = frame.style.format(formats, na_rep="").hide(axis="index")
    if "reasons" in frame.columns:
        styler = styler.set_properties(subset=["reasons"], **{"text-align": "left"})
    return styler


def rolling_view(
    dataset: Dataset,
    as_of: pd.Timestamp | str | None = None,
    minimum_stage: str | None = None,
    settings: Settings | None = None,
    *,
    required_fields: Sequence[str] | None = None,
    rep: str | None = None,
) -> ForecastView:
    """The rolling forecast and its scrub as of one date, under one gate: a pure function.

    Calls :func:`salesx2lib.rolling.rolling_pipeline` (listing the deals that pass the gate
    and are due in the window, each with its win-in-window probability learned from what was
    known at ``as_of``, and its scrub flags), :func:`salesx2lib.rolling.rolling_forecast` per
    rep and per team (every open deal's probability-weighted amount plus new business), :func:`salesx2lib.scrub.flag_counts` and
    :func:`salesx2lib.charts.forecast.scrub_flags_chart`, with the gate of
    :func:`gate_settings`.

    Parameters
    ----------
    dataset
        Needs ``opportunity_history``; ``activities`` adds the no-activity flag.
    as_of
        The instant of the forecast (``YYYY-MM-DD`` is that day's midnight; the weekly rule
        uses Mondays); the weekly rule's if omitted (:func:`salesx2lib.pipeline.resolve_as_of`).
    minimum_stage
        The gate's minimum stage; ``gate.minimum_stage`` of the settings if omitted.
    settings
        Stages, gate, window and scrub thresholds; the defaults if omitted.
    required_fields
        Fields a deal must have filled to be listed; ``gate.required_fields`` if omitted.
    rep
        List this rep's deals (``table``) and scrub flags; ``None``: per-rep totals.

    Returns
    -------
    ForecastView
        Displaying it shows the notes, the team totals, the main table and the chart.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table.
    ValueError
        Unknown stage, rep, or a required field the opportunities table does not have.

    Examples
    --------
    >>> view = rolling_view(ds, "2026-06-01", "Proposal")  # doctest: +SKIP
    >>> view.teams[["team", "forecast", "actual"]]  # doctest: +SKIP
    """
    base = settings or load_settings()
    gated = gate_settings(base, minimum_stage, required_fields)
    when = resolve_as_of(dataset, as_of)
    if rep is not None and rep not in set(dataset.reps["rep_id"]):
        raise ValueError(f"unknown rep {rep!r} (reps: {', '.join(sorted(dataset.reps['rep_id']))})")
    deals = rolling.rolling_pipeline(dataset, when, gated)
    # The list is the deals a rep would commit (passing the gate, due in the window); the
    # forecast itself scores every open deal (the gate is one of the model's inputs).
    deals = deals.loc[deals["passes_gate"] & (deals["close_position"] == "in_window")].reset_index(drop=True)
    per_rep = rolling.rolling_forecast(dataset, when, gated, by="rep")
    teams = rolling.rolling_forecast(dataset, when, gated, by="team")

    total = teams.loc[teams["team"] == ALL].iloc[0]
    fields = ", ".join(gated.gate_required_fields) or "no field"
    notes = [
        f"As of {when:%a %Y-%m-%d %H:%M}: deals expected to close from {total['window_start']:%Y-%m-%d} to "
        f"{total['window_end']:%Y-%m-%d} ({gated.forecast_window_days} days), at stage {gated.gate_minimum_stage} "
        f"or later, with {fields} filled: {len(deals)} deals, pipeline {total['pipeline_amount']:,.0f}, "
        f"forecast {total['forecast']:,.0f}, 80% interval {total['forecast_low']:,.0f} to {total['forecast_high']:,.0f} "
        "(= every open deal's amount x its probability of being won in the window, plus new business)."
    ]
    if pd.notna(total["actual"]):
        notes.append(
            f"This window is over: {total['actual']:,.0f} was won in it (including deals created after the "
            "as-of date, which no pipeline forecast can see)."
        )
    if (deals["probability_source"] == "none").any() or pd.isna(total["forecast"]):
        notes.append("Too little history by this date to learn win probabilities from: the forecast is empty.")

    if rep is None:
        shown = deals
        table = per_rep[_REP_COLUMNS]
        notes.append("Pick a rep to see the deals behind the totals and what to ask about each.")
    else:
        shown = deals.loc[deals["rep_id"] == rep]
        table = shown[_DEAL_COLUMNS]
        if shown.empty:
            notes.append(f"{rep} has no deal in this window that passes the gate.")
    flags = scrub.flag_counts(shown)
    chart = None
    if shown.empty:
        if rep is None:
            notes.append("No deal in this window passes the gate: nothing to forecast or scrub.")
    else:
        chart = forecast_charts.scrub_flags_chart(flags).properties(
            title=alt.Title(
                "Scrub flags of the deals in the forecast",
                subtitle=f"as of {when:%Y-%m-%d}, gate {gated.gate_minimum_stage}; a deal can raise several flags",
            )
        )
    return ForecastView(
        as_of=when,
        minimum_stage=gated.gate_minimum_stage,
        required_fields=tuple(gated.gate_required_fields),
        rep=rep,
        teams=teams[_TEAM_COLUMNS].reset_index(drop=True),
        table=table.reset_index(drop=True),
        deals=deals,
        flags=flags,
        chart=chart,
        notes=tuple(notes),
    )


def explorer(
    dataset: Dataset,
    *,
    as_of: pd.Timestamp | str | None = None,
    settings: Settings | None = None,
    minimum_stage: str | None = None,
    required_fields: Sequence[str] | None = None,
    rep: str | None = None,
) -> ForecastExplorer:
    """An ipywidgets explorer of the rolling forecast: as-of date, gate and rep.

    Controls: a slider over the as-of dates of :func:`as_of_options` (the Mondays of the
    data, then its as-of date), the gate's minimum stage (``stages.order``), the fields the
    gate requires (:func:`gate_fields`; hold Ctrl or Shift to pick several) and the rep
    (every rep, or one to list its deals). Each change calls :func:`rolling_view` (about a
    second on the sample); the slider redraws when it is released.

    Parameters
    ----------
    dataset
        Needs ``opportunity_history`` (narrow it with ``for_team`` first if you like).
    as_of
        The starting date; the weekly rule's if omitted (Monday 00:00 after the latest
        complete week, :func:`salesx2lib.pipeline.resolve_as_of`). A date that is not a
        Monday of the data is added to the slider.
    settings
        Stages, the starting gate, window and scrub thresholds; the defaults if omitted.
    minimum_stage, required_fields, rep
        The starting selection (see :func:`rolling_view`).

    Returns
    -------
    ForecastExplorer
        A VBox: ``children[0:4]`` are the as-of slider, the stage dropdown, the required
        fields and the rep dropdown, ``children[4]`` the view (HTML). ``result`` holds the
        :class:`ForecastView` of the current selection; ``update()`` recomputes it.

    Raises
    ------
    MissingTableError
        Without the opportunity_history table (no past pipeline to move through).
    ValueError
        Unknown stage, rep or field.

    Notes
    -----
    A widget draws only in a live front end. Under papermill or nbval, and in an exported
    HTML page, display the starting view as well:
    ``app = explorer(ds); display(app); display(app.result)``.
    """
    dataset.require("opportunity_history")
    settings = settings or load_settings()
    start = gate_settings(settings, minimum_stage, required_fields)
    if rep is not None and rep not in set(dataset.reps["rep_id"]):
        raise ValueError(f"unknown rep {rep!r} (reps: {', '.join(sorted(dataset.reps['rep_id']))})")
    options = as_of_options(dataset, settings)
    default = resolve_as_of(dataset, None)
    value = next(v for _, v in options if pd.Timestamp(v) == default)
    if as_of is not None:
        when = resolve_as_of(dataset, as_of)
        value = f"{when:%Y-%m-%d}" if when == when.normalize() else when.isoformat(sep=" ")
        if value not in [v for _, v in options]:
            options = sorted([*options, (f"{when:%Y-%m-%d %H:%M}", value)], key=lambda o: pd.Timestamp(o[1]))
    fields = gate_fields(settings)
    unknown = [f for f in start.gate_required_fields if f not in fields]
    if unknown:
        raise ValueError(f"required field {unknown[0]!r} is not one of {', '.join(fields)}")

    style = {"description_width": "6em"}
    layout = ipywidgets.Layout(width="36em")
    as_of_control = ipywidgets.SelectionSlider(
        options=options, value=value, description="as of", continuous_update=False, style=style, layout=layout
    )
    stage_control = ipywidgets.Dropdown(
        options=list(settings.stage_order), value=start.gate_minimum_stage, description="gate: stage", style=style, layout=layout
    )
    fields_control = ipywidgets.SelectMultiple(
        options=fields, value=tuple(start.gate_required_fields), rows=len(fields), description="gate: filled", style=style, layout=layout
    )
    reps = dataset.reps.sort_values("rep_id")
    rep_control = ipywidgets.Dropdown(
        options=[("every rep (totals)", ALL_REPS)] + [(f"{r.rep_id} {r.rep_name} ({r.team})", r.rep_id) for r in reps.itertuples()],
        value=rep or ALL_REPS,
        description="rep",
        style=style,
        layout=layout,
    )

    return ForecastExplorer(dataset, settings, [as_of_control, stage_control, fields_control, rep_control])


class ForecastExplorer(ipywidgets.VBox):
    """The explorer widget; build it with :func:`explorer`.

    ``children[0:4]`` are the as-of slider, the stage dropdown, the required fields and
    the rep dropdown; ``children[4]`` is the view, an ``ipywidgets.HTML`` (an ``Output``
    widget can stall a papermill run). Every change calls :meth:`update`.

    Attributes
    ----------
    result
        The :class:`ForecastView` of the current selection.
    """

    def __init__(self, dataset: Dataset, settings: Settings, controls: list[ipywidgets.Widget]) -> None:
        self._dataset, self._settings = dataset, settings
        self.view = ipywidgets.HTML()
        self.result: ForecastView | None = None
        super().__init__(children=[*controls, self.view])
        for control in controls:
            control.observe(self.update, names="value")
        self.update()

    def update(self, *_: object) -> ForecastView:
        """Recompute the view for the controls' current values; returns it too."""
        as_of, stage, fields, rep = (c.value for c in self.children[:4])
        self.result = rolling_view(
            self._dataset, as_of, stage, self._settings, required_fields=fields, rep=rep or None
        )
        self.view.value = self.result.to_html()
        return self.result
