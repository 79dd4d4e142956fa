"""Discrete-event simulation of the deployed processes (`bpmn-service simulate`).

Synthetic applications run through the real compiled BPMN on live engine instances (engine.live),
with the service's forms, lanes, working-day calendar and time limits, on a virtual clock; the
history goes to a throwaway SQLite database for the service's own analytics. See
docs/analytics.md#simulation and config/simulation.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import figures, report, sensitivity
from .history import service_kpis
from .runner import Environment, Simulation, load_models, simulate
from .scenario import Scenario, ScenarioError, load, parse

__all__ = [
    "Environment",
    "Outputs",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "load",
    "parse",
    "run",
    "write_outputs",
]


@dataclass
class Outputs:
    report: dict[str, Any]
    simulation: Simulation


def run(
    scenario: Scenario,
    env: Environment,
    *,
    workers: int | None = None,
    with_service_kpis: bool = True,
    keep_database: Path | None = None,
    with_sensitivity: bool = False,
    sensitivity_applications: int = 60,
    progress: TextIO | None = None,
) -> Outputs:
    models = load_models(scenario, env)
    sim = simulate(
        scenario,
        env,
        workers=workers,
        keep_history=with_service_kpis,
        progress=progress,
        models=models,
    )
    kpis = service_kpis(sim, env, keep_database) if with_service_kpis else None
    sens = (
        sensitivity.run(
            scenario,
            env,
            models,
            applications=sensitivity_applications,
            workers=workers,
            progress=progress,
        )
        if with_sensitivity
        else None
    )
    return Outputs(figures.build(sim, kpis, sens), sim)


def write_outputs(outputs: Outputs, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": directory / "simulation.html",
        "json": directory / "simulation.json",
        "csv": directory / "simulation.csv",
    }
    paths["html"].write_text(report.to_html(outputs.report), encoding="utf-8")
    paths["json"].write_text(report.to_json(outputs.report), encoding="utf-8")
    paths["csv"].write_text(report.to_csv(outputs.simulation), encoding="utf-8")
    return paths
