from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bpmn_service.api.deps import ContextDep
from bpmn_service.services.health import unready_reason

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "database unreachable or not migrated"}})
def ready(ctx: ContextDep) -> JSONResponse:
    """The database answers and its schema is current."""
    reason = unready_reason(ctx)
    if reason is not None:
        return JSONResponse(
            {"status": "unavailable", "reason": reason},
            status_code=503,
            headers={"Retry-After": "1"},  # as the API's other 503s
        )
    return JSONResponse({"status": "ok"})
