"""The engine's notion of "now", injectable per call, and the timer events that read it.

SpiffWorkflow's timer event definitions read `datetime.now(timezone.utc)` directly and offer no
hook. The service's timer definitions below are SpiffWorkflow's, with every reading of the time
going to `now()`, which answers from a context variable that every ProcessRunner call sets; the
scheduler, the tests and the simulation thereby run timers on an injected clock. They keep
SpiffWorkflow's class names, which the serialized specs and the timers' `details` carry, and are
registered with the parser (camunda_ext.py) and the serializer (serialization.py). The copied
methods are fingerprinted in upstream.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.util.task import TaskState

from .stepping import element_label

# A timer cycle repeating faster than this would fire without end inside one engine run.
MIN_CYCLE_SECONDS = 1.0

_CURRENT: ContextVar[datetime | None] = ContextVar("bpmn_engine_now", default=None)
_HELD: ContextVar[bool] = ContextVar("bpmn_engine_timers_held", default=False)


def now() -> datetime:
    """The current engine time (UTC, aware)."""
    current = _CURRENT.get()
    return current if current is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Run engine code as if the time were `moment` (must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("the engine clock needs a timezone-aware datetime")
    token = _CURRENT.set(moment)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def timers_held() -> Iterator[None]:
    """Run engine code in which no timer fires: a timer still works out its due moment, but one
    that is due stays waiting (for the scheduler's next run). A supervisor's repair or migration
    runs so: it does what it was asked and nothing else, also for a case whose timer failed when
    it fired (its run was rolled back, so the timer is due and waiting in the stored state)."""
    token = _HELD.set(True)
    try:
        yield
    finally:
        _HELD.reset(token)


def held() -> bool:
    """Whether timers are held (`timers_held`)."""
    return _HELD.get()


def _due(moment: datetime) -> bool:
    """Whether a timer due at `moment` fires now: strictly past, and timers not held."""
    return moment < now() and not _HELD.get()


_Timer = spiff_timer.TimerEventDefinition


class TimeDateEventDefinition(spiff_timer.TimeDateEventDefinition):  # type: ignore[misc]
    """A timer at a date and time, on the engine clock."""

    def has_fired(self, my_task: Any) -> bool:
        with _timer_value(my_task, "timeDate"):
            return self._has_fired(my_task)

    def _has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if _due(_read(my_task, "timeDate", event_value, _date)):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class DurationTimerEventDefinition(spiff_timer.DurationTimerEventDefinition):  # type: ignore[misc]
    """A timer after a duration, counted from the engine clock."""

    def has_fired(self, my_task: Any) -> bool:
        with _timer_value(my_task, "timeDuration"):
            return self._has_fired(my_task)

    def _has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            due = _read(my_task, "timeDuration", expression, after_duration)
            event_value = due.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _due(_Timer.get_datetime(event_value)):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class CycleTimerEventDefinition(spiff_timer.CycleTimerEventDefinition):  # type: ignore[misc]
    """A repeating timer, on the engine clock."""

    def cycle_complete(self, my_task: Any) -> bool:
        with _timer_value(my_task, "timeCycle"):
            return self._cycle_complete(my_task)

    def _cycle_complete(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _read(my_task, "timeCycle", expression, recurring_interval)
            event_value = {
                "cycles": cycles,
                "next": start.isoformat(),
                "duration": duration.total_seconds(),
            }

        # When the next moment passes, let the parent task generate another child; once every
        # cycle has run, `event_fired` lets the task complete.
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if _due(next_event):
                event_value["next"] = (
                    next_event + timedelta(seconds=event_value["duration"])
                ).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True

        my_task._set_internal_data(event_value=event_value)
        return ready

    def update_task(self, my_task: Any) -> None:
        # SpiffWorkflow's, adding no second waiting join: a firing adds a child for each of the
        # timer's outputs, the boundary join among them, and the joins piled up, one per firing,
        # all waiting for the same host (the first to fire cancels the others).
        if self.cycle_complete(my_task):
            for output in my_task.task_spec.outputs:
                if isinstance(output, BoundaryEventJoin) and any(
                    c.task_spec is output and not c.has_state(TaskState.FINISHED_MASK)
                    for c in my_task.children
                ):
                    continue
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)


MAX_DURATION_MONTHS = 12 * 9999


class CycleTooFast(ValueError):
    """A timer cycle whose period is below MIN_CYCLE_SECONDS."""


def recurring_interval(expression: str) -> tuple[int, datetime, timedelta]:
    """`TimerEventDefinition.parse_iso_recurring_interval`, a bare interval starting now()."""
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if components[0] and not (components[0].isascii() and components[0].isdigit()):
        # int() would take "-1" (for ever, as "R/") and "1_000"; a count is digits or nothing.
        raise ValueError(f"the repetitions of {expression!r} must be a whole number or nothing")
    cycles = int(components[0]) if components[0] else -1
    start_or_duration = _time_or_duration(components[1])
    end_or_duration = _time_or_duration(components[2]) if len(components) == 3 else None
    if isinstance(start_or_duration, datetime):
        start = start_or_duration
        duration = _Timer.get_timedelta_from_start(end_or_duration, start_or_duration)
    elif isinstance(end_or_duration, datetime):
        duration = _Timer.get_timedelta_from_end(start_or_duration, end_or_duration)
        start = end_or_duration - duration
    elif end_or_duration is None:
        current = now()
        duration = _Timer.get_timedelta_from_start(start_or_duration, current)
        start = current + duration
    else:
        raise ValueError("Invalid recurring interval")
    if duration.total_seconds() < MIN_CYCLE_SECONDS:
        raise CycleTooFast(
            f"a timer cycle must repeat at most once a second (got {expression!r}); a zero or "
            f"sub-second period would fire without end"
        )
    return cycles, start, duration


def _iso_duration(text: str) -> dict[str, Any]:
    """`parse_iso_duration`, raising ValueError for text it cannot read (SpiffWorkflow raises a
    bare Exception, which nothing can tell from any other)."""
    if text.lstrip()[:1] in ("-", "+"):
        # SpiffWorkflow drops the sign: "-PT5S" would fire five seconds from now.
        raise ValueError(f"{text!r} is not an ISO-8601 duration: a duration has no sign")
    try:
        parsed: dict[str, Any] = _Timer.parse_iso_duration(text)
    except Exception as exc:
        if type(exc) is not Exception:
            raise
        raise ValueError(f"{text!r} is not an ISO-8601 duration") from None
    # SpiffWorkflow adds a duration's years and months one month at a time: P99999999Y held a
    # server thread for minutes, past the run budget (which is checked between steps). No date
    # the engine can hold is further than MAX_DURATION_MONTHS away.
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    if months > MAX_DURATION_MONTHS:
        raise OverflowError(f"{text!r} reaches beyond the dates the engine can hold (year 9999)")
    return parsed


def _time_or_duration(text: str) -> Any:
    """`parse_time_or_duration`, with `_iso_duration`'s ValueError."""
    if text.upper().startswith("P"):
        return _iso_duration(text)
    return _Timer.parse_time_or_duration(text)


def _date(text: str) -> datetime:
    moment = _time_or_duration(text)
    if not isinstance(moment, datetime):
        raise ValueError("a duration where a date is expected")
    return moment


def after_duration(text: str) -> datetime:
    """The moment `text` (an ISO-8601 duration) after now()."""
    parsed = _iso_duration(text)
    if not parsed:  # "P" or "": SpiffWorkflow reads no part at all, a timer due at once
        raise ValueError("an empty duration")
    start = now()
    delta: timedelta = _Timer.get_timedelta_from_start(parsed, start)
    return start + delta


_T = TypeVar("_T")

# What each kind of timer value is called, and what it must be.
_KINDS = {
    "timeDate": ("date", "an ISO-8601 date and time such as 2026-01-01T09:00:00+08:00"),
    "timeDuration": ("duration", "an ISO-8601 duration such as P3M or PT4H"),
    "timeCycle": ("cycle", "an ISO-8601 repeating interval such as R3/PT1H or R/P1D"),
}
# What SpiffWorkflow's timer parsers raise for text they cannot read.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)


def _read(my_task: Any, kind: str, value: Any, parse: Callable[[str], _T]) -> _T:
    """`parse(value)`; a value an expression gave that is no text or that `parse` cannot read
    fails the run at the timer, naming it, the value and what is expected (SpiffWorkflow's own
    errors name neither)."""
    if not isinstance(value, str) or not value.strip():
        raise _bad_value(my_task, kind, value)
    try:
        return parse(value)
    except CycleTooFast as exc:
        raise _bad_value(my_task, kind, value, str(exc)) from None
    except OverflowError:
        raise _bad_value(
            my_task, kind, value, "it lies beyond the dates the engine can hold"
        ) from None
    except _UNREADABLE:
        raise _bad_value(my_task, kind, value) from None


def _bad_value(
    my_task: Any, kind: str, value: Any, why: str | None = None
) -> WorkflowTaskException:
    what, expected = _KINDS[kind]
    timer = f"timer {element_label(my_task.task_spec)}"
    if value is None:
        text = f"{timer}: the {what} is empty (its expression gave None); expected {expected}"
    else:
        shown = (
            json.dumps(value, ensure_ascii=False)
            if isinstance(value, str)
            else f"{value!r} ({type(value).__name__}, not a text)"
        )
        problem = f"cannot be used: {why}" if why else f"is not {expected}"
        text = f"{timer}: the {what} {shown} {problem}"
    return WorkflowTaskException(text, task=my_task)


@contextmanager
def _timer_value(my_task: Any, kind: str) -> Iterator[None]:
    """Any other error of a timer's value (a cycle's next moment beyond the dates a datetime
    holds) fails the run at the timer's element, naming it (SpiffWorkflow's does not)."""
    try:
        yield
    except WorkflowTaskException:
        raise
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError) as exc:
        raise WorkflowTaskException(
            f"timer {element_label(my_task.task_spec)}: its {_KINDS[kind][0]} cannot be used: "
            f"{exc}",
            task=my_task,
        ) from None


# SpiffWorkflow's timer classes and the service's, for the parser and the serializer.
CLOCKED_TIMERS: dict[type, type] = {
    spiff_timer.TimeDateEventDefinition: TimeDateEventDefinition,
    spiff_timer.DurationTimerEventDefinition: DurationTimerEventDefinition,
    spiff_timer.CycleTimerEventDefinition: CycleTimerEventDefinition,
}
