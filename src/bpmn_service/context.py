"""Everything a request needs, built once per process from Settings and shared read-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bpmn_service.config import Settings
from bpmn_service.db.connect import make_engine
from bpmn_service.engine import ProcessRunner, RunBudget, WarmWorkflows, register_functions
from bpmn_service.functions import build
from bpmn_service.identity import UserDirectory
from bpmn_service.lanes import LaneGroups
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.reloading import Reloading
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

Clock = Callable[[], datetime]


class SimulationLauncher(Protocol):
    """Runs what-if simulation jobs in the background, one at a time per server process: a job
    never waits behind another, so a quiet job is one whose server stopped."""

    def reserve(self) -> bool:
        """Take the one slot; False while a job runs."""

    def release(self) -> None:
        """Give the slot back unused."""

    def start(self, job_id: str) -> None:
        """Run the stored job in the reserved slot; the slot frees itself when the job ends."""


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


def _user_file(settings: Settings) -> Reloading[UserDirectory]:
    def accept(users: UserDirectory) -> None:
        # At start-up main.prepare refuses them; an edit must not slip them in afterwards.
        if settings.mode == "production" and users.has_demo_tokens:
            raise ValueError("it contains the shipped demo tokens, which production mode refuses")

    return Reloading(
        settings.users_file,
        lambda: UserDirectory.load(settings.users_file, settings.supervisor_group_set),
        every=settings.config_check_seconds,
        accept=accept,
    )


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    user_file: Reloading[UserDirectory]
    lane_file: Reloading[LaneGroups]
    calendar: WorkCalendar
    # The limit table of the time limits that processes declare (services/clocks.py).
    time_limits: TimeLimits
    runner: ProcessRunner = field(default_factory=ProcessRunner)
    clock: Clock = utc_now
    # Runs stored what-if simulation jobs in the background; wired in by main.create_app.
    launch_simulation: SimulationLauncher | None = None

    @property
    def users(self) -> UserDirectory:
        """The users and tokens of the users file, as it is now (edits apply without a restart)."""
        return self.user_file.current()

    @property
    def lanes(self) -> LaneGroups:
        """Lane -> groups of the lane groups file, as it is now (edits apply without a restart)."""
        return self.lane_file.current()

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
            user_file=_user_file(settings),
            lane_file=Reloading(
                settings.lane_groups_path,
                lambda: LaneGroups.load(settings.lane_groups_path),
                every=settings.config_check_seconds,
            ),
            calendar=calendar,
            runner=ProcessRunner(
                budget=RunBudget(
                    settings.run_max_steps,
                    settings.run_max_seconds,
                    settings.max_variables_bytes,
                ),
                warm=WarmWorkflows(settings.warm_workflows),
            ),
            time_limits=TimeLimits.load(settings.time_limits_file),
        )
