"""PostgreSQL connections that are lost: a lost connection answers a retryable 503, never a
500, and the pool connects anew."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from bpmn_service.context import AppContext
from bpmn_service.db import connect
from bpmn_service.errors import Busy
from bpmn_service.services.uow import UnitOfWork


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


def test_a_connection_lost_in_a_unit_of_work_is_busy(engine: Engine) -> None:
    """Busy is the API's 503 with Retry-After; the retry gets a new connection."""
    ctx = cast(AppContext, SimpleNamespace(engine=engine, sessions=sessionmaker(engine)))
    with pytest.raises(Busy, match="connection was lost"):
        with UnitOfWork(ctx) as uow:
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            terminate(engine, [pid])
            uow.session.execute(text("SELECT 1"))
    assert backend_pid(engine) != pid
