"""ProcessRunner: the typed facade over SpiffWorkflow that the services call.

Every call is load → act → run engine steps → dump; nothing here touches the database. The caller
stores the returned state in the same transaction as the task projection, so a failure anywhere
leaves the stored instance as it was.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from bpmn_service.errors import Invalid, InvalidState, NotFound, WorkflowFailed

# event_subprocesses, inheritance, traversal and waiting patch SpiffWorkflow on import.
from . import clock, event_subprocesses, forms, inheritance, traversal, waiting  # noqa: F401
from .bpmn_errors import catch_error
from .camunda_ext import listed_names
from .expressions import ExpressionError
from .joins import merged_data
from .script_engine import EVALUATOR, SafeBpmnWorkflow
from .serialization import dump_state, load_state, spec_from_json
from .views import EngineStep, ExternalWork, MessageWait, ReadyTask, RunResult, ThrownMessage

# A rework loop adds about four levels to SpiffWorkflow's task tree per pass, and at depth 1000 the
# engine silently stops seeing READY tasks; refuse to go anywhere near that.
MAX_TASKS = 20_000
FULL_DEPTH = 10**6


class ErrorNotCaught(Invalid):
    """A worker's BPMN error that nothing around its task catches (see bpmn_errors.py)."""

    code = "error_not_caught"


class NotWaiting(InvalidState):
    """A message arrived for an instance that has no catch event waiting for it."""


SpecLoader = Callable[[], str]
INTERNAL_SPECS = frozenset({"Start", "End", "Root"})


