"""Charts: Altair, one theme, and renderers that work offline.

Chart functions (in the submodules: one per analysis) take a result DataFrame and
return an ``alt.Chart``; they compute nothing. Call :func:`setup` once at the top of a
notebook: it registers the salesx2 theme and picks a renderer that draws without any
network: ``interactive`` for JupyterLab (Altair's ``jupyter`` renderer, Vega bundled
with it) or ``static`` (SVG, for papermill runs and exported HTML reports).
"""

from __future__ import annotations

from typing import Literal

import altair as alt

__all__ = ["PALETTE", "SEGMENT_COLORS", "setup", "theme"]

#: Categorical colours (colour-blind safe, Okabe-Ito order).
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

#: One colour per rep segment, the same in every chart.
SEGMENT_COLORS: dict[str, str] = {
    "self_sustained": "#009E73",
    "developing": "#0072B2",
    "hands_on": "#D55E00",
    "ramping": "#999999",
}

_FONT = "Helvetica, Arial, sans-serif"


def theme() -> alt.theme.ThemeConfig:
    """The salesx2 Altair theme: quiet axes, readable type, the project palette."""
    return alt.theme.ThemeConfig(
        config={
            "font": _FONT,
            "view": {"continuousWidth": 520, "continuousHeight": 260, "stroke": None},
            "title": {"fontSize": 15, "anchor": "start", "subtitleColor": "#555555", "subtitleFontSize": 12},
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "gridColor": "#e6e6e6",
                "domainColor": "#888888",
                "tickColor": "#888888",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom"},
            "range": {"category": list(PALETTE)},
            "bar": {"color": PALETTE[0]},
            "line": {"color": PALETTE[0], "strokeWidth": 2},
            "point": {"color": PALETTE[0], "filled": True, "size": 50},
        }
    )


def setup(renderer: Literal["interactive", "static"] = "interactive") -> None:
    """Register and enable the salesx2 theme and choose a renderer that works offline.

    Parameters
    ----------
    renderer
        ``interactive``: charts draw and respond in JupyterLab with no network (the
        ``jupyter`` renderer in offline mode). ``static``: SVG drawn by vl-convert, for
        papermill runs and HTML exports (every chart draws, ~15 KB each).

    Notes
    -----
    Altair's theme and renderer are process-wide; this is why it is an explicit call
    made by notebooks, never something done when salesx2lib is imported.
    """
    alt.theme.register("salesx2", enable=True)(theme)
    if renderer == "interactive":
        alt.renderers.enable("jupyter", offline=True)
    elif renderer == "static":
        alt.renderers.enable("svg")
    else:
        raise ValueError(f"renderer must be 'interactive' or 'static', not {renderer!r}")
