"""Camunda's external-task resource, what Camunda's external-task clients call.

fetchAndLock long-polls: with `asyncResponseTimeout` the request waits, checking the database
every POLL_SECONDS (so workers of every server process see tasks any of them created), until a
task is available, the timeout passes or the worker hangs up. Locks, retries, incidents and BPMN
errors are the services' own, shared with /api/v1/external-tasks.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.declared import declared_dates
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count
from bpmn_service.api.compat.values import DeclaredDates, camunda_date, from_typed, typed_all
from bpmn_service.api.compat.work_schemas import (
    CompleteExternalTask,
    ExtendLock,
    ExternalTask,
    ExternalTaskBpmnError,
    ExternalTaskFailure,
    FetchExternalTasks,
    FetchTopic,
    LockedExternalTask,
    Priority,
    Retries,
)
from bpmn_service.api.deps import ContextDep
from bpmn_service.context import AppContext
from bpmn_service.errors import FieldError
from bpmn_service.services import external_tasks
from bpmn_service.services.external_tasks import TopicRequest

router = APIRouter(prefix="/external-task", tags=["external-task"])
POLL_SECONDS = 0.5
NO_CONTENT: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    204: {"description": "done"},
}


def _topic(topic: FetchTopic) -> TopicRequest | None:
    """The service's request for one topic; None when it can match nothing (tenants)."""
    problems = []
    if topic.process_variables:
        problems.append(FieldError("processVariables", "filtering by variables is not supported"))
    if topic.local_variables:
        problems.append(FieldError("localVariables", "there are no local variables"))
    if topic.process_definition_version_tag is not None:
        problems.append(
            FieldError("processDefinitionVersionTag", "version tags are not supported here")
        )
    if problems:
        raise bad_request(problems)
    if topic.tenant_id_in:
        return None
    ids = [topic.process_definition_id] if topic.process_definition_id else []
    keys = [topic.process_definition_key] if topic.process_definition_key else []
    ids += topic.process_definition_id_in or []
    keys += topic.process_definition_key_in or []
    return TopicRequest(
        topic=topic.topic_name,
        lock=timedelta(milliseconds=topic.lock_duration),
        business_key=topic.business_key,
        definition_keys=tuple(keys) if keys else None,
        definition_ids=tuple(ids) if ids else None,
        extension_properties=topic.include_extension_properties,
    )


def _locked(
    task: Any, names: list[str] | None, dates: DeclaredDates | None = None
) -> LockedExternalTask:
    return LockedExternalTask(
        activity_id=task.element_id,
        activity_instance_id=f"{task.element_id}:{task.id}",
        error_message=task.error_message,
        error_details=task.error_details,
        execution_id=task.instance_id,
        id=task.id,
        lock_expiration_time=camunda_date(task.lock_expires_at),
        create_time=camunda_date(task.created_at) or "",
        process_definition_id=task.definition_id,
        process_definition_key=task.definition_key,
        process_instance_id=task.instance_id,
        retries=task.retries,
        worker_id=task.worker_id,
        topic_name=task.topic,
        variables=typed_all(task.variables or {}, names, dates),
        business_key=task.business_key,
        extension_properties=getattr(task, "extension_properties", None) or {},
    )


def _answer(
    ctx: AppContext, tasks: list[Any], names: dict[str, list[str] | None]
) -> list[LockedExternalTask]:
    """The locked tasks with the variables each topic asked for, typed (a date its process
    declares is a Date)."""
    return [_locked(t, names.get(t.topic), declared_dates(ctx, t.definition_id)) for t in tasks]


@router.post("/fetchAndLock", response_model=list[LockedExternalTask], responses=ERROR_RESPONSES)
async def fetch_and_lock(
    ctx: ContextDep, request: Request, principal: CamundaPrincipalDep, body: FetchExternalTasks
) -> list[LockedExternalTask]:
    """Lock up to maxTasks available tasks of the topics, oldest first; with
    asyncResponseTimeout (ms), wait for one that long."""
    requests = [r for r in (_topic(t) for t in body.topics) if r is not None]
    if not requests or body.max_tasks == 0:
        return []
    names = {t.topic_name: t.variables for t in reversed(body.topics)}
    deadline = time.monotonic() + (body.async_response_timeout or 0) / 1000
    while True:
        tasks = await run_in_threadpool(
            external_tasks.fetch_and_lock_topics,
            ctx,
            principal,
            worker_id=body.worker_id,
            requests=requests,
            max_tasks=body.max_tasks,
        )
        left = deadline - time.monotonic()
        if tasks:  # the declared dates are cached per version; a miss reads the database
            return await run_in_threadpool(_answer, ctx, tasks, names)
        if left <= 0:
            return []
        await asyncio.sleep(min(POLL_SECONDS, left))
        if await request.is_disconnected():  # nobody would receive the tasks it locked
            return []


@router.post("/{task_id}/complete", status_code=204, responses=NO_CONTENT)
def complete_external_task(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: CompleteExternalTask
) -> Response:
    """Complete a task locked by this worker; its variables go into the instance."""
    if body.local_variables:
        raise bad_request(
            [FieldError("localVariables", "there are no local variables; send them as variables")]
        )
    external_tasks.complete(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        variables=from_typed(body.variables, zone=ctx.calendar.timezone),
    )
    return Response(status_code=204)


