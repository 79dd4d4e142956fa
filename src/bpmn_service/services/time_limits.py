"""Where a case stands against its declared time limits: one entry per clock run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bpmn_service.context import AppContext
from bpmn_service.db.models import TimeLimitClock
from bpmn_service.identity import Principal

from .clocks import declarations
from .instances import visible_instance
from .uow import UnitOfWork


@dataclass(frozen=True)
class ClockView:
    limit_id: str
    name: str
    regime: str
    category: str
    limit_days: float
    status: str
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    paused_at: datetime | None
    warned_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    escalated_to: list[str]
    escalation_task_id: str | None
    element_ids: list[str]


def instance_time_limits(
    ctx: AppContext, instance_id: str, principal: Principal
) -> list[ClockView]:
    """The case's clocks, oldest first; a clock left open when the case ended is "cancelled"."""
    with UnitOfWork(ctx) as uow:
        session = uow.session
        instance = visible_instance(session, instance_id, principal)
        declared = declarations(session, instance.definition_id)
        rows = session.scalars(
            select(TimeLimitClock)
            .where(TimeLimitClock.instance_id == instance.id)
            .order_by(TimeLimitClock.id)
        )
        views = []
        for row in rows:
            status = row.status
            if row.stopped_at is None and instance.status != "active" and status != "breached":
                status = "cancelled"
            limit = declared.limits.get(row.limit_id)
            views.append(
                ClockView(
                    limit_id=row.limit_id,
                    name=row.name,
                    regime=row.regime,
                    category=row.category,
                    limit_days=row.limit_days,
                    status=status,
                    started_at=row.started_at,
                    due_at=row.due_at,
                    warn_at=row.warn_at,
                    paused_at=row.paused_at,
                    warned_at=row.warned_at,
                    stopped_at=row.stopped_at,
                    breached_at=row.breached_at,
                    escalated_to=list(row.escalate_to),
                    escalation_task_id=row.escalation_task_id,
                    element_ids=list(limit.covered) if limit else [],
                )
            )
        return views
