"""The time limits a simulated process declares, measured on the virtual timeline as the service
measures them.

Nothing about time limits is written in the scenario: the spans come from the model's own
``timeLimit.start`` / ``stop`` / ``stopAtClaim`` / ``pause`` extension properties, read by the
parser the service uses (engine/declared_limits.py), and each clock moves by the service's rules
(limitclock.py) on the working-day calendar. :class:`CaseClocks` follows one application as
services/clocks.py follows a case: after every engine call, the elements that completed stop
their limits' clocks and then start theirs (a start while the clock runs changes nothing; a start
after it stopped is a new run of the clock); while the case is active, a clock stands still
while one of its pause elements is open and runs again when none is. A claim of a task whose
element stops a limit at claim (the moment the simulated clerk starts the work) stops it then.
Reminders and breaches come at their instants, as the service's scheduler fires them, so a clock
that is past its end no longer pauses.

Each run of a clock that stopped is one measurement: the working days it ran (pauses left out, on
the simulation's working-time axis), the limit, and whether it stopped before the service's due
moment. A clock still running when the case ends is not measured (the service shows it as
cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bpmn_service.engine.declared_limits import Declarations, read_declarations
from bpmn_service.limitclock import (
    breach_due,
    deadlines,
    limit_days,
    pause,
    resume,
    stop,
    warn_due,
)
from bpmn_service.timelimits import TimeLimits

from .clock import WorkClock


class Measured(NamedTuple):
    """One run of a limit's clock that stopped."""

    limit_id: str
    elapsed_wd: float  # working days the clock ran, pauses left out
    limit_wd: float
    met: bool  # stopped before the due moment the service computes


@dataclass(frozen=True)
class ProcessLimits:
    """A process's declared limits, by the role each element plays."""

    key: str
    declarations: Declarations
    starts: dict[str, tuple[str, ...]]
    stops: dict[str, tuple[str, ...]]
    claim_stops: dict[str, tuple[str, ...]]
    pauses: dict[str, tuple[str, ...]]  # limit id -> its pause elements

    @classmethod
    def read(cls, key: str, bpmn: bytes, filename: str = "") -> ProcessLimits:
        declared = read_declarations(bpmn, key, filename)
        return cls(
            key=key,
            declarations=declared,
            starts=declared.by_element("start"),
            stops=declared.by_element("stop"),
            claim_stops=declared.by_element("claim_stop"),
            pauses={lid: limit.pauses for lid, limit in declared.limits.items() if limit.pauses},
        )

    @property
    def limit_ids(self) -> tuple[str, ...]:
        return tuple(self.declarations.limits)

    @property
    def watched(self) -> frozenset[str]:
        """The elements whose completion starts or stops a clock."""
        return frozenset(self.starts) | frozenset(self.stops)


@dataclass(slots=True)
class SimClock:
    """One run of a limit's clock in one application (limitclock.ClockState)."""

    limit_id: str
    limit_days: float
    started_w: float
    started_at: datetime
    warn_at: datetime
    due_at: datetime
    status: str = "running"
    paused_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_w: float | None = None
    paused_w: float | None = None  # where on the working-time axis the current pause began
    paused_wd: float = 0.0  # working days it stood still, pauses that ended

    def measured(self) -> Measured | None:
        if self.stopped_w is None:
            return None
        elapsed = self.stopped_w - self.started_w - self.paused_wd
        return Measured(self.limit_id, max(0.0, elapsed), self.limit_days, self.status == "met")


@dataclass
class CaseClocks:
    """The limit clocks of one simulated application (see the module text)."""

    limits: ProcessLimits
    table: TimeLimits
    clock: WorkClock
    category: str
    runs: list[SimClock] = field(default_factory=list)
    running: dict[str, SimClock] = field(default_factory=dict)  # open: running, paused, breached
    claims: dict[str, tuple[float, str]] = field(default_factory=dict)  # task -> (w, element)

    # -- what the driver reports --------------------------------------------------------------

    def claim(self, task_id: str, element: str, w: float) -> None:
        """A task of ``element`` is claimed at ``w`` (now or later, after the hand-off)."""
        if element in self.limits.claim_stops:
            self.claims[task_id] = (w, element)

    def withdraw(self, task_id: str, w: float) -> None:
        """The task is gone at ``w`` (withdrawn by the engine): a later claim does not happen."""
        pending = self.claims.get(task_id)
        if pending is not None and pending[0] > w:
            del self.claims[task_id]

    def after_run(
        self, w: float, finished: list[str], open_elements: set[str], *, active: bool
    ) -> None:
        """One engine call at ``w``: the elements it completed, what is open after it."""
        self._catch_up(w)
        at = self.clock.moment(w)
        for element in finished:
            for limit_id in self.limits.stops.get(element, ()):
                run = self.running.pop(limit_id, None)
                if run is not None:
                    self._stop(run, w, at)
            for limit_id in self.limits.starts.get(element, ()):
                if limit_id not in self.running:
                    self._start(limit_id, w, at)
        if not active:
            return
        for run in self.running.values():
            waiting = bool(open_elements.intersection(self.limits.pauses.get(run.limit_id, ())))
            if waiting:
                if pause(run, at):
                    run.paused_w = w
            else:
                since = run.paused_w
                if resume(self.clock.calendar, run, at) and since is not None:
                    run.paused_wd += w - since
                    run.paused_w = None
            warn_due(run, at)
            breach_due(run, at)

    def measured(self) -> list[Measured]:
        """Every run that stopped, in the order the runs started."""
        return [m for m in (run.measured() for run in self.runs) if m is not None]

    # -- one clock ----------------------------------------------------------------------------

    def _catch_up(self, w: float) -> None:
        """What happened between the engine calls up to ``w``, in time order: claims that stop
        a clock, and the reminders and breaches the service's scheduler fires at their instant."""
        due = sorted((cw, task_id) for task_id, (cw, _) in self.claims.items() if cw <= w)
        for cw, task_id in due:
            element = self.claims.pop(task_id)[1]
            self._fire_until(self.clock.moment(cw))
            for limit_id in self.limits.claim_stops[element]:
                run = self.running.pop(limit_id, None)
                if run is not None:
                    self._stop(run, cw, self.clock.moment(cw))
        self._fire_until(self.clock.moment(w))

    def _fire_until(self, at: datetime) -> None:
        for run in self.running.values():
            if run.warned_at is None and run.warn_at <= at:
                warn_due(run, run.warn_at)
            if run.breached_at is None and run.due_at <= at:
                breach_due(run, run.due_at)

    def _start(self, limit_id: str, w: float, at: datetime) -> None:
        try:
            regime = self.table.regime_of(self.limits.key, at=self.clock.calendar.local_date(at))
            days = limit_days(regime, limit_id, self.category)
        except ValueError:
            return  # the service records time_limit_skipped; the check before a run refuses it
        if days is None:
            return  # the regime sets no limit for this category
        warn_at, due_at = deadlines(self.clock.calendar, regime, limit_id, days, at)
        run = SimClock(limit_id, days, w, at, warn_at, due_at)
        self.runs.append(run)
        self.running[limit_id] = run

    def _stop(self, run: SimClock, w: float, at: datetime) -> None:
        if run.paused_w is not None:
            run.paused_wd += w - run.paused_w
            run.paused_w = None
        stop(run, at)
        run.stopped_w = w
