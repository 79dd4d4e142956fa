"""What a SpiffWorkflow instance shows after a step, read into the plain values of views.py.

Ready user tasks with their assignment rules evaluated, external work, message waits and the next
timer, the messages thrown to other instances, the engine steps taken and the instance's variables.
Reading only: nothing here changes the workflow. The service's ProcessRunner (runner.py) and the
simulation's live instances (live.py) both read their instances through these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from bpmn_service.errors import WorkflowFailed

from .camunda_ext import listed_names
from .column_limits import GROUP_OR_USER
from .expressions import ExpressionError, text_problem
from .joins import merged_data
from .script_engine import EVALUATOR
from .traversal import tasks_of_spec
from .views import EngineStep, ExternalWork, MessageWait, ReadyTask, ThrownMessage

# get_tasks' max_depth that reaches every task of the tree.
FULL_DEPTH = 10**6
INTERNAL_SPECS = frozenset({"Start", "End", "Root"})


def ready_view(task: Any) -> ReadyTask:
    """A READY user task with its assignment rules and form values evaluated."""
    spec = task.task_spec
    ext: dict[str, Any] = spec.extensions or {}
    data = task.data
    shown = {f["id"]: data[f["id"]] for f in ext.get("formFields", ()) if f["id"] in data}
    item_name, item_value = _loop_item(task)
    if item_name is not None:
        shown[item_name] = item_value
    return ReadyTask(
        id=str(task.id),
        element_id=spec.bpmn_id or spec.name,
        spec_name=spec.name,
        name=spec.bpmn_name or spec.bpmn_id or spec.name,
        lane=spec.lane,
        candidate_groups=_evaluate_list(
            ext.get("candidateGroups"), data, spec.bpmn_id, "candidateGroups"
        ),
        candidate_users=_evaluate_list(
            ext.get("candidateUsers"), data, spec.bpmn_id, "candidateUsers"
        ),
        assignee=_evaluate_assignee(ext.get("assignee"), data, spec.bpmn_id),
        priority=_priority(ext.get("priority"), data, spec.bpmn_id),
        due=_evaluate_scalar(ext.get("dueDate"), data, spec.bpmn_id),
        follow_up=_evaluate_scalar(ext.get("followUpDate"), data, spec.bpmn_id),
        form_values=shown,
        properties=dict(ext.get("properties", {})),
    )


def is_external(task: Any) -> bool:
    return bool((task.task_spec.extensions or {}).get("topic"))


def external_view(task: Any) -> ExternalWork:
    spec = task.task_spec
    return ExternalWork(
        id=str(task.id),
        element_id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id,
        topic=spec.extensions["topic"],
        variables=dict(task.data),
    )


def completed_tasks(workflow: Any, *, skip_subprocesses: bool = False) -> list[Any]:
    """The completed tasks of `workflow` (and of its subprocesses unless skipped), in the walk's
    order, including those below a task that is still open: SpiffWorkflow's walk for completed
    tasks does not look below an unfinished task, but a repeating (cycle) timer stays waiting
    while the branch each firing starts runs and ends below it. Asking for waiting tasks too
    makes the walk descend below every definite task."""
    found = workflow.get_tasks(
        state=TaskState.COMPLETED | TaskState.WAITING,
        max_depth=FULL_DEPTH,
        skip_subprocesses=skip_subprocesses,
    )
    return [t for t in found if t.state == TaskState.COMPLETED]


def thrown_since(workflow: Any, since: float) -> list[ThrownMessage]:
    """Messages thrown and not caught inside the instance, addressed by the throw event's
    `businessKey` property and carrying only the variables its `variables` property names."""
    events = [
        e for e in workflow.get_events() if isinstance(e.event_definition, MessageEventDefinition)
    ]
    if not events:
        return []
    throwers = [
        t
        for t in completed_tasks(workflow)
        if t.last_state_change >= since
        and isinstance(t.task_spec, ThrowingEvent)
        and isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
    ]
    thrown = []
    for event in events:
        name = event.event_definition.name
        thrower = next((t for t in throwers if t.task_spec.event_definition.name == name), None)
        if thrower is None:
            continue
        throwers.remove(thrower)
        props = (thrower.task_spec.extensions or {}).get("properties", {})
        key = _evaluate_scalar(props.get("businessKey"), thrower.data, thrower.task_spec.bpmn_id)
        names = listed_names(props.get("variables", ""))
        thrown.append(
            ThrownMessage(
                name=name,
                business_key=key,
                element_id=thrower.task_spec.bpmn_id,
                variables={n: thrower.data.get(n) for n in names},
            )
        )
    return thrown


@lru_cache(maxsize=4096)
def _trigger_id(root: UUID, path: str) -> str:
    """A stable id for an event subprocess's message start (asked for after every step)."""
    return str(uuid5(root, path))


