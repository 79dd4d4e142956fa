"""Read side: visibility predicates and list queries over the projection tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from bpmn_service.identity import Principal

from .models import HistoricTask, ProcessInstance, Task, TaskCandidate

# The inbox's sort keys on /api/v1; /engine-rest sorts by Camunda's further keys too.
TASK_SORTS = {
    "created": Task.created_at,
    "due": Task.due_at,
    "priority": Task.priority,
    "name": Task.name,
}
ALL_TASK_SORTS = {
    **TASK_SORTS,
    "follow_up": Task.follow_up_at,
    "assignee": Task.assignee,
    "instance": Task.instance_id,
    "id": Task.id,
}
INSTANCE_SORTS = {
    "started": ProcessInstance.started_at,
    "ended": ProcessInstance.ended_at,
    "id": ProcessInstance.id,
    "business_key": ProcessInstance.business_key,
    "definition_key": ProcessInstance.definition_key,
    "definition_id": ProcessInstance.definition_id,
}
SEES_ALL_INSTANCES = frozenset({"admin", "analyst", "supervisor"})


def task_visible(principal: Principal) -> ColumnElement[bool]:
    """Tasks assigned to the user, or offered to them or to one of their groups (admins: all)."""
    if principal.is_admin:
        return Task.id.is_not(None)
    candidate = exists().where(
        TaskCandidate.task_id == Task.id,
        or_(
            and_(TaskCandidate.kind == "user", TaskCandidate.ref == principal.user_id),
            and_(TaskCandidate.kind == "group", TaskCandidate.ref.in_(sorted(principal.groups))),
        ),
    )
    return or_(Task.assignee == principal.user_id, candidate)


def instance_visible(principal: Principal) -> ColumnElement[bool]:
    """Instances the user started, has an open task in or worked on; all for oversight roles."""
    if principal.groups & SEES_ALL_INSTANCES:
        return ProcessInstance.id.is_not(None)
    open_task = exists(
        select(Task.id).where(Task.instance_id == ProcessInstance.id, task_visible(principal))
    )
    worked = exists().where(
        HistoricTask.instance_id == ProcessInstance.id,
        HistoricTask.completed_by == principal.user_id,
    )
    return or_(ProcessInstance.started_by == principal.user_id, open_task, worked)


def is_candidate(session: Session, task_id: str, principal: Principal) -> bool:
    rows = session.execute(
        select(TaskCandidate.kind, TaskCandidate.ref).where(TaskCandidate.task_id == task_id)
    ).all()
    return any(
        (kind == "user" and ref == principal.user_id)
        or (kind == "group" and ref in principal.groups)
        for kind, ref in rows
    )


def candidates_of(session: Session, task_ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {t: {"group": [], "user": []} for t in task_ids}
    if not task_ids:
        return result
    for task_id, kind, ref in session.execute(
        select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.ref)
        .where(TaskCandidate.task_id.in_(list(task_ids)))
        .order_by(TaskCandidate.ref)
    ):
        result[task_id][kind].append(ref)
    return result


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Conditions on open tasks, all of which must hold; `*_like` values are SQL LIKE patterns
    and list values mean "any of". A candidate filter matches unassigned tasks only unless
    include_assigned is set (Camunda's rule)."""

    candidate_group: str | None = None
    assignee: str | None = None
    unassigned: bool | None = None
    process_definition_key: str | None = None
    process_instance_id: str | None = None
    business_key: str | None = None
    element_id: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    candidate_groups: Sequence[str] | None = None
    candidate_user: str | None = None
    candidate_user_groups: Sequence[str] = ()
    include_assigned: bool = True
    assignees: Sequence[str] | None = None
    process_definition_keys: Sequence[str] | None = None
    process_definition_id: str | None = None
    business_keys: Sequence[str] | None = None
    business_key_like: str | None = None
    element_ids: Sequence[str] | None = None
    name: str | None = None
    name_like: str | None = None
    without_due: bool = False
    follow_up_before: datetime | None = None
    follow_up_after: datetime | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    priority: int | None = None
    min_priority: int | None = None
    max_priority: int | None = None


