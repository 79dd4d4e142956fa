"""ISO-8601 durations and date-times for camunda:dueDate / followUpDate."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

DURATION = re.compile(
    r"^P(?!$)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def resolve_due(value: str | None, base: datetime) -> datetime | None:
    """`P5D`-style durations count from `base`; date-times must carry an offset."""
    if not value:
        return None
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
    return parsed
