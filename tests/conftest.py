"""Fixtures: API tests run on SQLite and, when BPMN_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import fields
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.db.connect import make_engine
from bpmn_service.db.migrate import upgrade
from bpmn_service.db.models import Base
from bpmn_service.engine import traversal, warm
from bpmn_service.main import create_app
from bpmn_service.simulation.jobs import WhatIfLauncher

# Every answer the engine takes from its task index is checked against SpiffWorkflow's own walk
# of the task tree, in every test that runs an instance in this process.
traversal.VERIFY = True
# Every workflow a call takes warm instead of loading is checked against the stored state.
warm.VERIFY = True

# The web workspace tests' server and browser fixtures.
pytest_plugins = ["workspace_browser"]

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("BPMN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]

# Demo tokens from config/users.toml, by user id.
TOKENS = {
    "admin": "demo-admin",
    "analyst": "demo-analyst",
    "clerk": "demo-clerk",
    "clerk2": "demo-clerk2",
    "specialist": "demo-specialist",
    "planner": "demo-planner",
    "devplan": "demo-devplan",
    "om": "demo-om",
    "dispatcher": "demo-dispatcher",
    "leader": "demo-leader",
    "inspector": "demo-inspector",
    "meterman": "demo-meterman",
    "archivist": "demo-archivist",
    "manager": "demo-manager",
    "pm": "demo-pm",
    "service": "demo-service",
    "portal": "demo-portal",
    "contractor": "demo-contractor",
    "worker": "demo-worker",
}


# Modules whose tests share a module-scoped fixture that is dear to build: a `bpmn-service serve`
# process with Chromium (workspace_browser), the fuzzers' seeded apps and schemas, the Modeler
# round trip of every model. Under xdist (`make test`: --dist loadgroup) each runs on one worker,
# so the fixture is built once; these groups are handed out first, then every other test singly.
SHARED_PER_MODULE = (
    "tests/test_workspace_*.py",
    "tests/test_schemathesis.py",
    "tests/test_engine_rest_fuzz.py",
    "tests/engine/test_modeler_round_trip.py",
)


# Modules of single tests that take seconds each (simulations, migration sweeps, long loops). They
# run first, right after the groups above: handed out last, one of them would keep a worker busy
# while the other has nothing left to do.
LONG_FIRST = (
    "tests/test_simulation*.py",
    "tests/engine/test_migration_sweep.py",
    "tests/engine/test_compaction.py",
    "tests/test_streamlined_migration.py",
    "tests/test_process_edits.py",
)


@pytest.hookimpl(trylast=True)  # after pytest has ordered the tests by their fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def long(item: pytest.Item) -> bool:
        return any(fnmatch(item.nodeid.split("::", 1)[0], p) for p in LONG_FIRST)

    items[:] = [i for i in items if long(i)] + [i for i in items if not long(i)]


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent with -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadgroup, grouping the SHARED_PER_MODULE modules by module. (xdist's own grouping
    by xdist_group marks rewrites the test ids in a way pytest 9.2 no longer takes.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedModules(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if any(fnmatch(module, pattern) for pattern in SHARED_PER_MODULE):
                return module
            return str(super()._split_scope(nodeid))

    return SharedModules(config, log)


@pytest.fixture(scope="session")
def sqlite_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str | None, Engine]]:
    """A migrated SQLite file in this session's temporary directory (one per xdist worker)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, None, engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[tuple[str, str | None, Engine]]:
    """A migrated schema of its own on BPMN_TEST_POSTGRES_URL (one per xdist worker)."""
    if not POSTGRES_URL:
        if os.environ.get("BPMN_REQUIRE_POSTGRES"):
            pytest.fail("BPMN_REQUIRE_POSTGRES is set but BPMN_TEST_POSTGRES_URL is not")
        pytest.skip("BPMN_TEST_POSTGRES_URL is not set")
    schema = f"bpmn_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, schema=schema)
    upgrade(engine)
    yield POSTGRES_URL, schema, engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest) -> tuple[str, str | None, Engine]:
    """A migrated database per backend, shared by the session and emptied before each test. The
    backends' own fixtures outlive a switch of parameter, so a worker that runs a module's SQLite
    tests, then its PostgreSQL tests, then the next module's migrates each database once."""
    backend: tuple[str, str | None, Engine] = request.getfixturevalue(f"{request.param}_database")
    return backend


def empty(engine: Engine) -> None:
    # calendar_day is reference data, rewritten at start-up only when the calendar file changes.
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "calendar_day"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