def _sort_keys(sort: str, columns: dict[str, Any]) -> list[tuple[Any, bool]]:
    """(column, descending) for each part of a sort string."""
    return [
        (columns[part.lstrip("-+")], part.startswith("-"))
        for part in (p.strip() for p in sort.split(","))
        if part
    ]


def _order(stmt: Select[Any], sort: str, columns: dict[str, Any], tie: Any) -> Select[Any]:
    order = [
        column.desc().nulls_last() if desc else column.asc().nulls_last()
        for column, desc in _sort_keys(sort, columns)
    ]
    return stmt.order_by(*order, tie)


@dataclass(frozen=True, slots=True)
class TaskCount:
    """How many tasks match: exact up to the bound asked for; above it `total` is the bound and
    `is_lower_bound` is set (counting every match of a big inbox would read all of them)."""

    total: int
    is_lower_bound: bool


def after_condition(sort: str, values: Sequence[Any], last_id: str) -> ColumnElement[bool]:
    """Tasks that come after the row with sort values `values` and id `last_id` in the order
    of `sort` (each key ascending or descending, nulls last, then the id): keyset pagination.
    ValueError when the values do not fit the sort."""
    keys = _sort_keys(sort, ALL_TASK_SORTS)
    if len(values) != len(keys):
        raise ValueError("the cursor was made for another sort")
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for (column, desc), value in zip(keys, values, strict=True):
        if value is None:
            # nulls come last: no non-null value follows a null, only equal (null) rows
            equal.append(column.is_(None))
            continue
        beyond = column < value if desc else column > value
        alternatives.append(and_(*equal, or_(beyond, column.is_(None))))
        equal.append(column == value)
    alternatives.append(and_(*equal, Task.id > last_id))
    return or_(*alternatives)


def sort_values(task: Task, sort: str) -> list[Any]:
    """The values of `task` for the keys of `sort`, for a keyset cursor."""
    return [getattr(task, column.key) for column, _ in _sort_keys(sort, ALL_TASK_SORTS)]


def list_tasks(
    session: Session,
    principal: Principal,
    flt: TaskFilter,
    *,
    sort: str,
    limit: int,
    offset: int,
    after: ColumnElement[bool] | None = None,
    count_bound: int | None = None,
) -> tuple[list[Task], TaskCount]:
    """A page of the visible tasks matching `flt`: `offset` rows skipped, or only the rows
    `after` (after_condition) a cursor; counted exactly, or up to `count_bound` rows."""
    where = and_(*_task_conditions(principal, flt))
    count = _count(session, where, count_bound)
    if limit == 0:
        return [], count
    if after is not None:
        where = and_(where, after)
    stmt = _order(select(Task).where(where), sort, ALL_TASK_SORTS, Task.id)
    return list(session.scalars(stmt.limit(limit).offset(offset))), count


def _count(session: Session, where: ColumnElement[bool], bound: int | None) -> TaskCount:
    if bound is None:
        total = session.scalar(select(func.count()).select_from(Task).where(where)) or 0
        return TaskCount(total, False)
    # Reads at most bound + 1 matching rows, however many there are.
    matches = select(literal(1)).select_from(Task).where(where).limit(bound + 1).subquery()
    found = session.scalar(select(func.count()).select_from(matches)) or 0
    return TaskCount(min(found, bound), found > bound)


