"""Camunda's process-definition resource: list and read versions, start instances.

A start goes through the same service as `POST /api/v1/process-definitions/{key}/instances`: the
start form validates the variables, business keys are unique per process (a duplicate is 409), and
an `Idempotency-Key` header makes a retry answer the first response.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.declared import declared_dates
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import (
    Count,
    ProcessDefinition,
    ProcessDefinitionXml,
    ProcessInstanceWithVariables,
    StartProcessInstance,
)
from bpmn_service.api.compat.values import from_typed, typed_all
from bpmn_service.api.deps import ContextDep, IdempotencyKeyHeader
from bpmn_service.errors import FieldError, NotFound
from bpmn_service.identity import Principal
from bpmn_service.services import definitions, instances
from bpmn_service.services.definitions import DefinitionQuery, VersionRow
from bpmn_service.services.idempotency import Idempotency, Replay
from bpmn_service.services.instances import StartResult

router = APIRouter(prefix="/process-definition", tags=["process-definition"])

SORTS = {
    "id": "id",
    "key": "key",
    "name": "name",
    "version": "version",
    "deploymentId": "deployment_id",
    "deployTime": "deployed_at",
}
Text = Annotated[str | None, Query()]


def definition_dto(row: VersionRow) -> ProcessDefinition:
    return ProcessDefinition(
        id=row.id,
        key=row.key,
        name=row.name,
        version=row.version,
        resource=row.resource_name,
        deployment_id=row.deployment_id,
    )


class Filters:
    """The process-definition query parameters both the list and the count take."""

    def __init__(
        self,
        process_definition_id: params.ProcessDefinitionId = None,
        process_definition_id_in: Annotated[
            str | None, Query(alias="processDefinitionIdIn")
        ] = None,
        key: Text = None,
        keys_in: Annotated[str | None, Query(alias="keysIn")] = None,
        key_like: Annotated[str | None, Query(alias="keyLike")] = None,
        name: Text = None,
        name_like: Annotated[str | None, Query(alias="nameLike")] = None,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        latest_version: Annotated[bool, Query(alias="latestVersion")] = False,
        deployment_id: Annotated[str | None, Query(alias="deploymentId")] = None,
        resource_name: Annotated[str | None, Query(alias="resourceName")] = None,
        resource_name_like: Annotated[str | None, Query(alias="resourceNameLike")] = None,
        tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
    ) -> None:
        ids = params.comma_list(process_definition_id_in)
        if process_definition_id is not None:
            ids = [process_definition_id] + (ids or [])
        self.none = params.no_tenants(tenant_id_in)
        self.query = DefinitionQuery(
            ids=ids,
            key=key,
            keys=params.comma_list(keys_in),
            key_like=key_like,
            name=name,
            name_like=name_like,
            version=version,
            latest_only=latest_version,
            deployment_id=deployment_id,
            resource_name=resource_name,
            resource_name_like=resource_name_like,
        )


@router.get("", response_model=list[ProcessDefinition], responses=ERROR_RESPONSES)
def get_process_definitions(
    ctx: ContextDep,
    _principal: CamundaPrincipalDep,
    page: PagingDep,
    filters: Annotated[Filters, Depends(Filters)],
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
) -> list[ProcessDefinition]:
    """Deployed process versions (every version unless latestVersion=true)."""
    sort = params.sort_order(sort_by, sort_order, SORTS) or ("key", False)
    rows, _total = definitions.find_versions(
        ctx,
        filters.query,
        sort=sort[0],
        descending=sort[1],
        limit=0 if filters.none else page.limit,
        offset=page.offset,
    )
    return [definition_dto(r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_process_definitions_count(
    ctx: ContextDep,
    _principal: CamundaPrincipalDep,
    filters: Annotated[Filters, Depends(Filters)],
) -> Count:
    """How many process versions match."""
    _rows, total = definitions.find_versions(ctx, filters.query, limit=0, offset=0)
    return Count(count=0 if filters.none else total)


@router.get("/key/{key}", response_model=ProcessDefinition, responses=ERROR_RESPONSES)
def get_process_definition_by_key(
    ctx: ContextDep, _principal: CamundaPrincipalDep, key: str
) -> ProcessDefinition:
    """The latest version of a process."""
    return definition_dto(_latest(ctx, key))


@router.get("/key/{key}/xml", response_model=ProcessDefinitionXml, responses=ERROR_RESPONSES)
def get_process_definition_bpmn20_xml_by_key(
    ctx: ContextDep, _principal: CamundaPrincipalDep, key: str
) -> ProcessDefinitionXml:
    """The BPMN XML of the latest version, as deployed."""
    row = _latest(ctx, key)
    return ProcessDefinitionXml(id=row.id, bpmn20_xml=definitions.get_version_xml(ctx, row.id))


@router.post(
    "/key/{key}/start", response_model=ProcessInstanceWithVariables, responses=ERROR_RESPONSES
)
def start_process_instance_by_key(
    ctx: ContextDep,
    request: Request,
    principal: CamundaPrincipalDep,
    key: str,
    body: StartProcessInstance,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Start an instance of the latest version (Idempotency-Key: a retry starts nothing twice)."""
    return _start(ctx, request, principal, _latest(ctx, key), body, idempotency_key, latest=True)


