"""Moving a running instance to another version of its process (Camunda's migration plans).

Elements are aligned with SpiffWorkflow's `SpecDiff` (same ids map; it also matches a renamed
element by its neighbours), overridden by the caller's mapping {source id: target id}. A plan
lists, per active element, where it maps or why it cannot: an active element the target lacks,
an element whose kind changed, a changed multi-instance definition, a changed running timer or
message. Applying keeps every task (and so its id and variables) whose element survives: the
task is re-pointed at the target's element and what it predicted is predicted again from the
target. Finished tasks of removed elements leave the engine's tree (the service keeps the
history); nothing of SpiffWorkflow is replaced.

An active task whose element the target gives boundary events it did not have gets them, as a
task started on the target would (Camunda instantiates the target's boundary events of a migrated
activity): a timer counts from the migration, a message catch waits from then on. The plan lists
them (`started`).

A parallel join of the target that the migrated case reaches but one of whose incoming branches
no token of the case can reach any more (the target added a branch after the fork the case had
passed) would wait for good: the plan warns of it (`warnings`: the join, the branch, the element
to start with a modification after migrating). It is a warning, not a problem: the case migrates
(and can be set going with `start_before` only once it is on the target).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.util.task import TaskState

from .activities import OPEN, kind_of
from .serialization import SERIALIZER, spec_from_json

# Attributes of a multi-instance body whose change a running body cannot follow.
LOOP_KEYS = frozenset(
    {
        "typename",
        "cardinality",
        "data_input",
        "data_output",
        "input_item",
        "output_item",
        "condition",
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    element_id: str
    message: str


@dataclass
class MigrationPlan:
    mapped: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Boundary events the target attaches to an active element that it did not have:
    # {"element_id", "attached_to", "kind"}, started by the migration.
    started: list[dict[str, str]] = field(default_factory=list)
    # Waiting boundary events of an active element that the target does not have: dropped, as
    # Camunda drops unmapped boundary events ({"element_id", "attached_to", "kind"}).
    dropped: list[dict[str, str]] = field(default_factory=list)
    # Joins of the target the migrated case would wait in for good (unreachable_branches):
    # {"element_id", "waiting_for", "start_before", "message"}. The case migrates all the same.
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def plan(workflow: Any, spec: Any, subs: dict[str, Any], mapping: dict[str, str]) -> MigrationPlan:
    """What migrating `workflow` to (spec, subs) would do; changes nothing."""
    result = MigrationPlan()
    for owner, target in _pairs(workflow, spec, subs, mapping, result):
        alignment = _alignment(owner.spec, target, mapping)
        seen: set[str] = set()
        for task in owner.tasks.values():
            if not task.has_state(OPEN):
                continue
            old = task.task_spec
            element = getattr(old, "bpmn_id", None)
            if not element or old.name.endswith(" [child]") or element in seen:
                continue
            seen.add(element)
            new = alignment.get(old)
            if new is None and isinstance(old, BoundaryEvent):
                result.dropped.append(
                    {"element_id": element, "attached_to": _host(task), "kind": _event_kind(old)}
                )
                continue
            if new is None:
                result.problems.append(
                    Problem(
                        element,
                        f"{element} is active and the target version has no element "
                        f"{mapping.get(element, element)}; map it to an element of the target",
                    )
                )
                continue
            problem = _incompatible(task, old, new)
            if problem is not None:
                result.problems.append(Problem(element, problem))
                continue
            result.mapped.append(
                {"element_id": element, "target_element_id": new.bpmn_id, "kind": kind_of(task)}
            )
            _, missing = _missing_boundary_events(task, new, alignment.get)
            result.started.extend(
                {"element_id": e.bpmn_id, "attached_to": new.bpmn_id, "kind": _event_kind(e)}
                for e in missing
            )
    return result


def migrate(
    workflow: Any, spec: Any, subs: dict[str, Any], mapping: dict[str, str]
) -> MigrationPlan:
    """Migrate `workflow` in place when the plan has no problems (else leave it untouched).
    The caller dumps the workflow and loads it again with the target specs before using it."""
    result = plan(workflow, spec, subs, mapping)
    if not result.ok:
        return result
    pairs = list(_pairs(workflow, spec, subs, mapping, MigrationPlan()))
    for owner, target in pairs:
        alignment = _alignment(owner.spec, target, mapping)
        owner.spec = target
        for task in list(owner.tasks.values()):
            if task.id not in owner.tasks:
                continue  # removed with a pruned branch
            new = alignment.get(task.task_spec)
            if new is not None:
                task.task_spec = new
            elif task.has_state(TaskState.PREDICTED_MASK):
                owner._remove_task(task.id)
            elif isinstance(task.task_spec, BoundaryEvent) and task.has_state(OPEN):
                # Dropped (plan): it no longer waits for its timer or message.
                owner.top_workflow.event_manager.remove_task(task)
                owner._remove_task(task.id)
            else:
                _retire(owner, task)
        for task in list(owner.tasks.values()):
            if task.state in (TaskState.READY, TaskState.WAITING):
                # What it predicted came from the source version.
                task._drop_children()
                mask = TaskState.PREDICTED_MASK | TaskState.FUTURE | task.state
                task.task_spec._predict(task, mask=mask)
        for task in list(owner.tasks.values()):
            if task.has_state(OPEN) and not task.task_spec.name.endswith(" [child]"):
                _start_boundary_events(task)
        if owner.last_task is not None and owner.last_task.id not in owner.tasks:
            owner.last_task = None
    workflow.subprocess_specs = subs
    return result


def unreachable_branches(workflow: Any) -> list[dict[str, str]]:
    """The parallel joins a (migrated, advanced) workflow reaches, with each incoming branch
    that has not arrived and that no token of the workflow can reach any more: the join would
    wait for it for good (a `stuck` incident once the other branches are in)."""
    found: list[dict[str, str]] = []
    live_states = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    for owner in [workflow, *workflow.subprocesses.values()]:
        tasks = list(owner.tasks.values())
        reach: set[Any] = set()
        for task in tasks:
            if task.has_state(live_states):
                reach |= _downstream(task.task_spec)
        for join in owner.spec.task_specs.values():
            if not isinstance(join, ParallelGateway) or len(join.inputs) < 2 or join not in reach:
                continue
            arrived = {
                t.parent.task_spec
                for t in tasks
                if t.task_spec is join
                and t.parent is not None
                and t.parent.state == TaskState.COMPLETED
            }
            for branch in join.inputs:
                if branch in arrived or branch in reach:
                    continue
                named, start = _named(branch), _branch_start(branch)
                found.append(
                    {
                        "element_id": join.bpmn_id,
                        "waiting_for": named,
                        "start_before": start,
                        "message": (
                            f"{join.bpmn_id} will wait for the branch through {named}, which no "
                            f"token of this case can reach on the target (it was added where "
                            f"the case had passed): after migrating, start it with a "
                            f"modification (start_before {start}), or map the case differently"
                        ),
                    }
                )
    return found


def _downstream(spec: Any) -> set[Any]:
    """`spec` and every task spec its outputs lead to."""
    seen = {spec}
    todo = [spec]
    while todo:
        for nxt in todo.pop().outputs:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _named(spec: Any) -> str:
    """The element a task spec stands for; an internal one (a boundary-event join) stands for
    the activity it follows."""
    seen: set[Any] = set()
    while not getattr(spec, "bpmn_id", None) and spec.inputs and spec not in seen:
        seen.add(spec)
        inner = [s for s in spec.inputs if not isinstance(s, BoundaryEvent)]
        spec = (inner or spec.inputs)[0]
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _branch_start(spec: Any) -> str:
    """The first element of the branch that ends at `spec`: back up its single predecessors to
    the element after the fork (or decision) that opens it."""
    seen: set[Any] = set()
    current = spec
    while current not in seen:
        seen.add(current)
        if len(current.inputs) != 1:
            inner = [s for s in current.inputs if not isinstance(s, BoundaryEvent)]
            if getattr(current, "bpmn_id", None) or len(inner) != 1:
                break
            current = inner[0]
            continue
        before = current.inputs[0]
        if getattr(before, "bpmn_id", None) and len(before.outputs) != 1:
            break  # the fork
        if isinstance(before, StartEvent):
            break
        current = before
    return _named(current)


def automatic_targets(source_json: str, target_json: str) -> dict[str, str]:
    """The elements of a stored source spec that a migration to the target moves, with no
    mapping, to an element of another id (SpiffWorkflow's diff matched them by their
    neighbours), and that element: {source id: target id}. An element matched to one of another
    kind is left out (the migration refuses it: it needs a mapping)."""
    source, source_subs = spec_from_json(source_json)
    target, target_subs = spec_from_json(target_json)
    pairs = [(source, target)] + [
        (spec, target_subs[name]) for name, spec in source_subs.items() if name in target_subs
    ]
    found: dict[str, str] = {}
    for old_spec, new_spec in pairs:
        for old, new in SpecDiff(SERIALIZER.registry, old_spec, new_spec).alignment.items():
            element = getattr(old, "bpmn_id", None)
            moved = getattr(new, "bpmn_id", None)
            if not element or not moved or element == moved or old.name.endswith(" [child]"):
                continue
            if type(old).__name__ == type(new).__name__ and _external(old) == _external(new):
                found[element] = moved
    return found


def _pairs(
    workflow: Any,
    spec: Any,
    subs: dict[str, Any],
    mapping: dict[str, str],
    result: MigrationPlan,
) -> Any:
    """Each (sub)workflow of the instance with the target's spec for it."""
    yield workflow, spec
    for sub in workflow.subprocesses.values():
        name = sub.spec.name
        # An embedded or event subprocess's spec is named by its element, which a mapping may
        # rename (a called process keeps its own name).
        holder = workflow.get_task_from_id(sub.parent_task_id)
        if holder is not None and getattr(holder.task_spec, "bpmn_id", None) == name:
            name = mapping.get(name, name)
        target = subs.get(name)
        if target is None:
            result.problems.append(
                Problem(
                    sub.spec.name,
                    f"subprocess {sub.spec.name} is running and the target "
                    f"version does not have {name}",
                )
            )
            continue
        yield sub, target


