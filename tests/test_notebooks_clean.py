"""Committed notebooks are clean: no outputs, no execution counts, parameters papermill can read.

Outputs stay out of git (clean diffs, no customer data); the executed copies live in the
report folders. A parameters cell papermill cannot parse only warns at run time and the
run silently uses the defaults, so every name assigned in it must be one papermill sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert any(p.name == "weekly_report.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs or execution counts (run nbstripout)"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state in the metadata"
    assert "papermill" not in nb.metadata, f"{path.name}: an executed papermill copy was committed"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_are_readable_by_papermill(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        pytest.skip("no parameters cell")
    assert len(cells) == 1 and nb.cells.index(cells[0]) == next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code"
    ), "the parameters cell is the first code cell"
    assigned = [t.id for node in ast.parse(cells[0].source).body if isinstance(node, ast.Assign) for t in node.targets]
    inspected = papermill.inspect_notebook(str(path))
    assert list(inspected) == assigned, "papermill cannot parse a parameter line (no '=' in comments)"
    assert all(p["help"] for p in inspected.values()), "each parameter has a comment saying what it is"
