"""The rolling-forecast explorer: the pure view function, and the widget wiring without a browser.

The fixture is a small synthetic floor (6 reps, 16 weeks) written by ``salesx2lib.sample``:
big enough for the stage probabilities and the scrub to work, small enough to be fast.
The view must be exactly what the library computes for the same gate; the widget must
hand its controls' values to the view (set a control, read ``app.result``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import ipywidgets
import pandas as pd
import pytest

from salesx2lib import rolling
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.load import load_dataset
from salesx2lib.pipeline import ALL
from salesx2lib.sample import write_sample
from salesx2lib.settings import load_settings
from salesx2lib.widgets import forecast as fw

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder: Path = tmp_path_factory.mktemp("floor")
    write_sample(folder, reps=6, weeks=16, seed=7)
    return load_dataset(folder)


@pytest.fixture(scope="module")
def monday(dataset: Dataset) -> pd.Timestamp:
    """A Monday in the middle of the data whose 30-day window is over."""
    dates = rolling.backtest_dates(dataset, SETTINGS)
    return dates[len(dates) // 2]


def without_history(dataset: Dataset) -> Dataset:
    tables = {k: v for k, v in dataset.tables.items() if k != "opportunity_history"}
    return dataclasses.replace(dataset, tables=tables)


# -- the pure function --------------------------------------------------------------


def test_view_is_the_library_result(dataset: Dataset, monday: pd.Timestamp) -> None:
    view = fw.rolling_view(dataset, monday)
    listed = rolling.rolling_pipeline(dataset, monday, SETTINGS)
    listed = listed.loc[listed["passes_gate"] & (listed["close_position"] == "in_window")].reset_index(drop=True)
    pd.testing.assert_frame_equal(view.deals, listed)
    per_rep = rolling.rolling_forecast(dataset, monday, SETTINGS, by="rep")
    pd.testing.assert_frame_equal(view.table, per_rep[list(view.table.columns)].reset_index(drop=True))
    teams = rolling.rolling_forecast(dataset, monday, SETTINGS, by="team")
    pd.testing.assert_frame_equal(view.teams, teams[list(view.teams.columns)].reset_index(drop=True))
    assert view.as_of == monday
    assert view.minimum_stage == SETTINGS.gate_minimum_stage
    assert view.required_fields == SETTINGS.gate_required_fields
    assert view.rep is None
    assert set(view.flags["rep_id"]) == set(view.deals["rep_id"])
    assert view.chart is not None and view.chart.to_dict()["mark"]["type"] == "bar"
    # The window is over by the data's date: the notes say what was won in it.
    assert any("This window is over" in n for n in view.notes)


def test_defaults_are_the_weekly_rule_and_the_settings_gate(dataset: Dataset) -> None:
    view = fw.rolling_view(dataset)
    # The sample ends on a Sunday evening: the weekly rule gives the Monday 00:00 after it.
    assert pd.Timestamp(dataset.as_of).weekday() == 6
    assert view.as_of == pd.Timestamp(dataset.as_of).normalize() + pd.Timedelta(days=1)
    assert view.teams.loc[view.teams["team"] == ALL, "actual"].isna().all()  # window not over yet
    assert not any("This window is over" in n for n in view.notes)


def test_the_gate_moves_the_list(dataset: Dataset, monday: pd.Timestamp) -> None:
    order = list(SETTINGS.stage_order)
    by_stage = {s: fw.rolling_view(dataset, monday, s) for s in order}
    ids = {s: set(v.deals["opportunity_id"]) for s, v in by_stage.items()}
    for earlier, later in zip(order, order[1:], strict=False):
        assert ids[later] <= ids[earlier]
    assert ids[order[0]] > ids[order[-1]]
    for s, v in by_stage.items():
        assert v.minimum_stage == s
        assert set(v.deals["stage"]) <= set(order[order.index(s):])
    # The same gate through the library directly.
    gated = dataclasses.replace(SETTINGS, gate_minimum_stage=order[-1])
    listed = rolling.rolling_pipeline(dataset, monday, gated)
    assert ids[order[-1]] == set(listed.loc[listed["passes_gate"] & (listed["close_position"] == "in_window"), "opportunity_id"])


def test_required_fields(dataset: Dataset, monday: pd.Timestamp) -> None:
    none = fw.rolling_view(dataset, monday, required_fields=())
    strict = fw.rolling_view(dataset, monday, required_fields=("amount", "expected_close_date", "account_id"))
    assert none.required_fields == ()
    assert set(strict.deals["opportunity_id"]) <= set(none.deals["opportunity_id"])
    accounts = dataset.opportunities.set_index("opportunity_id")["account_id"]
    assert strict.deals["opportunity_id"].map(accounts).notna().all()
    assert strict.deals["amount"].notna().all()
    with pytest.raises(ValueError, match="no_such_field"):
        fw.rolling_view(dataset, monday, required_fields=("no_such_field",))


def test_one_rep(dataset: Dataset, monday: pd.Timestamp) -> None:
    everyone = fw.rolling_view(dataset, monday)
    rep = everyone.deals["rep_id"].value_counts().index[0]
    view = fw.rolling_view(dataset, monday, rep=rep)
    assert view.rep == rep
    mine = everyone.deals.loc[everyone.deals["rep_id"] == rep]
    assert list(view.table["opportunity_id"]) == list(mine["opportunity_id"])
    assert {"win_probability", "weighted_amount", "n_flags", "reasons"} <= set(view.table.columns)
    assert set(view.flags["rep_id"]) == {rep}
    pd.testing.assert_frame_equal(view.teams, everyone.teams)


def test_a_rep_without_deals_gets_a_note_not_an_error(dataset: Dataset, monday: pd.Timestamp) -> None:
    last_stage = SETTINGS.stage_order[-1]
    listed = set(fw.rolling_view(dataset, monday, last_stage).deals["rep_id"])
    idle = sorted(set(dataset.reps["rep_id"]) - listed)
    if not idle:
        pytest.skip("every rep has a late-stage deal in this window")
    view = fw.rolling_view(dataset, monday, last_stage, rep=idle[0])
    assert view.table.empty and view.chart is None
    assert any("no deal in this window" in n for n in view.notes)


def test_bad_selection_is_refused(dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="not one of the stages"):
        fw.rolling_view(dataset, minimum_stage="Closed Won")
    with pytest.raises(ValueError, match="unknown rep"):
        fw.rolling_view(dataset, rep="nobody")


def test_without_history_it_says_which_table(dataset: Dataset) -> None:
    bare = without_history(dataset)
    with pytest.raises(MissingTableError, match="opportunity_history"):
        fw.rolling_view(bare)
    with pytest.raises(MissingTableError, match="opportunity_history"):
        fw.explorer(bare)


def test_gate_settings_returns_a_variant() -> None:
    variant = fw.gate_settings(SETTINGS, "Proposal", ["amount"])
    assert (variant.gate_minimum_stage, variant.gate_required_fields) == ("Proposal", ("amount",))
    assert SETTINGS.gate_minimum_stage == load_settings().gate_minimum_stage  # untouched
    assert fw.gate_settings(SETTINGS) == SETTINGS
    assert set(SETTINGS.gate_required_fields) <= set(fw.gate_fields(SETTINGS))
    assert "account_id" in fw.gate_fields(SETTINGS)


def test_as_of_options_are_the_mondays_and_the_data_date(dataset: Dataset) -> None:
    options = fw.as_of_options(dataset, SETTINGS)
    values = [pd.Timestamp(v) for _, v in options]
    assert values == sorted(values)
    data_end = pd.Timestamp(dataset.as_of)  # a Sunday evening
    mondays = [v for v in values if v != data_end]
    assert all(v.weekday() == 0 and v == v.normalize() for v in mondays)
    assert values[-1] == data_end.normalize() + pd.Timedelta(days=1)  # the weekly rule's, last
    assert values[-2] == data_end and options[-2][0].endswith("(data as of)")
    assert values[-1] - values[-3] == pd.Timedelta(days=7)


# -- the widget ---------------------------------------------------------------------


def test_explorer_wiring(dataset: Dataset, monday: pd.Timestamp) -> None:
    app = fw.explorer(dataset, settings=SETTINGS)
    as_of, stage, fields, rep = app.children[:4]
    assert isinstance(as_of, ipywidgets.SelectionSlider) and not as_of.continuous_update
    assert isinstance(stage, ipywidgets.Dropdown) and list(stage.options) == list(SETTINGS.stage_order)
    assert isinstance(fields, ipywidgets.SelectMultiple)
    assert isinstance(rep, ipywidgets.Dropdown)
    assert isinstance(app.children[4], ipywidgets.HTML)  # an Output can stall papermill
    assert "<svg" in app.children[4].value or app.result.chart is None
    assert isinstance(app.result, fw.ForecastView)
    assert app.result.as_of == pd.Timestamp(dataset.as_of).normalize() + pd.Timedelta(days=1)

    as_of.value = f"{monday:%Y-%m-%d}"
    assert app.result.as_of == monday
    stage.value = SETTINGS.stage_order[-1]
    assert app.result.minimum_stage == SETTINGS.stage_order[-1]
    fields.value = ("amount",)
    assert app.result.required_fields == ("amount",)
    expected = fw.rolling_view(dataset, monday, SETTINGS.stage_order[-1], SETTINGS, required_fields=("amount",))
    pd.testing.assert_frame_equal(app.result.table, expected.table)
    some_rep = sorted(dataset.reps["rep_id"])[0]
    rep.value = some_rep
    assert app.result.rep == some_rep
    rep.value = fw.ALL_REPS
    assert app.result.rep is None and app.result.minimum_stage == SETTINGS.stage_order[-1]


def test_explorer_starts_where_asked(dataset: Dataset, monday: pd.Timestamp) -> None:
    tuesday = monday + pd.Timedelta(days=1, hours=9)
    app = fw.explorer(dataset, as_of=tuesday, minimum_stage="Proposal", required_fields=(), rep=None)
    assert app.result.as_of == tuesday
    assert app.result.minimum_stage == "Proposal" and app.result.required_fields == ()
    values = [v for _, v in app.children[0].options]
    assert values == sorted(values, key=pd.Timestamp)  # the odd date was slotted in order
    with pytest.raises(ValueError, match="unknown rep"):
        fw.explorer(dataset, rep="nobody")
    with pytest.raises(ValueError, match="not one of"):
        fw.explorer(dataset, required_fields=("no_such_field",))


def test_displaying_a_view_shows_notes_tables_and_chart(
    dataset: Dataset, monday: pd.Timestamp, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[object] = []
    monkeypatch.setattr(fw, "display", shown.append)
    rep = sorted(dataset.reps["rep_id"])[0]
    for view in (fw.rolling_view(dataset, monday), fw.rolling_view(dataset, monday, "Prospecting", rep=rep)):
        shown.clear()
        view._ipython_display_()
        notes, teams, table, *chart = shown
        assert "As of" in notes.data
        assert "<table" in teams.to_html() and "<table" in table.to_html()  # the formats apply
        assert chart == ([view.chart] if view.chart is not None else [])
