"""Where a BPMN error raised at a task is caught, as BPMN has it: the innermost catch wins.

First an error boundary event on the task itself, then one on each subprocess around it, then an
event subprocess of the process started by that error. Boundary events on other tasks never catch
it (SpiffWorkflow's own broadcast would let any waiting catcher with the same code take it).

A catch with `camunda:errorCodeVariable` / `camunda:errorMessageVariable` (in its extensions,
camunda_ext.py) sets those variables to the caught error's code and message, as Camunda 7 does:
for a worker's error (`catch_error`) its code and message, for an error end event its error's code
and no message (None). The catching task specs (`ErrorVariablesMixin`) add them to the payload the
catch stores, so they reach the path with the error's other variables and are stored with it.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState


class RaisedError(BpmnEvent):  # type: ignore[misc]
    """A worker's BPMN error: the event, with the message the worker gave."""

    def __init__(self, code: str, variables: dict[str, Any], message: str | None) -> None:
        super().__init__(ErrorEventDefinition(code, code=code), variables)
        self.error_message = message


class ErrorVariablesMixin:
    """A catching event spec that puts the caught error's code and message into the variables
    its camunda:errorCodeVariable / camunda:errorMessageVariable name."""

    extensions: dict[str, Any]
    event_definition: Any

    def catch(self, my_task: Any, event: Any) -> None:
        super().catch(my_task, event)  # type: ignore[misc]
        ext = self.extensions or {}
        names = (ext.get("errorCodeVariable"), ext.get("errorMessageVariable"))
        if not any(names) or not isinstance(event.event_definition, ErrorEventDefinition):
            return
        key = self.event_definition.name
        payload = dict(my_task.internal_data.get(key) or {})
        code_name, message_name = names
        if code_name:
            payload[code_name] = event.event_definition.code
        if message_name:
            payload[message_name] = getattr(event, "error_message", None)
        my_task.internal_data[key] = payload


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


def catch_error(
    task: Any, code: str, variables: dict[str, Any], message: str | None = None
) -> bool:
    """Raise error `code` at `task` with `variables` as its data (and `message`, for the catch's
    camunda:errorMessageVariable); False when nothing catches it (then nothing has changed)."""
    event = RaisedError(code, variables, message)
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
