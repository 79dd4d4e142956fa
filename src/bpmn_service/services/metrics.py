"""Per-instance service metrics: customer procedures, hall visits and internal hand-offs.

They are derived from the instance's task history and the `customerProcedure` / `hallVisit`
properties the BPMN puts on tasks (docs/authoring.md), so a changed model changes the counts
without code. A hand-off is a utility task offered to other groups than the utility task that
enabled it; customer and contractor tasks (EXTERNAL_GROUPS) are not utility tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bpmn_service.context import AppContext
from bpmn_service.db.models import HistoricTask
from bpmn_service.identity import Principal

from .instances import spec_loader, visible_instance
from .projection import EXTERNAL_GROUPS
from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class InstanceMetrics:
    instance_id: str
    customer_procedures: list[str]
    hall_visits: int
    handoffs: int
    utility_tasks: int
    customer_tasks: int


def instance_metrics(ctx: AppContext, instance_id: str, principal: Principal) -> InstanceMetrics:
    with UnitOfWork(ctx) as uow:
        session = uow.session
        instance = visible_instance(session, instance_id, principal)
        tasks = list(
            session.scalars(
                select(HistoricTask)
                .where(
                    HistoricTask.instance_id == instance.id, HistoricTask.end_reason == "completed"
                )
                .order_by(HistoricTask.ended_at, HistoricTask.created_at, HistoricTask.id)
            )
        )
        props = ctx.runner.element_properties(
            instance.definition_id, spec_loader(session, instance.definition_id)
        )
    return compute(instance_id, tasks, props)


def compute(
    instance_id: str, tasks: list[HistoricTask], props: dict[str, dict[str, str]]
) -> InstanceMetrics:
    procedures = [props.get(t.element_id, {}).get("customerProcedure") for t in tasks]
    visits = sum(1 for t in tasks if props.get(t.element_id, {}).get("hallVisit") == "true")
    utility = [t for t in tasks if not set(t.candidate_groups) <= EXTERNAL_GROUPS]
    handoffs = 0
    for task in utility:
        enabling = [u for u in utility if u is not task and u.ended_at <= task.created_at]
        if enabling and set(enabling[-1].candidate_groups) != set(task.candidate_groups):
            handoffs += 1
    return InstanceMetrics(
        instance_id=instance_id,
        customer_procedures=[p for p in procedures if p],
        hall_visits=visits,
        handoffs=handoffs,
        utility_tasks=len(utility),
        customer_tasks=len(tasks) - len(utility),
    )
