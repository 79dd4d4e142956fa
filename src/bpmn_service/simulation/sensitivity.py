"""Sensitivity mode: change each parameter in turn and see how far the total moves.

Every step duration (with its rework duration and extras) is multiplied by ``duration_factor``,
the hand-off delay too, and every decision's less likely outcome (the rework or branch: a
rejection, a failed inspection, missing documents) has its probability multiplied by
``probability_factor``. Each variant runs the same applications as the baseline; random numbers
are keyed by application and element (driver.py), so the difference is the parameter's effect and
not sampling noise.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable
from typing import Any, TextIO

from .model import SimModel
from .runner import Environment, simulate
from .scenario import ProcessScenario, Scenario

Mutation = Callable[[ProcessScenario], None]


def _rare_value(by_cat: dict[str, Any]) -> str | None:
    weights: dict[str, float] = {}
    for choice in by_cat.values():
        for value, weight in zip(choice.values, choice.weights, strict=True):
            weights[value] = weights.get(value, 0.0) + weight
    candidates = {v: w for v, w in weights.items() if w > 0}
    if len(candidates) < 2:
        return None
    return min(candidates, key=lambda v: candidates[v])


def parameters(
    scenario: Scenario, duration_factor: float, probability_factor: float
) -> list[tuple[str, str, Mutation]]:
    found: list[tuple[str, str, Mutation]] = []
    for key, proc in scenario.processes.items():
        if proc.handoff_delay is not None and proc.handoff_delay.mean > 0:

            def handoff(p: ProcessScenario) -> None:
                assert p.handoff_delay is not None
                p.handoff_delay = p.handoff_delay.scaled(duration_factor)

            found.append((key, f"hand-off delay ×{duration_factor:g}", handoff))
        for element, step in proc.steps.items():
            if any(d.mean > 0 for d in step.duration.values()):

                def durations(p: ProcessScenario, element: str = element) -> None:
                    s = p.steps[element]
                    s.duration = {c: d.scaled(duration_factor) for c, d in s.duration.items()}
                    s.again_duration = {
                        c: d.scaled(duration_factor) for c, d in s.again_duration.items()
                    }
                    s.plus_if = {
                        v: {c: d.scaled(duration_factor) for c, d in t.items()}
                        for v, t in s.plus_if.items()
                    }

                found.append((key, f"{element} duration ×{duration_factor:g}", durations))
            for field_id, by_cat in step.decisions.items():
                rare = _rare_value(by_cat)
                if rare is None:
                    continue

                def tilt(
                    p: ProcessScenario,
                    element: str = element,
                    field_id: str = field_id,
                    rare: str = rare,
                ) -> None:
                    s = p.steps[element]
                    s.decisions[field_id] = {
                        c: ch.tilted(rare, probability_factor)
                        for c, ch in s.decisions[field_id].items()
                    }

                found.append((key, f"{element} {field_id}={rare} p ×{probability_factor:g}", tilt))
    return found


def _mean_total(results: list[Any]) -> float:
    values = [r.total_wd for r in results if r.total_wd is not None]
    return statistics.fmean(values) if values else 0.0


def run(
    scenario: Scenario,
    env: Environment,
    models: dict[str, SimModel],
    *,
    applications: int = 60,
    duration_factor: float = 1.3,
    probability_factor: float = 1.5,
    workers: int | None = None,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    base = copy.deepcopy(scenario)
    base.applications = applications
    baseline = simulate(base, env, workers=workers, models=models)
    means = {k: _mean_total(o.results) for k, o in baseline.outcomes.items()}
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in scenario.processes}
    params = parameters(base, duration_factor, probability_factor)
    for i, (key, label, mutate) in enumerate(params, start=1):
        variant = copy.deepcopy(base)
        variant.processes = {key: variant.processes[key]}
        mutate(variant.processes[key])
        result = simulate(variant, env, workers=workers, models={key: models[key]})
        mean = _mean_total(result.outcomes[key].results)
        rows[key].append({"parameter": label, "mean_wd": mean, "delta_wd": mean - means[key]})
        if progress is not None:
            progress.write(f"\rsensitivity {i}/{len(params)}")
            progress.flush()
    if progress is not None:
        progress.write("\n")
    for key in rows:
        rows[key].sort(key=lambda r: abs(r["delta_wd"]), reverse=True)
    return {
        "applications": applications,
        "duration_factor": duration_factor,
        "probability_factor": probability_factor,
        "baseline_mean_wd": means,
        "processes": rows,
    }
