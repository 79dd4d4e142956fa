"""Camunda's task resource over the service's inbox: the same visibility, claim race and form
validation as /api/v1/tasks.

A caller sees the tasks assigned to them or offered to them or their groups (admins: all).
Completing needs the task claimed by the caller, as on /api/v1. Claiming for someone else and
setting the assignee are for supervisors, and the user must exist in the users file.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.declared import declared_dates
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count, VariableValue
from bpmn_service.api.compat.task_filters import SORTS, TaskFilters
from bpmn_service.api.compat.values import (
    DeclaredDates,
    camunda_date,
    from_typed,
    typed_all,
    typed_form_value,
    typed_one,
)
from bpmn_service.api.compat.work_schemas import (
    CompleteTask,
    IdentityLink,
    Task,
    TaskForm,
    UserId,
)
from bpmn_service.api.deps import ContextDep, IdempotencyKeyHeader
from bpmn_service.context import AppContext
from bpmn_service.errors import FieldError, InvalidState, NotFound
from bpmn_service.identity import Principal
from bpmn_service.services import instances, tasks
from bpmn_service.services.idempotency import Idempotency, Replay
from bpmn_service.services.tasks import CompletionResult, TaskDetail

router = APIRouter(prefix="/task", tags=["task"])
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "done"}}
Filters = Annotated[TaskFilters, Depends(TaskFilters)]


def task_dto(task: Any) -> Task:
    return Task(
        id=task.id,
        name=task.name,
        assignee=task.assignee,
        created=camunda_date(task.created_at) or "",
        last_updated=camunda_date(task.claimed_at or task.created_at),
        due=camunda_date(task.due_at),
        follow_up=camunda_date(task.follow_up_at),
        execution_id=task.instance_id,
        priority=task.priority,
        process_definition_id=task.definition_id,
        process_instance_id=task.instance_id,
        task_definition_key=task.element_id,
    )


@router.get("", response_model=list[Task], responses=ERROR_RESPONSES)
def get_tasks(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Filters,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[Task]:
    """The caller's visible tasks, filtered and sorted the Camunda way."""
    sort = params.sort_order(sort_by, sort_order, SORTS)
    order = "created" if sort is None else ("-" if sort[1] else "") + sort[0]
    rows, _total, _candidates = tasks.query_tasks(
        ctx,
        principal,
        filters.of(ctx),
        sort=order,
        limit=0 if filters.none else page.limit,
        offset=page.offset,
    )
    return [task_dto(t) for t in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_tasks_count(ctx: ContextDep, principal: CamundaPrincipalDep, filters: Filters) -> Count:
    """How many visible tasks match."""
    _rows, total, _candidates = tasks.query_tasks(
        ctx, principal, filters.of(ctx), sort="created", limit=0, offset=0
    )
    return Count(count=0 if filters.none else total)


@router.get("/{task_id}", response_model=Task, responses=ERROR_RESPONSES)
def get_task(ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str) -> Task:
    """One visible task."""
    return task_dto(_readable_task(ctx, task_id, principal).task)


@router.get("/{task_id}/form", response_model=TaskForm, responses=ERROR_RESPONSES)
def get_form(ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str) -> TaskForm:
    """The form's key, which tasklists ask for first: none, as for Camunda's generated forms
    (the fields are at /task/{id}/form-variables). 404 for a task the caller cannot see."""
    _readable_task(ctx, task_id, principal)
    return TaskForm()


@router.post("/{task_id}/claim", status_code=204, responses={**ERROR_RESPONSES, **NO_CONTENT})
def claim(ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: UserId) -> Response:
    """Claim for oneself (of concurrent claimers one wins, the others get 409
    TaskAlreadyClaimedException), or, as a supervisor, for another user."""
    if body.user_id is None:
        raise bad_request([FieldError("userId", "is required")])
    if body.user_id == principal.user_id:
        tasks.claim_task(ctx, task_id, principal)
    else:
        tasks.assign_task(ctx, task_id, principal, body.user_id, only_if_free=True)
    return Response(status_code=204)


@router.post("/{task_id}/unclaim", status_code=204, responses={**ERROR_RESPONSES, **NO_CONTENT})
def unclaim(ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str) -> Response:
    """Give the task back to its candidates (its assignee, or a supervisor)."""
    tasks.unclaim_task(ctx, task_id, principal)
    return Response(status_code=204)


@router.post("/{task_id}/assignee", status_code=204, responses={**ERROR_RESPONSES, **NO_CONTENT})
def set_assignee(
    ctx: ContextDep, principal: CamundaPrincipalDep, task_id: str, body: UserId
) -> Response:
    """Set the assignee (supervisors; for oneself it is a claim); userId null unassigns."""
    if body.user_id is None:
        tasks.unclaim_task(ctx, task_id, principal)
    elif body.user_id == principal.user_id and not principal.is_supervisor:
        tasks.claim_task(ctx, task_id, principal)
    else:
        tasks.assign_task(ctx, task_id, principal, body.user_id, only_if_free=False)
    return Response(status_code=204)


def _complete(
    ctx: ContextDep,
    principal: Any,
    task_id: str,
    body: CompleteTask,
    idempotency_key: str | None,
) -> Response:
    variables = from_typed(body.variables, zone=ctx.calendar.timezone)
    idem = Idempotency.of(
        idempotency_key,
        user=principal.user_id,
        operation=f"camunda-complete:{task_id}",
        body=body.model_dump(mode="json"),
    )

    def render(result: CompletionResult) -> dict[str, Any]:
        dates = declared_dates(ctx, result.definition_id)
        return {"variables": typed_all(result.variables, dates=dates)}

    result = tasks.complete_task(
        ctx, task_id, principal, variables, idempotency=idem, render=render
    )
    answer = result.body if isinstance(result, Replay) else render(result)
    if not body.with_variables_in_return:
        return Response(status_code=204)
    return JSONResponse(answer["variables"])


COMPLETED = {**ERROR_RESPONSES, **NO_CONTENT, 200: {"model": dict[str, VariableValue]}}


@router.post("/{task_id}/complete", status_code=204, responses=COMPLETED)
def complete(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    body: CompleteTask,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Complete a task claimed by the caller with its form's variables; 200 with the instance's
    variables when withVariablesInReturn is true."""
    return _complete(ctx, principal, task_id, body, idempotency_key)


@router.post("/{task_id}/submit-form", status_code=204, responses=COMPLETED)
def submit_form(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    body: CompleteTask,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The same as complete: the task's camunda:formData validates the values either way."""
    return _complete(ctx, principal, task_id, body, idempotency_key)


@router.get(
    "/{task_id}/identity-links", response_model=list[IdentityLink], responses=ERROR_RESPONSES
)
def get_identity_links(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    link_type: Annotated[str | None, Query(alias="type")] = None,
) -> list[IdentityLink]:
    """Who the task is assigned to and offered to (its candidate groups and users); `type`
    (`assignee`, `candidate`) keeps one kind. No `owner` links: tasks have no owner here."""
    detail = _readable_task(ctx, task_id, principal)
    assignee = detail.task.assignee
    links = [IdentityLink(user_id=assignee, group_id=None, type="assignee")] if assignee else []
    links += [
        IdentityLink(user_id=None, group_id=g, type="candidate") for g in detail.candidate_groups
    ]
    links += [
        IdentityLink(user_id=u, group_id=None, type="candidate") for u in detail.candidate_users
    ]
    return [link for link in links if link_type is None or link.type == link_type]


@router.get(
    "/{task_id}/form-variables",
    response_model=dict[str, VariableValue],
    responses=ERROR_RESPONSES,
)
def get_form_variables(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    variable_names: Annotated[str | None, Query(alias="variableNames")] = None,
    deserialize_values: Annotated[bool, Query(alias="deserializeValues")] = True,
) -> dict[str, Any]:
    """The task form's fields with their current values, typed as the form types them."""
    del deserialize_values  # Json values are always sent as JSON text, as Camunda does
    detail = _readable_task(ctx, task_id, principal)
    wanted = params.comma_list(variable_names)
    values = detail.task.form_values or {}
    zone = ctx.calendar.timezone
    return {
        f.id: typed_form_value(f.type, values.get(f.id), zone)
        for f in detail.form
        if wanted is None or f.id in wanted
    }


@router.get(
    "/{task_id}/variables", response_model=dict[str, VariableValue], responses=ERROR_RESPONSES
)
def get_task_variables(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    deserialize_values: Annotated[bool, Query(alias="deserializeValues")] = True,
) -> dict[str, Any]:
    """The variables of the task's process instance."""
    del deserialize_values
    variables, dates = _instance_variables(ctx, task_id, principal)
    return typed_all(variables, dates=dates)


@router.get("/{task_id}/variables/{name}", response_model=VariableValue, responses=ERROR_RESPONSES)
def get_task_variable(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    task_id: str,
    name: str,
    deserialize_value: Annotated[bool, Query(alias="deserializeValue")] = True,
) -> dict[str, Any]:
    """One variable of the task's process instance, typed; 404 when it has none of that name."""
    del deserialize_value
    variables, dates = _instance_variables(ctx, task_id, principal)
    return typed_one(variables, name, "task", dates)


def _instance_variables(
    ctx: AppContext, task_id: str, principal: Principal
) -> tuple[dict[str, Any], DeclaredDates]:
    """The variables of the process instance of a task the caller may read, and the dates its
    process declares."""
    task = _readable_task(ctx, task_id, principal).task
    instance = instances.find_instance(ctx, task.instance_id, principal)
    return instance.variables, declared_dates(ctx, instance.definition_id)


def _readable_task(ctx: AppContext, task_id: str, principal: Principal) -> TaskDetail:
    """The task for a read. Camunda's runtime forgets a completed task, so reading one is 404
    there (acting on one stays a 409 here, docs/camunda.md)."""
    try:
        return tasks.get_task(ctx, task_id, principal)
    except InvalidState as exc:
        raise NotFound(exc.message) from None
