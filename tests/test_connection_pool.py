"""PostgreSQL connections: the pool pings a connection only when it sat idle (db/connect.py), so a
connection whose server end went away while idle is replaced on checkout and a busy pool pays no
ping; a lost connection that was not pinged answers a retryable 503, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from bpmn_service.context import AppContext
from bpmn_service.db import connect
from bpmn_service.errors import Busy
from bpmn_service.services.uow import UnitOfWork
from conftest import DATA, Api

APPROVAL = DATA / "approval.bpmn"


@pytest.fixture
def engine(postgres_database: tuple[str, str | None, Engine]) -> Iterator[Engine]:
    """An engine of its own (its own pool) on the test database."""
    url, schema, _shared = postgres_database
    own = connect.make_engine(url, schema=schema)
    yield own
    own.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def terminate(engine: Engine, pids: list[int]) -> None:
    """End these backends from another connection and wait until they are gone."""
    url = engine.url.set(query={})  # without the engine's options
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            left = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
            while connection.execute(left, {"pids": pids}).scalar_one():
                assert time.monotonic() < deadline, "the backends did not end"
                time.sleep(0.01)
    finally:
        admin.dispose()


def terminate_pooled(engine: Engine) -> list[int]:
    """End the backend of every connection that waits in the engine's pool."""
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    with ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(pool.checkedin())]
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in connections]
    terminate(engine, pids)
    return pids


def count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    do_ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return do_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_idle_past_the_threshold_whose_backend_ended_is_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(engine, monkeypatch)
    pid = backend_pid(engine)
    terminate(engine, [pid])
    monkeypatch.setattr(connect, "IDLE_PING_SECONDS", 0.05)
    time.sleep(0.1)
    replaced = backend_pid(engine)  # the ping fails, the pool connects anew
    assert replaced != pid
    assert pings  # (test_a_connection_back_within_the_threshold_is_not_pinged: nor a fresh one)
    assert backend_pid(engine) == replaced


def test_a_connection_back_within_the_threshold_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connect, "IDLE_PING_SECONDS", 60.0)  # no stall of a busy machine counts
    pings = count_pings(engine, monkeypatch)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    pids = {backend_pid(engine) for _ in range(20)}
    assert len(pids) == 1  # one pooled connection, taken 20 times
    assert pings == []  # a fresh connection is not pinged either
    assert len(statements) == 20
    monkeypatch.setattr(connect, "IDLE_PING_SECONDS", 0.0)
    assert backend_pid(engine) in pids
    assert len(pings) == 1


def test_a_lost_connection_within_the_threshold_fails_once_then_the_pool_reconnects(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the threshold leaves: no ping, the first statement fails and SQLAlchemy
    invalidates the pool; the next checkout connects anew."""
    monkeypatch.setattr(connect, "IDLE_PING_SECONDS", 3600.0)
    pid = backend_pid(engine)
    terminate(engine, [pid])
    with pytest.raises(OperationalError) as failed:
        backend_pid(engine)
    assert failed.value.connection_invalidated
    assert backend_pid(engine) != pid


@pytest.mark.parametrize("autocommit", [False, True], ids=["transaction", "autocommit"])
def test_a_connection_lost_in_a_unit_of_work_is_busy(engine: Engine, autocommit: bool) -> None:
    """Busy is the API's 503 with Retry-After; the retry gets a new connection."""
    ctx = cast(AppContext, SimpleNamespace(engine=engine, sessions=sessionmaker(engine)))
    with pytest.raises(Busy, match="connection was lost"):
        with UnitOfWork(ctx, autocommit=autocommit) as uow:
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            terminate(engine, [pid])
            uow.session.execute(text("SELECT 1"))
    assert backend_pid(engine) != pid


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize("idle", [True, False], ids=["idle", "within-threshold"])
def test_the_api_after_every_pooled_connection_was_ended(
    api: Api,
    database: tuple[str, str | None, Engine],
    monkeypatch: pytest.MonkeyPatch,
    idle: bool,
) -> None:
    """Idle connections are pinged and replaced: the first call succeeds. Connections back within
    the threshold are not: the first call answers 503 with Retry-After; then calls succeed."""
    api.deploy(APPROVAL)
    started = api.start("approval", "POOL-1", {"amount": 5})
    assert started.status_code == 201
    task_id = started.json()["tasks"][0]["id"]
    assert terminate_pooled(database[2])
    monkeypatch.setattr(connect, "IDLE_PING_SECONDS", 0.0 if idle else 3600.0)
    first = api.claim(task_id, "admin")
    if idle:
        assert first.status_code == 200, first.text
    else:
        assert first.status_code == 503, first.text
        assert first.headers["retry-after"] == "1"
        assert first.json()["code"] == "busy"
        assert api.claim(task_id, "admin").status_code == 200
    assert api.get(f"/tasks/{task_id}").json()["assignee"] == "admin"
    assert api.tasks("admin").status_code == 200
