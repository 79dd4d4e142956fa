from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel

from bpmn_service.api.deps import ContextDep, IdempotencyKeyHeader, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES, MAX_OFFSET
from bpmn_service.api.schemas import (
    CompletionRead,
    TaskComplete,
    TaskDetailRead,
    TaskPageRead,
    task_read,
)
from bpmn_service.services import tasks
from bpmn_service.services.idempotency import Idempotency, Replay
from bpmn_service.services.tasks import CompletionResult, TaskDetail
from bpmn_service.timeutil import as_utc

router = APIRouter(prefix="/tasks", tags=["tasks"])


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


# A date-time filter in UTC: one whose UTC time is beyond the years 1 to 9999 is a 422 naming it.
# (The validator is on the optional type as a whole: on one member of a union, FastAPI's
# parameter metadata would not reach it.)
OptionalUtcMoment = Annotated[datetime | None, AfterValidator(_utc_or_none)]


@router.get("", response_model=TaskPageRead, responses=ERROR_RESPONSES)
def list_tasks(
    ctx: ContextDep,
    principal: PrincipalDep,
    candidate_group: str | None = None,
    assignee: str | None = None,
    unassigned: bool | None = None,
    process_definition_key: str | None = None,
    process_instance_id: str | None = None,
    business_key: str | None = None,
    element_id: Annotated[str | None, Query(description="BPMN id of the user task")] = None,
    due_before: OptionalUtcMoment = None,
    due_after: OptionalUtcMoment = None,
    sort: Annotated[
        str,
        Query(
            description="comma-separated created, due, priority, name, follow_up, assignee, "
            "instance, id; prefix - for descending"
        ),
    ] = "created",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    after: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="the next_after of the previous page: the page after it, in the same "
            "sort (keyset pagination: the rows before it are not counted off). Not with offset.",
        ),
    ] = None,
    oversee: Annotated[
        bool,
        Query(
            description="supervisors and admins: every open task, whoever it is offered to "
            "(e.g. `oversee=true&sort=due` for the overdue work of every lane); 403 for others",
        ),
    ] = False,
) -> Response:
    """The caller's inbox: tasks assigned to them or offered to one of their groups (with
    `oversee`, a supervisor's view of every open task). `total` is exact up to 1,000 matches
    beyond the offset; above that it is that bound and `total_is_lower_bound` is true."""
    page = tasks.list_tasks(
        ctx,
        principal,
        candidate_group=candidate_group,
        assignee=assignee,
        unassigned=unassigned,
        process_definition_key=process_definition_key,
        process_instance_id=process_instance_id,
        business_key=business_key,
        element_id=element_id,
        due_before=due_before,
        due_after=due_after,
        sort=sort,
        limit=limit,
        offset=offset,
        after=after,
        oversee=oversee,
    )
    return _answer(
        TaskPageRead(
            items=[task_read(t, page.candidates) for t in page.tasks],
            total=page.total,
            total_is_lower_bound=page.total_is_lower_bound,
            offset=offset,
            limit=limit,
            next_after=page.next_after,
        )
    )


def _answer(model: BaseModel) -> Response:
    """The answer as FastAPI writes a route's response model, without validating again what was
    just built as that model (for a plain `def` route FastAPI does that in the thread pool: a
    second hand-off to a worker thread per request). pydantic writes the JSON in one pass (a
    dict, then the standard library's encoder, took about 0.08 M instructions more per call)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _detail(detail: TaskDetail) -> TaskDetailRead:
    base = task_read(
        detail.task,
        {detail.task.id: {"group": detail.candidate_groups, "user": detail.candidate_users}},
    )
    return TaskDetailRead(
        **base.model_dump(),
        form=detail.form_schema,
        variables=detail.task.form_values,
        properties=detail.task.properties,
    )


@router.get("/{task_id}", response_model=TaskDetailRead, responses=ERROR_RESPONSES)
def get_task(ctx: ContextDep, principal: PrincipalDep, task_id: str) -> Response:
    """One task with its form as JSON Schema and the current values the form shows."""
    return _answer(_detail(tasks.get_task(ctx, task_id, principal)))


@router.post("/{task_id}/claim", response_model=TaskDetailRead, responses=ERROR_RESPONSES)
def claim_task(ctx: ContextDep, principal: PrincipalDep, task_id: str) -> Response:
    """Claim a task; of concurrent claimers exactly one wins, the others get 409."""
    return _answer(_detail(tasks.claim_task(ctx, task_id, principal)))


@router.post("/{task_id}/unclaim", response_model=TaskDetailRead, responses=ERROR_RESPONSES)
def unclaim_task(ctx: ContextDep, principal: PrincipalDep, task_id: str) -> Response:
    """Give a claimed task back to its candidates (the assignee, or a supervisor)."""
    return _answer(_detail(tasks.unclaim_task(ctx, task_id, principal)))


@router.post("/{task_id}/complete", response_model=CompletionRead, responses=ERROR_RESPONSES)
def complete_task(
    ctx: ContextDep,
    principal: PrincipalDep,
    task_id: str,
    body: TaskComplete,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Complete a claimed task with its form values and advance the process. With an
    Idempotency-Key, a retry returns the first response and completes nothing twice."""
    idem = Idempotency.of(
        idempotency_key,
        user=principal.user_id,
        operation=f"complete:{task_id}",
        body=body.model_dump(mode="json"),
    )
    result = tasks.complete_task(
        ctx, task_id, principal, body.variables, idempotency=idem, render=_completion_body
    )
    if isinstance(result, Replay):
        return JSONResponse(
            result.body, status_code=result.status_code, headers={"Idempotent-Replayed": "true"}
        )
    return JSONResponse(_completion_body(result))


def _completion_body(result: CompletionResult) -> dict[str, Any]:
    return CompletionRead(
        task_id=result.task_id,
        process_instance_id=result.instance_id,
        instance_status=result.instance_status,
        next_tasks=[task_read(t, result.candidates) for t in result.next_tasks],
    ).model_dump(mode="json")
