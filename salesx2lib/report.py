"""The weekly report batch: run the report notebook for every team with papermill.

:func:`run_report` loads and validates the data once (bad data fails before anything is
written), then executes the template notebook ``notebooks/weekly_report.ipynb`` once per
team and writes, for the report week::

    OUT/<week>/                 <week> is the Monday, e.g. 2026-11-16
        index.html              every team with its headline numbers and links
        <team>.ipynb            the executed notebook (kept when it fails: it is the record)
        <team>.html             the notebook without code, charts as inline SVG (no network)
        <team>.json             the headline KPIs, computed by salesx2lib in this process

A run is a record: it is built in a hidden sibling folder and renamed into place at the
end, so ``OUT/<week>`` is never half-written, and an existing one is only replaced when
asked (``overwrite=True``). A team whose notebook fails does not stop the others: its
executed notebook is kept, the index marks it, and the result says so
(:attr:`ReportResult.ok`, :attr:`ReportResult.failed`; the command exits with 1).

Start-up time is most of a one-team run, so the kernels start first: :func:`run_report`
launches them (and has them import the template's modules) before it validates the data,
and this module imports its heavy dependencies (pandas, papermill, nbconvert, the
analyses) inside the functions, after the kernels are on their way.
"""

from __future__ import annotations

import ast
import html
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop, run_sync

from salesx2lib.folders import new_folder

if TYPE_CHECKING:
    import pandas as pd

    from salesx2lib.dataset import Dataset

__all__ = [
    "PARAMETERS",
    "ReportResult",
    "TeamResult",
    "default_template",
    "run_report",
]

#: Parameters every report template must declare in its ``parameters`` cell.
PARAMETERS: tuple[str, ...] = ("data", "preset", "mapping", "week", "team", "settings")

_TEMPLATE_NAME = "weekly_report.ipynb"


class _EncryptedKernelManager(AsyncKernelManager):
    """A kernel manager that provisions CurveZMQ keys when the kernel supports them.

    The kernel then talks to papermill over encrypted local TCP, and ipykernel does not
    print its "running over TCP without encryption" warning once per team. It remembers
    its clients so that :func:`_stop_kernel` closes them (papermill leaves the client of
    a kernel it did not start open).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transport_encryption = "auto"
        self.clients: list[Any] = []

    def client(self, **kwargs: Any) -> Any:
        """A client of this kernel, remembered."""
        client = super().client(**kwargs)
        self.clients.append(client)
        return client


@dataclass(frozen=True)
class TeamResult:
    """One team's part of a run.

    Attributes
    ----------
    team
        The team's name as in the data.
    ok
        Whether its notebook ran to the end and every file was written.
    seconds
        Wall time of its notebook run and exports.
    notebook
        The executed notebook (present even when the run failed, unless the kernel never
        started).
    html, json
        The exported page and the headline KPIs; ``None`` when not written.
    error
        What went wrong, one line, or ``None``.
    """

    team: str
    ok: bool
    seconds: float
    notebook: Path
    html: Path | None
    json: Path | None
    error: str | None = None


@dataclass(frozen=True)
class ReportResult:
    """What a run wrote.

    Attributes
    ----------
    week
        The report week's Monday.
    folder
        ``OUT/<week>``.
    index
        ``OUT/<week>/index.html``.
    teams
        One :class:`TeamResult` per team, in the order requested.
    seconds
        Wall time of the whole run.
    """

    week: pd.Timestamp
    folder: Path
    index: Path
    teams: tuple[TeamResult, ...]
    seconds: float

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the teams whose report failed."""
        return tuple(t.team for t in self.teams if not t.ok)

    @property
    def ok(self) -> bool:
        """Whether every team's report was written."""
        return not self.failed


def default_template() -> Path:
    """The weekly report notebook, ``weekly_report.ipynb``.

    In a source checkout or an editable install (``pip install -e .``) it is
    ``notebooks/weekly_report.ipynb`` next to the package: the notebook users open is
    the template. An installed wheel carries a copy made at build time
    (``salesx2lib/templates/``, see ``setup.py``).

    Raises
    ------
    FileNotFoundError
        If neither is there (a package copied by hand); pass ``template=``.
    """
    package = Path(__file__).resolve().parent
    for path in (package.parent / "notebooks" / _TEMPLATE_NAME, package / "templates" / _TEMPLATE_NAME):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"the report template {_TEMPLATE_NAME} is neither in {package / 'templates'} nor in "
        f"{package.parent / 'notebooks'}: reinstall salesx2 (pip install .) or pass the notebook as template"
    )