def app_settings(url: str, schema: str | None = None, *, migrate: bool = True) -> Settings:
    """The service's settings for an in-process test app: the repository's configuration, nothing
    deployed at start, and no background work (timers and external tasks are driven by the test).
    migrate=False: the database is already at the newest migration, and the app does not check
    again at each start (real servers and tests/test_migrations.py cover migrating at start)."""
    return Settings(
        database_url=url,
        database_schema=schema,
        users_file=ROOT / "config" / "users.toml",
        processes_dir=ROOT / "processes",
        registry_file=ROOT / "config" / "construction-units.toml",
        calendar_file=ROOT / "config" / "calendar.toml",
        time_limits_file=ROOT / "config" / "time-limits.toml",
        simulation_scenario_file=ROOT / "config" / "simulation.toml",
        deploy_on_start=False,
        migrate_on_start=migrate,
        timer_poll_seconds=0,
        reference_workers=False,
    )


@pytest.fixture
def settings(database: tuple[str, str | None, Engine]) -> Settings:
    url, schema, _engine = database
    return app_settings(url, schema, migrate=False)  # the database fixture has migrated it


class Api:
    """A test client that speaks as one of the demo users."""

    def __init__(self, client: TestClient, ctx: AppContext) -> None:
        self.client = client
        self.ctx = ctx

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[user]}"} if user else {}

    def get(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(user), **kw)

    def post(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers(user), **kw)

    def deploy(self, *paths: Path, user: str = "analyst") -> Any:
        files = [("files", (p.name, p.read_bytes(), "application/xml")) for p in paths]
        return self.post("/deployments", user, files=files)

    def deploy_bytes(self, name: str, content: bytes, user: str = "analyst") -> Any:
        return self.post(
            "/deployments", user, files=[("files", (name, content, "application/xml"))]
        )

    def start(
        self, key: str, business_key: str, variables: dict[str, Any], user: str = "clerk"
    ) -> Any:
        return self.post(
            f"/process-definitions/{key}/instances",
            user,
            json={"business_key": business_key, "variables": variables},
        )

    def tasks(self, user: str, **params: Any) -> Any:
        return self.get("/tasks", user, params=params)

    def claim(self, task_id: str, user: str) -> Any:
        return self.post(f"/tasks/{task_id}/claim", user)

    def complete(self, task_id: str, user: str, variables: dict[str, Any]) -> Any:
        return self.post(f"/tasks/{task_id}/complete", user, json={"variables": variables})

    def open_tasks(self, instance_id: str) -> list[dict[str, Any]]:
        body = self.get(f"/process-instances/{instance_id}").json()
        return list(body["tasks"])


class SharedApp:
    """One context, app and client per database and worker, renewed for every test.

    Building an app costs more than most API tests (FastAPI works out every route of an app on its
    first requests), so the tests of a worker share one. Isolation is kept where the state lives:
    the database is emptied before each test, and the context, which the app and everything
    create_app wired reach by reference, gets every field of a freshly created one."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.client: TestClient | None = None

    def renew(self, fresh: AppContext) -> AppContext:
        for f in fields(AppContext):
            setattr(self.ctx, f.name, getattr(fresh, f.name))
        return self.ctx

    def started(self) -> TestClient:
        if self.client is None:
            self.client = TestClient(create_app(ctx=self.ctx))
            self.client.__enter__()
        self.client.cookies.clear()
        return self.client

    def stop(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def shared_apps() -> Iterator[dict[str, SharedApp]]:
    apps: dict[str, SharedApp] = {}
    yield apps
    for shared in apps.values():
        shared.stop()


@pytest.fixture
def app_ctx(
    settings: Settings,
    database: tuple[str, str | None, Engine],
    shared_apps: dict[str, SharedApp],
) -> AppContext:
    """A new context on the emptied database (the same object as the shared app's, renewed)."""
    empty(database[2])
    fresh = AppContext.create(settings, engine=database[2])
    shared = shared_apps.setdefault(f"{database[0]}#{database[1]}", SharedApp(fresh))
    return shared.renew(fresh)


@pytest.fixture
def api(
    app_ctx: AppContext,
    database: tuple[str, str | None, Engine],
    shared_apps: dict[str, SharedApp],
) -> Iterator[Api]:
    client = shared_apps[f"{database[0]}#{database[1]}"].started()
    # What create_app wires in for a context without one: a what-if launcher, one per test so
    # that a job a test leaves running ends with it.
    launcher = WhatIfLauncher(app_ctx)
    app_ctx.launch_simulation = launcher
    try:
        yield Api(client, app_ctx)
    finally:
        launcher.shutdown()
