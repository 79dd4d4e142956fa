"""Migrating a case whose active task the target version gives a boundary event: the migrated
task gets it, as a task started on the target would (Camunda instantiates the target's boundary
events of a migrated activity). A timer counts from the migration."""

from __future__ import annotations

from datetime import timedelta

from kit import T0, Case


def _at_review() -> Case:
    case = Case("late_note_untimed")
    case.start(amount=5)
    case.complete("enter")
    assert case.open_elements == ["review"]
    assert case.result is not None and case.result.next_timer_at is None
    return case


def test_the_target_s_boundary_timer_is_started_on_the_migrated_task() -> None:
    case = _at_review()
    review = case.ready("review").id
    case.now = T0 + timedelta(minutes=30)
    plan = case.plan("late_note_fixed")
    assert plan.ok, plan.problems
    assert plan.started == [{"element_id": "nudge", "attached_to": "review", "kind": "timer"}]
    found = case.migrate("late_note_fixed")
    assert found.ok and found.started == plan.started
    assert case.ready("review").id == review  # the same task
    assert case.result is not None
    assert case.result.next_timer_at == case.now + timedelta(hours=1)
    fired = case.wait(hours=2)
    assert fired.variables["note"] == "late: 5"
    assert case.ready("review").id == review
    assert case.complete("review").completed


def test_a_migration_between_versions_with_the_same_boundary_events_starts_none() -> None:
    case = Case("late_note_faulty")
    case.start(amount=5)
    case.complete("enter")
    plan = case.plan("late_note_fixed")
    assert plan.ok and plan.started == []
    case.migrate("late_note_fixed")
    assert case.result is not None and case.result.next_timer_at == T0 + timedelta(hours=1)


def test_a_boundary_event_the_target_lacks_is_dropped_and_the_task_stays() -> None:
    """As Camunda drops unmapped boundary events: the migration was refused ("the target
    version has no element nudge; map it"), and no mapping could satisfy it."""
    case = Case("late_note_fixed")
    case.start(amount=5)
    case.complete("enter")
    review = case.ready("review").id
    assert case.result is not None and case.result.next_timer_at is not None
    plan = case.plan("late_note_untimed")
    assert plan.ok, plan.problems
    assert plan.dropped == [{"element_id": "nudge", "attached_to": "review", "kind": "timer"}]
    found = case.migrate("late_note_untimed")
    assert found.ok and found.dropped == plan.dropped
    assert case.ready("review").id == review  # the same task, without its timer
    assert case.result is not None and case.result.next_timer_at is None
    assert case.wait(hours=3).ready_tasks  # nothing fires
    assert case.complete("review").completed
