"""A branch that ended keeps its place at the process's end when a task above it is cancelled.

A repeating (cycle) boundary timer stays waiting while the branch of each firing runs below it.
A branch that reaches an end event waits at the process's end join, which merges the variables
of every ended branch when the process ends; of several arrivals only the latest waits, the
earlier ones are cancelled by the next (joins.join_update). When the timer's host task completes,
the timer is cancelled, and SpiffWorkflow's cancel removes every unfinished task below it: the
latest firing's waiting arrival went with it, so what that firing's branch did (a reminder's
note) never reached the end of the process. Such an arrival is cancelled instead, as the next
arrival would have done, and stays for the end to merge.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.util.task import TaskState

_FINISHED = TaskState.FINISHED_MASK


def keep_ended_arrivals(task: Any) -> None:
    """Before `task` (unfinished) is cancelled: cancel the arrivals waiting at the end join
    below its finished children, where SpiffWorkflow's cancel would remove them."""
    if task._state & _FINISHED:
        return
    stack = [child for child in task.children if child._state & _FINISHED]
    while stack:
        for child in stack.pop().children:
            if isinstance(child.task_spec, _EndJoin) and child._state == TaskState.WAITING:
                child.cancel()
            elif child._state & _FINISHED:
                stack.append(child)
