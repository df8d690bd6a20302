# Everyday commands. CI (.ci/run) runs `make lint` and the README's test command.
PYTHON ?= python3

.PHONY: lint format test test-fast bench-smoke

lint:  ## formatting, lint rules, types, layer contracts
	ruff format --check sandbox tests bench fixtures
	ruff check sandbox tests bench fixtures
	mypy
	lint-imports

format:
	ruff format sandbox tests bench fixtures
	ruff check --fix sandbox tests bench fixtures

test:  ## the whole suite (what CI runs): about 6 minutes on 2 cores
	$(PYTHON) -m pytest

test-fast:  ## the fast tier: unit tests and in-process router tests, under 30 s
	$(PYTHON) -m pytest tests/unit -n 0

bench-smoke:  ## the benchmark harness in under a minute (prints its table; no timing is asserted)
	$(PYTHON) bench/run.py --quick
