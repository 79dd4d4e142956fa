"""A case can be left waiting with nothing that could move it on: a parallel join waiting for a
branch that will never come (a migration to a version that added a branch after the case passed
the fork; a modification that cancelled one branch). Nothing fails, so without this nobody would
hear of it until a customer complains: the run that leaves the case so opens a `stuck` incident
at the waiting element, which a repair (start_before the missing branch) or a migration closes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessInstance
from bpmn_service.engine import RunResult
from bpmn_service.engine.activities import ActivityNode
from bpmn_service.errors import WorkflowFailed

# What an engine element waits in when nothing outside the case is awaited.
WAITING_KINDS = frozenset({"join", "waiting"})


def can_advance(result: RunResult) -> bool:
    """Whether something can still move the case's main flow on: a task for people or workers,
    a message it waits for, or one of its own timers. (An event subprocess listening for its
    start message does not move the main flow on.)"""
    return bool(
        result.completed
        or result.ready_tasks
        or result.external_tasks
        or result.next_timer_at
        or any(not wait.event_subprocess for wait in result.waits)
    )


def note_if_stuck(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    result: RunResult,
    *,
    load: Callable[[], str],
    at: datetime,
    actor: str | None,
) -> None:
    """Open (or count again) the `stuck` incident of an active case its run left with nothing
    that can advance it, at the element it waits in (`load` reads its version's spec)."""
    if instance.status != "active" or can_advance(result):
        return
    # Imported here: run_incidents imports runtime, which calls this after every run; the
    # import runs only for a stuck case.
    from . import run_incidents

    waiting = waiting_elements(ctx, instance.definition_id, load, instance.state)
    where = ", ".join(_waiting_at(n) for n in waiting) or "no element"
    message = (
        f"the case waits at {where} with nothing that can move it on: no open task, external "
        "task, message or timer (a join waiting for a branch that will not come); start the "
        "missing branch with a modification (start_before), or migrate the case"
    )
    error = WorkflowFailed(message, details={"element": waiting[0].element_id if waiting else None})
    run_incidents.record(ctx, session, instance, kind="stuck", error=error, at=at, actor=actor)


def waiting_elements(
    ctx: AppContext, definition_id: str, load: Callable[[], str], state: str
) -> list[ActivityNode]:
    """The elements a case in `state` waits in without anything outside it awaited (a join)."""
    nodes = ctx.runner.activities(definition_id, load, state)
    return [n for n in _walk(nodes) if n.kind in WAITING_KINDS]


def _walk(nodes: list[ActivityNode]) -> Iterator[ActivityNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _waiting_at(node: ActivityNode) -> str:
    missing = node.details.get("waiting_for")
    return f"{node.element_id} (for {', '.join(missing)})" if missing else node.element_id
