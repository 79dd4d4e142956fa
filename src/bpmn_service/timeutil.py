"""ISO-8601 durations and date-times for camunda:dueDate / followUpDate, and the one conversion of
a date-time received from outside to UTC (as_utc), which every entry point uses."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bpmn_service.workcalendar import DEFAULT_TIMEZONE

DURATION = re.compile(
    r"^P(?!$)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


UTC_RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Where a date alone is a day: the working-day calendar's zone.
BUSINESS_ZONE = ZoneInfo(DEFAULT_TIMEZONE)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC, as the service stores and compares date-times (one without an offset is
    read as UTC). ValueError, saying so, when its UTC time falls outside the years 1 to 9999:
    neither Python nor a UTC date-time column holds it (e.g. 9999-12-31T23:59:59-08:00)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{moment.isoformat()} is outside what a UTC date-time holds ({UTC_RANGE})"
        ) from None


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def resolve_due(value: str | None, base: datetime) -> datetime | None:
    """`P5D`-style durations count from `base`; date-times must carry an offset; a date alone
    (a form's date field, `2026-12-10`) is due by the end of that day in the business zone."""
    if not value:
        return None
    if DATE_ONLY.match(value.strip()):
        day = date.fromisoformat(value.strip())
        if day == date.max:
            raise ValueError(f"date {value!r}: its end is beyond the year 9999")
        return as_utc(datetime.combine(day + timedelta(days=1), datetime.min.time(), BUSINESS_ZONE))
    match = DURATION.match(value.strip())
    if match:
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        moment = add_months(base, int(parts["y"]) * 12 + int(parts["mo"]))
        return moment + timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["mi"],
            seconds=parts["s"],
        )
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"date-time {value!r} has no UTC offset")
    as_utc(parsed)  # ValueError when its UTC time is beyond the years 1 to 9999: not storable
    return parsed
