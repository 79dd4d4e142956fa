"""Incidents in one place: what failed in a running case, where, and which repairs apply.

Sources:
* external tasks whose retries ran out (`external_task.incident_at`);
* failed runs kept in `run_incident` (services/run_incidents.py): a timer that could not fire
  (the scheduler parks the instance's timer), a run over its budget, a worker's answer or a
  message the process could not take; open until a repair or migration of the instance;
* a user task whose completion failed in the engine at a gateway, script or expression after it
  (`step_failed` in the history, recorded apart from the rolled-back completion). It stays open
  until the case moves on: a later completion, message, timer, repair or migration closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from bpmn_service.context import AppContext
from bpmn_service.db.models import (
    ExternalTask,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    RunIncident,
    Task,
)
from bpmn_service.errors import WorkflowFailed
from bpmn_service.identity import Principal

from . import incident_page, projection, run_incidents
from .incident_page import FAILURES, PROGRESS, IncidentQuery, IncidentRow
from .instances import spec_loader
from .uow import UnitOfWork

# A failed timer is listed from its run_incident row, which names the element.
LISTED = ("step_failed",)
# Retrying helps where the failed run was the poller's (the timer is parked until then).
RETRYABLE_RUNS = frozenset({"timer", "budget"})
REPAIRS = ["set_variables", "modification", "migration"]


@dataclass
class Incident:
    id: str
    instance_id: str
    business_key: str
    process_definition_key: str
    element_id: str | None
    element_name: str | None
    kind: str  # external_task | step | timer | budget | message | worker
    message: str
    since: datetime
    actions: list[str]
    details: dict[str, Any] = field(default_factory=dict)


def record_failed_step(ctx: AppContext, task_id: str, error: WorkflowFailed, actor: str) -> None:
    """A completion that failed in the engine (and was rolled back), kept for supervisors."""
    element = error.details.get("element") if isinstance(error.details, dict) else None
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task = session.get(Task, task_id)
        if task is None:
            return
        instance = session.get(ProcessInstance, task.instance_id)
        if instance is None or instance.status != "active":
            return
        projection.record(
            session,
            instance,
            "step_failed",
            at=ctx.clock(),
            actor=actor,
            task_id=task.id,
            element_id=element,
            details={"error": error.message, "task_element_id": task.element_id},
        )
        uow.commit()


def list_incidents(
    ctx: AppContext,
    principal: Principal,
    *,
    instance_id: str | None,
    definition_key: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Incident], int]:
    """A page of the open incidents, oldest first, each with the repairs that apply: the page
    is chosen in the database (incident_page.py), and only its incidents are described."""
    query = IncidentQuery(instance_id=instance_id, definition_key=definition_key)
    rows, total = incident_page.list_open(
        ctx, principal, query, sort=None, limit=limit, offset=offset
    )
    with UnitOfWork(ctx) as uow:
        session = uow.session
        page = _described(ctx, session, rows)
        _offer_migration_where_possible(session, page)
    return page, total


def _described(ctx: AppContext, session: Session, rows: list[IncidentRow]) -> list[Incident]:
    """The incidents of a page, in its order; one resolved since the page was read is left out."""
    ids: dict[str, list[str]] = {}
    for row in rows:
        ids.setdefault(row.source, []).append(row.id)
    found: dict[str, Incident] = {}
    if external := ids.get(incident_page.EXTERNAL):
        tasks = session.scalars(select(ExternalTask).where(ExternalTask.id.in_(external)))
        found.update((t.id, _external_incident(t)) for t in tasks)
    if steps := ids.get(incident_page.STEP):
        events = session.execute(
            select(HistoryEvent, ProcessInstance)
            .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
            .where(HistoryEvent.id.in_([int(i.removeprefix("h")) for i in steps]))
        )
        for event, instance in events.all():
            incident = _step_incident(ctx, session, event, instance)
            found[incident.id] = incident
    if runs := ids.get(incident_page.RUN):
        found.update(
            (r.id, _from_run(r))
            for r in session.scalars(select(RunIncident).where(RunIncident.id.in_(runs)))
        )
    return [found[row.id] for row in rows if row.id in found]


def _offer_migration_where_possible(session: Session, page: list[Incident]) -> None:
    """A case can only be migrated to another version of its process: where there is none,
    `migration` is not among the repairs offered."""
    keys = {i.process_definition_key for i in page if "migration" in i.actions}
    if not keys:
        return
    versioned = set(
        session.scalars(
            select(ProcessDefinition.key)
            .where(ProcessDefinition.key.in_(keys))
            .group_by(ProcessDefinition.key)
            .having(func.count() > 1)
        )
    )
    for incident in page:
        if incident.process_definition_key not in versioned:
            incident.actions = [a for a in incident.actions if a != "migration"]


def open_for_instance(ctx: AppContext, session: Session, instance_id: str) -> list[Incident]:
    return (
        _external(session, instance_id, None)
        + _recorded(ctx, session, instance_id, None)
        + _runs(session, instance_id, None)
    )


def external_incident_message(task: ExternalTask) -> str:
    """What a supervisor reads about an external task whose retries ran out."""
    return task.error_message or "the external task's retries ran out"


def _external(
    session: Session, instance_id: str | None, definition_key: str | None
) -> list[Incident]:
    stmt = select(ExternalTask).where(ExternalTask.incident_at.is_not(None))
    if instance_id is not None:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    if definition_key is not None:
        stmt = stmt.where(ExternalTask.definition_key == definition_key)
    return [_external_incident(t) for t in session.scalars(stmt)]


def _external_incident(t: ExternalTask) -> Incident:
    return Incident(
        id=t.id,
        instance_id=t.instance_id,
        business_key=t.business_key,
        process_definition_key=t.definition_key,
        element_id=t.element_id,
        element_name=t.name,
        kind="external_task",
        message=external_incident_message(t),
        since=t.incident_at or t.created_at,
        actions=["retry", *REPAIRS],
        details={"external_task_id": t.id, "topic": t.topic, "retries": t.retries},
    )


def _recorded(
    ctx: AppContext, session: Session, instance_id: str | None, definition_key: str | None
) -> list[Incident]:
    later = aliased(HistoryEvent)
    moved_on = exists().where(
        later.instance_id == HistoryEvent.instance_id,
        later.id > HistoryEvent.id,
        later.type.in_(PROGRESS + FAILURES),
    )
    stmt = (
        select(HistoryEvent, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        .where(
            HistoryEvent.type.in_(LISTED),
            ProcessInstance.status == "active",
            ~moved_on,
        )
    )
    if instance_id is not None:
        stmt = stmt.where(HistoryEvent.instance_id == instance_id)
    if definition_key is not None:
        stmt = stmt.where(ProcessInstance.definition_key == definition_key)
    return [
        _step_incident(ctx, session, event, instance)
        for event, instance in session.execute(stmt).all()
    ]


def _step_incident(
    ctx: AppContext, session: Session, event: HistoryEvent, instance: ProcessInstance
) -> Incident:
    names = ctx.runner.element_names(
        instance.definition_id, spec_loader(session, instance.definition_id)
    )
    return Incident(
        id=f"h{event.id}",
        instance_id=instance.id,
        business_key=instance.business_key,
        process_definition_key=instance.definition_key,
        element_id=event.element_id,
        element_name=names.get(event.element_id or ""),
        kind="step",
        message=str(event.details.get("error", "")),
        since=event.occurred_at,
        actions=REPAIRS,
        details={"task_id": event.task_id} if event.task_id else {},
    )


def _runs(session: Session, instance_id: str | None, definition_key: str | None) -> list[Incident]:
    return [
        _from_run(r)
        for r in run_incidents.open_for(
            session, instance_id=instance_id, definition_key=definition_key
        )
    ]


def _from_run(run: RunIncident) -> Incident:
    return Incident(
        id=run.id,
        instance_id=run.instance_id,
        business_key=run.business_key,
        process_definition_key=run.definition_key,
        element_id=run.element_id,
        element_name=run.element_name,
        kind=run.kind,
        message=run.message,
        since=run.created_at,
        actions=(["retry", *REPAIRS] if _retryable(run) else REPAIRS),
        details={
            "occurrences": run.occurrences,
            "last_at": run.last_at,
            **({"external_task_id": run.external_task_id} if run.external_task_id else {}),
        },
    )


def _retryable(run: RunIncident) -> bool:
    """A parked timer runs again; a task parked by its worker's refused answer is handed out
    again."""
    return run.kind in RETRYABLE_RUNS or (run.kind == "worker" and bool(run.external_task_id))
