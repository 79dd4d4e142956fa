"""The Chinese working-day (工作日) calendar behind every SLA clock.

The holidays (法定节假日 plus bridging days) and make-up working days (调休上班日) of each year
come from the State Council's notices as the ``chinesecalendar`` package ships them
(official_calendar.py), and from ``config/calendar.toml``: a year the file lists is taken from
the file alone (a local override, or a year the installed package does not cover yet);
``official_holidays = false`` in the file turns the package off. A day is a working day when it
is Monday–Friday and not a holiday, or a Saturday/Sunday listed as a make-up day. Years neither
lists count weekends only; :meth:`WorkCalendar.covers` says whether a year is known.

Working days are calendar days in the configured zone (``Asia/Shanghai``): a moment belongs to the
local date it falls on there, so ``2025-09-30T17:00Z`` is already 1 October.

Clock semantics (a half-open model: a working day is the interval from its local midnight to the
next local midnight):

* **The day of the start does not count.** Counting begins on the first working day *after* the
  start's local date, whatever the time of day (受理之日 is not counted). A limit of N working days
  for something received on day D ends at the end of the Nth working day after D.
* **Deadlines are exclusive instants.** The end of a working day W is returned as local midnight
  at the start of the day after W, converted to UTC — never 23:59:59.999999. "Late" means
  ``finished >= due``.
* **Fractions.** ``days = n + f`` (0 < f < 1) means n whole working days, then the fraction f of
  the next working day's length (24 h in Asia/Shanghai, which has no daylight saving time). So an
  80 % warning on an 8-WD limit, 6.4 WD, falls at 09:36 local on the 7th working day. A fraction
  always lands inside a working day, so n + f may be later than n by a whole weekend plus f.
* ``add_working_days(start, 0)`` returns ``start`` unchanged; any other result is in UTC.
* :meth:`WorkCalendar.working_days_between` is the inverse measure: the working time elapsed from
  the start of the day after the start's local date up to ``end``, one unit per working day,
  fractions for a partial working day, nothing for non-working days. Hence
  ``working_days_between(s, add_working_days(s, x)) == x`` (to the microsecond), and
  ``add_working_days(s, x)`` is the earliest moment at which that measure reaches ``x``.
"""

from __future__ import annotations

import math
import re
import tomllib
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bpmn_service.official_calendar import official_days

DEFAULT_TIMEZONE = "Asia/Shanghai"
_YEAR_KEYS = {"source", "holidays", "makeup_workdays"}
_YEAR_HEADER = re.compile(r"""^\s*\[\s*years\s*\.\s*["']?(\d+)["']?\s*\]""")


