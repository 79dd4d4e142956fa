"""The Chinese working-day calendar: config/calendar.toml and bpmn_service.workcalendar."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bpmn_service.official_calendar import official_days
from bpmn_service.workcalendar import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load(ROOT / "config" / "calendar.toml")


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    """The deadline instant for a limit ending on ``day``: the next local midnight."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI)


# The State Council notices for 2024 and 2025, independently of the data file.
HOLIDAYS = [
    *days("2024-01-01", "2024-01-01"),  # 元旦
    *days("2024-02-10", "2024-02-17"),  # 春节
    *days("2024-04-04", "2024-04-06"),  # 清明
    *days("2024-05-01", "2024-05-05"),  # 劳动节
    *days("2024-06-10", "2024-06-10"),  # 端午
    *days("2024-09-15", "2024-09-17"),  # 中秋
    *days("2024-10-01", "2024-10-07"),  # 国庆
    *days("2025-01-01", "2025-01-01"),  # 元旦
    *days("2025-01-28", "2025-02-04"),  # 春节
    *days("2025-04-04", "2025-04-06"),  # 清明
    *days("2025-05-01", "2025-05-05"),  # 劳动节
    *days("2025-05-31", "2025-06-02"),  # 端午
    *days("2025-10-01", "2025-10-08"),  # 国庆+中秋
]
MAKEUP_DAYS = [
    date.fromisoformat(d)
    for d in (
        "2024-02-04 2024-02-18 2024-04-07 2024-04-28 2024-05-11 2024-09-14 2024-09-29 "
        "2024-10-12 2025-01-26 2025-02-08 2025-04-27 2025-09-28 2025-10-11"
    ).split()
]


# -- days -------------------------------------------------------------------------------------


def test_weekdays_work_and_weekends_rest(cal: WorkCalendar) -> None:
    week = days("2025-03-03", "2025-03-09")  # an ordinary week, Monday to Sunday
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


@pytest.mark.parametrize("day", HOLIDAYS, ids=str)
def test_holidays_are_days_off(cal: WorkCalendar, day: date) -> None:
    assert not cal.is_working_day(day)


