"""Faster answers from the task tree: the same tasks, in the same order, for the project's classes.

SpiffWorkflow answers every question about an instance ("which tasks are ready?", "which are
waiting?", "is this join satisfied?") by walking the whole task tree, completed tasks included, and
its iterator pays for list re-slicing, depth bookkeeping and a filter method call per node. An
engine step walks the tree several times, so the walks, not the work, dominated every engine call
(about two thirds of the time in profiles of the simulation).

Two changes, made by the classes defined here (the service's workflows use them; SpiffWorkflow's
own classes are left as they are):

* **An index of open tasks.** Every workflow keeps its tasks in a definite open state (FUTURE,
  WAITING, READY, STARTED) in per-state buckets, updated where a state is set (`IndexedTask`), a
  task is created or one is removed (`IndexedWorkflowMixin`). The frequent questions ("READY
  tasks", "WAITING tasks") are answered from the buckets and put in the walk's pre-order by
  comparing ancestor chains; the filter is checked again as each task is handed out, as the lazy
  walk would. Only tasks attached to the tree count: a task whose parent chain does not reach the
  workflow's root (a stored state can hold such tasks) is never visited by the walk and is never
  an answer here. This relies on SpiffWorkflow's rule that a definite task never descends from a
  predicted one, which is what lets its own walk stop at predicted tasks; `VERIFY` makes every
  answer also run SpiffWorkflow's own, unchanged iterator and compare (the tests switch it on).
* **A plain walk for everything else:** a pre-order walk over an explicit stack, each child list
  taken when its parent is visited, with the depth carried on the stack, and the filters of
  SpiffWorkflow's own classes checked inline.

`is_descendant_of` becomes a look-up in the cached ancestor chain instead of a recursion, and a
state change builds its log record (and a workflow's log record its list of tasks) only when the
logger would emit it. Every upstream function copied or replaced here is fingerprinted in
upstream.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cmp_to_key
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from . import ended_branches, inheritance

# Compare every answer with SpiffWorkflow's own iterator (slow; for tests).
VERIFY = False

# SpiffWorkflow compares a state with this mask by magnitude; kept as it is, for the same walk.
_FINISHED = TaskState.FINISHED_MASK
_INDEXED = TaskState.DEFINITE_MASK
_PREDICTED = TaskState.PREDICTED_MASK
_INDEXED_STATES = tuple(s for s in (1, 2, 4, 8, 16, 32, 64, 128, 256) if s & _INDEXED)
_WALK_DEPTH = 1000  # the default depth limit of SpiffWorkflow's walks
_task_log = logging.getLogger("spiff.task")
_workflow_log = logging.getLogger("spiff.workflow")

Buckets = dict[Any, dict[int, Any]]
_ident = id  # IndexedTask.__init__ has a parameter named `id`, as SpiffWorkflow's has


def _by_spec(workflow: Any) -> Buckets:
    try:
        return workflow._tasks_by_spec  # type: ignore[no-any-return]
    except AttributeError:
        by_spec: Buckets = {}
        workflow._tasks_by_spec = by_spec
        return by_spec


def _buckets(workflow: Any) -> Buckets:
    try:
        return workflow._open_tasks  # type: ignore[no-any-return]
    except AttributeError:
        buckets: Buckets = {state: {} for state in _INDEXED_STATES}
        workflow._open_tasks = buckets
        return buckets


# ---- the task: keeping the index ----------------------------------------------------------------


class IndexedTask(Task):  # type: ignore[misc]
    """SpiffWorkflow's task, keeping its workflow's index of open tasks up to date."""

    _state: int
    last_state_change: float

    def __init__(
        self,
        workflow: Any,
        task_spec: Any,
        parent: Any = None,
        state: int = TaskState.MAYBE,
        id: UUID | None = None,
    ) -> None:
        super().__init__(workflow, task_spec, parent, state, id or workflow.new_task_id())
        if self._state & _INDEXED:
            _buckets(workflow)[self._state][_ident(self)] = self
        _by_spec(workflow).setdefault(self.task_spec.name, {})[_ident(self)] = self

    def _set_state(self, value: int) -> None:
        old = self._state
        if value != old:
            now = time.time()
            elapsed = now - self.last_state_change
            self.last_state_change = now
            self._state = value
            if (old | value) & _INDEXED:
                buckets = _buckets(self.workflow)
                key = _ident(self)
                if old & _INDEXED:
                    buckets[old].pop(key, None)
                if value & _INDEXED:
                    buckets[value][key] = self
            if _task_log.isEnabledFor(logging.INFO):
                name = TaskState.get_name(value)
                extra = self.collect_log_extras({"elapsed": elapsed})
                _task_log.info(f"State changed to {name}", extra=extra)
        elif _task_log.isEnabledFor(logging.DEBUG):
            name = TaskState.get_name(value)
            _task_log.debug(f"State set to {name}", extra=self.collect_log_extras())

    def _add_child(self, task_spec: Any, state: int = TaskState.MAYBE) -> Any:
        # SpiffWorkflow's, creating a task of this class.
        if self.has_state(_PREDICTED) and state & _PREDICTED == 0:
            raise WorkflowException(
                "Attempt to add non-predicted child to predicted task", task_spec=self.task_spec
            )
        task = type(self)(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == TaskState.READY:
            task._ready()
        return task

    def is_descendant_of(self, task: Any) -> bool:
        # `task` is an ancestor when it stands in this task's chain at its own depth.
        if task is None:
            return False
        chain = _chain(self)
        depth = len(_chain(task)) - 1
        found = depth < len(chain) - 1 and chain[depth] is task
        if VERIFY and found != _climbs_to(self, task):
            raise AssertionError("ancestor chains disagree with the parent links")
        return found

    def _inherit_data(self) -> None:
        inheritance.inherit_data(self)

    def cancel(self) -> None:
        ended_branches.keep_ended_arrivals(self)  # before SpiffWorkflow removes them
        super().cancel()

    def __iter__(self) -> TaskIterator:
        return TaskWalk(self)


def _climbs_to(task: Any, ancestor: Any) -> bool:
    current = task.parent
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


# ---- the workflow: keeping the index, answering whole-instance questions ------------------------


class IndexedWorkflowMixin:
    """For a SpiffWorkflow workflow class: tasks are IndexedTasks, questions use the index."""

    tasks: dict[UUID, Any]
    task_tree: Any
    spec: Any
    completed: bool
    success: bool

    def new_task_id(self) -> UUID:
        return uuid4()

    def _plant_tree(self) -> None:
        # Workflow.__init__'s start of a new instance, with the project's task class.
        self.task_tree = IndexedTask(self, self.spec.start, state=TaskState.FUTURE)
        self.task_tree.task_spec._predict(self.task_tree, mask=TaskState.NOT_FINISHED_MASK)
        if _workflow_log.isEnabledFor(logging.INFO):
            _workflow_log.info("Initialized workflow", extra=self.collect_log_extras())
        self.task_tree._ready()

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        return BpmnTaskWalk(first_task or self.task_tree, **kwargs)

    def _remove_task(self, task_id: Any) -> None:
        task = self.tasks.get(task_id)
        super()._remove_task(task_id)  # type: ignore[misc]
        if task is not None:
            key = _ident(task)
            if task._state & _INDEXED:
                _buckets(self)[task._state].pop(key, None)
            _by_spec(self).get(task.task_spec.name, {}).pop(key, None)

    def is_completed(self) -> bool:
        # Any open task answers "no"; only when none is definite does the walk look for
        # predicted ones.
        if not self.completed and len(self.tasks) <= _WALK_DEPTH and _open_task(self) is not None:
            if VERIFY and Workflow.is_completed(self):
                raise AssertionError("task index disagrees with SpiffWorkflow's walk: completed")
            return False
        return Workflow.is_completed(self)  # type: ignore[no-any-return]

    def collect_log_extras(self, dct: dict[str, Any] | None = None) -> dict[str, Any]:
        # SpiffWorkflow lists every task id whenever its logger's own level is unset (below
        # INFO), whether or not the record is emitted: a full walk each time a workflow completes.
        extra = dct or {}
        extra.update(
            {
                "workflow_spec": self.spec.name,
                "success": self.success,
                "completed": self.completed,
                "root": self.task_tree.id,
            }
        )
        if _workflow_log.isEnabledFor(logging.DEBUG):
            extra["tasks"] = [t.id for t in Workflow.get_tasks(self)]
        return extra


def forget(workflow: Any, dropped: Iterable[Any]) -> None:
    """Take tasks out of `workflow` and its index, each alone (SpiffWorkflow's _remove_task
    takes a task's descendants too), after the caller has relinked the tree around them;
    every cached ancestor chain and attachment answer of the workflow is dropped."""
    tasks = workflow.tasks
    buckets = _buckets(workflow)
    by_spec = _by_spec(workflow)
    for task in dropped:
        tasks.pop(task.id, None)
        key = _ident(task)
        if task._state & _INDEXED:
            buckets[task._state].pop(key, None)
        by_spec.get(task.task_spec.name, {}).pop(key, None)
    for task in tasks.values():
        task.__dict__.pop("_ancestry", None)
        task.__dict__.pop("_attached", None)


# ---- attachment and order -----------------------------------------------------------------------


def ancestry(task: Any) -> list[Any]:
    """The task's ancestors from the root down, ending with the task (shared; do not modify)."""
    return _chain(task)


def _chain(task: Any) -> list[Any]:
    """The task's ancestors from the root down, and the task. Cached: a task keeps its parent."""
    try:
        return task._ancestry  # type: ignore[no-any-return]
    except AttributeError:
        pass
    pending = []
    while task is not None and not hasattr(task, "_ancestry"):
        pending.append(task)
        task = task.parent
    chain: list[Any] = [] if task is None else task._ancestry
    for link in reversed(pending):
        chain = [*chain, link]
        link._ancestry = chain
    return chain


def attached(task: Any) -> bool:
    """Whether the walk from the workflow's root reaches `task`: its parent is attached, is in
    the workflow and lists it as a child. Cached per task, each from its parent's answer: a task
    in the tree leaves the workflow with its descendants (SpiffWorkflow removes them with it),
    so an answer never goes stale while the task is in the workflow."""
    try:
        return task._attached  # type: ignore[no-any-return]
    except AttributeError:
        pass
    workflow = task.workflow
    tasks = workflow.tasks
    pending = []
    node = task
    while node is not None and not hasattr(node, "_attached"):
        pending.append(node)
        node = tasks.get(node._parent)
    found = node is not None and node._attached
    for link in reversed(pending):
        parent = tasks.get(link._parent)
        if parent is None:
            found = link is workflow.task_tree
        else:
            found = found and link.id in parent._children
        link._attached = found
    return found


def _present(task: Any, tasks: dict[UUID, Any]) -> bool:
    return tasks.get(task.id) is task and attached(task)


def _preorder(tasks: list[Any]) -> list[Any]:
    """`tasks` (all of one tree) in the order a depth-first pre-order walk visits them."""
    chains = {_ident(task): _chain(task) for task in tasks}

    def compare(a: Any, b: Any) -> int:
        left, right = chains[_ident(a)], chains[_ident(b)]
        common = min(len(left), len(right))
        i = 0
        while i < common and left[i] is right[i]:
            i += 1
        if i == common:  # one is an ancestor of the other; the ancestor comes first
            return len(left) - len(right)
        if i == 0:
            return 0
        siblings = left[i - 1]._children
        return siblings.index(left[i].id) - siblings.index(right[i].id)  # type: ignore[no-any-return]

    return sorted(tasks, key=cmp_to_key(compare))


# ---- answering from the index -------------------------------------------------------------------


def tasks_of_spec(workflow: Any, spec: Any) -> list[Any]:
    """The tasks of `workflow` made from `spec`, in the order of `workflow.tasks` (SpiffWorkflow's
    joins look at every task of the workflow, attached or not)."""
    tasks = workflow.tasks
    if not isinstance(workflow, IndexedWorkflowMixin):
        return [t for t in tasks.values() if t.task_spec is spec]
    named = _by_spec(workflow).get(spec.name, {})
    return [t for t in named.values() if t.task_spec is spec and tasks.get(t.id) is t]


def open_tasks(workflow: Any, state: int, keep: Callable[[Any], bool]) -> list[Any] | None:
    """The tasks of `workflow` (not of its subprocesses) in open `state` for which `keep` holds,
    in the walk's pre-order; None when the index cannot answer (an instance deeper than the walk
    limit). `keep` (which must not change anything) runs before sorting, so only the tasks kept
    are put in order."""
    tasks = workflow.tasks
    if len(tasks) > _WALK_DEPTH:
        return None
    found = [t for t in _buckets(workflow)[state].values() if _present(t, tasks) and keep(t)]
    ordered = _preorder(found) if len(found) > 1 else found
    if VERIFY:
        _must_agree(ordered, [t for t in TaskIterator(workflow.task_tree, state=state) if keep(t)])
    return ordered


def _from_index(it: Any) -> list[Any] | None:
    """The candidates of a question the index can answer, in walk order; None when it cannot."""
    task_filter = it.task_filter
    state = task_filter.state
    spec_name = task_filter.spec_name
    # By spec: a walk for predicted tasks visits every task; by state: a walk for definite tasks
    # only, and those never lie below predicted ones.
    by_spec = spec_name is not None and state & _PREDICTED
    if not it.depth_first or it.end_at_spec is not None:
        return None
    if not by_spec and state & ~_INDEXED:
        return None
    if len(it.task_list) != 1:
        return None
    root = it.task_list[0]
    workflow = root.workflow
    if root is not workflow.task_tree:
        return None
    if (
        isinstance(it, BpmnTaskIterator)
        and not it.skip_subprocesses
        and workflow.top_workflow.subprocesses
    ):
        return None  # the walk would descend into subprocess trees
    tasks = workflow.tasks
    if len(tasks) > it.max_depth:
        return None  # some task might lie below the depth limit
    candidates: Iterable[Any]
    if by_spec:
        candidates = _by_spec(workflow).get(spec_name, {}).values()
    else:
        buckets = _buckets(workflow)
        single = buckets.get(state)  # most questions ask for one state
        if single is not None:
            candidates = single.values()
        else:
            candidates = [
                t for bit in _INDEXED_STATES if state & bit for t in buckets[bit].values()
            ]
    found = [t for t in candidates if _present(t, tasks)]
    return _preorder(found) if len(found) > 1 else found


def _matcher(task_filter: Any) -> Callable[[Any], bool]:
    """`task_filter.matches`, inlined for SpiffWorkflow's own filter classes."""
    kind = type(task_filter)
    if not (
        kind is TaskFilter
        or (
            kind is BpmnTaskFilter
            and task_filter.lane is None
            and task_filter.catches_event is None
        )
    ):
        return task_filter.matches  # type: ignore[no-any-return]
    state = task_filter.state
    updated_ts = task_filter.updated_ts
    manual = task_filter.manual
    spec_name = task_filter.spec_name
    spec_class = task_filter.spec_class

    def matches(task: Any) -> bool:
        spec = task.task_spec
        return bool(
            task._state & state
            and task.last_state_change >= updated_ts
            and (manual is None or spec.manual == manual)
            and (spec_name is None or spec.name == spec_name)
            and (spec_class is None or isinstance(spec, spec_class))
        )

    return matches


def _handed_out(it: Any, candidates: list[Any]) -> Iterator[Any]:
    matches = _matcher(it.task_filter)
    for task in candidates:
        if matches(task) and task.workflow.tasks.get(task.id) is task:
            yield task


def _same_question(it: Any) -> Any:
    """A fresh SpiffWorkflow iterator (its own class, unchanged) asking what `it` asks."""
    kwargs = {
        "end_at_spec": it.end_at_spec,
        "max_depth": it.max_depth,
        "depth_first": it.depth_first,
        "task_filter": it.task_filter,
    }
    if isinstance(it, BpmnTaskIterator):
        return BpmnTaskIterator(it.task_list[0], skip_subprocesses=it.skip_subprocesses, **kwargs)
    return TaskIterator(it.task_list[0], **kwargs)


def _must_agree(got: list[Any], walked: list[Any]) -> None:
    """VERIFY: an answer must be the tasks SpiffWorkflow's walk finds, in its order."""
    if [t.id for t in got] != [t.id for t in walked]:
        raise AssertionError(
            f"task index disagrees with SpiffWorkflow's walk: {[t.task_spec.name for t in got]} "
            f"!= {[t.task_spec.name for t in walked]}"
        )


# ---- the walk -----------------------------------------------------------------------------------


def _walk(it: Any) -> Iterator[Any]:
    # SpiffWorkflow's TaskIterator._next and BpmnTaskIterator._next, over an explicit stack.
    task_filter = it.task_filter
    state = task_filter.state
    min_state = it.min_state
    end_at = it.end_at_spec
    max_depth = it.max_depth
    bpmn = isinstance(it, BpmnTaskIterator)
    skip_subprocesses = bpmn and it.skip_subprocesses
    matches = _matcher(task_filter)

    stack = [(task, 0) for task in reversed(it.task_list)]
    it.task_list = []  # consumed: the walk owns the traversal from here on
    pop = stack.pop
    push = stack.append
    while stack:
        task, depth = pop()
        task_state = task._state
        spec = task.task_spec
        subprocess = None
        if bpmn:
            subprocesses = task.workflow.top_workflow.subprocesses
            if subprocesses:
                subprocess = subprocesses.get(task.id)
        if (
            (task._children or subprocess is not None)
            and (task_state >= min_state or subprocess is not None)
            and depth < max_depth
            and spec.name != end_at
        ):
            tasks = task.workflow.tasks
            children = [tasks.get(child) for child in task._children]
            # Do not descend into a completed subprocess to look for unfinished tasks.
            if subprocess is not None and not (
                skip_subprocesses or (task_state >= _FINISHED and state <= _FINISHED)
            ):
                children.insert(0, subprocess.task_tree)
            for child in reversed(children):
                push((child, depth + 1))
        if matches(task):
            yield task


class _FastIteration:
    """`__next__` for SpiffWorkflow's iterators: from the index where it can answer, otherwise
    the plain walk; breadth-first questions (nothing asks them) keep SpiffWorkflow's stepping."""

    depth_first: bool
    task_list: list[Any]
    task_filter: Any
    _walk: Iterator[Any]

    def __next__(self) -> Any:
        try:
            walk = self._walk
        except AttributeError:
            if not self.depth_first:
                return super().__next__()  # type: ignore[misc]
            expected = list(_same_question(self)) if VERIFY else None
            candidates = _from_index(self)
            if candidates is None:
                if expected is not None:
                    _must_agree(list(_walk(_same_question(self))), expected)
                walk = _walk(self)
            else:
                if expected is not None:
                    _must_agree([t for t in candidates if self.task_filter.matches(t)], expected)
                self.task_list = []
                walk = _handed_out(self, candidates)
            self._walk = walk
        return next(walk)


class TaskWalk(_FastIteration, TaskIterator):  # type: ignore[misc]
    pass


class BpmnTaskWalk(_FastIteration, BpmnTaskIterator):  # type: ignore[misc]
    pass


# ---- existence questions ------------------------------------------------------------------------


def _below(workflow: Any, name: str) -> set[int]:
    """The tasks strictly below any task named `name` (a walk with end_at_spec skips them)."""
    tasks = workflow.tasks
    below: set[int] = set()
    stack = [
        tasks.get(child)
        for top in _by_spec(workflow).get(name, {}).values()
        if tasks.get(top.id) is top
        for child in top._children
    ]
    while stack:
        task = stack.pop()
        if task is not None and _ident(task) not in below:
            below.add(_ident(task))
            stack.extend(tasks.get(child) for child in task._children)
    return below


def _open_task(workflow: Any, skip: Any = None, end_at: str | None = None) -> Any | None:
    """Some definite open task of `workflow` other than `skip`, not below a task named `end_at`."""
    tasks = workflow.tasks
    excluded = _below(workflow, end_at) if end_at is not None else ()
    for bucket in _buckets(workflow).values():
        for task in bucket.values():
            if task is skip or _ident(task) in excluded or not _present(task, tasks):
                continue
            return task
    return None


def end_join_satisfied(spec: Any, my_task: Any) -> bool:
    """The end join waits for every other open task (SpiffWorkflow's rule), found by index."""
    workflow = my_task.workflow
    if (
        isinstance(workflow, IndexedWorkflowMixin)
        and len(workflow.tasks) <= _WALK_DEPTH
        and _open_task(workflow, my_task, spec.name) is not None
    ):
        if VERIFY and _EndJoin._check_threshold_unstructured(spec, my_task):
            raise AssertionError("task index disagrees with SpiffWorkflow's walk: end join")
        return False
    return _EndJoin._check_threshold_unstructured(spec, my_task)  # type: ignore[no-any-return]
