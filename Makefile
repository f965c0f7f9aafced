# Two commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install services lint typecheck unit integration e2e browser clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