class SpecCache:
    """Parsed specs per process-definition id; specs are immutable once deployed."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition_id: str, load: SpecLoader) -> tuple[Any, dict[str, Any]]:
        """The restored spec; `load` is only called (to read the spec JSON) on a miss."""
        with self._lock:
            if definition_id in self._items:
                self._items.move_to_end(definition_id)
                return self._items[definition_id]
        specs = spec_from_json(load())
        with self._lock:
            self._items[definition_id] = specs
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs


class ProcessRunner:
    def __init__(self, cache: SpecCache | None = None) -> None:
        self.cache = cache or SpecCache()

    def task_form(
        self, definition_id: str, load: SpecLoader, spec_name: str
    ) -> list[forms.FormField]:
        """The form of a task spec, read from the cached spec (no workflow is loaded)."""
        spec, subs = self.cache.get(definition_id, load)
        task_spec = _find_spec(spec, subs, spec_name)
        if task_spec is None:
            return []
        return [forms.FormField.from_dict(f) for f in task_spec.extensions.get("formFields", [])]

    def element_properties(self, definition_id: str, load: SpecLoader) -> dict[str, dict[str, str]]:
        """camunda:properties of every task element of a process version, by element id."""
        spec, subs = self.cache.get(definition_id, load)
        return {
            ts.bpmn_id: dict(ts.extensions.get("properties", {}))
            for process in (spec, *subs.values())
            for ts in process.task_specs.values()
            if getattr(ts, "bpmn_id", None) and getattr(ts, "extensions", None)
        }

    def start(
        self, definition_id: str, load: SpecLoader, variables: dict[str, Any], *, now: datetime
    ) -> RunResult:
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = SafeBpmnWorkflow(spec, subs)
            since = time.time()
            start = workflow.get_tasks(state=TaskState.READY)
            target = start[0] if start else workflow.task_tree
            target.data.update(variables)
            self._advance(workflow)
            return self._result(workflow, since)

    def complete(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        task_id: str,
        values: Mapping[str, Any],
        actor: str,
        *,
        now: datetime,
    ) -> RunResult:
        """Complete a READY user or external task with already-validated values and advance."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = load_state(state, spec, subs)
            task = self._find(workflow, task_id)
            if task.state != TaskState.READY or not task.task_spec.manual:
                raise InvalidState(
                    f"task {task_id} is not ready to be completed "
                    f"(state {TaskState.get_name(task.state)})"
                )
            since = time.time()
            task.data.update(values)
            self._set_output_item(task, values, actor, now)
            try:
                task.run()
            except (SpiffWorkflowException, ExpressionError) as exc:
                raise _failed(exc) from None
            self._advance(workflow)
            return self._result(workflow, since)

    def inspect(self, definition_id: str, load: SpecLoader, state: str) -> RunResult:
        """The stored state as a RunResult, without advancing anything (for consistency checks)."""
        spec, subs = self.cache.get(definition_id, load)
        workflow = load_state(state, spec, subs)
        return self._result(workflow, time.time())

    def fire_timers(
        self, definition_id: str, load: SpecLoader, state: str, *, now: datetime
    ) -> RunResult:
        """Fire every timer due at `now` and advance; a no-op run when none is due."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = load_state(state, spec, subs)
            since = time.time()
            try:
                workflow.refresh_timers()
            except (SpiffWorkflowException, ExpressionError) as exc:
                raise _failed(exc) from None
            self._advance(workflow)
            return self._result(workflow, since)

    def deliver_message(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        name: str,
        payload: dict[str, Any],
        *,
        now: datetime,
    ) -> RunResult:
        """Deliver a named message to a waiting catch event; NotWaiting when none waits."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = load_state(state, spec, subs)
            since = time.time()
            event = BpmnEvent(MessageEventDefinition(name), payload)
            if workflow.event_manager.catch(event, internal=False) == 0:
                raise NotWaiting(f"the instance is not waiting for message {name!r}")
            self._advance(workflow)
            return self._result(workflow, since)

    def throw_error(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        task_id: str,
        code: str,
        variables: Mapping[str, Any],
        *,
        now: datetime,
    ) -> RunResult:
        """A BPMN error raised by the worker of a READY external task, caught as BPMN has it
        (bpmn_errors.py) with `variables` as its data. ErrorNotCaught when nothing catches it;
        nothing changes then."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = load_state(state, spec, subs)
            task = self._find(workflow, task_id)
            if task.state != TaskState.READY or not _is_external(task):
                raise InvalidState(f"task {task_id} is not a ready external task")
            since = time.time()
            try:
                caught = catch_error(task, code, dict(variables))
            except (SpiffWorkflowException, ExpressionError) as exc:
                raise _failed(exc) from None
            if not caught:
                raise ErrorNotCaught(
                    f"nothing catches error code {code!r} raised at {task.task_spec.bpmn_id} (no "
                    f"error boundary event on it or around it, no error event subprocess); "
                    f"complete the task or report a failure instead",
                    details={"element_id": task.task_spec.bpmn_id, "error_code": code},
                )
            self._advance(workflow)
            return self._result(workflow, since)

    def _find(self, workflow: Any, task_id: str) -> Any:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, SpiffWorkflowException):
            task = None
        if task is None:
            raise NotFound(f"task {task_id} is not part of this instance")
        return task

    def _set_output_item(
        self, task: Any, values: Mapping[str, Any], actor: str, at: datetime
    ) -> None:
        """A multi-instance task's output item is its submitted form (see docs/authoring.md)."""
        parent = task.parent
        parent_spec = parent.task_spec if parent is not None else None
        if not isinstance(parent_spec, MultiInstanceTask) or parent_spec.output_item is None:
            return
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

    def _advance(self, workflow: Any) -> None:
        try:
            workflow.do_engine_steps()
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise _failed(exc) from None
        if len(workflow.tasks) > MAX_TASKS:
            raise WorkflowFailed(
                f"the instance grew beyond {MAX_TASKS} engine tasks; a rework loop is not bounded"
            )

    def _result(self, workflow: Any, since: float) -> RunResult:
        manual = workflow.get_tasks(state=TaskState.READY, manual=True, max_depth=FULL_DEPTH)
        ready = [t for t in manual if not _is_external(t)]
        external = [t for t in manual if _is_external(t)]
        completed = workflow.is_completed() and not manual
        waiting_automatic = workflow.get_tasks(
            state=TaskState.READY, manual=False, max_depth=FULL_DEPTH
        )
        if waiting_automatic:
            names = ", ".join(
                sorted({t.task_spec.bpmn_id or t.task_spec.name for t in waiting_automatic})
            )
            raise WorkflowFailed(f"the engine stopped with automatic steps still ready: {names}")
        waits, next_timer = _waiting(workflow)
        try:
            state = dump_state(workflow)
        except (TypeError, ValueError) as exc:
            raise WorkflowFailed(f"the instance's variables cannot be stored: {exc}") from None
        return RunResult(
            state=state,
            completed=completed,
            ready_tasks=[self._ready_view(t) for t in ready],
            variables=_variables(workflow, completed),
            steps=_steps(workflow, since),
            external_tasks=[_external_view(t) for t in external],
            waits=waits,
            next_timer_at=next_timer,
            thrown=_thrown(workflow, since),
        )

    def _ready_view(self, task: Any) -> ReadyTask:
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
            candidate_groups=_evaluate_list(ext.get("candidateGroups"), data, spec.bpmn_id),
            candidate_users=_evaluate_list(ext.get("candidateUsers"), data, spec.bpmn_id),
            assignee=_evaluate_scalar(ext.get("assignee"), data, spec.bpmn_id),
            priority=_priority(ext.get("priority"), data, spec.bpmn_id),
            due=_evaluate_scalar(ext.get("dueDate"), data, spec.bpmn_id),
            follow_up=_evaluate_scalar(ext.get("followUpDate"), data, spec.bpmn_id),
            form_values=shown,
            properties=dict(ext.get("properties", {})),
        )


