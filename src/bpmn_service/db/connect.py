"""Engines for SQLite (embedded default) and PostgreSQL (production, several API processes)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# SQLite allows one writer at a time; serializing writers inside the process avoids busy waits
# and "database is locked" errors between threads.
SQLITE_WRITE_LOCK = threading.RLock()


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
        return create_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            # An error's log line must not carry the statement's parameters (form values).
            hide_parameters=True,
            pool_size=10,
            max_overflow=10,
            connect_args={"options": options},
        )
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


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
