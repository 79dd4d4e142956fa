"""A deployment that renames or removes an element the simulation scenario times (a step or the
lead-time end in config/simulation.toml) deploys all the same, but every what-if simulation of
that process fails until the scenario is updated: the deployment says so while the analyst is
still at it, naming the scenario's entry at its line."""

from __future__ import annotations

from pathlib import Path

from bpmn_service.engine import CompiledProcess
from bpmn_service.errors import BpmnProblem
from bpmn_service.scenario_steps import close_match, step_entries

CODE = "simulation.unknown-step"


def unknown_steps(scenario: Path, process: CompiledProcess, filename: str) -> list[BpmnProblem]:
    """A warning for each element id the scenario names for ``process`` that it does not have."""
    try:
        text = scenario.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # no scenario here (or an unreadable one, which the simulation reports)
    entries = step_entries(text, process.key)
    if not entries:
        return []
    ids = process.element_ids()
    # An id another entry already names is not what a renamed step became: renaming the entry
    # to it would make a second table of the same step.
    unnamed = ids - {entry.element for entry in entries}
    warnings = []
    for entry in entries:
        if entry.element in ids:
            continue
        meant = close_match(entry.element, unnamed)
        rename = f"to {meant!r}, the id most like it," if meant else "to the element's new id"
        warnings.append(
            BpmnProblem(
                f"{entry.entry} of the simulation scenario names {entry.element!r}, which "
                f"this version of {process.key} ({filename}) does not have (renamed or removed): "
                f"what-if simulations of {process.key} fail until the entry matches",
                str(scenario),
                entry.line,
                entry.element,
                CODE,
                f"rename the entry {rename} or remove it, in {scenario}",
                "warning",
            )
        )
    return warnings
