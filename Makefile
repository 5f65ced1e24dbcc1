# Two commands from a fresh machine (Python 3.10+, Node 18+, npm):
#   make synth   installs everything, then synthesizes examples/app.py into cdk.out/ with the pinned cdk CLI
#   make test    installs everything, then runs ruff, mypy and the whole test suite
#   make bench   the benchmarks of bench/ (about two minutes), printed as markdown
#   make bench-check   round trips, synth ratios and template bytes against bench/baseline.json (QUICK=1: no timing)
#   make docs    the API reference from the docstrings (pdoc), into docs/api/ (test_api_reference.py checks it)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: install synth test lint bench bench-check docs clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: install
	npx --no-install cdk synth --no-notices --quiet --output cdk.out
	@echo "synthesized: $$(ls cdk.out/*.template.json)"

lint: install
	$(PY) -m ruff check src test examples bench
	$(PY) -m ruff format --check src test examples bench
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

# Issue 18's figures against their targets and bench/baseline.json; non-zero exit on a regression (QUICK=1: round
# trips and template bytes only, about a minute).
bench-check: install
	$(PY) bench/perf.py --check $(if $(QUICK),--quick)

# pdoc imports the package, and importing aws-cdk-lib starts its Node.js runtime (jsii): PDOC_ALLOW_EXEC lets it.
docs: install
	rm -rf docs/api
	PDOC_ALLOW_EXEC=1 $(PY) -m pdoc --docformat restructuredtext --output-directory docs/api cdk_processing
	@echo "API reference: docs/api/index.html"

clean:
	rm -rf $(VENV) node_modules cdk.out docs/api .pytest_cache .mypy_cache .ruff_cache
