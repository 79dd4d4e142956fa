from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES, MAX_OFFSET
from bpmn_service.api.schemas import (
    ExternalTaskBpmnError,
    ExternalTaskComplete,
    ExternalTaskExtendLock,
    ExternalTaskFailure,
    ExternalTaskRead,
    FetchAndLock,
    Page,
    RetriesSet,
)
from bpmn_service.context import AppContext
from bpmn_service.identity import Principal
from bpmn_service.services import external_tasks

router = APIRouter(prefix="/external-tasks", tags=["external-tasks"])


@router.post("/fetch-and-lock", response_model=list[ExternalTaskRead], responses=ERROR_RESPONSES)
def fetch_and_lock(
    ctx: ContextDep, principal: PrincipalDep, body: FetchAndLock
) -> list[ExternalTaskRead]:
    """Lock available tasks of the topics for a worker (expired locks count as available)."""
    tasks = external_tasks.fetch_and_lock(
        ctx,
        principal,
        worker_id=body.worker_id,
        topics=body.topics,
        lock_seconds=body.lock_seconds,
        max_tasks=body.max_tasks,
        process_instance_id=body.process_instance_id,
    )
    return [ExternalTaskRead.model_validate(t, from_attributes=True) for t in tasks]


@router.get("", response_model=Page[ExternalTaskRead], responses=ERROR_RESPONSES)
def list_external_tasks(
    ctx: ContextDep,
    principal: PrincipalDep,
    topic: str | None = None,
    process_instance_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[ExternalTaskRead]:
    """Open external tasks (workers, supervisors, admins)."""
    return _page(ctx, principal, topic, False, process_instance_id, limit, offset)


@router.get("/{task_id}", response_model=ExternalTaskRead, responses=ERROR_RESPONSES)
def get_external_task(ctx: ContextDep, principal: PrincipalDep, task_id: str) -> ExternalTaskRead:
    """One open external task (workers, supervisors, analysts, admins): its lock, retries and
    last error; 404 once it is completed or withdrawn."""
    task = external_tasks.get_external_task(ctx, principal, task_id)
    return ExternalTaskRead.model_validate(task, from_attributes=True)


@router.post("/{task_id}/complete", responses=ERROR_RESPONSES, status_code=204)
def complete_external_task(
    ctx: ContextDep, principal: PrincipalDep, task_id: str, body: ExternalTaskComplete
) -> None:
    """Complete a task locked by this worker; its variables go into the instance."""
    external_tasks.complete(
        ctx, principal, task_id, worker_id=body.worker_id, variables=body.variables
    )


@router.post("/{task_id}/bpmn-error", responses=ERROR_RESPONSES, status_code=204)
def report_external_task_bpmn_error(
    ctx: ContextDep, principal: PrincipalDep, task_id: str, body: ExternalTaskBpmnError
) -> None:
    """Report a business error (e.g. the construction unit is not licensed): the task's error
    boundary event for error_code takes over; 422 when none catches it."""
    external_tasks.raise_error(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        code=body.error_code,
        message=body.error_message,
        variables=body.variables,
    )


@router.post("/{task_id}/failure", response_model=ExternalTaskRead, responses=ERROR_RESPONSES)
def report_external_task_failure(
    ctx: ContextDep, principal: PrincipalDep, task_id: str, body: ExternalTaskFailure
) -> ExternalTaskRead:
    """Report a failure: retried after retry_seconds, or an incident when no retries are left."""
    task = external_tasks.fail(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        message=body.error_message,
        details=body.error_details,
        retries=body.retries,
        retry_seconds=body.retry_seconds,
    )
    return ExternalTaskRead.model_validate(task, from_attributes=True)


@router.post("/{task_id}/extend-lock", response_model=ExternalTaskRead, responses=ERROR_RESPONSES)
def extend_external_task_lock(
    ctx: ContextDep, principal: PrincipalDep, task_id: str, body: ExternalTaskExtendLock
) -> ExternalTaskRead:
    """Keep a task locked by this worker longer: the lock now ends lock_seconds from now."""
    task = external_tasks.extend_lock(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        lock=timedelta(seconds=body.lock_seconds),
    )
    return ExternalTaskRead.model_validate(task, from_attributes=True)


@router.post("/{task_id}/unlock", response_model=ExternalTaskRead, responses=ERROR_RESPONSES)
def unlock_external_task(
    ctx: ContextDep, principal: PrincipalDep, task_id: str
) -> ExternalTaskRead:
    """Give a task back (workers, admins): its lock and worker are cleared and any worker may
    fetch it at once; a failure's retry wait ends too."""
    task = external_tasks.unlock(ctx, principal, task_id)
    return ExternalTaskRead.model_validate(task, from_attributes=True)


@router.post("/{task_id}/retries", response_model=ExternalTaskRead, responses=ERROR_RESPONSES)
def set_external_task_retries(
    ctx: ContextDep, principal: PrincipalDep, task_id: str, body: RetriesSet
) -> ExternalTaskRead:
    """Give a task (e.g. an incident) new retries so workers pick it up again (admin)."""
    task = external_tasks.set_retries(ctx, principal, task_id, body.retries)
    return ExternalTaskRead.model_validate(task, from_attributes=True)


def _page(
    ctx: AppContext,
    principal: Principal,
    topic: str | None,
    incidents_only: bool,
    process_instance_id: str | None,
    limit: int,
    offset: int,
) -> Page[ExternalTaskRead]:
    rows, total = external_tasks.list_external_tasks(
        ctx,
        principal,
        topic=topic,
        incidents_only=incidents_only,
        process_instance_id=process_instance_id,
        limit=limit,
        offset=offset,
    )
    return Page[ExternalTaskRead](
        items=[ExternalTaskRead.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )
