"""History reads for /engine-rest: every instance, running or ended, and every user task, open
or ended, of the cases a caller may see (the visibility of /api/v1's instance history),
filtered, sorted and paged in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    cast,
    func,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from bpmn_service.context import AppContext
from bpmn_service.db import queries
from bpmn_service.db.models import (
    HistoricTask,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    Task,
    UtcDateTime,
)
from bpmn_service.errors import NotFound
from bpmn_service.identity import Principal

from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Conditions on instances, all of which must hold; list values mean "any of", `*_like`
    values are SQL LIKE patterns; `finished`: ended ones only (True) or running ones (False)."""

    ids: Sequence[str] | None = None
    business_key: str | None = None
    business_key_like: str | None = None
    definition_id: str | None = None
    definition_key: str | None = None
    definition_keys: Sequence[str] | None = None
    finished: bool | None = None
    statuses: Sequence[str] | None = None  # active, completed, cancelled
    started_before: datetime | None = None
    started_after: datetime | None = None
    finished_before: datetime | None = None
    finished_after: datetime | None = None
    started_by: str | None = None


@dataclass(frozen=True, slots=True)
class HistoricInstance:
    id: str
    business_key: str
    definition_id: str
    definition_key: str
    definition_name: str | None
    version: int
    status: str  # active | completed | cancelled
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    start_activity_id: str | None  # the first element the engine completed: its start event
    delete_reason: str | None  # the reason a cancelled instance was given


@dataclass(frozen=True, slots=True)
class TaskQuery:
    task_id: str | None = None
    instance_id: str | None = None
    business_key: str | None = None
    definition_key: str | None = None
    element_id: str | None = None
    assignee: str | None = None
    finished: bool | None = None  # True: ended tasks only; False: open ones only
    process_finished: bool | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoricTaskRow:
    id: str
    instance_id: str
    definition_id: str
    definition_key: str
    business_key: str
    element_id: str
    name: str
    assignee: str | None
    started_at: datetime
    ended_at: datetime | None
    due_at: datetime | None
    follow_up_at: datetime | None  # not kept once a task ends
    priority: int | None  # not kept once a task ends
    end_reason: str | None  # completed | cancelled; None while open


_INSTANCE_COLUMNS = (
    ProcessInstance.id,
    ProcessInstance.business_key,
    ProcessInstance.definition_id,
    ProcessInstance.definition_key,
    ProcessDefinition.name,
    ProcessInstance.version,
    ProcessInstance.status,
    ProcessInstance.started_at,
    ProcessInstance.started_by,
    ProcessInstance.ended_at,
)
INSTANCE_SORTS = {
    "id": ProcessInstance.id,
    "definition_id": ProcessInstance.definition_id,
    "definition_key": ProcessInstance.definition_key,
    "definition_name": ProcessDefinition.name,
    "definition_version": ProcessInstance.version,
    "business_key": ProcessInstance.business_key,
    "started": ProcessInstance.started_at,
    "ended": ProcessInstance.ended_at,
}
TASK_SORTS = frozenset(
    {
        "id",
        "instance_id",
        "definition_id",
        "definition_key",
        "element_id",
        "name",
        "assignee",
        "started",
        "ended",
        "duration",
        "due",
        "follow_up",
        "priority",
        "end_reason",
    }
)


