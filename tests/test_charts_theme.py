"""salesx2lib.charts.setup and theme: the renderer that draws offline, one theme for every chart."""

from __future__ import annotations

from collections.abc import Iterator

import altair as alt
import pandas as pd
import pytest

from salesx2lib.charts import PALETTE, SEGMENT_COLORS, setup, theme


@pytest.fixture
def restore() -> Iterator[None]:
    """setup() is process-wide: put Altair's renderer and theme back afterwards."""
    renderer, active = alt.renderers.active, alt.theme.active
    yield
    alt.renderers.enable(renderer)
    alt.theme.enable(active)


def test_static_setup_draws_svg_in_the_salesx2_theme(restore: None) -> None:
    setup("static")
    assert (alt.renderers.active, alt.theme.active) == ("svg", "salesx2")
    bundle = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["image/svg+xml"].startswith("<svg")
    assert PALETTE[0].lower() in data["image/svg+xml"].lower()  # the theme's bar colour


def test_interactive_setup_and_a_bad_renderer(restore: None) -> None:
    setup("interactive")
    assert alt.renderers.active == "jupyter"
    with pytest.raises(ValueError, match="'interactive' or 'static'"):
        setup("png")  # type: ignore[arg-type]


def test_theme_palette_is_the_category_range_and_segments_have_their_colours() -> None:
    config = theme()["config"]
    assert config["range"]["category"] == list(PALETTE)
    assert config["bar"]["color"] == PALETTE[0]
    assert set(SEGMENT_COLORS) == {"self_sustained", "developing", "hands_on", "ramping"}
    assert len(set(SEGMENT_COLORS.values())) == 4
