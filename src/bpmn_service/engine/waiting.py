"""Skip re-checking catch events that cannot have fired.

After every completed task SpiffWorkflow updates every WAITING task, and after every engine run
every pending timer. For a timer or message catch
event (most of them are boundary timers: the 80 % and 100 % time-limit reminders on user tasks)
that update copies the parent's variables again and re-tests the event, although nothing it depends
on can have changed: the timer's due moment is fixed once computed, a message is delivered through
the event manager (which updates the task itself), and the parent of a waiting event has
completed, so its variables are final. Those updates were a third of all updates in a simulation
profile. They are skipped here; the update that finds the event fired still copies the variables,
so what the event's path sees is unchanged. Events whose spec reads data objects or declares an IO
specification are always updated, because their inputs can change while they wait.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

_TIMERS = (DurationTimerEventDefinition, TimeDateEventDefinition)


def _cannot_have_fired(task: Any) -> bool:
    spec = task.task_spec
    if not isinstance(spec, CatchingEvent) or spec.data_input_associations:
        return False
    if getattr(spec, "io_specification", None) is not None:
        return False
    definition = spec.event_definition
    kind = type(definition)
    if kind in _TIMERS:
        if task._get_internal_data("event_value") is None:
            return False  # the first update computes the due moment
        return not definition.has_fired(task)
    if kind is MessageEventDefinition:
        return not definition.has_fired(task)
    return False


def _update_waiting_tasks(self: Any) -> None:
    for task in TaskIterator(self.task_tree, state=TaskState.WAITING):
        if not _cannot_have_fired(task):
            task.task_spec._update(task)


def _refresh_timers(self: Any) -> None:
    for task in list(self.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if isinstance(definition, (TimerEventDefinition, MultipleEventDefinition)):
            if not _cannot_have_fired(task):
                task.task_spec._update(task)


Workflow.update_waiting_tasks = _update_waiting_tasks
BpmnWorkflow.refresh_timers = _refresh_timers
