"""ProcessRunner: the typed facade over SpiffWorkflow that the services call.

Every call is load → act → run engine steps → dump; nothing here touches the database. The caller
stores the returned state in the same transaction as the task projection, so a failure anywhere
leaves the stored instance as it was. How an instance is read after a step is instance_view.py's
job, and what an action means for the workflow is stepping.py's; this module loads, acts through
them and dumps.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from bpmn_service.errors import Invalid, InvalidState, NotFound, ServiceError, WorkflowFailed

from . import clock, declared_types, forms, local_variables, migration, repair
from .activities import ActivityNode, activity_tree
from .bounded_eval import evaluation_deadline
from .bpmn_errors import catch_error
from .budget import (
    MAX_TASKS,
    STATE_FACTOR,
    BudgetExceeded,
    RunBudget,
    RunMeter,
    element_of,
    json_bytes,
    variables_limit,
    variables_too_large,
)
from .deep_stack import call_deep
from .expressions import ExpressionError
from .instance_view import (
    FULL_DEPTH,
    completed_since,
    completed_tasks,
    external_view,
    is_external,
    open_waits,
    ready_view,
    thrown_since,
    variables_of,
)
from .serialization import dump_state, load_state, spec_from_json
from .stepping import deliver_message, set_output_item, workflow_failed
from .views import RunResult
from .warm import WarmWorkflows, plain
from .workflow import ServiceWorkflow


class ErrorNotCaught(Invalid):
    """A worker's BPMN error that nothing around its task catches (see bpmn_errors.py)."""

    code = "error_not_caught"


SpecLoader = Callable[[], str]
Derived = TypeVar("Derived")


