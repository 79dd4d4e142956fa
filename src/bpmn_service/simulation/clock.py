"""The virtual clock: working time as a number, and back to real moments on the calendar.

The simulation runs on a working-time axis ``w`` measured in working days (工作日) of the
working-day calendar (config/calendar.toml): ``w = 0`` is local midnight at the start of the
first working day on or after the scenario's start date; each working day is one unit long (its
24 hours, as in :mod:`bpmn_service.workcalendar`); weekends and holidays take no room on the axis.
A step of 1.5 WD that starts on Friday at noon therefore ends on Tuesday at midnight. Moments on a
non-working day map to the start of the next working day.

:meth:`WorkClock.moment` gives the aware UTC datetime the engine, its timers and the history see;
:meth:`WorkClock.position` is the inverse (used for timers the model sets).
"""

from __future__ import annotations

import bisect
import math
from datetime import UTC, date, datetime, time, timedelta

from bpmn_service.workcalendar import WorkCalendar

HORIZON_YEARS = 40


class WorkClock:
    def __init__(self, calendar: WorkCalendar, start: date, years: int = HORIZON_YEARS) -> None:
        self.calendar = calendar
        self.first = start
        last = date(min(start.year + years, 9998), 12, 31)
        working: list[date] = []
        day = start
        while day <= last:
            if calendar.is_working_day(day):
                working.append(day)
            day += timedelta(days=1)
        self.working_days = working
        self.day_start = [
            datetime.combine(d, time(), calendar.timezone).astimezone(UTC) for d in working
        ]
        self.ordinals = [d.toordinal() for d in working]

    @property
    def horizon(self) -> float:
        return float(len(self.working_days))

    def moment(self, w: float) -> datetime:
        """The UTC moment at working time ``w`` (w >= 0)."""
        if w < 0:
            raise ValueError(f"working time {w} is before the simulation start")
        k = math.floor(w)
        if k >= len(self.day_start):
            raise ValueError("the simulation ran past the end of its calendar")
        return self.day_start[k] + timedelta(days=w - k)

    def position(self, moment: datetime) -> float:
        """Working time of an aware moment (inverse of :meth:`moment`)."""
        local = moment.astimezone(self.calendar.timezone)
        ordinal = local.date().toordinal()
        k = bisect.bisect_left(self.ordinals, ordinal)
        if k >= len(self.ordinals):
            return math.inf
        if self.ordinals[k] != ordinal:
            return float(k)  # a day off: the start of the next working day
        start = self.day_start[k]
        return k + (moment - start) / timedelta(days=1)

    def date_of(self, w: float) -> date:
        return self.moment(w).astimezone(self.calendar.timezone).date()
