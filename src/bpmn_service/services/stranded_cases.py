"""A new version that lacks an element where running cases wait deploys all the same (each case
stays on its version), but a supervisor who later migrates those cases needs a mapping for that
element, and an analyst who removed a step by mistake should hear it while still at it: the
deployment (and its dry run) warns, naming the element and how many cases wait there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, distinct, func, select, union_all
from sqlalchemy.orm import Session

from bpmn_service.db.models import (
    ExternalTask,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from bpmn_service.engine import CompiledProcess
from bpmn_service.engine.parsing import spec_element_ids
from bpmn_service.errors import BpmnProblem

CODE = "cases.stranded"


def stranded(session: Session, process: CompiledProcess, filename: str) -> list[BpmnProblem]:
    """A warning per element this file lacks at which active cases of its process wait (an open
    user task, an external task or a message catch event)."""
    active = select(ProcessInstance.id).where(
        ProcessInstance.definition_key == process.key, ProcessInstance.status == "active"
    )
    waits = union_all(
        select(Task.element_id, Task.instance_id).where(Task.instance_id.in_(active)),
        select(ExternalTask.element_id, ExternalTask.instance_id).where(
            ExternalTask.instance_id.in_(active)
        ),
        select(MessageSubscription.element_id, MessageSubscription.instance_id).where(
            MessageSubscription.instance_id.in_(active),
            MessageSubscription.event_subprocess.is_(False),
        ),
    ).subquery()
    counts = session.execute(
        select(waits.c.element_id, func.count(distinct(waits.c.instance_id)))
        .group_by(waits.c.element_id)
        .order_by(waits.c.element_id)
    ).all()
    ids = process.element_ids() | _boundary_events(session, active)
    return [
        BpmnProblem(
            f"{count} running case(s) of {process.key} wait at {element!r}, which {filename} "
            "does not have (renamed or removed): they stay on their version, and moving them "
            "to this one needs a mapping for that element",
            filename,
            element=element,
            code=CODE,
            hint=f"if that was not meant, keep {element!r}; else migrate those cases with a "
            f"mapping of {element!r} to an element of this version (docs/operations.md)",
            severity="warning",
        )
        for element, count in counts
        if element not in ids
    ]


def _boundary_events(session: Session, active: Select[Any]) -> frozenset[str]:
    """The boundary events of the versions the active cases run: a migration drops one the
    target lacks (as Camunda does), so a case waiting at one is not stranded by it."""
    versions = select(ProcessInstance.definition_id).where(ProcessInstance.id.in_(active))
    found: set[str] = set()
    for spec_json in session.scalars(
        select(ProcessDefinition.spec_json).where(ProcessDefinition.id.in_(versions.distinct()))
    ):
        found |= spec_element_ids(spec_json, "BoundaryEvent")
    return frozenset(found)
