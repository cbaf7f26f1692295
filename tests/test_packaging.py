"""The project files agree with each other: environment.yml lists pyproject's dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normal(spec: str) -> tuple[str, frozenset[str], str]:
    req = Requirement(spec)
    return req.name.lower(), frozenset(req.extras), str(req.specifier)


def _environment_pip() -> list[str]:
    lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    specs = []
    for line in lines[start + 1 :]:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not text.startswith("- "):
            break
        spec = text[2:].strip()
        if not spec.startswith("-"):  # skip pip options such as "--no-deps -e ."
            specs.append(spec)
    return specs


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expected = {_normal(s) for s in project["dependencies"] + project["optional-dependencies"]["test"]}
    listed = {_normal(s) for s in _environment_pip()}
    assert listed == expected, (
        f"only in pyproject.toml: {sorted(expected - listed)}; only in environment.yml: {sorted(listed - expected)}"
    )


def test_environment_yml_installs_the_project_itself():
    assert any("-e ." in line for line in (ROOT / "environment.yml").read_text().splitlines())


def test_console_script_points_at_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["salesx2"] == "salesx2lib.cli:main"


def test_every_package_data_pattern_matches_a_file():
    """A pattern that matches nothing ships nothing (``templates/*`` once did)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["salesx2lib"]
    empty = [p for p in patterns if not list((ROOT / "salesx2lib").glob(p))]
    assert not empty, f"package-data patterns matching no file: {empty}"


def test_the_build_copies_the_report_template_that_exists():
    """setup.py copies notebooks/weekly_report.ipynb into the wheel; the sdist includes it."""
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert 'Path("notebooks") / "weekly_report.ipynb"' in setup
    assert (ROOT / "notebooks" / "weekly_report.ipynb").is_file()
    assert "include notebooks/weekly_report.ipynb" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