@pytest.mark.parametrize("day", MAKEUP_DAYS, ids=str)
def test_makeup_days_are_working_weekend_days(cal: WorkCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def test_file_lists_exactly_the_2024_and_2025_notices(cal: WorkCalendar) -> None:
    listed = {d for d in cal.holidays if d.year in (2024, 2025)}
    assert listed == set(HOLIDAYS)
    assert {d for d in cal.makeup_workdays if d.year in (2024, 2025)} == set(MAKEUP_DAYS)


def test_days_next_to_holiday_periods_are_working(cal: WorkCalendar) -> None:
    # 2024 除夕 (2/9, Friday) was not a day off; 2025's first working day after 国庆 is 10/9.
    for d in ("2024-02-09", "2024-02-19", "2024-10-08", "2025-01-27", "2025-02-05", "2025-10-09"):
        assert cal.is_working_day(date.fromisoformat(d)), d


def test_2026_is_listed(cal: WorkCalendar) -> None:
    assert cal.covers(date(2026, 6, 1))
    assert not cal.is_working_day(date(2026, 2, 17))  # 春节
    assert not cal.is_working_day(date(2026, 10, 1))  # 国庆


def test_unknown_years_count_weekends_only(cal: WorkCalendar) -> None:
    assert cal.covers(date(2024, 1, 1)) and cal.covers(date(2025, 12, 31))
    assert not cal.covers(date(2100, 1, 1))
    assert cal.is_working_day(date(2100, 1, 1))  # a Friday nobody has published a notice for
    assert not cal.is_working_day(date(2100, 1, 2))  # Saturday
    assert cal.timezone == SHANGHAI
    file_only = WorkCalendar.load(ROOT / "config" / "calendar.toml", official=False)
    assert not file_only.covers(date(2023, 10, 2))
    assert file_only.is_working_day(date(2023, 10, 2))  # a holiday in reality, unknown to the file


# -- the official notices (chinesecalendar) and the file together -------------------------------


def test_the_file_agrees_with_the_official_notices_where_both_speak() -> None:
    file_only = WorkCalendar.load(ROOT / "config" / "calendar.toml", official=False)
    official = official_days()
    both = sorted(file_only.years & official.years)
    assert both, "the shipped file should repeat at least one year the package covers"
    for year in both:
        for day in days(f"{year}-01-01", f"{year}-12-31"):
            expected = (
                day in official.makeup_workdays
                if day.weekday() >= 5
                else day not in official.holidays
            )
            assert file_only.is_working_day(day) == expected, (year, day)


def test_years_the_file_does_not_list_come_from_the_package(cal: WorkCalendar) -> None:
    official = official_days()
    assert {2004, 2023} <= official.years
    assert cal.covers(date(2023, 10, 2)) and cal.sources[2023].startswith("chinesecalendar ")
    assert not cal.is_working_day(date(2023, 10, 2))  # 国庆 2023 (9/29–10/6)
    assert cal.is_working_day(date(2023, 10, 7))  # its Saturday 调休上班
    assert cal.sources[2025] == "国务院办公厅关于2025年部分节假日安排的通知"  # the file's year


def test_a_listed_year_overrides_the_package(tmp_path: Path) -> None:
    # A local arrangement: 2023-10-09 (Monday) off as well, 10-07 not worked; 10-02 worked.
    path = write(
        tmp_path,
        '[years.2023]\nsource = "local"\nholidays = [2023-10-09]\nmakeup_workdays = []\n',
    )
    cal = WorkCalendar.load(path)
    assert not cal.is_working_day(date(2023, 10, 9))
    assert cal.is_working_day(date(2023, 10, 2)) and not cal.is_working_day(date(2023, 10, 7))
    assert cal.sources[2023] == "local"
    assert not cal.is_working_day(date(2022, 10, 3))  # 2022 still from the package


def test_the_package_can_be_turned_off(tmp_path: Path) -> None:
    cal = WorkCalendar.load(write(tmp_path, "official_holidays = false\n"))
    assert not cal.years and cal.is_working_day(date(2023, 10, 2))
    with pytest.raises(ValueError, match="official_holidays must be true or false"):
        WorkCalendar.load(write(tmp_path, 'official_holidays = "no"\n'))


def test_is_working_day_refuses_a_datetime(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2025, 3, 3, tzinfo=UTC))


def test_next_working_day(cal: WorkCalendar) -> None:
    assert cal.next_working_day(date(2025, 1, 24)) == date(2025, 1, 26)  # Sunday make-up day
    assert cal.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)


# -- add_working_days -------------------------------------------------------------------------


def test_start_day_does_not_count_and_result_is_utc_end_of_day(cal: WorkCalendar) -> None:
    due = cal.add_working_days(local(2025, 3, 4, 9, 0), 1)  # Tuesday morning
    assert due == local(2025, 3, 6)  # end of Wednesday = Thursday 00:00 local
    assert due.tzinfo is UTC
    assert due.isoformat() == "2025-03-05T16:00:00+00:00"


def test_across_a_weekend(cal: WorkCalendar) -> None:
    friday = local(2025, 3, 7, 15, 30)
    assert cal.add_working_days(friday, 1) == local(2025, 3, 11)  # end of Monday
    assert cal.add_working_days(friday, 3) == local(2025, 3, 13)
    assert cal.add_working_days(friday, 5) == local(2025, 3, 15)  # end of Friday
    assert cal.add_working_days(friday, 6) == local(2025, 3, 18)
    saturday = local(2025, 3, 8, 10, 0)
    assert cal.add_working_days(saturday, 1) == local(2025, 3, 11)


