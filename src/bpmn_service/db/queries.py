"""Read side: visibility predicates and list queries over the projection tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from bpmn_service.identity import Principal

from .models import HistoricTask, ProcessInstance, Task, TaskCandidate

TASK_SORTS = {
    "created": Task.created_at,
    "due": Task.due_at,
    "priority": Task.priority,
    "name": Task.name,
}
INSTANCE_SORTS = {"started": ProcessInstance.started_at, "ended": ProcessInstance.ended_at}
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
    candidate_group: str | None = None
    assignee: str | None = None
    unassigned: bool | None = None
    process_definition_key: str | None = None
    process_instance_id: str | None = None
    business_key: str | None = None
    element_id: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


def _order(stmt: Select[Any], sort: str, columns: dict[str, Any], tie: Any) -> Select[Any]:
    order = []
    for part in [p.strip() for p in sort.split(",") if p.strip()]:
        desc = part.startswith("-")
        column = columns[part.lstrip("-+")]
        order.append(column.desc().nulls_last() if desc else column.asc().nulls_last())
    return stmt.order_by(*order, tie)


def list_tasks(
    session: Session, principal: Principal, flt: TaskFilter, *, sort: str, limit: int, offset: int
) -> tuple[list[Task], int]:
    conditions: list[ColumnElement[bool]] = [task_visible(principal)]
    if flt.candidate_group is not None:
        conditions.append(
            exists().where(
                TaskCandidate.task_id == Task.id,
                TaskCandidate.kind == "group",
                TaskCandidate.ref == flt.candidate_group,
            )
        )
    if flt.assignee is not None:
        conditions.append(Task.assignee == flt.assignee)
    if flt.unassigned is True:
        conditions.append(Task.assignee.is_(None))
    elif flt.unassigned is False:
        conditions.append(Task.assignee.is_not(None))
    for column, value in (
        (Task.definition_key, flt.process_definition_key),
        (Task.instance_id, flt.process_instance_id),
        (Task.business_key, flt.business_key),
        (Task.element_id, flt.element_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if flt.due_before is not None:
        conditions.append(Task.due_at < flt.due_before)
    if flt.due_after is not None:
        conditions.append(Task.due_at > flt.due_after)
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(Task).where(where)) or 0
    stmt = _order(select(Task).where(where), sort, TASK_SORTS, Task.id)
    return list(session.scalars(stmt.limit(limit).offset(offset))), total


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
) -> tuple[list[ProcessInstance], int]:
    conditions: list[ColumnElement[bool]] = [instance_visible(principal)]
    if definition_key is not None:
        conditions.append(ProcessInstance.definition_key == definition_key)
    if status is not None:
        conditions.append(ProcessInstance.status == status)
    if business_key is not None:
        conditions.append(ProcessInstance.business_key == business_key)
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(where)) or 0
    stmt = _order(select(ProcessInstance).where(where), sort, INSTANCE_SORTS, ProcessInstance.id)
    return list(session.scalars(stmt.limit(limit).offset(offset))), total
