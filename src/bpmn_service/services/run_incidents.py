"""Failed runs nobody could be answered about: one `run_incident` row per failure.

A timer that could not fire, an engine run over its budget (engine/budget.py) or a worker's answer
the process could not take is rolled back; what is left is this record, naming the instance, the
element and the reason, until a supervisor resolves it. While a timer or budget incident of an
instance is open, its timer is parked (next_timer_at is null), so the poller never retries the
same poison run. External tasks whose retries ran out keep their own incident on external_task.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessInstance, RunIncident
from bpmn_service.engine import BudgetExceeded
from bpmn_service.errors import NotFound, ServiceError, WorkflowFailed

from . import projection, runtime
from .instances import spec_loader
from .uow import UnitOfWork

log = logging.getLogger("bpmn_service.incidents")

Kind = Literal["timer", "message", "worker", "budget", "stuck"]
_MESSAGE_LIMIT = 4000


def record(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    *,
    kind: Kind,
    error: ServiceError,
    at: datetime,
    actor: str | None = None,
    external_task_id: str | None = None,
) -> RunIncident:
    """Add the incident of a failed run of `instance` (the run itself was not kept). One cause
    is one incident: while one of the same instance, element and kind is open, the failure
    recurring counts on it (`occurrences`, `last_at`) and the history is not written again."""
    element = _element(error)
    same = _open_same(session, instance.id, element, kind)
    if same is not None:
        same.occurrences += 1
        same.last_at = at
        same.external_task_id = same.external_task_id or external_task_id
        log.warning(
            "incident %s (%s) on instance %s at %s recurred (%d times): %s",
            same.id,
            kind,
            instance.id,
            element,
            same.occurrences,
            error.message[:_MESSAGE_LIMIT],
        )
        return same
    incident = RunIncident(
        id=str(uuid.uuid4()),
        instance_id=instance.id,
        definition_key=instance.definition_key,
        business_key=instance.business_key,
        element_id=element,
        element_name=_element_name(ctx, session, instance, element),
        kind=kind,
        message=error.message[:_MESSAGE_LIMIT],
        created_at=at,
        external_task_id=external_task_id,
        occurrences=1,
    )
    session.add(incident)
    details = {"incident_id": incident.id, "kind": kind, "error": incident.message}
    if external_task_id is not None:
        details["external_task_id"] = external_task_id
    projection.record(
        session,
        instance,
        "incident_opened",
        at=at,
        actor=actor,
        element_id=element,
        details=details,
    )
    log.error(
        "incident %s (%s) on instance %s at %s: %s",
        incident.id,
        kind,
        instance.id,
        element,
        incident.message,
    )
    return incident


def _open_same(
    session: Session, instance_id: str, element: str | None, kind: str
) -> RunIncident | None:
    stmt = select(RunIncident).where(
        RunIncident.instance_id == instance_id,
        RunIncident.kind == kind,
        RunIncident.resolved_at.is_(None),
        RunIncident.element_id.is_(None) if element is None else RunIncident.element_id == element,
    )
    return session.scalars(stmt.order_by(RunIncident.created_at, RunIncident.id).limit(1)).first()


def parks(task_id: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Whether an open worker incident parks the external task `task_id`: its worker's answer
    could not be taken, so the task is not handed out again (the same answer would fail again)
    until a repair or a retry closes the incident."""
    return exists().where(
        RunIncident.external_task_id == task_id,
        RunIncident.kind == "worker",
        RunIncident.resolved_at.is_(None),
    )


def record_apart(
    ctx: AppContext,
    instance_id: str,
    *,
    kind: Kind,
    error: ServiceError,
    actor: str | None = None,
    external_task_id: str | None = None,
) -> None:
    """The incident of a request's run that was rolled back, in a transaction of its own (under
    the instance's row lock, so that two failures of one cause make one incident)."""
    with UnitOfWork(ctx, write=True) as uow:
        try:
            instance = runtime.lock_instance(uow.session, instance_id)
        except NotFound:
            return
        record(
            ctx,
            uow.session,
            instance,
            kind=kind,
            error=error,
            at=ctx.clock(),
            actor=actor,
            external_task_id=external_task_id,
        )
        uow.commit()


def after_failed_run(
    ctx: AppContext,
    exc: BaseException,
    *,
    kind: Kind | None,
    actor: str | None,
    external_task_id: str | None = None,
) -> None:
    """Called as a request's failed run propagates: a run over its budget always leaves an
    incident (the case loops, whoever triggered it); other failed runs only when `kind` says
    the caller cannot fix them (a worker's answer)."""
    if not isinstance(exc, WorkflowFailed) or exc.instance_id is None:
        return
    if isinstance(exc, BudgetExceeded):
        kind = "budget"
    if kind is None:
        return
    record_apart(
        ctx, exc.instance_id, kind=kind, error=exc, actor=actor, external_task_id=external_task_id
    )


def open_for(
    session: Session, *, instance_id: str | None = None, definition_key: str | None = None
) -> list[RunIncident]:
    """The open incidents, oldest first, of one instance or one process (or all)."""
    stmt = select(RunIncident).where(RunIncident.resolved_at.is_(None))
    if instance_id is not None:
        stmt = stmt.where(RunIncident.instance_id == instance_id)
    if definition_key is not None:
        stmt = stmt.where(RunIncident.definition_key == definition_key)
    return list(session.scalars(stmt.order_by(RunIncident.created_at, RunIncident.id)))


def resolve(incident: RunIncident, *, at: datetime, by: str) -> None:
    """Mark an incident resolved (after a repair retried or cancelled what failed)."""
    incident.resolved_at = at
    incident.resolved_by = by


def resolve_open(
    session: Session,
    instance_id: str,
    *,
    at: datetime,
    by: str,
    kinds: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """A repair or migration that went through settles the instance again (its timer is due
    again if it has one), so what failed before is no longer where the case stands; a worker's
    answer that went through closes the worker incidents (`kinds`) its earlier answer left.
    Returns what was closed, for the history entry of what closed it."""
    found = [
        i for i in open_for(session, instance_id=instance_id) if kinds is None or i.kind in kinds
    ]
    for incident in found:
        resolve(incident, at=at, by=by)
    return [{"id": i.id, "kind": i.kind, "element_id": i.element_id} for i in found]


def _element(error: ServiceError) -> str | None:
    details = error.details if isinstance(error.details, dict) else {}
    element = details.get("element")
    return element if isinstance(element, str) else None


def _element_name(
    ctx: AppContext, session: Session, instance: ProcessInstance, element: str | None
) -> str | None:
    if element is None:
        return None
    try:
        return ctx.runner.element_name(
            instance.definition_id, spec_loader(session, instance.definition_id), element
        )
    except ServiceError:
        return None