@pytest.mark.parametrize(
    ("start", "n", "last"),
    [
        (local(2025, 1, 24, 10, 0), 1, date(2025, 1, 26)),  # Sunday make-up day
        (local(2025, 1, 24, 10, 0), 2, date(2025, 1, 27)),
        (local(2025, 1, 24, 10, 0), 3, date(2025, 2, 5)),  # 1/28–2/4 off
        (local(2025, 1, 27, 10, 0), 1, date(2025, 2, 5)),
        (local(2025, 1, 30, 10, 0), 3, date(2025, 2, 7)),  # received during the holiday
        (local(2025, 1, 30, 10, 0), 4, date(2025, 2, 8)),  # Saturday make-up day
        (local(2025, 1, 30, 10, 0), 5, date(2025, 2, 10)),
    ],
)
def test_across_spring_festival_2025(
    cal: WorkCalendar, start: datetime, n: int, last: date
) -> None:
    assert cal.add_working_days(start, n) == end_of(last)


@pytest.mark.parametrize(
    ("n", "last"),
    [
        (1, date(2025, 9, 28)),  # Sunday make-up day
        (2, date(2025, 9, 29)),
        (3, date(2025, 9, 30)),
        (4, date(2025, 10, 9)),  # 10/1–10/8 off
        (5, date(2025, 10, 10)),
        (6, date(2025, 10, 11)),  # Saturday make-up day
        (7, date(2025, 10, 13)),
    ],
)
def test_across_national_day_2025(cal: WorkCalendar, n: int, last: date) -> None:
    friday = local(2025, 9, 26, 16, 0)
    assert cal.add_working_days(friday, n) == end_of(last)


def test_fractional_days(cal: WorkCalendar) -> None:
    monday = local(2025, 3, 3, 11, 0)
    # 80 % of an 8-WD limit: 6 whole working days (3/4–3/11), then 0.4 of 3/12.
    assert cal.add_working_days(monday, 0.8 * 8) == local(2025, 3, 12, 9, 36)
    assert cal.add_working_days(monday, 0.5) == local(2025, 3, 4, 12, 0)
    assert cal.add_working_days(monday, 2.25) == local(2025, 3, 6, 6, 0)
    # A fraction lands inside the next working day: after the weekend, not on it.
    assert cal.add_working_days(monday, 4) == local(2025, 3, 8)  # end of Friday
    assert cal.add_working_days(monday, 4.25) == local(2025, 3, 10, 6, 0)
    # Float noise is not a fraction: 0.1 * 30 == 3.0000000000000004.
    assert cal.add_working_days(monday, 0.1 * 30) == cal.add_working_days(monday, 3)
    assert cal.add_working_days(monday, 0.8 * 5) == cal.add_working_days(monday, 4)


def test_fraction_across_a_holiday(cal: WorkCalendar) -> None:
    start = local(2025, 9, 29, 9, 0)  # Monday before 国庆
    assert cal.add_working_days(start, 1) == local(2025, 10, 1)
    assert cal.add_working_days(start, 1.5) == local(2025, 10, 9, 12, 0)


def test_zero_days_returns_start_unchanged(cal: WorkCalendar) -> None:
    start = datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert cal.add_working_days(start, 0) is start


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf])
def test_bad_day_counts_are_refused(cal: WorkCalendar, bad: float) -> None:
    with pytest.raises(ValueError, match="days"):
        cal.add_working_days(local(2025, 3, 3), bad)


def test_naive_start_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="time zone"):
        cal.add_working_days(datetime(2025, 3, 3, 9, 0), 1)
    with pytest.raises(ValueError, match="time zone"):
        cal.working_days_between(datetime(2025, 3, 3), local(2025, 3, 4))