class SpecCache:
    """Parsed specs per process-definition id; specs are immutable once deployed."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._labels: dict[str, forms.ValueLabels] = {}
        self._locals: dict[str, dict[str, frozenset[str]]] = {}
        self._properties: dict[str, dict[str, dict[str, str]]] = {}
        self._dates: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def size(self, definition_id: str, load: SpecLoader) -> int:
        """How many task specs the process and its subprocesses have."""
        spec, subs = self.get(definition_id, load)
        return sum(len(process.task_specs) for process in (spec, *subs.values()))

    def get(self, definition_id: str, load: SpecLoader) -> tuple[Any, dict[str, Any]]:
        """The restored spec; `load` is only called (to read the spec JSON) on a miss."""
        with self._lock:
            if definition_id in self._items:
                self._items.move_to_end(definition_id)
                return self._items[definition_id]
        specs = spec_from_json(load())
        with self._lock:
            self._items[definition_id] = specs
            if len(self._items) > self._size:
                evicted, _ = self._items.popitem(last=False)
                self._labels.pop(evicted, None)
                self._locals.pop(evicted, None)
                self._properties.pop(evicted, None)
                self._dates.pop(evicted, None)
        return specs

    def value_labels(self, definition_id: str, load: SpecLoader) -> forms.ValueLabels:
        """forms.value_labels of every form of the version (a task page asks for them and the
        walk visits every task spec)."""
        return self._derived(
            self._labels,
            definition_id,
            load,
            lambda spec, subs: forms.value_labels(
                ts.extensions.get("formFields", [])
                for ts in task_specs(spec, subs)
                if isinstance(getattr(ts, "extensions", None), dict)
            ),
        )

    def local_names(self, definition_id: str, load: SpecLoader) -> dict[str, frozenset[str]]:
        """local_variables.local_names of the version (every fetch of external tasks asks)."""
        return self._derived(
            self._locals,
            definition_id,
            load,
            lambda spec, subs: local_variables.local_names((spec, *subs.values())),
        )

    def element_properties(self, definition_id: str, load: SpecLoader) -> dict[str, dict[str, str]]:
        """camunda:properties of every task element of the version, by element id (a fetch of
        external tasks with includeExtensionProperties asks; read-only, shared)."""
        return self._derived(
            self._properties,
            definition_id,
            load,
            lambda spec, subs: {
                ts.bpmn_id: dict(ts.extensions.get("properties", {}))
                for ts in task_specs(spec, subs)
                if getattr(ts, "bpmn_id", None) and getattr(ts, "extensions", None)
            },
        )

    def date_variables(self, definition_id: str, load: SpecLoader) -> frozenset[str]:
        """The variables the version declares dates: those a `date` form field of any of its
        start or task forms names (every variables answer of /engine-rest asks)."""
        return self._derived(
            self._dates,
            definition_id,
            load,
            lambda spec, subs: declared_types.date_names(
                declared_types.declarations(task_specs(spec, subs))
            ),
        )

    def _derived(
        self,
        store: dict[str, Derived],
        definition_id: str,
        load: SpecLoader,
        compute: Callable[[Any, dict[str, Any]], Derived],
    ) -> Derived:
        """What `compute` derives from a version's specs, worked out once per version and
        dropped with the specs when they are evicted."""
        with self._lock:
            known = store.get(definition_id)
        if known is not None:
            return known
        spec, subs = self.get(definition_id, load)
        value = compute(spec, subs)
        with self._lock:
            if definition_id in self._items:
                store[definition_id] = value
        return value


def task_specs(spec: Any, subs: dict[str, Any]) -> Iterator[Any]:
    """Every task spec of a version: its process's and its subprocesses'."""
    for process in (spec, *subs.values()):
        yield from process.task_specs.values()


def _room_for_long_models(method: Callable[..., RunResult]) -> Callable[..., RunResult]:
    """SpiffWorkflow recurses along a process's flows (predicting tasks, loading and dumping
    states): a run of a model with many elements gets room for that (deep_stack.py)."""

    @functools.wraps(method)
    def run(
        self: ProcessRunner, definition_id: str, load: SpecLoader, *args: Any, **kw: Any
    ) -> Any:
        size = self.cache.size(definition_id, load)
        return call_deep(size, lambda: method(self, definition_id, load, *args, **kw))

    return run


class ProcessRunner:
    def __init__(
        self,
        cache: SpecCache | None = None,
        budget: RunBudget | None = None,
        warm: WarmWorkflows | None = None,
    ) -> None:
        self.cache = cache or SpecCache()
        self.budget = budget or RunBudget()
        # None: every call loads its state (the engine tests restore at every step on purpose).
        self.warm = warm if warm is not None else WarmWorkflows(0)

    def task_form(
        self, definition_id: str, load: SpecLoader, spec_name: str
    ) -> list[forms.FormField]:
        """The form of a task spec, read from the cached spec (no workflow is loaded)."""
        spec, subs = self.cache.get(definition_id, load)
        task_spec = _find_spec(spec, subs, spec_name)
        if task_spec is None:
            return []
        return [forms.FormField.from_dict(f) for f in task_spec.extensions.get("formFields", [])]

    def value_labels(self, definition_id: str, load: SpecLoader) -> forms.ValueLabels:
        """The labels the process version's enum form fields give their values (forms.py)."""
        return self.cache.value_labels(definition_id, load)

    def declared_types(
        self, definition_id: str, load: SpecLoader
    ) -> dict[str, list[declared_types.Declaration]]:
        """The form fields of every start event and task of a process version, by field id."""
        spec, subs = self.cache.get(definition_id, load)
        return declared_types.declarations(task_specs(spec, subs))

    def date_variables(self, definition_id: str, load: SpecLoader) -> frozenset[str]:
        """The variables a date form field of the version names (cached per version)."""
        return self.cache.date_variables(definition_id, load)

    def local_names(self, definition_id: str, load: SpecLoader) -> dict[str, frozenset[str]]:
        """Per element id, the variables a token of it holds for itself (a multi-instance's
        item, local_variables.py)."""
        return self.cache.local_names(definition_id, load)

    def computed_candidates(self, definition_id: str, load: SpecLoader) -> frozenset[str]:
        """The elements whose candidate groups or users are expressions (`${...}`), evaluated
        against the case's variables when a task is created."""
        spec, subs = self.cache.get(definition_id, load)
        return frozenset(
            ts.bpmn_id
            for ts in task_specs(spec, subs)
            if getattr(ts, "bpmn_id", None)
            and isinstance(getattr(ts, "extensions", None), dict)
            and any(
                "${" in str(ts.extensions.get(k) or "") or "#{" in str(ts.extensions.get(k) or "")
                for k in ("candidateGroups", "candidateUsers")
            )
        )

    def element_properties(self, definition_id: str, load: SpecLoader) -> dict[str, dict[str, str]]:
        """camunda:properties of every task element of a process version, by element id
        (worked out once per version: do not change the answer)."""
        return self.cache.element_properties(definition_id, load)

    def element_names(self, definition_id: str, load: SpecLoader) -> dict[str, str | None]:
        """The name of every element of a process version with a task, by element id."""
        spec, subs = self.cache.get(definition_id, load)
        return {
            ts.bpmn_id: ts.bpmn_name
            for ts in task_specs(spec, subs)
            if getattr(ts, "bpmn_id", None)
        }

    def element_name(self, definition_id: str, load: SpecLoader, element_id: str) -> str | None:
        """The name the model gives an element (None when it has none or is not there)."""
        spec, subs = self.cache.get(definition_id, load)
        for task_spec in task_specs(spec, subs):
            if getattr(task_spec, "bpmn_id", None) == element_id:
                return getattr(task_spec, "bpmn_name", None) or None
        return None

    @_room_for_long_models
    def start(
        self, definition_id: str, load: SpecLoader, variables: dict[str, Any], *, now: datetime
    ) -> RunResult:
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = ServiceWorkflow(spec, subs)
            since = time.time()
            start = workflow.get_tasks(state=TaskState.READY)
            target = start[0] if start else workflow.task_tree
            target.data.update(variables)
            meter = self.budget.start()
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    @_room_for_long_models
    def complete(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        task_id: str,
        values: Mapping[str, Any],
        actor: str,
        *,
        now: datetime,
    ) -> RunResult:
        """Complete a READY user or external task with already-validated values and advance."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            task = self._find(workflow, task_id)
            if task.state != TaskState.READY or not task.task_spec.manual:
                raise InvalidState(
                    f"task {task_id} is not ready to be completed "
                    f"(state {TaskState.get_name(task.state)})"
                )
            since = time.time()
            task.data.update(values)
            set_output_item(task, values, actor, now)
            meter = self.budget.start()
            with _engine_errors(meter, task):
                task.run()
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    @_room_for_long_models
    def inspect(self, definition_id: str, load: SpecLoader, state: str) -> RunResult:
        """The stored state as a RunResult, without advancing anything (for consistency checks)."""
        spec, subs = self.cache.get(definition_id, load)
        workflow = load_state(state, spec, subs)
        return self._result(workflow, time.time(), compact=False, checked=False)

    def activities(self, definition_id: str, load: SpecLoader, state: str) -> list[ActivityNode]:
        """Where the stored instance stands: its active elements as a tree (activities.py)."""
        spec, subs = self.cache.get(definition_id, load)
        return activity_tree(load_state(state, spec, subs))

    @_room_for_long_models
    def fire_timers(
        self, definition_id: str, load: SpecLoader, state: str, *, now: datetime
    ) -> RunResult:
        """Fire every timer due at `now` and advance; a no-op run when none is due."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            since = time.time()
            meter = self.budget.start()
            with _engine_errors(meter, None):
                workflow.refresh_timers()
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    @_room_for_long_models
    def deliver_message(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        name: str,
        payload: dict[str, Any],
        *,
        now: datetime,
    ) -> RunResult:
        """Deliver a named message to a waiting catch event; NotWaiting when none waits."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            since = time.time()
            meter = self.budget.start()
            with _engine_errors(meter, None):
                deliver_message(workflow, name, payload)
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    @_room_for_long_models
    def withdraw_event_subprocess(
        self, definition_id: str, load: SpecLoader, state: str, task_id: str, *, now: datetime
    ) -> RunResult:
        """Cancel the event subprocess that holds the READY task ``task_id`` (a 督办 the service
        started for a time limit whose clock has since stopped) and advance."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            task = self._find(workflow, task_id)
            owner = _event_subprocess_of(workflow, task)
            if owner is None:
                raise InvalidState(f"task {task_id} is not inside an event subprocess")
            since = time.time()
            meter = self.budget.start()
            with _engine_errors(meter, task):
                owner.cancel()
                # What waited for the cancelled branch (the process's end) may go on now.
                for waiting in workflow.get_tasks(state=TaskState.WAITING):
                    waiting.task_spec._update(waiting)
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    @_room_for_long_models
    def throw_error(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        task_id: str,
        code: str,
        variables: Mapping[str, Any],
        *,
        now: datetime,
        message: str | None = None,
    ) -> RunResult:
        """A BPMN error raised by the worker of a READY external task, caught as BPMN has it
        (bpmn_errors.py) with `variables` as its data (and `code` and `message` in the catch's
        camunda:errorCodeVariable / errorMessageVariable). ErrorNotCaught when nothing catches
        it; nothing changes then."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            task = self._find(workflow, task_id)
            if task.state != TaskState.READY or not is_external(task):
                raise InvalidState(f"task {task_id} is not a ready external task")
            since = time.time()
            meter = self.budget.start()
            with _engine_errors(meter, task):
                caught = catch_error(task, code, dict(variables), message)
            if not caught:
                raise ErrorNotCaught(
                    f"nothing catches error code {code!r} raised at {task.task_spec.bpmn_id} (no "
                    f"error boundary event on it or around it, no error event subprocess); "
                    f"complete the task or report a failure instead",
                    details={"element_id": task.task_spec.bpmn_id, "error_code": code},
                )
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    def set_variables(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        values: dict[str, Any],
        *,
        now: datetime,
    ) -> tuple[RunResult, dict[str, Any]]:
        """Set variables where the case's tokens are; the result and the previous values."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now):
            workflow = self._load(definition_id, state, spec, subs)
            since = time.time()
            before = repair.set_variables(workflow, values)
            return self._result(workflow, since, keep_as=definition_id), before

    def modify(
        self,
        definition_id: str,
        load: SpecLoader,
        state: str,
        instructions: list[repair.Instruction],
        *,
        now: datetime,
    ) -> RunResult:
        """Cancel active elements and start before others (repair.py), then advance. No timer
        fires in this run (clock.timers_held): one that is due stays due for the scheduler."""
        spec, subs = self.cache.get(definition_id, load)
        with clock.frozen_at(now), clock.timers_held():
            workflow = self._load(definition_id, state, spec, subs)
            since = time.time()
            meter = self.budget.start()
            with _engine_errors(meter, None):
                repair.modify(workflow, instructions)
            self._advance(workflow, meter)
            return self._result(workflow, since, keep_as=definition_id)

    def migrate(
        self,
        source: tuple[str, SpecLoader],
        target: tuple[str, SpecLoader],
        state: str,
        mapping: dict[str, str],
        *,
        now: datetime,
        dry_run: bool,
    ) -> tuple[migration.MigrationPlan, RunResult | None]:
        """The plan of migrating a stored instance to the target version and, unless the plan
        has problems, the migrated instance advanced on the target, with the plan's warnings of
        joins it would wait in for good. A dry run does the same on a copy that nobody keeps (so
        it predicts what the real run's tasks become); the caller stores nothing. No timer fires
        in this run (clock.timers_held): one that is due stays due for the scheduler, which fires
        it on the target version."""
        spec, subs = self.cache.get(*source)
        new_spec, new_subs = self.cache.get(*target)
        with clock.frozen_at(now), clock.timers_held():
            workflow = load_state(state, spec, subs)
            since = time.time()
            found = migration.migrate(workflow, new_spec, new_subs, mapping)
            if not found.ok:
                return found, None
            # Loaded again so every index is built from the target's elements.
            workflow = load_state(dump_state(workflow), new_spec, new_subs)
            self._advance(workflow, self.budget.start())
            found.warnings = migration.unreachable_branches(workflow)
            return found, self._result(workflow, since, keep_as=None if dry_run else target[0])

    def _load(self, definition_id: str, state: str, spec: Any, subs: dict[str, Any]) -> Any:
        """The workflow of a stored state: the warm one that wrote it (warm.py), else loaded."""
        workflow = self.warm.take(definition_id, state, spec)
        return workflow if workflow is not None else load_state(state, spec, subs)

    def _find(self, workflow: Any, task_id: str) -> Any:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, SpiffWorkflowException):
            task = None
        if task is None:
            raise NotFound(f"task {task_id} is not part of this instance")
        return task

    def _advance(self, workflow: Any, meter: RunMeter) -> None:
        with (
            _engine_errors(meter, None),
            evaluation_deadline(meter.check_time),
            variables_limit(self.budget.max_variables_bytes),
        ):
            workflow.do_engine_steps(will_complete_task=meter.step)
        if _task_count(workflow) > MAX_TASKS:
            raise _too_many_tasks(workflow)

    def _check_size(
        self, state: str, variables: dict[str, Any], done: list[Any], since: float
    ) -> None:
        """Refuse a run that leaves the case's variables over max_variables_bytes as JSON, or
        its stored state over STATE_FACTOR times that (VariablesTooLarge): copies of one value
        under many names cost an expression nothing, yet each is stored in full. The stored
        text is made anyway, so the usual check is its length; the variables are measured only
        when the text is over the limit."""
        limit = self.budget.max_variables_bytes
        stored = _stored_bytes(state, limit)
        if stored <= limit:
            return  # the stored text holds every variable
        sizes = sorted(
            ((json_bytes(value), name) for name, value in variables.items()), reverse=True
        )
        total = sum(size for size, _ in sizes) + 2 + sum(len(name) + 4 for _, name in sizes)
        if total <= limit and stored <= STATE_FACTOR * limit:
            return
        element = _assigned_at(done, since, sizes[0][1], variables[sizes[0][1]]) if sizes else None
        if total > limit:
            raise variables_too_large(
                f"the case's variables would take {total:,} bytes as JSON", element, sizes, limit
            )
        raise variables_too_large(
            f"the case's stored state would take {stored:,} bytes",
            element,
            sizes,
            limit,
            factor=STATE_FACTOR,
        )

    def _result(
        self,
        workflow: Any,
        since: float,
        *,
        compact: bool = True,
        keep_as: str | None = None,
        checked: bool = True,
    ) -> RunResult:
        """What a run did and the state to store; with `keep_as` (the process-definition id) the
        workflow is kept warm for the next call on that state (warm.py). `checked`: the state
        is refused when it is too large to store (_check_size; not for a state read as stored)."""
        manual = workflow.get_tasks(state=TaskState.READY, manual=True, max_depth=FULL_DEPTH)
        ready = [t for t in manual if not is_external(t)]
        external = [t for t in manual if is_external(t)]
        completed = workflow.is_completed() and not manual
        waiting_automatic = workflow.get_tasks(
            state=TaskState.READY, manual=False, max_depth=FULL_DEPTH
        )
        if waiting_automatic:
            # SpiffWorkflow stops seeing READY tasks deep in its task tree: a loop that never
            # waits gets there within a few hundred passes, before the step budget.
            names = sorted({t.task_spec.bpmn_id or t.task_spec.name for t in waiting_automatic})
            raise BudgetExceeded(
                f"the engine stopped with automatic steps still ready at {', '.join(names)}: a "
                f"loop that never waits went deeper than the engine follows; it was rolled back",
                names[0],
                "depth",
            )
        with _engine_errors(self.budget.start(), None):
            waits, next_timer = open_waits(workflow)
        # Everything read from this step's finished tasks is read before they are compacted.
        done = completed_tasks(workflow)  # one walk of the whole tree for both
        variables = variables_of(workflow, completed, done)
        steps, finished = completed_since(workflow, since, done)
        thrown = thrown_since(workflow, since)
        if compact:
            workflow.compact()
        plain_values = plain(workflow)  # decides how the text is written, and if it is kept warm
        try:
            state = dump_state(workflow, plain=plain_values)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise WorkflowFailed(f"the instance's variables cannot be stored: {exc}") from None
        if checked:
            self._check_size(state, variables, done, since)
        result = RunResult(
            state=state,
            completed=completed,
            ready_tasks=[ready_view(t) for t in ready],
            variables=variables,
            steps=steps,
            finished=finished,
            external_tasks=[external_view(t) for t in external],
            waits=waits,
            next_timer_at=next_timer,
            thrown=thrown,
        )
        if keep_as is not None:
            self.warm.keep(keep_as, state, workflow, is_plain=plain_values)
        return result


