from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.api.schemas import DeploymentRead, DryRunRead
from bpmn_service.errors import PayloadTooLarge
from bpmn_service.services import deployments

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.post(
    "",
    status_code=201,
    response_model=DeploymentRead | DryRunRead,
    responses={
        **ERROR_RESPONSES,
        200: {"model": DryRunRead, "description": "dry run: what a deployment would do"},
    },
)
async def create_deployment(
    ctx: ContextDep,
    principal: PrincipalDep,
    response: Response,
    files: Annotated[list[UploadFile], File(description="one or more .bpmn files")],
    name: Annotated[str | None, Form(max_length=255)] = None,
    dry_run: Annotated[
        bool, Query(description="check only: every problem and warning, nothing is stored")
    ] = False,
) -> DeploymentRead | DryRunRead:
    """Deploy BPMN files; unchanged files are not redeployed, changed ones get the next version.
    Refused files answer 422 with every error of every file in `details`; accepted ones carry
    their `warnings`. With `dry_run=true` the answer is 200 with the problems, the warnings and
    the version each process would get, and nothing is stored."""
    if name is not None and "\x00" in name:
        raise deployments.nul_refused(["name"])
    limit = ctx.settings.max_upload_bytes
    loaded = []
    for upload in files:
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"{upload.filename} is larger than {limit} bytes")
        loaded.append(deployments.BpmnFile(upload.filename or "upload.bpmn", content))
    if dry_run:
        response.status_code = 200
        checked = await run_in_threadpool(deployments.dry_run, ctx, loaded, principal)
        return DryRunRead.model_validate(checked, from_attributes=True)
    # Compiling is CPU work (seconds for a large model): off the event loop, so other requests
    # are answered meanwhile.
    result = await run_in_threadpool(
        deployments.deploy, ctx, loaded, principal, name=name, source="api"
    )
    return DeploymentRead.model_validate(result, from_attributes=True)