@dataclass(frozen=True)
class WorkCalendar:
    """Working days in one time zone; build it with :meth:`load` or directly for tests."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()
    sources: Mapping[int, str] = field(default_factory=dict, hash=False)

    @classmethod
    def load(cls, path: Path, *, official: bool = True) -> WorkCalendar:
        """Read and validate a calendar file and add the official years it does not list
        (official=False: the file alone); ValueError names the line or key that is wrong."""
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        return cls._from_dict(data, text, str(path), official=official)

    @classmethod
    def _from_dict(
        cls, data: dict[str, Any], text: str, origin: str, *, official: bool
    ) -> WorkCalendar:
        unknown = set(data) - {"timezone", "years", "official_holidays"}
        if unknown:
            raise ValueError(f"{origin}: unknown top-level key(s) {sorted(unknown)}")
        use_official = data.get("official_holidays", True)
        if not isinstance(use_official, bool):
            raise ValueError(f"{origin}: official_holidays must be true or false")
        tz_name = data.get("timezone", DEFAULT_TIMEZONE)
        if not isinstance(tz_name, str):
            raise ValueError(f"{origin}: timezone must be a string like 'Asia/Shanghai'")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{origin}: timezone {tz_name!r} is not a known IANA zone") from exc

        years_table = data.get("years", {})
        if not isinstance(years_table, dict):
            raise ValueError(f"{origin}: 'years' must be a table of [years.YYYY] sections")
        holidays: dict[date, str] = {}
        makeups: dict[date, str] = {}
        sources: dict[int, str] = {}
        for year_key, section in years_table.items():
            where = f"years.{year_key}"
            if not re.fullmatch(r"\d{4}", year_key):
                raise ValueError(f"{origin}: [{where}]: section name must be a four-digit year")
            year = int(year_key)
            if not isinstance(section, dict):
                raise ValueError(f"{origin}: {where} must be a table")
            unknown = set(section) - _YEAR_KEYS
            if unknown:
                raise ValueError(f"{origin}: [{where}]: unknown key(s) {sorted(unknown)}")
            if "holidays" not in section:
                raise ValueError(f"{origin}: [{where}]: 'holidays' is missing")
            source = section.get("source", "")
            if not isinstance(source, str):
                raise ValueError(f"{origin}: {where}.source must be a string")
            sources[year] = source
            for list_key, target in (("holidays", holidays), ("makeup_workdays", makeups)):
                listed = section.get(list_key, [])
                if not isinstance(listed, list):
                    raise ValueError(f"{origin}: {where}.{list_key} must be an array of dates")
                for i, day in enumerate(listed):
                    ref = f"{where}.{list_key}[{i}]"
                    if not isinstance(day, str | date) or isinstance(day, datetime):
                        raise ValueError(f"{origin}: {ref} = {day!r} is not a date")
                    if isinstance(day, str):
                        try:
                            day = date.fromisoformat(day)
                        except ValueError:
                            line = _line_of(text, year, day)
                            raise ValueError(
                                f"{origin}{line}: {ref} = {day!r} is not a YYYY-MM-DD date"
                            ) from None
                    line = _line_of(text, year, day.isoformat())
                    if not _belongs_to(day, year):
                        raise ValueError(
                            f"{origin}{line}: {ref} = {day} lies outside {year} "
                            "(only the December before or the January after may appear)"
                        )
                    if day in target:
                        raise ValueError(f"{origin}{line}: {ref} = {day} is listed twice")
                    if list_key == "makeup_workdays" and day.weekday() < 5:
                        raise ValueError(
                            f"{origin}{line}: {ref} = {day} is a {day:%A}; a make-up working "
                            "day (调休上班) must be a Saturday or Sunday"
                        )
                    target[day] = ref
        both = sorted(set(holidays) & set(makeups))
        if both:
            day = both[0]
            line = _line_of(text, day.year, day.isoformat())
            raise ValueError(
                f"{origin}{line}: {day} is both a holiday ({holidays[day]}) "
                f"and a make-up working day ({makeups[day]})"
            )
        listed = set(holidays), set(makeups)
        if official and use_official:
            # The official years the file does not list; on a day both name, the file wins.
            days = official_days()
            added = days.years - set(sources)
            holidays.update(
                (d, days.source) for d in days.holidays if d.year in added and d not in listed[1]
            )
            makeups.update(
                (d, days.source)
                for d in days.makeup_workdays
                if d.year in added and d not in listed[0]
            )
            sources.update((year, days.source) for year in added)
        return cls(
            timezone=tz,
            holidays=frozenset(holidays),
            makeup_workdays=frozenset(makeups),
            years=frozenset(sources),
            sources=MappingProxyType(sources),
        )

    # -- days ---------------------------------------------------------------------------------

    def covers(self, d: date) -> bool:
        """True when the package or the file gives ``d``'s year (else only weekends are known)."""
        return d.year in self.years

    def unknown_years(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` whose holidays neither the package nor the file
        gives: working days there are counted Monday to Friday, holidays and 调休 unknown."""
        return [year for year in range(first.year, last.year + 1) if year not in self.years]

    def is_working_day(self, d: date) -> bool:
        """Mon–Fri unless a holiday; Sat/Sun only if a make-up working day (调休上班)."""
        if isinstance(d, datetime):
            raise TypeError("is_working_day() takes a date; use local_date() for a datetime")
        if d.weekday() >= 5:
            return d in self.makeup_workdays
        return d not in self.holidays

    def local_date(self, moment: datetime) -> date:
        """The calendar date of an aware ``moment`` in the calendar's zone."""
        _require_aware(moment, "moment")
        return moment.astimezone(self.timezone).date()

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return next(self._working_days_after(d))

    # -- clocks -------------------------------------------------------------------------------

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The deadline ``days`` working days after ``start`` (see the module docstring).

        ``start`` must be timezone-aware; ``days`` must be finite and >= 0. Returns UTC, except
        that ``days == 0`` returns ``start`` itself.
        """
        _require_aware(start, "start")
        if not math.isfinite(days) or days < 0:
            raise ValueError(f"days must be a finite number >= 0, not {days!r}")
        if days == 0:
            return start
        whole = math.floor(days)
        fraction = days - whole
        first = self.local_date(start)
        last = self._nth_working_day_after(first, whole) if whole else None
        if fraction > 0:
            begin, end = self._bounds(self._nth_working_day_after(first, whole + 1))
            offset = (end - begin) * fraction  # rounded to the microsecond by timedelta
            if offset > timedelta(0):
                return begin + offset
            # Otherwise the fraction is float noise below a microsecond: days is whole.
        if last is None:
            return start
        return self._bounds(last)[1]

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working days elapsed from ``start`` to ``end``; the inverse of add_working_days.

        Counts whole working days from the day after ``start``'s local date to the day before
        ``end``'s local date, plus the elapsed fraction of ``end``'s local day if it is a
        working day. 0.0 while ``end`` is still on the start's local date. Both must be aware;
        ``end`` before ``start`` is a ValueError.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        first = self.local_date(start) + timedelta(days=1)
        last = self.local_date(end)
        total = float(self._working_days_in(first, last)) if first < last else 0.0
        if last >= first and self.is_working_day(last):
            begin, stop = self._bounds(last)
            total += (end - begin) / (stop - begin)
        return total

    # -- helpers ------------------------------------------------------------------------------

    @cached_property
    def _exceptions(self) -> tuple[list[int], list[int]]:
        """The days that are not what their weekday says (a holiday on a weekday, a make-up
        working day at a weekend) as sorted ordinals, and the running sum of their effect (-1
        or +1) up to and including each: counting working days is then arithmetic on weeks and
        two bisections, whatever the span (a day-by-day walk took seconds over centuries)."""
        changes = sorted(
            [(d.toordinal(), -1) for d in self.holidays if d.weekday() < 5]
            + [(d.toordinal(), 1) for d in self.makeup_workdays if d.weekday() >= 5]
        )
        running: list[int] = []
        total = 0
        for _, change in changes:
            total += change
            running.append(total)
        return [day for day, _ in changes], running

    def _working_days_in(self, first: date, stop: date) -> int:
        """Working days from ``first`` up to (not including) ``stop``."""
        return self._count_to(stop.toordinal()) - self._count_to(first.toordinal())

    def _count_to(self, ordinal: int) -> int:
        """Working days before the day of ``ordinal`` (from day 1, 0001-01-01, a Monday)."""
        weeks, rest = divmod(ordinal - 1, 7)
        count = weeks * 5 + min(rest, 5)
        days, running = self._exceptions
        index = bisect_left(days, ordinal)
        return count + (running[index - 1] if index else 0)

    def _nth_working_day_after(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (n >= 1); ValueError when it falls after the
        last date there is (9999-12-31)."""
        base = self._count_to(d.toordinal() + 1)
        target = base + n  # the first day whose count before it reaches this is the day after
        low, high = d.toordinal() + 1, date.max.toordinal() + 1
        if self._count_to(high) < target:
            count = n if n < 10**12 else f"{float(n):g}"
            raise ValueError(f"{count} working days after {d} fall after {date.max}")
        while low < high:  # the first ordinal whose working days before it reach `target`
            middle = (low + high) // 2
            if self._count_to(middle) >= target:
                high = middle
            else:
                low = middle + 1
        return date.fromordinal(low - 1)

    def _working_days_after(self, d: date) -> Iterator[date]:
        day = d
        while True:
            day += timedelta(days=1)
            if self.is_working_day(day):
                yield day

    def _bounds(self, d: date) -> tuple[datetime, datetime]:
        """Local midnight at the start of ``d`` and of the next day, in UTC."""
        begin = datetime.combine(d, time(), self.timezone).astimezone(UTC)
        end = datetime.combine(d + timedelta(days=1), time(), self.timezone).astimezone(UTC)
        return begin, end


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no time zone")


def _belongs_to(day: date, year: int) -> bool:
    return (
        day.year == year
        or (day.year == year - 1 and day.month == 12)
        or (day.year == year + 1 and day.month == 1)
    )


def _line_of(text: str, year: int, needle: str) -> str:
    """', line N' for the first occurrence of ``needle`` from the [years.<year>] header on."""
    lines = text.splitlines()
    start = 0
    for i, line in enumerate(lines):
        match = _YEAR_HEADER.match(line)
        if match and int(match.group(1)) == year:
            start = i
            break
    for i in range(start, len(lines)):
        if needle in lines[i].split("#", 1)[0]:
            return f", line {i + 1}"
    return ""
