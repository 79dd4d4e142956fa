"""Supervisors' API: where a case stands and what it waits for; repairs and migrations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES, MAX_OFFSET
from bpmn_service.api.ops_schemas import (
    EventSubscriptionRead,
    InstanceActivitiesRead,
    activity_read,
)
from bpmn_service.api.schemas import Page
from bpmn_service.services import activities

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
