"""Camunda's deployment resource: what Camunda Modeler's Deploy button and pycamunda call.

`POST /deployment/create` takes Camunda's multipart form: the fields below plus BPMN files under
any part name. Unchanged files are never deployed again (the service de-duplicates by checksum,
as Camunda does with enable-duplicate-filtering and deploy-changed-only), and the answer lists
the versions the files stand for, new or not, so a client can start the one it deployed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.params import PagingDep
from bpmn_service.api.compat.schemas import (
    Count,
    Deployment,
    DeploymentWithDefinitions,
    DeployWarning,
    ProcessDefinition,
)
from bpmn_service.api.compat.values import camunda_date, optional_date
from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import FieldError, PayloadTooLarge
from bpmn_service.services import deployments
from bpmn_service.services.deployments import BpmnFile, DeploymentInfo

router = APIRouter(prefix="/deployment", tags=["deployment"])

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml", ".xml")
FLAGS = ("enable-duplicate-filtering", "deploy-changed-only")
SORTS = {"id": "id", "name": "name", "deploymentTime": "deployed_at"}
Text = Annotated[str | None, Query()]


def deployment_dto(request: Request, info: DeploymentInfo) -> Deployment:
    return Deployment(
        links=params.links(request, f"deployment/{info.id}"),
        id=info.id,
        name=info.name,
        source=info.source,
        deployment_time=camunda_date(info.deployed_at) or "",
    )


def _query(
    ctx: ContextDep,
    page: params.Paging,
    id: str | None,
    name: str | None,
    name_like: str | None,
    source: str | None,
    before: str | None,
    after: str | None,
    sort_by: str | None,
    sort_order: str | None,
    tenant_id_in: str | None,
) -> tuple[list[DeploymentInfo], int]:
    sort = params.sort_order(sort_by, sort_order, SORTS) or ("deployed_at", False)
    return deployments.list_deployments(
        ctx,
        ids=[id] if id is not None else None,
        name=name,
        name_like=name_like,
        source=source,
        before=optional_date(before, "before"),
        after=optional_date(after, "after"),
        sort=sort[0],
        descending=sort[1],
        limit=0 if params.no_tenants(tenant_id_in) else page.limit,
        offset=page.offset,
    )


@router.get("", response_model=list[Deployment], responses=ERROR_RESPONSES)
def get_deployments(
    ctx: ContextDep,
    request: Request,
    _principal: CamundaPrincipalDep,
    page: PagingDep,
    id: Text = None,
    name: Text = None,
    name_like: Annotated[str | None, Query(alias="nameLike")] = None,
    source: Text = None,
    before: Text = None,
    after: Text = None,
    sort_by: params.SortBy = None,
    sort_order: params.SortOrder = None,
    tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
) -> list[Deployment]:
    """Deployments; `maxResults=0` is Camunda Modeler's connection check and answers []."""
    rows, _total = _query(
        ctx, page, id, name, name_like, source, before, after, sort_by, sort_order, tenant_id_in
    )
    return [deployment_dto(request, r) for r in rows]


@router.get("/count", response_model=Count, responses=ERROR_RESPONSES)
def get_deployments_count(
    ctx: ContextDep,
    _principal: CamundaPrincipalDep,
    id: Text = None,
    name: Text = None,
    name_like: Annotated[str | None, Query(alias="nameLike")] = None,
    source: Text = None,
    before: Text = None,
    after: Text = None,
    tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
) -> Count:
    """How many deployments match."""
    page = params.Paging(0, 0)
    _rows, total = _query(
        ctx, page, id, name, name_like, source, before, after, None, None, tenant_id_in
    )
    return Count(count=0 if params.no_tenants(tenant_id_in) else total)


@router.get("/{deployment_id}", response_model=Deployment, responses=ERROR_RESPONSES)
def get_deployment(
    ctx: ContextDep, request: Request, _principal: CamundaPrincipalDep, deployment_id: str
) -> Deployment:
    """One deployment."""
    return deployment_dto(request, deployments.get_deployment(ctx, deployment_id))


