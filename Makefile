# The two Quickstart commands. Each creates the virtual environment on first use (VENV, default
# .venv; CI points it at a cache), installs bnn-flow with its dependencies, then runs.
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: run test lint clean

run: $(VENV)/.installed  ## the default workflow on the embedded dataset -> results/
	snakemake --cores $(CORES)

test: $(VENV)/.installed  ## the test suite (offline, CPU)
	python -m pytest -q

lint: $(VENV)/.installed  ## ruff (lint + format check) and snakemake --lint
	ruff check .
	ruff format --check .
	snakemake --lint

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf results/data results/runs results/tables results/figures results/logs results/benchmarks .snakemake
