"""Acting on a loaded SpiffWorkflow instance the way the service does.

What a completion, a message or an engine failure means for the workflow, shared by the service's
ProcessRunner (runner.py) and the simulation's live instances (live.py): engine errors become
WorkflowFailed naming the element, a multi-instance task's output item is its submitted form, and a
message that nothing waits for is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException

from bpmn_service.errors import InvalidState, WorkflowFailed


class NotWaiting(InvalidState):
    """A message arrived for an instance that has no catch event waiting for it."""


def element_label(spec: Any) -> str:
    """An element as messages name it: its id, and its name in brackets when it has one."""
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", "?")
    name = getattr(spec, "bpmn_name", None)
    return f"{element} ({name})" if name and name != element else str(element)


def no_path_message(spec: Any) -> str:
    """A gateway where no outgoing flow's condition holds and no default flow is drawn."""
    return (
        f"gateway {element_label(spec)}: none of its outgoing flows' conditions holds and it has "
        f"no default flow; add a default flow or check the conditions and the variables they read"
    )


def workflow_failed(exc: Exception) -> WorkflowFailed:
    """An engine or expression error as the domain error, naming the element it happened at."""
    task = getattr(exc, "task", None)
    # A WorkflowException (not a WorkflowTaskException) names only the task spec.
    spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    # SpiffWorkflow's str() ends every message in ". " (its notes joined on).
    message = str(exc).rstrip()
    if _no_path(exc, spec):
        message = no_path_message(spec)
    where = f" at element {element}" if element else ""
    return WorkflowFailed(
        f"the process could not advance{where}: {message}", details={"element": element}
    )


def _no_path(exc: Exception, spec: Any) -> bool:
    # ExclusiveChoice._run_hook's own error (a condition that fails to evaluate raises a
    # WorkflowTaskException instead); its text is pinned with the release (upstream.py).
    return (
        type(exc) is WorkflowException
        and isinstance(spec, ExclusiveGateway)
        and str(exc).startswith("No conditions satisfied for ")
    )


def set_output_item(task: Any, values: Mapping[str, Any], actor: str, at: datetime) -> None:
    """A multi-instance task's output item is its submitted form (see docs/authoring.md)."""
    parent = task.parent
    parent_spec = parent.task_spec if parent is not None else None
    if not isinstance(parent_spec, MultiInstanceTask) or parent_spec.output_item is None:
        return
    if task.task_spec.name != parent_spec.task_spec:
        return  # the task after the multi-instance task (its child too), not one of its instances
    name = parent_spec.output_item.bpmn_id
    if name in values:
        return
    item: dict[str, Any] = dict(values)
    if parent_spec.input_item is not None:
        input_name = parent_spec.input_item.bpmn_id
        item[input_name] = task.data.get(input_name)
    item["completedBy"] = actor
    item["completedAt"] = at.isoformat(timespec="seconds")
    task.data[name] = item


def deliver_message(workflow: Any, name: str, payload: dict[str, Any]) -> None:
    """Hand a named message to the catch event waiting for it; NotWaiting when none waits."""
    event = BpmnEvent(MessageEventDefinition(name), payload)
    if workflow.event_manager.catch(event, internal=False) == 0:
        raise NotWaiting(f"the instance is not waiting for message {name!r}")
