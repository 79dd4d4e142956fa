"""Skip re-checking catch events that cannot have fired.

After every completed task SpiffWorkflow updates every WAITING task, and after every engine run
every pending timer. For a timer or message catch event (most of them are boundary timers: the
80 % and 100 % time-limit reminders on user tasks) that update copies the parent's variables again
and re-tests the event, although nothing it depends on can have changed: the timer's due moment is
fixed once computed, a message is delivered through the event manager (which updates the task
itself), and the parent of a waiting event has completed, so its variables are final. Those
updates were a third of all updates in a simulation profile. They are skipped here; the update
that finds the event fired still copies the variables, so what the event's path sees is unchanged.
The skipped events are left out before the remaining waiting tasks are put in walk order (sorting
them all took a tenth of a simulation), and a timer's due moment is parsed once, not at every
check. Events whose spec reads data objects or declares an IO specification are always updated,
because their inputs can change while they wait.

The service's workflow classes (workflow.py) answer `update_waiting_tasks` and `refresh_timers`
with the functions here; SpiffWorkflow's own methods are fingerprinted in upstream.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState

from . import clock, traversal

_DUE_CACHE_SIZE = 4096
_due_moments: dict[tuple[type, str], Any] = {}
# How SpiffWorkflow's `has_fired` reads the stored due moment of each kind of timer.
_PARSERS: dict[type, Any] = {
    clock.TimeDateEventDefinition: TimerEventDefinition.parse_time_or_duration,
    clock.DurationTimerEventDefinition: TimerEventDefinition.get_datetime,
}
_TIMERS = tuple(_PARSERS)


def _due(kind: type, value: str) -> datetime | None:
    """A timer's stored due moment, parsed once (SpiffWorkflow re-parses it on every check);
    None when it is not a moment, which is left to SpiffWorkflow."""
    key = (kind, value)
    try:
        moment = _due_moments[key]
    except KeyError:
        try:
            moment = _PARSERS[kind](value)
        except (TypeError, ValueError, KeyError):
            moment = None
        if len(_due_moments) >= _DUE_CACHE_SIZE:
            _due_moments.clear()
        _due_moments[key] = moment
    return moment if isinstance(moment, datetime) else None


def _cannot_have_fired(task: Any) -> bool:
    spec = task.task_spec
    if not isinstance(spec, CatchingEvent) or spec.data_input_associations:
        return False
    if getattr(spec, "io_specification", None) is not None:
        return False
    definition = spec.event_definition
    kind = type(definition)
    if kind in _TIMERS:
        internal = task.internal_data
        value = internal.get("event_value")
        if not isinstance(value, str) or internal.get("event_fired", False):
            return False  # the first update computes the due moment; a fired one must proceed
        due = _due(kind, value)
        # SpiffWorkflow's test (`has_fired`): fired once the moment is strictly in the past,
        # unless the run holds its timers (clock.timers_held).
        return due is not None and (clock.held() or not due < clock.now())
    if kind is MessageEventDefinition:
        return not definition.has_fired(task)
    return False


def _may_have_fired(task: Any) -> bool:
    return not _cannot_have_fired(task)


def update_waiting_tasks(workflow: Any) -> None:
    """`Workflow.update_waiting_tasks`: update every WAITING task that may have fired."""
    # The events that cannot have fired are left out before the rest is put in walk order.
    waiting = traversal.open_tasks(workflow, TaskState.WAITING, _may_have_fired)
    if waiting is None:  # too deep for the index: the lazy walk
        for task in traversal.TaskWalk(workflow.task_tree, state=TaskState.WAITING):
            if _may_have_fired(task):
                task.task_spec._update(task)
        return
    tasks = workflow.tasks
    for task in waiting:
        # As the lazy walk would: an earlier update may have finished or dropped this task.
        if task._state == TaskState.WAITING and tasks.get(task.id) is task:
            task.task_spec._update(task)


def refresh_timers(workflow: Any) -> None:
    """`BpmnWorkflow.refresh_timers`: update the timer catch events that may have fired."""
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if isinstance(definition, (TimerEventDefinition, MultipleEventDefinition)):
            if not _cannot_have_fired(task):
                task.task_spec._update(task)
