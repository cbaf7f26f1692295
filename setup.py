"""Build hook: ship the weekly report template inside the package.

The template is ``notebooks/weekly_report.ipynb``: users open it there, and it stays the
one copy in the source tree. A wheel (``pip install .``) has no ``notebooks/`` folder, so
the build copies the notebook to ``salesx2lib/templates/weekly_report.ipynb`` in the
wheel, where ``salesx2lib.report.default_template`` finds it. An editable install
(``pip install -e .``) reads the notebook from the source tree and copies nothing.
Everything else about the build is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE = Path("notebooks") / "weekly_report.ipynb"


class BuildWithTemplate(build_py):
    """``build_py`` that also copies the report template into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "salesx2lib" / "templates"
        self.mkpath(str(target))
        self.copy_file(str(TEMPLATE), str(target / TEMPLATE.name))


setup(cmdclass={"build_py": BuildWithTemplate})
