"""Explorer of activity vs competency: pick a team, a rep, a period and a metric.

The explorer answers, for one selection, the questions of
``notebooks/01_activity_vs_competency.ipynb``: how good is each rep at each step of the
funnel (rates with their Wilson interval and shrunk rate), does the chosen metric go
with revenue (metric vs won revenue per rep), and which factor separates a rep from the
team benchmark (gap waterfall). Every figure comes from :mod:`salesx2lib.competency`,
:mod:`salesx2lib.relevance` and :mod:`salesx2lib.gaps`, every picture from
:mod:`salesx2lib.charts.competency`; this module only selects rows and lays them out.

Two layers:

* :func:`explore` is the pure function behind the controls: counts and a selection in,
  an :class:`Exploration` (notes, table, chart) out. Test it, or display its result.
* :func:`explorer` rolls up the expensive inputs once (the per-rep counts over the
  range and per period, in the engine) and returns an :class:`Explorer` widget whose
  controls call :func:`explore` on them.

Without a front end (papermill, nbval, an exported HTML page) no widget is drawn. The
explorer does not guess whether a front end is attached (a kernel cannot know):
``Explorer.result`` always holds the :class:`Exploration` of the current selection, so a
notebook displays the widget and then ``app.result``; a headless run shows that
complete static view, and JupyterLab shows both.

The widget draws into an ``ipywidgets.HTML`` (table and SVG chart), not into an
``ipywidgets.Output``: nbclient, which papermill runs on, mimics a front end for Output
widgets by sending their content back to the kernel on the shell channel, and in about
one run in three here that left papermill waiting for the cell's reply until its
timeout, forever by default (jupyter/nbclient issue #312). An HTML widget is only ever
sent from the kernel, so a papermill run of the notebook cannot hang on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import altair as alt
import ipywidgets
import pandas as pd
from IPython.display import Markdown, display

from salesx2lib import competency, gaps, periods, relevance
from salesx2lib.charts import competency as competency_charts
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.rollup import next_period
from salesx2lib.widgets import html_view

__all__ = ["ALL", "DEFAULT_METRIC", "Exploration", "Explorer", "explore", "explorer"]

Freq = Literal["day", "week", "month"]

#: The metric the explorer starts on: the article's competency (a 60% conversation-to-appointment ratio).
DEFAULT_METRIC = "conversation_to_appointment"

#: Dropdown value meaning "no filter": all teams, the whole range, the rep the explorer picks.
ALL = ""

_DAY = pd.Timedelta(days=1)
_PERCENT_COLUMNS = ("rate", "ci_low", "ci_high", "shrunk_rate", "median", "top_quartile")


@dataclass(frozen=True, eq=False)
class Exploration:
    """What the explorer shows for one selection.

    Attributes
    ----------
    team, rep, period, metric
        The selection as resolved (``rep`` filled in when it was left to the explorer;
        ``None`` for all teams, no rep, the whole range).
    table
        The rep's funnel (one row per ratio: ``successes``, ``trials``, ``rate``,
        ``ci_low``, ``ci_high``, ``shrunk_rate``, ``defined``) next to the team
        benchmarks (``median``, ``top_quartile`` of the reps' shrunk rates); the pooled
        team funnel when no rep is shown.
    chart
        The charts, stacked: the funnel of the selection's reps, the metric against won
        revenue, and the rep's gap waterfall (each only when it can be drawn).
    notes
        One line each: which rep is shown and its largest competency gap in words, and
        why a part is missing (e.g. the table it needs).
    """

    team: str | None
    rep: str | None
    period: pd.Timestamp | None
    metric: str
    table: pd.DataFrame
    chart: alt.VConcatChart
    notes: tuple[str, ...] = ()

    def styled_table(self) -> pd.io.formats.style.Styler:
        """The table with rates as percentages and undefined rates written out."""
        formats = {c: "{:.1%}" for c in _PERCENT_COLUMNS if c in self.table.columns}
        return self.table.style.format(formats, na_rep="undefined").hide(axis="index")

    def to_html(self) -> str:
        """Notes, table and chart (as SVG) in one HTML fragment, for a widget or a page."""
        return html_view(self.notes, [self.styled_table()], self.chart)

    def _ipython_display_(self) -> None:
        """Notes as a list, the table, then the chart with the active Altair renderer."""
        if self.notes:
            display(Markdown("\n".join(f"- {note}" for note in self.notes)))
        display(self.styled_table())
        display(self.chart)


def explore(
    counts: pd.DataFrame,
    *,
    team: str | None = None,
    rep: str | None = None,
    period: pd.Timestamp | str | None = None,
    metric: str = DEFAULT_METRIC,
    reps: pd.DataFrame | None = None,
) -> Exploration:
    """The explorer's view of one selection: a pure function of the counts.

    Selects the rows of ``counts`` (one ``period_start``, one team), then calls
    ``competency.funnel`` / ``team_benchmarks`` / ``team_funnel``,
    ``relevance.metric_vs_result`` / ``trend``, ``gaps.gap_decomposition`` /
    ``top_competency_gaps`` / ``waterfall`` and the chart functions of
    :mod:`salesx2lib.charts.competency`. Priors and benchmarks are fitted per team, so
    a team's figures are the same whether ``counts`` held that team or all of them.

    Parameters
    ----------
    counts
        :func:`salesx2lib.competency.rep_counts` over one range (no ``freq``), or with
        ``freq`` set, and then ``period`` names the period to show.
    team
        One team, or ``None`` for every team in ``counts``.
    rep
        The rep whose funnel table and gap waterfall are shown. ``None``: the rep whose
        largest competency gap costs the most revenue in the selection (the first of
        ``gaps.top_competency_gaps``, as in the weekly report), or the first rep when
        nobody has one or there is no decomposition.
    period
        The ``period_start`` to show when ``counts`` has periods; required then, and
        refused otherwise.
    metric
        The metric plotted against won revenue: a count (``dials``, ``emails``, ...,
        ``opportunities``), a funnel ratio or ``avg_deal_size``.
    reps
        The reps table, for names in the notes; ``None``: reps are named by ``rep_id``.

    Returns
    -------
    Exploration
        Displaying it shows the notes, the table and the stacked charts.

    Raises
    ------
    ValueError
        Unknown team or period, or ``period`` missing / superfluous for ``counts``.
    """
    frame, when = _select_period(counts, period)
    if team is not None:
        known = sorted(frame["team"].unique().tolist())
        if team not in known:
            raise ValueError(f"unknown team {team!r} (teams in this selection: {', '.join(known)})")
        frame = frame.loc[frame["team"] == team]
    if reps is None:
        reps = frame[["rep_id"]].assign(rep_name=frame["rep_id"])
    notes: list[str] = []
    funnel = competency.funnel(frame)

    decomposition = None
    try:
        decomposition = gaps.gap_decomposition(frame)
    except MissingTableError as exc:
        notes.append(f"The gap decomposition {exc}.")
    if rep is None:
        top = gaps.top_competency_gaps(decomposition, reps, n=1) if decomposition is not None else None
        if top is not None and not top.empty:
            rep = str(top["rep_id"].iloc[0])
            notes.append(f"Rep {rep}: the rep whose largest competency gap costs the most revenue here.")
        else:
            rep = min(frame["rep_id"], default=None)
    elif rep not in set(frame["rep_id"]):
        notes.append(f"Rep {rep} has no row in this selection (another team, or no activity or deal in it).")
        rep = None
    if rep is not None and decomposition is not None:
        notes.extend(_gap_sentence(decomposition, reps, rep))

    parts: list[alt.TopLevelMixin] = [competency_charts.funnel_chart(funnel)]
    points = relevance.metric_vs_result(frame)
    if metric in set(points["metric"]):
        parts.append(competency_charts.metric_vs_result_chart(points, relevance.trend(points), metric))
    else:
        available = ", ".join(dict.fromkeys(points["metric"]))
        notes.append(f"No {metric} values in this selection (metrics: {available}).")
    if rep is not None and decomposition is not None:
        try:
            parts.append(competency_charts.gap_waterfall_chart(gaps.waterfall(decomposition, rep), title=rep))
        except ValueError as exc:
            notes.append(f"No gap waterfall: {exc}.")

    if rep is not None:
        benchmarks = competency.team_benchmarks(funnel)[["team", "metric", "median", "top_quartile"]]
        table = funnel.loc[funnel["rep_id"] == rep].merge(benchmarks, on=["team", "metric"], how="left")[
            ["rep_id", "team", "metric", "successes", "trials", "rate", "ci_low", "ci_high", "shrunk_rate",
             "defined", "median", "top_quartile"]
        ]
    else:
        table = competency.team_funnel(frame)[
            ["team", "metric", "n_reps", "successes", "trials", "rate", "ci_low", "ci_high", "defined"]
        ]
    chart = alt.vconcat(*parts, spacing=30).resolve_scale(color="independent")
    return Exploration(team, rep, when, metric, table.reset_index(drop=True), chart, tuple(notes))


def _select_period(counts: pd.DataFrame, period: pd.Timestamp | str | None) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The rows of one period, without the ``period_start`` column (counts over one range)."""
    if "period_start" not in counts.columns:
        if period is not None:
            raise ValueError("period given, but counts have no periods: build them with rep_counts(..., freq=...)")
        return counts, None
    if period is None:
        raise ValueError("counts have periods: pass period=<a period_start>, or counts over one range")
    when = periods.to_timestamp(period, "period")
    rows = counts.loc[counts["period_start"] == when]
    if rows.empty:
        known = ", ".join(f"{p:%Y-%m-%d}" for p in sorted(counts["period_start"].unique()))
        raise ValueError(f"no period starting {when:%Y-%m-%d} (periods: {known})")
    return rows.drop(columns="period_start"), when


def _gap_sentence(decomposition: pd.DataFrame, reps: pd.DataFrame, rep: str) -> list[str]:
    """The weekly report's sentence about the rep's largest competency gap, if it has one."""
    rows = decomposition.loc[decomposition["rep_id"] == rep]
    if rows.empty or not rows["decomposed"].all():
        return []
    top = gaps.top_competency_gaps(rows, reps, n=1)
    if top.empty:
        return [f"Rep {rep} is at or above the team benchmark on every competency."]
    return [str(top["sentence"].iloc[0])]


def _period_label(start: pd.Timestamp, end: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp) -> str:
    """``2026-09-01 to 2026-09-30``: the part of the period inside the range."""
    return f"{max(start, lo):%Y-%m-%d} to {min(end, hi) - _DAY:%Y-%m-%d}"


class Explorer(ipywidgets.VBox):
    """The explorer widget: four dropdowns and a view; build it with :func:`explorer`.

    ``children`` are the team, rep, period and metric dropdowns, then the view (an
    ``ipywidgets.HTML``). Every change of a dropdown calls :meth:`update`, which calls
    :func:`explore` on the precomputed counts, keeps the result in :attr:`result` and
    draws it into the view. A new team refills the rep list and redraws once.

    Attributes
    ----------
    result
        The :class:`Exploration` of the current selection.
    """

    def __init__(
        self,
        counts: pd.DataFrame,
        period_counts: pd.DataFrame,
        reps: pd.DataFrame,
        teams: list[str],
        period_options: list[tuple[str, str]],
        metrics: list[str],
        team: str | None,
        metric: str,
    ) -> None:
        self._counts, self._period_counts = counts, period_counts
        self._reps = reps.sort_values("rep_id")
        style = {"description_width": "4em"}
        layout = ipywidgets.Layout(width="34em")
        self.team = ipywidgets.Dropdown(
            options=[("all teams", ALL)] + [(t, t) for t in teams],
            value=team or ALL, description="team", style=style, layout=layout,
        )
        self.rep = ipywidgets.Dropdown(
            options=self._rep_options(team or ALL), description="rep", style=style, layout=layout
        )
        self.period = ipywidgets.Dropdown(options=period_options, description="period", style=style, layout=layout)
        self.metric = ipywidgets.Dropdown(options=metrics, value=metric, description="metric", style=style, layout=layout)
        self.view = ipywidgets.HTML()
        self.result: Exploration | None = None
        super().__init__(children=[self.team, self.rep, self.period, self.metric, self.view])
        self.team.observe(self._on_team, names="value")
        for control in (self.rep, self.period, self.metric):
            control.observe(self.update, names="value")
        self.update()

    def _rep_options(self, team: str) -> list[tuple[str, str]]:
        rows = self._reps if team == ALL else self._reps.loc[self._reps["team"] == team]
        label = [f"{r.rep_id} {r.rep_name} ({r.team})" for r in rows.itertuples()]
        return [("largest competency gap", ALL), *zip(label, rows["rep_id"], strict=True)]

    def _on_team(self, change: dict) -> None:
        # Setting the options resets the rep to "largest competency gap", which redraws
        # when the rep changed; otherwise redraw here: one redraw either way.
        before = self.rep.value
        self.rep.options = self._rep_options(change["new"])
        if self.rep.value == before:
            self.update()

    def update(self, *_: object) -> Exploration:
        """Recompute the view for the dropdowns' current values; returns the result too."""
        period = self.period.value
        self.result = explore(
            self._counts if period == ALL else self._period_counts,
            team=self.team.value or None,
            rep=self.rep.value or None,
            period=period or None,
            metric=self.metric.value,
            reps=self._reps,
        )
        self.view.value = self.result.to_html()
        return self.result


def explorer(
    dataset: Dataset,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    freq: Freq = "month",
    team: str | None = None,
    metric: str | None = None,
) -> Explorer:
    """An ipywidgets explorer of the funnel, metric vs result and gap waterfall.

    Controls: team (or all teams), rep (or the one whose largest competency gap costs
    the most), period (the whole range or one ``freq`` period of it) and metric. The
    per-rep counts over the range and per period are rolled up once, here; each change
    of a control calls :func:`explore` on them (about a second, most of it drawing the
    SVG).

    Parameters
    ----------
    dataset
        The dataset (narrow it with ``for_team`` first if you like).
    start, end
        The range ``[start, end)``; missing bounds as in :func:`salesx2lib.periods.trailing_range` (by
        default the last 13 complete weeks).
    freq
        The periods offered by the period control: ``day``, ``week`` or ``month``.
    team
        The starting team; ``None``: all teams.
    metric
        The starting metric; ``None``: ``conversation_to_appointment``, or ``win_rate``
        when the dataset has no activity log.

    Returns
    -------
    Explorer
        A VBox: ``children[0:4]`` are the team, rep, period and metric dropdowns,
        ``children[4]`` the view. ``result`` holds the :class:`Exploration` of the
        current selection; ``update()`` recomputes it.

    Raises
    ------
    ValueError
        If ``team`` is not in the dataset, or ``metric`` is not one the counts allow
        (without an activity log: ``opportunities``, ``win_rate`` and ``avg_deal_size``).

    Notes
    -----
    A widget is drawn only by a live front end (JupyterLab, Notebook, VS Code). Under
    papermill or nbval, and in an exported HTML page, nothing of it shows, so display
    the starting view as well: ``app = explorer(ds); display(app); display(app.result)``.
    This does not depend on guessing whether a front end is attached, which a kernel
    cannot know; in JupyterLab the snapshot stays at the starting selection. The view is
    an SVG drawing (no tooltips) so that the widget needs no ``Output`` widget; see the
    module docstring for why.
    """
    if team is not None and team not in dataset.teams:
        raise ValueError(f"unknown team {team!r} (teams: {', '.join(dataset.teams)})")
    lo, hi = periods.trailing_range(dataset.as_of, start, end)
    counts = competency.rep_counts(dataset, lo, hi)
    period_counts = competency.rep_counts(dataset, lo, hi, freq=freq)
    metrics = list(dict.fromkeys(relevance.metric_vs_result(counts)["metric"]))
    if metric is None:
        metric = DEFAULT_METRIC if DEFAULT_METRIC in metrics else "win_rate"
    elif metric not in metrics:
        raise ValueError(f"unknown metric {metric!r} for this dataset (metrics: {', '.join(metrics)})")
    starts = pd.Series(sorted(period_counts["period_start"].unique()), dtype="datetime64[us]")
    ends = next_period(starts, freq)
    period_options = [(f"whole range: {_period_label(lo, hi, lo, hi)}", ALL)] + [
        (_period_label(s, e, lo, hi), f"{s:%Y-%m-%d}") for s, e in zip(starts, ends, strict=True)
    ]
    return Explorer(counts, period_counts, dataset.reps, dataset.teams, period_options, metrics, team, metric)