def open_waits(workflow: Any) -> tuple[list[MessageWait], datetime | None]:
    """Message catch events waiting, and the earliest pending timer."""
    waits: list[MessageWait] = []
    due: list[datetime] = []
    for task in list(workflow.event_manager.tasks.values()):
        for wait_id, event, definition in awaited(task):
            if isinstance(definition, MessageEventDefinition):
                waits.append(
                    MessageWait(
                        wait_id,
                        event.bpmn_id,
                        definition.name,
                        event.lane,
                        name=event.bpmn_name,
                    )
                )
            elif isinstance(definition, TimerEventDefinition):
                value = definition.details(task).value
                if isinstance(value, str):
                    moment = datetime.fromisoformat(value)
                    due.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    # Message-started event subprocesses are triggers of the start task, not waiting tasks.
    root = workflow.task_tree.id
    for name in workflow.spec.start.trigger_specs:
        sub_spec = workflow.subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", []):
            definition = start.event_definition
            if isinstance(definition, MessageEventDefinition):
                trigger_id = _trigger_id(root, f"{name}/{start.name}/{definition.name}")
                waits.append(
                    MessageWait(
                        trigger_id,
                        start.bpmn_id or start.name,
                        definition.name,
                        start.lane,
                        event_subprocess=True,
                        name=start.bpmn_name,
                    )
                )
    return waits, min(due) if due else None


def awaited(task: Any) -> list[tuple[str, Any, Any]]:
    """What a waiting catch task awaits: (wait id, catch event spec, event definition).

    SpiffWorkflow 3.2 moves the events of the catch events behind an event-based gateway into
    the gateway (EventBasedGateway.connect): the gateway's task waits for all of them, and the
    catch events themselves wait for nothing. Each of those events is awaited at its catch
    event, under an id of its own (the gateway's task id for the first, so that a gateway with
    one message keeps the task's id), and the first to come decides the path."""
    spec = task.task_spec
    if not isinstance(spec, EventBasedGateway):
        return [(str(task.id), spec, spec.event_definition)]
    found = []
    for index, (event, definition) in enumerate(
        zip(spec.outputs, spec.event_definition.event_definitions, strict=False)
    ):
        wait_id = str(task.id) if index == 0 else str(uuid5(task.id, event.name))
        found.append((wait_id, event, definition))
    return found


def _loop_item(task: Any) -> tuple[str | None, Any]:
    parent_spec = task.parent.task_spec if task.parent is not None else None
    if isinstance(parent_spec, MultiInstanceTask) and parent_spec.input_item is not None:
        name = parent_spec.input_item.bpmn_id
        return name, task.data.get(name)
    return None, None


def _expression(value: str) -> bool:
    return value.strip().startswith("${")


def _evaluate_scalar(value: str | None, data: dict[str, Any], element: str | None) -> str | None:
    if not value:
        return None
    if not _expression(value):
        return value
    try:
        result = EVALUATOR.evaluate(value, data)
    except ExpressionError as exc:
        raise WorkflowFailed(f"the expression of element {element} failed: {exc}") from None
    return None if result is None else str(result)


