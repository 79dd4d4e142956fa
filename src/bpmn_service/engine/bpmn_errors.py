"""Where a BPMN error raised at a task is caught, as BPMN has it: the innermost catch wins.

First an error boundary event on the task itself, then one on each subprocess around it, then an
event subprocess of the process started by that error. Boundary events on other tasks never catch
it (SpiffWorkflow's own broadcast would let any waiting catcher with the same code take it).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState


def _boundary_catcher(task: Any, event: Any) -> Any | None:
    parent = task.parent
    for sibling in parent.children if parent is not None else []:
        if (
            sibling is not task
            and sibling.state == TaskState.WAITING
            and isinstance(
                getattr(sibling.task_spec, "event_definition", None), ErrorEventDefinition
            )
            and sibling.task_spec.catches(sibling, event)
        ):
            return sibling
    return None


def _event_subprocess_catcher(top: Any, event: Any) -> Any | None:
    # Starts (or finds) the event subprocess whose start event is this error, as a message would.
    top.event_manager.update_collaboration(event)
    for waiting in list(top.event_manager.tasks.values()):
        if isinstance(waiting.task_spec, StartEvent) and waiting.task_spec.catches(waiting, event):
            return waiting
    return None


def catch_error(task: Any, code: str, variables: dict[str, Any]) -> bool:
    """Raise error `code` at `task` with `variables` as its data; False when nothing catches it
    (then nothing has changed)."""
    event = BpmnEvent(ErrorEventDefinition(code, code=code), variables)
    current: Any = task
    while current is not None:
        catcher = _boundary_catcher(current, event)
        if catcher is not None:
            break
        workflow = current.workflow
        parent_id = getattr(workflow, "parent_task_id", None)
        current = workflow.top_workflow.get_task_from_id(parent_id) if parent_id else None
    else:
        catcher = _event_subprocess_catcher(task.workflow.top_workflow, event)
        if catcher is None:
            return False
    catcher.task_spec.catch(catcher, event)
    catcher.task_spec._update(catcher)
    return True
