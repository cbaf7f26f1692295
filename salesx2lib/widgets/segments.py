"""Explorer of the segment thresholds: move a threshold, see who changes segment.

The segment rules of :mod:`salesx2lib.segments` depend on five thresholds of the
``[segments]`` settings. The explorer answers "what if we set the bar differently?":
each slider replaces one threshold (``dataclasses.replace`` on the settings), the
precomputed scores are segmented again with :func:`salesx2lib.segments.segment`, and the
segment map and the counts are redrawn. Scoring (the expensive part) happens once; a
change of a slider only re-applies the rules.

Two layers, as in :mod:`salesx2lib.widgets.competency`:

* :func:`segment_view` is the pure function behind the sliders: scores and thresholds
  in, a :class:`Segmentation` (notes, counts, segments, chart) out.
* :func:`segment_explorer` scores the reps once and returns a :class:`SegmentExplorer`
  whose sliders call :func:`segment_view`.

Without a front end (papermill, nbval, an exported page) no widget is drawn: display the
widget and then its ``result``. The view is an ``ipywidgets.HTML`` (SVG chart, no
tooltips), never an ``Output`` widget, which can stall a papermill run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import altair as alt
import ipywidgets
import pandas as pd
from IPython.display import Markdown, display

from salesx2lib import segments
from salesx2lib.charts import segments as segment_charts
from salesx2lib.dataset import Dataset
from salesx2lib.settings import Settings, load_settings
from salesx2lib.widgets import html_view

__all__ = ["THRESHOLDS", "SegmentExplorer", "Segmentation", "segment_explorer", "segment_view"]

#: The thresholds a slider can move: keyword of :func:`segment_view` -> field of :class:`Settings`.
THRESHOLDS: dict[str, str] = {
    "self_sustained_attainment": "segments_self_sustained_attainment",
    "self_sustained_months_share": "segments_self_sustained_months_share",
    "self_sustained_percentile": "segments_self_sustained_percentile",
    "developing_attainment": "segments_developing_attainment",
    "ramping_days": "segments_ramping_days",
}

_TABLE_COLUMNS = ["rep_id", "rep_name", "team", "segment", "reason"]


@dataclass(frozen=True, eq=False)
class Segmentation:
    """What the explorer shows for one set of thresholds.

    Attributes
    ----------
    settings
        The settings with the thresholds applied.
    segmented
        :func:`salesx2lib.segments.segment` of the scores under ``settings``.
    counts
        One row per segment: ``segment``, ``reps``, ``changed`` (reps that were in
        another segment under the baseline settings), ``management_style``.
    changes
        The reps whose segment differs from the baseline: ``rep_id``, ``rep_name``,
        ``team``, ``baseline_segment``, ``segment``, ``reason``.
    chart
        The segment map (with the thresholds drawn) next to the counts per segment.
    notes
        One line each: the thresholds, and how many reps moved against the baseline.
    """

    settings: Settings
    segmented: pd.DataFrame
    counts: pd.DataFrame
    changes: pd.DataFrame
    chart: alt.HConcatChart
    notes: tuple[str, ...] = ()

    def to_html(self) -> str:
        """Notes, counts, changed reps and chart (SVG) in one HTML fragment."""
        tables = [self.counts.style.hide(axis="index")]
        if not self.changes.empty:
            tables.append(self.changes.style.hide(axis="index"))
        return html_view(self.notes, tables, self.chart)

    def _ipython_display_(self) -> None:
        """Notes as a list, the counts, the changed reps, then the chart with the active renderer."""
        if self.notes:
            display(Markdown("\n".join(f"- {note}" for note in self.notes)))
        display(self.counts.style.hide(axis="index"))
        if not self.changes.empty:
            display(self.changes.style.hide(axis="index"))
        display(self.chart)


def segment_view(
    scores: pd.DataFrame,
    settings: Settings | None = None,
    **thresholds: float,
) -> Segmentation:
    """Segment precomputed scores under changed thresholds: a pure function of its inputs.

    ``settings_variant = dataclasses.replace(settings, **{THRESHOLDS[k]: v})`` for each
    threshold given, then ``segments.segment(scores, settings_variant)``; reps are
    compared with ``segments.segment(scores, settings)`` (the baseline).

    Parameters
    ----------
    scores
        :func:`salesx2lib.segments.rep_scores`.
    settings
        The baseline settings (the packaged defaults when ``None``).
    **thresholds
        Any of :data:`THRESHOLDS`: ``self_sustained_attainment`` (1.0 = 100% of quota),
        ``self_sustained_months_share`` (0 to 1), ``self_sustained_percentile`` (0 to
        100), ``developing_attainment``, ``ramping_days``.

    Returns
    -------
    Segmentation

    Raises
    ------
    ValueError
        An unknown threshold name.
    """
    base = settings or load_settings()
    unknown = sorted(set(thresholds) - set(THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold {unknown[0]!r} (thresholds: {', '.join(THRESHOLDS)})")
    values = {THRESHOLDS[k]: v for k, v in thresholds.items()}
    if "segments_ramping_days" in values:
        values["segments_ramping_days"] = int(values["segments_ramping_days"])
    variant = replace(base, **values)
    segmented = segments.segment(scores, variant)
    baseline = segments.segment(scores, base)["segment"]
    moved = segmented["segment"] != baseline
    changes = segmented.loc[moved, [c for c in _TABLE_COLUMNS if c in segmented.columns]].assign(
        baseline_segment=baseline[moved]
    )
    changes = changes[[c for c in ["rep_id", "rep_name", "team", "baseline_segment", "segment", "reason"]
                       if c in changes.columns]].reset_index(drop=True)
    order = list(reversed(segments.SEGMENTS))
    counts = pd.DataFrame(
        {
            "segment": pd.Series(order, dtype="str"),
            "reps": [int((segmented["segment"] == s).sum()) for s in order],
            "changed": [int((changes["segment"] == s).sum()) for s in order],
            "management_style": pd.Series([segments.MANAGEMENT_STYLES[s] for s in order], dtype="str"),
        }
    )
    v = variant
    notes = (
        f"self_sustained: attainment ≥ {v.segments_self_sustained_attainment:.0%}, months at quota ≥ "
        f"{v.segments_self_sustained_months_share:.0%}, competency percentile ≥ "
        f"{v.segments_self_sustained_percentile:.0f}; developing: attainment ≥ {v.segments_developing_attainment:.0%}; "
        f"ramping: tenure under {v.segments_ramping_days} days.",
        f"{len(changes)} of {len(segmented)} reps are in another segment than under the settings file's thresholds.",
    )
    chart = alt.hconcat(
        segment_charts.segment_map_chart(segmented, variant), segment_charts.segment_counts_chart(segmented)
    )
    return Segmentation(variant, segmented, counts, changes, chart, notes)


class SegmentExplorer(ipywidgets.VBox):
    """Five threshold sliders and a view; build it with :func:`segment_explorer`.

    ``children`` are the sliders in the order of :data:`THRESHOLDS`, then the view (an
    ``ipywidgets.HTML``). Every change of a slider calls :meth:`update`, which calls
    :func:`segment_view` on the precomputed scores, keeps the result in :attr:`result`
    and draws it into the view.
    """

    def __init__(self, scores: pd.DataFrame, settings: Settings) -> None:
        self._scores, self._settings = scores, settings
        s = settings
        style = {"description_width": "16em"}
        layout = ipywidgets.Layout(width="44em")
        common = {"style": style, "layout": layout, "continuous_update": False}
        self.sliders: dict[str, ipywidgets.ValueWidget] = {
            "self_sustained_attainment": ipywidgets.FloatSlider(
                value=s.segments_self_sustained_attainment, min=0.5, max=1.5, step=0.05,
                readout_format=".0%", description="self_sustained attainment", **common),
            "self_sustained_months_share": ipywidgets.FloatSlider(
                value=s.segments_self_sustained_months_share, min=0.0, max=1.0, step=0.01,
                readout_format=".0%", description="self_sustained months at quota", **common),
            "self_sustained_percentile": ipywidgets.FloatSlider(
                value=s.segments_self_sustained_percentile, min=0.0, max=100.0, step=5.0,
                readout_format=".0f", description="self_sustained competency percentile", **common),
            "developing_attainment": ipywidgets.FloatSlider(
                value=s.segments_developing_attainment, min=0.3, max=1.3, step=0.05,
                readout_format=".0%", description="developing attainment", **common),
            "ramping_days": ipywidgets.IntSlider(
                value=s.segments_ramping_days, min=0, max=365, step=10, description="ramping: tenure under (days)",
                **common),
        }
        self.view = ipywidgets.HTML()
        self.result: Segmentation | None = None
        super().__init__(children=[*self.sliders.values(), self.view])
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.update()

    def update(self, *_: object) -> Segmentation:
        """Re-segment for the sliders' current values; returns the result too."""
        self.result = segment_view(
            self._scores, self._settings, **{name: slider.value for name, slider in self.sliders.items()}
        )
        self.view.value = self.result.to_html()
        return self.result


def segment_explorer(
    dataset: Dataset, as_of: pd.Timestamp | str | None = None, settings: Settings | None = None
) -> SegmentExplorer:
    """An ipywidgets explorer of the segment thresholds over the reps' scores.

    Scores the reps once (:func:`salesx2lib.segments.rep_scores`); each slider then
    re-applies the rules. The sliders start at the thresholds of ``settings``.

    Parameters
    ----------
    dataset
        The data (narrow it with ``for_team`` first if you like); needs ``quotas``.
    as_of
        Score as of this date; ``None``: the dataset's as-of date.
    settings
        The baseline settings (the packaged defaults when ``None``).

    Returns
    -------
    SegmentExplorer
        ``children[0:5]`` are the sliders, ``children[5]`` the view; ``result`` holds the
        :class:`Segmentation` of the current thresholds.

    Raises
    ------
    MissingTableError
        If the dataset has no quotas table.

    Notes
    -----
    Under papermill or nbval, and in an exported HTML page, the widget does not show:
    ``app = segment_explorer(ds); display(app); display(app.result)``.
    """
    s = settings or load_settings()
    return SegmentExplorer(segments.rep_scores(dataset, as_of, s), s)
