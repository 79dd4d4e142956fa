"""Deploy-time checks of the time limits a process declares (engine/declared_limits.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bpmn_service.engine.declared_limits import CODE, closest, read_declarations
from bpmn_service.errors import BpmnProblem
from bpmn_service.timelimits import TimeLimits


def declaration_problems(
    limits: TimeLimits | None, content: bytes, key: str, filename: str, at: date | None = None
) -> list[BpmnProblem]:
    """Malformed declarations, and every property naming a row that the process's limit table
    lacks (in the version in force on ``at``, default today), at its own line with the row it
    most likely means: a typo would otherwise run no clock at all. Without a table (a check
    outside a project) only the declarations themselves are checked."""
    found = read_declarations(content, key, filename)
    problems = list(found.problems)
    if not found.uses or limits is None:
        return problems
    try:
        regime = limits.regime_of(key, at)
    except ValueError as exc:
        first = found.uses[0]
        problems.append(
            BpmnProblem(
                f"the process declares time limits but has no limit table: {exc}",
                filename,
                first.line,
                first.element,
                CODE,
                "map the process to a regime under [processes] in the time-limits file",
            )
        )
        return problems
    rows = list(regime.limits)
    for limit_id, plain in found.unguessed.items():
        # A row the table has is no misspelling of another limit: its missing start or stop is
        # all there is to say (the guess is for a check without the table).
        if limit_id in regime.limits and found.incomplete[limit_id] in problems:
            problems[problems.index(found.incomplete[limit_id])] = plain
    for use in found.uses:
        if use.limit_id in regime.limits:
            continue
        meant = closest(use.limit_id, rows)
        # Its own "no start" or "no stop" follows from the typo: said here instead.
        incomplete = found.incomplete.get(use.limit_id)
        if incomplete in problems:
            problems.remove(incomplete)
        if meant is not None and found.incomplete.get(meant) in problems:
            at_meant = problems.index(found.incomplete[meant])
            problems[at_meant] = replace(
                problems[at_meant],
                message=f"{problems[at_meant].message}; timeLimit.{use.role} = "
                f"{use.limit_id!r} on {use.element} (line {use.line}) may be meant for it",
            )
        problems.append(
            BpmnProblem(
                f"timeLimit.{use.role} = {use.limit_id!r}: {use.limit_id} is not a row of "
                f"{regime.label} in the time-limits file"
                + (f"; did you mean {meant}?" if meant else "")
                + f" (its rows: {', '.join(rows)})",
                filename,
                use.line,
                use.element,
                CODE,
                (f"write {meant}" if meant else "write one of its rows")
                + " in the element's Extension properties (Camunda Modeler), or add the row "
                + f"{use.limit_id} to {regime.label} in the time-limits file",
            )
        )
    return problems
