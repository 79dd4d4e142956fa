"""Supervisors' API: where a case stands and what it waits for; repairs and migrations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES, MAX_OFFSET
from bpmn_service.api.ops_schemas import (
    EventSubscriptionRead,
    IncidentRead,
    InstanceActivitiesRead,
    InstanceMigrationRead,
    MigrationRead,
    MigrationRequest,
    Modification,
    RepairRead,
    Retry,
    VariablesRepair,
    VersionRef,
    activity_read,
    incident_read,
)
from bpmn_service.api.schemas import Page
from bpmn_service.services import activities, incidents, migrations, repairs

router = APIRouter(tags=["operations"])


@router.get(
    "/process-instances/{instance_id}/activities",
    response_model=InstanceActivitiesRead,
    responses=ERROR_RESPONSES,
)
def get_activities(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str
) -> InstanceActivitiesRead:
    """The tree of the case's active elements: user tasks (assignee, due), external tasks (lock,
    retries), message waits (message, variables it may carry), timers (due), multi-instance
    bodies with their instances, subprocesses; each with element id, name, lane and since when."""
    found = activities.instance_activities(ctx, instance_id, principal)
    return InstanceActivitiesRead(
        instance_id=found.instance.id,
        business_key=found.instance.business_key,
        status=found.instance.status,
        activities=[activity_read(a) for a in found.activities],
    )


@router.get(
    "/event-subscriptions",
    response_model=Page[EventSubscriptionRead],
    responses=ERROR_RESPONSES,
)
def list_event_subscriptions(
    ctx: ContextDep,
    principal: PrincipalDep,
    business_key: str | None = None,
    message_name: str | None = None,
    process_definition_key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[EventSubscriptionRead]:
    """Message waits of active cases: what a portal may send, to whom, with which variables.
    With a business key any caller may ask (as anyone may send that case a message); without
    one, only the cases the caller sees are listed."""
    rows, total = activities.event_subscriptions(
        ctx,
        principal,
        business_key=business_key,
        message_name=message_name,
        definition_key=process_definition_key,
        limit=limit,
        offset=offset,
    )
    return Page[EventSubscriptionRead](
        items=[EventSubscriptionRead.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def _repair_read(done: repairs.Repaired) -> RepairRead:
    return RepairRead(
        instance_id=done.instance.id,
        status=done.instance.status,
        variables=done.instance.variables,
        details=done.details,
    )


@router.patch(
    "/process-instances/{instance_id}/variables",
    response_model=RepairRead,
    responses=ERROR_RESPONSES,
)
@router.put(
    "/process-instances/{instance_id}/variables",
    response_model=RepairRead,
    responses=ERROR_RESPONSES,
    include_in_schema=False,
)
def repair_variables(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str, body: VariablesRepair
) -> RepairRead:
    """Set or correct variables of a running case (supervisors). The history records the reason
    and each variable's old and new value; PUT is the same as PATCH."""
    done = repairs.set_variables(ctx, instance_id, principal, body.variables, body.reason)
    return _repair_read(done)


@router.post(
    "/process-instances/{instance_id}/modification",
    response_model=RepairRead,
    responses=ERROR_RESPONSES,
)
def modify_instance(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str, body: Modification
) -> RepairRead:
    """Move a case (supervisors): cancel active elements and start before others, in order, as
    one transaction; a start_before continues the token the preceding cancel removed."""
    done = repairs.modify(
        ctx,
        instance_id,
        principal,
        [repairs.Instruction(i.type, i.element_id) for i in body.instructions],
        body.reason,
    )
    return _repair_read(done)


@router.post(
    "/process-instances/{instance_id}/retry",
    response_model=RepairRead,
    responses=ERROR_RESPONSES,
)
def retry_instance(
    ctx: ContextDep, principal: PrincipalDep, instance_id: str, body: Retry
) -> RepairRead:
    """Retry a failed step (supervisors): an external task without retries gets one more, a
    failed timer runs again now."""
    return _repair_read(repairs.retry(ctx, instance_id, principal, body.element_id, body.reason))


@router.post("/migrations", response_model=MigrationRead, responses=ERROR_RESPONSES)
def migrate(ctx: ContextDep, principal: PrincipalDep, body: MigrationRequest) -> MigrationRead:
    """Move running cases to another version of their process (supervisors). A dry run (the
    default) reports per instance what maps and what cannot and why; a real run migrates each
    instance atomically and reports each."""
    run = migrations.migrate_instances(
        ctx,
        principal,
        source=(body.source.key, body.source.version),
        target=(body.target.key, body.target.version),
        instance_ids=body.instance_ids,
        business_key_like=body.filter.business_key_like if body.filter else None,
        mapping=body.mapping,
        dry_run=body.dry_run,
        reason=body.reason,
    )
    return MigrationRead(
        dry_run=run.dry_run,
        source=VersionRef(key=run.source.key, version=run.source.version),
        target=VersionRef(key=run.target.key, version=run.target.version),
        results=[
            InstanceMigrationRead.model_validate(r, from_attributes=True) for r in run.results
        ],
    )


@router.get("/incidents", response_model=Page[IncidentRead], responses=ERROR_RESPONSES)
def list_incidents(
    ctx: ContextDep,
    principal: PrincipalDep,
    process_instance_id: str | None = None,
    process_definition_key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[IncidentRead]:
    """What failed in running cases, oldest first: external tasks without retries, failed
    timers, completions that failed at a gateway, script or expression; each with the error,
    the element and the repairs that apply (supervisors, analysts, workers, admins)."""
    rows, total = incidents.list_incidents(
        ctx,
        principal,
        instance_id=process_instance_id,
        definition_key=process_definition_key,
        limit=limit,
        offset=offset,
    )
    return Page[IncidentRead](
        items=[incident_read(r) for r in rows], total=total, offset=offset, limit=limit
    )
