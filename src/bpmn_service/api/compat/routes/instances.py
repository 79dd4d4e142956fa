"""Camunda's process-instance resource: running instances the caller may see, their variables,
and cancelling one (the initiator or an admin, as on /api/v1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.declared import declared_dates
from bpmn_service.api.compat.errors import ERROR_RESPONSES
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import Count, ProcessInstance, VariableValue
from bpmn_service.api.compat.values import typed_all, typed_one
from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import InvalidState, NotFound
from bpmn_service.identity import Principal
from bpmn_service.services import instances

router = APIRouter(prefix="/process-instance", tags=["process-instance"])

SORTS = {
    "instanceId": "id",
    "definitionKey": "definition_key",
    "definitionId": "definition_id",
    "businessKey": "business_key",
}


def instance_dto(request: Request, instance: Any) -> ProcessInstance:
    return ProcessInstance(
        links=params.links(request, f"process-instance/{instance.id}"),
        id=instance.id,
        definition_id=instance.definition_id,
        definition_key=instance.definition_key,
        business_key=instance.business_key,
        ended=instance.status != "active",
    )


class InstanceFilters:
    def __init__(
        self,
        process_instance_ids: Annotated[str | None, Query(alias="processInstanceIds")] = None,
        business_key: Annotated[str | None, Query(alias="businessKey")] = None,
        business_key_like: Annotated[str | None, Query(alias="businessKeyLike")] = None,
        definition_id: params.ProcessDefinitionId = None,
        definition_key: params.ProcessDefinitionKey = None,
        definition_key_in: params.ProcessDefinitionKeyIn = None,
        tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
    ) -> None:
        self.none = params.no_tenants(tenant_id_in)
        self.ids = params.comma_list(process_instance_ids)
        self.business_key = business_key
        self.business_key_like = business_key_like
        self.definition_id = definition_id
        self.definition_key = definition_key
        self.definition_keys = params.comma_list(definition_key_in)

    def run(
        self, ctx: ContextDep, principal: Principal, sort: str, limit: int, offset: int
    ) -> tuple[list[Any], int]:
        return instances.list_instances(
            ctx,
            principal,
            definition_key=self.definition_key,
            status="active",  # Camunda's runtime query: running instances only
            business_key=self.business_key,
            sort=sort,
            limit=0 if self.none else limit,
            offset=offset,
            ids=self.ids,
            definition_id=self.definition_id,
            definition_keys=self.definition_keys,
            business_key_like=self.business_key_like,
        )


Filters = Annotated[InstanceFilters, Depends(InstanceFilters)]


@router.get("", response_model=list[ProcessInstance], responses=ERROR_RESPONSES)
def get_process_instances(
    ctx: ContextDep,
    request: Request,
    principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Filters,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[ProcessInstance]:
    """Running instances the caller may see (the initiator, workers on it, oversight roles)."""
    sort = params.sort_order(sort_by, sort_order, SORTS)
    order = "started" if sort is None else ("-" if sort[1] else "") + sort[0]
    rows, _total = filters.run(ctx, principal, order, page.limit, page.offset)
    return [instance_dto(request, r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_process_instances_count(
    ctx: ContextDep, principal: CamundaPrincipalDep, filters: Filters
) -> Count:
    """How many running instances match."""
    _rows, total = filters.run(ctx, principal, "started", 0, 0)
    return Count(count=0 if filters.none else total)


def _running(ctx: ContextDep, principal: Principal, instance_id: str) -> Any:
    instance = instances.find_instance(ctx, instance_id, principal)
    if instance.status != "active":
        raise NotFound(
            f"process instance {instance_id} has ended ({instance.status}); "
            f"GET /api/v1/process-instances/{instance_id} shows its history"
        )
    return instance


@router.get("/{instance_id}", response_model=ProcessInstance, responses=ERROR_RESPONSES)
def get_process_instance(
    ctx: ContextDep, request: Request, principal: CamundaPrincipalDep, instance_id: str
) -> ProcessInstance:
    """One running instance."""
    return instance_dto(request, _running(ctx, principal, instance_id))


@router.get(
    "/{instance_id}/variables",
    response_model=dict[str, VariableValue],
    responses=ERROR_RESPONSES,
)
def get_process_instance_variables(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    instance_id: str,
    deserialize_values: Annotated[bool, Query(alias="deserializeValues")] = True,
) -> dict[str, Any]:
    """The variables of a running instance, typed (those its process declares dates: Date)."""
    del deserialize_values  # Json values are always JSON text, as Camunda sends them
    instance = _running(ctx, principal, instance_id)
    return typed_all(instance.variables, dates=declared_dates(ctx, instance.definition_id))


@router.get(
    "/{instance_id}/variables/{name}", response_model=VariableValue, responses=ERROR_RESPONSES
)
def get_process_instance_variable(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    instance_id: str,
    name: str,
    deserialize_value: Annotated[bool, Query(alias="deserializeValue")] = True,
) -> dict[str, Any]:
    """One variable of a running instance, typed; 404 when it has none of that name."""
    del deserialize_value
    instance = _running(ctx, principal, instance_id)
    dates = declared_dates(ctx, instance.definition_id)
    return typed_one(instance.variables, name, "process instance", dates)


@router.delete(
    "/{instance_id}",
    status_code=204,
    responses={**ERROR_RESPONSES, 204: {"description": "cancelled"}},
)
def delete_process_instance(
    ctx: ContextDep,
    principal: CamundaPrincipalDep,
    instance_id: str,
    skip_custom_listeners: Annotated[
        bool, Query(alias="skipCustomListeners", description="no effect: no listeners run here")
    ] = False,
    skip_io_mappings: Annotated[
        bool, Query(alias="skipIoMappings", description="no effect: no I/O mappings run here")
    ] = False,
    skip_subprocesses: Annotated[
        bool,
        Query(alias="skipSubprocesses", description="no effect: there are no called instances"),
    ] = False,
    fail_if_not_exists: Annotated[
        bool, Query(alias="failIfNotExists", description="false: 204 for an unknown or ended one")
    ] = True,
    delete_reason: Annotated[
        str | None,
        Query(alias="deleteReason", max_length=4000, description="the cancellation's reason"),
    ] = None,
) -> Response:
    """Cancel a running instance (its initiator or an admin); its open tasks are withdrawn.

    The skip flags change nothing here, whatever their value: deploying refuses listeners,
    camunda:inputOutput mappings and call activities, so a cancellation has none to run or skip.
    An unknown or ended instance is 404, as in Camunda (204 with failIfNotExists=false)."""
    del skip_custom_listeners, skip_io_mappings, skip_subprocesses
    reason = delete_reason or "cancelled over /engine-rest"
    try:
        instances.cancel_instance(ctx, instance_id, principal, reason)
    except NotFound:
        if fail_if_not_exists:
            raise
    except InvalidState:
        instance = instances.find_instance(ctx, instance_id, principal)
        if instance.status == "active":
            raise
        if fail_if_not_exists:
            raise NotFound(
                f"process instance {instance_id} has ended ({instance.status}); "
                f"GET /api/v1/process-instances/{instance_id} shows its history"
            ) from None
    return Response(status_code=204)
