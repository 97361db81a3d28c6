# `make demo` and `make test` work on a fresh clone: each installs what it needs first.
PYTHON ?= python3
BIN := .venv/bin

.PHONY: install demo test bench bench-booking bench-live

.venv/installed: pyproject.toml
	$(PYTHON) -m venv .venv
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: .venv/installed

demo: install
	$(BIN)/slotwise demo

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.availability

bench-booking: install
	$(BIN)/python -m bench.booking

bench-live: install
	$(BIN)/python -m bench.live