@router.post("/{task_id}/failure", status_code=204, responses=NO_CONTENT)
def handle_failure(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: ExternalTaskFailure
) -> Response:
    """Report a failure: retried after retryTimeout (ms), an incident when no retries are left."""
    if body.variables or body.local_variables:
        raise bad_request([FieldError("variables", "a failure carries no variables")])
    external_tasks.fail(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        message=body.error_message or "the worker reported a failure",
        details=body.error_details,
        retries=body.retries,
        retry_seconds=body.retry_timeout / 1000,
    )
    return Response(status_code=204)


@router.post("/{task_id}/bpmnError", status_code=204, responses=NO_CONTENT)
def handle_bpmn_error(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: ExternalTaskBpmnError
) -> Response:
    """A business error: the task's error boundary event for errorCode takes over (400 when
    nothing catches it, and the task stays locked)."""
    external_tasks.raise_error(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        code=body.error_code,
        message=body.error_message,
        variables=from_typed(body.variables, zone=ctx.calendar.timezone),
    )
    return Response(status_code=204)


@router.post("/{task_id}/extendLock", status_code=204, responses=NO_CONTENT)
def extend_lock(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: ExtendLock
) -> Response:
    """Keep a task longer: its lock now ends newDuration ms from now."""
    external_tasks.extend_lock(
        ctx,
        principal,
        task_id,
        worker_id=body.worker_id,
        lock=timedelta(milliseconds=body.new_duration),
    )
    return Response(status_code=204)


@router.post("/{task_id}/unlock", status_code=204, responses=NO_CONTENT)
def unlock(ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str) -> Response:
    """Give a task back: its lock and worker are cleared, any worker may fetch it at once."""
    external_tasks.unlock(ctx, principal, task_id)
    return Response(status_code=204)


@router.put("/{task_id}/priority", status_code=204, responses=NO_CONTENT)
def set_priority(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: Priority
) -> Response:
    """Refused with 400: external tasks have no priority here (fetchAndLock hands them out oldest
    first), and a priority kept without effect would mislead."""
    external_tasks.get_external_task(ctx, principal, task_id)  # 404 for an unknown task first
    why = f"{body.priority} is not kept: external tasks have no priority here (oldest first)"
    raise bad_request([FieldError("priority", why)])


@router.put("/{task_id}/retries", status_code=204, responses=NO_CONTENT)
def set_retries(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: Retries
) -> Response:
    """Give a task (e.g. an incident) new retries (admin)."""
    external_tasks.set_retries(ctx, principal, task_id, body.retries)
    return Response(status_code=204)


def _dto(task: Any) -> ExternalTask:
    locked = _locked(task, [])
    return ExternalTask.model_validate(locked.model_dump(exclude={"variables", "error_details"}))


@router.get("", response_model=list[ExternalTask], responses=ERROR_RESPONSES)
def get_external_tasks(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    topic_name: Annotated[str | None, Query(alias="topicName")] = None,
    process_instance_id: params.ProcessInstanceId = None,
    no_retries_left: Annotated[bool, Query(alias="noRetriesLeft")] = False,
) -> list[ExternalTask]:
    """Open external tasks (workers, supervisors, analysts, admins); noRetriesLeft: incidents."""
    rows, _total = external_tasks.list_external_tasks(
        ctx,
        principal,
        topic=topic_name,
        incidents_only=no_retries_left,
        process_instance_id=process_instance_id,
        limit=page.limit,
        offset=page.offset,
    )
    return [_dto(r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_external_tasks_count(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    topic_name: Annotated[str | None, Query(alias="topicName")] = None,
    process_instance_id: params.ProcessInstanceId = None,
    no_retries_left: Annotated[bool, Query(alias="noRetriesLeft")] = False,
) -> Count:
    """How many open external tasks `GET /external-task` lists with the same filters."""
    _rows, total = external_tasks.list_external_tasks(
        ctx,
        principal,
        topic=topic_name,
        incidents_only=no_retries_left,
        process_instance_id=process_instance_id,
        limit=1,
        offset=0,
    )
    return Count(count=total)


@router.get("/topic-names", response_model=list[str], responses=ERROR_RESPONSES)
def get_topic_names(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    with_locked_tasks: Annotated[bool, Query(alias="withLockedTasks")] = False,
    with_unlocked_tasks: Annotated[bool, Query(alias="withUnlockedTasks")] = False,
    with_retries_left: Annotated[bool, Query(alias="withRetriesLeft")] = False,
) -> list[str]:
    """The topic names of open external tasks, as Camunda answers them (before `/{id}`, which
    would read `topic-names` as a task id)."""
    return external_tasks.topic_names(
        ctx,
        principal,
        locked=with_locked_tasks,
        unlocked=with_unlocked_tasks,
        retries_left=with_retries_left,
    )


@router.get("/{task_id}", response_model=ExternalTask, responses=ERROR_RESPONSES)
def get_external_task(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str
) -> ExternalTask:
    """One open external task."""
    return _dto(external_tasks.get_external_task(ctx, principal, task_id))
