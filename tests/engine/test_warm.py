"""Workflows kept warm between calls (engine/warm.py): a run on a state the runner just wrote takes
the workflow that wrote it, and answers exactly as loading the state would; what JSON would not
give back unchanged, a failed run and another process version are never reused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from kit import T0, Case, compiled

from bpmn_service.engine import ProcessRunner, SpecCache, WarmWorkflows, warm
from bpmn_service.engine.serialization import load_state, spec_from_json
from bpmn_service.errors import NotFound


def _warm_case(name: str, size: int = 8) -> Case:
    return Case(name, runner=ProcessRunner(SpecCache(), warm=WarmWorkflows(size)))


def _shown(case: Case) -> tuple[Any, ...]:
    """What a step showed, without the random task ids."""
    result = case.result
    assert result is not None
    return (
        result.completed,
        sorted(t.element_id for t in result.ready_tasks),
        sorted((w.element_id, w.message_name) for w in result.waits),
        result.next_timer_at,
        result.variables,
        [s.element_id for s in result.steps],
    )


def test_a_warm_loop_answers_as_a_loaded_one_and_loads_only_once() -> None:
    assert warm.VERIFY  # tests/conftest.py: every hit is checked against the stored state
    warm_case, cold_case = _warm_case("parallel_rework"), Case("parallel_rework")
    for case in (warm_case, cold_case):
        case.start()
    assert _shown(warm_case) == _shown(cold_case)
    passes = 0
    while not warm_case.result.completed:  # type: ignore[union-attr]
        element = sorted(t.element_id for t in warm_case.result.ready_tasks)[0]  # type: ignore[union-attr]
        values = {"redo": passes < 9, "round": passes}
        for case in (warm_case, cold_case):
            case.complete(element, **values)
        assert _shown(warm_case) == _shown(cold_case)
        passes += 1
    stats = warm_case.runner.warm
    assert passes > 5 and (stats.hits, stats.misses) == (passes, 0)


def test_a_failed_run_keeps_nothing_and_the_next_call_loads_the_stored_state() -> None:
    case = _warm_case("rework_loop")
    case.start()
    before = case.state
    with pytest.raises(NotFound):  # a task that is not there: the run fails
        case.runner.complete("rework_loop", case.load, before, str(uuid4()), {}, "x", now=T0)
    assert len(case.runner.warm) == 0  # taken for the failed run, not put back
    case.complete("work", redo=False)
    assert case.result is not None and case.result.completed
    assert case.runner.warm.misses == 1


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),  # JSON gives a list back
        {1: "one"},  # ... a string key
        [{"nested": (3,)}],
        datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8))),  # ... a fixed offset only
        {1, 2},  # ... a list
    ],
    ids=["tuple", "int-key", "nested-tuple", "offset-time", "set"],
)
def test_values_json_would_change_are_never_kept_warm(value: Any) -> None:
    runner = ProcessRunner(SpecCache(), warm=WarmWorkflows(8))
    spec_json = compiled("rework_loop")
    runner.start("rework_loop", lambda: spec_json, {"odd": value}, now=T0)
    assert len(runner.warm) == 0
    runner.start("rework_loop", lambda: spec_json, {"plain": [1, {"a": None}], "at": T0}, now=T0)
    assert len(runner.warm) == 1


@pytest.mark.parametrize(
    "value", [(1, 2), {1: "one"}, [{"nested": {3}}]], ids=["tuple", "int-key", "nested-set"]
)
def test_a_value_a_completion_sets_is_checked_where_it_was_set(value: Any) -> None:
    # The tasks after a completion share its values (shallow copies); the check looks at each
    # value where it differs from the parent's, so the one task that set it must be looked at.
    case = _warm_case("parallel_rework")
    case.start()
    element = sorted(t.element_id for t in case.result.ready_tasks)[0]  # type: ignore[union-attr]
    case.complete(element, redo=True, round=0)
    assert len(case.runner.warm) == 1
    element = sorted(t.element_id for t in case.result.ready_tasks)[0]  # type: ignore[union-attr]
    case.complete(element, redo=True, round=1, odd=value)
    assert len(case.runner.warm) == 0
    element = sorted(t.element_id for t in case.result.ready_tasks)[0]  # type: ignore[union-attr]
    case.complete(element, redo=True, round=2, odd="plain again")
    assert len(case.runner.warm) == 1


def test_a_warm_workflow_is_kept_per_process_version_and_spec() -> None:
    spec_json = compiled("rework_loop")
    runner = ProcessRunner(SpecCache(), warm=WarmWorkflows(8))
    state = runner.start("v1", lambda: spec_json, {}, now=T0).state
    spec, subs = runner.cache.get("v1", lambda: spec_json)
    assert runner.warm.take("v2", state, spec) is None  # the same text under another version
    workflow = runner.warm.take("v1", state, spec)
    assert workflow is not None
    assert runner.warm.take("v1", state, spec) is None  # taken once, never shared
    runner.warm.keep("v1", state, workflow)
    assert runner.warm.take("v1", state, spec_from_json(spec_json)[0]) is None  # another spec
    assert len(runner.warm) == 0  # and the entry is gone


def test_the_cache_holds_at_most_its_size_and_text_and_zero_keeps_none() -> None:
    spec_json = compiled("rework_loop")
    runner = ProcessRunner(SpecCache(), warm=WarmWorkflows(2))
    for _ in range(5):
        runner.start("rework_loop", lambda: spec_json, {}, now=T0)
    assert len(runner.warm) == 2
    assert runner.warm.chars == sum(len(state) for _, state in runner.warm._items)
    by_text = ProcessRunner(SpecCache(), warm=WarmWorkflows(8, max_chars=2 * runner.warm.chars))
    for _ in range(5):
        by_text.start("rework_loop", lambda: spec_json, {}, now=T0)
    # About four states fit in the text (their lengths differ by a character or two), not eight.
    assert 3 <= len(by_text.warm) <= 4 and by_text.warm.chars <= by_text.warm.max_chars
    off = ProcessRunner(SpecCache())
    off.start("rework_loop", lambda: spec_json, {}, now=T0)
    assert len(off.warm) == 0


def _started() -> tuple[str, Any, dict[str, Any]]:
    """A stored state of the rework loop just started, and the spec it loads with."""
    spec_json = compiled("rework_loop")
    spec, subs = spec_from_json(spec_json)
    state = ProcessRunner(SpecCache()).start("rework_loop", lambda: spec_json, {}, now=T0).state
    return state, spec, subs


def test_verify_catches_a_warm_workflow_changed_after_it_was_kept() -> None:
    state, spec, subs = _started()
    cache = WarmWorkflows(4)
    workflow = load_state(state, spec, subs)
    cache.keep("rework_loop", state, workflow)
    workflow.task_tree.data["changed"] = True
    with pytest.raises(AssertionError, match="no longer dumps"):
        cache.take("rework_loop", state, spec)


def test_only_workflows_on_the_safe_script_engine_are_kept() -> None:
    state, spec, subs = _started()
    cache = WarmWorkflows(4)
    workflow = load_state(state, spec, subs)
    workflow.script_engine = object()  # what a stock SpiffWorkflow workflow would carry
    cache.keep("rework_loop", state, workflow)
    assert len(cache) == 0
    cache.keep("rework_loop", state, load_state(state, spec, subs))
    assert len(cache) == 1
