# The two commands of the README. Everything is installed into .venv; nothing global.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Kernels started by papermill and nbval must find the venv's python first.
export PATH := $(abspath $(BIN)):$(PATH)
export TQDM_DISABLE := 1

.PHONY: report test package-check mutate clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## report: the weekly report of the sample data (latest complete week) for every team
report: $(STAMP)
	$(BIN)/salesx2 report data/sample --out reports --overwrite --jobs 2

## test: the whole suite: unit and property tests, report runs, every notebook
test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

## package-check: build a wheel, install it into a fresh venv, write one team's report (run by CI)
package-check:
	PYTHON=$(PYTHON) bash scripts/check_package.sh

## mutate: mutation testing of the analytic core (slow; not part of `make test`).
##   MODULE=salesx2lib/stats.py runs one module. Writes the summary to docs/mutation.md.
MUTATE_STAMP := $(VENV)/.mutate-stamp
$(MUTATE_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(BIN)/python scripts/mutation.py $(MODULE)

clean-venv:
	rm -rf $(VENV)
