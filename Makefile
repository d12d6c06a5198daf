# Tenantgate — the one entry point. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help install demo test test-unit lint format bench profile ci clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with everything its tests need

demo: install ## Install, migrate, seed and run the whole system on embedded SQLite (Ctrl-C stops)
	$(BIN)/tenantgate demo

test: install ## The whole test suite (SQLite, and PostgreSQL when reachable; required in CI)
	$(BIN)/python -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	@# Sync Playwright cannot share a process with the asyncio tests: browsers run apart.
	@mkdir -p test-output
	$(BIN)/python -m pytest tests/browser --basetemp=test-output/browser-tmp $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install ## Ruff (lint + format check), mypy --strict, import-linter contracts
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

bench: install ## Benchmarks: prints a table and writes bench/results.json
	$(BIN)/python -m tenantgate.bench

profile: install ## py-spy profile of the identity server under load (SCENARIO=refresh|sso|select|login)
	$(BIN)/python -m tenantgate.bench.profile $(or $(SCENARIO),refresh)

ci: lint test ## What CI runs

clean: ## Remove the virtualenv, caches and demo data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tenantgate
