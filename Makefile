# make run   - start the service on 127.0.0.1:8000 (SQLite under var/, processes/ deployed)
# make test  - run the whole test suite (SQLite; PostgreSQL too when BPMN_TEST_POSTGRES_URL is set)
# make check - ruff and mypy

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test check format bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/bpmn-service serve

test: install
	$(BIN)/pytest

check: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/lifecycle.py