def _alignment(source: Any, target: Any, mapping: dict[str, str]) -> dict[Any, Any]:
    alignment: dict[Any, Any] = dict(SpecDiff(SERIALIZER.registry, source, target).alignment)
    for old in source.task_specs.values():
        element = getattr(old, "bpmn_id", None)
        if element in mapping:
            alignment[old] = target.task_specs.get(old.name.replace(element, mapping[element], 1))
        elif old not in alignment:
            alignment[old] = target.task_specs.get(old.name)
    return alignment


def _incompatible(task: Any, old: Any, new: Any) -> str | None:
    element = old.bpmn_id
    if type(old).__name__ != type(new).__name__ or _external(old) != _external(new):
        return (
            f"{element} is {bpmn_kind(old)} in the source and {new.bpmn_id} "
            f"{bpmn_kind(new)} in the target"
        )
    if isinstance(old, LoopTask):
        changed = sorted(k for k in LOOP_KEYS if _dict(old).get(k) != _dict(new).get(k))
        if changed:
            return f"the multi-instance definition of {element} changed ({', '.join(changed)})"
    definition = getattr(old, "event_definition", None)
    if definition is not None and task.state == TaskState.WAITING:
        before = SERIALIZER.registry.convert(definition)
        after = SERIALIZER.registry.convert(getattr(new, "event_definition", None))
        if before != after:
            what = "timer" if "Timer" in before.get("typename", "") else "event"
            return f"the {what} {element} waits for changed; a waiting {what} cannot be redefined"
    return None