def _stored_bytes(state: str, limit: int) -> int:
    """The UTF-8 size of the stored text, or its length when that shows it within `limit`
    whatever its characters (the usual case: no work at all)."""
    chars = len(state)
    if chars * 4 <= limit or state.isascii():
        return chars
    return len(state.encode())


def _assigned_at(done: list[Any], since: float, name: str, value: Any) -> str | None:
    """The element that gave variable `name` its value in this run: the first task completed
    in it holding that very value."""
    run = sorted((t for t in done if t.last_state_change >= since), key=_completed_at)
    for task in run:
        if task.data.get(name, _MISSING) is value and element_of(task):
            return element_of(task)
    return element_of(run[-1]) if run else None


def _completed_at(task: Any) -> float:
    return float(task.last_state_change)


_MISSING = object()


def _all_tasks(workflow: Any) -> Any:
    """The tasks of the instance and of every subprocess it runs (each keeps its own)."""
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _task_count(workflow: Any) -> int:
    return len(workflow.tasks) + sum(len(s.tasks) for s in workflow.subprocesses.values())


def _too_many_tasks(workflow: Any) -> WorkflowFailed:
    """The run grew the instance beyond MAX_TASKS engine tasks, subprocesses' included: named by
    the element holding most of them (a multi-instance's instances, a loop's passes, a cycle
    timer's firings)."""
    counts = Counter(element_of(task) or task.task_spec.name for task in _all_tasks(workflow))
    element, count = counts.most_common(1)[0]
    return WorkflowFailed(
        f"the run grew the instance beyond {MAX_TASKS} engine tasks ({count} of them at element "
        f"{element}: the instances of a multi-instance, or the passes of a loop or a cycle timer "
        f"that never ends); it was rolled back",
        details={"element": element},
    )


