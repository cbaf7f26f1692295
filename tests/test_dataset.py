"""Dataset: team and date-range filters, and missing tables named in one line."""

from __future__ import annotations

import pandas as pd
import pytest

from salesx2lib.dataset import MissingTableError
from salesx2lib.load import load_dataset

from conftest import write_tables


def test_for_team_filters_every_table_by_rep(valid_folder):
    ds = load_dataset(valid_folder).for_team("North")
    assert set(ds.reps["rep_id"]) == {"R1", "R2"}
    assert set(ds.opportunities["opportunity_id"]) == {"O1", "O3"}
    assert set(ds.table("opportunity_history")["opportunity_id"]) == {"O1", "O3"}
    assert set(ds.activities.to_pandas()["rep_id"]) == {"R1", "R2"}
    assert ds.teams == ["North"]


def test_unknown_team_names_the_known_ones(valid_folder):
    with pytest.raises(ValueError, match="unknown team 'West' \\(teams: North, South\\)"):
        load_dataset(valid_folder).for_team("West")


def test_between_keeps_events_in_the_half_open_range(valid_folder):
    full = load_dataset(valid_folder)
    ds = full.between("2026-01-06", "2026-01-12")
    assert sorted(ds.activities.to_pandas()["activity_id"]) == ["A4"]  # A5 is at 01-12 11:00: excluded
    # O3 was created 01-09 and closed 01-20: alive in the range; all three were
    assert set(ds.opportunities["opportunity_id"]) == {"O1", "O2", "O3"}
    assert ds.as_of == pd.Timestamp("2026-01-12")
    late = full.between("2026-01-25", None)
    assert set(late.opportunities["opportunity_id"]) == {"O1", "O2"}  # O3 closed 01-20
    assert late.as_of == full.as_of


def test_between_rejects_an_empty_range(valid_folder):
    with pytest.raises(ValueError, match="must be after start"):
        load_dataset(valid_folder).between("2026-02-01", "2026-01-01")


def test_missing_table_is_one_clear_line(tmp_path):
    ds = load_dataset(write_tables(tmp_path / "d", {"quotas": None, "activities": None}))
    with pytest.raises(MissingTableError, match=r"^needs the quotas table \(quotas.csv or quotas.parquet\), which this dataset does not have$"):
        ds.table("quotas")
    with pytest.raises(MissingTableError, match="needs the activities table"):
        ds.require("reps", "activities")


def test_datasets_are_not_changed_by_filters(valid_folder):
    ds = load_dataset(valid_folder)
    n = len(ds.opportunities)
    ds.for_team("South").between("2026-01-10", "2026-01-11")
    assert len(ds.opportunities) == n
    with pytest.raises(TypeError):
        ds.tables["reps"] = ds.reps  # type: ignore[index]
