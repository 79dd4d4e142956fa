"""Keep the calendar_day table equal to the working-day calendar file, for analytics in SQL."""

from __future__ import annotations

import weakref
from datetime import date, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text

from bpmn_service.context import AppContext
from bpmn_service.db.connect import is_sqlite
from bpmn_service.db.migrate import MIGRATION_LOCK_ID
from bpmn_service.db.models import CalendarDay
from bpmn_service.workcalendar import WorkCalendar

# Beyond the years the file covers, weekends only; analytics of old or future data still work.
FIRST_YEAR, LAST_YEAR = 2015, 2035

# Per database, the calendar this process last made the table equal to, and its number of days.
# A server syncs once, at start; a process that starts many apps on one database (the tests) then
# counts the rows instead of reading all eleven thousand back, and reads them again only when the
# calendar or the count differs (another calendar, a table emptied by a downgrade).
_in_sync: weakref.WeakKeyDictionary[Engine, tuple[WorkCalendar, int]] = weakref.WeakKeyDictionary()


def desired_days(calendar: WorkCalendar) -> list[tuple[date, bool, int]]:
    years = sorted(calendar.years) or [FIRST_YEAR]
    day, last = date(min(FIRST_YEAR, years[0]), 1, 1), date(max(LAST_YEAR, years[-1]), 12, 31)
    rows, ordinal = [], 0
    while day <= last:
        working = calendar.is_working_day(day)
        ordinal += int(working)
        rows.append((day, working, ordinal))
        day += timedelta(days=1)
    return rows


def sync_calendar(ctx: AppContext, calendar: WorkCalendar) -> bool:
    """Rewrite calendar_day when the calendar file changed; return whether it was rewritten."""
    with ctx.sessions.begin() as session:
        if not is_sqlite(ctx.engine):
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        count = session.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
        if _in_sync.get(ctx.engine) == (calendar, count):
            return False
        wanted = desired_days(calendar)
        stored = [
            tuple(r)
            for r in session.execute(
                select(CalendarDay.day, CalendarDay.working, CalendarDay.ordinal).order_by(
                    CalendarDay.day
                )
            )
        ]
        rewrite = stored != wanted
        if rewrite:
            session.execute(delete(CalendarDay))
            session.execute(
                insert(CalendarDay),
                [{"day": d, "working": w, "ordinal": o} for d, w, o in wanted],
            )
    _in_sync[ctx.engine] = (calendar, len(wanted))
    return rewrite