def _evaluate_list(
    value: str | None, data: dict[str, Any], element: str | None, attribute: str
) -> list[str] | None:
    if not value:
        return None
    if not _expression(value):
        return [i.strip() for i in value.split(",") if i.strip()]
    result = _evaluate(value, data, element)
    if isinstance(result, str):
        items = result.split(",")
    elif isinstance(result, list | tuple) and all(isinstance(i, str) for i in result):
        items = list(result)
    else:
        raise _not_ids(element, attribute, result, "a comma-separated string or a list of strings")
    ids = [i.strip() for i in items if i.strip()]
    for one in ids:
        _check_id(one, element, attribute)
    return ids


def _evaluate_assignee(value: str | None, data: dict[str, Any], element: str | None) -> str | None:
    """The assignee: the attribute's text, or its expression's string (null: nobody)."""
    if not value:
        return None
    if not _expression(value):
        return value
    result = _evaluate(value, data, element)
    if result is None:
        return None
    if not isinstance(result, str) or not result.strip():
        raise _not_ids(element, "assignee", result, "one user id (a non-empty string)")
    _check_id(result.strip(), element, "assignee")
    return result.strip()


def _evaluate(value: str, data: dict[str, Any], element: str | None) -> Any:
    try:
        return EVALUATOR.evaluate(value, data)
    except ExpressionError as exc:
        raise WorkflowFailed(f"the expression of element {element} failed: {exc}") from None


def _not_ids(element: str | None, attribute: str, result: Any, wanted: str) -> WorkflowFailed:
    kind = "null" if result is None else type(result).__name__
    if isinstance(result, list | tuple):
        kind = f"a list holding {', '.join(sorted({type(i).__name__ for i in result}))}"
    return WorkflowFailed(
        f"the camunda:{attribute} expression of element {element} gave {kind}, not {wanted}",
        details={"element": element},
    )


def _check_id(name: str, element: str | None, attribute: str) -> None:
    """A group or user id a task's candidates and assignee hold: printable text (no control
    character, NUL or lone surrogate) of at most GROUP_OR_USER characters."""
    problem = None
    if len(name) > GROUP_OR_USER:
        problem = f"is {len(name)} characters long; at most {GROUP_OR_USER} can be stored"
    elif not name.isprintable() or text_problem(name) is not None:
        problem = "holds a control or non-text character"
    if problem is not None:
        raise WorkflowFailed(
            f"the camunda:{attribute} expression of element {element} gave the id "
            f"{name[:40]!r}, which {problem}",
            details={"element": element},
        )


# task.priority is an SQL INTEGER (32 bits on PostgreSQL), as Camunda's int priority is.
PRIORITY_RANGE = 2**31


def _priority(value: str | None, data: dict[str, Any], element: str | None) -> int:
    text = _evaluate_scalar(value, data, element)
    try:
        priority = int(text) if text is not None else 50
    except ValueError:
        raise WorkflowFailed(
            f"the priority of element {element} is not an integer: {text!r}",
            details={"element": element},
        ) from None
    if not -PRIORITY_RANGE <= priority < PRIORITY_RANGE:
        raise WorkflowFailed(
            f"the priority of element {element} is {priority}, beyond a 32-bit integer "
            f"({-PRIORITY_RANGE} to {PRIORITY_RANGE - 1})",
            details={"element": element},
        )
    return priority