def _millis_between(session: Session, end: Any, start: Any) -> Any:
    """end - start in milliseconds, in SQL (null while `end` is)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) * 1000
    return (func.julianday(end) - func.julianday(start)) * 86_400_000


def _instance_conditions(principal: Principal, q: InstanceQuery) -> list[ColumnElement[bool]]:
    pi = ProcessInstance
    conditions: list[ColumnElement[bool]] = [queries.instance_visible(principal)]
    for column, value in (
        (pi.business_key, q.business_key),
        (pi.definition_id, q.definition_id),
        (pi.definition_key, q.definition_key),
        (pi.started_by, q.started_by),
    ):
        if value is not None:
            conditions.append(column == value)
    if q.ids is not None:
        conditions.append(pi.id.in_(list(q.ids)))
    if q.definition_keys is not None:
        conditions.append(pi.definition_key.in_(list(q.definition_keys)))
    if q.business_key_like is not None:
        conditions.append(pi.business_key.like(q.business_key_like))
    if q.statuses is not None:
        conditions.append(pi.status.in_(list(q.statuses)))
    if q.finished is True:
        conditions.append(pi.status != "active")
    elif q.finished is False:
        conditions.append(pi.status == "active")
    ranges: list[tuple[Any, datetime | None, datetime | None]] = [
        (pi.started_at, q.started_before, q.started_after),
        (pi.ended_at, q.finished_before, q.finished_after),
    ]
    for column, before, after in ranges:
        if before is not None:
            conditions.append(column < before)
        if after is not None:
            conditions.append(column > after)
    return conditions


def list_instances(
    ctx: AppContext,
    principal: Principal,
    q: InstanceQuery,
    *,
    sort: tuple[str, bool] | None,
    limit: int,
    offset: int,
) -> tuple[list[HistoricInstance], int]:
    """A page of the visible instances matching `q` (by start time unless `sort` says otherwise)
    and how many match."""
    where = and_(*_instance_conditions(principal, q))
    with UnitOfWork(ctx) as uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(ProcessInstance).where(where))
        if limit == 0:
            return [], total or 0
        key, desc = sort or ("started", False)
        if key == "duration":
            term = _millis_between(session, ProcessInstance.ended_at, ProcessInstance.started_at)
        else:
            term = INSTANCE_SORTS[key]
        stmt = (
            select(*_INSTANCE_COLUMNS)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(where)
            .order_by(queries.nulls_last(term, desc), ProcessInstance.id)
            .limit(limit)
            .offset(offset)
        )
        rows = session.execute(stmt).all()
        return _with_events(session, rows), total or 0


def get_instance(ctx: AppContext, principal: Principal, instance_id: str) -> HistoricInstance:
    where = and_(*_instance_conditions(principal, InstanceQuery(ids=[instance_id])))
    with UnitOfWork(ctx) as uow:
        rows = uow.session.execute(
            select(*_INSTANCE_COLUMNS)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(where)
        ).all()
        if not rows:
            raise NotFound(
                f"historic process instance {instance_id} does not exist or is not visible to you"
            )
        return _with_events(uow.session, rows)[0]


def _with_events(session: Session, rows: Sequence[Any]) -> list[HistoricInstance]:
    """The page's instances with what only their history knows: the start event (the first
    element the engine completed) and a cancellation's reason; one read for the page."""
    ids = [r.id for r in rows]
    first_step = (
        select(func.min(HistoryEvent.id))
        .where(HistoryEvent.instance_id.in_(ids), HistoryEvent.type == "engine_step")
        .group_by(HistoryEvent.instance_id)
    )
    events = session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.type, HistoryEvent.element_id)
        .add_columns(HistoryEvent.details)
        .where(
            HistoryEvent.instance_id.in_(ids),
            (HistoryEvent.id.in_(first_step)) | (HistoryEvent.type == "instance_cancelled"),
        )
    ).all()
    start: dict[str, str | None] = {}
    reason: dict[str, str | None] = {}
    for instance_id, kind, element_id, details in events:
        if kind == "engine_step":
            start[instance_id] = element_id
        else:
            reason[instance_id] = (details or {}).get("reason") or "cancelled"
    return [
        HistoricInstance(
            id=r.id,
            business_key=r.business_key,
            definition_id=r.definition_id,
            definition_key=r.definition_key,
            definition_name=r.name,
            version=r.version,
            status=r.status,
            started_at=r.started_at,
            started_by=r.started_by,
            ended_at=r.ended_at,
            start_activity_id=start.get(r.id),
            delete_reason=reason.get(r.id),
        )
        for r in rows
    ]


