from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bpmn_service.api.deps import ContextDep
from bpmn_service.db.migrate import is_current

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "database unreachable or not migrated"}})
def ready(ctx: ContextDep) -> JSONResponse:
    """The database answers and its schema is current."""
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = is_current(ctx.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, status_code=503)
    if not current:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations pending"}, status_code=503
        )
    return JSONResponse({"status": "ok"})
