"""What-if before deploy: the scenario's applications run through the deployed version of a
process and through a candidate (a draft BPMN file of the same process), and the two are put side
by side: working days, procedures, hall visits, hand-offs and time-limit compliance per customer
category, and per element where the time moved.

Both runs draw the same applications (same seed, same count), so the difference comes from the
models, not from the draw. Elements of the candidate that the scenario gives no duration take no
time; the comparison lists them, since a new task would otherwise look free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .figures import summarize
from .runner import Environment, Simulation, load_models, simulate
from .scenario import Scenario

SIDES = ("deployed", "candidate")
# The per-category figures a comparison shows, as (name, figure, statistic).
FIGURES = (
    ("total_wd_p50", "total_wd", "p50"),
    ("total_wd_p90", "total_wd", "p90"),
    ("utility_wd_p50", "utility_wd", "p50"),
    ("procedures_mean", "procedures", "mean"),
    ("hall_visits_mean", "hall_visits", "mean"),
    ("handoffs_mean", "handoffs", "mean"),
)


def compare(
    scenario: Scenario,
    env: Environment,
    key: str,
    deployed: Path,
    candidate: Path,
    *,
    applications: int,
    workers: int | None = 1,
    on_progress: Callable[[int, int], None] | None = None,
    deployed_label: str | None = None,
    candidate_label: str | None = None,
) -> dict[str, Any]:
    """Simulate ``applications`` applications on both files of process ``key``.

    Raises ValueError (a ScenarioError among them) when the scenario does not cover ``key`` or
    names a step either side does not have, or when a file is not a valid model of ``key``.
    ``deployed_label`` names the deployed side ("the deployed version 3 of k"),
    ``candidate_label`` the draft (its file name), so that such an error names the side at
    fault."""
    if key not in scenario.processes:
        covered = ", ".join(sorted(scenario.processes)) or "none"
        raise ValueError(
            f"the simulation scenario {scenario.source} has no process {key!r} (it covers: "
            f"{covered})"
        )
    source = scenario.source
    sides = {
        "deployed": (
            deployed,
            deployed_label or f"the deployed version of {key}",
            "it was renamed or removed when that version was deployed, so the scenario no "
            "longer matches the deployed process, whatever the draft: rename the entry to the "
            f"element's new id in {source}, or remove it",
        ),
        "candidate": (
            candidate,
            f"the draft {candidate_label or candidate.name}",
            "the scenario names the deployed version's steps, and both sides must have them: "
            "keep the id in the draft (change the step's name, not its id), or deploy the draft "
            f"first and then rename the entry in {source}",
        ),
    }
    scenarios = {
        side: replace(
            scenario,
            applications=applications,
            processes={
                key: replace(
                    scenario.processes[key], file=path, origin=origin, missing_advice=advice
                )
            },
        )
        for side, (path, origin, advice) in sides.items()
    }
    # Both models are checked before either runs, so a broken draft fails at once.
    models = {side: load_models(sc, env) for side, sc in scenarios.items()}
    runs: dict[str, Simulation] = {}
    for number, side in enumerate(SIDES):

        def report(done: int, _total: int, offset: int = number * applications) -> None:
            if on_progress is not None:
                on_progress(offset + done, 2 * applications)

        runs[side] = simulate(
            scenarios[side], env, workers=workers, models=models[side], on_progress=report
        )
    return side_by_side(key, runs, applications, scenario)


def side_by_side(
    key: str, runs: dict[str, Simulation], applications: int, scenario: Scenario
) -> dict[str, Any]:
    summaries = {side: summarize(sim)[key] for side, sim in runs.items()}
    categories: dict[str, Any] = {}
    for category in sorted({c for s in summaries.values() for c in s}):
        entry: dict[str, Any] = {}
        for side in SIDES:
            figures = summaries[side].get(category)
            entry[side] = _figures(figures) if figures else None
        categories[category] = entry
    return {
        "key": key,
        "applications": applications,
        "seed": scenario.seed,
        "scenario": scenario.source,
        "categories": categories,
        "elements": _elements(runs),
        "failed": {side: _failed(sim, key) for side, sim in runs.items()},
        "steps_without_duration": {
            side: sorted(sim.outcomes[key].missing_steps) for side, sim in runs.items()
        },
        "seconds": round(sum(sim.elapsed_seconds for sim in runs.values()), 1),
    }


def _figures(figures: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "applications": figures["applications"],
        "completed": figures["completed"],
    }
    for name, figure, statistic in FIGURES:
        out[name] = figures[figure][statistic]
    out["time_limits"] = {
        limit_id: {"limit_wd": entry["limit_wd"], "share_met": entry["share_met"]}
        for limit_id, entry in sorted(figures["time_limits"].items())
    }
    return out


def _elements(runs: dict[str, Simulation]) -> list[dict[str, Any]]:
    """Mean working days per completed application spent at each element, both sides."""
    means: dict[str, dict[str, float]] = {}
    names: dict[str, str] = {}
    for side, sim in runs.items():
        for outcome in sim.outcomes.values():
            done = [r for r in outcome.results if r.total_wd is not None]
            spent: Counter[str] = Counter()
            for r in done:
                spent.update(r.step_wd)
            means[side] = {element: wd / len(done) for element, wd in spent.items()} if done else {}
        for model in sim.models.values():
            names.update({element_id: e.name for element_id, e in model.elements.items()})
    deltas = []
    for element in set(means["deployed"]) | set(means["candidate"]):
        before = means["deployed"].get(element)
        after = means["candidate"].get(element)
        deltas.append(((after or 0.0) - (before or 0.0), element, before, after))
    deltas.sort(key=lambda d: (-abs(d[0]), d[1]))
    return [
        {
            "element_id": element,
            "name": names.get(element) or element,
            "deployed_wd": before,
            "candidate_wd": after,
            "delta_wd": delta,
        }
        for delta, element, before, after in deltas
    ]


def _failed(sim: Simulation, key: str) -> int:
    return sum(1 for r in sim.outcomes[key].results if r.status == "failed")
