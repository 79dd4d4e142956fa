"""Repairs a supervisor makes to a running case, on a loaded workflow: setting variables and moving
tokens (Camunda's process instance modification: cancel an active element, start before another).

Only SpiffWorkflow's task API is used (removing a branch, adding a child, predicting and updating
it); nothing of SpiffWorkflow is replaced. The caller advances the workflow afterwards and stores
it only if that succeeds, so a repair either fully happens or changes nothing.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit, _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from bpmn_service.errors import Invalid, InvalidState

from . import event_runs
from .instance_view import FULL_DEPTH, variables_of
from .joins import arrived_inputs, branch_name, current_arrivals

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True, slots=True)
class Instruction:
    type: str  # cancel | start_before
    element_id: str


def set_variables(workflow: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set variables where the case's tokens are (every open task carries its branch's data, and
    so does every task predicted after it); the previous values (None where a variable did not
    exist)."""
    before = variables_of(workflow, workflow.is_completed())
    # Tasks not yet run already hold a copy of their parent's variables (inheritance.py), and a
    # waiting event copies its parent's again when it fires: both get the new values.
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK, max_depth=FULL_DEPTH):
        task.data.update(deepcopy(values))
        parent = task.parent
        if (
            task.has_state(OPEN)
            and parent is not None
            and parent.has_state(TaskState.FINISHED_MASK)
        ):
            parent.data.update(deepcopy(values))
    return {name: before.get(name) for name in values}


def modify(workflow: Any, instructions: list[Instruction]) -> None:
    """Apply cancel / start_before instructions in order. A start_before starts where the
    preceding cancel in the same (sub)process left off, with that token's variables; without
    one, it starts a new token in the main process with the case's current variables.

    A subprocess (or call activity) that the cancels leave without an active element, and in
    which no start_before started one, is cancelled afterwards with its boundary events, as
    Camunda cancels a scope whose last activity instance is cancelled: left alone, it and its
    boundary events would wait for ever and hold the case open.

    A cancel of a waiting parallel or inclusive join removes every branch that has arrived there
    in its current pass (as Camunda cancels the join's executions), not only the latest one. A
    start_before whose element leads to a branch that has already arrived at a join still waiting
    is refused unless the same modification cancels that join: the join would get a second token
    from that incoming flow, fire before its other branches arrive and fire again when they do."""
    anchors: dict[int, tuple[Any, dict[str, Any]]] = {}
    emptied: list[Any] = []
    current = variables_of(workflow, False)
    cancelled = {step.element_id for step in instructions if step.type == "cancel"}
    for step in instructions:
        if step.type == "cancel":
            tasks = [
                t
                for t in workflow.get_tasks(state=OPEN, max_depth=FULL_DEPTH)
                if getattr(t.task_spec, "bpmn_id", None) == step.element_id
                and not t.task_spec.name.endswith(" [child]")
            ]
            if not tasks:
                if not _is_element(workflow, step.element_id):
                    raise _not_an_element(step.element_id)
                raise InvalidState(
                    f"element {step.element_id} has no active token to cancel",
                    details={"element_id": step.element_id},
                )
            for task in tasks:
                if _is_join(task.task_spec):
                    for arrival in current_arrivals(task):
                        if arrival is not task:
                            arrival.workflow._remove_task(arrival.id)
                anchor, data = _cancel(task)
                anchors.setdefault(id(anchor.workflow), (anchor, data))
                emptied.append(task.workflow)
        elif step.type == "start_before":
            spec, process = _spec(workflow, step.element_id)
            _refuse_second_token(workflow, spec, cancelled)
            _refuse_second_arrival(workflow, spec, cancelled)
            where = _where(workflow, spec, process, anchors, current)
            if where is None:
                continue  # an event subprocess's run that goes on from its start event
            anchor, data, spec = where
            spec = _with_boundary_events(spec)
            task = anchor._add_child(spec, TaskState.FUTURE)
            task.data = deepcopy(data)
            try:
                spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
                spec._update(task)
            # A collection that is not a list: SpiffWorkflow's TypeError, or the project's
            # own refusal (multi_instance.check_collection).
            except (TypeError, ValueError, WorkflowTaskException) as exc:
                raise Invalid(
                    f"element {step.element_id} cannot start here: {_why_not(spec, data, exc)}",
                    details={"element_id": step.element_id},
                ) from None
        else:
            raise Invalid(f"unknown instruction type {step.type!r}")
    _cancel_emptied(workflow, emptied)


