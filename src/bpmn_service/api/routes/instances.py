from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES, MAX_OFFSET
from bpmn_service.api.schemas import (
    HistoryEventRead,
    InstanceCancel,
    InstanceDetailRead,
    InstanceMetricsRead,
    InstanceRead,
    Page,
    TimeLimitRead,
    task_read,
)
from bpmn_service.services import instances, metrics, time_limits

router = APIRouter(prefix="/process-instances", tags=["process-instances"])

InstanceSort = Literal["started", "-started", "ended", "-ended"]


@router.get("", response_model=Page[InstanceRead], responses=ERROR_RESPONSES)
def list_process_instances(
    ctx: ContextDep,
    principal: PrincipalDep,
    key: Annotated[str | None, Query(description="process definition key")] = None,
    status: Literal["active", "completed", "cancelled"] | None = None,
    business_key: str | None = None,
    sort: InstanceSort = "-started",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[InstanceRead]:
    """List the instances visible to the caller."""
    rows, total = instances.list_instances(
        ctx,
        principal,
        definition_key=key,
        status=status,
        business_key=business_key,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return Page[InstanceRead](
        items=[InstanceRead.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{instance_id}", response_model=InstanceDetailRead, responses=ERROR_RESPONSES)
def get_process_instance(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str
) -> InstanceDetailRead:
    """Status, version, variables, open tasks and the full history of an instance."""
    detail = instances.get_instance(ctx, instance_id, principal)
    base = InstanceRead.model_validate(detail.instance, from_attributes=True)
    return InstanceDetailRead(
        **base.model_dump(),
        variables=detail.instance.variables,
        value_labels=detail.value_labels,
        tasks=[task_read(t, detail.candidates) for t in detail.tasks],
        history=[HistoryEventRead.model_validate(h, from_attributes=True) for h in detail.history],
    )


@router.post("/{instance_id}/cancel", response_model=InstanceRead, responses=ERROR_RESPONSES)
def cancel_process_instance(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str, body: InstanceCancel | None = None
) -> InstanceRead:
    """Cancel an active instance (initiator or admin); its open tasks are withdrawn."""
    instance = instances.cancel_instance(ctx, instance_id, principal, body.reason if body else None)
    return InstanceRead.model_validate(instance, from_attributes=True)


@router.get(
    "/{instance_id}/time-limits", response_model=list[TimeLimitRead], responses=ERROR_RESPONSES
)
def get_process_instance_time_limits(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str
) -> list[TimeLimitRead]:
    """The case's time-limit clocks (declared on the process's elements), oldest first: status,
    start, 80 % and 100 % instants, pauses, breach and escalation, and the steps each covers."""
    views = time_limits.instance_time_limits(ctx, instance_id, principal)
    return [TimeLimitRead.model_validate(v, from_attributes=True) for v in views]


@router.get("/{instance_id}/metrics", response_model=InstanceMetricsRead, responses=ERROR_RESPONSES)
def get_process_instance_metrics(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str
) -> InstanceMetricsRead:
    """Customer procedures, hall visits and internal hand-offs of an instance so far."""
    result = metrics.instance_metrics(ctx, instance_id, principal)
    return InstanceMetricsRead.model_validate(result, from_attributes=True)
