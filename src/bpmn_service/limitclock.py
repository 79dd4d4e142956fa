"""How one run of a declared time limit's clock moves: the rules the service and the simulation
share.

The service keeps a clock in a ``time_limit_clock`` row (services/clocks.py) and the simulation in
memory on its virtual timeline (simulation/limits.py); both move it with these functions, so a
limit is measured the same way in both. Which element starts, stops, stops at claim or pauses a
clock is declared in the model (engine/declared_limits.py); the length of the limit comes from the
process's regime (timelimits.py) for the case's customer category, and every instant is placed on
the working-day calendar (workcalendar.py: the start day does not count, deadlines are exclusive).

* **start**: ``due_at`` is the limit's working days after the start, ``warn_at`` the row's warn
  share of it (:func:`deadlines`);
* **pause** (a pause element is open, a wait on the customer): the clock stands still, unless it
  is already past its end (:func:`pause`);
* **resume**: ``due_at`` (and ``warn_at`` if the reminder has not come) move to the working days
  that were left when it paused, counted from the resumption (:func:`resume`);
* **warn / breach**: a running clock reaching ``warn_at`` / ``due_at`` (:func:`warn_due`,
  :func:`breach_due`); a paused one never does;
* **stop**: met, or breached when it stops at or after ``due_at`` (:func:`stop`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bpmn_service.timelimits import CATEGORIES, Regime
from bpmn_service.workcalendar import WorkCalendar

ALL = "ALL"  # the category of a clock whose case has none (the row is the same for all)


class ClockState(Protocol):
    """What the rules read and write on one clock (a table row or a simulated clock)."""

    status: str  # running | paused | met | breached
    warn_at: datetime
    due_at: datetime
    paused_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


def limit_days(regime: Regime, limit_id: str, category: str) -> float | None:
    """The row's working days for the category (None: the regime sets no limit for it); a case
    without a customer category (a complaint, ``ALL``) takes a row that is the same for every
    category. ValueError for an unknown row or a row that differs by category."""
    if category != ALL:
        return regime.limit(limit_id, category)
    values = {regime.limit(limit_id, c) for c in CATEGORIES}
    if len(values) != 1:
        raise ValueError(
            f"the case has no customer category (variable customerCategory) and {limit_id} "
            f"differs by category"
        )
    return values.pop()


def deadlines(
    calendar: WorkCalendar, regime: Regime, limit_id: str, days: float, at: datetime
) -> tuple[datetime, datetime]:
    """(warn_at, due_at) of a clock of ``days`` working days started at ``at``."""
    return (
        calendar.add_working_days(at, regime.warn_share(limit_id) * days),
        calendar.add_working_days(at, days),
    )


def pause(clock: ClockState, at: datetime) -> bool:
    """Stand the clock still at ``at``; False when it does not (not running, or past its end)."""
    if clock.breached_at is not None or clock.status != "running":
        return False
    clock.status, clock.paused_at = "paused", at
    return True


def resume(calendar: WorkCalendar, clock: ClockState, at: datetime) -> bool:
    """Run a paused clock again at ``at``, its instants moved on by the time it stood still;
    False when it was not paused."""
    since = clock.paused_at
    if clock.breached_at is not None or clock.status != "paused" or since is None:
        return False
    clock.due_at = calendar.add_working_days(at, _left(calendar, since, clock.due_at))
    if clock.warned_at is None:
        clock.warn_at = calendar.add_working_days(at, _left(calendar, since, clock.warn_at))
    clock.status, clock.paused_at = "running", None
    return True


def warn_due(clock: ClockState, at: datetime) -> bool:
    """Note the reminder of a running clock whose ``warn_at`` has come; True when it is new."""
    if clock.status != "running" or clock.warned_at is not None or clock.warn_at > at:
        return False
    clock.warned_at = at
    return True


def breach_due(clock: ClockState, at: datetime) -> bool:
    """Note the breach of a running clock whose ``due_at`` has come; True when it is new."""
    if clock.status != "running" or clock.breached_at is not None or clock.due_at > at:
        return False
    clock.breached_at, clock.status = at, "breached"
    return True


def stop(clock: ClockState, at: datetime) -> None:
    """Stop the clock at ``at``: met, or breached when it was or is now past its end."""
    if clock.status == "paused":
        clock.paused_at = None
    clock.stopped_at = at
    if clock.breached_at is None and at >= clock.due_at:
        clock.breached_at = clock.due_at  # stopped late before anything noticed the breach
    clock.status = "breached" if clock.breached_at is not None else "met"


def _left(calendar: WorkCalendar, since: datetime, until: datetime) -> float:
    return calendar.working_days_between(since, until) if until > since else 0.0
