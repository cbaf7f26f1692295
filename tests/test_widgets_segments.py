"""The segment-threshold explorer: the pure view function, and the slider wiring without a browser.

The fixture is a small synthetic floor written by ``salesx2lib.sample``. The view must be
exactly ``segments.segment`` of the scores under the changed settings; a slider must
reach the view (set it, read ``app.result``), and the view is an ``ipywidgets.HTML``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ipywidgets
import pandas as pd
import pytest

from salesx2lib import segments
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
from salesx2lib.sample import write_sample
from salesx2lib.settings import load_settings
from salesx2lib.widgets import segments as sw


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder: Path = tmp_path_factory.mktemp("floor")
    write_sample(folder, reps=8, weeks=20, seed=7)
    return load_dataset(folder)


@pytest.fixture(scope="module")
def scores(dataset: Dataset) -> pd.DataFrame:
    return segments.rep_scores(dataset)


def test_view_is_segment_under_the_variant_settings(scores: pd.DataFrame) -> None:
    base = load_settings()
    view = sw.segment_view(scores, base, self_sustained_attainment=0.5, ramping_days=0)
    variant = replace(base, segments_self_sustained_attainment=0.5, segments_ramping_days=0)
    expected = segments.segment(scores, variant)
    pd.testing.assert_series_equal(view.segmented["segment"], expected["segment"])
    assert view.settings == variant
    assert view.counts["reps"].sum() == len(scores)
    baseline = segments.segment(scores, base)["segment"]
    assert len(view.changes) == int((baseline != expected["segment"]).sum())
    assert "ramping" not in set(view.segmented["segment"])


def test_view_with_no_change_lists_no_changes(scores: pd.DataFrame) -> None:
    view = sw.segment_view(scores)
    assert view.changes.empty
    assert view.notes[1].startswith(f"0 of {len(scores)} reps")
    assert "<svg" in view.to_html()


def test_unknown_threshold_is_refused(scores: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown threshold 'window_weeks'"):
        sw.segment_view(scores, window_weeks=4)


def test_sliders_redraw_the_view(dataset: Dataset, scores: pd.DataFrame) -> None:
    app = sw.segment_explorer(dataset)
    assert isinstance(app.view, ipywidgets.HTML) and app.children[-1] is app.view
    assert not any(isinstance(c, ipywidgets.Output) for c in app.children)
    assert len(app.children) == len(sw.THRESHOLDS) + 1
    before = app.view.value
    app.sliders["ramping_days"].value = 0
    assert app.result.settings.segments_ramping_days == 0
    assert "ramping" not in set(app.result.segmented["segment"])
    app.sliders["self_sustained_percentile"].value = 100.0
    assert app.result.settings.segments_self_sustained_percentile == 100.0
    expected = segments.segment(
        scores,
        replace(load_settings(), segments_ramping_days=0, segments_self_sustained_percentile=100.0),
    )
    pd.testing.assert_series_equal(app.result.segmented["segment"], expected["segment"])
    assert app.view.value != before


def test_explorer_needs_quotas(dataset: Dataset) -> None:
    without = replace(dataset, tables={k: v for k, v in dataset.tables.items() if k != "quotas"})
    with pytest.raises(MissingTableError, match="quotas"):
        sw.segment_explorer(without)
