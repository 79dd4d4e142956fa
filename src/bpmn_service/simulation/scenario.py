"""The scenario file (config/simulation.toml): load, check, and say which line is wrong.

Every problem is a ScenarioError whose message starts with ``<file>, line N:`` (the line of the
key or table at fault), so an analyst editing the file finds it at once. The checks against the
BPMN models (unknown element ids, form fields, enum values, lanes) run in :func:`check_models`
once the models are loaded.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bpmn_service.scenario_steps import key_lines
from bpmn_service.timelimits import CATEGORIES

from .distributions import Choice, Duration, SpecError, parse_choice, parse_duration

ALL = "all"
CATEGORY_KEYS = (*CATEGORIES, ALL)
PARTIES = ("utility", "customer", "contractor")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and line."""


@dataclass
class Step:
    """What the scenario says about one BPMN element (user task, wait, external task)."""

    element: str
    path: tuple[str, ...]
    party: str | None = None
    duration: dict[str, Duration] = field(default_factory=dict)
    again_duration: dict[str, Duration] = field(default_factory=dict)
    repeat_factor: float = 1.0
    decisions: dict[str, dict[str, Choice]] = field(default_factory=dict)
    again: dict[str, dict[str, Choice]] = field(default_factory=dict)
    scale_if: dict[str, float] = field(default_factory=dict)
    plus_if: dict[str, dict[str, Duration]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    no_response: dict[str, float] = field(default_factory=dict)


@dataclass
class ProcessScenario:
    key: str
    path: tuple[str, ...]
    file: Path | None = None
    values: Path | None = None
    lead_time_end: tuple[str, ...] = ()
    handoff_delay: Duration | None = None
    staff: dict[str, int] = field(default_factory=dict)
    steps: dict[str, Step] = field(default_factory=dict)
    # When two versions of the process are compared (a what-if): how messages name this side's
    # model ("the deployed version 3 of k"), and what to do when it lacks an element a step names.
    origin: str | None = None
    missing_advice: str | None = None


@dataclass
class Scenario:
    source: str
    text: str
    seed: int = 1
    applications: int = 1000
    start_date: date = date(2025, 3, 3)
    arrivals_per_working_day: float = 30.0
    responsiveness_sigma: float = 0.3
    wd_to_cd: float = 1.45
    mix: Choice = field(default_factory=lambda: Choice(("LV",), (1.0,)))
    attributes: dict[str, dict[str, Choice]] = field(default_factory=dict)
    processes: dict[str, ProcessScenario] = field(default_factory=dict)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line(self, path: tuple[str, ...]) -> int | None:
        """The line of ``path`` or of its nearest written parent."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: tuple[str, ...], message: str) -> ScenarioError:
        line = self.line(path)
        where = f"{self.source}, line {line}" if line else self.source
        return ScenarioError(f"{where}: {message}")


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc.strerror}") from None
    return parse(text, str(path), base=path.parent)


def parse(text: str, source: str = "<scenario>", base: Path | None = None) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    scenario = Scenario(source=source, text=text, lines=key_lines(text))
    _Reader(scenario, base or Path(".")).read(data)
    return scenario


class _Reader:
    def __init__(self, scenario: Scenario, base: Path) -> None:
        self.s = scenario
        self.base = base

    def fail(self, path: tuple[str, ...], message: str) -> ScenarioError:
        return self.s.error(path, message)

    def table(self, value: Any, path: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{'.'.join(path)} must be a table")
        return value

    def unknown(self, data: dict[str, Any], allowed: set[str], path: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                where = ".".join((*path, key))
                raise self.fail(
                    (*path, key), f"unknown key {where} (allowed: {', '.join(sorted(allowed))})"
                )

    def read(self, data: dict[str, Any]) -> None:
        self.unknown(data, {"simulation", "mix", "attributes", "processes"}, ())
        self.simulation(self.table(data.get("simulation", {}), ("simulation",)))
        if "mix" not in data:
            raise self.fail((), "the [mix] table (share of each customer category) is missing")
        self.s.mix = self.choice(data["mix"], ("mix",), categories=True)
        attributes = self.table(data.get("attributes", {}), ("attributes",))
        for name, table in attributes.items():
            self.s.attributes[name] = self.by_category(
                table, ("attributes", name), self.choice, allow_all=True
            )
        processes = self.table(data.get("processes", {}), ("processes",))
        if not processes:
            raise self.fail((), "no [processes.<key>] table: nothing to simulate")
        for key, table in processes.items():
            self.s.processes[key] = self.process(key, self.table(table, ("processes", key)))

    def simulation(self, data: dict[str, Any]) -> None:
        path = ("simulation",)
        self.unknown(
            data,
            {
                "seed",
                "applications",
                "start_date",
                "arrivals_per_working_day",
                "responsiveness_sigma",
                "wd_to_cd",
            },
            path,
        )
        s = self.s
        s.seed = self.integer(data.get("seed", s.seed), (*path, "seed"), minimum=0)
        s.applications = self.integer(
            data.get("applications", s.applications), (*path, "applications"), minimum=1
        )
        start = data.get("start_date", s.start_date)
        if not isinstance(start, date):
            raise self.fail((*path, "start_date"), "start_date must be a date (2025-03-03)")
        s.start_date = start
        s.arrivals_per_working_day = self.number(
            data.get("arrivals_per_working_day", s.arrivals_per_working_day),
            (*path, "arrivals_per_working_day"),
            positive=True,
        )
        s.responsiveness_sigma = self.number(
            data.get("responsiveness_sigma", s.responsiveness_sigma),
            (*path, "responsiveness_sigma"),
        )
        s.wd_to_cd = self.number(data.get("wd_to_cd", s.wd_to_cd), (*path, "wd_to_cd"))

    def process(self, key: str, data: dict[str, Any]) -> ProcessScenario:
        path = ("processes", key)
        self.unknown(
            data,
            {
                "file",
                "values",
                "lead_time_end",
                "handoff_delay",
                "time_limits",  # refused below with a pointer to the model's declarations
                "staff",
                "steps",
            },
            path,
        )
        proc = ProcessScenario(key=key, path=path)
        for name in ("file", "values"):
            if name in data:
                if not isinstance(data[name], str):
                    raise self.fail((*path, name), f"{name} must be a path (a string)")
                setattr(proc, name, Path(data[name]))
        if "lead_time_end" in data:
            proc.lead_time_end = self.names(data["lead_time_end"], (*path, "lead_time_end"))
        if "handoff_delay" in data:
            proc.handoff_delay = self.duration(data["handoff_delay"], (*path, "handoff_delay"))
        if "time_limits" in data:
            # Before the spans came from the model, scenarios measured them from user tasks.
            raise self.fail(
                (*path, "time_limits"),
                f"[{'.'.join(path)}.time_limits] is no longer read: the simulation measures the "
                "time limits the model declares (timeLimit.start / stop / stopAtClaim / pause "
                "extension properties, docs/authoring.md) as the service does; remove the table "
                "and move a start or stop in the model instead",
            )
        staff = self.table(data.get("staff", {}), (*path, "staff"))
        for lane, count in staff.items():
            proc.staff[lane] = self.integer(count, (*path, "staff", lane), minimum=1)
        steps = self.table(data.get("steps", {}), (*path, "steps"))
        for element, table in steps.items():
            step_path = (*path, "steps", element)
            proc.steps[element] = self.step(step_path, element, self.table(table, step_path))
        return proc

    def step(self, path: tuple[str, ...], element: str, data: dict[str, Any]) -> Step:
        self.unknown(
            data,
            {
                "party",
                "duration",
                "again_duration",
                "repeat_factor",
                "decisions",
                "again",
                "scale_if",
                "plus_if",
                "variables",
                "no_response",
            },
            path,
        )
        step = Step(element=element, path=path)
        if "party" in data:
            if data["party"] not in PARTIES:
                raise self.fail(
                    (*path, "party"),
                    f"party must be one of {', '.join(PARTIES)}, not {data['party']!r}",
                )
            step.party = data["party"]
        if "duration" in data:
            step.duration = self.by_category(data["duration"], (*path, "duration"), self.duration)
        if "again_duration" in data:
            step.again_duration = self.by_category(
                data["again_duration"], (*path, "again_duration"), self.duration
            )
        if "repeat_factor" in data:
            step.repeat_factor = self.number(data["repeat_factor"], (*path, "repeat_factor"))
        for name in ("decisions", "again"):
            table = self.table(data.get(name, {}), (*path, name))
            target = step.decisions if name == "decisions" else step.again
            for field_id, by_cat in table.items():
                target[field_id] = self.by_category(
                    by_cat, (*path, name, field_id), self.choice, allow_all=True
                )
        scale = self.table(data.get("scale_if", {}), (*path, "scale_if"))
        for variable, factor in scale.items():
            step.scale_if[variable] = self.number(factor, (*path, "scale_if", variable))
        plus = self.table(data.get("plus_if", {}), (*path, "plus_if"))
        for variable, by_cat in plus.items():
            step.plus_if[variable] = self.by_category(
                by_cat, (*path, "plus_if", variable), self.duration
            )
        step.variables = dict(self.table(data.get("variables", {}), (*path, "variables")))
        if "no_response" in data:
            step.no_response = self.by_category(
                data["no_response"], (*path, "no_response"), self.probability
            )
        return step

    # -- values ------------------------------------------------------------------------------

    def by_category(
        self, value: Any, path: tuple[str, ...], parse: Any, *, allow_all: bool = True
    ) -> dict[str, Any]:
        table = self.table(value, path)
        out: dict[str, Any] = {}
        for category, item in table.items():
            if category not in CATEGORY_KEYS or (category == ALL and not allow_all):
                raise self.fail(
                    (*path, category),
                    f"{category!r} is not a customer category "
                    f"({', '.join(CATEGORY_KEYS)}) in {'.'.join(path)}",
                )
            out[category] = parse(item, (*path, category))
        return out

    def duration(self, value: Any, path: tuple[str, ...]) -> Duration:
        try:
            return parse_duration(value)
        except SpecError as exc:
            raise self.fail(path, f"{'.'.join(path)}: {exc}") from None

    def choice(self, value: Any, path: tuple[str, ...], categories: bool = False) -> Choice:
        try:
            choice = parse_choice(value)
        except SpecError as exc:
            raise self.fail(path, f"{'.'.join(path)}: {exc}") from None
        if categories:
            for category in choice.values:
                if category not in CATEGORIES:
                    raise self.fail(
                        (*path, category),
                        f"{category!r} is not a customer category ({', '.join(CATEGORIES)})",
                    )
        return choice

    def probability(self, value: Any, path: tuple[str, ...]) -> float:
        number = self.number(value, path)
        if number > 1:
            raise self.fail(path, f"{'.'.join(path)} is a probability: between 0 and 1")
        return number

    def number(self, value: Any, path: tuple[str, ...], positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"{'.'.join(path)} must be a number, not {value!r}")
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            kind = "positive" if positive else "a number >= 0"
            raise self.fail(path, f"{'.'.join(path)} must be {kind}, not {value!r}")
        return float(value)

    def integer(self, value: Any, path: tuple[str, ...], minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"{'.'.join(path)} must be an integer >= {minimum}")
        return value

    def names(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self.fail(path, f"{'.'.join(path)} must be an element id or a list of them")
