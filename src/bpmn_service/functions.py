"""Domain functions BPMN expressions may call, backed by operator-edited data files.

- `add_working_days(start, days)`: ISO date-time `days` working days after `start` on the
  working-day calendar (config/calendar.toml); `start` is an ISO date-time such as `now()`.
- `working_days_between(start, end)`: working days elapsed between two ISO date-times.
- `time_limit(process_key, limit_id, category)`: the limit in working days from the time-limit
  tables (config/time-limits.toml), or None when the regime sets none for that category.
- `recommend_construction_units(key, voltage, count)`: see registry.py.

Each call costs microseconds whatever its arguments: the calendar counts by weeks and the listed
exceptions (workcalendar.py), not day by day, and arguments are taken only as the types named
(a list where a date or an id belongs is refused, not turned into text first: `str` of a large
value costs as much as the value is long, and a list comprehension may call 10,000 times).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

# Longer than any ISO date-time, or any key, id or voltage a function is given.
MAX_ARGUMENT_CHARS = 200


def _moment(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = _text(value, what)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{what} {text!r} is not an ISO date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} {value!r} has no UTC offset")
    return moment


def _text(value: Any, what: str, *, numbers: bool = False) -> str:
    """`value` as text: a string (or, with `numbers`, an integer) of at most MAX_ARGUMENT_CHARS."""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > MAX_ARGUMENT_CHARS:
        raise ValueError(f"{what} is {len(value)} characters long; at most {MAX_ARGUMENT_CHARS}")
    return value


def build(
    calendar: WorkCalendar, limits: TimeLimits, registry: ConstructionUnitRegistry
) -> dict[str, Callable[..., Any]]:
    def add_working_days(start: Any, days: Any) -> str:
        moment = calendar.add_working_days(_moment(start, "start"), float(days))
        return moment.isoformat()

    def working_days_between(start: Any, end: Any) -> float:
        return calendar.working_days_between(_moment(start, "start"), _moment(end, "end"))

    def time_limit(process_key: Any, limit_id: Any, category: Any) -> float | None:
        return limits.limit(
            _text(process_key, "process_key"),
            _text(limit_id, "limit_id"),
            _text(category, "category"),
        )

    def recommend_construction_units(key: Any, voltage: Any, count: Any = 3) -> list[Any]:
        return registry.recommend(_text(key, "key", numbers=True), _text(voltage, "voltage"), count)

    return {
        "add_working_days": add_working_days,
        "working_days_between": working_days_between,
        "time_limit": time_limit,
        "recommend_construction_units": recommend_construction_units,
    }
