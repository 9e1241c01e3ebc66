# Two commands do all the set-up: `make run` (the bot on embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := bot handlers storage schedules

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: the bot with SQLite in ./data, the console chat and the example municipality
run: $(STAMP)
	$(BIN)/regelkreis run --demo

## test: lint, type check and the whole test suite (SQLite and PostgreSQL)
test: $(STAMP) lint typecheck
	scripts/ensure-postgres
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES)

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: the benchmark table (1k, 10k, 100k measures on SQLite and PostgreSQL)
bench: $(STAMP)
	scripts/ensure-postgres
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
