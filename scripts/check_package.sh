#!/usr/bin/env bash
# The package as users install it: build a wheel (no editable install, no source tree),
# install it into a fresh virtual environment and write one team's weekly report with it,
# from a folder outside the source tree. Run by .ci/run after `make test` (`make package-check`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="${PYTHON:-python3}"

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root"
wheel="$(ls "$work"/dist/salesx2lib-*.whl)"
"$python" -c "import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist(); \
sys.exit(0 if 'salesx2lib/templates/weekly_report.ipynb' in names else 'the wheel lacks the report template')" "$wheel"

"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$wheel"
cp -r "$root/data/sample" "$work/sample"
cd "$work"  # nothing of the source tree on the path
# papermill's kernel must be the new environment's python
PATH="$work/venv/bin:$PATH" TQDM_DISABLE=1 "$work/venv/bin/salesx2" report sample --out reports \
    --team Atlas --week 2026-11-16
test -s reports/2026-11-16/Atlas.html && test -s reports/2026-11-16/Atlas.json \
    || { echo "check_package: no report written" >&2; ls -R reports >&2; exit 1; }
"$work/venv/bin/python" -c "import salesx2lib, sys; p = salesx2lib.__file__; sys.exit(0 if 'site-packages' in p else f'imported from {p}')"
echo "check_package: a wheel install wrote the Atlas report of the week of 2026-11-16"
