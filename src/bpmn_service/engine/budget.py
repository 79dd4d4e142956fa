"""How much one engine run may do: a number of engine steps and a wall-clock time.

Every ProcessRunner call that advances an instance (a start, a completion, a message, a timer,
a worker's answer) runs its engine steps under a `RunBudget`. A case that loops without waiting
(a zero-period timer cycle, a gateway loop whose condition never changes) exceeds it and the run
stops with `BudgetExceeded` naming the element it spent most of its steps on; the caller rolls the
run back (nothing is stored) and the scheduler records an incident instead of firing the timer
again, so one case never holds a server process, a database lock or the timer poller.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from bpmn_service.errors import WorkflowFailed

DEFAULT_MAX_STEPS = 10_000
# Compaction (compaction.py) keeps loops from growing the task tree; an instance that grows this
# large anyway (a cycle timer that fired thousands of times) is refused rather than stored, and a
# multi-instance that would create more instances than this is refused before it creates any
# (multi_instance.py).
MAX_TASKS = 20_000
DEFAULT_MAX_SECONDS = 10.0
DEFAULT_MAX_VARIABLES_BYTES = 4 * 1024 * 1024
STATE_FACTOR = 4
# A run whose busiest element ran more often than this is taken for a loop in its message.
LOOP_REPEATS = 2


class BudgetExceeded(WorkflowFailed):
    """An engine run did more steps or took longer than its budget; nothing was saved."""

    code = "run_budget_exceeded"

    def __init__(self, message: str, element: str | None, limit: str) -> None:
        super().__init__(message, details={"element": element, "limit": limit})
        self.element = element
        self.limit = limit


class VariablesTooLarge(BudgetExceeded):
    """A run left the case's variables (or its stored state) larger than a case may store;
    nothing was saved."""

    code = "variables_too_large"

    def __init__(
        self, message: str, element: str | None, biggest: list[dict[str, Any]], limit: int
    ) -> None:
        super().__init__(message, element, "variables_bytes")
        self.details = {**(self.details or {}), "max_bytes": limit, "variables": biggest}


@dataclass(frozen=True, slots=True)
class RunBudget:
    max_steps: int = DEFAULT_MAX_STEPS
    max_seconds: float = DEFAULT_MAX_SECONDS
    # The most a case's variables may take as JSON (the stored state, which holds them with
    # the engine's bookkeeping of the open tasks, at most STATE_FACTOR times as much).
    max_variables_bytes: int = DEFAULT_MAX_VARIABLES_BYTES

    def start(self) -> RunMeter:
        return RunMeter(self)


class RunMeter:
    """Counts the engine steps of one run; `step` is SpiffWorkflow's `will_complete_task` hook."""

    def __init__(self, budget: RunBudget) -> None:
        self.budget = budget
        self.steps = 0
        self.started = time.monotonic()
        self.current: Any = None
        self._elements: Counter[str] = Counter()

    def step(self, task: Any) -> None:
        self.steps += 1
        self.current = task
        element = element_of(task)
        if element:
            self._elements[element] += 1
        if self.steps > self.budget.max_steps:
            self._exceeded(f"more than {self.budget.max_steps} engine steps", "steps")
        if time.monotonic() - self.started > self.budget.max_seconds:
            self._exceeded(f"longer than {self.budget.max_seconds:g} s", "seconds")

    def check_time(self) -> None:
        """Between steps that SpiffWorkflow does not report (timer refreshes)."""
        if time.monotonic() - self.started > self.budget.max_seconds:
            self._exceeded(f"longer than {self.budget.max_seconds:g} s", "seconds")

    def busiest(self) -> str | None:
        """The element this run ran most often (the loop's), else the one it ran last."""
        if self._elements:
            return self._elements.most_common(1)[0][0]
        return element_of(self.current)

    def _exceeded(self, what: str, limit: str) -> None:
        repeated = self._elements.most_common(1)[0][1] if self._elements else 0
        if repeated > LOOP_REPEATS:
            element = self.busiest()
            where = f" (most steps at element {element})" if element else ""
            raise BudgetExceeded(
                f"the engine run took {what} without reaching a wait state{where}; it was rolled "
                f"back. A loop that never waits (a timer cycle, a gateway loop) is the usual "
                f"cause",
                element,
                limit,
            )
        # No element ran again and again: no loop, but more steps than a run may take (or steps
        # that each take long: many parallel branches, a long chain of automatic steps).
        element = element_of(self.current)
        last = f", the last at element {element}" if element else ""
        ran = "ran twice" if repeated <= 1 else f"ran more than {repeated} times"
        raise BudgetExceeded(
            f"the engine run took {what} without reaching a wait state, after {self.steps} "
            f"steps at {len(self._elements)} elements{last}; it was rolled back. No element "
            f"{ran}, so this is no loop: the model has more steps to run at once than one run "
            f"may take (many parallel branches, a long chain of automatic steps). Split the "
            f"work, or let it wait between parts (a user or external task, a timer)",
            element,
            limit,
        )


def element_of(task: Any) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or None


# The limit of the run under way (ProcessRunner._advance sets it from its RunBudget).
_variables_limit: ContextVar[int] = ContextVar(
    "max_variables_bytes", default=DEFAULT_MAX_VARIABLES_BYTES
)


@contextmanager
def variables_limit(limit: int) -> Iterator[None]:
    token = _variables_limit.set(limit)
    try:
        yield
    finally:
        _variables_limit.reset(token)


def json_bytes(value: Any) -> int:
    """The size of `value` as JSON (UTF-8)."""
    if isinstance(value, str):
        return len(value) + 2 if value.isascii() else len(value.encode()) + 2
    try:
        return len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    except (TypeError, orjson.JSONEncodeError):
        return len(json.dumps(value, default=str).encode())


def check_assigned(task: Any, names: Iterable[str]) -> None:
    """At a script's end: the values it assigned (each distinct value measured once, however
    many names hold it) must fit the run's limit together, or VariablesTooLarge names the script
    and its biggest variables before the run goes on to store them (the run's end checks the
    case's variables in all, ProcessRunner._check_size)."""
    limit = _variables_limit.get()
    sizes: dict[int, int] = {}
    measured: list[tuple[int, str]] = []
    total = 0
    for name in dict.fromkeys(names):
        value = task.data.get(name)
        size = sizes.get(id(value))
        if size is None:
            size = sizes[id(value)] = json_bytes(value)
        measured.append((size, name))
        total += size
        if total > limit:
            element = element_of(task)
            raise variables_too_large(
                f"the script's values would take at least {total:,} bytes as JSON",
                element,
                measured,
                limit,
            )


def variables_too_large(
    what: str, element: str | None, sizes: list[tuple[int, str]], limit: int, *, factor: int = 1
) -> VariablesTooLarge:
    biggest = [{"name": name, "bytes": size} for size, name in sorted(sizes, reverse=True)[:5]]
    where = f" at element {element}" if element else ""
    named = ", ".join(f"{v['name']} ({v['bytes']:,} bytes)" for v in biggest)
    setting = "BPMN_MAX_VARIABLES_BYTES" + (f" × {factor}" if factor != 1 else "")
    return VariablesTooLarge(
        f"the process could not advance{where}: {what}, more than the {limit:,} a case may "
        f"store ({setting}); the biggest variables: {named}. The run was rolled back: keep "
        f"large documents outside the case and store a reference to them",
        element,
        biggest,
        limit,
    )
