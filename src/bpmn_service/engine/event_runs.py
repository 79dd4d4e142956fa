"""Runs of an event subprocess that a modification starts (repair.py), as Camunda instantiates an
event subprocess's scope around the element a start_before names.

A run is started the way SpiffWorkflow starts one for its event (`BpmnStartTask.trigger_wf`: the
event subprocess's task under the process's start task, its subworkflow waiting at its start
event), with the variables the modification gives it. Then either its start event goes on as if
its event had come, without a payload (a start_before of the event subprocess or of its start
event: an interrupting one stops the rest of the process, as in Camunda), or the start event is
left out and the named element starts in its place (a start_before of an element inside it: no
event came, so nothing is interrupted, as in Camunda).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from bpmn_service.errors import Invalid


def is_event_subprocess(workflow: Any, name: str) -> bool:
    """Whether `name` (a subprocess spec, or the task that runs it) is an event subprocess of
    the process, which its event starts (deploy_rules.py allows them only there)."""
    return name in workflow.spec.start.trigger_specs


def start_event_of(workflow: Any, name: str) -> Any:
    """The start event spec of event subprocess `name`, which must have exactly one."""
    starts = list(workflow.subprocess_specs[name].bpmn_start_events)
    if len(starts) != 1:
        listed = ", ".join(sorted(s.bpmn_id for s in starts))
        raise Invalid(
            f"element {name} is an event subprocess with the start events {listed}; start "
            f"before one of them",
            details={"element_id": name},
        )
    return starts[0]


def start_run(workflow: Any, name: str, data: dict[str, Any]) -> Any:
    """A new run of event subprocess `name` with `data` as its variables; the run's start
    event tasks, waiting for their event."""
    holder_id = workflow.spec.start.trigger_wf(workflow.task_tree, name)
    run = workflow.subprocesses[holder_id]
    # A trigger gives the run the variables the case started with (its parent's).
    workflow.tasks[holder_id].data = deepcopy(data)
    for task in run.tasks.values():
        task.data = deepcopy(data)
    starts = {spec.name for spec in run.spec.bpmn_start_events}
    return [t for t in run.tasks.values() if t.task_spec.name in starts]


def fire(start: Any) -> None:
    """The start event goes on as if its event had come, without a payload."""
    start._set_internal_data(event_fired=True)
    start.task_spec._update(start)


def leave_out(starts: list[Any]) -> Any:
    """Remove the run's start events; the task the run's first element then hangs on."""
    anchor = starts[0].parent
    for start in starts:
        start.workflow.top_workflow.event_manager.remove_task(start)
        start.workflow._remove_task(start.id)
    return anchor
