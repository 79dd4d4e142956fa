"""Replay a shipped process's recorded path (processes/paths) through the engine facade, as the
services would: start variables and form values validated against the forms, messages delivered,
external work completed. Used by the stored-state tests and by make_state_fixtures.py, which writes
the fixtures with whatever engine is importable (so with an older checkout's, too)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bpmn_service.engine import (
    FormField,
    ProcessRunner,
    RunResult,
    SpecCache,
    register_functions,
    validate,
)
from bpmn_service.functions import build
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
PATHS = TESTS.parent / "processes" / "paths"
STATES = Path(__file__).resolve().parent / "states"
INITIATOR = {"yekuo_current": "clerk", "yekuo_streamlined": "manager"}
STEP = timedelta(hours=2)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def register_domain_functions() -> None:
    """The functions the shipped models call (time limits, working days, the unit registry),
    from the repository's configuration, as the service registers them."""
    config = ROOT / "config"
    register_functions(
        build(
            WorkCalendar.load(config / "calendar.toml"),
            TimeLimits.load(config / "time-limits.toml"),
            ConstructionUnitRegistry.load(config / "construction-units.toml"),
        )
    )


def paths(key: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PATHS / f"{key}.json").read_text(encoding="utf-8"))
    return data


def category_of(path_name: str, key: str) -> str:
    data = paths(key)
    named = {**data.get("path_category", {}), **data.get("path_start", {})}
    if path_name in named:
        return str(named[path_name])
    for category in sorted(data["start"], key=len, reverse=True):
        if path_name.startswith(category):
            return str(category)
    raise ValueError(f"no start variables for path {path_name!r}")


class Replay:
    """One instance of a deployed process (its spec JSON), driven step by step."""

    def __init__(self, key: str, spec_json: str, start_form: list[dict[str, Any]]) -> None:
        self.key = key
        self.spec_json = spec_json
        self.start_form = [FormField.from_dict(f) for f in start_form]
        self.runner = ProcessRunner(SpecCache())
        self.now = START
        self.result: RunResult | None = None

    def load(self) -> str:
        return self.spec_json

    def start(self, path_name: str, business_key: str) -> RunResult:
        variables = dict(paths(self.key)["start"][category_of(path_name, self.key)])
        values = validate(self.start_form, variables) if self.start_form else variables
        data = {
            **values,
            "businessKey": business_key,
            "initiator": INITIATOR.get(self.key, "clerk"),
        }
        self.result = self.runner.start(self.key, self.load, data, now=self.now)
        return self.result

    def resume(self, state: str, now: datetime) -> RunResult:
        self.now = now
        self.result = self.runner.inspect(self.key, self.load, state)
        return self.result

    def step(self, element: str, values: dict[str, Any]) -> RunResult:
        assert self.result is not None
        self.now += STEP
        state = self.result.state
        act: Callable[[], RunResult]
        if "_message" in values:
            payload = {k: v for k, v in values.items() if not k.startswith("_")}

            def act() -> RunResult:
                return self.runner.deliver_message(
                    self.key, self.load, state, values["_message"], payload, now=self.now
                )
        elif "_external" in values:
            (work,) = [t for t in self.result.external_tasks if t.element_id == element]
            variables = {k: v for k, v in values.items() if not k.startswith("_")}

            def act() -> RunResult:
                return self.runner.complete(
                    self.key, self.load, state, work.id, variables, "path-worker", now=self.now
                )
        else:
            task = self._pick(element, values.get("_item", {}))
            submitted = {k: v for k, v in values.items() if k != "_item"}
            form = self.runner.task_form(self.key, self.load, task.spec_name)
            checked = validate(form, submitted) if form else submitted

            def act() -> RunResult:
                return self.runner.complete(
                    self.key, self.load, state, task.id, checked, "path-user", now=self.now
                )

        self.result = act()
        return self.result

    def _pick(self, element: str, item: dict[str, Any]) -> Any:
        assert self.result is not None
        matching = [t for t in self.result.ready_tasks if t.element_id == element]
        if not matching:
            names = sorted(t.element_id for t in self.result.ready_tasks)
            raise AssertionError(f"expected a ready {element}, ready tasks are {names}")
        for task in matching:
            if any(task.form_values.get(k) == v for k, v in item.items()):
                return task
        return matching[0]
