"""The clocks of declared time limits (engine/declared_limits.py), run by the service.

Nothing of this is drawn in the process: after every engine run of a case, `track` starts the
clocks of the limits whose start elements completed, stops those whose stop elements completed,
pauses a clock while one of its pause elements is open (a wait on the customer) and moves its
instants on by the working time it stood still. A start while the clock runs changes nothing.
The limit comes from the process's regime in config/time-limits.toml for the case's customer
category, on the working-day calendar. The reminder comes at 80 % (or the row's ``warn`` share),
the breach at 100 %; both are history events. A breach also starts the process's escalation
(督办) event subprocess, if it has one, by the internal message ``time_limit_breached``: the
supervisors' inbox task. When the clock stops before that task is done, the service withdraws
it. Tasks inside a running limit's span without a due date of their own are due when it ends.

How one clock moves (deadlines, pause, resume, reminder, breach, stop) is limitclock.py's, which
the simulation shares; this module decides when, on the case's table rows, and records it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessDefinition, ProcessInstance, Task, TimeLimitClock
from bpmn_service.engine import RunResult
from bpmn_service.engine.declared_limits import Declarations, read_declarations
from bpmn_service.limitclock import (
    ALL,
    breach_due,
    deadlines,
    limit_days,
    pause,
    resume,
    stop,
    warn_due,
)

from . import projection, telemetry

OPEN = projection.OPEN_CLOCKS

_cache: OrderedDict[str, Declarations] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 256

log = logging.getLogger("bpmn_service.clocks")


def declarations(session: Session, definition_id: str) -> Declarations:
    """The limits declared in a deployed process version (parsed once per version)."""
    with _cache_lock:
        if definition_id in _cache:
            _cache.move_to_end(definition_id)
            return _cache[definition_id]
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        return Declarations()
    found = read_declarations(definition.bpmn_xml, definition.key, definition.resource_name)
    with _cache_lock:
        _cache[definition_id] = found
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


@dataclass
class Actions:
    """What the engine must do after a run for the clocks: start escalations, withdraw them."""

    escalate: list[TimeLimitClock] = field(default_factory=list)
    withdraw: list[str] = field(default_factory=list)


def open_clocks(session: Session, instance_id: str) -> list[TimeLimitClock]:
    if instance_id in session.info.get(projection.NO_OPEN_CLOCKS, ()):
        return []  # this transaction's projection found none, and started none since
    return list(
        session.scalars(
            select(TimeLimitClock)
            .where(
                TimeLimitClock.instance_id == instance_id,
                TimeLimitClock.stopped_at.is_(None),
                TimeLimitClock.status.in_(OPEN),
            )
            .order_by(TimeLimitClock.id)
        )
    )


def track(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    finished: list[str],
    last: RunResult,
    *,
    at: datetime,
) -> Actions:
    """Follow one transaction's engine runs of ``instance`` on its clocks; see the module text."""
    actions = Actions()
    declared = declarations(session, instance.definition_id)
    if not declared.limits:
        return actions
    clocks = {c.limit_id: c for c in open_clocks(session, instance.id)}
    starts, stops = declared.by_element("start"), declared.by_element("stop")
    for element in finished:
        for limit_id in stops.get(element, ()):
            clock = clocks.pop(limit_id, None)
            if clock is not None:
                _stop(session, instance, clock, element, at, actions)
        for limit_id in starts.get(element, ()):
            if limit_id not in clocks:
                started = _start(ctx, session, instance, limit_id, element, at)
                if started is not None:
                    clocks[limit_id] = started
    if instance.status != "active":
        return actions
    open_elements = (
        {t.element_id for t in last.ready_tasks}
        | {t.element_id for t in last.external_tasks}
        | {w.element_id for w in last.waits}
    )
    for clock in clocks.values():
        limit = declared.limits.get(clock.limit_id)
        waiting = bool(limit and open_elements & set(limit.pauses))
        _pause_or_resume(ctx, session, instance, clock, waiting, at)
        _fire(session, instance, clock, at, actions)
    _set_due_dates(session, instance, declared, list(clocks.values()))
    return actions


