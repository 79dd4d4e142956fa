"""The discrete-event driver: applications through live engine instances on the virtual clock.

One :class:`Driver` runs a set of applications of one process. Events (start, complete a user
task, complete an external task, deliver a customer message, fire timers, a task reaching its
lane's queue) are taken from a heap in (working time, sequence) order. After every engine call the
driver compares the engine's view with what it knows: new ready user tasks are scheduled (hand-off
delay when the work changes groups, then the scenario's duration; with staff counts the task also
queues for a free member of its lane), tasks the engine withdrew are closed as cancelled, new
external tasks and customer-side message waits are scheduled, and the next timer is scheduled at
its due moment.

Random numbers: each application draws from streams keyed by (seed, process, application, element,
occurrence), so a result does not depend on how applications are split over worker processes, and
two runs that differ in one parameter differ only where that parameter acts (common random
numbers, which the sensitivity mode relies on).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bpmn_service.engine.live import LiveInstance, LiveProcess, LiveView
from bpmn_service.errors import ServiceError
from bpmn_service.lanes import LaneGroups
from bpmn_service.services.projection import EXTERNAL_GROUPS
from bpmn_service.timelimits import TimeLimits
from bpmn_service.timeutil import resolve_due

from .clock import WorkClock
from .distributions import Duration
from .limits import CaseClocks, Measured
from .model import (
    START_EVENT,
    Element,
    SimModel,
    Submissions,
    coerce_option,
    validated,
)
from .scenario import ALL, ProcessScenario, Scenario, Step

START, COMPLETE, EXTERNAL, DELIVER, TIMER, ARRIVE = range(6)
SIM_ACTOR = "simulation"
# Timers further out than this are never reached by a case (e.g. the 9999 sentinel of a model).
TIMER_LOOKAHEAD_WD = 2500.0
MAX_ACTIONS = 2000
TIMER_STEP = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Application:
    index: int
    category: str
    factor: float  # customer responsiveness (lognormal, median 1)
    arrival: float  # working time
    attributes: dict[str, Any]


@dataclass(slots=True)
class TaskRecord:
    id: str
    element: str
    name: str
    lane: str | None
    groups: tuple[str, ...]
    created: float
    claimed: float | None = None
    ended: float | None = None
    reason: str = "open"
    external: bool = False
    procedure: str | None = None
    hall: bool = False
    kind: str = "user"  # user | external
    due: datetime | None = None


@dataclass(slots=True)
class WaitRecord:
    element: str
    message: str
    lane: str | None
    external: bool
    started: float
    ended: float | None = None


@dataclass
class InstanceResult:
    """One simulated application of one process: its KPIs and (optionally) its history."""

    process: str
    index: int
    category: str
    factor: float
    arrival: float
    start: float
    status: str  # completed | unfinished | failed
    lead_end: float | None
    ended: float | None
    total_wd: float | None = None
    utility_wd: float | None = None
    total_cd: float | None = None
    procedures: int = 0
    hall_visits: int = 0
    handoffs: int = 0
    rework_loops: int = 0
    # every run of a declared limit's clock that stopped (simulation/limits.py)
    sla: list[Measured] = field(default_factory=list)
    step_wd: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    tasks: list[TaskRecord] = field(default_factory=list)
    waits: list[WaitRecord] = field(default_factory=list)


@dataclass
class LaneState:
    capacity: int
    busy: int = 0
    queue: deque[tuple[Any, str, float, float]] = field(default_factory=deque)
    served: int = 0
    busy_wd: float = 0.0
    waited_wd: float = 0.0
    max_queue: int = 0


@dataclass
class _Run:
    app: Application
    start: float
    live: LiveInstance | None = None
    view: LiveView | None = None
    open_tasks: dict[str, TaskRecord] = field(default_factory=dict)
    open_external: dict[str, TaskRecord] = field(default_factory=dict)
    open_waits: dict[str, WaitRecord] = field(default_factory=dict)
    occurrences: dict[str, int] = field(default_factory=dict)
    known: dict[str, Any] = field(default_factory=dict)
    last_groups: tuple[str, ...] | None = None
    timer_at: float | None = None
    timer_token: int = 0
    lead_end: float | None = None
    ended: float | None = None
    failed: str | None = None
    tasks: list[TaskRecord] = field(default_factory=list)
    waits: list[WaitRecord] = field(default_factory=list)
    in_service: dict[str, str] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: int = 0
    clocks: CaseClocks | None = None

    def drop_live(self) -> None:
        """Take the engine instance apart and let it go (memory, GC time); the records stay."""
        if self.live is not None:
            self.live.close()
        self.live = self.view = None


def _truthy(value: Any) -> bool:
    return bool(value) and value not in ("NONE", "false", "FALSE")


def holds(known: dict[str, Any], condition: str) -> bool:
    """``V`` is true when variable V is truthy; ``not V`` when it is not."""
    if condition.startswith("not "):
        return not _truthy(known.get(condition[4:].strip()))
    return _truthy(known.get(condition))


class Driver:
    def __init__(
        self,
        scenario: Scenario,
        proc: ProcessScenario,
        model: SimModel,
        clock: WorkClock,
        lanes: LaneGroups,
        limits: TimeLimits,
        *,
        keep_history: bool = False,
        live: LiveProcess | None = None,
        submissions: Submissions | None = None,
    ) -> None:
        self.scenario = scenario
        self.proc = proc
        self.model = model
        # The scenario may move power-on for a what-if; else the model's marker counts.
        self.lead_time_end = proc.lead_time_end or model.lead_time_end
        self.clock = clock
        self.lanes = lanes
        self.limits = limits
        self.keep_history = keep_history
        self.live = live or model.live()
        self.submissions = submissions or Submissions(model)
        self.lane_state = {lane: LaneState(count) for lane, count in proc.staff.items()}
        self.start_element = next(
            (e for e in model.elements.values() if e.kind == START_EVENT and e.id in proc.steps),
            None,
        )
        self.heap: list[tuple[float, int, int, _Run, Any]] = []
        self.seq = 0
        self.missing_steps: set[str] = set()

    # -- randomness -------------------------------------------------------------------------

    def rng(self, app: Application, element: str, occurrence: int) -> random.Random:
        return random.Random(
            f"{self.scenario.seed}/{self.proc.key}/{app.index}/{element}/{occurrence}"
        )

    def duration(
        self, step: Step | None, run: _Run, occurrence: int, rng: random.Random, party: str
    ) -> float:
        if step is None:
            return 0.0
        category = run.app.category
        repeat = occurrence > 1
        table = step.again_duration if repeat and step.again_duration else step.duration
        dist: Duration | None = table.get(category) or table.get(ALL)
        value = dist.sample(rng) if dist is not None else 0.0
        if repeat and not step.again_duration:
            value *= step.repeat_factor
        for variable, factor in step.scale_if.items():
            if holds(run.known, variable):
                value *= factor
        for variable, by_cat in step.plus_if.items():
            extra = by_cat.get(category) or by_cat.get(ALL)
            if extra is not None and holds(run.known, variable):
                value += extra.sample(rng)
        if party != "utility":
            value *= run.app.factor
        return value

    def decide(
        self, step: Step | None, element: Element, run: _Run, occurrence: int, rng: random.Random
    ) -> dict[str, Any]:
        """Case attributes for the element's fields, then the scenario's decisions."""
        out: dict[str, Any] = {}
        fields = {f.id: f for f in element.fields}
        for name, value in run.app.attributes.items():
            if name in fields and not fields[name].readonly:
                out[name] = value
        if step is None:
            return out
        category = run.app.category
        for name, by_cat in step.decisions.items():
            table = step.again.get(name) if occurrence > 1 and name in step.again else by_cat
            choice = (table or {}).get(category) or (table or {}).get(ALL)
            if choice is not None:
                out[name] = coerce_option(fields.get(name), choice.sample(rng))
        return out

    def party(self, step: Step | None, groups: tuple[str, ...]) -> str:
        if step is not None and step.party is not None:
            return step.party
        if groups and set(groups) <= EXTERNAL_GROUPS:
            return "contractor" if set(groups) == {"contractor"} else "customer"
        return "utility"

    # -- events -----------------------------------------------------------------------------

    def push(self, w: float, kind: int, run: _Run, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (w, self.seq, kind, run, payload))

    def run(self, apps: list[Application]) -> list[InstanceResult]:
        runs: list[_Run] = []
        for app in apps:
            prepare = 0.0
            if self.start_element is not None:
                step = self.proc.steps[self.start_element.id]
                rng = self.rng(app, self.start_element.id, 1)
                probe = _Run(app=app, start=app.arrival, known=dict(app.attributes))
                prepare = self.duration(step, probe, 1, rng, step.party or "customer")
            run = _Run(app=app, start=app.arrival + prepare, known=dict(app.attributes))
            if self.model.time_limits is not None and self.model.time_limits.limit_ids:
                run.clocks = CaseClocks(
                    self.model.time_limits, self.limits, self.clock, app.category
                )
            runs.append(run)
            self.push(run.start, START, run, None)
        while self.heap:
            w, _, kind, run, payload = heapq.heappop(self.heap)
            if run.failed is not None or run.ended is not None:
                if kind == COMPLETE and payload[0] in run.in_service:
                    self._release(run, payload[0], w)
                continue
            try:
                self._event(w, kind, run, payload)
            except (ServiceError, ValueError) as exc:
                message = getattr(exc, "message", None) or str(exc)
                run.failed = f"{self.proc.key} application {run.app.index}: {message}"
                run.drop_live()
                for task_id in list(run.in_service):
                    self._release(run, task_id, w)
        results = [self._result(run) for run in runs]
        for run in runs:  # still running at the horizon
            run.drop_live()
        return results

    def _event(self, w: float, kind: int, run: _Run, payload: Any) -> None:
        run.actions += 1
        if run.actions > MAX_ACTIONS:
            raise ValueError(f"more than {MAX_ACTIONS} engine calls: a loop that does not end")
        now = self.clock.moment(w)
        if kind == START:
            values = dict(self.submissions.start(run.app.category))
            form = {f.id for f in self.model.start_form}
            values.update({k: v for k, v in run.app.attributes.items() if k in form})
            variables = dict(validated(self.model.start_form, values))
            run.known.update(variables)
            variables["businessKey"] = f"SIM-{self.proc.key}-{run.app.index:06d}"
            variables["initiator"] = SIM_ACTOR
            run.live, view = self.live.start(variables, now=now)
            self._sync(run, view, w)
        elif kind == COMPLETE:
            task_id, values = payload
            if task_id in run.in_service:
                self._release(run, task_id, w)
            record = run.open_tasks.get(task_id)
            if record is None or run.live is None:
                return
            del run.open_tasks[task_id]
            record.ended, record.reason = w, "completed"
            run.known.update(values)
            if record.external is False:
                run.last_groups = record.groups
            if run.lead_end is None and record.element in self.lead_time_end:
                run.lead_end = w
            self._sync(run, run.live.complete(task_id, values, actor=SIM_ACTOR, now=now), w)
        elif kind == EXTERNAL:
            task_id, values = payload
            record = run.open_external.pop(task_id, None)
            if record is None or run.live is None:
                return
            record.ended, record.reason = w, "completed"
            run.known.update(values)
            self._sync(run, run.live.complete(task_id, values, actor=SIM_ACTOR, now=now), w)
        elif kind == DELIVER:
            wait_id, message, values = payload
            if wait_id not in run.open_waits or run.live is None:
                return
            run.known.update(values)
            self._sync(run, run.live.deliver(message, values, now=now), w)
        elif kind == TIMER:
            token, due = payload
            if token != run.timer_token or run.live is None:
                return
            run.timer_at = None
            run.actions += 1
            # SpiffWorkflow fires a timer once its moment is strictly in the past.
            moment = max(now, due + TIMER_STEP)
            view = run.live.fire_timers(now=moment)
            if view.next_timer_at is not None and view.next_timer_at < moment:
                # The engine did not fire it at its own due moment: do not spin on it.
                raise ValueError(
                    f"a timer due {view.next_timer_at.isoformat()} did not fire at "
                    f"{moment.isoformat()}"
                )
            self._sync(run, view, w)
        elif kind == ARRIVE:
            task_id, lane, work = payload
            if task_id not in run.open_tasks:
                return
            state = self.lane_state[lane]
            if state.busy < state.capacity:
                self._begin(run, task_id, lane, work, w)
            else:
                state.queue.append((run, task_id, work, w))
                state.max_queue = max(state.max_queue, len(state.queue))
                run.open_tasks[task_id].claimed = None

    # -- staff queues -----------------------------------------------------------------------

    def _begin(self, run: _Run, task_id: str, lane: str, work: float, w: float) -> None:
        state = self.lane_state[lane]
        state.busy += 1
        state.served += 1
        state.busy_wd += work
        record = run.open_tasks[task_id]
        record.claimed = w
        if run.clocks is not None:
            run.clocks.claim(task_id, record.element, w)
        run.in_service[task_id] = lane
        self.push(w + work, COMPLETE, run, (task_id, run.pending.pop(task_id, {})))

    def _release(self, run: _Run, task_id: str, w: float) -> None:
        lane = run.in_service.pop(task_id)
        state = self.lane_state[lane]
        state.busy -= 1
        while state.queue and state.busy < state.capacity:
            other, other_id, work, queued_at = state.queue.popleft()
            if other.failed is not None or other.ended is not None:
                continue
            if other_id not in other.open_tasks:
                continue
            state.waited_wd += max(0.0, w - queued_at)
            self._begin(other, other_id, lane, work, w)

    # -- engine view ------------------------------------------------------------------------

    def _sync(self, run: _Run, view: LiveView, w: float) -> None:
        run.view = view
        if run.clocks is not None:
            open_elements = {t.element_id for t in view.ready}
            open_elements.update(t.element_id for t in view.external)
            open_elements.update(x.element_id for x in view.waits)
            run.clocks.after_run(w, view.finished, open_elements, active=not view.completed)
        ready_ids = {t.id for t in view.ready}
        for task_id in [t for t in run.open_tasks if t not in ready_ids]:
            record = run.open_tasks.pop(task_id)
            record.ended, record.reason = w, "cancelled"
            if run.clocks is not None:
                run.clocks.withdraw(task_id, w)
            run.pending.pop(task_id, None)
            if task_id in run.in_service:
                self._release(run, task_id, w)
        for ready in view.ready:
            if ready.id not in run.open_tasks:
                self._schedule_task(run, ready, w)
        external_ids = {e.id for e in view.external}
        for task_id in [t for t in run.open_external if t not in external_ids]:
            record = run.open_external.pop(task_id)
            record.ended, record.reason = w, "cancelled"
        for work in view.external:
            if work.id not in run.open_external:
                self._schedule_external(run, work.id, work.element_id, w)
        waiting = {x.task_id: x for x in view.waits if not x.event_subprocess}
        for wait_id in [x for x in run.open_waits if x not in waiting]:
            run.open_waits.pop(wait_id).ended = w
        for wait_id, wait in waiting.items():
            if wait_id not in run.open_waits:
                self._schedule_wait(run, wait_id, wait.element_id, wait.message_name, w)
        if view.completed:
            run.ended = w
            if run.lead_end is None:
                run.lead_end = w
            run.drop_live()
            return
        if view.next_timer_at is not None:
            due = max(w, self.clock.position(view.next_timer_at + TIMER_STEP))
            if due - w <= TIMER_LOOKAHEAD_WD and due < self.clock.horizon - 1:
                if run.timer_at is None or not math.isclose(due, run.timer_at):
                    run.timer_token += 1
                    run.timer_at = due
                    self.push(due, TIMER, run, (run.timer_token, view.next_timer_at))

    def _occurrence(self, run: _Run, element: str) -> int:
        run.occurrences[element] = run.occurrences.get(element, 0) + 1
        return run.occurrences[element]

    def _schedule_task(self, run: _Run, ready: Any, w: float) -> None:
        element = self.model.elements.get(ready.element_id)
        if element is None:
            raise ValueError(f"the engine offered unknown element {ready.element_id}")
        step = self.proc.steps.get(element.id)
        if step is None:
            self.missing_steps.add(element.id)
        groups = tuple(
            ready.candidate_groups
            if ready.candidate_groups is not None
            else self.lanes.groups_for(self.proc.key, ready.lane)
        )
        # Multi-instance children (one per signer) are told apart by their groups, so each
        # signer keeps its own random stream whatever order the engine lists them in.
        stream = f"{element.id}|{','.join(groups)}" if element.dynamic_groups else element.id
        occurrence = self._occurrence(run, stream)
        rng = self.rng(run.app, stream, occurrence)
        party = self.party(step, groups)
        external = bool(groups) and set(groups) <= EXTERNAL_GROUPS
        record = TaskRecord(
            id=ready.id,
            element=element.id,
            name=ready.name,
            lane=ready.lane,
            groups=groups,
            created=w,
            external=external,
            procedure=ready.properties.get("customerProcedure") or None,
            hall=ready.properties.get("hallVisit") == "true",
            due=_due(ready.due, w, self.clock),
        )
        run.open_tasks[ready.id] = record
        run.tasks.append(record)
        handoff = 0.0
        if (
            not external
            and self.proc.handoff_delay is not None
            and run.last_groups is not None
            and set(run.last_groups) != set(groups)
        ):
            handoff = self.proc.handoff_delay.sample(rng)
        work = self.duration(step, run, occurrence, rng, party)
        if step is not None and step.no_response:
            p = step.no_response.get(run.app.category, step.no_response.get(ALL, 0.0))
            if rng.random() < p:
                return  # the customer never answers: the task stays open (timers may close it)
        values = dict(self.submissions.base(element, run.app.category))
        values.update(self.decide(step, element, run, occurrence, rng))
        values = dict(validated(element.fields, values))
        lane = ready.lane
        if lane in self.lane_state and not external:
            run.pending[ready.id] = values
            self.push(w + handoff, ARRIVE, run, (ready.id, lane, work))
            return
        record.claimed = w + handoff
        if run.clocks is not None:
            run.clocks.claim(ready.id, element.id, w + handoff)
        self.push(w + handoff + work, COMPLETE, run, (ready.id, values))

    def _schedule_external(self, run: _Run, task_id: str, element_id: str, w: float) -> None:
        element = self.model.elements.get(element_id)
        step = self.proc.steps.get(element_id)
        if step is None:
            self.missing_steps.add(element_id)
        occurrence = self._occurrence(run, element_id)
        rng = self.rng(run.app, element_id, occurrence)
        groups = element.groups if element is not None else ()
        record = TaskRecord(
            id=task_id,
            element=element_id,
            name=element.name if element is not None else element_id,
            lane=element.lane if element is not None else None,
            groups=groups,
            created=w,
            claimed=w,
            external=bool(groups) and set(groups) <= EXTERNAL_GROUPS,
            kind="external",
        )
        run.open_external[task_id] = record
        run.tasks.append(record)
        work = self.duration(step, run, occurrence, rng, self.party(step, ()))
        values = dict(self.submissions.base(element, run.app.category)) if element else {}
        if step is not None:
            values.update(step.variables)
        self.push(w + work, EXTERNAL, run, (task_id, values))

    def _schedule_wait(
        self, run: _Run, wait_id: str, element_id: str, message: str, w: float
    ) -> None:
        element = self.model.elements.get(element_id)
        groups = element.groups if element is not None else ()
        external = bool(groups) and set(groups) <= EXTERNAL_GROUPS
        record = WaitRecord(
            element=element_id,
            message=message,
            lane=element.lane if element is not None else None,
            external=external,
            started=w,
        )
        run.open_waits[wait_id] = record
        run.waits.append(record)
        step = self.proc.steps.get(element_id)
        if step is None and not external:
            return  # an internal wait (e.g. a clock-stop message the process sends itself)
        if step is None:
            self.missing_steps.add(element_id)
        occurrence = self._occurrence(run, element_id)
        rng = self.rng(run.app, element_id, occurrence)
        work = self.duration(step, run, occurrence, rng, self.party(step, groups))
        values: dict[str, Any] = {}
        if element is not None:
            values.update(self.submissions.base(element, run.app.category))
            values.update(self.decide(step, element, run, occurrence, rng))
        if step is not None:
            values.update(step.variables)
        for name, value in run.app.attributes.items():
            if name in values:
                values[name] = value
        self.push(w + work, DELIVER, run, (wait_id, message, values))

    # -- results ----------------------------------------------------------------------------

    def _result(self, run: _Run) -> InstanceResult:
        app = run.app
        status = (
            "failed" if run.failed else ("completed" if run.ended is not None else "unfinished")
        )
        result = InstanceResult(
            process=self.proc.key,
            index=app.index,
            category=app.category,
            factor=app.factor,
            arrival=app.arrival,
            start=run.start,
            status=status,
            lead_end=run.lead_end,
            ended=run.ended,
            error=run.failed,
        )
        if status == "unfinished":
            waiting = sorted({r.element for r in run.open_tasks.values()})
            waiting += sorted({r.element for r in run.open_waits.values()})
            result.error = (
                f"{self.proc.key} application {app.index} did not finish; "
                f"still waiting at {', '.join(waiting) or 'nothing'}"
            )
        if run.lead_end is not None and status == "completed":
            compute_kpis(result, run.tasks, run.waits, self, run)
        if self.keep_history:
            result.tasks = run.tasks
            result.waits = run.waits
        return result


def _due(value: str | None, w: float, clock: WorkClock) -> datetime | None:
    if not value:
        return None
    try:
        return resolve_due(value, clock.moment(w))
    except ValueError:
        return None


def _merged(intervals: list[tuple[float, float]], low: float, high: float) -> list[list[float]]:
    """The union of intervals clipped to [low, high], as sorted disjoint [a, b] pairs."""
    merged: list[list[float]] = []
    for a, b in sorted((max(a, low), min(b, high)) for a, b in intervals):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def paused_length(
    external: list[tuple[float, float]],
    utility: list[tuple[float, float]],
    low: float,
    high: float,
) -> float:
    """How long the case waited only on the customer side: inside an external interval and
    outside every utility interval (the utility clock runs while the utility works, also when
    the customer works in parallel)."""
    waiting = _merged(external, low, high)
    working = _merged(utility, low, high)
    total, j = 0.0, 0
    for a, b in waiting:
        total += b - a
        while j < len(working) and working[j][1] <= a:
            j += 1
        k = j
        while k < len(working) and working[k][0] < b:
            total -= min(b, working[k][1]) - max(a, working[k][0])
            k += 1
    return total


def handoff_count(tasks: list[TaskRecord]) -> int:
    """services.metrics.compute's hand-off rule: a completed utility task offered to other
    groups than the utility task completed last before it was created."""
    utility = sorted(
        (t for t in tasks if t.reason == "completed" and not t.external and t.kind == "user"),
        key=lambda t: (t.ended or 0.0, t.created, t.id),
    )
    handoffs = 0
    for task in utility:
        enabling = None
        for other in utility:
            if other is task or (other.ended or 0.0) > task.created:
                continue
            enabling = other
        if enabling is not None and set(enabling.groups) != set(task.groups):
            handoffs += 1
    return handoffs


def compute_kpis(
    result: InstanceResult,
    tasks: list[TaskRecord],
    waits: list[WaitRecord],
    driver: Driver,
    run: _Run,
) -> None:
    assert result.lead_end is not None
    low, high = result.arrival, result.lead_end
    result.total_wd = high - low
    spans = [(low, result.start)]
    spans += [(t.created, t.ended) for t in tasks if t.external and t.ended is not None]
    spans += [(x.started, x.ended) for x in waits if x.external and x.ended is not None]
    working = [
        (t.created, t.ended)
        for t in tasks
        if not t.external and t.kind == "user" and t.ended is not None
    ]
    result.utility_wd = max(0.0, result.total_wd - paused_length(spans, working, low, high))
    clock = driver.clock
    result.total_cd = (clock.moment(high) - clock.moment(low)).total_seconds() / 86400.0
    completed = [t for t in tasks if t.reason == "completed" and t.kind == "user"]
    result.procedures = len({t.procedure for t in completed if t.procedure})
    result.hall_visits = sum(1 for t in completed if t.hall)
    result.handoffs = handoff_count(tasks)
    rounds: dict[str, set[float]] = {}
    for t in tasks:
        if t.kind == "user":
            rounds.setdefault(t.element, set()).add(t.created)
    result.rework_loops = sum(len(v) - 1 for v in rounds.values())
    steps: dict[str, float] = {}
    if result.start > result.arrival and driver.start_element is not None:
        steps[driver.start_element.id] = result.start - result.arrival
    for t in tasks:
        if t.ended is not None and t.reason == "completed":
            steps[t.element] = steps.get(t.element, 0.0) + (min(t.ended, high) - t.created)
    for x in waits:
        if x.ended is not None and x.external:
            steps[x.element] = steps.get(x.element, 0.0) + (min(x.ended, high) - x.started)
    result.step_wd = {k: max(0.0, v) for k, v in steps.items()}
    if run.clocks is not None:
        result.sla = run.clocks.measured()


def arrival_moment(clock: WorkClock, w: float) -> datetime:
    return clock.moment(w).astimezone(UTC)
