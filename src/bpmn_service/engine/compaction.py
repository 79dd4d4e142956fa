"""Compaction: a stored instance keeps only the part of its task trees that can still matter.

SpiffWorkflow never forgets a task: every pass of a loop appends its tasks below the previous
pass, so a rework loop makes the tree deeper and the stored state larger on every iteration, and
at depth 1000 SpiffWorkflow's ready-task search silently stops (the 500th pass of a one-task loop
left the instance stuck). The service records every finished task in its own history tables, so
the engine state only needs what the engine will still read. After each call, once the call's
steps and variables are read and before the state is stored, every workflow of the instance (the
process and each subprocess) is compacted:

* **Cut above the open part.** Let T be the nearest common ancestor of all unfinished tasks
  (definite or predicted). Finished branches hanging off T's ancestors (earlier passes of a
  loop, a multi-instance task's finished instances, the other branches of a parallel block that
  has joined) are dropped, and of T's ancestors only the root and the nearest task of each spec
  stay, as a chain. Kept with their way up to that chain: every branch that reached the
  process's end join, and every branch that arrived at a parallel or inclusive join that has not
  fired for it yet (a meter branch forked long before the acceptance waits at the power-on join
  while the acceptance forks again and reworks: the join counts that arrival when it fires).
* **Fold ended branches.** Branches that reached the process's end join while the rest runs (a
  repeating timer's firings, a reminder in every pass of a loop) are reduced to what each
  changed, folded into the branch that ended last (_fold_ended_branches): the end merges the
  same changes, and the state no longer grows by one branch per firing.
* **Fold finished event subprocess runs.** Each firing of a non-interrupting event subprocess
  leaves a run below the root; the finished ones are folded into the one that finished last
  (_fold_event_subprocess_runs), which the instance's variables merge the same way.
* **Shorten finished runs below T.** A run of finished tasks that each have one child (a loop
  inside one branch of a parallel block while another branch waits) keeps only the nearest task
  of each spec and its last task, the parent of what follows it.

What the engine reads through the tree stays as it was for every unfinished task: its parent
(variables are inherited from it), its nearest ancestor of every spec (SpiffWorkflow finds a split
task, and a parallel gateway in a loop finds its entry, by climbing to an ancestor of a spec), the
children of every task with several (boundary-event splits, event-based gateways, multi-instance
tasks) and every task below T, so the common ancestor of parallel branches, where a join's merge
starts, is never removed. The root's other children (the starts of event subprocesses, whose
variables stay visible) are kept. A dropped subprocess task takes its subprocess with it.

Task ids of kept tasks never change. Detached tasks (not reachable from the root; older stored
states can hold some) are left as they are. `compacted` counts the engine tasks dropped from an
instance so far and is stored with it (state format 3, state_format.py).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from .traversal import ancestry, attached, forget

_FINISHED = TaskState.FINISHED_MASK


def compact(workflow: Any) -> int:
    """Compact every task tree of `workflow` (a top-level workflow) in place; the number of
    tasks dropped (also added to `workflow.compacted`)."""
    dropped = _fold_event_subprocess_runs(workflow)
    dropped += sum(_compact_tree(sub) for sub in [workflow, *workflow.subprocesses.values()])
    dropped += _drop_orphaned_subprocesses(workflow)
    workflow.compacted = getattr(workflow, "compacted", 0) + dropped
    return dropped


def _live_subprocess_owners(workflow: Any) -> set[UUID]:
    owners: set[UUID] = set()
    for sub in (workflow, *workflow.subprocesses.values()):
        owners.update(sub.tasks)
    return owners


def _compact_tree(workflow: Any) -> int:
    tasks = workflow.tasks
    root = workflow.task_tree
    if root is None or len(tasks) < 3:
        return 0
    # A branch waiting at the process's end join only waits for the rest to end; it is kept
    # (_cut_above) without holding the cut above the open part back.
    at_the_end = _at_the_end(tasks)
    unfinished = [
        t for t in tasks.values() if not t._state & _FINISHED and attached(t) and not at_the_end(t)
    ]
    if not unfinished:
        return 0  # a finished workflow: nothing will read it again, nothing grows either
    folded = _fold_ended_branches(tasks, unfinished)
    if folded:
        forget(workflow, folded)
    top = _common_ancestor(unfinished)
    drop = _cut_above(workflow, top)
    drop.extend(_shorten_runs(top, tasks))
    if drop:
        forget(workflow, drop)
    if not folded and not drop:
        return 0
    last = workflow.last_task
    if last is not None and workflow.tasks.get(last.id) is not last:
        workflow.last_task = None  # read only when nothing is open and the process is not done
    return len(folded) + len(drop)


def _fold_event_subprocess_runs(workflow: Any) -> int:
    """Finished runs of the process's event subprocesses, folded into the one that finished
    last; the number of tasks dropped (with their subprocesses, _drop_orphaned_subprocesses).

    Each run of an event subprocess is a child of the root holding, once finished, all the
    variables its subprocess ended with, and the instance's variables merge those of every
    finished run in the order they finished (instance_view.variables_of): a non-interrupting
    message start that fires again and again added a run each time. The finished runs of every
    event subprocess of the process (merged in one order, as the variables are) are reduced to
    one: the last, holding the data of all merged in that order, so the merge reads the same. A
    run still open (its subprocess waits at a user task) is kept whole and merged after them
    when it finishes, as before."""
    root = workflow.task_tree
    triggered = set(workflow.spec.start.trigger_specs)
    if root is None or not triggered:
        return 0
    tasks = workflow.tasks
    runs = sorted(
        (
            task
            for task in (tasks.get(child_id) for child_id in root._children)
            if task is not None
            and task.task_spec.name in triggered
            and task._state == TaskState.COMPLETED
        ),
        key=lambda t: t.last_state_change,
    )
    if len(runs) < 2:
        return 0
    folded: dict[str, Any] = {}
    for run in runs:
        folded.update(run.data)
    latest = runs[-1]
    latest.data = deepcopy(folded)
    gone = {run.id for run in runs[:-1]}
    root._children = [c for c in root._children if c not in gone]
    dropped = [tasks[i] for run in runs[:-1] for i in _subtree_ids(run, tasks)]
    forget(workflow, dropped)
    last = workflow.last_task
    if last is not None and workflow.tasks.get(last.id) is not last:
        workflow.last_task = None  # read only when nothing is open and the process is not done
    return len(dropped)


def _at_the_end(tasks: dict[UUID, Any]) -> Callable[[Any], bool]:
    """Whether a task lies at or below a task of the process's end join. Each task's ancestry is
    a chain from the root, so an end-join task is in it exactly when it stands at its own depth:
    a look-up per end-join task (a few) instead of a test of every ancestor."""
    ends = [(end, len(ancestry(end)) - 1) for end in _end_join_tasks(tasks)]

    def below_an_end(task: Any) -> bool:
        chain = ancestry(task)
        return any(depth < len(chain) and chain[depth] is end for end, depth in ends)

    return below_an_end


def _cut_above(workflow: Any, top: Any) -> list[Any]:
    """Drop what lies outside `top`'s subtree, keeping the root, the nearest task of each spec
    on the way down to `top`, the root's other children (starts of event subprocesses, whose
    variables stay visible) with their subtrees, and every branch that reached the process's
    end join (waiting there, or ended: the end merges the variables of each) or a join that has
    not fired for it yet, with its way up to that path; the dropped tasks."""
    tasks = workflow.tasks
    root = workflow.task_tree
    path = ancestry(top)
    if len(path) < 3:
        return []
    keep = _subtree_ids(top, tasks)
    for child_id in root._children:
        child = tasks.get(child_id)
        if child is not None and child_id != path[1].id:
            keep |= _subtree_ids(child, tasks)
    on_path = {id(t): i for i, t in enumerate(path)}
    branch_points = set()
    for end in [*_end_join_tasks(tasks), *_pending_arrivals(tasks)]:
        if end.id in keep or not attached(end):
            continue
        keep |= _subtree_ids(end, tasks)
        for node in reversed(ancestry(end)):
            if id(node) in on_path:
                branch_points.add(id(node))
                break
            keep.add(node.id)
    nearest = {id(t) for t in _nearest_of_each_spec(path[1:-1])}
    chain = [root, *(t for t in path[1:-1] if id(t) in nearest | branch_points), top]
    keep |= {t.id for t in chain}
    drop = [t for t in tasks.values() if t.id not in keep and attached(t)]
    if not drop:
        return []
    for parent, child in zip(chain, chain[1:], strict=False):
        on_the_way = path[on_path[id(parent)] + 1].id
        parent._children = [
            child.id if c == on_the_way else c
            for c in parent._children
            if c == on_the_way or c in keep
        ]
        child._parent = parent.id
    for task in tasks.values():
        if task.id in keep and id(task) not in on_path:
            task._children = [c for c in task._children if c in keep]
    return drop


def _fold_ended_branches(tasks: dict[UUID, Any], unfinished: list[Any]) -> list[Any]:
    """Branches that ended while the process runs, folded into the one that ended last; the
    dropped tasks (already unlinked from the tree).

    The end of the process merges what each ended branch changed, in the order they ended, so
    every such branch used to be kept (_cut_above): a repeating timer's firings, or a reminder on
    a task in a loop, added one branch each. Here each branch but the last is reduced to what it
    changed since it left the open part of the tree (its fork: the nearest ancestor of an
    unfinished task), and those changes, in the order the branches ended, go beneath the last
    branch's own changes into that branch's end event, which the end join and the instance's
    variables read. A branch whose tree still holds another branch's arrival at a join that has
    not fired, or the last branch's end, is left as it is."""
    ends = sorted(
        (
            t
            for t in _end_join_tasks(tasks)
            if t._state in (TaskState.CANCELLED, TaskState.WAITING) and attached(t)
        ),
        key=lambda t: t.last_state_change,
    )
    if len(ends) < 2:
        return []
    live = {t.id for task in unfinished for t in ancestry(task)}
    latest = ends[-1]
    latest_branch = _branch(latest, live)
    if latest_branch is None:
        return []
    keep = {t.id for t in _pending_arrivals(tasks)}
    branches: dict[UUID, tuple[Any, Any]] = {}
    changes: list[dict[str, Any]] = []
    for end in ends[:-1]:
        found = _branch(end, live)
        if found is None or found[1] is latest_branch[1]:
            continue
        fork, top = found
        if top.id not in branches:
            subtree = _subtree_ids(top, tasks)
            if subtree & keep:
                continue
            branches[top.id] = (top, subtree)
        changes.append(_changed(fork.data, end.parent.data))
    if not branches:
        return []
    end_event = latest.parent
    folded = dict(end_event.data)
    for changed in changes:
        folded.update(changed)
    folded.update(_changed(latest_branch[0].data, end_event.data))
    end_event.data = deepcopy(folded)
    dropped: list[Any] = []
    for top, subtree in branches.values():
        parent = tasks[top._parent]
        parent._children = [c for c in parent._children if c != top.id]
        dropped.extend(tasks[i] for i in subtree)
    return dropped


