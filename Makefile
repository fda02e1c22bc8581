# One set of commands for people and CI. `make demo` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_OP := tests/op_node

.PHONY: install lint format test test-fast demo bench conformance clean system-deps

$(BIN)/oidc-rp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/oidc-rp

$(NODE_OP)/node_modules/.package-lock.json: $(NODE_OP)/package.json $(NODE_OP)/package-lock.json
	cd $(NODE_OP) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps:
	sh scripts/ensure-system-deps

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src tests

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install system-deps $(NODE_OP)/node_modules/.package-lock.json lint
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=90 tests

test-fast: install
	$(BIN)/pytest -x -q tests/core

demo: install
	$(BIN)/oidc-rp demo

bench: install $(NODE_OP)/node_modules/.package-lock.json
	$(BIN)/python bench/run.py

conformance: install
	$(BIN)/pytest -q tests/conformance --conformance-report=docs/conformance.md

clean:
	rm -rf $(VENV) $(NODE_OP)/node_modules .coverage htmlcov .mypy_cache .ruff_cache .pytest_cache
