"""Loading: canonical dtypes, the lazy activity log, the as-of date, Parquet sources."""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd
import pytest

from salesx2lib.load import load_dataset
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