def _check_template(template: Path) -> None:
    """Fail before any run when the template lacks a parameter (papermill would only warn)."""
    import papermill

    declared = papermill.inspect_notebook(str(template))
    missing = [p for p in PARAMETERS if p not in declared]
    if missing:
        raise ValueError(
            f"{template} does not declare the parameter{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} in its cell tagged 'parameters'"
        )


def _file_stem(team: str) -> str:
    """A file name for a team: letters, digits, ``.``, ``_`` and ``-`` kept, the rest ``_``."""
    return re.sub(r"[^\w.-]", "_", team, flags=re.ASCII).strip(".") or "team"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


#: nbconvert's lab page without its CDN scripts (require.js, MathJax, Mermaid): the report
#: has no math, diagrams or JavaScript outputs, so the page makes no network request.
_HTML_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _export_html(notebook: Path, target: Path, title: str) -> None:
    """The executed notebook as one self-contained HTML page without code (outputs only).

    Charts are the SVG outputs of the ``static`` renderer, embedded by nbconvert as
    ``<img src="data:image/svg+xml;base64,...">``: they draw with no network and no script.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"salesx2_report.html.j2": _HTML_TEMPLATE})],
        template_file="salesx2_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4), resources={"metadata": {"name": title}})
    target.write_text(body, encoding="utf-8")


def _headline(dataset: Dataset, team: str, week: pd.Timestamp, trailing_weeks: int) -> dict[str, Any]:
    """The ``<team>.json`` document: what, when, and the headline KPIs."""
    from salesx2lib import kpis, periods

    weekly = kpis.weekly_kpis(dataset.for_team(team), week, n_weeks=trailing_weeks + 1)
    return {
        "team": team,
        "week_start": week.date().isoformat(),
        "week_end": periods.week_end(week).date().isoformat(),
        "as_of": dataset.as_of.isoformat(),
        "trailing_weeks": trailing_weeks,
        "kpis": kpis.headline_json(kpis.headline_kpis(weekly, trailing_weeks)),
    }


def _warm_up_code(template: Path) -> str:
    """Code that imports what the template imports, inside a function (no names leak).

    The template's top-level ``import`` statements, collected from its code cells; the
    notebook still runs them itself (then instantly, from ``sys.modules``).
    """
    lines: list[str] = []
    for cell in json.loads(template.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics
            continue
        for node in tree.body:
            star = isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__" or node.names[0].name == "*")
            if isinstance(node, ast.Import | ast.ImportFrom) and not star:
                lines.append(f"    {ast.unparse(node)}")
    return "def _salesx2_warm_up():\n" + "\n".join(lines or ["    pass"]) + "\n\n_salesx2_warm_up()\ndel _salesx2_warm_up\n"


def _start_kernel(cwd: Path, warm_up: str, cancelled: threading.Event) -> _EncryptedKernelManager | None:
    """Start a kernel in ``cwd`` and run ``warm_up`` in it; ``None`` if that failed.

    Runs in the calling thread's event loop, the one papermill then uses in this thread.
    A failure here is not reported: papermill starts a fresh kernel and reports its own.
    When ``cancelled`` is set (bad data: no run) the kernel is stopped at once.
    """
    km = _EncryptedKernelManager(kernel_name="python3")
    try:
        run_sync(km.start_kernel)(cwd=str(cwd), env={**os.environ, "TQDM_DISABLE": "1"})
        client = km.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            msg_id = client.execute(warm_up, silent=True, store_history=False)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not cancelled.is_set():
                try:
                    reply = run_sync(client.get_shell_msg)(timeout=0.2)
                except queue.Empty:
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        finally:
            client.stop_channels()
    except Exception:  # noqa: BLE001
        _stop_kernel(km, now=True)
        return None
    if cancelled.is_set():
        _stop_kernel(km, now=True)
        return None
    return km


def _stop_kernel(km: _EncryptedKernelManager, now: bool = False) -> None:
    """Close the kernel's clients and shut it down, quietly (it may be dead already);
    ``now`` kills it."""
    for client in km.clients:
        client.stop_channels()
    try:
        run_sync(km.shutdown_kernel)(now=now)
    except Exception:  # noqa: BLE001
        pass


class _Workers:
    """``jobs`` threads that each start a kernel at once, then run teams when told.

    A kernel takes seconds to start and import the template's modules; starting it while
    this process validates the data overlaps the two. A kernel serves one team only (no
    state is shared between teams): a worker's later teams get a fresh kernel from
    papermill. Leaving the ``with`` block without :meth:`run` stops the kernels.
    """

    def __init__(self, jobs: int, template: Path):
        self._go = threading.Event()
        self._cancelled = threading.Event()
        self._teams: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._results: dict[str, TeamResult] = {}
        self._task: Callable[[str, _EncryptedKernelManager | None], TeamResult] | None = None
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="salesx2-report")
        warm_up = _warm_up_code(template)
        self._futures = [self._pool.submit(self._work, template.parent, warm_up) for _ in range(jobs)]

    def _work(self, cwd: Path, warm_up: str) -> None:
        kernel = _start_kernel(cwd, warm_up, self._cancelled)
        try:
            self._go.wait()
            while self._task is not None:
                try:
                    team = self._teams.get_nowait()
                except queue.Empty:
                    break
                self._results[team], kernel = self._task(team, kernel), None
        finally:
            if kernel is not None:
                _stop_kernel(kernel)
            ensure_event_loop().close()  # this thread's loop, made by jupyter's run_sync

    def run(self, teams: list[str], task: Callable[[str, _EncryptedKernelManager | None], TeamResult]) -> list[TeamResult]:
        """Run ``task(team, kernel)`` for every team, ``jobs`` at a time; results in order."""
        for team in teams:
            self._teams.put(team)
        self._task = task
        self._go.set()
        for future in self._futures:
            future.result()
        return [self._results[team] for team in teams]

    def __enter__(self) -> _Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._task is None:  # no run (bad input): stop the kernels, even mid-start
            self._cancelled.set()
        self._go.set()
        self._pool.shutdown(wait=True)


def run_report(
    data: str | Path,
    out: str | Path,
    *,
    preset: str | None = None,
    mapping: str | Path | None = None,
    week: str | pd.Timestamp | None = None,
    teams: Iterable[str] | None = None,
    settings: str | Path | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    progress: Callable[[str], object] | None = print,
    template: str | Path | None = None,
) -> ReportResult:
    """Write the weekly report of every team (or of ``teams``) under ``out/<week>/``.

    Parameters
    ----------
    data
        Folder of canonical tables, or a CRM export read with ``preset`` or ``mapping``
        (as for :func:`salesx2lib.load.load_dataset`).
    out
        The reports folder; the run writes ``out/<week>/``.
    preset, mapping
        How to read ``data`` when it is a CRM export (:func:`salesx2lib.load.load_dataset`);
        every team's notebook reads it the same way.
    week
        Any date of the report week (:func:`salesx2lib.periods.parse_week`); default the
        latest complete week of the data (:func:`salesx2lib.periods.latest_complete_week`).
    teams
        Team names; default every team of the data.
    settings
        A settings TOML file; default the packaged defaults.
    jobs
        Teams run in parallel (each has its own kernel).
    overwrite
        Replace an existing ``out/<week>/``; without it an existing run is refused.
    progress
        Called with one line per step (``[2/4] Beacon ok 5.1 s``); ``None`` for silence.
    template
        The report notebook; default :func:`default_template`.

    Returns
    -------
    ReportResult
        The folder, the index and one :class:`TeamResult` per team. A team whose notebook
        failed does not raise: check :attr:`ReportResult.ok` (the run is still written,
        the failure marked in the index and the failed notebook kept).

    Raises
    ------
    salesx2lib.problems.DataError
        The data or the settings break the contract (nothing is written).
    ValueError
        An unknown team, a week that is not a date or starts after the data, a template
        without the parameters, or ``jobs < 1`` (nothing is written).
    FileExistsError
        ``out/<week>`` exists and ``overwrite`` is false (nothing is written).
    """
    started = time.perf_counter()
    say: Callable[[str], object] = progress or (lambda _line: None)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    template_path = Path(template).resolve() if template is not None else default_template()
    # Kernels start (and import the template's modules) while the data is validated below.
    teams = None if teams is None else list(teams)
    with _Workers(jobs if teams is None else max(1, min(jobs, len(set(teams)))), template_path) as workers:
        return _run(
            workers,
            started=started,
            say=say,
            data=data,
            preset=preset,
            mapping=mapping,
            out=out,
            week=week,
            teams=teams,
            settings=settings,
            jobs=jobs,
            overwrite=overwrite,
            template_path=template_path,
        )


def _run(
    workers: _Workers,
    *,
    started: float,
    say: Callable[[str], object],
    data: str | Path,
    preset: str | None,
    mapping: str | Path | None,
    out: str | Path,
    week: str | pd.Timestamp | None,
    teams: Iterable[str] | None,
    settings: str | Path | None,
    jobs: int,
    overwrite: bool,
    template_path: Path,
) -> ReportResult:
    """:func:`run_report` once the kernels are starting: validate, run, write, rename."""
    from salesx2lib import periods
    from salesx2lib.load import load_dataset
    from salesx2lib.settings import load_settings

    settings_path = Path(settings).resolve() if settings is not None else None
    config = load_settings(settings_path)
    data_path = Path(data).resolve()
    mapping_path = Path(mapping).resolve() if mapping is not None else None

    say(f"loading {data}" + (f" as a {preset} export" if preset else f" through {mapping}" if mapping else ""))
    dataset = load_dataset(data_path, preset=preset, mapping=mapping_path)
    for problem in dataset.warnings + dataset.notes:
        say(str(problem))
    if week is None:
        monday = periods.latest_complete_week(dataset.as_of)
    else:
        monday = periods.parse_week(week, dataset.as_of)
    chosen = _unique(teams) if teams is not None else dataset.teams
    unknown = [t for t in chosen if t not in dataset.teams]
    if unknown or not chosen:
        raise ValueError(
            f"unknown team {', '.join(map(repr, unknown)) or '(none given)'} (teams: {', '.join(dataset.teams)})"
        )
    stems = {team: _file_stem(team) for team in chosen}
    if len(set(stems.values())) < len(stems):
        raise ValueError(f"team names {', '.join(chosen)} give clashing file names")
    _check_template(template_path)

    out_dir = Path(out).resolve()
    final = out_dir / monday.date().isoformat()
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists: a run is a record; pass overwrite to replace it")
    say(
        f"week of Monday {monday.date()} to Sunday {periods.week_end(monday).date()}"
        f"{'' if week is None else f' (from {week})'}; {len(chosen)} team{'s' * (len(chosen) > 1)}, {min(jobs, len(chosen))} at a time"
    )

    # Headline KPIs in this process, before the parallel part (one DuckDB connection).
    headlines: dict[str, dict[str, Any] | str] = {}
    for team in chosen:
        try:
            headlines[team] = _headline(dataset, team, monday, config.trailing_weeks)
        except Exception as exc:  # noqa: BLE001 - recorded as the team's failure
            headlines[team] = f"headline KPIs failed: {type(exc).__name__}: {exc}"

    with new_folder(final, overwrite=overwrite) as build:
        parameters = {
            "data": str(data_path),
            "preset": preset,
            "mapping": None if mapping_path is None else str(mapping_path),
            "week": monday.date().isoformat(),
            "settings": None if settings_path is None else str(settings_path),
        }
        done = 0
        lock = threading.Lock()

        def run_team(team: str, kernel: _EncryptedKernelManager | None) -> TeamResult:
            nonlocal done
            result = _run_team(team, stems[team], build, template_path, parameters, headlines[team], monday, kernel)
            with lock:
                done += 1
                status = "ok" if result.ok else f"FAILED: {result.error}"
                say(f"[{done}/{len(chosen)}] {team} {status} ({result.seconds:.1f} s)")
            return result

        results = workers.run(chosen, run_team)

        _write_index(build / "index.html", results, headlines, monday, dataset.as_of)

    def moved(path: Path | None) -> Path | None:
        return None if path is None else final / path.name

    teams_done = tuple(replace(r, notebook=final / r.notebook.name, html=moved(r.html), json=moved(r.json)) for r in results)
    result = ReportResult(monday, final, final / "index.html", teams_done, time.perf_counter() - started)
    failed = f"; {len(result.failed)} of {len(chosen)} teams FAILED: {', '.join(result.failed)}" if result.failed else ""
    say(f"wrote {result.index} ({result.seconds:.1f} s){failed}")
    return result


def _run_team(
    team: str,
    stem: str,
    folder: Path,
    template: Path,
    parameters: dict[str, Any],
    headline: dict[str, Any] | str,
    monday: pd.Timestamp,
    kernel: _EncryptedKernelManager | None,
) -> TeamResult:
    """Execute the template for one team (in ``kernel``, or a new one), export the HTML,
    write the JSON. The kernel is shut down afterwards."""
    import papermill

    started = time.perf_counter()
    notebook, page, record = folder / f"{stem}.ipynb", folder / f"{stem}.html", folder / f"{stem}.json"
    error: str | None = None
    try:
        # Not papermill's cwd=: it changes the directory of the whole process (unsafe in
        # threads); the kernel's own directory is set where it starts.
        papermill.execute_notebook(
            str(template),
            str(notebook),
            parameters={**parameters, "team": team},
            kernel_name="python3",
            language="python",
            progress_bar=False,
            km=kernel,
            kernel_manager_class=_EncryptedKernelManager,
            resources={"metadata": {"path": str(template.parent)}},
        )
    except papermill.PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue} (at In [{exc.exec_count}])"
    except Exception as exc:  # noqa: BLE001 - a kernel that died or never started
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if kernel is not None:
            _stop_kernel(kernel)
    html_path: Path | None = None
    if notebook.exists():
        try:
            _export_html(notebook, page, f"{team}, week of {monday.date()}")
            html_path = page
        except Exception as exc:  # noqa: BLE001
            error = error or f"HTML export failed: {type(exc).__name__}: {exc}"
    json_path: Path | None = None
    if isinstance(headline, str):
        error = error or headline
    elif error is None:
        record.write_text(json.dumps(headline, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        json_path = record
    return TeamResult(team, error is None, time.perf_counter() - started, notebook, html_path, json_path, error)


_INDEX_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { padding: 0.4rem 0.8rem; border-bottom: 1px solid #ddd; text-align: right; vertical-align: top; }
th:first-child, td:first-child, th:last-child, td.links { text-align: left; }
.change { color: #666; font-size: 0.85em; }
.failed { color: #b00020; font-weight: bold; text-align: left; }
.note { color: #666; font-size: 0.85em; }
"""


