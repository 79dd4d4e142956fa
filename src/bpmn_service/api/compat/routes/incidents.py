"""Camunda's incident resource, read-only: the open incidents of /api/v1/incidents (an external
task whose retries ran out, a failed run, a completion that failed in the engine), for
supervisors, analysts, workers and admins as there. Resolving one is a repair (/api/v1) or
PUT /external-task/{id}/retries."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.errors import ERROR_RESPONSES
from bpmn_service.api.compat.history_schemas import Incident
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count
from bpmn_service.api.compat.values import camunda_date
from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import NotFound
from bpmn_service.services import incident_page
from bpmn_service.services.incident_page import EXTERNAL, RUN, STEP, IncidentQuery, IncidentRow

router = APIRouter(prefix="/incident", tags=["incident"])

FAILED_EXTERNAL_TASK, FAILED_JOB = "failedExternalTask", "failedJob"
# Camunda's incident types and the service's sources: what is not an external task is a run of
# the engine that failed (a timer, a worker's or a message's run, a completion), which Camunda
# would have run as a job.
TYPES = {FAILED_EXTERNAL_TASK: frozenset({EXTERNAL}), FAILED_JOB: frozenset({RUN, STEP})}
SORTS = {
    "incidentId": "id",
    "incidentTimestamp": "since",
    "incidentType": "source",
    "activityId": "element_id",
    "processInstanceId": "instance_id",
    "processDefinitionId": "definition_id",
}


def incident_dto(row: IncidentRow) -> Incident:
    return Incident(
        id=row.id,
        process_definition_id=row.definition_id,
        process_instance_id=row.instance_id,
        incident_timestamp=camunda_date(row.since) or "",
        incident_type=FAILED_EXTERNAL_TASK if row.source == EXTERNAL else FAILED_JOB,
        activity_id=row.element_id,
        failed_activity_id=row.element_id,
        # every incident here is its own cause: none is raised by another's
        cause_incident_id=row.id,
        root_cause_incident_id=row.id,
        configuration=row.external_task_id,
        incident_message=row.message,
    )


class IncidentFilters:
    """The supported query parameters (any other is refused by params)."""

    def __init__(
        self,
        incident_id: Annotated[str | None, Query(alias="incidentId")] = None,
        incident_type: Annotated[str | None, Query(alias="incidentType")] = None,
        process_instance_id: params.ProcessInstanceId = None,
        definition_id: params.ProcessDefinitionId = None,
        activity_id: Annotated[str | None, Query(alias="activityId")] = None,
        configuration: Annotated[str | None, Query()] = None,
    ) -> None:
        # Another type (Camunda's custom incident types) matches nothing here.
        sources = TYPES.get(incident_type, frozenset()) if incident_type else None
        query = IncidentQuery(
            incident_id=incident_id,
            instance_id=process_instance_id,
            definition_id=definition_id,
            element_id=activity_id,
            external_task_id=configuration,
        )
        self.query = query if sources is None else replace(query, sources=sources)


Filters = Annotated[IncidentFilters, Depends(IncidentFilters)]


@router.get("", response_model=list[Incident], responses=ERROR_RESPONSES)
def get_incidents(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Filters,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[Incident]:
    """Open incidents, oldest first unless sorted (supervisors, analysts, workers, admins)."""
    sort = params.sort_order(sort_by, sort_order, SORTS)
    rows, _total = incident_page.list_open(
        ctx, principal, filters.query, sort=sort, limit=page.limit, offset=page.offset
    )
    return [incident_dto(r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_incidents_count(ctx: ContextDep, principal: CamundaPrincipalDep, filters: Filters) -> Count:
    """How many open incidents match."""
    _rows, total = incident_page.list_open(
        ctx, principal, filters.query, sort=None, limit=0, offset=0
    )
    return Count(count=total)


@router.get("/{incident_id}", response_model=Incident, responses=ERROR_RESPONSES)
def get_incident(ctx: ContextDep, principal: CamundaPrincipalDep, incident_id: str) -> Incident:
    """One open incident."""
    rows, _total = incident_page.list_open(
        ctx, principal, IncidentQuery(incident_id=incident_id), sort=None, limit=1, offset=0
    )
    if not rows:
        raise NotFound(f"incident {incident_id} does not exist or is resolved")
    return incident_dto(rows[0])
