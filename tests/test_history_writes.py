"""History rows are noted during a transaction and written in one statement when it commits: in
the order noted, none from a rolled-back savepoint or transaction; on PostgreSQL in the same
statement as the instance's new state, with its row-version check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import HistoryEvent, ProcessInstance
from bpmn_service.errors import Conflict, StaleVersion
from bpmn_service.services import projection
from bpmn_service.services.uow import UnitOfWork

DATA = Path(__file__).resolve().parent / "data"

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _note(session: Session, instance: ProcessInstance, event_type: str) -> None:
    projection.record(session, instance, event_type, at=AT, actor="clerk")


def _types(app_ctx: AppContext, instance_id: str) -> list[str]:
    with app_ctx.sessions() as session:
        return list(
            session.scalars(
                select(HistoryEvent.type)
                .where(HistoryEvent.instance_id == instance_id)
                .order_by(HistoryEvent.id)
            )
        )


def test_rows_are_written_at_commit_in_order_without_rolled_back_savepoints(
    app_ctx: AppContext,
) -> None:
    instance = ProcessInstance(id="history-order")
    with app_ctx.sessions() as session:
        _note(session, instance, "first")
        try:
            with session.begin_nested():
                _note(session, instance, "inside_a_failed_savepoint")
                raise Conflict("the savepoint is rolled back")
        except Conflict:
            pass
        with session.begin_nested():
            _note(session, instance, "inside_a_released_savepoint")
        _note(session, instance, "last")
        # Nothing is written before the commit: one statement for the transaction's rows.
        assert _types(app_ctx, instance.id) == []
        statements: list[str] = []

        def count(_conn: object, _cursor: object, text: str, *_args: object) -> None:
            statements.append(text.split(None, 1)[0].upper())

        event.listen(app_ctx.engine, "before_cursor_execute", count)
        try:
            session.commit()
        finally:
            event.remove(app_ctx.engine, "before_cursor_execute", count)
        assert statements == ["INSERT"]
    assert _types(app_ctx, instance.id) == ["first", "inside_a_released_savepoint", "last"]


def test_a_rolled_back_transaction_leaves_nothing_for_the_next_commit(
    app_ctx: AppContext,
) -> None:
    instance = ProcessInstance(id="history-rollback")
    with app_ctx.sessions() as session:
        _note(session, instance, "rolled_back")
        session.rollback()
        _note(session, instance, "committed")
        session.commit()
        _note(session, instance, "closed_without_commit")
    with app_ctx.sessions() as session:
        session.commit()
    assert _types(app_ctx, instance.id) == ["committed"]


def _started(api: Any) -> str:
    assert api.deploy(DATA / "parallel_candidates.bpmn").status_code == 201
    started = api.start("parallel_candidates", "HW-1", {})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _counting() -> tuple[list[str], Any]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        statements.append(text.split(None, 1)[0].upper())

    return statements, count


def test_the_instance_state_is_written_with_the_history_rows(api: Any, app_ctx: AppContext) -> None:
    instance_id = _started(api)
    with app_ctx.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        version = instance.row_version
        instance.category = "probed"
        _note(session, instance, "probe")
        statements, count = _counting()
        event.listen(app_ctx.engine, "before_cursor_execute", count)
        try:
            session.commit()
        finally:
            event.remove(app_ctx.engine, "before_cursor_execute", count)
        # PostgreSQL: one statement (db/history_with_state.py); SQLite: the rows, then the ORM's
        # UPDATE of the instance.
        postgres = app_ctx.engine.dialect.name == "postgresql"
        assert statements == (["WITH"] if postgres else ["INSERT", "UPDATE"])
    with app_ctx.sessions() as session:
        stored = session.get(ProcessInstance, instance_id)
        assert stored is not None
        assert (stored.category, stored.row_version) == ("probed", version + 1)
    assert _types(app_ctx, instance_id)[-1] == "probe"


def test_a_row_version_changed_meanwhile_refuses_the_commit_and_writes_nothing(
    api: Any, app_ctx: AppContext
) -> None:
    instance_id = _started(api)
    before = _types(app_ctx, instance_id)
    with UnitOfWork(app_ctx, write=True) as uow:
        instance = uow.session.get(ProcessInstance, instance_id)
        assert instance is not None
        instance.category = "lost"
        _note(uow.session, instance, "lost")
        with app_ctx.engine.begin() as other:  # another server process writes the instance
            other.execute(
                update(ProcessInstance)
                .where(ProcessInstance.id == instance_id)
                .values(row_version=ProcessInstance.row_version + 1)
            )
        with pytest.raises(StaleVersion):
            uow.commit()
    with app_ctx.sessions() as session:
        stored = session.get(ProcessInstance, instance_id)
        assert stored is not None and stored.category != "lost"
    assert _types(app_ctx, instance_id) == before
