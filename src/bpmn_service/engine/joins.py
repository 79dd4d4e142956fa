"""Merge parallel branches by what each branch changed, not by whole copies.

SpiffWorkflow gives every branch a full copy of the variables and, at a join (parallel, inclusive,
and the end of the process), deep-merges those copies in arrival order. A branch that did not touch
a variable still carries the value from before the split, so the last branch to arrive silently
reverts changes made by the others (a reminder branch that only waited undoes the main flow's
work). Here each branch contributes only the variables it changed relative to the point where the
branches diverged, in arrival order; that is what analysts expect from "the last writer wins".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from .traversal import ancestry, tasks_of_spec


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


def _update_hook(self: Any, my_task: Any) -> bool:
    # SpiffWorkflow's own rule, with the join's other tasks found by index instead of a scan.
    may_fire = self._check_threshold_unstructured(my_task)
    for task in tasks_of_spec(my_task.workflow, self):
        if task is not my_task and task.state == TaskState.WAITING:
            # Cancel other waiting tasks at once, so they are not updated again and again.
            task.cancel()
    if not may_fire:
        my_task._set_state(TaskState.WAITING)  # only the most recent one waits
    else:
        my_task._inherit_data()  # only the task that proceeds copies the variables
    return bool(may_fire)


def _run_hook(self: Any, my_task: Any) -> bool:
    others = sorted(
        (
            t
            for t in tasks_of_spec(my_task.workflow, self)
            if t.has_state(TaskState.FINISHED_MASK) and not my_task.is_descendant_of(t)
        ),
        key=lambda t: t.last_state_change,
    )
    my_task.data = merged_data([t.parent for t in others] + [my_task.parent])
    for task in others:
        # As SpiffWorkflow does: a branch reset inside a parallel block must not leave stale tasks.
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)
    return True


UnstructuredJoin._update_hook = _update_hook
UnstructuredJoin._run_hook = _run_hook
