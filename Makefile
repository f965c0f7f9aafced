# Two commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The releases the suite last passed with: a new upstream release cannot change what a
# fresh machine installs until `make lock` takes it in and `make test` passes on it.
CONSTRAINTS := constraints.txt

.PHONY: demo test install services lint typecheck unit integration e2e browser clean bench lock

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: broker :8000, Enedis simulator :8001, carbon coach :8002, on SQLite.
demo: install
	$(BIN)/aiguillage demo

## make test: lint, types, then the whole suite on SQLite, PostgreSQL and Chromium,
## one worker per core (pytest-xdist).
test: install services lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

## make bench: the broker against going direct (figures, targets, bench/results.json).
## Needs the PostgreSQL of `make services`; `make bench BENCH_ARGS=--quick` for a short run.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

services:
	bash scripts/test-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q tests/unit

## make lock: the newest releases pyproject.toml allows, resolved in a scratch venv and
## written to constraints.txt; run make test on them before committing the file.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[test]'
	{ sed -n '1,3p' $(CONSTRAINTS); echo "# Generated on $$(date -u +%F) (Python $$(.venv-lock/bin/python -c 'import sys; print(*sys.version_info[:2], sep=".")'))."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