def stops_at_claim(session: Session, definition_id: str, element: str) -> bool:
    """Whether claiming a task of ``element`` stops a limit (``timeLimit.stopAtClaim``)."""
    return element in declarations(session, definition_id).by_element("claim_stop")


def claimed(
    session: Session, instance: ProcessInstance, element: str, *, at: datetime
) -> Actions | None:
    """Someone claimed a task of ``element``: stop the clocks declared to stop when work on it
    starts (``timeLimit.stopAtClaim``); None when none did."""
    stops = declarations(session, instance.definition_id).by_element("claim_stop")
    if element not in stops:
        return None
    actions, stopped = Actions(), False
    clocks = {c.limit_id: c for c in open_clocks(session, instance.id)}
    for limit_id in stops[element]:
        clock = clocks.get(limit_id)
        if clock is not None:
            _stop(session, instance, clock, element, at, actions)
            stopped = True
    return actions if stopped else None


def escalation_payload(instance: ProcessInstance, clock: TimeLimitClock) -> dict[str, Any]:
    """The variables the escalation (督办) event subprocess receives with its message: the case
    as it is now (an event subprocess otherwise sees the data of the case's start) and the
    limit. The main flow's values still win when the case's variables are read."""
    return {
        **(instance.variables or {}),
        "timeLimitId": clock.limit_id,
        "timeLimitName": clock.name,
        "timeLimitDays": clock.limit_days,
        "timeLimitStart": clock.started_at.isoformat(),
        "timeLimitDue": clock.due_at.isoformat(),
        "timeLimitEscalateTo": list(clock.escalate_to),
    }


def escalated(clock: TimeLimitClock, created: list[Task]) -> None:
    """Remember the escalation task the breach created (to withdraw it when the clock stops)."""
    if created:
        clock.escalation_task_id = created[0].id
        for task in created:
            task.due_at = clock.due_at


def schedule(session: Session, instance: ProcessInstance) -> None:
    """The instance's next timer is the earlier of the engine's and its clocks' next instants."""
    if instance.status != "active":
        return
    instance.next_timer_at = next_instant(instance.next_timer_at, open_clocks(session, instance.id))


def next_instant(engine: datetime | None, clocks: list[TimeLimitClock]) -> datetime | None:
    """The earliest of the engine's next timer and the open clocks' next instants (a running
    clock's reminder not yet given, its end not yet reached): the instance's next_timer_at."""
    instants = [engine] if engine is not None else []
    for clock in clocks:
        if clock.status != "running":
            continue
        if clock.warned_at is None:
            instants.append(clock.warn_at)
        if clock.breached_at is None:
            instants.append(clock.due_at)
    return min(instants) if instants else None


# -- one clock --------------------------------------------------------------------------------


def _start(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    limit_id: str,
    element: str,
    at: datetime,
) -> TimeLimitClock | None:
    try:
        regime = ctx.time_limits.regime_of(instance.definition_key, at=ctx.calendar.local_date(at))
        category = instance.category or ALL
        days = limit_days(regime, limit_id, category)
    except ValueError as exc:
        # Deploy refuses unknown rows; a table edited since then must not stop the case.
        projection.record(
            session,
            instance,
            "time_limit_skipped",
            at=at,
            actor=None,
            element_id=element,
            details={"limit_id": limit_id, "reason": str(exc)},
        )
        return None
    if days is None:
        return None  # the regime sets no limit for this category
    warn_at, due_at = deadlines(ctx.calendar, regime, limit_id, days, at)
    unknown = ctx.calendar.unknown_years(
        ctx.calendar.local_date(at), ctx.calendar.local_date(due_at)
    )
    clock = TimeLimitClock(
        instance_id=instance.id,
        definition_key=instance.definition_key,
        limit_id=limit_id,
        name=regime.name_of(limit_id),
        regime=regime.label,
        category=category,
        limit_days=days,
        status="running",
        started_at=at,
        warn_at=warn_at,
        due_at=due_at,
        escalate_to=list(regime.escalate_to(limit_id)),
    )
    session.add(clock)
    session.info.get(projection.NO_OPEN_CLOCKS, set()).discard(instance.id)
    session.flush()
    details = _details(clock)
    if unknown:
        # The deadline counted holidays of those years as working days: said where the clock
        # is shown, and to the operator, who adds the year to the calendar file.
        details["calendar_unknown_years"] = unknown
        log.warning(
            "time limit %s of instance %s runs into %s, which the working-day calendar does not "
            "cover: its deadline counts Monday to Friday there; add the year to the calendar file",
            limit_id,
            instance.id,
            ", ".join(map(str, unknown)),
        )
    projection.record(
        session,
        instance,
        "time_limit_started",
        at=at,
        actor=None,
        element_id=element,
        details=details,
    )
    return clock


