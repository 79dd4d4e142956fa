"""Run a scenario: check it against the models, draw the applications, drive them in parallel.

Applications are drawn once per scenario (arrival, category, responsiveness, case attributes) and
run through every process of the scenario, so the processes are compared on the same cases. When
no process has staff counts, applications are independent and are split into chunks over a pool
of worker processes; with staff counts, the applications of a process share its lane queues and
run in one worker (the processes still run side by side). Results are put back in application
order, and every random draw is keyed by application and element (driver.py), so a fixed seed
gives the same results whatever the number of workers.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bpmn_service.config import Settings
from bpmn_service.context import domain_functions
from bpmn_service.engine import FormField, listed_names, register_functions
from bpmn_service.lanes import LaneGroups
from bpmn_service.scenario_steps import close_match, entry_name
from bpmn_service.services.limit_checks import declaration_problems
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar

from .clock import WorkClock
from .driver import Application, Driver, InstanceResult, LaneState
from .model import (
    MESSAGE_WAIT,
    START_EVENT,
    USER_TASK,
    Element,
    SimModel,
    Submissions,
    coerce_option,
    load_model,
)
from .scenario import ProcessScenario, Scenario, Step

CHUNK = 40


@dataclass
class Environment:
    """The service's own configuration files, as a running service would read them."""

    calendar_file: Path
    time_limits_file: Path
    lane_groups_file: Path
    processes_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Environment:
        return cls(
            calendar_file=settings.calendar_file,
            time_limits_file=settings.time_limits_file,
            lane_groups_file=settings.lane_groups_path,
            processes_dir=settings.processes_dir,
        )


@dataclass
class ProcessOutcome:
    key: str
    name: str | None
    results: list[InstanceResult]
    lanes: dict[str, LaneState] = field(default_factory=dict)
    missing_steps: set[str] = field(default_factory=set)


@dataclass
class Simulation:
    scenario: Scenario
    applications: list[Application]
    outcomes: dict[str, ProcessOutcome]
    clock: WorkClock
    elapsed_seconds: float
    workers: int
    models: dict[str, SimModel]


def load_models(scenario: Scenario, env: Environment) -> dict[str, SimModel]:
    lanes = LaneGroups.load(env.lane_groups_file)
    register_functions(domain_functions_for(env))
    models = {}
    files: dict[str, Path] = {}
    for key, proc in scenario.processes.items():
        bpmn = files[key] = proc.file or env.processes_dir / f"{key}.bpmn"
        # The recorded paths of the model, beside it (the tests replay the same files).
        values = proc.values or env.processes_dir / "paths" / f"{key}.json"
        try:
            models[key] = load_model(key, bpmn, values if values.exists() else None, lanes)
        except ValueError as exc:
            raise scenario.error(proc.path, f"process {key}: {exc}") from None
    check_models(scenario, models)
    check_time_limits(scenario, models, files, TimeLimits.load(env.time_limits_file))
    return models


def domain_functions_for(env: Environment) -> dict[str, Callable[..., object]]:
    settings = Settings(
        calendar_file=env.calendar_file,
        time_limits_file=env.time_limits_file,
    )
    return domain_functions(settings)


def _fields_by_id(models: dict[str, SimModel]) -> dict[str, FormField]:
    fields: dict[str, FormField] = {}
    for model in models.values():
        for f in model.start_form:
            fields.setdefault(f.id, f)
        for element in model.elements.values():
            for f in element.fields:
                fields.setdefault(f.id, f)
    return fields


