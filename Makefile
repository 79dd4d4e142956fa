# make run   - start the service on 127.0.0.1:8000 (SQLite under var/, processes/ deployed)
# make test  - run the whole test suite (SQLite; PostgreSQL too when BPMN_TEST_POSTGRES_URL is set)
# make check - ruff and mypy
# make lock  - regenerate the lock files after a change of dependencies in pyproject.toml
#              (make lock-upgrade: every package to its newest allowed version)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The service's dependencies, pinned with hashes: requirements.lock (what the Docker image runs)
# and requirements-dev.lock (the same pins plus the test and lint tools).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
COMPILE = CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: install run test check format bench lock lock-upgrade

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(DEV_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Keeps every pin that still satisfies pyproject.toml and resolves only what changed.
lock: install
	$(COMPILE) -o $(LOCK) pyproject.toml
	$(COMPILE) --extra dev -c $(LOCK) -o $(DEV_LOCK) pyproject.toml

# Moves every package to its newest allowed version (or only P=name, e.g. P=chinesecalendar).
lock-upgrade: install
	$(COMPILE) $(if $(P),--upgrade-package $(P),--upgrade) -o $(LOCK) pyproject.toml
	$(COMPILE) --extra dev $(if $(P),--upgrade-package $(P),--upgrade) -c $(LOCK) \
		-o $(DEV_LOCK) pyproject.toml

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
