"""The weekly report batch (salesx2lib.report): papermill runs, exports, index, failures.

The real template runs once, for two teams in parallel, on a small folder written here
(weeks starting 2026-11-02 ... 11-16; team A won 1,500 in the report week against a
quota of 1,050, team B won 700). Failure and overwrite behaviour use a tiny template
that starts fast.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from salesx2lib import kpis, report
from salesx2lib.load import load_dataset
from salesx2lib.problems import DataError

REPS = """rep_id,rep_name,team,manager
r1,Ann,A,M
r2,Bob,A,M
r3,Cy,B,N
"""
OPPORTUNITIES = """opportunity_id,rep_id,created_at,amount,stage,status,expected_close_date,closed_at
o1,r1,2026-10-01,1000,Closed Won,won,2026-11-20,2026-11-16 00:00:00
o2,r2,2026-10-01,500,Closed Won,won,2026-11-20,2026-11-22 23:59:00
o3,r1,2026-10-01,300,Closed Won,won,2026-11-20,2026-11-23 00:00:00
o4,r1,2026-10-01,999,Closed Lost,lost,2026-11-20,2026-11-18 00:00:00
o5,r1,2026-10-01,200,Closed Won,won,2026-11-20,2026-11-09 10:00:00
o6,r3,2026-10-01,700,Closed Won,won,2026-11-20,2026-11-17 00:00:00
o7,r2,2026-10-01,,Proposal,open,2026-11-20,
"""
QUOTAS = """rep_id,period_start,period_end,quota
r1,2026-11-01,2026-11-30,3000
r2,2026-11-01,2026-11-30,1500
r3,2026-11-01,2026-11-30,6000
"""


def _activities() -> str:
    rows = (
        [("r1", "2026-11-16 09:00:00", "conversation")] * 6
        + [("r1", "2026-11-17 10:00:00", "appointment")] * 4
        + [("r2", "2026-11-18 10:00:00", "conversation")] * 4
        + [("r2", "2026-11-19 10:00:00", "appointment")] * 2
        + [("r1", "2026-11-10 10:00:00", "conversation")] * 5
        + [("r3", "2026-11-17 10:00:00", "conversation")] * 3
        + [("r3", "2026-11-23 00:00:00", "dial")]
    )
    lines = ["activity_id,rep_id,occurred_at,activity_type"]
    lines += [f"a{i},{rep},{ts},{kind}" for i, (rep, ts, kind) in enumerate(rows)]
    return "\n".join(lines) + "\n"


def write_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "reps": REPS,
        "opportunities": OPPORTUNITIES,
        "quotas": QUOTAS,
        "activities": _activities(),
    }.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def tiny_template(folder: Path) -> Path:
    """A template with the six parameters that fails for team B."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                'data = "x"  # data folder\npreset = None\nmapping = None\nweek = None  # week\nteam = None  # team\nsettings = None  # settings file',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell('if team == "B":\n    raise RuntimeError("boom for B")\nprint("report of", team)'),
        ],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
    )
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[report.ReportResult, list[str]]:
    lines: list[str] = []
    out = tmp_path_factory.mktemp("reports")
    result = report.run_report(data, out, jobs=2, progress=lines.append)
    return result, lines


def test_run_writes_every_file(run: tuple[report.ReportResult, list[str]]) -> None:
    result, lines = run
    assert result.ok and result.folder.name == "2026-11-16"
    assert sorted(p.name for p in result.folder.iterdir()) == [
        "A.html", "A.ipynb", "A.json", "B.html", "B.ipynb", "B.json", "index.html",
    ]
    assert [p.name for p in result.folder.parent.iterdir()] == ["2026-11-16"]  # no partial folder left
    assert [t.team for t in result.teams] == ["A", "B"]
    assert all(t.notebook.parent == result.folder for t in result.teams)
    assert any(line.startswith("[1/2] ") for line in lines) and any(line.startswith("[2/2] ") for line in lines)


def test_executed_notebook_got_the_parameters(run: tuple[report.ReportResult, list[str]], data: Path) -> None:
    result, _ = run
    nb = nbformat.read(result.folder / "A.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters == {
        "data": str(data.resolve()), "preset": None, "mapping": None, "week": "2026-11-16", "team": "A", "settings": None,
    }
    streams = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert [o.text for o in streams if o.name == "stderr"] == []  # no warnings in the report


