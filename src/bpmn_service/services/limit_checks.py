"""Deploy-time checks of the time limits a process declares (engine/declared_limits.py)."""

from __future__ import annotations

from datetime import date

from bpmn_service.engine.declared_limits import read_declarations
from bpmn_service.errors import BpmnProblem
from bpmn_service.timelimits import TimeLimits


def declaration_problems(
    limits: TimeLimits, content: bytes, key: str, filename: str, at: date | None = None
) -> list[BpmnProblem]:
    """Malformed declarations, and limits that name no row of the process's limit table (in the
    version in force on ``at``, default today): a typo would otherwise run no clock at all."""
    found = read_declarations(content, key, filename)
    problems = list(found.problems)
    if not found.limits:
        return problems
    first = next(iter(found.limits.values()))
    try:
        regime = limits.regime_of(key, at)
    except ValueError as exc:
        problems.append(
            BpmnProblem(
                f"the process declares time limits but has no limit table: {exc} "
                f"(map it to a regime under [processes] in the time-limits file)",
                filename,
                first.line,
                first.starts[0],
            )
        )
        return problems
    for limit_id, declared in found.limits.items():
        if limit_id not in regime.limits:
            problems.append(
                BpmnProblem(
                    f"time limit {limit_id} is not a row of {regime.label} in the time-limits "
                    f"file; its rows are {', '.join(regime.limits)}",
                    filename,
                    declared.line,
                    declared.starts[0],
                )
            )
    return problems
