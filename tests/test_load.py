"""Loading: canonical dtypes, the lazy activity log, the as-of date, Parquet sources."""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd
import pytest

from salesx2lib.load import data_date, load_dataset
from salesx2lib.problems import DataError

from conftest import VALID_TABLES, write_tables


def test_small_tables_have_canonical_dtypes(valid_folder):
    ds = load_dataset(valid_folder)
    opps = ds.opportunities
    assert opps["opportunity_id"].dtype == "str"
    assert opps["amount"].dtype == "float64"
    assert opps["created_at"].dtype == "datetime64[us]"
    assert opps["expected_close_date"].dtype == "datetime64[us]"
    # an empty cell is missing, never an empty string or zero
    o2 = opps.set_index("opportunity_id").loc["O2"]
    assert pd.isna(o2["amount"]) and pd.isna(o2["account_id"]) and pd.isna(o2["closed_at"])
    assert sorted(ds.tables) == ["forecasts", "opportunities", "opportunity_history", "quotas", "reps", "trainings"]


def test_the_activity_log_stays_lazy(valid_folder):
    ds = load_dataset(valid_folder)
    assert isinstance(ds.activities, ir.Table)
    assert "activities" not in ds.tables
    assert ds.activities.count().execute() == 5
    assert str(ds.activities.schema()["occurred_at"]).startswith("timestamp")


def test_as_of_defaults_to_the_latest_event(valid_folder):
    # latest: O1 closed 2026-01-30 16:00 (after every activity and history change)
    assert load_dataset(valid_folder).as_of == pd.Timestamp("2026-01-30 16:00:00")
    assert load_dataset(valid_folder, as_of="2026-01-10").as_of == pd.Timestamp("2026-01-10")


def test_offsets_are_converted_to_utc(tmp_path):
    opps = VALID_TABLES["opportunities"].replace("2026-01-07 12:00:00", "2026-01-07T12:00:00+02:00")
    ds = load_dataset(write_tables(tmp_path / "d", {"opportunities": opps}))
    assert ds.opportunities.loc[0, "created_at"] == pd.Timestamp("2026-01-07 10:00:00")


def test_only_reps_and_opportunities_is_enough(tmp_path):
    folder = write_tables(
        tmp_path / "d",
        {t: None for t in ("activities", "opportunity_history", "forecasts", "quotas", "trainings")},
    )
    ds = load_dataset(folder)
    assert ds.activities is None and not ds.has("quotas")
    assert ds.as_of == pd.Timestamp("2026-01-30 16:00:00")


def test_parquet_tables_load_like_csv(tmp_path, valid_folder):
    csv_ds = load_dataset(valid_folder)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in csv_ds.tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    csv_ds.activities.to_pandas().to_parquet(folder / "activities.parquet", index=False)
    pq_ds = load_dataset(folder)
    for name in csv_ds.tables:
        pd.testing.assert_frame_equal(pq_ds.tables[name], csv_ds.tables[name], check_dtype=True)
    pd.testing.assert_frame_equal(
        pq_ds.activities.to_pandas().sort_values("activity_id", ignore_index=True),
        csv_ds.activities.to_pandas().sort_values("activity_id", ignore_index=True),
    )


def test_bad_as_of_is_a_located_error(valid_folder):
    with pytest.raises(DataError, match="--as-of: 'soon' is not a date"):
        load_dataset(valid_folder, as_of="soon")


def test_loading_never_writes_into_the_data_folder(valid_folder):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in valid_folder.iterdir())
    load_dataset(valid_folder)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in valid_folder.iterdir()) == before


def test_no_deal_won_or_lost_while_stages_look_closed_is_a_warning(tmp_path):
    opps = (
        "opportunity_id,rep_id,account_id,created_at,amount,stage,status,expected_close_date,closed_at\n"
        "O1,R1,AC1,2026-01-07 12:00:00,1200,Closed Won,open,2026-02-01,\n"
        "O2,R3,,2026-01-08 12:00:00,,Prospecting,open,,\n"
        "O3,R2,AC2,2026-01-09 12:00:00,800,Closed Lost,open,2026-01-31,\n"
    )
    history = "opportunity_id,changed_at,stage,amount,expected_close_date\nO1,2026-01-07 12:00:00,Prospecting,1000,2026-01-25\n"
    folder = write_tables(tmp_path / "data", {"opportunities": opps, "opportunity_history": history})
    warned = [str(w) for w in load_dataset(folder).warnings if "look closed" in str(w)]
    assert warned == [
        "opportunities.csv:stage: warning: no deal reads as won or lost, yet some stages look closed "
        "('Closed Lost', 'Closed Won'): check how status is read"
    ]
    # one deal won: nothing to warn about
    folder = write_tables(tmp_path / "data2", {"opportunity_history": history})
    assert not [w for w in load_dataset(folder).warnings if "look closed" in str(w)]


