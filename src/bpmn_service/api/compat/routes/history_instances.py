"""Camunda's historic process instances: every instance the caller may see, running or ended
(the instances of /api/v1/process-instances, with the same visibility)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.history_schemas import HistoricProcessInstance
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count
from bpmn_service.api.compat.values import camunda_date, optional_date
from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import FieldError
from bpmn_service.services import history
from bpmn_service.services.history import HistoricInstance, InstanceQuery

router = APIRouter(prefix="/history/process-instance", tags=["history"])

SORTS = {
    "instanceId": "id",
    "definitionId": "definition_id",
    "definitionKey": "definition_key",
    "definitionName": "definition_name",
    "definitionVersion": "definition_version",
    "businessKey": "business_key",
    "startTime": "started",
    "endTime": "ended",
    "duration": "duration",
}
# The service's instance statuses as Camunda's states. An instance that reaches a terminate end
# event completes here, so INTERNALLY_TERMINATED never occurs; a cancellation is a user's.
STATES = {"active": "ACTIVE", "completed": "COMPLETED", "cancelled": "EXTERNALLY_TERMINATED"}
Flag = Annotated[bool, Query()]


def historic_instance_dto(row: HistoricInstance) -> HistoricProcessInstance:
    duration = None
    if row.ended_at is not None:
        duration = round((row.ended_at - row.started_at).total_seconds() * 1000)
    return HistoricProcessInstance(
        id=row.id,
        root_process_instance_id=row.id,
        process_definition_name=row.definition_name,
        process_definition_key=row.definition_key,
        process_definition_version=row.version,
        process_definition_id=row.definition_id,
        business_key=row.business_key,
        start_time=camunda_date(row.started_at) or "",
        end_time=camunda_date(row.ended_at),
        duration_in_millis=duration,
        start_user_id=row.started_by,
        start_activity_id=row.start_activity_id,
        delete_reason=row.delete_reason,
        state=STATES.get(row.status, row.status.upper()),
    )


class HistoricInstanceFilters:
    """The supported query parameters (any other is refused by params)."""

    def __init__(
        self,
        process_instance_id: params.ProcessInstanceId = None,
        process_instance_ids: Annotated[str | None, Query(alias="processInstanceIds")] = None,
        business_key: params.BusinessKey = None,
        business_key_like: Annotated[
            str | None, Query(alias="processInstanceBusinessKeyLike")
        ] = None,
        definition_id: params.ProcessDefinitionId = None,
        definition_key: params.ProcessDefinitionKey = None,
        definition_key_in: params.ProcessDefinitionKeyIn = None,
        finished: Flag = False,
        unfinished: Flag = False,
        active: Flag = False,
        completed: Flag = False,
        externally_terminated: Annotated[bool, Query(alias="externallyTerminated")] = False,
        internally_terminated: Annotated[bool, Query(alias="internallyTerminated")] = False,
        started_before: Annotated[str | None, Query(alias="startedBefore")] = None,
        started_after: Annotated[str | None, Query(alias="startedAfter")] = None,
        finished_before: Annotated[str | None, Query(alias="finishedBefore")] = None,
        finished_after: Annotated[str | None, Query(alias="finishedAfter")] = None,
        started_by: Annotated[str | None, Query(alias="startedBy")] = None,
        tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
    ) -> None:
        ids = params.comma_list(process_instance_ids)
        if process_instance_id is not None:
            ids = (
                [process_instance_id]
                if ids is None
                else [i for i in ids if i == process_instance_id]
            )
        # Camunda's state flags: one state at a time (its query refuses a second one).
        flags = {
            "active": active,
            "completed": completed,
            "externallyTerminated": externally_terminated,
            "internallyTerminated": internally_terminated,
        }
        set_flags = [name for name, on in flags.items() if on]
        if len(set_flags) > 1:
            raise bad_request(
                [
                    FieldError(name, f"asks for a second state beside {set_flags[0]}; give one")
                    for name in set_flags[1:]
                ]
            )
        asked = {"active": active, "completed": completed, "cancelled": externally_terminated}
        statuses = [s for s, on in asked.items() if on]
        # No tenants here; both finished and unfinished, or a state never reached, match nothing.
        self.none = (
            params.no_tenants(tenant_id_in) or (finished and unfinished) or internally_terminated
        )
        self.query = InstanceQuery(
            ids=ids,
            business_key=business_key,
            business_key_like=business_key_like,
            definition_id=definition_id,
            definition_key=definition_key,
            definition_keys=params.comma_list(definition_key_in),
            finished=params.either(finished, unfinished),
            statuses=statuses or None,
            started_before=optional_date(started_before, "startedBefore"),
            started_after=optional_date(started_after, "startedAfter"),
            finished_before=optional_date(finished_before, "finishedBefore"),
            finished_after=optional_date(finished_after, "finishedAfter"),
            started_by=started_by,
        )


Filters = Annotated[HistoricInstanceFilters, Depends(HistoricInstanceFilters)]


@router.get("", response_model=list[HistoricProcessInstance], responses=ERROR_RESPONSES)
def get_historic_process_instances(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Filters,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[HistoricProcessInstance]:
    """The instances, running and ended, the caller may see (their own, those they work or
    worked on; all for admin, analyst, supervisor), in start order unless sorted."""
    sort = params.sort_order(sort_by, sort_order, SORTS)
    if filters.none:
        return []
    rows, _total = history.list_instances(
        ctx, principal, filters.query, sort=sort, limit=page.limit, offset=page.offset
    )
    return [historic_instance_dto(r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_historic_process_instances_count(
    ctx: ContextDep, principal: CamundaPrincipalDep, filters: Filters
) -> Count:
    """How many visible instances match."""
    if filters.none:
        return Count(count=0)
    _rows, total = history.list_instances(
        ctx, principal, filters.query, sort=None, limit=0, offset=0
    )
    return Count(count=total)


@router.get("/{instance_id}", response_model=HistoricProcessInstance, responses=ERROR_RESPONSES)
def get_historic_process_instance(
    ctx: ContextDep, principal: CamundaPrincipalDep, instance_id: str
) -> HistoricProcessInstance:
    """One visible instance, running or ended."""
    return historic_instance_dto(history.get_instance(ctx, principal, instance_id))
