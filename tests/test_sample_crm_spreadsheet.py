"""The sample written as two spreadsheet files reads back, through its mapping, as the same deals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesx2lib.cli import main
from salesx2lib.load import load_dataset
from salesx2lib.sample import generate
from salesx2lib.sample_crm.spreadsheet import FILES, write_spreadsheet

FIXTURE_MAPPING = Path(__file__).parent / "fixtures" / "spreadsheet" / "mapping.toml"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate(reps=6, weeks=10, seed=7)


def test_round_trip_keeps_every_deal(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    written = write_spreadsheet(tables, tmp_path)
    assert [p.name for p in written] == list(FILES)
    ds = load_dataset(tmp_path, mapping=tmp_path / "mapping.toml")
    names = tables["reps"].set_index("rep_id")["rep_name"]
    want = tables["opportunities"].assign(rep_id=lambda d: d["rep_id"].map(names)).set_index("opportunity_id").sort_index()
    got = ds.opportunities.set_index("opportunity_id").sort_index()
    assert got.index.equals(want.index)
    pd.testing.assert_series_equal(got["rep_id"], want["rep_id"])  # every retyped name matched back
    pd.testing.assert_series_equal(got["status"], want["status"])
    pd.testing.assert_series_equal(got["amount"], want["amount"])
    # Dates lose their time of day, nothing more.
    pd.testing.assert_series_equal(got["created_at"], want["created_at"].dt.normalize())
    pd.testing.assert_series_equal(got["closed_at"], want["closed_at"].dt.normalize())
    assert set(ds.reps["team"]) == set(tables["reps"]["team"])
    assert all("case and spacing ignored" in str(w) for w in ds.warnings)


def test_the_shipped_mapping_is_the_documented_one(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    write_spreadsheet(tables, tmp_path)
    assert (tmp_path / "mapping.toml").read_text() == FIXTURE_MAPPING.read_text()


def test_cli_sample_as_spreadsheet_then_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheet"
    assert main(["sample", "--reps", "6", "--weeks", "10", "--seed", "7", "--as", "spreadsheet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["metrics", str(out), "--mapping", str(out / "mapping.toml"), "--table", "cycle"]) == 0
    assert capsys.readouterr().out.startswith("team,n,n_won,n_lost,n_open,km_median_days")