# -- the export's own as-of date (load.data_date) -----------------------------------------

def _ts(*values: str | None) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype="datetime64[us]")


def test_the_as_of_is_the_latest_event_not_after_the_day_the_export_was_taken():
    # the latest stamp: a history change on 2026-03-11 09:00, so the export was taken that
    # day and closes before 2026-03-12 00:00 count; one on the cutoff and one after do not
    created = _ts("2026-03-01 08:00", "2026-03-10 15:00", "2026-03-02 10:00", "2026-03-03 10:00")
    closed = _ts("2026-03-11 23:59:59", "2026-03-12 00:00", "2026-06-30 00:00", None)
    found = data_date(created, closed, changes=[pd.NaT, pd.Timestamp("2026-03-11 09:00")], deals_file="deals.csv")
    assert found.moment == pd.Timestamp("2026-03-11 23:59:59")
    assert found.source == "the latest event not after 2026-03-11, the day of the latest creation, change or activity"
    assert [str(n) for n in found.notes] == [
        "deals.csv:closed_at: note: 2 deals close after 2026-03-11, the day of the data's latest creation, change "
        "or activity (the latest on 2026-06-30): the as-of date is not moved to those dates, and until then they "
        "count as not yet closed"
    ]


def test_the_day_the_export_was_taken_is_that_of_its_latest_creation_change_or_activity():
    # a change on 03-01; the latest activity (03-11 09:00) is later: it sets the day, and a
    # close the day before it leaves the activity as the latest event
    found = data_date(
        _ts("2026-03-10 15:00"), _ts("2026-03-10 16:00"), changes=[pd.Timestamp("2026-03-01")],
        activity=pd.Timestamp("2026-03-11 09:00"),
    )
    assert (found.moment, found.source, found.notes) == (pd.Timestamp("2026-03-11 09:00"), "the latest event in the data", ())
    # the latest creation (03-10 15:00) sets it when it is the latest: a close on 03-11 is after
    found = data_date(_ts("2026-03-10 15:00"), _ts("2026-03-11 00:00"), changes=[pd.Timestamp("2026-03-01"), pd.NaT])
    assert found.moment == pd.Timestamp("2026-03-10 15:00") and len(found.notes) == 1


def test_without_a_modification_or_history_time_the_as_of_is_the_latest_event():
    # nothing records when deals were closed: the latest close counts, however late
    found = data_date(_ts("2026-03-10 15:00"), _ts("2026-06-30 00:00"), changes=[pd.NaT], activity=pd.Timestamp("2026-03-11"))
    assert (found.moment, found.source, found.notes) == (pd.Timestamp("2026-06-30 00:00"), "the latest event in the data", ())
    with pytest.raises(DataError, match="has no rows"):
        data_date(_ts(), _ts(), changes=[])


def test_a_close_dated_after_the_export_does_not_move_the_as_of(tmp_path):
    # O1 "closed" on 2026-05-30, four months after the deals' last modification (2026-01-30 16:05)
    opps = (
        "opportunity_id,rep_id,account_id,created_at,amount,stage,status,expected_close_date,closed_at,modified_at\n"
        "O1,R1,AC1,2026-01-07 12:00:00,1200,Closed Won,won,2026-05-30,2026-05-30 00:00:00,2026-01-30 16:05:00\n"
        "O2,R3,,2026-01-08 12:00:00,,Prospecting,open,,,2026-01-08 12:00:00\n"
        "O3,R2,AC2,2026-01-09 12:00:00,800,Closed Lost,lost,2026-01-31,2026-01-20 09:00:00,2026-01-20 09:00:00\n"
    )
    folder = write_tables(tmp_path / "d", {"opportunities": opps, "opportunity_history": None})
    ds = load_dataset(folder)
    assert ds.as_of == pd.Timestamp("2026-01-30 16:05:00")
    assert ds.as_of_source.startswith("the latest event not after 2026-01-30")
    assert [n.message for n in ds.notes if n.column == "closed_at"] == [
        "1 deal closes after 2026-01-30, the day of the data's latest creation, change or activity (the latest on "
        "2026-05-30): the as-of date is not moved to those dates, and until then they count as not yet closed"
    ]
    # a given as-of is used as it is, and says so
    given = load_dataset(folder, as_of="2026-06-01")
    assert (given.as_of, given.as_of_source) == (pd.Timestamp("2026-06-01"), "given")