def _open_tasks(principal: Principal, q: TaskQuery) -> Any:
    """Open tasks as history rows. The task is an alias, so that the visibility's own subquery
    over the task table is not correlated with this row."""
    t = aliased(Task)
    stmt = select(
        t.id.label("id"),
        t.instance_id.label("instance_id"),
        ProcessInstance.definition_id.label("definition_id"),
        t.definition_key.label("definition_key"),
        ProcessInstance.business_key.label("business_key"),
        t.element_id.label("element_id"),
        t.name.label("name"),
        t.assignee.label("assignee"),
        t.created_at.label("started"),
        cast(null(), UtcDateTime()).label("ended"),
        t.due_at.label("due"),
        t.follow_up_at.label("follow_up"),
        t.priority.label("priority"),
        cast(null(), String()).label("end_reason"),
    ).join(ProcessInstance, ProcessInstance.id == t.instance_id)
    return stmt.where(*_task_conditions(principal, q, t))


def _ended_tasks(principal: Principal, q: TaskQuery) -> Any:
    h = aliased(HistoricTask)
    stmt = select(
        h.id.label("id"),
        h.instance_id.label("instance_id"),
        ProcessInstance.definition_id.label("definition_id"),
        h.definition_key.label("definition_key"),
        ProcessInstance.business_key.label("business_key"),
        h.element_id.label("element_id"),
        h.name.label("name"),
        h.assignee.label("assignee"),
        h.created_at.label("started"),
        h.ended_at.label("ended"),
        h.due_at.label("due"),
        cast(null(), UtcDateTime()).label("follow_up"),
        cast(null(), Integer()).label("priority"),
        h.end_reason.label("end_reason"),
    ).join(ProcessInstance, ProcessInstance.id == h.instance_id)
    return stmt.where(*_task_conditions(principal, q, h))


def _task_conditions(principal: Principal, q: TaskQuery, row: Any) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [queries.instance_visible(principal)]
    for column, value in (
        (row.id, q.task_id),
        (row.instance_id, q.instance_id),
        (ProcessInstance.business_key, q.business_key),
        (row.definition_key, q.definition_key),
        (row.element_id, q.element_id),
        (row.assignee, q.assignee),
    ):
        if value is not None:
            conditions.append(column == value)
    if q.process_finished is True:
        conditions.append(ProcessInstance.status != "active")
    elif q.process_finished is False:
        conditions.append(ProcessInstance.status == "active")
    if q.due_before is not None:
        conditions.append(row.due_at < q.due_before)
    if q.due_after is not None:
        conditions.append(row.due_at > q.due_after)
    return conditions


def list_tasks(
    ctx: AppContext,
    principal: Principal,
    q: TaskQuery,
    *,
    sort: tuple[str, bool] | None,
    limit: int,
    offset: int,
) -> tuple[list[HistoricTaskRow], int]:
    """A page of the open and ended user tasks of the visible instances (by start time unless
    `sort` says otherwise) and how many match."""
    branches = []
    if q.finished is not True:
        branches.append(_open_tasks(principal, q))
    if q.finished is not False:
        branches.append(_ended_tasks(principal, q))
    key, desc = sort or ("started", False)
    with UnitOfWork(ctx) as uow:
        session = uow.session
        total = sum(
            session.scalar(select(func.count()).select_from(b.subquery())) or 0 for b in branches
        )
        if limit == 0:
            return [], total

        def ordered(columns: Any) -> list[Any]:
            if key == "duration":
                term = _millis_between(session, columns.ended, columns.started)
            else:
                term = getattr(columns, key)
            return [queries.nulls_last(term, desc), columns.id]

        # Each branch contributes at most the rows up to the page's end, read in the sort's
        # order (from an index where one serves it); the page is cut from their union.
        window = offset + limit
        pieces = []
        for branch in branches:
            inner = branch.subquery()
            pieces.append(select(inner).order_by(*ordered(inner.c)).limit(window).subquery())
        union = union_all(*(select(p) for p in pieces)).subquery()
        rows = session.execute(
            select(union).order_by(*ordered(union.c)).limit(limit).offset(offset)
        ).all()
        return [
            HistoricTaskRow(
                id=r.id,
                instance_id=r.instance_id,
                definition_id=r.definition_id,
                definition_key=r.definition_key,
                business_key=r.business_key,
                element_id=r.element_id,
                name=r.name,
                assignee=r.assignee,
                started_at=r.started,
                ended_at=r.ended,
                due_at=r.due,
                follow_up_at=r.follow_up,
                priority=r.priority,
                end_reason=r.end_reason,
            )
            for r in rows
        ], total