def check_models(scenario: Scenario, models: dict[str, SimModel]) -> None:
    """Every element, field, value and lane the scenario names must exist in the models."""
    all_fields = _fields_by_id(models)
    carried = {
        name
        for model in models.values()
        for by_cat in model.recorded.values()
        for submissions in by_cat.values()
        for values in submissions
        for name in values
    }
    for name, by_cat in scenario.attributes.items():
        path = ("attributes", name)
        f = all_fields.get(name)
        if f is None and name not in carried:
            unrecorded = sorted(k for k, m in models.items() if m.values_file is None)
            why = (
                f" (no recorded paths were found for {', '.join(unrecorded)}: the message "
                "variables are read from <processes dir>/paths/<key>.json, or the file a "
                "scenario's values names)"
                if unrecorded
                else ""
            )
            raise scenario.error(
                path,
                f"attribute {name} is neither a form field nor a message variable of a model{why}",
            )
        for category, choice in by_cat.items():
            for value in choice.values:
                try:
                    coerce_option(f, value)
                except ValueError as exc:
                    raise scenario.error((*path, category, value), str(exc)) from None
    for key, proc in scenario.processes.items():
        model = models[key]
        elements = model.elements

        def known(
            element: str,
            path: tuple[str, ...],
            model: SimModel = model,
            proc: ProcessScenario = proc,
        ) -> None:
            if element in model.elements:
                return
            meant = close_match(element, model.elements)
            guess = f" (did you mean {meant!r}?)" if meant else ""
            if proc.origin is None:
                raise scenario.error(
                    path,
                    f"unknown step {element!r}: process {model.key} has no such element{guess}",
                )
            raise scenario.error(
                path,
                f"unknown step {element!r} in {entry_name(path)}: {proc.origin} has no such "
                f"element{guess}; {proc.missing_advice}",
            )

        for end in proc.lead_time_end:
            known(end, (*proc.path, "lead_time_end"))
        for lane in proc.staff:
            if lane not in model.lanes:
                raise scenario.error(
                    (*proc.path, "staff", lane),
                    f"unknown lane {lane!r} in process {key} "
                    f"(lanes: {', '.join(sorted(model.lanes))})",
                )
        for element_id, step in proc.steps.items():
            known(element_id, step.path)
            element = elements[element_id]
            if element.kind not in (USER_TASK, MESSAGE_WAIT, START_EVENT, "ExternalTask"):
                raise scenario.error(
                    step.path,
                    f"step {element_id} is a {element.kind}: durations apply to user tasks, "
                    "external tasks, message waits and the start event only",
                )
            _check_message_variables(scenario, step, element)
            fields = {f.id: f for f in element.fields}
            for table_name in ("decisions", "again"):
                table = step.decisions if table_name == "decisions" else step.again
                for field_id, by_cat in table.items():
                    where = (*step.path, table_name, field_id)
                    f = fields.get(field_id)
                    if element.kind == USER_TASK and (f is None or f.readonly):
                        writable = ", ".join(sorted(k for k, v in fields.items() if not v.readonly))
                        raise scenario.error(
                            where,
                            f"{field_id} is not a writable field of {element_id} "
                            f"(fields: {writable or 'none'})",
                        )
                    for category, choice in by_cat.items():
                        for value in choice.values:
                            try:
                                coerce_option(f, value)
                            except ValueError as exc:
                                raise scenario.error((*where, category), str(exc)) from None


def check_time_limits(
    scenario: Scenario, models: dict[str, SimModel], files: dict[str, Path], table: TimeLimits
) -> None:
    """The limits a model declares must name rows of its process's limit table, in the version
    in force when the simulation starts, as a deployment requires (the service refuses the file
    otherwise); the problem is named in the model, at its line."""
    for key, proc in scenario.processes.items():
        model = models[key]
        found = declaration_problems(table, model.bpmn, key, str(files[key]), scenario.start_date)
        errors = [p for p in found if p.is_error]
        if errors:
            raise scenario.error(
                proc.path,
                f"process {key} declares time limits the service would refuse: "
                + "; ".join(str(p) for p in errors),
            )


def _check_message_variables(scenario: Scenario, step: Step, element: Element) -> None:
    """A message wait whose model declares what its message carries (the `variables` property)
    gets only those variables from the scenario, as the service would accept them."""
    declared = element.properties.get("variables")
    if element.kind != MESSAGE_WAIT or declared is None:
        return
    allowed = set(listed_names(declared))
    tables = (("variables", step.variables), ("decisions", step.decisions), ("again", step.again))
    for table_name, table in tables:
        for name in table:
            if name not in allowed:
                raise scenario.error(
                    (*step.path, table_name, name),
                    f"{name} is not a variable of message {element.message!r} at "
                    f"{element.id} (its variables: {', '.join(sorted(allowed)) or 'none'})",
                )


def applications(scenario: Scenario, models: dict[str, SimModel]) -> list[Application]:
    fields = _fields_by_id(models)
    arrivals = random.Random(f"{scenario.seed}/arrivals")
    apps = []
    w = 0.0
    for index in range(scenario.applications):
        w += arrivals.expovariate(scenario.arrivals_per_working_day)
        rng = random.Random(f"{scenario.seed}/application/{index}")
        category = scenario.mix.sample(rng)
        factor = math.exp(rng.gauss(0.0, scenario.responsiveness_sigma))
        attributes: dict[str, Any] = {}
        for name in sorted(scenario.attributes):
            by_cat = scenario.attributes[name]
            choice = by_cat.get(category) or by_cat.get("all")
            draw = rng.random()  # drawn for every attribute, so tables do not shift each other
            if choice is None:
                continue
            acc, picked = 0.0, choice.values[-1]
            for value, weight in zip(choice.values, choice.weights, strict=True):
                acc += weight
                if draw < acc:
                    picked = value
                    break
            attributes[name] = coerce_option(fields.get(name), picked)
        apps.append(Application(index, category, factor, w, attributes))
    return apps


