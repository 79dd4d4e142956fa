"""Write an engine RunResult to the task table, the candidates, the history and the instance row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpmn_service.db.models import (
    ExternalTask,
    HistoricTask,
    HistoricWait,
    HistoryEvent,
    MessageSubscription,
    ProcessInstance,
    Task,
    TaskCandidate,
)
from bpmn_service.engine import STATE_FORMAT, ExternalWork, ReadyTask, RunResult
from bpmn_service.errors import WorkflowFailed
from bpmn_service.lanes import LaneGroups
from bpmn_service.timeutil import resolve_due

from . import telemetry

# Groups that act for the customer and its contractors: their tasks and waits are not utility time.
EXTERNAL_GROUPS = frozenset({"customer", "contractor"})


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


def close_task(session: Session, task: Task, *, at: datetime, reason: str, by: str | None) -> None:
    """Move an open task to history (completed or cancelled) and delete its inbox row."""
    groups = list(
        session.scalars(
            select(TaskCandidate.ref).where(
                TaskCandidate.task_id == task.id, TaskCandidate.kind == "group"
            )
        )
    )
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
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task.id))
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
    open_rows = {
        t.id: t for t in session.scalars(select(Task).where(Task.instance_id == instance.id))
    }
    for task_id, row in open_rows.items():
        if task_id not in ready_ids:
            record(
                session,
                instance,
                "task_cancelled",
                at=at,
                actor=actor,
                task_id=task_id,
                element_id=row.element_id,
                details={"reason": "withdrawn by the engine"},
            )
            close_task(session, row, at=at, reason="cancelled", by=None)
    created = []
    for ready in result.ready_tasks:
        if ready.id not in open_rows:
            created.append(_create_task(session, instance, ready, lanes, at))
    _sync_external_tasks(session, instance, result.external_tasks, at)
    _sync_subscriptions(session, instance, result, lanes, at)
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
    session.flush()
    for group in dict.fromkeys(groups):
        session.add(TaskCandidate(task_id=row.id, kind="group", ref=group))
    for user in dict.fromkeys(ready.candidate_users or []):
        session.add(TaskCandidate(task_id=row.id, kind="user", ref=user))
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


def _sync_external_tasks(
    session: Session, instance: ProcessInstance, ready: list[ExternalWork], at: datetime
) -> None:
    ready_ids = {w.id for w in ready}
    rows = {
        t.id: t
        for t in session.scalars(
            select(ExternalTask).where(ExternalTask.instance_id == instance.id)
        )
    }
    for task_id, row in rows.items():
        if task_id not in ready_ids:
            record(
                session,
                instance,
                "external_task_withdrawn",
                at=at,
                actor=None,
                task_id=task_id,
                element_id=row.element_id,
            )
            session.delete(row)
    for work in ready:
        if work.id in rows:
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
    session: Session, instance: ProcessInstance, result: RunResult, lanes: LaneGroups, at: datetime
) -> None:
    existing = {
        s.task_id: s
        for s in session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
        )
    }
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
