"""Engines for SQLite (embedded default) and PostgreSQL (production, several API processes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError

# SQLite allows one writer at a time; serializing writers inside the process avoids busy waits
# and "database is locked" errors between threads.
SQLITE_WRITE_LOCK = threading.RLock()

# A PostgreSQL connection is pinged on checkout only when it sat in the pool longer than this
# (seconds). pool_pre_ping pinged at every checkout: a round trip plus two autocommit switches,
# about 13 % of the service layer's CPU of a claim, while under load a connection is taken again
# milliseconds after it came back. The risk left: a connection whose server end went away (a
# restart, a failover, an ended backend) in its last second in the pool fails its first
# statement, as one in use at that moment fails with any ping. SQLAlchemy then discards it, and
# every connection made before the failure at its next checkout; the call answers 503 with
# Retry-After (services/uow.py), and the retry gets a new connection.
IDLE_PING_SECONDS = 1.0
_RETURNED_AT = "bpmn_returned_at"  # time.monotonic() of the connect or the last checkin


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, echo)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        # A blocked row lock becomes a 503 with Retry-After instead of a hung request.
        options = "-c lock_timeout=10000 -c statement_timeout=60000"
        if schema:
            options += f" -c search_path={schema}"
        engine = create_engine(
            url,
            echo=echo,
            # An error's log line must not carry the statement's parameters (form values).
            hide_parameters=True,
            pool_size=10,
            max_overflow=10,
            # The connection returned last is taken first: under a moderate load the same few
            # stay busy (no ping, see IDLE_PING_SECONDS) and the others sit idle.
            pool_use_lifo=True,
            connect_args={"options": options},
        )
        _ping_when_idle(engine)
        return engine
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it sat idle over IDLE_PING_SECONDS (the
    pessimistic disconnect handling of SQLAlchemy's pool events, instead of pool_pre_ping)."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at <= IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool closes this connection and checks out a new one. A lost server (as
            # pool_pre_ping decides) also marks the pool's other connections stale.
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"pooled connection lost: {exc}") from exc
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _sqlite_engine(url: str, database: str | None, echo: bool) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