def _task_conditions(principal: Principal, flt: TaskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [task_visible(principal), *_candidate_conditions(flt)]
    if flt.assignee is not None:
        conditions.append(Task.assignee == flt.assignee)
    if flt.unassigned is True:
        conditions.append(Task.assignee.is_(None))
    elif flt.unassigned is False:
        conditions.append(Task.assignee.is_not(None))
    column: Any
    for column, value in (
        (Task.definition_key, flt.process_definition_key),
        (Task.instance_id, flt.process_instance_id),
        (Task.business_key, flt.business_key),
        (Task.element_id, flt.element_id),
    ):
        if value is not None:
            conditions.append(column == value)
    conditions += _range_conditions(flt)
    for column, values in (
        (Task.assignee, flt.assignees),
        (Task.definition_key, flt.process_definition_keys),
        (Task.business_key, flt.business_keys),
        (Task.element_id, flt.element_ids),
    ):
        if values is not None:
            conditions.append(column.in_(list(values)))
    for column, value in ((Task.definition_id, flt.process_definition_id), (Task.name, flt.name)):
        if value is not None:
            conditions.append(column == value)
    for column, pattern in ((Task.business_key, flt.business_key_like), (Task.name, flt.name_like)):
        if pattern is not None:
            conditions.append(column.like(pattern))
    return conditions


def _candidate_conditions(flt: TaskFilter) -> list[ColumnElement[bool]]:
    groups = [flt.candidate_group] if flt.candidate_group is not None else []
    groups += list(flt.candidate_groups or [])
    conditions: list[ColumnElement[bool]] = []
    if flt.candidate_group is not None or flt.candidate_groups is not None:
        conditions.append(
            exists().where(
                TaskCandidate.task_id == Task.id,
                TaskCandidate.kind == "group",
                TaskCandidate.ref.in_(groups),
            )
        )
    if flt.candidate_user is not None:
        conditions.append(
            exists().where(
                TaskCandidate.task_id == Task.id,
                or_(
                    and_(TaskCandidate.kind == "user", TaskCandidate.ref == flt.candidate_user),
                    and_(
                        TaskCandidate.kind == "group",
                        TaskCandidate.ref.in_(list(flt.candidate_user_groups)),
                    ),
                ),
            )
        )
    if conditions and not flt.include_assigned:
        conditions.append(Task.assignee.is_(None))
    return conditions


def _range_conditions(flt: TaskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, before, after in (
        (Task.due_at, flt.due_before, flt.due_after),
        (Task.follow_up_at, flt.follow_up_before, flt.follow_up_after),
        (Task.created_at, flt.created_before, flt.created_after),
    ):
        if before is not None:
            conditions.append(column < before)
        if after is not None:
            conditions.append(column > after)
    if flt.without_due:
        conditions.append(Task.due_at.is_(None))
    if flt.priority is not None:
        conditions.append(Task.priority == flt.priority)
    if flt.min_priority is not None:
        conditions.append(Task.priority >= flt.min_priority)
    if flt.max_priority is not None:
        conditions.append(Task.priority <= flt.max_priority)
    return conditions


def list_instances(
    session: Session,
    principal: Principal,
    *,
    definition_key: str | None,
    status: str | None,
    business_key: str | None,
    sort: str,
    limit: int,
    offset: int,
    ids: Sequence[str] | None = None,
    definition_id: str | None = None,
    definition_keys: Sequence[str] | None = None,
    business_key_like: str | None = None,
) -> tuple[list[ProcessInstance], int]:
    conditions: list[ColumnElement[bool]] = [instance_visible(principal)]
    if definition_key is not None:
        conditions.append(ProcessInstance.definition_key == definition_key)
    if status is not None:
        conditions.append(ProcessInstance.status == status)
    if business_key is not None:
        conditions.append(ProcessInstance.business_key == business_key)
    if ids is not None:
        conditions.append(ProcessInstance.id.in_(list(ids)))
    if definition_id is not None:
        conditions.append(ProcessInstance.definition_id == definition_id)
    if definition_keys is not None:
        conditions.append(ProcessInstance.definition_key.in_(list(definition_keys)))
    if business_key_like is not None:
        conditions.append(ProcessInstance.business_key.like(business_key_like))
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(where)) or 0
    if limit == 0:
        return [], total
    stmt = _order(select(ProcessInstance).where(where), sort, INSTANCE_SORTS, ProcessInstance.id)
    return list(session.scalars(stmt.limit(limit).offset(offset))), total
