"""Where a case stands: the tree of its active elements, read from a loaded workflow.

Every open task of a BPMN element (ready, waiting, started) becomes a node; a node's children are
the open elements inside it (the instances of a multi-instance body, the elements of an embedded
subprocess, a call activity or a running event subprocess). Listening message starts of event
subprocesses are shown too: they are what a portal may send. Reading only; nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import (
    CallActivity,
    EventSubprocess,
    SubWorkflowTask,
)
from SpiffWorkflow.util.task import TaskState

from .instance_view import FULL_DEPTH, INTERNAL_SPECS, awaited, is_external, open_waits
from .joins import arrived_inputs, branch_name

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass
class ActivityNode:
    """One active element; `details` holds what its kind adds (message name, timer due, ...)."""

    element_id: str
    name: str | None
    kind: str
    lane: str | None
    since: datetime | None
    task_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    children: list[ActivityNode] = field(default_factory=list)


def kind_of(task: Any) -> str:
    spec = task.task_spec
    if isinstance(spec, LoopTask):
        return "multi_instance"
    if isinstance(spec, EventSubprocess):
        return "event_subprocess"
    if isinstance(spec, CallActivity):
        return "call_activity"
    if isinstance(spec, SubWorkflowTask):
        return "subprocess"
    if spec.manual:
        return "external_task" if is_external(task) else "user_task"
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MessageEventDefinition):
        return "message_wait"
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    if task.state == TaskState.ERROR:
        return "failed"
    if task.state == TaskState.WAITING:
        return "join" if len(spec.inputs) > 1 else "waiting"
    return "step"


def _details(task: Any, kind: str) -> dict[str, Any]:
    definition: Any = getattr(task.task_spec, "event_definition", None)
    if kind == "join":
        return {"waiting_for": _missing_inputs(task), "arrived": _arrived(task)}
    if kind == "message_wait":
        return {"message_name": definition.name}
    if kind == "timer":
        return _timer_due(definition, task)
    return {}


def _timer_due(definition: Any, task: Any) -> dict[str, Any]:
    value = definition.details(task).value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            due = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return {"due": due.isoformat()}
        except ValueError:
            pass
    return {"due": None, "timer": str(value)}


def _missing_inputs(join: Any) -> list[str]:
    """The incoming branches (by their last element) a waiting join has had no token from in its
    current pass: every branch that arrived in this pass counts, not only the latest arrival
    (which alone waits; the earlier ones are cancelled tasks of the join), and no arrival of an
    earlier pass of a loop does (joins.current_arrivals)."""
    arrived = arrived_inputs(join)
    return [branch_name(s) for s in join.task_spec.inputs if s not in arrived]


def _arrived(join: Any) -> list[str]:
    arrived = arrived_inputs(join)
    return [branch_name(s) for s in join.task_spec.inputs if s in arrived]


def _node(task: Any) -> ActivityNode:
    spec = task.task_spec
    kind = kind_of(task)
    name = spec.bpmn_name
    if name is None and isinstance(spec, LoopTask):  # the body is named by its task
        inner = task.workflow.spec.task_specs.get(spec.task_spec)
        name = getattr(inner, "bpmn_name", None)
    since = datetime.fromtimestamp(task.last_state_change, UTC)
    return ActivityNode(
        element_id=spec.bpmn_id,
        name=name,
        kind=kind,
        lane=getattr(spec, "lane", None),
        since=since,
        task_id=str(task.id),
        details=_details(task, kind),
        children=_gateway_events(task, since),
    )


def _gateway_events(task: Any, since: datetime) -> list[ActivityNode]:
    """What an event-based gateway waits for, one node per catch event behind it (its message
    or its timer): SpiffWorkflow keeps those events on the gateway's own task, so the gateway
    alone said only 'waiting', not which message to send or when the timer fires."""
    if not isinstance(task.task_spec, EventBasedGateway) or task.state != TaskState.WAITING:
        return []
    nodes = []
    for wait_id, event, definition in awaited(task):
        if isinstance(definition, MessageEventDefinition):
            kind, details = "message_wait", {"message_name": definition.name}
        elif isinstance(definition, TimerEventDefinition):
            kind, details = "timer", _timer_due(definition, task)
        else:
            continue
        nodes.append(
            ActivityNode(
                element_id=event.bpmn_id,
                name=event.bpmn_name,
                kind=kind,
                lane=getattr(event, "lane", None),
                since=since,
                task_id=wait_id,
                details=details,
            )
        )
    return nodes


def _shown(task: Any) -> bool:
    spec = task.task_spec
    return bool(getattr(spec, "bpmn_id", None)) and spec.name not in INTERNAL_SPECS


def activity_tree(workflow: Any) -> list[ActivityNode]:
    """The active elements of an instance as a tree, in the engine's walk order."""
    if workflow.is_completed():
        return []
    tasks = [t for t in workflow.get_tasks(state=OPEN, max_depth=FULL_DEPTH) if _shown(t)]
    nodes: dict[Any, ActivityNode] = {task.id: _node(task) for task in tasks}
    roots: list[ActivityNode] = []
    for task in tasks:
        container = _container(workflow, task, nodes)
        (container.children if container is not None else roots).append(nodes[task.id])
    # Event subprocesses listening for their start message.
    for wait in open_waits(workflow)[0]:
        if wait.event_subprocess:
            roots.append(
                ActivityNode(
                    element_id=wait.element_id,
                    name=wait.name,
                    kind="message_wait",
                    lane=wait.lane,
                    since=None,
                    task_id=None,
                    details={"message_name": wait.message_name, "event_subprocess": True},
                )
            )
    return roots


def _container(workflow: Any, task: Any, nodes: dict[Any, ActivityNode]) -> ActivityNode | None:
    """The node of the nearest open element around `task`: a multi-instance body above it in
    the same workflow, else the element that runs its (sub)workflow."""
    parent = task.parent
    while parent is not None and parent.workflow is task.workflow:
        if parent.id in nodes and parent.has_state(OPEN):
            return nodes[parent.id]
        if not parent.has_state(OPEN):
            break
        parent = parent.parent
    owner_id = getattr(task.workflow, "parent_task_id", None)
    while owner_id is not None:
        if owner_id in nodes:
            return nodes[owner_id]
        owner = workflow.get_task_from_id(owner_id)
        owner_id = getattr(owner.workflow, "parent_task_id", None) if owner is not None else None
    return None
