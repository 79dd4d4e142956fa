"""Interrupting event subprocesses: when one starts, the rest of its process stops.

SpiffWorkflow starts an event subprocess whose start event is interrupting exactly like a
non-interrupting one, so the work it should stop goes on beside it. The parser marks such start
events (`interruptsScope` in their extensions, see camunda_ext.py); when one completes, every other
branch of the process it belongs to is cancelled (the main flow with its timers and waits, and
other event subprocesses), and only the event subprocess carries the instance to its end. Only
event subprocesses at the top level of a process are triggered by SpiffWorkflow, so only those
are accepted (parsing.py).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

INTERRUPTS = "interruptsScope"

_original_on_complete_hook = StartEvent._on_complete_hook


def _on_complete_hook(self: Any, my_task: Any) -> None:
    _original_on_complete_hook(self, my_task)
    if (self.extensions or {}).get(INTERRUPTS):
        _interrupt(my_task)


def _interrupt(start: Any) -> None:
    subworkflow = start.workflow
    parent_task_id = getattr(subworkflow, "parent_task_id", None)
    if parent_task_id is None:
        return  # a process's own start event: nothing to interrupt
    owner = subworkflow.top_workflow.get_task_from_id(parent_task_id)
    root = owner.parent
    if root is None:
        return
    for branch in list(root.children):
        if branch is not owner:
            branch.cancel()


StartEvent._on_complete_hook = _on_complete_hook
