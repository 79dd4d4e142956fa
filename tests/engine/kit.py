"""Driving tiny BPMN files through the engine facade (ProcessRunner), with no HTTP or database.

Every step is checked the way the service relies on it: the state the facade returns is loaded
again and must dump to the same text, and reading the loaded state (`inspect`) must show what the
step reported (ready tasks, waits, timers, completion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)

from bpmn_service.engine import ProcessRunner, RunResult, SpecCache, compile_bpmn
from bpmn_service.engine.repair import Instruction
from bpmn_service.engine.serialization import (
    SERIALIZER,
    StateOnlyWorkflowConverter,
    dump_state,
    load_state,
    make_serializer,
    spec_from_json,
)
from bpmn_service.engine.warm import plain

BPMN = Path(__file__).resolve().parent / "bpmn"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _UpstreamTasks(StateOnlyWorkflowConverter):
    def workflow_dict(self, workflow: Any) -> dict[str, Any]:
        return WorkflowConverter.to_dict(self, workflow)  # type: ignore[no-any-return]


# The service's serializer with SpiffWorkflow's own converters for workflows' tasks: the
# service's faster ones (serialization._task_to_dict) must write the very same text.
UPSTREAM = make_serializer(_UpstreamTasks, BpmnSubWorkflowConverter, TaskConverter)


def upstream_text(workflow: Any) -> str:
    """The text SpiffWorkflow's converters write, by the same writer the service's uses."""
    return UPSTREAM.stored_text(workflow, plain=plain(workflow))


def compiled(name: str) -> str:
    """The spec JSON of tests/engine/bpmn/<name>.bpmn, as a deployment stores it."""
    path = BPMN / f"{name}.bpmn"
    return compile_bpmn(path.read_bytes(), path.name, lambda _key, _lane: True).spec_json


def _shown(result: RunResult) -> tuple[Any, ...]:
    return (
        result.completed,
        sorted((t.element_id, t.id) for t in result.ready_tasks),
        sorted((t.element_id, t.id) for t in result.external_tasks),
        sorted((w.element_id, w.message_name) for w in result.waits),
        result.next_timer_at,
        result.variables,
    )


@dataclass
class Case:
    """One instance of one tiny process, driven step by step."""

    name: str
    now: datetime = T0
    runner: ProcessRunner = field(default_factory=lambda: ProcessRunner(SpecCache()))
    result: RunResult | None = None
    steps: int = 0

    def __post_init__(self) -> None:
        self.spec_json = compiled(self.name)

    def load(self) -> str:
        return self.spec_json

    @property
    def state(self) -> str:
        assert self.result is not None
        return self.result.state

    def _checked(self, result: RunResult) -> RunResult:
        spec, subs = spec_from_json(self.spec_json)
        loaded = load_state(result.state, spec, subs)
        # A stored text is what its workflow writes again once loaded, byte for byte; or, where
        # loading turned a value into JSON's (a tuple into a list), what SpiffWorkflow's writer
        # writes for it (serialization.StateSerializer.stored_text).
        text = dump_state(loaded)
        assert text == result.state or SERIALIZER.stored_text(loaded, plain=False) == result.state
        assert upstream_text(loaded) == text
        again = self.runner.inspect(self.name, self.load, result.state)
        assert _shown(again) == _shown(result)
        self.result = result
        self.steps += 1
        return result

    def start(self, **variables: Any) -> RunResult:
        return self._checked(self.runner.start(self.name, self.load, variables, now=self.now))

    def ready(self, element_id: str) -> Any:
        assert self.result is not None
        found = [t for t in self.result.ready_tasks if t.element_id == element_id]
        assert len(found) == 1, [t.element_id for t in self.result.ready_tasks]
        return found[0]

    def complete(self, element_id: str, actor: str = "tester", **values: Any) -> RunResult:
        task = self.ready(element_id)
        return self._checked(
            self.runner.complete(
                self.name, self.load, self.state, task.id, values, actor, now=self.now
            )
        )

    def complete_instance(self, element_id: str, actor: str = "tester", **values: Any) -> RunResult:
        """Complete the first open instance of a multi-instance task."""
        assert self.result is not None
        task = next(t for t in self.result.ready_tasks if t.element_id == element_id)
        return self._checked(
            self.runner.complete(
                self.name, self.load, self.state, task.id, values, actor, now=self.now
            )
        )

    def deliver(self, message: str, **payload: Any) -> RunResult:
        return self._checked(
            self.runner.deliver_message(
                self.name, self.load, self.state, message, payload, now=self.now
            )
        )

    def wait(self, **delta: float) -> RunResult:
        self.now += timedelta(**delta)
        return self._checked(
            self.runner.fire_timers(self.name, self.load, self.state, now=self.now)
        )

    def modify(self, *instructions: tuple[str, str]) -> RunResult:
        """A supervisor's modification: (type, element id) pairs, applied in order."""
        steps = [Instruction(kind, element) for kind, element in instructions]
        return self._checked(
            self.runner.modify(self.name, self.load, self.state, steps, now=self.now)
        )

    def migrate(self, target: str, mapping: dict[str, str] | None = None) -> Any:
        """Migrate to tests/engine/bpmn/<target>.bpmn; the plan. The case goes on on the target
        when the plan is ok (and stays where it was otherwise)."""
        spec_json = compiled(target)
        found, result = self.runner.migrate(
            (self.name, self.load),
            (target, lambda: spec_json),
            self.state,
            mapping or {},
            now=self.now,
            dry_run=False,
        )
        if result is not None:
            self.name, self.spec_json = target, spec_json
            self._checked(result)
        return found

    def plan(self, target: str, mapping: dict[str, str] | None = None) -> Any:
        """A dry run of migrating to tests/engine/bpmn/<target>.bpmn."""
        spec_json = compiled(target)
        found, _ = self.runner.migrate(
            (self.name, self.load),
            (target, lambda: spec_json),
            self.state,
            mapping or {},
            now=self.now,
            dry_run=True,
        )
        return found

    @property
    def open_elements(self) -> list[str]:
        assert self.result is not None
        return sorted(t.element_id for t in self.result.ready_tasks)
