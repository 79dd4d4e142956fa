"""The task index (traversal.py) answers as SpiffWorkflow's own walk does, and only for tasks
attached to the tree."""

from __future__ import annotations

import json

from kit import Case
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from bpmn_service.engine import traversal
from bpmn_service.engine.serialization import load_state, spec_from_json
from bpmn_service.engine.traversal import IndexedTask
from bpmn_service.engine.workflow import ServiceWorkflow


def _loaded(case: Case, state: str) -> ServiceWorkflow:
    spec, subs = spec_from_json(case.spec_json)
    workflow = load_state(state, spec, subs)
    assert isinstance(workflow, ServiceWorkflow)
    return workflow


def test_restored_instances_are_made_of_the_engines_classes() -> None:
    case = Case("parallel_join")
    case.start()
    workflow = _loaded(case, case.state)
    assert all(type(t) is IndexedTask for t in workflow.tasks.values())
    assert type(workflow.spec.end).__name__ == "MergingEndJoin"


def test_a_detached_task_is_not_an_answer_and_does_not_keep_the_instance_open() -> None:
    # A stored state can hold tasks whose parent no longer lists them (SpiffWorkflow's own
    # state migrations leave such tasks behind); SpiffWorkflow's walk never reaches them.
    case = Case("parallel_join")
    case.start()
    case.complete("survey")
    assert case.result is not None and case.result.completed
    stored = json.loads(case.state)
    tasks = stored["tasks"]
    end = next(i for i, t in tasks.items() if t["task_spec"] == "End")
    # Re-open a task and cut it off: its parent forgets it.
    tasks[end]["state"] = TaskState.READY
    parent = tasks[end]["parent"]
    tasks[parent]["children"].remove(end)
    stored["completed"] = False
    workflow = _loaded(case, json.dumps(stored))
    detached = workflow.tasks[next(t for t in workflow.tasks if str(t) == end)]
    assert not traversal.attached(detached)
    walked = list(TaskIterator(workflow.task_tree, state=TaskState.READY))
    assert detached not in walked
    assert workflow.get_tasks(state=TaskState.READY) == walked
    assert workflow.is_completed() is Workflow.is_completed(_loaded(case, json.dumps(stored)))
    assert workflow.is_completed()


def test_verify_compares_with_spiffworkflows_own_iterator() -> None:
    case = Case("parallel_join")
    case.start()
    workflow = _loaded(case, case.state)
    ready = workflow.get_tasks(state=TaskState.READY)
    # Corrupt the index: the answer no longer agrees with SpiffWorkflow's walk.
    buckets = workflow._open_tasks
    bucket = buckets[TaskState.READY]
    bucket.clear()
    assert traversal.VERIFY  # tests/conftest.py
    try:
        workflow.get_tasks(state=TaskState.READY)
    except AssertionError as exc:
        assert "SpiffWorkflow's walk" in str(exc)
    else:
        raise AssertionError(f"VERIFY let a wrong answer through (walk: {ready})")