def _find_spec(spec: Any, subprocess_specs: dict[str, Any], name: str) -> Any:
    """A task spec by name, in the process or any of its (embedded or called) subprocesses."""
    for process in (spec, *subprocess_specs.values()):
        if name in process.task_specs:
            return process.task_specs[name]
    return None


def _is_external(task: Any) -> bool:
    return bool((task.task_spec.extensions or {}).get("topic"))


def _external_view(task: Any) -> ExternalWork:
    spec = task.task_spec
    return ExternalWork(
        id=str(task.id),
        element_id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id,
        topic=spec.extensions["topic"],
        variables=dict(task.data),
    )


def _thrown(workflow: Any, since: float) -> list[ThrownMessage]:
    """Messages thrown and not caught inside the instance, addressed by the throw event's
    `businessKey` property and carrying only the variables its `variables` property names."""
    events = [
        e for e in workflow.get_events() if isinstance(e.event_definition, MessageEventDefinition)
    ]
    if not events:
        return []
    throwers = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED, max_depth=FULL_DEPTH)
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


def _waiting(workflow: Any) -> tuple[list[MessageWait], datetime | None]:
    """Message catch events waiting, and the earliest pending timer."""
    waits: list[MessageWait] = []
    due: list[datetime] = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if isinstance(definition, MessageEventDefinition):
            waits.append(
                MessageWait(
                    str(task.id), task.task_spec.bpmn_id, definition.name, task.task_spec.lane
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
                    )
                )
    return waits, min(due) if due else None


def _failed(exc: Exception) -> WorkflowFailed:
    task = getattr(exc, "task", None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    message = str(exc)
    where = f" at element {element}" if element else ""
    return WorkflowFailed(
        f"the process could not advance{where}: {message}", details={"element": element}
    )


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
    value: str | None, data: dict[str, Any], element: str | None
) -> list[str] | None:
    if not value:
        return None
    if _expression(value):
        try:
            result = EVALUATOR.evaluate(value, data)
        except ExpressionError as exc:
            raise WorkflowFailed(f"the expression of element {element} failed: {exc}") from None
        items = result if isinstance(result, list | tuple) else str(result).split(",")
    else:
        items = value.split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _priority(value: str | None, data: dict[str, Any], element: str | None) -> int:
    text = _evaluate_scalar(value, data, element)
    try:
        return int(text) if text is not None else 50
    except ValueError:
        raise WorkflowFailed(
            f"the priority of element {element} is not an integer: {text!r}"
        ) from None


def _variables(workflow: Any, completed: bool) -> dict[str, Any]:
    """The instance's variables: the data at the end, or merged from the open branches.

    Event subprocesses keep their own data scope in SpiffWorkflow; what finished ones recorded is
    merged first, so the main flow's current values win where both have a variable.
    """
    merged: dict[str, Any] = {}
    triggered = set(workflow.spec.start.trigger_specs)
    finished = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED, max_depth=FULL_DEPTH)
        if t.task_spec.name in triggered
    ]
    for task in sorted(finished, key=lambda t: t.last_state_change):
        merged.update(task.data)
    if completed:
        merged.update(workflow.data if workflow.data else workflow.last_task.data)
        return merged
    open_tasks = sorted(
        (
            t
            for t in workflow.get_tasks(
                state=TaskState.READY | TaskState.WAITING | TaskState.STARTED,
                max_depth=FULL_DEPTH,
            )
            if not t.task_spec.name.endswith(" [child]")
        ),
        key=lambda t: t.last_state_change,
    )
    if open_tasks:
        # Each open branch contributes what it changed since the branches diverged.
        merged.update(merged_data(open_tasks))
    elif workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    return merged


def _steps(workflow: Any, since: float) -> list[EngineStep]:
    threshold = since
    steps = []
    for task in workflow.get_tasks(state=TaskState.COMPLETED, max_depth=FULL_DEPTH):
        spec = task.task_spec
        if task.last_state_change < threshold or spec.manual or spec.bpmn_id is None:
            continue
        if spec.name in INTERNAL_SPECS or spec.name.endswith(" [child]"):
            continue
        steps.append(
            EngineStep(
                element_id=spec.bpmn_id,
                name=spec.bpmn_name,
                kind=type(spec).__name__,
                at=datetime.fromtimestamp(task.last_state_change, UTC),
            )
        )
    steps.sort(key=lambda s: s.at)
    return steps
