"""A new version that lacks an element where running cases wait deploys all the same (each case
stays on its version), but a supervisor who later migrates those cases needs a mapping for that
element, and an analyst who removed a step by mistake should hear it while still at it: the
deployment (and its dry run) warns, naming the element and how many cases wait there. Where a
migration would move them with no mapping (SpiffWorkflow's diff matches a renamed element by its
neighbours, as the migration does), the warning names that element instead: a mapping is then
needed only to choose another."""

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
from bpmn_service.engine.migration import automatic_targets
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
        select(
            ProcessInstance.definition_id,
            waits.c.element_id,
            func.count(distinct(waits.c.instance_id)),
        )
        .join(ProcessInstance, ProcessInstance.id == waits.c.instance_id)
        .group_by(ProcessInstance.definition_id, waits.c.element_id)
        .order_by(waits.c.element_id, ProcessInstance.definition_id)
    ).all()
    ids = process.element_ids() | _boundary_events(session, active)
    # Per element of no version of this file: how many cases a migration moves where by itself
    # (None: it cannot without a mapping).
    moved: dict[str, dict[str | None, int]] = {}
    targets: dict[str, dict[str, str]] = {}
    for definition_id, element, count in counts:
        if element in ids:
            continue
        if definition_id not in targets:
            spec_json = session.get(ProcessDefinition, definition_id)
            targets[definition_id] = (
                automatic_targets(spec_json.spec_json, process.spec_json) if spec_json else {}
            )
        per_target = moved.setdefault(element, {})
        target = targets[definition_id].get(element)
        per_target[target] = per_target.get(target, 0) + count
    return [
        _warning(process, filename, element, target, count)
        for element, per_target in moved.items()
        for target, count in per_target.items()
    ]


def _warning(
    process: CompiledProcess, filename: str, element: str, target: str | None, count: int
) -> BpmnProblem:
    where = (
        f"{count} running case(s) of {process.key} wait at {element!r}, which {filename} does "
        "not have (renamed or removed): they stay on their version"
    )
    if target is None:
        return BpmnProblem(
            f"{where}, and moving them to this one needs a mapping for that element",
            filename,
            element=element,
            code=CODE,
            hint=f"if that was not meant, keep {element!r}; else migrate those cases with a "
            f"mapping of {element!r} to an element of this version (docs/operations.md)",
            severity="warning",
        )
    return BpmnProblem(
        f"{where}; a migration to this one would move them to {target!r} (matched by its "
        "neighbours); give a mapping to choose another",
        filename,
        element=element,
        code=CODE,
        hint=f"if {target!r} is not where those cases belong, migrate them with a mapping of "
        f"{element!r} to the right element of this version (docs/operations.md)",
        severity="warning",
    )


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
