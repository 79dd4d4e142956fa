"""Domain functions BPMN expressions may call, backed by operator-edited data files.

- `add_working_days(start, days)`: ISO date-time `days` working days after `start` on the
  working-day calendar (config/calendar.toml); `start` is an ISO date-time such as `now()`.
- `working_days_between(start, end)`: working days elapsed between two ISO date-times.
- `time_limit(process_key, limit_id, category)`: the limit in working days from the time-limit
  tables (config/time-limits.toml), or None when the regime sets none for that category.
- `recommend_construction_units(key, voltage, count)`: see registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar


def _moment(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not an ISO date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} {value!r} has no UTC offset")
    return moment


def build(
    calendar: WorkCalendar, limits: TimeLimits, registry: ConstructionUnitRegistry
) -> dict[str, Callable[..., Any]]:
    def add_working_days(start: Any, days: Any) -> str:
        moment = calendar.add_working_days(_moment(start, "start"), float(days))
        return moment.isoformat()

    def working_days_between(start: Any, end: Any) -> float:
        return calendar.working_days_between(_moment(start, "start"), _moment(end, "end"))

    def time_limit(process_key: str, limit_id: str, category: str) -> float | None:
        return limits.limit(str(process_key), str(limit_id), str(category))

    return {
        "add_working_days": add_working_days,
        "working_days_between": working_days_between,
        "time_limit": time_limit,
        "recommend_construction_units": registry.recommend,
    }