def test_html_has_no_code_and_svg_charts(run: tuple[report.ReportResult, list[str]]) -> None:
    page = (run[0].folder / "A.html").read_text(encoding="utf-8")
    assert "load_dataset(" not in page and "kpi_charts" not in page
    assert "hl-ipython3" not in page  # no highlighted code cell
    # nbconvert embeds each SVG chart as an image data URI (an <img> cannot run script).
    charts = [base64.b64decode(b).decode() for b in re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)"', page)]
    # one chart per KPI, the team funnel, then the segment map (no forecasts: no horizon chart)
    assert len(charts) == 6 and all(c.startswith("<svg") for c in charts)
    assert "Conversation to appointment" in charts[3]
    assert "Team funnel" in charts[4]
    assert "Segment map" in charts[5]
    assert "<script" not in page  # no CDN scripts: the page makes no network request
    assert "Headline KPIs" in page and "60.0% (" in page  # the table, 6 appointments / 10 conversations


def test_json_equals_the_library(run: tuple[report.ReportResult, list[str]], data: Path) -> None:
    result, _ = run
    dataset = load_dataset(data)
    for team in ("A", "B"):
        record = json.loads((result.folder / f"{team}.json").read_text(encoding="utf-8"))
        weekly = kpis.weekly_kpis(dataset.for_team(team), result.week, n_weeks=5)
        expected = kpis.headline_json(kpis.headline_kpis(weekly, trailing_weeks=4))
        assert record["kpis"] == expected
        assert (record["team"], record["week_start"], record["week_end"]) == (team, "2026-11-16", "2026-11-22")
    a = json.loads((result.folder / "A.json").read_text(encoding="utf-8"))["kpis"]
    assert a["won_revenue"]["this_week"] == 1500.0
    assert a["quota_attainment"]["this_week"] == pytest.approx(1500 / 1050)
    assert a["conversation_to_appointment"]["n"] == 10.0


def test_index_links_every_team(run: tuple[report.ReportResult, list[str]]) -> None:
    page = (run[0].folder / "index.html").read_text(encoding="utf-8")
    for team in ("A", "B"):
        for suffix in ("html", "ipynb", "json"):
            assert f'href="{team}.{suffix}"' in page
    assert "1,500" in page and "700" in page and "FAILED" not in page


