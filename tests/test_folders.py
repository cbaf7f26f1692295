"""new_folder: a folder appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesx2lib.folders import new_folder


def test_written_folder_is_renamed_into_place(tmp_path: Path) -> None:
    with new_folder(tmp_path / "run") as build:
        (build / "a.txt").write_text("a")
        assert not (tmp_path / "run").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert (tmp_path / "run" / "a.txt").read_text() == "a"


def test_a_failure_leaves_nothing_and_keeps_the_old_folder(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), new_folder(tmp_path / "run", overwrite=True) as build:
        (build / "half.txt").write_text("half")
        raise RuntimeError("disk full")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["old.txt"]


def test_existing_folder_is_refused_or_replaced(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="already exists"), new_folder(tmp_path / "run"):
        pass
    with new_folder(tmp_path / "run", overwrite=True) as build:
        (build / "new.txt").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["new.txt"]


def test_a_folder_appearing_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    with pytest.raises(FileExistsError, match="appeared"), new_folder(tmp_path / "run") as build:
        (build / "mine.txt").write_text("mine")
        (tmp_path / "run").mkdir()  # another process got there first
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert list((tmp_path / "run").iterdir()) == []
