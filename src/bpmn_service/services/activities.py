"""Where a case stands: its active elements with what the database knows about each (assignee,
lock, retries, the message a wait accepts), and the message waits a portal may send to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db import queries
from bpmn_service.db.models import (
    ExternalTask,
    MessageSubscription,
    ProcessInstance,
    Task,
)
from bpmn_service.engine import ActivityNode
from bpmn_service.identity import Principal

from . import incidents
from .contracts import carried_variables
from .instances import spec_loader, visible_instance
from .uow import UnitOfWork


@dataclass
class Activity:
    element_id: str
    name: str | None
    kind: str
    lane: str | None
    since: datetime | None
    details: dict[str, Any] = field(default_factory=dict)
    children: list[Activity] = field(default_factory=list)
    task_id: str | None = None  # the engine's task (None: a wait with no task yet)


@dataclass
class InstanceActivities:
    instance: ProcessInstance
    activities: list[Activity]


def instance_activities(
    ctx: AppContext, instance_id: str, principal: Principal
) -> InstanceActivities:
    with UnitOfWork(ctx) as uow:
        session = uow.session
        instance = visible_instance(session, instance_id, principal)
        if instance.status != "active":
            return InstanceActivities(instance, [])
        nodes = ctx.runner.activities(
            instance.definition_id, spec_loader(session, instance.definition_id), instance.state
        )
        known = _Known.read(session, instance, ctx.clock())
        tree = [_activity(session, instance, known, n) for n in nodes]
        tree += [
            Activity(
                element_id=i.element_id or "",
                name=i.element_name,
                kind="failed",
                lane=None,
                since=i.since,
                details={"incident_id": i.id, "error": i.message},
            )
            for i in incidents.open_for_instance(ctx, session, instance.id)
            if i.kind != "external_task"
        ]
        return InstanceActivities(instance, tree)


@dataclass
class _Known:
    tasks: dict[str, Task]
    candidates: dict[str, dict[str, list[str]]]
    external: dict[str, ExternalTask]
    waits: dict[str, MessageSubscription]
    now: datetime

    @classmethod
    def read(cls, session: Session, instance: ProcessInstance, now: datetime) -> _Known:
        tasks = {
            t.id: t for t in session.scalars(select(Task).where(Task.instance_id == instance.id))
        }
        return cls(
            tasks,
            queries.candidates_of(session, list(tasks)),
            {
                t.id: t
                for t in session.scalars(
                    select(ExternalTask).where(ExternalTask.instance_id == instance.id)
                )
            },
            {
                s.task_id: s
                for s in session.scalars(
                    select(MessageSubscription).where(
                        MessageSubscription.instance_id == instance.id
                    )
                )
            },
            now,
        )


def _activity(
    session: Session, instance: ProcessInstance, known: _Known, node: ActivityNode
) -> Activity:
    details = dict(node.details)
    since = node.since
    task_id = node.task_id or ""
    if node.kind == "user_task":
        row = known.tasks.get(task_id)
        details["task_id"] = task_id
        if row is not None:
            since = row.created_at
            details.update(
                assignee=row.assignee,
                candidate_groups=known.candidates.get(row.id, {}).get("group", []),
                due=row.due_at,
            )
    elif node.kind == "external_task":
        ext = known.external.get(task_id)
        details["external_task_id"] = task_id
        if ext is not None:
            since = ext.created_at
            locked = ext.lock_expires_at is not None and ext.lock_expires_at > known.now
            details.update(
                topic=ext.topic,
                # An expired lock holds nothing: any worker may fetch the task again.
                lock_owner=ext.worker_id if locked else None,
                lock_expires=ext.lock_expires_at if locked else None,
                retries=ext.retries,
            )
            if ext.incident_at is not None:
                # Its incident is the external task itself (GET /incidents lists it by this id).
                details.update(incident_id=ext.id, error=incidents.external_incident_message(ext))
    elif node.kind == "message_wait":
        wait = known.waits.get(task_id)
        if wait is not None:
            since = wait.created_at
        details["variables"] = carried_variables(
            session, instance.definition_id, details["message_name"]
        )
    return Activity(
        element_id=node.element_id,
        name=node.name,
        kind=node.kind,
        lane=node.lane,
        since=since,
        details=details,
        children=[_activity(session, instance, known, c) for c in node.children],
        task_id=node.task_id,
    )


@dataclass(frozen=True, slots=True)
class EventSubscription:
    instance_id: str
    business_key: str
    process_definition_key: str
    element_id: str
    element_name: str | None
    message_name: str
    variables: list[str] | None
    since: datetime
    event_subprocess: bool


def event_subscriptions(
    ctx: AppContext,
    principal: Principal,
    *,
    business_key: str | None,
    message_name: str | None,
    definition_key: str | None,
    limit: int,
    offset: int,
) -> tuple[list[EventSubscription], int]:
    """Message waits of active instances. Whoever knows a case's business key may ask what it
    waits for (anyone may send it a message); otherwise only the instances the caller sees."""
    stmt = select(MessageSubscription).join(
        ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id
    )
    if business_key is not None:
        stmt = stmt.where(MessageSubscription.business_key == business_key)
    else:
        stmt = stmt.where(queries.instance_visible(principal))
    if message_name is not None:
        stmt = stmt.where(MessageSubscription.message_name == message_name)
    if definition_key is not None:
        stmt = stmt.where(MessageSubscription.definition_key == definition_key)
    stmt = stmt.where(ProcessInstance.status == "active")
    with UnitOfWork(ctx) as uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(
            stmt.order_by(MessageSubscription.created_at, MessageSubscription.task_id)
            .limit(limit)
            .offset(offset)
        ).all()
        definition_of = dict(
            session.execute(
                select(ProcessInstance.id, ProcessInstance.definition_id).where(
                    ProcessInstance.id.in_({r.instance_id for r in rows})
                )
            ).all()
        )
        return [
            EventSubscription(
                instance_id=r.instance_id,
                business_key=r.business_key,
                process_definition_key=r.definition_key,
                element_id=r.element_id,
                element_name=ctx.runner.element_names(
                    definition_of[r.instance_id],
                    spec_loader(session, definition_of[r.instance_id]),
                ).get(r.element_id),
                message_name=r.message_name,
                variables=carried_variables(session, definition_of[r.instance_id], r.message_name),
                since=r.created_at,
                event_subprocess=r.event_subprocess,
            )
            for r in rows
        ], total
