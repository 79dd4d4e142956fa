"""Readiness: whether this server process can serve requests (the database answers, its schema is
current). The HTTP health route reports what this finds; liveness needs no service."""

from __future__ import annotations

import logging

from sqlalchemy import text

from bpmn_service.context import AppContext
from bpmn_service.db.migrate import is_current

log = logging.getLogger("bpmn_service.health")


def unready_reason(ctx: AppContext) -> str | None:
    """Why the service is not ready, or None when the database answers and is migrated. The
    reason is for anyone who asks (probes need no token): the driver's words, which carry SQL
    and server names, go to the log only."""
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = is_current(ctx.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        log.warning("not ready: the database does not answer: %s", " ".join(str(exc).split()))
        return "the database does not answer"
    if not current:
        return "migrations pending"
    return None
