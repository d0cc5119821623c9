# The two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export CLEW_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint unit bench docs clean install test-compat-mlflow ui ui-test

# The web UI (ui/, React + Vite) builds into src/clew/server/ui_dist, which is never committed.
UI_DEPS := ui/node_modules/.installed
UI_BUILD := src/clew/server/ui_dist/index.html
UI_SOURCES := $(shell find ui/src ui/index.html ui/vite.config.ts ui/tsconfig.json ui/package.json -type f 2>/dev/null)

$(UI_DEPS): ui/package.json ui/package-lock.json
	npm --prefix ui ci --no-audit --no-fund --loglevel=error
	touch $(UI_DEPS)

$(UI_BUILD): $(UI_DEPS) $(UI_SOURCES)
	npm --prefix ui run build --silent

ui: $(UI_BUILD)

ui-test: $(UI_DEPS)
	npm --prefix ui test --silent

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) $(UI_BUILD)
	$(BIN)/python -m clew.demo

lint: $(STAMP) $(UI_DEPS)
	npm --prefix ui run typecheck --silent
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Tests run on every core (pytest-xdist); PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto

unit: $(STAMP) $(UI_BUILD)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The MLflow compatibility suite against a real MLflow server instead of Clew: proves the suite
# asserts MLflow's behaviour. Tests of what only Clew adds skip.
test-compat-mlflow: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests/server/mlflow_compat --against-mlflow

test: lint ui-test unit

bench: $(STAMP)
	$(BIN)/python bench/tracking_vs_mlflow.py
	$(BIN)/python bench/registry_vs_mlflow.py

docs: $(STAMP)
	$(BIN)/typer clew.cli.main utils docs --name clew --output docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ui/node_modules src/clew/server/ui_dist
