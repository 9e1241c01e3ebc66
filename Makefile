# Two commands do all the set-up: `make run` (the bot on embedded defaults) and `make test`.
# `make run` installs what the bot needs and nothing else; `make test` adds the `dev` extra
# (pytest, ruff, mypy, matrix-synapse for the Matrix tests). Each has its stamp, so neither
# reinstalls what the other installed, and both reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PACKAGES := bot handlers storage schedules

.PHONY: run test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime dependencies only (pyproject.toml [project] dependencies).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# The runtime dependencies and the dev extra; that includes everything `make run` needs.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP) $(RUN_STAMP)

## run: the bot with SQLite in ./data, the console chat and the example municipality
run: $(RUN_STAMP)
	$(BIN)/regelkreis run --demo

## test: lint, type check and the whole test suite (SQLite and PostgreSQL)
test: $(DEV_STAMP) lint typecheck
	scripts/ensure-postgres
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES)
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

## bench: the benchmark table (1k, 10k, 100k measures on SQLite and PostgreSQL)
bench: $(DEV_STAMP)
	scripts/ensure-postgres
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