def _branch(end: Any, live: set[UUID]) -> tuple[Any, Any] | None:
    """Where the branch of `end` leaves the open part of the tree: (fork, first task below)."""
    chain = ancestry(end)
    for index in range(len(chain) - 2, -1, -1):
        if chain[index].id in live:
            return chain[index], chain[index + 1]
    return None


def _changed(base: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in base or base[k] != v}


def _end_join_tasks(tasks: dict[UUID, Any]) -> list[Any]:
    return [t for t in tasks.values() if isinstance(t.task_spec, _EndJoin)]


def _pending_arrivals(tasks: dict[UUID, Any]) -> list[Any]:
    """Branches that reached a parallel or inclusive join which has not fired for them yet.

    A branch that arrives at a join waits there; the next one to arrive cancels it (only the
    latest arrival waits) and the join, when it runs, counts every arrival whose parent
    completed. So a cancelled arrival is still a token at the join until a task of the join
    completes (fires) that the arrival does not descend from: an arrival after a firing, in a
    later pass of a loop, lies below that firing. Such a branch may hang off an ancestor of the
    open part (a meter branch forked before the acceptance, waiting while the acceptance forks
    again and reworks); dropping it would leave the join waiting for it for ever."""
    fired: dict[str, list[Any]] = {}
    arrived: list[Any] = []
    for task in tasks.values():
        spec = task.task_spec
        if not isinstance(spec, UnstructuredJoin) or isinstance(spec, _EndJoin):
            continue
        if task._state == TaskState.COMPLETED:
            fired.setdefault(spec.name, []).append(task)
        elif task._state == TaskState.CANCELLED:
            arrived.append(task)
    return [
        task
        for task in arrived
        if all(task.is_descendant_of(f) for f in fired.get(task.task_spec.name, ()))
    ]