def test_failed_team_is_kept_and_marked(data: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    result = report.run_report(data, tmp_path / "out", jobs=2, template=tiny_template(tmp_path), progress=lines.append)
    assert not result.ok and result.failed == ("B",)
    assert [(t.team, t.ok) for t in result.teams] == [("A", True), ("B", False)]
    failed = result.teams[1]
    assert "RuntimeError: boom for B" in failed.error
    # The failed run's notebook is the record; no JSON for it; A is complete.
    executed = nbformat.read(failed.notebook, as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert failed.json is None and not (result.folder / "B.json").exists()
    assert (result.folder / "A.json").exists() and (result.folder / "A.html").exists()
    index = (result.folder / "index.html").read_text(encoding="utf-8")
    assert "FAILED: RuntimeError: boom for B" in index and 'href="B.ipynb"' in index
    assert "1 of 2 team reports failed" in index
    assert any("B FAILED: RuntimeError: boom for B" in line for line in lines)
    assert "1 of 2 teams FAILED: B" in lines[-1]


def test_existing_run_is_refused_then_replaced(data: Path, tmp_path: Path) -> None:
    template = tiny_template(tmp_path)
    out = tmp_path / "out"
    first = report.run_report(data, out, teams=["A"], template=template, progress=None)
    with pytest.raises(FileExistsError, match="already exists"):
        report.run_report(data, out, teams=["A"], template=template, progress=None)
    assert sorted(p.name for p in first.folder.iterdir()) == ["A.html", "A.ipynb", "A.json", "index.html"]
    # The week given as a Wednesday is the same week; overwrite replaces the whole folder.
    second = report.run_report(data, out, week="2026-11-18", teams=["A", "A"], template=template, progress=None, overwrite=True)
    assert second.folder == first.folder
    assert [t.team for t in second.teams] == ["A"]
    assert sorted(p.name for p in out.iterdir()) == ["2026-11-16"]


def test_bad_input_fails_before_writing(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"unknown team 'Nope' \(teams: A, B\)"):
        report.run_report(data, out, teams=["Nope"], progress=None)
    with pytest.raises(ValueError, match="starts after the data ends"):
        report.run_report(data, out, week="2027-01-04", progress=None)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        report.run_report(data, out, jobs=0, progress=None)
    bad = write_data(tmp_path / "bad")
    (bad / "opportunities.csv").write_text(OPPORTUNITIES.replace(",1000,", ",-5,"), encoding="utf-8")
    with pytest.raises(DataError, match="opportunities.csv:2:amount"):
        report.run_report(bad, out, progress=None)
    assert not out.exists()


def test_template_without_a_parameter_is_refused(data: Path, tmp_path: Path) -> None:
    template = tiny_template(tmp_path)
    nb = nbformat.read(template, as_version=4)
    nb.cells[0].source = 'data = "x"  # data folder\npreset = None\nmapping = None\nteam = None  # team'
    nbformat.write(nb, template)
    with pytest.raises(ValueError, match="does not declare the parameters week, settings"):
        report.run_report(data, tmp_path / "out", template=template, progress=None)


def test_default_template_is_the_repository_notebook() -> None:
    path = report.default_template()
    assert path == Path(__file__).resolve().parents[1] / "notebooks" / "weekly_report.ipynb"


def test_missing_tables_are_explained_not_fatal(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    (data / "activities.csv").unlink()
    (data / "quotas.csv").unlink()
    result = report.run_report(data, tmp_path / "out", teams=["B"], progress=None)
    assert result.ok
    page = (result.folder / "B.html").read_text(encoding="utf-8")
    assert "needs the activities table" in page and "needs the quotas table" in page
    record = json.loads((result.folder / "B.json").read_text(encoding="utf-8"))["kpis"]
    assert record["won_revenue"]["this_week"] == 700.0
    assert record["conversations"]["this_week"] is None
    assert record["quota_attainment"]["note"].startswith("needs the quotas table")
    assert "needs the activities table" in (result.folder / "index.html").read_text(encoding="utf-8")


def test_report_from_a_two_file_export_through_a_mapping(tmp_path: Path) -> None:
    """Deals with owner names + an owners file (docs/mapping.md's example): the report runs."""
    export = Path(__file__).parent / "fixtures" / "spreadsheet"
    result = report.run_report(export, tmp_path / "out", mapping=export / "mapping.toml", teams=["London"], progress=None)
    assert result.ok
    nb = nbformat.read(result.folder / "London.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["mapping"] == str((export / "mapping.toml").resolve())
    record = json.loads((result.folder / "London.json").read_text(encoding="utf-8"))
    assert record["week_start"] == "2026-03-23"
    # Acme (12,000, closed 20 March) by Jane Smith; Birch, lost, is hers too ("jane  smith").
    assert record["kpis"]["won_revenue"]["previous_week"] == 12000.0
    page = (result.folder / "London.html").read_text(encoding="utf-8")
    assert "needs the activities table" in page and "needs the opportunity_history table" in page


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_report_from_a_crm_export_through_its_preset(crm: str, tmp_path: Path) -> None:
    """The sample written as the CRM exports it, then reported on through the preset."""
    from salesx2lib.cli import main

    export = tmp_path / crm
    assert main(["sample", "--reps", "6", "--weeks", "10", "--seed", "7", "--as", crm, "--out", str(export)]) == 0
    result = report.run_report(export, tmp_path / "out", preset=crm, teams=["Atlas"], progress=None)
    assert result.ok
    record = json.loads((result.folder / "Atlas.json").read_text(encoding="utf-8"))["kpis"]
    assert record["conversations"]["this_week"] > 0  # the activity exports were read
    page = (result.folder / "Atlas.html").read_text(encoding="utf-8")
    assert "needs the forecasts table" in page  # neither preset reads forecasts
