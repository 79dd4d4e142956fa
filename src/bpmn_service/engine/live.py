"""Live, in-memory instances for simulation: the real engine and models, no database.

The service stores an instance's state after every step; a simulation of thousands of applications
does not need that and runs far faster keeping each SpiffWorkflow instance in memory. Everything
else is what the service does: the same spec (restored from the deployed spec JSON), the same safe
expression language, forms and assignment rules, the same multi-instance output handling, and the
engine clock set to the simulation's virtual time on every call.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, SafeUUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import clock
from .expressions import ExpressionError
from .instance_view import (
    FULL_DEPTH,
    completed_among,
    external_view,
    is_external,
    open_waits,
    ready_view,
    variables_of,
)
from .serialization import spec_from_json
from .stepping import deliver_message, set_output_item, workflow_failed
from .views import ExternalWork, MessageWait, ReadyTask
from .workflow import ServiceWorkflow

_VERSION_4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4_SET = (4 << 76) | (0x8000 << 48)


class LiveWorkflow(ServiceWorkflow):
    """A live instance's workflow: new tasks get their random (version 4) ids from a generator
    seeded once from the OS.

    SpiffWorkflow asks the OS for 16 random bytes per task, a system call that cost about 7 % of a
    simulation profile. Task ids of live instances are never stored or shown, so a Mersenne
    Twister seeded from `os.urandom` does as well; the service's own instances keep `uuid4`."""

    def __init__(self, spec: Any, subprocess_specs: Any = None) -> None:
        self._bits = random.Random(os.urandom(32)).getrandbits
        super().__init__(spec, subprocess_specs)

    def new_task_id(self) -> UUID:
        uid = _new(UUID)
        _assign(uid, "int", (self._bits(128) & _VERSION_4_CLEAR) | _VERSION_4_SET)
        _assign(uid, "is_safe", SafeUUID.unknown)
        return uid


_new = object.__new__
_assign = object.__setattr__


@dataclass
class LiveView:
    """What a live instance waits for after a step."""

    ready: list[ReadyTask] = field(default_factory=list)
    external: list[ExternalWork] = field(default_factory=list)
    waits: list[MessageWait] = field(default_factory=list)
    next_timer_at: datetime | None = None
    completed: bool = False
    # The watched elements (LiveProcess) that completed in the step, in order: the service's
    # RunResult.finished, narrowed to the elements on which declared time limits start and stop.
    finished: list[str] = field(default_factory=list)


class LiveProcess:
    """One deployed process version, parsed once, from which live instances are started; each
    view of its instances lists which of the ``watched`` elements completed in the step."""

    def __init__(self, spec_json: str, watched: frozenset[str] = frozenset()) -> None:
        self.spec, self.subprocess_specs = spec_from_json(spec_json)
        self.watched = watched

    def start(
        self, variables: Mapping[str, Any], *, now: datetime
    ) -> tuple[LiveInstance, LiveView]:
        with clock.frozen_at(now):
            since = time.time()
            workflow = LiveWorkflow(self.spec, self.subprocess_specs)
            ready = workflow.get_tasks(state=TaskState.READY)
            (ready[0] if ready else workflow.task_tree).data.update(variables)
            instance = LiveInstance(self, workflow)
            return instance, instance.advance(since)


class LiveInstance:
    def __init__(self, process: LiveProcess, workflow: Any) -> None:
        self.process = process
        self.workflow = workflow

    def advance(self, since: float) -> LiveView:
        """Run the engine steps; the view lists what completed since ``since`` (time.time())."""
        try:
            self.workflow.do_engine_steps()
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise workflow_failed(exc) from None
        # Read before compaction drops them.
        finished = completed_among(self.workflow, since, self.process.watched)
        self.workflow.compact()  # a live instance that loops stays as small as a stored one
        view = self.view()
        view.finished = finished
        return view

    def view(self) -> LiveView:
        manual = self.workflow.get_tasks(state=TaskState.READY, manual=True, max_depth=FULL_DEPTH)
        waits, next_timer = open_waits(self.workflow)
        completed = self.workflow.is_completed() and not manual
        return LiveView(
            ready=[ready_view(t) for t in manual if not is_external(t)],
            external=[external_view(t) for t in manual if is_external(t)],
            waits=[] if completed else waits,
            next_timer_at=None if completed else next_timer,
            completed=completed,
        )

    def complete(
        self, task_id: str, values: Mapping[str, Any], *, actor: str, now: datetime
    ) -> LiveView:
        with clock.frozen_at(now):
            since = time.time()
            task = self.workflow.get_task_from_id(UUID(task_id))
            task.data.update(values)
            set_output_item(task, values, actor, now)
            try:
                task.run()
            except (SpiffWorkflowException, ExpressionError) as exc:
                raise workflow_failed(exc) from None
            return self.advance(since)

    def deliver(self, name: str, payload: Mapping[str, Any], *, now: datetime) -> LiveView:
        with clock.frozen_at(now):
            since = time.time()
            deliver_message(self.workflow, name, dict(payload))
            return self.advance(since)

    def fire_timers(self, *, now: datetime) -> LiveView:
        with clock.frozen_at(now):
            since = time.time()
            self.workflow.refresh_timers()
            return self.advance(since)

    def variables(self) -> dict[str, Any]:
        return variables_of(self.workflow, self.workflow.is_completed())

    def close(self) -> None:
        """Take the instance apart: its tasks and workflows point at each other, so dropping it
        would leave the whole graph to the cycle collector; thousands of finished instances
        then pile up in memory until a full collection. Unusable afterwards."""
        workflow = self.workflow
        for sub in (*workflow.subprocesses.values(), workflow):
            for task in list(sub.tasks.values()):
                task.__dict__.clear()
            sub.__dict__.clear()
        self.workflow = None
