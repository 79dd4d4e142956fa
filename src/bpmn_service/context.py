"""Everything a request needs, built once per process from Settings and shared read-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bpmn_service.config import Settings
from bpmn_service.db.connect import make_engine
from bpmn_service.engine import ProcessRunner, register_functions
from bpmn_service.functions import build
from bpmn_service.identity import UserDirectory
from bpmn_service.lanes import LaneGroups
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def domain_functions(
    settings: Settings, calendar: WorkCalendar | None = None
) -> dict[str, Callable[..., object]]:
    """The data-file-backed functions BPMN expressions may call (see functions.py)."""
    return build(
        calendar or WorkCalendar.load(settings.calendar_file),
        TimeLimits.load(settings.time_limits_file),
        ConstructionUnitRegistry.load(settings.registry_file),
    )


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    users: UserDirectory
    lanes: LaneGroups
    calendar: WorkCalendar
    runner: ProcessRunner = field(default_factory=ProcessRunner)
    clock: Clock = utc_now

    @classmethod
    def create(cls, settings: Settings, *, engine: Engine | None = None) -> AppContext:
        if engine is None:
            engine = make_engine(settings.database_url, schema=settings.database_schema)
        calendar = WorkCalendar.load(settings.calendar_file)
        register_functions(domain_functions(settings, calendar))
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessionmaker(engine, expire_on_commit=False),
            users=UserDirectory.load(settings.users_file),
            lanes=LaneGroups.load(settings.lane_groups_path),
            calendar=calendar,
        )
