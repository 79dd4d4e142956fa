"""Write an engine RunResult to the task table, the candidates, the history and the instance row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    CompoundSelect,
    CursorResult,
    String,
    bindparam,
    cast,
    delete,
    event,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from bpmn_service.db import history_with_state, queries, task_rows
from bpmn_service.db.models import (
    ExternalTask,
    HistoricTask,
    HistoricWait,
    HistoryEvent,
    MessageSubscription,
    ProcessInstance,
    RunIncident,
    Task,
    TaskCandidate,
    TimeLimitClock,
    UtcDateTime,
)
from bpmn_service.engine import STATE_FORMAT, ExternalWork, ReadyTask, RunResult
from bpmn_service.errors import StaleVersion, WorkflowFailed
from bpmn_service.lanes import LaneGroups
from bpmn_service.timeutil import resolve_due

from . import telemetry

# A table of open work the engine may withdraw.
Open = TypeVar("Open", Task, ExternalTask)

# Groups that act for the customer and its contractors: their tasks and waits are not utility time.
EXTERNAL_GROUPS = frozenset({"customer", "contractor"})
_CREATED_CANDIDATES = "bpmn_service.created_candidates"
# session.info: ids of instances this transaction found without open time-limit clocks.
NO_OPEN_CLOCKS = "bpmn_service.no_open_clocks"
# The states of a clock that is still open (clocks.OPEN; here to avoid an import cycle).
OPEN_CLOCKS = ("running", "paused", "breached")
# The variable whose value is kept as the instance's category (analytics group cases by it).
CATEGORY_VARIABLE = "customerCategory"
# session.info: ids of instances this transaction inserted and has not projected yet.
NEW_INSTANCES = "bpmn_service.new_instances"

_HISTORY = "bpmn_service.history"  # session.info: history rows not yet written, in order
_SAVEPOINTS = "bpmn_service.history_savepoints"  # session.info: savepoint -> rows before it
_history_table = HistoryEvent.metadata.tables[HistoryEvent.__tablename__]
_task_table = Task.metadata.tables[Task.__tablename__]
_candidate_table = TaskCandidate.metadata.tables[TaskCandidate.__tablename__]
_historic_task_table = HistoricTask.metadata.tables[HistoricTask.__tablename__]
# Built once (building a statement costs more than running it), executed with parameters.
_INSERT_HISTORY = insert(_history_table)
_INSERT_TASK = insert(_task_table)
_INSERT_CANDIDATE = insert(_candidate_table)
_INSERT_HISTORIC_TASK = insert(_historic_task_table)
_DELETE_CANDIDATES = (
    delete(_candidate_table)
    .where(_candidate_table.c.task_id == bindparam("task_id"))
    .returning(_candidate_table.c.kind, _candidate_table.c.ref)
)
_DELETE_TASK = delete(_task_table).where(_task_table.c.id == bindparam("task_id"))
# PostgreSQL: close_task in one statement. The candidates are read in the statement's snapshot,
# before the task's deletion removes them (ON DELETE CASCADE); no row is inserted when the task
# was gone already, which the row count tells.
_CLOSE_TASK_PG = text(
    """
    WITH candidates AS (
        SELECT kind, ref FROM task_candidate WHERE task_id = :id
    ), gone AS (
        DELETE FROM task WHERE id = :id RETURNING id
    ), ended AS (
        INSERT INTO historic_task (
            id, instance_id, definition_key, element_id, name, lane, candidate_groups,
            candidate_users, assignee, created_at, claimed_at, due_at, ended_at, end_reason,
            completed_by, customer_procedure, hall_visit, external_party
        )
        SELECT
            gone.id, :instance_id, :definition_key, :element_id, :name, :lane,
            COALESCE(
                (SELECT jsonb_agg(ref ORDER BY ref) FROM candidates WHERE kind = 'group'), '[]'
            ),
            COALESCE(
                (SELECT jsonb_agg(ref ORDER BY ref) FROM candidates WHERE kind = 'user'), '[]'
            ),
            :assignee, CAST(:created_at AS timestamptz), CAST(:claimed_at AS timestamptz),
            CAST(:due_at AS timestamptz), CAST(:ended_at AS timestamptz), :end_reason,
            :completed_by, :customer_procedure, CAST(:hall_visit AS boolean),
            EXISTS (SELECT 1 FROM candidates WHERE kind = 'group')
            AND NOT EXISTS (
                SELECT 1 FROM candidates WHERE kind = 'group' AND NOT ref = ANY(:external)
            )
        FROM gone
        RETURNING id
    )
    SELECT 'e', id FROM ended
    UNION ALL
    -- The instance's open work after the close (_open_work's question; with read_open_work).
    -- The statement's snapshot still holds the closed task's row.
    SELECT 't', id FROM task WHERE :read_open_work AND instance_id = :instance_id AND id <> :id
    UNION ALL
    SELECT 'x', id FROM external_task WHERE :read_open_work AND instance_id = :instance_id
    UNION ALL
    SELECT 's', task_id FROM message_subscription
    WHERE :read_open_work AND instance_id = :instance_id
    UNION ALL
    SELECT 'c', CAST(id AS varchar) FROM time_limit_clock
    WHERE :read_open_work AND instance_id = :instance_id AND stopped_at IS NULL
    AND status = ANY(:open_clocks)
    """
).bindparams(
    bindparam("external", type_=ARRAY(String)),
    bindparam("open_clocks", type_=ARRAY(String)),
    bindparam("created_at", type_=UtcDateTime()),
    bindparam("claimed_at", type_=UtcDateTime()),
    bindparam("due_at", type_=UtcDateTime()),
    bindparam("ended_at", type_=UtcDateTime()),
)


def record(
    session: Session,
    instance: ProcessInstance,
    event_type: str,
    *,
    at: datetime,
    actor: str | None,
    task_id: str | None = None,
    element_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Note a history row; the transaction's rows are written in the order noted, in one
    INSERT just before it commits (see write_history)."""
    if session.get_transaction() is None:
        session.begin()  # the rows belong to a transaction: its rollback drops them
    session.info.setdefault(_HISTORY, []).append(
        {
            "instance_id": instance.id,
            "task_id": task_id,
            "element_id": element_id,
            "type": event_type,
            "actor": actor,
            "occurred_at": at,
            "details": details or {},
        }
    )


