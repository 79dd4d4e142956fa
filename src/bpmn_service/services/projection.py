"""Write an engine RunResult to the task table, the candidates, the history and the instance row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    CompoundSelect,
    String,
    bindparam,
    cast,
    delete,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from bpmn_service.db import queries
from bpmn_service.db.models import (
    ExternalTask,
    HistoricTask,
    HistoricWait,
    HistoryEvent,
    MessageSubscription,
    ProcessInstance,
    Task,
    TaskCandidate,
    TimeLimitClock,
)
from bpmn_service.engine import STATE_FORMAT, ExternalWork, ReadyTask, RunResult
from bpmn_service.errors import WorkflowFailed
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
    session.add(
        HistoryEvent(
            instance_id=instance.id,
            task_id=task_id,
            element_id=element_id,
            type=event_type,
            actor=actor,
            occurred_at=at,
            details=details or {},
        )
    )


def record_now(
    session: Session,
    instance_id: str,
    event_type: str,
    *,
    at: datetime,
    actor: str | None,
    task_id: str | None = None,
    element_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """A history row written at once as one Core INSERT, without an ORM object to flush: for a
    call whose only other write is a statement of its own (a claim)."""
    session.connection().execute(
        insert(HistoryEvent.metadata.tables[HistoryEvent.__tablename__]).values(
            instance_id=instance_id,
            task_id=task_id,
            element_id=element_id,
            type=event_type,
            actor=actor,
            occurred_at=at,
            details=details or {},
        )
    )


def close_task(session: Session, task: Task, *, at: datetime, reason: str, by: str | None) -> None:
    """Move an open task to history (completed or cancelled) and delete its inbox row."""
    # The candidate rows go with the task; their groups stay in its history (one statement).
    removed = session.execute(
        delete(TaskCandidate)
        .where(TaskCandidate.task_id == task.id)
        .returning(TaskCandidate.kind, TaskCandidate.ref)
    ).all()
    groups = [ref for kind, ref in removed if kind == "group"]
    properties = task.properties or {}
    telemetry.count(session, telemetry.TASKS_ENDED, task.definition_key, reason)
    if task.due_at is not None and at > task.due_at:
        telemetry.count(
            session, telemetry.TIME_LIMIT_BREACHES, task.definition_key, task.element_id
        )
    session.add(
        HistoricTask(
            customer_procedure=properties.get("customerProcedure") or None,
            hall_visit=properties.get("hallVisit") == "true",
            external_party=bool(groups) and set(groups) <= EXTERNAL_GROUPS,
            id=task.id,
            instance_id=task.instance_id,
            definition_key=task.definition_key,
            element_id=task.element_id,
            name=task.name,
            lane=task.lane,
            candidate_groups=groups,
            assignee=task.assignee,
            created_at=task.created_at,
            claimed_at=task.claimed_at,
            due_at=task.due_at,
            ended_at=at,
            end_reason=reason,
            completed_by=by,
        )
    )
    session.delete(task)


def apply(
    session: Session,
    instance: ProcessInstance,
    result: RunResult,
    lanes: LaneGroups,
    *,
    at: datetime,
    actor: str | None,
    category_variable: str = "customerCategory",
) -> list[Task]:
    """Project the engine state; return the task rows that became ready in this step."""
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
    open_work = _open_work(session, instance.id)
    for row in _rows_by_id(session, Task, open_work.tasks - ready_ids):
        record(
            session,
            instance,
            "task_cancelled",
            at=at,
            actor=actor,
            task_id=row.id,
            element_id=row.element_id,
            details={"reason": "withdrawn by the engine"},
        )
        close_task(session, row, at=at, reason="cancelled", by=None)
    created = []
    for ready in result.ready_tasks:
        if ready.id not in open_work.tasks:
            created.append(_create_task(session, instance, ready, lanes, at))
    _sync_external_tasks(session, instance, result.external_tasks, at, open_work.external)
    _sync_subscriptions(session, instance, result, lanes, at, bool(open_work.subscriptions))
    instance.state = result.state
    instance.state_format = STATE_FORMAT
    instance.variables = result.variables
    instance.next_timer_at = None if result.completed else result.next_timer_at
    category = result.variables.get(category_variable)
    if isinstance(category, str) and category:
        instance.category = category[:64]
    if result.completed:
        instance.status = "completed"
        instance.ended_at = at
        telemetry.count(session, telemetry.INSTANCES_ENDED, instance.definition_key, "completed")
        record(session, instance, "instance_completed", at=at, actor=actor)
    return created


@dataclass(frozen=True, slots=True)
class OpenWork:
    """The ids of what an instance has open in the projection, read in one statement."""

    tasks: set[str]
    external: set[str]
    subscriptions: set[str]
    clocks: set[str]


def _open_work_statement() -> CompoundSelect[str, str]:
    instance_id = bindparam("instance_id", type_=String)
    return union_all(
        select(literal("t"), Task.id).where(Task.instance_id == instance_id),
        select(literal("x"), ExternalTask.id).where(ExternalTask.instance_id == instance_id),
        select(literal("s"), MessageSubscription.task_id).where(
            MessageSubscription.instance_id == instance_id
        ),
        select(literal("c"), cast(TimeLimitClock.id, String)).where(
            TimeLimitClock.instance_id == instance_id,
            TimeLimitClock.stopped_at.is_(None),
            TimeLimitClock.status.in_(OPEN_CLOCKS),
        ),
    )


_OPEN_WORK = _open_work_statement()  # built once: building it costs more than running it


def _open_work(session: Session, instance_id: str) -> OpenWork:
    found: dict[str, set[str]] = {"t": set(), "x": set(), "s": set(), "c": set()}
    for kind, ref in session.execute(_OPEN_WORK, {"instance_id": instance_id}):
        found[kind].add(ref)
    # Nothing else is needed to know that the clocks of the instance (clocks.py) have nothing
    # to do; the instance is locked, so only this transaction could start one.
    known_none = session.info.setdefault(NO_OPEN_CLOCKS, set())
    if found["c"]:
        known_none.discard(instance_id)
    else:
        known_none.add(instance_id)
    return OpenWork(found["t"], found["x"], found["s"], found["c"])


def _moment(value: str | None, at: datetime, element: str, what: str) -> datetime | None:
    """A task's due or follow-up moment; a value that is none (an expression's result that is
    not ISO 8601, a duration beyond the calendar) fails the run at the task, never a 500."""
    try:
        return resolve_due(value, at)
    except (ValueError, OverflowError, TypeError) as exc:
        raise WorkflowFailed(
            f"the process could not advance at element {element}: the {what} {value!r} is not "
            f"an ISO 8601 duration or a date-time with an offset ({exc})",
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


def _create_task(
    session: Session, instance: ProcessInstance, ready: ReadyTask, lanes: LaneGroups, at: datetime
) -> Task:
    groups = ready.candidate_groups
    if groups is None:
        groups = lanes.groups_for(instance.definition_key, ready.lane)
    _fits_columns(ready, groups)
    row = Task(
        id=ready.id,
        instance_id=instance.id,
        definition_id=instance.definition_id,
        definition_key=instance.definition_key,
        business_key=instance.business_key,
        element_id=ready.element_id,
        spec_name=ready.spec_name,
        name=ready.name,
        lane=ready.lane,
        assignee=ready.assignee,
        priority=ready.priority,
        due_at=_moment(ready.due, at, ready.element_id, "due date"),
        follow_up_at=_moment(ready.follow_up, at, ready.element_id, "follow-up date"),
        created_at=at,
        claimed_at=at if ready.assignee else None,
        form_values=ready.form_values,
        properties=ready.properties,
        row_version=1,
    )
    session.add(row)
    session.flush()  # the task row first: its candidates refer to it
    offered = {
        "group": list(dict.fromkeys(groups)),
        "user": list(dict.fromkeys(ready.candidate_users or [])),
    }
    rows = [
        {"task_id": row.id, "kind": k, "ref": ref} for k, refs in offered.items() for ref in refs
    ]
    if rows:
        session.execute(insert(TaskCandidate), rows)
    # Remembered for the answer, in the order queries.candidates_of reads them back (by ref).
    session.info.setdefault(_CREATED_CANDIDATES, {})[row.id] = {
        kind: sorted(refs) for kind, refs in offered.items()
    }
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
    return row


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
) -> None:
    ready_ids = {w.id for w in ready}
    for row in _rows_by_id(session, ExternalTask, open_ids - ready_ids):
        record(
            session,
            instance,
            "external_task_withdrawn",
            at=at,
            actor=None,
            task_id=row.id,
            element_id=row.element_id,
        )
        session.delete(row)
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
    for task_id, row in existing.items():
        if task_id not in waiting and not row.event_subprocess:
            # The catch event got its message (or was interrupted): the wait is history. An
            # event subprocess's start only stops listening when the instance ends.
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
        if task_id not in waiting:
            session.delete(row)
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
