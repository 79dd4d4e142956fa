from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.api.schemas import DeploymentRead
from bpmn_service.errors import PayloadTooLarge
from bpmn_service.services import deployments

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.post("", status_code=201, response_model=DeploymentRead, responses=ERROR_RESPONSES)
async def create_deployment(
    ctx: ContextDep,
    principal: PrincipalDep,
    files: Annotated[list[UploadFile], File(description="one or more .bpmn files")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> DeploymentRead:
    """Deploy BPMN files; unchanged files are not redeployed, changed ones get the next version."""
    limit = ctx.settings.max_upload_bytes
    loaded = []
    for upload in files:
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"{upload.filename} is larger than {limit} bytes")
        loaded.append(deployments.BpmnFile(upload.filename or "upload.bpmn", content))
    # Compiling is CPU work (seconds for a large model): off the event loop, so other requests
    # are answered meanwhile.
    result = await run_in_threadpool(
        deployments.deploy, ctx, loaded, principal, name=name, source="api"
    )
    return DeploymentRead.model_validate(result, from_attributes=True)