def write_history(session: Session) -> None:
    """Write the history rows noted so far in one executemany INSERT: the ids follow the order
    noted; psycopg sends the rows in one pipeline, SQLite runs them in one call. (A multi-VALUES
    INSERT would be compiled again for every call: SQLAlchemy caches no such statement.)"""
    rows = session.info.get(_HISTORY)
    if rows:
        written = False
        if session.connection().dialect.name == "postgresql":
            # With the instance's new state, which the commit's flush would write next.
            written = history_with_state.write(session, rows)
        if not written:
            session.connection().execute(_INSERT_HISTORY, rows)
        rows.clear()


# The noted rows follow the transaction: a commit writes them, a rollback (of the transaction, or
# of a savepoint: only the rows noted since it began) drops them, as it would have dropped rows
# flushed inside it.


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rows wait for the outer commit
        write_history(session)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        noted = len(session.info.get(_HISTORY, ()))
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = noted


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    rows = session.info.get(_HISTORY)
    if not rows:
        return
    if previous.nested:
        del rows[session.info.get(_SAVEPOINTS, {}).get(previous, 0) :]
    else:
        rows.clear()


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    # (a savepoint ends before its soft rollback is reported: its mark stays until here)
    if not transaction.nested and transaction.parent is None:
        session.info.pop(_HISTORY, None)  # closed without a commit: nothing noted survives
        session.info.pop(_SAVEPOINTS, None)