def _is_join(spec: Any) -> bool:
    return (
        isinstance(spec, UnstructuredJoin)
        and not isinstance(spec, _EndJoin)
        and len(spec.inputs) > 1
    )


def _refuse_second_token(workflow: Any, spec: Any, cancelled: set[str]) -> None:
    """Refuse a start_before of an element that already has an active token in the same
    (sub)process, unless the modification cancels it: the element would run twice, and a join
    after it fire twice (Camunda allows it; here it has only ever been a supervisor's slip)."""
    if spec.bpmn_id in cancelled:
        return
    for task in workflow.get_tasks(state=OPEN, max_depth=FULL_DEPTH):
        if task.task_spec is spec and not task.task_spec.name.endswith(" [child]"):
            raise Invalid(
                f"start_before {spec.bpmn_id}: the element already has an active token; to run "
                f"it again from its start, cancel {spec.bpmn_id} in the same modification",
                details={"element_id": spec.bpmn_id},
            )


def _refuse_second_arrival(workflow: Any, spec: Any, cancelled: set[str]) -> None:
    """Refuse a start_before of `spec` when a token from it reaches, without passing the join,
    an incoming branch that has already arrived at a join still waiting in the same (sub)process
    (unless the modification cancels that join)."""
    for join in workflow.get_tasks(state=TaskState.WAITING, max_depth=FULL_DEPTH):
        join_spec = join.task_spec
        if not _is_join(join_spec) or join_spec.bpmn_id in cancelled:
            continue
        if join.workflow.spec.task_specs.get(spec.name) is not spec:
            continue  # another (sub)process: its tokens reach this join only through its end
        arrived = arrived_inputs(join)
        branch = _first_reached(spec, arrived, join_spec)
        if branch is None:
            continue
        waiting = [branch_name(s) for s in join_spec.inputs if s not in arrived]
        raise Invalid(
            f"start_before {spec.bpmn_id} would give join {join_spec.bpmn_id} a second token "
            f"from branch {branch_name(branch)}, which has already arrived there (the join "
            f"waits for {', '.join(waiting) or 'nothing'}); start the branches that have not "
            f"arrived, or cancel {join_spec.bpmn_id} in the same modification (its arrived "
            "branches are lost) to start this one again",
            details={
                "element_id": spec.bpmn_id,
                "join": join_spec.bpmn_id,
                "branch": branch_name(branch),
                "waiting_for": waiting,
            },
        )


def _first_reached(spec: Any, targets: list[Any], join_spec: Any) -> Any | None:
    """The first of `targets` a token starting at `spec` can reach without passing the join."""
    seen: set[str] = set()
    todo = [spec]
    while todo:
        current = todo.pop(0)
        if current.name in seen or current is join_spec:
            continue
        seen.add(current.name)
        if current in targets:
            return current
        todo.extend(current.outputs)
    return None


def _with_boundary_events(spec: Any) -> Any:
    """What starts an activity: the split that starts it with its boundary events when it has
    any (as Camunda starts them with it), else the activity itself."""
    for before in spec.inputs:
        if isinstance(before, BoundaryEventSplit):
            return before
    return spec


def _why_not(spec: Any, data: dict[str, Any], exc: Exception) -> str:
    """Why an element did not start: for a multi-instance element, most often its collection."""
    collection = getattr(getattr(spec, "data_input", None), "bpmn_id", None)
    if collection and not isinstance(data.get(collection), list | tuple):
        state = "is not set" if data.get(collection) is None else "is not a list"
        return (
            f"its multi-instance collection {collection!r} {state}; set the variable first "
            "(PATCH /process-instances/{id}/variables)"
        )
    return f"{type(exc).__name__}: {exc}"


def _cancel(task: Any) -> tuple[Any, dict[str, Any]]:
    """Remove an active token (with its boundary events); return where it hung and its data."""
    data = dict(task.data)
    doomed = task
    if isinstance(task.parent.task_spec, BoundaryEventSplit) and not isinstance(
        task.task_spec, BoundaryEvent
    ):
        doomed = task.parent  # the activity with its boundary events; an event goes alone
    anchor = doomed.parent
    owner = task.workflow
    top = owner.top_workflow
    for t in list(doomed):
        if t.id in getattr(top, "subprocesses", {}):
            top.delete_subprocess(t)
    owner._remove_task(doomed.id)
    # A catch event among the removed tokens stays registered for its message or timer unless
    # told: the answer would list a wait a stored state no longer has, and a message sent
    # meanwhile would reach a removed token.
    for waiting in list(top.event_manager.tasks.values()):
        if waiting.workflow.tasks.get(waiting.id) is not waiting or not _alive(top, waiting):
            top.event_manager.remove_task(waiting)
    last = owner.last_task
    if last is not None and last.id not in owner.tasks:
        # A stored state naming a removed task loads back without one (and the case's
        # variables are read from it): point at the task the removed branch hung on.
        owner.last_task = anchor
    return anchor, data