# What BPMN calls the element a task spec stands for, by SpiffWorkflow's class (the engine's own
# classes derive from these: MergingParallelGateway is a parallel gateway).
_BPMN_KINDS = {
    "UserTask": "a user task",
    "ManualTask": "a manual task",
    "ScriptTask": "a script task",
    "ServiceTask": "a service task",
    "BusinessRuleTask": "a business rule task",
    "SendTask": "a send task",
    "ReceiveTask": "a receive task",
    "NoneTask": "a task",
    "ExclusiveGateway": "an exclusive gateway",
    "ParallelGateway": "a parallel gateway",
    "InclusiveGateway": "an inclusive gateway",
    "EventBasedGateway": "an event-based gateway",
    "StartEvent": "a start event",
    "EndEvent": "an end event",
    "BoundaryEvent": "a boundary event",
    "IntermediateCatchEvent": "an intermediate catch event",
    "IntermediateThrowEvent": "an intermediate throw event",
    "ParallelMultiInstanceTask": "a parallel multi-instance activity",
    "SequentialMultiInstanceTask": "a sequential multi-instance activity",
    "StandardLoopTask": "a loop activity",
    "CallActivity": "a call activity",
    "TransactionSubprocess": "a transaction",
    "SubWorkflowTask": "a subprocess",
}


