"""The activity-vs-competency explorer: the pure view function, and the widget wiring without a browser.

The fixture is a small synthetic floor (8 reps in 4 teams, 16 weeks) written by
``salesx2lib.sample``. The view must be exactly what the library computes for the same
selection; the widget must hand its controls' values to the view (set a control, read
``app.result``), redraw once per change, and draw without an ``Output`` widget.
"""

from __future__ import annotations

from pathlib import Path

import shutil

import altair as alt
import ipywidgets
import pandas as pd
import pytest

from salesx2lib import competency, gaps
from salesx2lib.dataset import Dataset
from salesx2lib import periods
from salesx2lib.load import load_dataset
from salesx2lib.sample import write_sample
from salesx2lib.widgets import competency as cw


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder: Path = tmp_path_factory.mktemp("floor")
    write_sample(folder, reps=8, weeks=16, seed=7)
    return folder


@pytest.fixture(scope="module")
def dataset(floor: Path) -> Dataset:
    return load_dataset(floor)


@pytest.fixture(scope="module")
def window(dataset: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    return periods.trailing_range(dataset.as_of)


@pytest.fixture(scope="module")
def counts(dataset: Dataset, window: tuple[pd.Timestamp, pd.Timestamp]) -> pd.DataFrame:
    return competency.rep_counts(dataset, *window)


@pytest.fixture(scope="module")
def period_counts(dataset: Dataset, window: tuple[pd.Timestamp, pd.Timestamp]) -> pd.DataFrame:
    return competency.rep_counts(dataset, *window, freq="month")


@pytest.fixture(scope="module")
def without_activities(tmp_path_factory: pytest.TempPathFactory, floor: Path) -> Dataset:
    """Only the two required tables: reps and opportunities."""
    folder: Path = tmp_path_factory.mktemp("no_activities")
    for name in ("reps.csv", "opportunities.csv"):
        shutil.copy(floor / name, folder / name)
    return load_dataset(folder)


@pytest.fixture
def app(dataset: Dataset) -> cw.Explorer:
    return cw.explorer(dataset)


# -- the pure function -----------------------------------------------------------------


def test_view_is_the_library_result(counts: pd.DataFrame, dataset: Dataset) -> None:
    before = counts.copy()
    view = cw.explore(counts, reps=dataset.reps)
    pd.testing.assert_frame_equal(counts, before)  # the input is left alone

    decomposition = gaps.gap_decomposition(counts)
    top = gaps.top_competency_gaps(decomposition, dataset.reps, n=1)
    assert view.rep == top["rep_id"].iloc[0]
    assert top["sentence"].iloc[0] in view.notes

    funnel = competency.funnel(counts)
    expected = funnel.loc[funnel["rep_id"] == view.rep].reset_index(drop=True)
    columns = ["rep_id", "team", "metric", "successes", "trials", "rate", "ci_low", "ci_high", "shrunk_rate", "defined"]
    pd.testing.assert_frame_equal(view.table[columns], expected[columns])
    bench = competency.team_benchmarks(funnel)
    bench = bench.loc[bench["team"] == expected["team"].iloc[0]].reset_index(drop=True)
    pd.testing.assert_series_equal(view.table["median"], bench["median"])
    pd.testing.assert_series_equal(view.table["top_quartile"], bench["top_quartile"])

    assert view.team is None and view.period is None and view.metric == cw.DEFAULT_METRIC
    assert isinstance(view.chart, alt.VConcatChart)
    assert len(view.chart.vconcat) == 3  # funnel, metric vs result, waterfall
    assert view.chart.to_dict()  # a valid Vega-Lite spec


def test_a_team_narrows_every_part(counts: pd.DataFrame) -> None:
    team = sorted(counts["team"].unique())[0]
    view = cw.explore(counts, team=team)
    assert view.team == team
    assert set(view.table["team"]) == {team}
    assert view.rep in set(counts.loc[counts["team"] == team, "rep_id"])
    # Priors and benchmarks are per team: the rep's figures do not depend on the other teams.
    alone = cw.explore(counts.loc[counts["team"] == team], rep=view.rep)
    pd.testing.assert_frame_equal(view.table, alone.table)


def test_one_period_is_the_period_rows(period_counts: pd.DataFrame) -> None:
    period = sorted(period_counts["period_start"].unique())[1]
    view = cw.explore(period_counts, period=f"{period:%Y-%m-%d}")
    assert view.period == period
    rows = period_counts.loc[period_counts["period_start"] == period].drop(columns="period_start")
    expected = cw.explore(rows, rep=view.rep)
    pd.testing.assert_frame_equal(view.table, expected.table)


def test_periods_are_required_exactly_when_the_counts_have_them(
    counts: pd.DataFrame, period_counts: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="counts have periods"):
        cw.explore(period_counts)
    with pytest.raises(ValueError, match="counts have no periods"):
        cw.explore(counts, period="2026-09-01")
    with pytest.raises(ValueError, match="no period starting 1999-01-01"):
        cw.explore(period_counts, period="1999-01-01")
    with pytest.raises(ValueError, match="unknown team 'Nowhere'"):
        cw.explore(counts, team="Nowhere")


def test_a_rep_outside_the_selection_shows_the_team_funnel(counts: pd.DataFrame) -> None:
    teams = sorted(counts["team"].unique())
    other_rep = counts.loc[counts["team"] == teams[1], "rep_id"].iloc[0]
    view = cw.explore(counts, team=teams[0], rep=other_rep)
    assert view.rep is None
    assert any(f"Rep {other_rep} has no row" in n for n in view.notes)
    expected = competency.team_funnel(counts.loc[counts["team"] == teams[0]])
    pd.testing.assert_series_equal(view.table["rate"], expected["rate"].reset_index(drop=True))
    assert len(view.chart.vconcat) == 2  # no waterfall without a rep


def test_a_metric_the_counts_lack_is_a_note(counts: pd.DataFrame) -> None:
    view = cw.explore(counts, metric="no_such_metric")
    assert any(n.startswith("No no_such_metric values") for n in view.notes)
    assert len(view.chart.vconcat) == 2


def test_without_activities_the_view_says_which_table_it_needs(without_activities: Dataset) -> None:
    counts = competency.rep_counts(without_activities, *periods.trailing_range(without_activities.as_of))
    view = cw.explore(counts, metric="win_rate")
    assert "The gap decomposition needs the activities table" in view.notes[0]
    assert set(view.table["metric"]) == {"win_rate"}
    assert view.rep == min(counts["rep_id"])
    assert len(view.chart.vconcat) == 2  # funnel (win_rate only) and win_rate vs result


def test_to_html_has_the_notes_the_table_and_an_svg(counts: pd.DataFrame) -> None:
    view = cw.explore(counts)
    page = view.to_html()
    assert page.count("<li>") == len(view.notes)
    assert "<table" in page and "<svg" in page


# -- the widget ------------------------------------------------------------------------


def test_widget_has_four_controls_and_an_html_view(app: cw.Explorer, dataset: Dataset) -> None:
    team, rep, period, metric, view = app.children
    assert all(isinstance(c, ipywidgets.Dropdown) for c in (team, rep, period, metric))
    assert isinstance(view, ipywidgets.HTML)  # never an Output widget: see the module docstring
    assert not any(isinstance(c, ipywidgets.Output) for c in app.children)
    assert [v for _, v in team.options] == [cw.ALL, *dataset.teams]
    assert metric.value == cw.DEFAULT_METRIC and "dials" in metric.options
    assert period.options[0][1] == cw.ALL and len(period.options) > 1
    assert app.result is not None and "<svg" in view.value


def test_setting_a_control_updates_the_result(app: cw.Explorer, counts: pd.DataFrame, dataset: Dataset) -> None:
    team = dataset.teams[0]
    app.children[0].value = team
    assert app.result.team == team
    assert {v for _, v in app.children[1].options} - {cw.ALL} == set(dataset.reps.loc[dataset.reps["team"] == team, "rep_id"])

    rep = app.children[1].options[-1][1]
    app.children[1].value = rep
    assert app.result.rep == rep
    expected = cw.explore(counts, team=team, rep=rep, reps=dataset.reps)
    pd.testing.assert_frame_equal(app.result.table, expected.table)
    assert app.result.notes == expected.notes

    app.children[2].value = app.children[2].options[2][1]
    assert app.result.period == pd.Timestamp(app.children[2].value)
    app.children[3].value = "dials"
    assert app.result.metric == "dials"

    app.children[2].value = cw.ALL
    result = app.update()
    assert result is app.result and result.period is None


def test_a_new_team_refills_the_reps_and_redraws_once(
    app: cw.Explorer, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict] = []
    original = cw.explore

    def counting(*args: object, **kwargs: object) -> cw.Exploration:
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(cw, "explore", counting)
    app.children[1].value = cw.ALL
    calls.clear()
    app.children[0].value = dataset.teams[1]  # rep already on "largest gap": no rep change
    assert len(calls) == 1 and calls[0]["team"] == dataset.teams[1]

    app.children[1].value = app.children[1].options[1][1]
    calls.clear()
    app.children[0].value = dataset.teams[2]  # the rep resets to "largest gap"
    assert len(calls) == 1 and calls[0]["team"] == dataset.teams[2] and calls[0]["rep"] is None
    assert app.children[1].value == cw.ALL

    calls.clear()
    app.children[0].value = cw.ALL
    assert len(calls) == 1 and calls[0]["team"] is None
    assert len(app.children[1].options) == len(dataset.reps) + 1


def test_explorer_starting_selection_and_errors(dataset: Dataset, without_activities: Dataset) -> None:
    team = dataset.teams[-1]
    app = cw.explorer(dataset, team=team, metric="win_rate", freq="week")
    assert app.result.team == team and app.result.metric == "win_rate"
    assert len(app.children[2].options) >= 14  # the whole range and 13 or 14 weeks
    with pytest.raises(ValueError, match="unknown team 'Nowhere'"):
        cw.explorer(dataset, team="Nowhere")
    with pytest.raises(ValueError, match="unknown metric 'dials' for this dataset"):
        cw.explorer(without_activities, metric="dials")
    plain = cw.explorer(without_activities)
    assert plain.result.metric == "win_rate"
    assert list(plain.children[3].options) == ["opportunities", "win_rate", "avg_deal_size"]