def close_task(
    session: Session,
    task: Task,
    *,
    at: datetime,
    reason: str,
    by: str | None,
    read_open_work: bool = False,
) -> OpenWork | None:
    """Move an open task to history (completed or cancelled) and delete its inbox row. With
    `read_open_work`, on PostgreSQL the same statement reads what the instance has open after
    it (for `apply`, which would read it next); None where it was not read."""
    connection = session.connection()
    telemetry.count(session, telemetry.TASKS_ENDED, task.definition_key, reason)
    if task.due_at is not None and at > task.due_at:
        telemetry.count(
            session, telemetry.TIME_LIMIT_BREACHES, task.definition_key, task.element_id
        )
    properties = task.properties or {}
    # Core statements, not ORM objects to flush: the rows are final.
    row = {
        "customer_procedure": properties.get("customerProcedure") or None,
        "hall_visit": properties.get("hallVisit") == "true",
        "id": task.id,
        "instance_id": task.instance_id,
        "definition_key": task.definition_key,
        "element_id": task.element_id,
        "name": task.name,
        "lane": task.lane,
        "assignee": task.assignee,
        "created_at": task.created_at,
        "claimed_at": task.claimed_at,
        "due_at": task.due_at,
        "ended_at": at,
        "end_reason": reason,
        "completed_by": by,
    }
    open_work: OpenWork | None = None
    if connection.dialect.name == "postgresql":
        # One statement: the task row goes (its candidate rows with it, by the foreign key) and
        # its history row, with the candidates read before, comes in.
        if read_open_work:
            session.flush()  # rows this transaction added count, as in _open_work
        found: dict[str, set[str]] = {"e": set(), "t": set(), "x": set(), "s": set(), "c": set()}
        params = {
            **row,
            "external": list(EXTERNAL_GROUPS),
            "read_open_work": read_open_work,
            "open_clocks": list(OPEN_CLOCKS),
        }
        for kind, ref in connection.execute(_CLOSE_TASK_PG, params):
            found[kind].add(ref)
        ended = len(found["e"])
        if read_open_work:
            open_work = OpenWork(found["t"], found["x"], found["s"], found["c"])
    else:
        # The candidate rows go with the task; they stay in its history, so that whoever it
        # was offered to learns that it ended (services/tasks.py).
        removed = connection.execute(_DELETE_CANDIDATES, {"task_id": task.id}).all()
        groups = [ref for kind, ref in removed if kind == "group"]
        users = [ref for kind, ref in removed if kind == "user"]
        external = bool(groups) and set(groups) <= EXTERNAL_GROUPS
        connection.execute(
            _INSERT_HISTORIC_TASK,
            {
                **row,
                "candidate_groups": groups,
                "candidate_users": users,
                "external_party": external,
            },
        )
        deleted = connection.execute(_DELETE_TASK, {"task_id": task.id})
        assert isinstance(deleted, CursorResult)
        ended = deleted.rowcount
    if ended != 1:  # the instance's lock keeps others out; as the ORM's check did
        raise StaleVersion("the task was changed by another request; retry")
    # The object no longer has a row: out of the session, so that no flush writes it again.
    session.expunge(task)
    return open_work


def apply(
    session: Session,
    instance: ProcessInstance,
    result: RunResult,
    lanes: LaneGroups,
    *,
    at: datetime,
    actor: str | None,
    category_variable: str = CATEGORY_VARIABLE,
    open_work: OpenWork | None = None,
    withdraw_reason: str | None = None,
) -> list[Task]:
    """Project the engine state; return the task rows that became ready in this step.
    `open_work`: what the instance has open, when the caller has just read it (close_task).
    `withdraw_reason`: why the tasks the run no longer has went (a supervisor's modification
    gives its reason); by default, the engine withdrew them."""
    for step in result.steps:
        telemetry.count(session, telemetry.ENGINE_STEPS, instance.definition_key, step.kind)
        record(
            session,
            instance,
            "engine_step",
            at=at,
            actor=None,
            element_id=step.element_id,
            details={"name": step.name, "kind": step.kind},
        )
    ready_ids = {t.id for t in result.ready_tasks}
    open_work = _open_work(session, instance.id, open_work)
    cancel_tasks(
        session,
        instance,
        _rows_by_id(session, Task, open_work.tasks - ready_ids),
        at=at,
        actor=actor,
        reason=withdraw_reason or "withdrawn by the engine",
    )
    new_ready = [t for t in result.ready_tasks if t.id not in open_work.tasks]
    created = _create_tasks(session, instance, new_ready, lanes, at)
    _sync_external_tasks(
        session,
        instance,
        result.external_tasks,
        at,
        open_work.external,
        actor=actor if withdraw_reason else None,
        reason=withdraw_reason,
    )
    _sync_subscriptions(session, instance, result, lanes, at, bool(open_work.subscriptions))
    for column, value in run_columns(result, category_variable).items():
        setattr(instance, column, value)
    if result.completed:
        instance.status = "completed"
        instance.ended_at = at
        telemetry.count(session, telemetry.INSTANCES_ENDED, instance.definition_key, "completed")
        record(session, instance, "instance_completed", at=at, actor=actor)
        close_incidents(session, instance.id, at=at, by=actor)
    return created