def _shorten_runs(top: Any, tasks: dict[UUID, Any]) -> list[Any]:
    """Runs of finished single-child tasks below `top` shortened to the nearest of each spec; the
    dropped tasks. A run's last task, the parent of what follows it, is always kept."""
    removed: list[Any] = []
    stack = [top]
    while stack:
        task = stack.pop()
        for index, child_id in enumerate(task._children):
            node = tasks.get(child_id)
            run = []
            while node is not None and _in_run(node, tasks):
                run.append(node)
                node = tasks[node._children[0]]
            if run:
                kept = _nearest_of_each_spec(run)
                if len(kept) < len(run):
                    kept_ids = {id(t) for t in kept}
                    removed.extend(t for t in run if id(t) not in kept_ids)
                    task._children[index] = kept[0].id
                    kept[0]._parent = task.id
                    _link(kept)
            if node is not None:
                stack.append(node)
    return removed


def _in_run(task: Any, tasks: dict[UUID, Any]) -> bool:
    return bool(task._state & _FINISHED) and len(task._children) == 1 and task._children[0] in tasks


def _nearest_of_each_spec(chain: list[Any]) -> list[Any]:
    """Of a chain of tasks (each the parent of the next), the last task of each spec, in order:
    every task below the chain keeps the same nearest ancestor of every spec (SpiffWorkflow finds
    split tasks and a parallel gateway's loop entry by climbing to an ancestor of a spec)."""
    last = {task.task_spec.name: index for index, task in enumerate(chain)}
    return [task for index, task in enumerate(chain) if last[task.task_spec.name] == index]


def _link(chain: list[Any]) -> None:
    for parent, child in zip(chain, chain[1:], strict=False):
        parent._children = [child.id]
        child._parent = parent.id


def _common_ancestor(tasks: list[Any]) -> Any:
    chains = [ancestry(t) for t in tasks]
    shortest = min(len(c) for c in chains)
    first = chains[0]
    depth = 0
    while depth < shortest and all(c[depth] is first[depth] for c in chains):
        depth += 1
    return first[depth - 1]


def _subtree_ids(top: Any, tasks: dict[UUID, Any]) -> set[UUID]:
    found = {top.id}
    stack = list(top._children)
    while stack:
        task_id = stack.pop()
        if task_id in found or task_id not in tasks:
            continue
        found.add(task_id)
        stack.extend(tasks[task_id]._children)
    return found


def _drop_orphaned_subprocesses(workflow: Any) -> int:
    """Subprocesses whose owning task was dropped go with it (and theirs with them)."""
    dropped = 0
    while True:
        owners = _live_subprocess_owners(workflow)
        orphans = [tid for tid in workflow.subprocesses if tid not in owners]
        if not orphans:
            return dropped
        for task_id in orphans:
            dropped += len(workflow.subprocesses.pop(task_id).tasks)