def variables_of(workflow: Any, completed: bool, done: list[Any] | None = None) -> dict[str, Any]:
    """The instance's variables: the data at the end, or merged from the open branches.

    Event subprocesses keep their own data scope in SpiffWorkflow; what finished ones recorded is
    merged first, so the main flow's current values win where both have a variable. `done`:
    completed_tasks(workflow), when the caller has it already (it walks the whole tree).
    """
    merged: dict[str, Any] = {}
    if done is None:
        done = completed_tasks(workflow)
    triggered = set(workflow.spec.start.trigger_specs)
    finished = [t for t in done if t.task_spec.name in triggered] if triggered else []
    for task in sorted(finished, key=lambda t: t.last_state_change):
        merged.update(task.data)
    if completed:
        merged.update(workflow.data if workflow.data else workflow.last_task.data)
        return merged
    open_tasks = sorted(
        [
            *(
                t
                for t in workflow.get_tasks(
                    state=TaskState.READY | TaskState.WAITING | TaskState.STARTED,
                    max_depth=FULL_DEPTH,
                )
                if not t.task_spec.name.endswith(" [child]")
            ),
            *_ended_branches(workflow, done),
        ],
        key=lambda t: t.last_state_change,
    )
    if open_tasks:
        # Each open branch contributes what it changed since the branches diverged.
        merged.update(merged_data(open_tasks))
    elif workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    return merged


def _ended_branches(workflow: Any, done: list[Any]) -> list[Any]:
    """End events a branch of the running process already reached (e.g. a non-interrupting
    reminder's script): SpiffWorkflow merges their variables only when the process ends, but
    they are the case's current values now. (The process's own completed tasks are found in the
    same order whether or not the walk also went into subprocesses.)"""
    return [t for t in done if t.workflow is workflow and isinstance(t.task_spec, EndEvent)]


def steps_since(workflow: Any, since: float) -> list[EngineStep]:
    return completed_since(workflow, since)[0]


def completed_since(
    workflow: Any, since: float, done: list[Any] | None = None
) -> tuple[list[EngineStep], list[str]]:
    """The automatic steps run since ``since`` and the ids of every element that completed
    since then (user and external tasks included), both in the order they completed. `done`:
    completed_tasks(workflow), when the caller has it already."""
    threshold = since
    steps = []
    finished: list[tuple[float, str]] = []
    for task in completed_tasks(workflow) if done is None else done:
        spec = task.task_spec
        if task.last_state_change < threshold or spec.bpmn_id is None:
            continue
        if spec.name in INTERNAL_SPECS or spec.name.endswith(" [child]"):
            continue
        finished.append((task.last_state_change, spec.bpmn_id))
        if spec.manual:
            continue
        steps.append(
            EngineStep(
                element_id=spec.bpmn_id,
                name=spec.bpmn_name,
                kind=element_kind(type(spec)),
                at=datetime.fromtimestamp(task.last_state_change, UTC),
            )
        )
    steps.sort(key=lambda s: s.at)
    finished.sort(key=lambda f: f[0])
    return steps, [element for _, element in finished]


_KINDS: dict[type, str] = {}


def element_kind(spec_class: type) -> str:
    """SpiffWorkflow's name of the element kind (`ParallelGateway`, `BoundaryEvent`), also for the
    service's own subclasses of it: the metrics' and the history's `kind` stays the element's
    whatever class the engine layer uses for it."""
    kind = _KINDS.get(spec_class)
    if kind is None:
        upstream = (c for c in spec_class.__mro__ if c.__module__.startswith("SpiffWorkflow."))
        kind = _KINDS[spec_class] = next(upstream, spec_class).__name__
    return kind


def completed_among(workflow: Any, since: float, elements: frozenset[str]) -> list[str]:
    """``completed_since``'s element ids, only those in ``elements``, found through the task
    index by spec instead of a walk of the whole tree (the simulation asks after every step)."""
    if not elements:
        return []
    finished: list[tuple[float, str]] = []
    for sub in (workflow, *workflow.subprocesses.values()):
        for spec in sub.spec.task_specs.values():
            if spec.bpmn_id not in elements or spec.name in INTERNAL_SPECS:
                continue
            if spec.name.endswith(" [child]"):
                continue
            for task in tasks_of_spec(sub, spec):
                if task.state == TaskState.COMPLETED and task.last_state_change >= since:
                    finished.append((task.last_state_change, spec.bpmn_id))
    finished.sort(key=lambda f: f[0])
    return [element for _, element in finished]
