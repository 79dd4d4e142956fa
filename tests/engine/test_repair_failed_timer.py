"""Repairing a case whose boundary timer failed when it fired: the run was rolled back, so the
stored state still holds the timer, due and not fired (the service parks it until a repair). A
repair or migration must not fire it inside its own run (SpiffWorkflow refreshes timers after its
last step, which left the timer READY and not run: reported as a loop), and the timer is due again
afterwards, for the scheduler to fire on whatever version the case is then on."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from kit import T0, Case

from bpmn_service.engine.repair import Instruction
from bpmn_service.errors import ServiceError, WorkflowFailed

DUE = T0 + timedelta(hours=1)  # the nudge timer on `review`, one hour after `enter` was completed


def _parked() -> Case:
    """A case at `review` whose one-hour reminder failed when it fired (its script adds a number
    to a text); nothing of that run was kept."""
    case = Case("late_note_faulty")
    case.start(amount=5)
    case.complete("enter")
    assert case.open_elements == ["review"] and case.result is not None
    assert case.result.next_timer_at == DUE
    with pytest.raises(WorkflowFailed, match="note"):
        case.wait(hours=2)
    return case


def test_a_case_whose_timer_failed_migrates_to_the_fix_and_its_timer_fires_there() -> None:
    case = _parked()
    review = case.ready("review").id
    plan = case.plan("late_note_fixed")
    assert plan.ok, plan.problems
    found = case.migrate("late_note_fixed")
    assert found.ok and found.mapped == plan.mapped
    assert case.name == "late_note_fixed"
    assert case.ready("review").id == review
    assert case.result is not None and case.result.next_timer_at == DUE  # due again
    assert "note" not in case.result.variables  # the migration fired nothing itself
    fired = case.wait(seconds=1)
    assert fired.variables["note"] == "late: 5"
    assert case.ready("review").id == review
    assert case.complete("review").completed


def test_a_start_before_beside_the_failed_timer_leaves_the_timer_due_again() -> None:
    case = _parked()
    moved = case.modify(("start_before", "enter"))
    assert case.open_elements == ["enter", "review"]
    assert moved.next_timer_at == DUE
    # The timer still fails on this version: the scheduler's next run says so again.
    with pytest.raises(WorkflowFailed, match="note"):
        case.wait(seconds=1)


def test_restarting_the_timed_task_starts_a_new_timer() -> None:
    case = _parked()
    old = case.ready("review").id
    restarted = case.modify(("cancel", "review"), ("start_before", "review"))
    assert case.open_elements == ["review"] and case.ready("review").id != old
    assert restarted.next_timer_at == case.now + timedelta(hours=1)


def test_no_modification_of_a_case_whose_timer_failed_is_a_crash_or_a_loop() -> None:
    case = _parked()
    elements = ["start", "enter", "review", "nudge", "note", "noted", "done", "elsewhere"]
    instructions = [(kind, e) for kind in ("cancel", "start_before") for e in elements]
    for steps in itertools.chain(
        ([i] for i in instructions), itertools.product(instructions, repeat=2)
    ):
        try:
            case.runner.modify(
                case.name, case.load, case.state, [Instruction(*s) for s in steps], now=case.now
            )
        except ServiceError as exc:
            assert "loop" not in exc.message, (steps, exc.message)


def test_a_start_before_of_an_activity_starts_its_boundary_events() -> None:
    case = Case("late_note_fixed")
    case.start(amount=5)
    case.modify(("start_before", "review"))  # beside `enter`, as Camunda starts it
    assert case.open_elements == ["enter", "review"]
    assert case.result is not None and case.result.next_timer_at == T0 + timedelta(hours=1)
    assert case.wait(hours=2).variables["note"] == "late: 5"


def test_cancelling_a_boundary_timer_leaves_its_task() -> None:
    """A supervisor drops a reminder: the cancel removed the whole activity with it (the split
    above both), and the branch was gone for good."""
    case = Case("late_note_fixed")
    case.start(amount=5)
    case.complete("enter")
    review = case.ready("review").id
    result = case.modify(("cancel", "nudge"))
    assert case.ready("review").id == review and result.next_timer_at is None
    assert case.wait(hours=3).ready_tasks
    assert case.complete("review").completed
