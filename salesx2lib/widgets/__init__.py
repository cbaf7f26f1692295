"""Widgets: ipywidgets explorers over the analyses, one submodule per notebook topic.

Each explorer is built from library calls only (the analyses compute, the chart
functions draw); the function behind its controls is pure and returns its result, so
it can be tested and shown without a browser. Nothing is imported from here at package
import time: ``from salesx2lib.widgets import competency``.

Under papermill no front end draws a widget, so a notebook displays an explorer and then
its ``result`` as a static view. An explorer that draws into an ``ipywidgets.Output``
can stall a papermill run: nbclient echoes Output contents back to the kernel on the
shell channel and then, now and then, misses the cell's reply (see
:mod:`salesx2lib.widgets.competency`, which draws into an ``ipywidgets.HTML`` instead).
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable

import altair as alt
from pandas.io.formats.style import Styler

__all__ = ["html_view"]


def html_view(notes: Iterable[str], tables: Iterable[Styler], chart: alt.TopLevelMixin | None) -> str:
    """Notes, tables and a chart (as SVG, drawn by vl-convert) in one HTML fragment.

    What an explorer puts in its ``ipywidgets.HTML`` view: static, so it draws in any
    front end and cannot stall a papermill run the way an ``Output`` widget can.
    """
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    parts = [f"<ul>{items}</ul>" if items else ""] + [table.to_html() for table in tables]
    if chart is not None:
        svg = io.StringIO()
        chart.save(svg, format="svg")
        parts.append(f"<div>{svg.getvalue()}</div>")
    return "".join(parts)
