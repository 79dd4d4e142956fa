"""Consistency check: every instance's stored engine state against the projection tables.

Run after a crash or an incident (`bpmn-service doctor`): it loads each active instance's state
and compares what the engine says is open — user tasks, external tasks, message waits, the next
timer — with the task, external_task and message_subscription rows the API serves. The next timer
in the table is the earliest of the engine's timers and the instance's running time-limit clocks
(clocks.next_instant), so a case with a running limit is compared with that; a timer the poller
parked after its run failed (none in the table) is accepted while that incident is open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db import queries
from bpmn_service.db.models import ExternalTask, MessageSubscription, ProcessInstance, Task
from bpmn_service.errors import ServiceError

from . import clocks, projection, run_incidents
from .instances import spec_loader
from .stuck_cases import can_advance
from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Finding:
    instance_id: str
    business_key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.instance_id} ({self.business_key}): {self.problem}"


# The poller parks a timer whose run failed (next_timer_at null) until a repair closes the
# incident its failure opened: a timer run failing in the engine, or over its budget.
PARKING = frozenset({"timer", "budget"})


def _parked(session: Session, instance: ProcessInstance) -> bool:
    """Whether the instance's timer is parked on purpose: none in the table while an incident
    of a failed timer run is open (docs/reliability.md)."""
    if instance.next_timer_at is not None:
        return False
    return any(i.kind in PARKING for i in run_incidents.open_for(session, instance_id=instance.id))


def _offered_otherwise(
    ctx: AppContext, session: Session, instance: ProcessInstance, view: Any
) -> Iterator[str]:
    """Open tasks that stand for another element than the engine's task, or whose candidates
    are not those a new task of their element gets (a migration before versions realigned
    them kept the old version's). Candidates computed by an expression are not compared: they
    were evaluated with the variables of the task's creation."""
    ready = {t.id: t for t in view.ready_tasks}
    rows = list(session.scalars(select(Task).where(Task.instance_id == instance.id)))
    rows = [r for r in rows if r.id in ready]
    if not rows:
        return
    computed = ctx.runner.computed_candidates(
        instance.definition_id, spec_loader(session, instance.definition_id)
    )
    known = queries.candidates_of(session, [r.id for r in rows])
    for row in sorted(rows, key=lambda r: r.id):
        task = ready[row.id]
        if row.element_id != task.element_id:
            yield (
                f"user task {row.id} is at element {row.element_id} in the table but "
                f"{task.element_id} in the engine"
            )
            continue
        if task.element_id in computed:
            continue
        groups, users = projection.offered_to(instance, task, ctx.lanes)
        have = (sorted(known[row.id]["group"]), sorted(known[row.id]["user"]))
        if have != (groups, users):
            yield (
                f"user task {row.id} ({row.element_id}) is offered to candidate groups "
                f"{have[0]} and users {have[1]}, but its element to {groups} and {users} "
                "(migrate or modify the case to realign it)"
            )


def check_all(ctx: AppContext) -> Iterator[Finding]:
    with UnitOfWork(ctx) as uow:
        ids = list(uow.session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
    for instance_id in ids:
        yield from check_instance(ctx, instance_id)


def check_instance(ctx: AppContext, instance_id: str) -> Iterator[Finding]:
    with UnitOfWork(ctx) as uow:
        session = uow.session
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            return
        tasks = set(session.scalars(select(Task.id).where(Task.instance_id == instance_id)))
        external = set(
            session.scalars(select(ExternalTask.id).where(ExternalTask.instance_id == instance_id))
        )
        waits = set(
            session.scalars(
                select(MessageSubscription.task_id).where(
                    MessageSubscription.instance_id == instance_id
                )
            )
        )

        def finding(problem: str) -> Finding:
            return Finding(instance.id, instance.business_key, problem)

        if instance.status != "active":
            for kind, rows in (
                ("user tasks", tasks),
                ("external tasks", external),
                ("message subscriptions", waits),
            ):
                if rows:
                    yield finding(
                        f"{instance.status} instance still has open {kind}: {sorted(rows)}"
                    )
            return
        try:
            view = ctx.runner.inspect(
                instance.definition_id, spec_loader(session, instance.definition_id), instance.state
            )
        except (ServiceError, ValueError, KeyError) as exc:
            yield finding(f"stored state cannot be loaded: {exc}")
            return
        if view.completed:
            yield finding("the engine state is complete but the instance is active")
        expected = {
            "user tasks": ({t.id for t in view.ready_tasks}, tasks),
            "external tasks": ({t.id for t in view.external_tasks}, external),
            "message subscriptions": ({w.task_id for w in view.waits}, waits),
        }
        for kind, (engine, rows) in expected.items():
            if engine - rows:
                yield finding(
                    f"{kind} open in the engine but missing from the table: {sorted(engine - rows)}"
                )
            if rows - engine:
                yield finding(
                    f"{kind} in the table but not open in the engine: {sorted(rows - engine)}"
                )
        yield from (
            finding(problem) for problem in _offered_otherwise(ctx, session, instance, view)
        )
        # The instance's next instant covers its time-limit clocks too (clocks.schedule).
        running = clocks.open_clocks(session, instance_id)
        expected_timer = clocks.next_instant(view.next_timer_at, running)
        if expected_timer != instance.next_timer_at and not _parked(session, instance):
            with_clocks = (
                " with its time-limit clocks" if expected_timer != view.next_timer_at else ""
            )
            yield finding(
                f"next timer is {expected_timer} in the engine{with_clocks} but "
                f"{instance.next_timer_at} in the table"
            )
        if not can_advance(view):
            # (an event subprocess listening for its start does not move the main flow on)
            yield finding("the instance is active but nothing can advance it (stuck)")
