# make run   - start the service on 127.0.0.1:8000 (SQLite under var/, processes/ deployed)
# make test  - run the whole test suite (SQLite; PostgreSQL too when BPMN_TEST_POSTGRES_URL is set)
#              on one pytest-xdist worker per CPU core (WORKERS=0: in one process, no xdist)
# make check - ruff and mypy
# make lock  - regenerate the lock files after a change of dependencies in pyproject.toml
#              (make lock-upgrade: every package to its newest allowed version)
# (install needs Python >= 3.11 and Node.js >= 20 with npm; nothing is downloaded but packages)

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

# The web workspace (ui/) is built into the package and served at /ui: npm ci from the lockfile
# when it changed, the Vite build when a source changed.
UI_BUILD := src/bpmn_service/webui/index.html
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.js

# tools/moddle opens and saves BPMN files as Camunda Modeler does (the round-trip test uses it).
MODDLE := tools/moddle/node_modules/.package-lock.json

install: $(VENV)/.installed $(UI_BUILD) $(MODDLE)

$(MODDLE): tools/moddle/package.json tools/moddle/package-lock.json
	cd tools/moddle && npm ci --ignore-scripts --no-audit --no-fund

ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	cd ui && npm ci --ignore-scripts --no-audit --no-fund

$(UI_BUILD): ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run build

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

# Tests run in WORKERS parallel processes (pytest-xdist; auto: one per CPU core). loadgroup keeps
# the tests that share a module's server or browser on one worker (tests/conftest.py,
# SHARED_PER_MODULE) and hands out every other test singly, so the two cores stay busy to the end.
WORKERS ?= auto

test: install
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

check: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/lifecycle.py