@router.post(
    "/create",
    response_model=DeploymentWithDefinitions,
    responses=ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "deployment-name": {"type": "string"},
                            "deployment-source": {"type": "string"},
                            "enable-duplicate-filtering": {"type": "boolean"},
                            "deploy-changed-only": {"type": "boolean"},
                            "data": {"type": "string", "format": "binary"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def create_deployment(
    ctx: ContextDep, request: Request, principal: CamundaPrincipalDep
) -> DeploymentWithDefinitions:
    """Deploy BPMN files sent as multipart parts under any name (Camunda Modeler: the file's
    name); a parse error is 400 with the ENGINE-09005 message the Modeler shows."""
    limit = ctx.settings.max_upload_bytes
    form = await request.form(max_files=deployments.MAX_FILES, max_fields=20)
    fields: dict[str, str] = {}
    files: list[BpmnFile] = []
    for part_name, value in form.multi_items():
        if isinstance(value, UploadFile):
            filename = value.filename or part_name
            content = await value.read(limit + 1)
            if len(content) > limit:
                raise PayloadTooLarge(f"{filename} is larger than {limit} bytes")
            files.append(BpmnFile(filename, content))
        else:
            fields[part_name] = value
    name, source = _fields(fields)
    _only_bpmn(files)
    # Compiling is CPU work: off the event loop (see api/routes/deployments.py).
    result = await run_in_threadpool(
        deployments.deploy, ctx, files, principal, name=name, source=source
    )
    if result.id is not None:
        info = DeploymentInfo(
            result.id, result.name, source, result.definitions[0].deployed_at, principal.user_id
        )
    else:  # nothing changed: the deployment the first file's current version came with
        info = deployments.get_deployment(ctx, result.definitions[0].deployment_id)
    base = deployment_dto(request, info)
    return DeploymentWithDefinitions(
        **base.model_dump(),
        deployed_process_definitions={
            d.id: ProcessDefinition(
                id=d.id,
                key=d.key,
                name=d.name,
                version=d.version,
                resource=d.resource_name,
                deployment_id=d.deployment_id,
            )
            for d in result.definitions
        },
        warnings=[DeployWarning.model_validate(w, from_attributes=True) for w in result.warnings],
    )


def _fields(fields: dict[str, str]) -> tuple[str | None, str]:
    problems = []
    for part in sorted(set(fields) - {"deployment-name", "deployment-source", *FLAGS}):
        if part in ("tenant-id", "deployment-activation-time"):
            if fields[part].strip():
                problems.append(FieldError(part, "is not supported (no tenants, no delayed start)"))
        else:
            problems.append(FieldError(part, "is not a deployment field or a file"))
    for flag in FLAGS:
        if fields.get(flag, "false").strip().lower() not in ("true", "false"):
            problems.append(FieldError(flag, "must be true or false"))
    name = fields.get("deployment-name") or None
    source = (fields.get("deployment-source") or "engine-rest").strip()
    if name is not None and len(name) > 255:
        problems.append(FieldError("deployment-name", "must be at most 255 characters"))
    if len(source) > 64:
        problems.append(FieldError("deployment-source", "must be at most 64 characters"))
    problems += [
        FieldError(field, deployments.NUL_IN_TEXT)
        for field in ("deployment-name", "deployment-source")
        if "\x00" in fields.get(field, "")
    ]
    if problems:
        raise bad_request(problems)
    return name, source


def _only_bpmn(files: list[BpmnFile]) -> None:
    others = [f.filename for f in files if not f.filename.lower().endswith(BPMN_SUFFIXES)]
    if others:
        raise bad_request(
            [
                FieldError(
                    name,
                    "only BPMN files (.bpmn, .bpmn20.xml) are deployed here; Camunda Forms, DMN "
                    "and CMMN are not run by this service (forms: camunda:formData)",
                )
                for name in others
            ]
        )