def _write_index(
    path: Path,
    results: list[TeamResult],
    headlines: dict[str, dict[str, Any] | str],
    monday: pd.Timestamp,
    as_of: pd.Timestamp,
) -> None:
    """``index.html``: one row per team with this week's KPIs, the change and the links."""
    from salesx2lib import kpis, periods

    esc = html.escape
    head = "".join(f"<th>{esc(kpis.KPI_LABELS[k])}</th>" for k in kpis.KPIS)
    rows = []
    for r in results:
        links = [f'<a href="{esc(r.html.name)}">report</a>'] if r.html else []
        links.append(f'<a href="{esc(r.notebook.name)}">notebook</a>')
        if r.json:
            links.append(f'<a href="{esc(r.json.name)}">json</a>')
        name = f'<a href="{esc(r.html.name)}">{esc(r.team)}</a>' if r.html else esc(r.team)
        headline = headlines[r.team]
        if not r.ok:
            cells = f'<td class="failed" colspan="{len(kpis.KPIS)}">FAILED: {esc(r.error or "")}</td>'
        else:
            assert isinstance(headline, dict)
            cells = "".join(_index_cell(headline["kpis"][k]) for k in kpis.KPIS)
        rows.append(f'<tr><td>{name}</td>{cells}<td class="links">{" · ".join(links)}</td></tr>')
    failed = sum(not r.ok for r in results)
    status = f'<p class="failed">{failed} of {len(results)} team reports failed.</p>' if failed else ""
    title = f"Weekly report, week of {monday:%d %B %Y}"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<p>Monday {monday:%d %B %Y} to Sunday {periods.week_end(monday):%d %B %Y}; data as of {as_of:%d %B %Y %H:%M} UTC.
Each figure is this week's, with the change against the previous week below it.</p>
{status}
<table>
<thead><tr><th>Team</th>{head}<th>Files</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")


def _index_cell(kpi: dict[str, Any]) -> str:
    """This week's value and the change against the previous week, or the note."""
    from salesx2lib import kpis

    if kpi["this_week"] is None:
        return f'<td class="note">{html.escape(kpi["note"] or "–")}</td>'
    value = kpis.format_value(kpi["this_week"], kpi["unit"])
    change = kpis.format_value(kpi["change_vs_previous"], kpi["unit"], change=True)
    return f'<td>{html.escape(value)}<br><span class="change">{html.escape(change)} vs previous</span></td>'
