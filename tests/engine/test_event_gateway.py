"""The catch events behind an event-based gateway are the case's waits: a message subscription
and a timer (SpiffWorkflow 3.2 moves their events into the gateway's task, where the service's
projection of waits did not look, so the case seemed stuck). The first to come decides; the
other is withdrawn. kit.Case loads every returned state again (save/restore at every step)."""

from __future__ import annotations

from datetime import timedelta

from kit import T0, Case


def _waits(case: Case) -> list[tuple[str, str]]:
    assert case.result is not None
    return [(w.element_id, w.message_name) for w in case.result.waits if not w.event_subprocess]


def test_the_gateway_awaits_the_message_and_the_timer() -> None:
    case = Case("event_gateway")
    result = case.start()
    assert not result.completed and case.open_elements == []
    assert _waits(case) == [("Event_docs", "docs_supplied")]
    assert result.next_timer_at == T0 + timedelta(minutes=5)


def test_the_message_wins_and_the_timer_is_withdrawn() -> None:
    case = Case("event_gateway")
    case.start()
    result = case.wait(minutes=1)  # not yet due: still both
    assert _waits(case) == [("Event_docs", "docs_supplied")]
    result = case.deliver("docs_supplied", docs="meter photo")
    assert case.open_elements == ["Task_accept"]
    assert _waits(case) == [] and result.next_timer_at is None
    assert result.variables["docs"] == "meter photo"
    result = case.wait(minutes=10)  # the withdrawn timer never fires
    assert case.open_elements == ["Task_accept"]
    assert case.complete("Task_accept").completed


def test_the_timer_wins_and_the_message_is_withdrawn() -> None:
    case = Case("event_gateway")
    case.start()
    result = case.wait(minutes=6)
    assert case.open_elements == ["Task_chase"]
    assert _waits(case) == [] and result.next_timer_at is None
    assert case.complete("Task_chase").completed
