"""China's public holidays and 调休 make-up working days as the State Council publishes them.

They come from the maintained `chinesecalendar` package, which adds each year's notice
(《国务院办公厅关于<year>年部分节假日安排的通知》) in a release soon after it
appears; upgrade it with `make lock-upgrade P=chinesecalendar`. ``config/calendar.toml`` stays for
local overrides and for a year the installed release does not cover yet (see workcalendar.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.metadata import version

import chinese_calendar

# Years probed for data; the package raises NotImplementedError outside the ones it covers.
_FIRST_PROBED, _LAST_PROBED = 1990, 2100


@dataclass(frozen=True, slots=True)
class OfficialDays:
    """Weekdays off (holidays) and weekend working days (调休上班) of the covered years."""

    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    years: frozenset[int]
    source: str


@cache
def official_days() -> OfficialDays:
    """Read once per process: every day of every covered year, through the package's public API."""
    years = frozenset(y for y in range(_FIRST_PROBED, _LAST_PROBED + 1) if _covered(y))
    holidays: set[date] = set()
    makeups: set[date] = set()
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            working = chinese_calendar.is_workday(day)
            if day.weekday() < 5 and not working:
                holidays.add(day)
            elif day.weekday() >= 5 and working:
                makeups.add(day)
            day += timedelta(days=1)
    return OfficialDays(
        holidays=frozenset(holidays),
        makeup_workdays=frozenset(makeups),
        years=years,
        source=f"chinesecalendar {version('chinesecalendar')}",
    )


def _covered(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True
