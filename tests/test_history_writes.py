"""History rows are noted during a transaction and written in one statement when it commits: in
the order noted, none from a rolled-back savepoint or transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import HistoryEvent, ProcessInstance
from bpmn_service.errors import Conflict
from bpmn_service.services import projection

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