def _stop(
    session: Session,
    instance: ProcessInstance,
    clock: TimeLimitClock,
    element: str,
    at: datetime,
    actions: Actions,
) -> None:
    stop(clock, at)
    escalation = clock.escalation_task_id
    if escalation is not None and session.get(Task, escalation) is not None:
        actions.withdraw.append(escalation)
    projection.record(
        session,
        instance,
        "time_limit_stopped",
        at=at,
        actor=None,
        element_id=element,
        details=_details(clock),
    )


def _pause_or_resume(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    clock: TimeLimitClock,
    waiting: bool,
    at: datetime,
) -> None:
    if waiting and pause(clock, at):
        projection.record(
            session, instance, "time_limit_paused", at=at, actor=None, details=_details(clock)
        )
        return
    old_due = clock.due_at
    if not waiting and resume(ctx.calendar, clock, at):
        for task in session.scalars(
            select(Task).where(Task.instance_id == instance.id, Task.due_at == old_due)
        ):
            task.due_at = clock.due_at
        projection.record(
            session, instance, "time_limit_resumed", at=at, actor=None, details=_details(clock)
        )


def _fire(
    session: Session,
    instance: ProcessInstance,
    clock: TimeLimitClock,
    at: datetime,
    actions: Actions,
) -> None:
    if warn_due(clock, at):
        projection.record(
            session, instance, "time_limit_warned", at=at, actor=None, details=_details(clock)
        )
    if breach_due(clock, at):
        telemetry.count(
            session, telemetry.TIME_LIMIT_BREACHES, instance.definition_key, clock.limit_id
        )
        projection.record(
            session, instance, "time_limit_breached", at=at, actor=None, details=_details(clock)
        )
        actions.escalate.append(clock)


def _set_due_dates(
    session: Session,
    instance: ProcessInstance,
    declared: Declarations,
    clocks: list[TimeLimitClock],
) -> None:
    """Open tasks without a due date of their own are due when the limit covering them ends."""
    due_by_element: dict[str, datetime] = {}
    for clock in clocks:
        limit = declared.limits.get(clock.limit_id)
        if limit is None:
            continue
        for element in set(limit.covered) - set(limit.pauses):
            known = due_by_element.get(element)
            due_by_element[element] = clock.due_at if known is None else min(known, clock.due_at)
    if not due_by_element:
        return
    for task in session.scalars(
        select(Task).where(
            Task.instance_id == instance.id,
            Task.due_at.is_(None),
            Task.element_id.in_(list(due_by_element)),
        )
    ):
        task.due_at = due_by_element[task.element_id]


def _details(clock: TimeLimitClock) -> dict[str, Any]:
    return {
        "limit_id": clock.limit_id,
        "name": clock.name,
        "regime": clock.regime,
        "category": clock.category,
        "limit_days": clock.limit_days,
        "started_at": clock.started_at.isoformat(),
        "warn_at": clock.warn_at.isoformat(),
        "due_at": clock.due_at.isoformat(),
        "status": clock.status,
    }