def close_incidents(session: Session, instance_id: str, *, at: datetime, by: str | None) -> None:
    """An ended case's open incidents (a parked timer the case went past, a join it was stuck
    at) name nothing left to repair: every repair of an ended case is refused. They are closed
    with it, so that the incident lists show what still needs someone."""
    # On the connection, not through the session: a session statement would flush the run's
    # history and instance row now, each on its own, instead of in the one statement they
    # share at commit (db/history_with_state.py).
    incident = RunIncident.metadata.tables[RunIncident.__tablename__]
    session.connection().execute(
        update(incident)
        .where(incident.c.instance_id == instance_id, incident.c.resolved_at.is_(None))
        .values(resolved_at=at, resolved_by=by or "system")
    )


def run_columns(result: RunResult, category_variable: str = CATEGORY_VARIABLE) -> dict[str, Any]:
    """The instance row's columns a run sets (a new row starts with them: no update follows)."""
    columns: dict[str, Any] = {
        "state": result.state,
        "state_format": STATE_FORMAT,
        "variables": result.variables,
        "next_timer_at": None if result.completed else result.next_timer_at,
    }
    category = result.variables.get(category_variable)
    if isinstance(category, str) and category:
        columns["category"] = category[:64]
    return columns


@dataclass(frozen=True, slots=True)
class OpenWork:
    """The ids of what an instance has open in the projection, read in one statement."""

    tasks: set[str]
    external: set[str]
    subscriptions: set[str]
    clocks: set[str]


def _open_work_statement() -> CompoundSelect[str, str]:
    instance_id = bindparam("instance_id", type_=String)
    task, external = _task_table.c, ExternalTask.metadata.tables[ExternalTask.__tablename__].c
    waits = MessageSubscription.metadata.tables[MessageSubscription.__tablename__].c
    clock = TimeLimitClock.metadata.tables[TimeLimitClock.__tablename__].c
    return union_all(
        select(literal("t"), task.id).where(task.instance_id == instance_id),
        select(literal("x"), external.id).where(external.instance_id == instance_id),
        select(literal("s"), waits.task_id).where(waits.instance_id == instance_id),
        select(literal("c"), cast(clock.id, String)).where(
            clock.instance_id == instance_id,
            clock.stopped_at.is_(None),
            clock.status.in_(OPEN_CLOCKS),
        ),
    )


_OPEN_WORK = _open_work_statement()  # built once: building it costs more than running it


def _open_work(session: Session, instance_id: str, known: OpenWork | None = None) -> OpenWork:
    """What the instance has open: nothing for one this transaction just inserted, `known` when
    the caller has just read it (close_task), else read in one statement."""
    new: set[str] = session.info.get(NEW_INSTANCES, set())
    if instance_id in new:
        new.discard(instance_id)  # its first projection: nothing is open yet
        work = OpenWork(set(), set(), set(), set())
    elif known is not None:
        work = known
    else:
        session.flush()  # rows an earlier run of this transaction added count (a Core read)
        found: dict[str, set[str]] = {"t": set(), "x": set(), "s": set(), "c": set()}
        for kind, ref in session.connection().execute(_OPEN_WORK, {"instance_id": instance_id}):
            found[kind].add(ref)
        work = OpenWork(found["t"], found["x"], found["s"], found["c"])
    # Nothing else is needed to know that the clocks of the instance (clocks.py) have nothing
    # to do; the instance is locked, so only this transaction could start one.
    known_none = session.info.setdefault(NO_OPEN_CLOCKS, set())
    if work.clocks:
        known_none.discard(instance_id)
    else:
        known_none.add(instance_id)
    return work


