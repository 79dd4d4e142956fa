"""Camunda's historic task instances: the open and ended user tasks of the instances the caller
may see (the tasks the history of /api/v1/process-instances/{id} shows them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.errors import ERROR_RESPONSES
from bpmn_service.api.compat.history_schemas import HistoricTask
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count
from bpmn_service.api.compat.values import camunda_date, optional_date
from bpmn_service.api.deps import ContextDep
from bpmn_service.services import history
from bpmn_service.services.history import HistoricTaskRow, TaskQuery

router = APIRouter(prefix="/history/task", tags=["history"])

SORTS = {
    "taskId": "id",
    "processInstanceId": "instance_id",
    "executionId": "instance_id",
    "processDefinitionId": "definition_id",
    "taskDefinitionKey": "element_id",
    "taskName": "name",
    "assignee": "assignee",
    "startTime": "started",
    "endTime": "ended",
    "duration": "duration",
    "dueDate": "due",
    "followUpDate": "follow_up",
    "priority": "priority",
    "deleteReason": "end_reason",
}
# historic_task's end reasons as Camunda's delete reasons and task states.
REASONS = {"completed": "completed", "cancelled": "deleted"}
STATES = {"completed": "Completed", "cancelled": "Deleted"}


def historic_task_dto(row: HistoricTaskRow) -> HistoricTask:
    duration = None
    if row.ended_at is not None:
        duration = round((row.ended_at - row.started_at).total_seconds() * 1000)
    reason = row.end_reason
    return HistoricTask(
        id=row.id,
        process_definition_key=row.definition_key,
        process_definition_id=row.definition_id,
        process_instance_id=row.instance_id,
        execution_id=row.instance_id,  # as /task answers it: one execution per instance
        activity_instance_id=f"{row.element_id}:{row.id}",
        name=row.name,
        delete_reason=None if reason is None else REASONS.get(reason, reason),
        assignee=row.assignee,
        start_time=camunda_date(row.started_at) or "",
        end_time=camunda_date(row.ended_at),
        duration=duration,
        task_definition_key=row.element_id,
        priority=row.priority,
        due=camunda_date(row.due_at),
        follow_up=camunda_date(row.follow_up_at),
        root_process_instance_id=row.instance_id,
        task_state="Created" if reason is None else STATES.get(reason, reason),
    )


class HistoricTaskFilters:
    """The supported query parameters (any other is refused by params)."""

    def __init__(
        self,
        task_id: Annotated[str | None, Query(alias="taskId")] = None,
        process_instance_id: params.ProcessInstanceId = None,
        business_key: params.BusinessKey = None,
        definition_key: params.ProcessDefinitionKey = None,
        element_id: Annotated[str | None, Query(alias="taskDefinitionKey")] = None,
        assignee: Annotated[str | None, Query(alias="taskAssignee")] = None,
        finished: Annotated[bool, Query()] = False,
        unfinished: Annotated[bool, Query()] = False,
        process_finished: Annotated[bool, Query(alias="processFinished")] = False,
        process_unfinished: Annotated[bool, Query(alias="processUnfinished")] = False,
        due_before: Annotated[str | None, Query(alias="taskDueDateBefore")] = None,
        due_after: Annotated[str | None, Query(alias="taskDueDateAfter")] = None,
        tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
    ) -> None:
        self.none = (
            params.no_tenants(tenant_id_in)
            or (finished and unfinished)
            or (process_finished and process_unfinished)
        )
        self.query = TaskQuery(
            task_id=task_id,
            instance_id=process_instance_id,
            business_key=business_key,
            definition_key=definition_key,
            element_id=element_id,
            assignee=assignee,
            finished=params.either(finished, unfinished),
            process_finished=params.either(process_finished, process_unfinished),
            due_before=optional_date(due_before, "taskDueDateBefore"),
            due_after=optional_date(due_after, "taskDueDateAfter"),
        )


Filters = Annotated[HistoricTaskFilters, Depends(HistoricTaskFilters)]


@router.get("", response_model=list[HistoricTask], responses=ERROR_RESPONSES)
def get_historic_tasks(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Filters,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[HistoricTask]:
    """Open and ended user tasks of the instances the caller may see, in start order unless
    sorted."""
    sort = params.sort_order(sort_by, sort_order, SORTS)
    if filters.none:
        return []
    rows, _total = history.list_tasks(
        ctx, principal, filters.query, sort=sort, limit=page.limit, offset=page.offset
    )
    return [historic_task_dto(r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_historic_tasks_count(
    ctx: ContextDep, principal: CamundaPrincipalDep, filters: Filters
) -> Count:
    """How many match."""
    if filters.none:
        return Count(count=0)
    _rows, total = history.list_tasks(ctx, principal, filters.query, sort=None, limit=0, offset=0)
    return Count(count=total)
