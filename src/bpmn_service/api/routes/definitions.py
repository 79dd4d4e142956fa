from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from bpmn_service.api.deps import ContextDep, IdempotencyKeyHeader, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.api.schemas import (
    DefinitionRead,
    InstanceStart,
    StartedInstanceRead,
    task_read,
)
from bpmn_service.services import definitions, instances
from bpmn_service.services.idempotency import Idempotency, Replay
from bpmn_service.services.instances import StartResult

router = APIRouter(prefix="/process-definitions", tags=["process-definitions"])


@router.get("", response_model=list[DefinitionRead], responses=ERROR_RESPONSES)
def list_process_definitions(ctx: ContextDep, principal: PrincipalDep) -> list[DefinitionRead]:
    """List deployed processes with all their versions, newest first, and whether the caller may
    start each."""
    return [
        DefinitionRead.model_validate(d, from_attributes=True)
        for d in definitions.list_definitions(ctx, principal)
    ]


@router.get("/{key}", response_model=DefinitionRead, responses=ERROR_RESPONSES)
def get_process_definition(ctx: ContextDep, principal: PrincipalDep, key: str) -> DefinitionRead:
    """Show one process: its versions, the JSON Schema of its start form and whether the caller
    may start it."""
    found = definitions.get_definition(ctx, key, principal)
    return DefinitionRead.model_validate(found, from_attributes=True)


@router.get(
    "/{key}/xml",
    responses={**ERROR_RESPONSES, 200: {"content": {"application/xml": {}}}},
    response_class=Response,
)
def get_process_definition_xml(
    ctx: ContextDep,
    _principal: PrincipalDep,
    key: str,
    version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="default: the latest")
    ] = None,
) -> Response:
    """Download the BPMN XML of a process version, as deployed."""
    return Response(definitions.get_xml(ctx, key, version), media_type="application/xml")


@router.post(
    "/{key}/instances",
    status_code=201,
    response_model=StartedInstanceRead,
    responses=ERROR_RESPONSES,
)
def start_process_instance(
    ctx: ContextDep,
    principal: PrincipalDep,
    key: str,
    body: InstanceStart,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Start an instance of the latest version; variables are checked against the start form.
    With an Idempotency-Key, a retry returns the first response and starts nothing twice."""
    idem = Idempotency.of(
        idempotency_key,
        user=principal.user_id,
        operation=f"start:{key}",
        body=body.model_dump(mode="json"),
    )
    result = instances.start_instance(
        ctx,
        key,
        body.business_key,
        body.variables,
        principal,
        idempotency=idem,
        render=_started_body,
    )
    if isinstance(result, Replay):
        return JSONResponse(
            result.body, status_code=result.status_code, headers={"Idempotent-Replayed": "true"}
        )
    return JSONResponse(_started_body(result), status_code=201)


def _started_body(result: StartResult) -> dict[str, Any]:
    base = StartedInstanceRead.model_validate({**_instance_fields(result.instance), "tasks": []})
    base.tasks = [task_read(t, result.candidates) for t in result.tasks]
    return base.model_dump(mode="json")


def _instance_fields(instance: object) -> dict[str, object]:
    fields = (
        "id",
        "definition_key",
        "definition_id",
        "version",
        "business_key",
        "status",
        "started_at",
        "started_by",
        "ended_at",
    )
    return {f: getattr(instance, f) for f in fields}