@contextmanager
def _engine_errors(meter: RunMeter, task: Any) -> Iterator[None]:
    """Engine steps as domain errors: an engine or expression error, and any other error a
    model's or a variable's value causes inside the engine (an overflow, a recursion limit, a
    value of the wrong type), becomes WorkflowFailed naming the element; a run over its budget
    is BudgetExceeded (budget.py). Nothing of the run is kept by the caller then."""
    try:
        yield
    except ServiceError:
        raise
    except (SpiffWorkflowException, ExpressionError) as exc:
        raise workflow_failed(exc) from None
    except (ArithmeticError, RecursionError, MemoryError, TypeError, ValueError) as exc:
        # Not SpiffWorkflow's error type, so it names no task: the one running when it happened.
        element = element_of(meter.current) or element_of(task)
        where = f" at element {element}" if element else ""
        kind = type(exc).__name__
        raise WorkflowFailed(
            f"the process could not advance{where}: {kind}: {exc}", details={"element": element}
        ) from None


def _event_subprocess_of(workflow: Any, task: Any) -> Any:
    """The task in the parent process that runs the event subprocess holding ``task``, if the
    subprocess's start event is an event (not a plain start: then it is an embedded one)."""
    parent_task_id = getattr(task.workflow, "parent_task_id", None)
    if parent_task_id is None:
        return None
    starts = [t for t in task.workflow.get_tasks() if isinstance(t.task_spec, StartEvent)]
    if not any(
        not isinstance(getattr(t.task_spec, "event_definition", None), NoneEventDefinition)
        for t in starts
    ):
        return None
    return workflow.get_task_from_id(parent_task_id)


def _find_spec(spec: Any, subprocess_specs: dict[str, Any], name: str) -> Any:
    """A task spec by name, in the process or any of its (embedded or called) subprocesses."""
    for process in (spec, *subprocess_specs.values()):
        if name in process.task_specs:
            return process.task_specs[name]
    return None
