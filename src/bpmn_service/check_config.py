"""Where `bpmn-service check` finds its configuration: never in the directory it is run from.

An analyst checks a file wherever it is (a CI job, the Modeler's folder, another checkout). The
configuration comes from, in this order:

1. `--config DIR`: a project root (with `config/`) or a configuration directory itself;
2. a `BPMN_*` variable set explicitly (BPMN_USERS_FILE, BPMN_LANE_GROUPS_FILE, …);
3. the project the file lies in: the nearest directory above it with `config/calendar.toml`.

The lane groups are the `lane-groups.toml` next to the file (where the processes are kept), else
the project's `processes/lane-groups.toml`. Without a calendar or time-limit table the check still
knows the names of the functions expressions may call (it never calls them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from bpmn_service.engine import CheckContext, register_functions
from bpmn_service.functions import build
from bpmn_service.identity import UserDirectory
from bpmn_service.lanes import LaneGroups
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar


@dataclass(frozen=True, slots=True)
class CheckConfig:
    config_dir: Path | None
    lane_groups: Path | None
    users: Path | None

    def context(self) -> CheckContext:
        lanes = LaneGroups.load(self.lane_groups) if self.lane_groups else LaneGroups({})
        users = UserDirectory.load(self.users) if self.users else None
        if users is None:
            return CheckContext(lanes.groups_for, lane_hint=lanes.hint_for)
        return CheckContext(lanes.groups_for, users.user_ids, users.group_ids, lanes.hint_for)

    def time_limits(self) -> TimeLimits | None:
        """The limit table, or None where none is found (outside a project): the rows the
        file's declarations name cannot be checked then, only the declarations themselves."""
        explicit = _explicit("BPMN_TIME_LIMITS_FILE")
        path = explicit or (self.config_dir / "time-limits.toml" if self.config_dir else None)
        return TimeLimits.load(path) if path is not None and path.is_file() else None

    def simulation_scenario(self) -> Path | None:
        """The simulation scenario, whose steps name elements of the processes."""
        explicit = _explicit("BPMN_SIMULATION_SCENARIO_FILE")
        return explicit or (self.config_dir / "simulation.toml" if self.config_dir else None)

    def register_functions(self) -> None:
        register_functions(_functions(self.config_dir))


def _explicit(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _project_config(start: Path) -> Path | None:
    for directory in [start, *start.parents]:
        if (directory / "config" / "calendar.toml").is_file():
            return directory / "config"
    return None


def find_config(bpmn_file: Path, config: Path | None) -> CheckConfig:
    """The configuration for checking `bpmn_file` (see the module's docstring)."""
    folder = bpmn_file.resolve().parent
    if config is not None:
        config_dir: Path | None = config / "config" if (config / "config").is_dir() else config
    else:
        config_dir = _project_config(folder)
    root = config_dir.parent if config_dir is not None else None

    lane_groups = _explicit("BPMN_LANE_GROUPS_FILE")
    if lane_groups is None and (folder / "lane-groups.toml").is_file():
        lane_groups = folder / "lane-groups.toml"
    if lane_groups is None and root is not None:
        shipped = root / "processes" / "lane-groups.toml"
        lane_groups = shipped if shipped.is_file() else None
    if lane_groups is None and config_dir is not None:
        beside = config_dir / "lane-groups.toml"
        lane_groups = beside if beside.is_file() else None

    users = _explicit("BPMN_USERS_FILE")
    if users is None and config_dir is not None and (config_dir / "users.toml").is_file():
        users = config_dir / "users.toml"
    return CheckConfig(config_dir, lane_groups, users)


@cache
def _functions(config_dir: Path | None) -> dict[str, Any]:
    def file(env: str, name: str) -> Path | None:
        explicit = _explicit(env)
        if explicit is not None:
            return explicit
        if config_dir is not None and (config_dir / name).is_file():
            return config_dir / name
        return None

    calendar = file("BPMN_CALENDAR_FILE", "calendar.toml")
    limits = file("BPMN_TIME_LIMITS_FILE", "time-limits.toml")
    registry = file("BPMN_REGISTRY_FILE", "construction-units.toml")
    if calendar is None or limits is None:
        # Only the names matter to a check: expressions are checked, never run.
        return build(cast(Any, None), cast(Any, None), ConstructionUnitRegistry([]))
    return build(
        WorkCalendar.load(calendar),
        TimeLimits.load(limits),
        ConstructionUnitRegistry.load(registry) if registry else ConstructionUnitRegistry([]),
    )
