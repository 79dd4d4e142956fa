"""Tiny processes driven through the engine facade (ProcessRunner) without HTTP or a database;
kit.Case loads every returned state again and checks it shows the same (save/restore at every
step)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kit import T0, Case

from bpmn_service.engine import NotWaiting, ProcessRunner, SpecCache
from bpmn_service.engine.runner import ErrorNotCaught
from bpmn_service.errors import InvalidState, NotFound, WorkflowFailed


def test_a_branch_that_changed_nothing_does_not_revert_the_others() -> None:
    case = Case("branch_merge")
    case.start(status="new")
    assert case.open_elements == ["survey"]
    assert case.result is not None and case.result.next_timer_at == T0 + timedelta(hours=1)
    case.complete("survey", status="surveyed")
    assert not case.result.completed  # the other branch still waits for its timer
    result = case.wait(hours=2)  # the waiting branch arrives last at the join
    assert result.completed
    assert result.variables["status"] == "surveyed"  # SpiffWorkflow's merge gave "new"
    assert result.variables["reminded"] is True


def test_parallel_branches_join_once() -> None:
    case = Case("parallel_join")
    result = case.start()
    assert case.open_elements == ["survey"] and not result.completed
    result = case.complete("survey", decision="ok")
    assert result.completed
    assert result.variables["decision"] == "ok" and result.variables["reminded"] is True


def test_timers_run_on_the_injected_clock() -> None:
    case = Case("boundary_timer")
    result = case.start()
    assert result.next_timer_at == T0 + timedelta(days=1)
    assert case.wait(hours=23).next_timer_at == T0 + timedelta(days=1)  # not yet
    result = case.wait(hours=2)  # the non-interrupting nudge fires, the task stays
    assert "note" in [step.element_id for step in result.steps]
    assert case.open_elements == ["review"]
    assert result.next_timer_at == T0 + timedelta(days=2)
    result = case.wait(days=1)  # the interrupting timer replaces the task
    assert case.open_elements == ["escalate"]
    assert case.complete("escalate").completed


def test_completing_the_task_before_its_timers_ends_them() -> None:
    case = Case("boundary_timer")
    case.start()
    result = case.complete("review")
    assert result.completed and result.next_timer_at is None


def test_a_message_is_awaited_and_its_variables_decide() -> None:
    case = Case("message_wait")
    result = case.start()
    assert [(w.element_id, w.message_name) for w in result.waits if not w.event_subprocess] == [
        ("wait_payment", "paid")
    ]
    result = case.deliver("paid", amount=250)
    assert case.open_elements == ["refund"]
    assert case.complete("refund").completed


def test_a_message_nothing_waits_for_is_refused_and_nothing_changes() -> None:
    case = Case("message_wait")
    case.start()
    before = case.state
    with pytest.raises(NotWaiting):
        case.deliver("refund_done")
    assert case.state == before


def test_an_event_subprocess_does_not_leak_into_later_instances() -> None:
    # Two instances of one cached spec: the first triggers its event subprocess (SpiffWorkflow
    # connected it to the shared spec, so every later instance started it too).
    runner = ProcessRunner(SpecCache())
    first, second = Case("message_wait", runner=runner), Case("message_wait", runner=runner)
    first.start()
    assert first.deliver("cancel").completed
    result = second.start()
    assert not result.completed
    assert second.deliver("paid", amount=1).completed


def test_a_workers_bpmn_error_is_caught_by_the_boundary_event() -> None:
    case = Case("external_error")
    result = case.start()
    (work,) = result.external_tasks
    assert work.topic == "meter"
    result = case._checked(
        case.runner.throw_error(
            case.name, case.load, case.state, work.id, "NO_POWER", {"fault": "fuse"}, now=T0
        )
    )
    assert case.open_elements == ["repair"]
    other = Case("external_error")
    (work,) = other.start().external_tasks
    with pytest.raises(ErrorNotCaught):
        other.runner.throw_error(other.name, other.load, other.state, work.id, "OTHER", {}, now=T0)


def test_inclusive_gateway_waits_for_the_branches_taken() -> None:
    case = Case("inclusive")
    case.start(civil_works=True, new_meter=True)
    assert case.open_elements == ["civil", "meter"]
    assert not case.complete("meter").completed
    assert case.complete("civil").completed
    none = Case("inclusive")
    result = none.start(civil_works=False, new_meter=False)
    assert result.completed and result.variables["skipped"] is True


def test_multi_instance_tasks_one_per_item() -> None:
    case = Case("signers")
    result = case.start(signer_list=["wang", "li", "zhao"])
    assert sorted(t.form_values["signer"] for t in result.ready_tasks) == ["li", "wang", "zhao"]
    for _ in range(3):
        assert case.result is not None
        task = case.result.ready_tasks[0]
        result = case._checked(
            case.runner.complete(case.name, case.load, case.state, task.id, {}, "t", now=T0)
        )
    assert result.completed and result.variables["signed"] == 3


def test_a_failing_script_changes_nothing() -> None:
    case = Case("failing_script")
    case.start(total=10, parts=0)
    before = case.state
    with pytest.raises(WorkflowFailed, match="divide|Divide|ZeroDivision"):
        case.complete("enter")
    assert case.state == before  # the caller keeps the stored state
    assert case.complete("enter", parts=2).variables["share"] == 5


def test_tasks_that_are_not_ready_or_not_there_are_refused() -> None:
    case = Case("parallel_join")
    case.start()
    task = case.ready("survey")
    done = case.complete("survey")
    with pytest.raises(InvalidState):
        case.runner.complete(case.name, case.load, done.state, task.id, {}, "t", now=T0)
    with pytest.raises(NotFound):
        case.runner.complete(case.name, case.load, done.state, "not-a-uuid", {}, "t", now=T0)
