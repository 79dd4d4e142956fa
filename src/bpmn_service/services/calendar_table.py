"""Keep the calendar_day table equal to the working-day calendar file, for analytics in SQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, insert, select, text

from bpmn_service.context import AppContext
from bpmn_service.db.connect import is_sqlite
from bpmn_service.db.migrate import MIGRATION_LOCK_ID
from bpmn_service.db.models import CalendarDay
from bpmn_service.workcalendar import WorkCalendar

# Beyond the years the file covers, weekends only; analytics of old or future data still work.
FIRST_YEAR, LAST_YEAR = 2015, 2035


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
    wanted = desired_days(calendar)
    with ctx.sessions.begin() as session:
        if not is_sqlite(ctx.engine):
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        stored = [
            tuple(r)
            for r in session.execute(
                select(CalendarDay.day, CalendarDay.working, CalendarDay.ordinal).order_by(
                    CalendarDay.day
                )
            )
        ]
        if stored == wanted:
            return False
        session.execute(delete(CalendarDay))
        session.execute(
            insert(CalendarDay),
            [{"day": d, "working": w, "ordinal": o} for d, w, o in wanted],
        )
        return True
