# The two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export CLEW_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint unit bench docs clean install test-compat-mlflow

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m clew.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Tests run on every core (pytest-xdist); PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto

unit: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The MLflow compatibility suite against a real MLflow server instead of Clew: proves the suite
# asserts MLflow's behaviour. Tests of what only Clew adds skip.
test-compat-mlflow: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests/server/mlflow_compat --against-mlflow

test: lint unit

bench: $(STAMP)
	$(BIN)/python bench/tracking_vs_mlflow.py
	$(BIN)/python bench/registry_vs_mlflow.py

docs: $(STAMP)
	$(BIN)/typer clew.cli.main utils docs --name clew --output docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
