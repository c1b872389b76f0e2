# maild: `make run` starts the daemon on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= config.example.toml
BIN := $(VENV)/bin

.PHONY: run test bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/maild serve -c $(CONFIG)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# BENCH_ARGS=--skip-large leaves out the 100,000-mail history (import, SMTP, console).
BENCH_ARGS ?=
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.sla_sweep
	$(BIN)/python -m bench.webhooks

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
