"""Readiness: whether this server process can serve requests (the database answers, its schema is
current). The HTTP health route reports what this finds; liveness needs no service."""

from __future__ import annotations

from sqlalchemy import text

from bpmn_service.context import AppContext
from bpmn_service.db.migrate import is_current


def unready_reason(ctx: AppContext) -> str | None:
    """Why the service is not ready, or None when the database answers and is migrated."""
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = is_current(ctx.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return str(exc)[:200]
    if not current:
        return "migrations pending"
    return None
