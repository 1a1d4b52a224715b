# Everything a developer runs. Environments are created on first use from the project's own files.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# sam build runs pip for the functions' runtime (python3.13): an installed pyenv 3.13 (the real binary,
# not pyenv's shim, which needs PYENV_VERSION), else a python3.13 on PATH.
PYTHON313 := $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1)
PYTHON313 := $(or $(PYTHON313),$(shell command -v python3.13 2>/dev/null))
PYTHON313_DIR := $(if $(PYTHON313),$(patsubst %/,%,$(dir $(PYTHON313))))

# The console's browser tests drive this Chromium (Debian's package); without it they are skipped.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.PHONY: help run test lint typecheck template pytest build bench fuzz screenshots clean

help:
	@echo "make run    - the whole service on http://127.0.0.1:$${PORT:-3000} (API, worker, sweeper)"
	@echo "make test   - ruff, mypy, cfn-lint, sam validate --lint, pytest"
	@echo "make build  - sam build (no Docker)"
	@echo "make bench  - DynamoDB reads per call, cold start, latency, write units; writes docs/benchmarks.md"
	@echo "make fuzz   - schemathesis against the local server's OpenAPI document, every check"
	@echo "make screenshots - the console's pictures in docs/console/, taken by its browser tests"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

$(TOOLS)/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet -r requirements-tools.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m localrun

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/shared/workflowsvc localrun bench

template: $(TOOLS)/.installed
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --template template.yaml

pytest: $(VENV)/.installed
	@test -x "$(CHROMIUM_PATH)" || echo "*** SKIPPING the console's browser tests: no Chromium at $(CHROMIUM_PATH) (apt-get install -y chromium) ***"
	$(PY) -m pytest

test: lint typecheck template pytest

# Lambda's file system is read-only, so modules shipped without bytecode are compiled on every cold start;
# hash-based .pyc files stay valid whatever time stamps the zip gives the sources.
build: $(TOOLS)/.installed
	@test -n "$(PYTHON313_DIR)" || { echo "sam build needs python3.13 on PATH (the functions' runtime)"; exit 1; }
	PATH="$(PYTHON313_DIR):$$PATH" $(TOOLS)/bin/sam build --template template.yaml
	$(PYTHON313) -m compileall -q -f -j 0 --invalidation-mode unchecked-hash .aws-sam/build

bench: $(VENV)/.installed
	$(PY) -m bench

# FUZZ_ARGS: e.g. --max-examples 300 --seed 1
fuzz: $(VENV)/.installed
	$(PY) -m localrun.fuzz $(FUZZ_ARGS)

screenshots: $(VENV)/.installed
	CONSOLE_SCREENSHOTS=docs/console $(PY) -m pytest -q tests/e2e/console

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