def test_local_date_decides_the_start_day(cal: WorkCalendar) -> None:
    already_october = datetime(2025, 9, 30, 17, 0, tzinfo=UTC)  # 10/1 01:00 in Shanghai
    assert cal.local_date(already_october) == date(2025, 10, 1)
    assert cal.add_working_days(already_october, 1) == local(2025, 10, 10)  # end of 10/9
    late_monday = datetime(2025, 9, 29, 15, 0, tzinfo=UTC)  # 9/29 23:00 local
    early_tuesday = datetime(2025, 9, 29, 17, 0, tzinfo=UTC)  # 9/30 01:00 local
    assert cal.add_working_days(late_monday, 1) == local(2025, 10, 1)  # end of 9/30
    assert cal.add_working_days(early_tuesday, 1) == local(2025, 10, 10)


def test_any_offset_is_accepted(cal: WorkCalendar) -> None:
    new_york = datetime(2025, 3, 6, 12, 0, tzinfo=timezone(timedelta(hours=-5)))  # 3/7 01:00 CST
    assert cal.add_working_days(new_york, 1) == local(2025, 3, 11)


# -- working_days_between ---------------------------------------------------------------------


def test_between_counts_like_add(cal: WorkCalendar) -> None:
    friday = local(2025, 3, 7, 15, 0)
    assert cal.working_days_between(friday, local(2025, 3, 7, 23, 0)) == 0.0
    assert cal.working_days_between(friday, local(2025, 3, 9, 12, 0)) == 0.0  # weekend
    assert cal.working_days_between(friday, local(2025, 3, 10, 12, 0)) == 0.5
    assert cal.working_days_between(friday, local(2025, 3, 11)) == 1.0
    assert cal.working_days_between(friday, local(2025, 3, 11, 18, 0)) == 1.75
    # Holidays do not count; make-up days do.
    assert cal.working_days_between(local(2025, 1, 24), local(2025, 2, 6)) == 3.0
    assert cal.working_days_between(local(2025, 9, 26), local(2025, 10, 5, 12, 0)) == 3.0


@pytest.mark.parametrize(
    "start",
    [
        local(2025, 1, 20, 9, 30),
        local(2025, 9, 26, 16, 0),
        datetime(2025, 9, 30, 17, 0, tzinfo=UTC),
        local(2024, 12, 28, 8, 0),
    ],
    ids=str,
)
@pytest.mark.parametrize("n", [0.2, 1, 2.4, 3, 5, 6.4, 7, 15.8, 20, 45])
def test_between_inverts_add(cal: WorkCalendar, start: datetime, n: float) -> None:
    due = cal.add_working_days(start, n)
    assert cal.working_days_between(start, due) == pytest.approx(n, abs=1e-9)
    # The deadline is the earliest moment the measure reaches n.
    assert cal.working_days_between(start, due - timedelta(seconds=1)) < n


def test_between_refuses_end_before_start(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="before start"):
        cal.working_days_between(local(2025, 3, 4), local(2025, 3, 3))