@router.get("/{definition_id}", response_model=ProcessDefinition, responses=ERROR_RESPONSES)
def get_process_definition(
    ctx: ContextDep, _principal: CamundaPrincipalDep, definition_id: str
) -> ProcessDefinition:
    """One process version by id."""
    return definition_dto(definitions.get_version(ctx, definition_id))


@router.get("/{definition_id}/xml", response_model=ProcessDefinitionXml, responses=ERROR_RESPONSES)
def get_process_definition_bpmn20_xml(
    ctx: ContextDep, _principal: CamundaPrincipalDep, definition_id: str
) -> ProcessDefinitionXml:
    """The BPMN XML of one version, as deployed."""
    xml = definitions.get_version_xml(ctx, definition_id)
    return ProcessDefinitionXml(id=definition_id, bpmn20_xml=xml)


@router.post(
    "/{definition_id}/start", response_model=ProcessInstanceWithVariables, responses=ERROR_RESPONSES
)
def start_process_instance(
    ctx: ContextDep,
    request: Request,
    principal: CamundaPrincipalDep,
    definition_id: str,
    body: StartProcessInstance,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Start an instance of this version (Camunda Modeler's Start button)."""
    version = definitions.get_version(ctx, definition_id)
    return _start(ctx, request, principal, version, body, idempotency_key, latest=False)


def _latest(ctx: ContextDep, key: str) -> VersionRow:
    rows, _total = definitions.find_versions(
        ctx, DefinitionQuery(key=key, latest_only=True), limit=1, offset=0
    )
    if not rows:
        raise NotFound(f"no process definition with key {key!r}")
    return rows[0]


def _start(
    ctx: ContextDep,
    request: Request,
    principal: Principal,
    version: VersionRow,
    body: StartProcessInstance,
    idempotency_key: str | None,
    *,
    latest: bool,
) -> JSONResponse:
    _refuse_unsupported(body)
    variables = from_typed(body.variables, zone=ctx.calendar.timezone)
    business_key = body.business_key or f"{version.key}-{uuid.uuid4().hex[:12]}"
    idem = Idempotency.of(
        idempotency_key,
        user=principal.user_id,
        operation=f"camunda-start:{version.key if latest else version.id}",
        body=body.model_dump(mode="json"),
    )

    def render(result: StartResult) -> dict[str, Any]:
        instance = result.instance
        dto = ProcessInstanceWithVariables(
            links=params.links(request, f"process-instance/{instance.id}"),
            id=instance.id,
            definition_id=instance.definition_id,
            definition_key=instance.definition_key,
            business_key=instance.business_key,
            ended=instance.status != "active",
        )
        answer = dto.model_dump(mode="json", by_alias=True, exclude={"variables"})
        if body.with_variables_in_return:
            dates = declared_dates(ctx, instance.definition_id)
            answer["variables"] = typed_all(instance.variables, dates=dates)
        return answer

    result = instances.start_instance(
        ctx,
        version.key,
        business_key,
        variables,
        principal,
        idempotency=idem,
        render=render,
        definition_id=None if latest else version.id,
    )
    if isinstance(result, Replay):
        return JSONResponse(result.body, headers={"Idempotent-Replayed": "true"})
    return JSONResponse(render(result))


def _refuse_unsupported(body: StartProcessInstance) -> None:
    problems = []
    if body.start_instructions:
        problems.append(FieldError("startInstructions", "is not supported (start at the start)"))
    # skipCustomListeners and skipIoMappings change nothing here, either way: deploying refuses
    # listeners and camunda:inputOutput, so a start has none to run or skip.
    if problems:
        raise bad_request(problems)
