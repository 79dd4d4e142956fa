"""Unit of work: one transaction, rolled back unless committed; DB errors become domain errors."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bpmn_service.context import AppContext
from bpmn_service.db.connect import SQLITE_WRITE_LOCK, is_sqlite
from bpmn_service.errors import Busy, StaleVersion

from . import telemetry

AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
LOCK_ERRORS = (
    "database is locked",
    "lock timeout",
    "could not obtain lock",
    "deadlock detected",
    "canceling statement due to lock timeout",
)


class UnitOfWork:
    """`with UnitOfWork(ctx, write=True) as uow: ...; uow.commit()`.

    `autocommit=True` (PostgreSQL): no transaction, each statement commits by itself, which
    saves the round trips of BEGIN and COMMIT (or ROLLBACK). Only for a use case whose writes
    are one statement (a claim, db/claims.py). `reads=True`: a use case that only reads, in
    autocommit on PostgreSQL. Each statement reads its own snapshot then, as every statement of a
    READ COMMITTED transaction (PostgreSQL's default) does anyway."""

    session: Session

    def __init__(
        self,
        ctx: AppContext,
        *,
        write: bool = False,
        autocommit: bool = False,
        reads: bool = False,
    ) -> None:
        if autocommit and is_sqlite(ctx.engine):
            raise ValueError("SQLite units of work are transactions")
        self.ctx = ctx
        self._locked = write and is_sqlite(ctx.engine)
        self._autocommit = autocommit or (reads and not is_sqlite(ctx.engine))

    def __enter__(self) -> Self:
        if self._locked:
            SQLITE_WRITE_LOCK.acquire()
        self.session = self.ctx.sessions()
        if self._autocommit:
            # The unit's one connection, taken now with the option (an engine with the option
            # costs more per call: its events are looked up through the engine's).
            try:
                self.session.connection(execution_options=AUTOCOMMIT)
            except BaseException as exc:
                # As an error of the block's first statement: the session closed, a lost
                # connection answered as busy.
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            # close() rolls back anything uncommitted and detaches objects without expiring them,
            # so results stay readable after the block.
            telemetry.discarded(self.session)
            self.session.close()
        finally:
            if self._locked:
                SQLITE_WRITE_LOCK.release()
        if isinstance(exc, OperationalError) and _is_lock_error(exc):
            raise Busy("the database is busy; retry the request") from exc
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The connection was lost (the server restarted, or the backend was ended): SQLAlchemy
            # has discarded it and marked the pool's older connections stale, so a retry gets a
            # new one. A lost COMMIT may have been applied; a retry with the same
            # Idempotency-Key gives the stored answer.
            raise Busy("the database connection was lost; retry the request") from exc

    def commit(self) -> None:
        if self._autocommit:
            # Each statement committed as it ran; the connection stays the unit's.
            self.flush()
            telemetry.committed(self.session)
            return
        try:
            self.session.commit()
            telemetry.committed(self.session)
        except StaleDataError:
            raise StaleVersion("the instance was changed by another request; retry") from None
        except OperationalError as exc:
            if _is_lock_error(exc):
                raise Busy("the database is busy; retry the request") from exc
            raise

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError:
            raise StaleVersion("the instance was changed by another request; retry") from None


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(marker in text for marker in LOCK_ERRORS)


__all__ = ["IntegrityError", "UnitOfWork"]
