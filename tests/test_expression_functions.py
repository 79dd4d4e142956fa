"""The domain functions BPMN expressions call (bpmn_service.functions) take their arguments only as
the types they name: a large list where a date or an id belongs is refused at once, not turned
into text first (which costs as much as the value is long, 10,000 times in one comprehension)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn_service.functions import build
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def functions() -> dict[str, object]:
    calendar = WorkCalendar.load(ROOT / "config" / "calendar.toml")
    limits = TimeLimits.load(ROOT / "config" / "time-limits.toml")
    registry = ConstructionUnitRegistry.load(ROOT / "config" / "construction-units.toml")
    return dict(build(calendar, limits, registry))


@pytest.mark.parametrize(
    ("name", "args", "error", "says"),
    [
        ("add_working_days", ([0] * 100_000, 1), TypeError, "start must be a string, not list"),
        ("working_days_between", ("2026-03-02T00:00:00+08:00", {}), TypeError, "end must be"),
        ("add_working_days", ("2" * 1000, 1), ValueError, "at most 200"),
        ("time_limit", (["p"] * 1000, "A-T-SCHEME", "LV"), TypeError, "process_key must be"),
        ("recommend_construction_units", ([1] * 1000, "10kV", 2), TypeError, "key must be"),
        ("recommend_construction_units", ("K-1", 10, 2), TypeError, "voltage must be"),
    ],
)
def test_arguments_of_another_type_are_refused_at_once(
    functions: dict[str, object], name: str, args: tuple[object, ...], error: type, says: str
) -> None:
    function = functions[name]
    assert callable(function)
    with pytest.raises(error, match=says):
        function(*args)


def test_ordinary_arguments_still_work(functions: dict[str, object]) -> None:
    add, between = functions["add_working_days"], functions["working_days_between"]
    recommend = functions["recommend_construction_units"]
    assert callable(add) and callable(between) and callable(recommend)
    due = add("2026-03-02T09:00:00+08:00", 3)
    assert due == "2026-03-05T16:00:00+00:00"
    assert between("2026-03-02T09:00:00+08:00", due) == 3
    assert len(recommend(12345, "10kV", 2)) == 2