def _moment(value: str | None, at: datetime, element: str, what: str) -> datetime | None:
    """A task's due or follow-up moment; a value that is none (an expression's result that is
    not ISO 8601, a duration beyond the calendar) fails the run at the task, never a 500."""
    try:
        return resolve_due(value, at)
    except (ValueError, OverflowError, TypeError) as exc:
        raise WorkflowFailed(
            f"the process could not advance at element {element}: the {what} {value!r} is not "
            f"an ISO 8601 duration, a date (YYYY-MM-DD) or a date-time with an offset ({exc})",
            details={"element": element},
        ) from None


def _fits_columns(ready: ReadyTask, groups: list[str]) -> None:
    """Assignees and candidates computed by expressions must fit their columns (128)."""
    names = [*groups, *(ready.candidate_users or []), *([ready.assignee] if ready.assignee else [])]
    long = [n for n in names if len(n) > 128]
    if long:
        raise WorkflowFailed(
            f"the process could not advance at element {ready.element_id}: a user or group "
            f"name computed for it is {len(long[0])} characters long (at most 128)",
            details={"element": ready.element_id},
        )


def _create_tasks(
    session: Session,
    instance: ProcessInstance,
    ready: list[ReadyTask],
    lanes: LaneGroups,
    at: datetime,
) -> list[Task]:
    """The task rows and their candidates, each in one executemany INSERT (the ids are the
    engine's; see write_history), both in one statement on PostgreSQL (db/task_rows.py), then
    the rows as loaded objects of the session, so that later changes (a clock's due date) are
    written as updates."""
    rows: list[Task] = []
    candidates: list[dict[str, str]] = []
    created: dict[str, dict[str, list[str]]] = session.info.setdefault(_CREATED_CANDIDATES, {})
    for one in ready:
        groups = _groups_offered(instance, one, lanes)
        _fits_columns(one, groups)
        row = Task(
            id=one.id,
            instance_id=instance.id,
            definition_id=instance.definition_id,
            definition_key=instance.definition_key,
            business_key=instance.business_key,
            element_id=one.element_id,
            spec_name=one.spec_name,
            name=one.name,
            lane=one.lane,
            assignee=one.assignee,
            priority=one.priority,
            due_at=_moment(one.due, at, one.element_id, "due date"),
            follow_up_at=_moment(one.follow_up, at, one.element_id, "follow-up date"),
            created_at=at,
            claimed_at=at if one.assignee else None,
            form_values=one.form_values,
            properties=one.properties,
            row_version=1,
        )
        rows.append(row)
        offered = {
            "group": list(dict.fromkeys(groups)),
            "user": list(dict.fromkeys(one.candidate_users or [])),
        }
        candidates += [
            {"task_id": row.id, "kind": k, "ref": ref}
            for k, refs in offered.items()
            for ref in refs
        ]
        # Remembered for the answer, in the order queries.candidates_of reads them back (by ref).
        created[row.id] = {kind: sorted(refs) for kind, refs in offered.items()}
        record(
            session,
            instance,
            "task_created",
            at=at,
            actor=None,
            task_id=row.id,
            element_id=row.element_id,
            details={
                "name": row.name,
                "lane": row.lane,
                "candidate_groups": list(groups),
                "assignee": row.assignee,
            },
        )
    if not rows:
        return rows
    connection = session.connection()
    values = [{c: getattr(r, c) for c in task_rows.TASK_COLUMNS} for r in rows]
    if connection.dialect.name == "postgresql":
        statement = task_rows.INSERT_TASKS_AND_CANDIDATES
        connection.execute(statement, task_rows.parameters(values, candidates))
    else:
        connection.execute(_INSERT_TASK, values)
        if candidates:  # after the tasks they refer to
            connection.execute(_INSERT_CANDIDATE, candidates)
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)
    return rows