def bpmn_kind(spec: Any) -> str:
    """The kind of element `spec` stands for in BPMN's words, with its article (an external
    service task runs on SpiffWorkflow's ManualTask, waiting for its worker)."""
    if _external(spec):
        return "an external-task service task"
    for cls in type(spec).__mro__:
        if cls.__name__ in _BPMN_KINDS:
            return _BPMN_KINDS[cls.__name__]
    return "an element of another kind"


def _external(spec: Any) -> bool:
    """A service task with camunda:type="external" (a worker fetches and completes it)."""
    return bool((getattr(spec, "extensions", None) or {}).get("topic"))


def _dict(spec: Any) -> dict[str, Any]:
    converted: dict[str, Any] = SERIALIZER.registry.convert(spec)
    return converted


def _host(event: Any) -> str:
    """The element a waiting boundary event is attached to: its split's other child."""
    for sibling in event.parent.children if event.parent is not None else ():
        if sibling is not event and not isinstance(sibling.task_spec, BoundaryEvent):
            return str(getattr(sibling.task_spec, "bpmn_id", "") or "")
    return ""


def _retire(owner: Any, task: Any) -> None:
    """A finished task whose element the target lacks: dropped with its finished branch, or,
    when open tokens descend from it, spliced out of the chain (its parent adopts its children)."""
    if not any(t.has_state(OPEN) for t in task):
        owner._remove_task(task.id)
        return
    parent = task.parent
    position = parent._children.index(task.id)
    parent._children[position : position + 1] = list(task._children)
    for child in task.children:
        child._parent = parent.id
    owner.tasks.pop(task.id)


def _missing_boundary_events(task: Any, new: Any, target_of: Any) -> tuple[Any, list[Any]]:
    """The target's boundary-event split of `new` (the element `task` migrates to) and the
    boundary events of it that the task lacks; `target_of` maps a task spec of the task's
    tree to the target's (the identity once the task is migrated)."""
    split = next((s for s in new.inputs if isinstance(s, BoundaryEventSplit)), None)
    if split is None:
        return None, []
    parent = task.parent
    present = set()
    if parent is not None and target_of(parent.task_spec) is split:
        present = {target_of(child.task_spec) for child in parent.children}
    return split, [e for e in split.outputs if e is not new and e not in present]


def _start_boundary_events(task: Any) -> None:
    """Give a migrated active task the boundary events its target element has and it lacks:
    below the split that starts them (put above the task when it had none), as a task started on
    the target would have them."""
    split, missing = _missing_boundary_events(task, task.task_spec, lambda spec: spec)
    if not missing:
        return
    parent = task.parent
    if parent.task_spec is not split:
        holder = parent._add_child(split, TaskState.COMPLETED)
        holder.data = deepcopy(task.data)
        # The split takes the task's place in its parent's children, and the task goes below.
        parent._children.remove(holder.id)
        parent._children[parent._children.index(task.id)] = holder.id
        holder._children.append(task.id)
        task._parent = holder.id
        parent = holder
    for event in missing:
        started = parent._add_child(event, TaskState.FUTURE)
        started.data = deepcopy(parent.data)
        event._predict(started, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
        event._update(started)


def _event_kind(spec: Any) -> str:
    """timer, message, error, escalation, signal, conditional (or event) for a boundary event."""
    name = type(getattr(spec, "event_definition", None)).__name__
    for kind in ("timer", "message", "error", "escalation", "signal", "conditional"):
        if kind in name.lower():
            return kind
    return "event"