# -- workers --------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(
    scenario: Scenario, models: dict[str, SimModel], env: Environment, keep: bool
) -> None:
    register_functions(domain_functions_for(env))
    calendar = WorkCalendar.load(env.calendar_file)
    _WORKER.clear()
    _WORKER.update(
        scenario=scenario,
        models=models,
        env=env,
        keep=keep,
        clock=WorkClock(calendar, scenario.start_date),
        lanes=LaneGroups.load(env.lane_groups_file),
        limits=TimeLimits.load(env.time_limits_file),
        live={key: model.live() for key, model in models.items()},
        submissions={key: Submissions(model) for key, model in models.items()},
    )
    gc.collect()
    gc.freeze()  # the models and specs live as long as the worker: keep them out of GC scans
    # Engine instances are object graphs with cycles, made and dropped by the thousand; with the
    # default thresholds the collector took a sixth of the time rescanning young ones.
    gc.set_threshold(50_000, 20, 100)


def _run_chunk(job: tuple[str, list[Application]]) -> tuple[str, ProcessOutcome]:
    key, apps = job
    scenario: Scenario = _WORKER["scenario"]
    driver = Driver(
        scenario,
        scenario.processes[key],
        _WORKER["models"][key],
        _WORKER["clock"],
        _WORKER["lanes"],
        _WORKER["limits"],
        keep_history=_WORKER["keep"],
        live=_WORKER["live"][key],
        submissions=_WORKER["submissions"][key],
    )
    results = driver.run(apps)
    return key, ProcessOutcome(
        key=key,
        name=_WORKER["models"][key].name,
        results=results,
        lanes=driver.lane_state,
        missing_steps=driver.missing_steps,
    )


class Progress:
    def __init__(
        self,
        total: int,
        stream: TextIO | None,
        listener: Callable[[int, int], None] | None = None,
    ) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.listener = listener
        self.started = time.perf_counter()

    def advance(self, count: int) -> None:
        self.done += count
        if self.listener is not None:
            self.listener(self.done, self.total)
        if self.stream is None:
            return
        width = 30
        filled = int(width * self.done / max(1, self.total))
        elapsed = time.perf_counter() - self.started
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"applications, {elapsed:.0f} s"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def simulate(
    scenario: Scenario,
    env: Environment,
    *,
    workers: int | None = None,
    keep_history: bool = False,
    progress: TextIO | None = None,
    models: dict[str, SimModel] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Run the scenario's applications through its processes; ``on_progress(done, total)`` is
    called as applications finish (a what-if job reports it to its readers)."""
    models = models or load_models(scenario, env)
    started = time.perf_counter()
    apps = applications(scenario, models)
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    jobs: list[tuple[str, list[Application]]] = []
    for key, proc in scenario.processes.items():
        if proc.staff:
            jobs.append((key, apps))
            continue
        # Small chunks: fewer engine instances alive at once in a worker (the garbage
        # collector's work grows with them) and an even load over the workers.
        size = max(10, min(CHUNK, math.ceil(len(apps) / (workers * 4))))
        jobs.extend((key, apps[i : i + size]) for i in range(0, len(apps), size))
    bar = Progress(len(apps) * len(scenario.processes), progress, on_progress)
    collected: dict[str, list[ProcessOutcome]] = {key: [] for key in scenario.processes}
    if workers == 1 or len(jobs) == 1:
        _init_worker(scenario, models, env, keep_history)
        for job in jobs:
            key, outcome = _run_chunk(job)
            collected[key].append(outcome)
            bar.advance(len(outcome.results))
    else:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        with context.Pool(
            workers, initializer=_init_worker, initargs=(scenario, models, env, keep_history)
        ) as pool:
            for key, outcome in pool.imap_unordered(_run_chunk, jobs):
                collected[key].append(outcome)
                bar.advance(len(outcome.results))
    outcomes = {}
    for key, parts in collected.items():
        results = sorted((r for p in parts for r in p.results), key=lambda r: r.index)
        lanes: dict[str, LaneState] = {}
        missing: set[str] = set()
        for p in parts:
            lanes.update(p.lanes)
            missing |= p.missing_steps
        outcomes[key] = ProcessOutcome(key, models[key].name, results, lanes, missing)
    calendar = WorkCalendar.load(env.calendar_file)
    return Simulation(
        scenario=scenario,
        applications=apps,
        outcomes=outcomes,
        clock=WorkClock(calendar, scenario.start_date),
        elapsed_seconds=time.perf_counter() - started,
        workers=workers,
        models=models,
    )


def stderr_if_tty() -> TextIO | None:
    return sys.stderr if sys.stderr.isatty() else None