def _rows_by_id(session: Session, model: type[Open], ids: set[str]) -> list[Open]:
    """The open rows with these ids, in id order; nothing is read when there are none."""
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))


def _sync_external_tasks(
    session: Session,
    instance: ProcessInstance,
    ready: list[ExternalWork],
    at: datetime,
    open_ids: set[str],
    *,
    actor: str | None = None,
    reason: str | None = None,
) -> None:
    ready_ids = {w.id for w in ready}
    withdraw_external_tasks(
        session,
        instance,
        _rows_by_id(session, ExternalTask, open_ids - ready_ids),
        at=at,
        actor=actor,
        details={"reason": reason} if reason else None,
    )
    for work in ready:
        if work.id in open_ids:
            continue
        session.add(
            ExternalTask(
                id=work.id,
                instance_id=instance.id,
                definition_id=instance.definition_id,
                definition_key=instance.definition_key,
                business_key=instance.business_key,
                element_id=work.element_id,
                name=work.name,
                topic=work.topic,
                variables=work.variables,
                created_at=at,
                row_version=1,
            )
        )
        record(
            session,
            instance,
            "external_task_created",
            at=at,
            actor=None,
            task_id=work.id,
            element_id=work.element_id,
            details={"topic": work.topic, "name": work.name},
        )


def cancel_tasks(
    session: Session,
    instance: ProcessInstance,
    rows: list[Task],
    *,
    at: datetime,
    actor: str | None,
    reason: str,
) -> None:
    """Cancel user tasks the case no longer has: the history notes why, and each row moves to
    historic_task."""
    for row in rows:
        record(
            session,
            instance,
            "task_cancelled",
            at=at,
            actor=actor,
            task_id=row.id,
            element_id=row.element_id,
            details={"reason": reason},
        )
        close_task(session, row, at=at, reason="cancelled", by=None)