def _alive(top: Any, task: Any) -> bool:
    """Whether the (sub)workflow holding `task` is still part of the case."""
    owner = task.workflow
    return owner is top or top.subprocesses.get(owner.parent_task_id) is owner


def _cancel_emptied(workflow: Any, owners: list[Any]) -> None:
    """Cancel each subprocess among `owners` that has no open task left, with its boundary
    events, then look at the (sub)process that held it the same way."""
    while owners:
        owner = owners.pop()
        if owner is workflow or workflow.subprocesses.get(owner.parent_task_id) is not owner:
            continue  # the main process, or a subprocess already cancelled with its parent
        if owner.get_tasks(state=OPEN, max_depth=FULL_DEPTH):
            continue
        holder = workflow.get_task_from_id(owner.parent_task_id)
        if holder is None or not holder.has_state(OPEN):
            continue
        _cancel(holder)
        owners.append(holder.workflow)


def _is_element(workflow: Any, element_id: str) -> bool:
    """Whether the process version has the element at all (in any of its subprocesses)."""
    specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
    return any(
        getattr(ts, "bpmn_id", None) == element_id
        for spec in specs
        for ts in spec.task_specs.values()
    )


def _spec(workflow: Any, element_id: str) -> tuple[Any, Any]:
    """The task spec of an element and the process spec that holds it: the process's own, or
    one of its subprocesses' (running or not: an event subprocess's run is started for it)."""
    for process in (workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()):
        for ts in process.task_specs.values():
            if getattr(ts, "bpmn_id", None) == element_id and not ts.name.endswith(" [child]"):
                if isinstance(ts, BoundaryEvent):
                    raise Invalid(
                        f"element {element_id} is a boundary event; start before the activity "
                        f"it is attached to",
                        details={"element_id": element_id},
                    )
                return ts, process
    raise _not_an_element(element_id)


def _where(
    workflow: Any,
    spec: Any,
    process: Any,
    anchors: dict[int, tuple[Any, dict[str, Any]]],
    current: dict[str, Any],
) -> tuple[Any, dict[str, Any], Any] | None:
    """Where a start_before of `spec` starts: the task to hang it on, its variables and the
    spec to start; None when it started a run of an event subprocess at its start event."""
    element = spec.bpmn_id
    # A new run of an event subprocess takes the variables of a token the modification took
    # from the main process, else the case's.
    moved = anchors.get(id(workflow), (None, current))[1]
    if process is workflow.spec:
        if event_runs.is_event_subprocess(workflow, spec.name):
            # The event subprocess itself: started as if its event had come (as Camunda does).
            start = event_runs.start_event_of(workflow, spec.name)
            _fire(workflow, spec.name, start, moved)
            return None
        if id(workflow) in anchors:
            return (*anchors[id(workflow)], spec)
        return _start_task(workflow), current, spec
    event_subprocess = event_runs.is_event_subprocess(workflow, process.name)
    if event_subprocess and spec in process.bpmn_start_events:
        _fire(workflow, process.name, spec, moved)
        return None
    for run in workflow.subprocesses.values():
        if run.spec.name == process.name and id(run) in anchors:
            return (*anchors[id(run)], spec)
    if event_subprocess:
        # Camunda starts the event subprocess's scope around the element: no event came, so
        # the start event is left out and nothing is interrupted.
        starts = event_runs.start_run(workflow, process.name, moved)
        return event_runs.leave_out(starts), moved, spec
    raise Invalid(
        f"element {element} is inside subprocess {process.name}; start before "
        f"{process.name}, or cancel an active element of it in the same modification to "
        f"start there",
        details={"element_id": element},
    )


def _fire(workflow: Any, name: str, start_spec: Any, data: dict[str, Any]) -> None:
    for start in event_runs.start_run(workflow, name, data):
        if start.task_spec is start_spec:
            event_runs.fire(start)


def _not_an_element(element_id: str) -> Invalid:
    return Invalid(
        f"element {element_id} is not part of this process version (or of a running subprocess)",
        details={"element_id": element_id},
    )


def _start_task(workflow: Any) -> Any:
    for task in workflow.task_tree.children:
        return task
    return workflow.task_tree
