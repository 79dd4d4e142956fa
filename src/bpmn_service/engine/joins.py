"""Merge parallel branches by what each branch changed, not by whole copies.

SpiffWorkflow gives every branch a full copy of the variables and, at a join (parallel, inclusive,
and the end of the process), deep-merges those copies in arrival order. A branch that did not touch
a variable still carries the value from before the split, so the last branch to arrive silently
reverts changes made by the others (a reminder branch that only waited undoes the main flow's
work). Here each branch contributes only the variables it changed relative to the point where the
branches diverged, in arrival order; that is what analysts expect from "the last writer wins".

The join classes below are SpiffWorkflow's parallel and inclusive gateways and its end join with
that merge; they are registered with the parser (specs.py) and the serializer under SpiffWorkflow's
type names, so stored specs restore into them. The replaced methods are fingerprinted in
upstream.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from .stepping import no_path_message
from .traversal import ancestry, end_join_satisfied, tasks_of_spec


def _lineage(task: Any) -> list[Any]:
    """The task and its ancestors, nearest first."""
    return ancestry(task)[::-1]


def common_ancestor(tasks: Sequence[Any]) -> Any | None:
    """The nearest task that is an ancestor (or the task itself) of every given task."""
    if not tasks:
        return None
    others = [{id(t) for t in _lineage(task)} for task in tasks[1:]]
    for candidate in _lineage(tasks[0]):
        if all(id(candidate) in lineage for lineage in others):
            return candidate
    return None


def merge_changes(base: dict[str, Any], branches: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`base` plus every branch's changes to it, later branches winning."""
    merged = dict(base)
    for data in branches:
        for key, value in data.items():
            if key not in base or base[key] != value:
                merged[key] = deepcopy(value)
    return merged


def merged_data(tasks: Sequence[Any]) -> dict[str, Any]:
    """The variables of concurrent branches ending in `tasks` (ordered by arrival)."""
    base = common_ancestor(tasks)
    return merge_changes(base.data if base is not None else {}, (t.data for t in tasks))


def current_arrivals(join: Any) -> list[Any]:
    """The branches that have arrived at a waiting join in its current pass, as tasks of the
    join's spec (the waiting one and the arrivals it cancelled; join_update keeps only the latest
    arrival waiting, so an earlier one is a cancelled task whose branch completed). An arrival of
    an earlier pass of a loop is not below every firing of the join; one of this pass is (as
    compaction._pending_arrivals reads them)."""
    spec = join.task_spec
    tasks = tasks_of_spec(join.workflow, spec)
    fired = [t for t in tasks if t.state == TaskState.COMPLETED]
    arrived = []
    for task in tasks:
        if task is not join and (
            task.state != TaskState.CANCELLED or not all(task.is_descendant_of(f) for f in fired)
        ):
            continue
        parent = task.parent
        if parent is not None and parent.state == TaskState.COMPLETED:
            arrived.append(task)
    return arrived


def arrived_inputs(join: Any) -> list[Any]:
    """The incoming task specs of a waiting join that have a token there in its current pass."""
    inputs = list(join.task_spec.inputs)
    return [t.parent.task_spec for t in current_arrivals(join) if t.parent.task_spec in inputs]


def branch_name(spec: Any) -> str:
    """The element an incoming task spec of a join stands for: its own, or for the join that
    SpiffWorkflow puts after an activity with boundary events, that activity's."""
    element = getattr(spec, "bpmn_id", None)
    if element:
        return str(element)
    if isinstance(spec, BoundaryEventJoin):
        for before in spec.inputs:
            if not isinstance(before, BoundaryEvent) and getattr(before, "bpmn_id", None):
                return str(before.bpmn_id)
    return str(spec.name)


def join_update(spec: Any, my_task: Any) -> bool:
    """`UnstructuredJoin._update_hook`, with the join's other tasks found by index."""
    may_fire = spec._check_threshold_unstructured(my_task)
    for task in tasks_of_spec(my_task.workflow, spec):
        if task is not my_task and task.state == TaskState.WAITING:
            # Cancel other waiting tasks at once, so they are not updated again and again.
            task.cancel()
    if not may_fire:
        my_task._set_state(TaskState.WAITING)  # only the most recent one waits
    else:
        my_task._inherit_data()  # only the task that proceeds copies the variables
    return bool(may_fire)


def join_run(spec: Any, my_task: Any) -> None:
    """`UnstructuredJoin._run_hook`, merging by what each branch changed."""
    others = sorted(
        (
            t
            for t in tasks_of_spec(my_task.workflow, spec)
            if t.has_state(TaskState.FINISHED_MASK) and not my_task.is_descendant_of(t)
        ),
        key=lambda t: t.last_state_change,
    )
    my_task.data = merged_data([t.parent for t in others] + [my_task.parent])
    for task in others:
        # As SpiffWorkflow does: a branch reset inside a parallel block must not leave stale tasks.
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)


class MergingParallelGateway(ParallelGateway):  # type: ignore[misc]
    def _update_hook(self, my_task: Any) -> bool:
        return join_update(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        join_run(self, my_task)
        return True


class MergingInclusiveGateway(InclusiveGateway):  # type: ignore[misc]
    def _update_hook(self, my_task: Any) -> bool:
        return join_update(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        # InclusiveGateway._run_hook, with the merging join.
        join_run(self, my_task)
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException(no_path_message(self), task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


class MergingEndJoin(_EndJoin):  # type: ignore[misc]
    """The join before a process's end: waits for every other open task (found by index)."""

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        return end_join_satisfied(self, my_task)

    def _update_hook(self, my_task: Any) -> bool:
        return join_update(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        # _EndJoin._run_hook, with the merging join.
        join_run(self, my_task)
        my_task.workflow.data.update(my_task.data)
        return True