def withdraw_external_tasks(
    session: Session,
    instance: ProcessInstance,
    rows: list[ExternalTask],
    *,
    at: datetime,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Withdraw external tasks the case no longer has (unlocked, locked, waiting for a retry or
    an incident alike): the row goes, so no worker fetches, completes or fails it any more, and
    the history notes it."""
    for row in rows:
        record(
            session,
            instance,
            "external_task_withdrawn",
            at=at,
            actor=actor,
            task_id=row.id,
            element_id=row.element_id,
            details=details,
        )
        session.delete(row)


def end_waits(
    session: Session,
    instance: ProcessInstance,
    rows: list[MessageSubscription],
    lanes: LaneGroups,
    at: datetime,
) -> None:
    """Close message waits the case no longer has: a catch event's wait becomes history (an
    event subprocess's start, which listens while the case runs, leaves none); the row goes."""
    for row in rows:
        if not row.event_subprocess:
            groups = lanes.groups_for(instance.definition_key, row.lane)
            session.add(
                HistoricWait(
                    instance_id=instance.id,
                    definition_key=instance.definition_key,
                    element_id=row.element_id,
                    message_name=row.message_name,
                    lane=row.lane,
                    external_party=bool(groups) and set(groups) <= EXTERNAL_GROUPS,
                    started_at=row.created_at,
                    ended_at=at,
                )
            )
        session.delete(row)


def withdraw_open_work(
    session: Session,
    instance: ProcessInstance,
    lanes: LaneGroups,
    *,
    at: datetime,
    actor: str | None,
    reason: str,
) -> None:
    """A case ended outside the engine (cancelled): withdraw everything it has open, as a run
    that no longer has it would (apply): its user tasks are cancelled, its external tasks
    withdrawn, its message waits closed. Its open time-limit clocks stay as they stood: a clock
    of an ended case reads "cancelled" (time_limits.py)."""
    open_work = _open_work(session, instance.id)
    cancel_tasks(
        session,
        instance,
        _rows_by_id(session, Task, open_work.tasks),
        at=at,
        actor=actor,
        reason=reason,
    )
    withdraw_external_tasks(
        session,
        instance,
        _rows_by_id(session, ExternalTask, open_work.external),
        at=at,
        actor=actor,
        details={"reason": reason},
    )
    if open_work.subscriptions:
        waits = session.scalars(
            select(MessageSubscription)
            .where(MessageSubscription.instance_id == instance.id)
            .order_by(MessageSubscription.task_id)
        )
        end_waits(session, instance, list(waits), lanes, at)
    instance.next_timer_at = None  # as for a completed case: nothing is due any more


def _sync_subscriptions(
    session: Session,
    instance: ProcessInstance,
    result: RunResult,
    lanes: LaneGroups,
    at: datetime,
    any_open: bool,
) -> None:
    existing = (
        {
            s.task_id: s
            for s in session.scalars(
                select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
            )
        }
        if any_open
        else {}
    )
    waiting = {w.task_id: w for w in ([] if result.completed else result.waits)}
    # The catch event got its message (or was interrupted): the wait is history. An event
    # subprocess's start only stops listening when the instance ends.
    ended = [row for task_id, row in existing.items() if task_id not in waiting]
    end_waits(session, instance, ended, lanes, at)
    for task_id, wait in waiting.items():
        if task_id not in existing:
            session.add(
                MessageSubscription(
                    task_id=task_id,
                    instance_id=instance.id,
                    definition_key=instance.definition_key,
                    business_key=instance.business_key,
                    element_id=wait.element_id,
                    message_name=wait.message_name,
                    lane=wait.lane,
                    event_subprocess=wait.event_subprocess,
                    created_at=at,
                )
            )


def candidates_created(session: Session, task_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """The candidates of tasks this session created, as queries.candidates_of answers them,
    without reading them back; tasks it did not create are read."""
    known: dict[str, dict[str, list[str]]] = session.info.get(_CREATED_CANDIDATES, {})
    found = {t: known[t] for t in task_ids if t in known}
    missing = [t for t in task_ids if t not in known]
    if missing:
        found.update(queries.candidates_of(session, missing))
    return found


def offered_to(
    instance: ProcessInstance, ready: ReadyTask, lanes: LaneGroups
) -> tuple[list[str], list[str]]:
    """The candidate groups and users a new task of `ready`'s element gets (its lane's groups
    where the element names none), as _create_tasks offers them, sorted."""
    groups = _groups_offered(instance, ready, lanes)
    return sorted(set(groups)), sorted(set(ready.candidate_users or []))


def _groups_offered(instance: ProcessInstance, ready: ReadyTask, lanes: LaneGroups) -> list[str]:
    """The element's candidate groups; its lane's where it names none, or where its expressions
    gave no group, no user and no assignee (`${x}` with x empty): such a task was offered to
    nobody but admins."""
    groups = ready.candidate_groups
    if groups is None or (not groups and not ready.candidate_users and not ready.assignee):
        return lanes.groups_for(instance.definition_key, ready.lane)
    return groups


@dataclass
class Realignment:
    """What a migration changes of one open task (realignments): the row, the new values, and
    the changes as the history's `task_reassigned_by_migration` lists them."""

    row: Task
    view: ReadyTask
    groups: list[str]
    users: list[str]
    assignee: str | None
    due: datetime | None
    follow_up: datetime | None
    changes: list[dict[str, Any]]

    def report(self) -> dict[str, Any]:
        """{"task_id", "element_id" (the task's element before), "changes"}, as a dry run and
        the migration's result list it."""
        return {"task_id": self.row.id, "element_id": self.row.element_id, "changes": self.changes}


def realignments(
    session: Session,
    instance: ProcessInstance,
    ready: list[ReadyTask],
    lanes: LaneGroups,
    groups_of: Callable[[str], frozenset[str] | None],
) -> list[Realignment]:
    """What realign_tasks would change of each open task that stays open (same id) but now
    stands for another element or version; reads, writes nothing (a migration's dry run)."""
    views = {t.id: t for t in ready}
    rows = _rows_by_id(session, Task, set(views))
    known = queries.candidates_of(session, [r.id for r in rows])
    found = []
    for row in rows:
        view = views[row.id]
        groups, users = offered_to(instance, view, lanes)
        _fits_columns(view, groups)
        before = {
            "element_id": row.element_id,
            "name": row.name,
            "lane": row.lane,
            "candidate_groups": sorted(known[row.id]["group"]),
            "candidate_users": sorted(known[row.id]["user"]),
            "priority": row.priority,
            "assignee": row.assignee,
        }
        assignee = row.assignee
        if assignee is not None and not (
            assignee in users
            or assignee == view.assignee
            or (groups_of(assignee) or frozenset()) & set(groups)
        ):
            assignee = view.assignee
        after = {
            "element_id": view.element_id,
            "name": view.name,
            "lane": view.lane,
            "candidate_groups": groups,
            "candidate_users": users,
            "priority": view.priority,
            "assignee": assignee,
        }
        due = _moment(view.due, row.created_at, view.element_id, "due date")
        follow_up = _moment(view.follow_up, row.created_at, view.element_id, "follow-up date")
        changes = [
            {"field": k, "old": before[k], "new": after[k]} for k in after if before[k] != after[k]
        ]
        if view.due is not None and due != row.due_at:
            changes.append({"field": "due", "old": _iso(row.due_at), "new": _iso(due)})
        if view.follow_up is not None and follow_up != row.follow_up_at:
            changes.append(
                {"field": "follow_up", "old": _iso(row.follow_up_at), "new": _iso(follow_up)}
            )
        found.append(Realignment(row, view, groups, users, assignee, due, follow_up, changes))
    return found


def realign_tasks(
    session: Session,
    instance: ProcessInstance,
    ready: list[ReadyTask],
    lanes: LaneGroups,
    groups_of: Callable[[str], frozenset[str] | None],
    *,
    at: datetime,
    actor: str | None,
    reason: str,
) -> list[dict[str, Any]]:
    """Open tasks that stay open (same ids) but now stand for another element or version (a
    migration): each gets what a new task of its element would — element, name, lane, candidate
    groups and users, priority, and the due and follow-up dates where the element declares them
    (counted from the task's creation; a time-limit clock sets the due date again when it runs).
    A claim stays with a user who is still a candidate (named, or in one of the groups, or the
    element's assignee); another's claim goes to the element's assignee, if any, else is
    withdrawn. The history notes the changes of each task (`task_reassigned_by_migration`,
    `changes`: `[{"field", "old", "new"}]`, as a variable repair lists its changes); returns
    each changed task's report (Realignment.report)."""
    done = []
    for change in realignments(session, instance, ready, lanes, groups_of):
        row, view, changes = change.row, change.view, change.changes
        if change.view.due is not None and change.due != row.due_at:
            row.due_at = change.due
        if view.follow_up is not None and change.follow_up != row.follow_up_at:
            row.follow_up_at = change.follow_up
        row.spec_name, row.properties = view.spec_name, view.properties
        if not changes:
            continue
        done.append(change.report())
        row.element_id, row.name, row.lane = view.element_id, view.name, view.lane
        row.priority = view.priority
        if change.assignee != row.assignee:
            row.assignee = change.assignee
            row.claimed_at = at if change.assignee is not None else None
        row.row_version += 1
        if {c["field"] for c in changes} & {"candidate_groups", "candidate_users"}:
            session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
            offered = [{"task_id": row.id, "kind": "group", "ref": g} for g in change.groups] + [
                {"task_id": row.id, "kind": "user", "ref": u} for u in change.users
            ]
            if offered:
                session.execute(insert(TaskCandidate), offered)
        record(
            session,
            instance,
            "task_reassigned_by_migration",
            at=at,
            actor=actor,
            task_id=row.id,
            element_id=row.element_id,
            details={"reason": reason, "changes": changes},
        )
    return done


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