# -- loading and validation -------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_and_defaults(tmp_path: Path) -> None:
    cal = WorkCalendar.load(
        write(
            tmp_path,
            '[years.2023]\nsource = "test"\n'
            'holidays = [2022-12-31, 2023-01-01, "2023-01-02"]\n'  # 元旦 2023 straddles the year
            "makeup_workdays = []\n",
        ),
        official=False,
    )
    assert cal.timezone == SHANGHAI
    assert not cal.is_working_day(date(2023, 1, 2))
    assert cal.covers(date(2023, 5, 1)) and not cal.covers(date(2022, 12, 31))
    assert cal.sources[2023] == "test"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[years.2025]\nholidays = [2025-10-04]\nmakeup_workdays = [2025-10-04]\n",
            r"line 2: 2025-10-04 is both a holiday \(years.2025.holidays\[0\]\) and a make-up",
        ),
        (
            "[years.2025]\nholidays = []\nmakeup_workdays = [\n  2025-09-29,\n]\n",
            r"line 4: years.2025.makeup_workdays\[0\] = 2025-09-29 is a Monday",
        ),
        (
            '[years.2025]\nholidays = ["2025-1-1"]\n',
            r"line 2: years.2025.holidays\[0\] = '2025-1-1' is not a YYYY-MM-DD date",
        ),
        (
            "[years.2025]\nholidays = [\n  2025-02-30,\n]\n",
            r"not valid TOML.*line 3",
        ),
        ("[years.2025]\nholidays = [20250101]\n", r"years.2025.holidays\[0\] = 20250101"),
        (
            "[years.2025]\nholidays = [2025-10-01, 2025-10-01]\n",
            r"years.2025.holidays\[1\] = 2025-10-01 is listed twice",
        ),
        (
            "[years.2025]\nholidays = [2024-10-01]\n",
            r"line 2: years.2025.holidays\[0\] = 2024-10-01 lies outside 2025",
        ),
        ("[years.2025]\nholidays = []\nmakeup_days = []\n", r"\[years.2025\].*makeup_days"),
        ("[years.2025]\nmakeup_workdays = []\n", r"\[years.2025\]: 'holidays' is missing"),
        ("[years.25]\nholidays = []\n", r"\[years.25\]: section name must be a four-digit"),
        ('timezone = "Asia/Beijing"\n', r"timezone 'Asia/Beijing' is not a known IANA zone"),
        ('timezon = "Asia/Shanghai"\n', r"unknown top-level key\(s\) \['timezon'\]"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ValueError, match=message) as info:
        WorkCalendar.load(path)
    assert str(path) in str(info.value)


def test_a_date_list_must_be_an_array(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"years.2025.holidays must be an array"):
        WorkCalendar.load(write(tmp_path, '[years.2025]\nholidays = "2025-01-01"\n'))


def _walked_between(cal: WorkCalendar, start: datetime, end: datetime) -> float:
    """working_days_between as it was counted before: one day at a time."""
    first, last = cal.local_date(start) + timedelta(days=1), cal.local_date(end)
    total, day = 0.0, first
    while day < last:
        total += cal.is_working_day(day)
        day += timedelta(days=1)
    if last >= first and cal.is_working_day(last):
        begin = datetime.combine(last, datetime.min.time(), SHANGHAI)
        total += (end - begin) / timedelta(days=1)
    return total


def _walked_add(cal: WorkCalendar, start: datetime, n: int) -> datetime:
    day, left = cal.local_date(start), n
    while left:
        day += timedelta(days=1)
        left -= cal.is_working_day(day)
    return end_of(day).astimezone(UTC)


def test_counting_by_weeks_agrees_with_walking_day_by_day(cal: WorkCalendar) -> None:
    import random

    rnd = random.Random(7)
    for _ in range(400):
        start = datetime(2003, 1, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(30 * 525_600))
        end = start + timedelta(minutes=rnd.randrange(3 * 525_600))
        assert cal.working_days_between(start, end) == pytest.approx(
            _walked_between(cal, start, end), abs=1e-9
        )
        n = rnd.randrange(1, 800)
        assert cal.add_working_days(start, n) == _walked_add(cal, start, n)


def test_any_span_is_counted_at_once(cal: WorkCalendar) -> None:
    import time

    began = time.perf_counter()
    first = datetime(1, 1, 2, tzinfo=UTC)
    span = cal.working_days_between(first, datetime(9999, 12, 30, tzinfo=UTC))
    deadline = cal.add_working_days(first, 2_000_000)
    assert time.perf_counter() - began < 0.05  # day by day: seconds
    assert 2_500_000 < span < 2_700_000
    assert cal.working_days_between(first, deadline) == 2_000_000


@pytest.mark.parametrize("n", [2_500_000, 1e300])
def test_a_deadline_after_9999_is_a_value_error(cal: WorkCalendar, n: float) -> None:
    with pytest.raises(ValueError, match="fall after 9999-12-31"):
        cal.add_working_days(local(2026, 3, 2), n)
