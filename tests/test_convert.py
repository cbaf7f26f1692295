"""write_canonical: a mapped export written once as canonical tables loads back the same."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesx2lib.cli import main
from salesx2lib.convert import write_canonical
from salesx2lib.load import load_dataset

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("folder", "how"),
    [
        ("salesforce", {"preset": "salesforce"}),
        ("hubspot", {"preset": "hubspot"}),
        ("spreadsheet", {"mapping": FIXTURES / "spreadsheet" / "mapping.toml"}),
    ],
)
def test_converted_folder_loads_the_same_tables(folder: str, how: dict, tmp_path: Path) -> None:
    mapped = load_dataset(FIXTURES / folder, **how)
    written = write_canonical(mapped, tmp_path / "canonical")
    assert written[0].name == "reps.csv" and all(p.parent == tmp_path / "canonical" for p in written)
    canonical = load_dataset(tmp_path / "canonical")
    assert canonical.as_of == mapped.as_of
    assert set(canonical.tables) == set(mapped.tables)
    for name, frame in mapped.tables.items():
        pd.testing.assert_frame_equal(canonical.tables[name], frame, obj=name)
    if mapped.activities is not None:
        pd.testing.assert_frame_equal(
            canonical.activities.to_pandas().sort_values("activity_id", ignore_index=True),
            mapped.activities.to_pandas().sort_values("activity_id", ignore_index=True),
        )
    assert [p.name for p in (tmp_path).iterdir()] == ["canonical"]  # no build folder left


def test_existing_folder_is_refused_then_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["convert", str(FIXTURES / "spreadsheet"), "--mapping", str(FIXTURES / "spreadsheet" / "mapping.toml"), "--out", str(out)]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["opportunities.csv", "reps.csv"]


def test_bad_export_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export"
    export.mkdir()
    for name in ("deals.csv", "owners.csv", "mapping.toml"):
        (export / name).write_text((FIXTURES / "spreadsheet" / name).read_text())
    (export / "deals.csv").write_text((export / "deals.csv").read_text().replace(",12000,", ",12k,"))
    assert main(["convert", str(export), "--mapping", str(export / "mapping.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "deals.csv:2:Value: '12k' is not a number [amount]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
