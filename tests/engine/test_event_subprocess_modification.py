"""Modifications (cancel, start_before) of elements inside event subprocesses, as Camunda has them.

`event_scopes` works on a case (`work`) beside two message event subprocesses: `query`
(non-interrupting: `answer`, then `confirm`) and `withdrawal` (interrupting: `refund`). A
start_before of an element inside one starts a run of it around that element, the start event
left out, so nothing is interrupted; a start_before of the event subprocess or of its start event
starts a run as if its event had come, so an interrupting one stops the rest of the case. Every
step is stored and loaded again (kit.Case).
"""

from __future__ import annotations

import pytest
from kit import T0, Case

from bpmn_service.engine import RunResult
from bpmn_service.engine.repair import Instruction
from bpmn_service.engine.serialization import load_state, spec_from_json
from bpmn_service.errors import Invalid, InvalidState


def _modify(case: Case, *steps: tuple[str, str]) -> RunResult:
    instructions = [Instruction(kind, element) for kind, element in steps]
    return case._checked(case.runner.modify(case.name, case.load, case.state, instructions, now=T0))


def _runs(case: Case) -> int:
    """How many runs of an event subprocess the stored state holds."""
    return len(load_state(case.state, *spec_from_json(case.spec_json)).subprocesses)


def _finish(case: Case, *elements: str) -> None:
    for element in elements:
        case.complete(element)
    assert case.result is not None and case.result.completed


def test_start_before_a_task_inside_a_waiting_event_subprocess_starts_a_run_around_it() -> None:
    """It was 422 'not part of this process version': only running subprocesses were searched."""
    case = Case("event_scopes")
    case.start(applicant="A")
    result = _modify(case, ("start_before", "answer"))
    assert case.open_elements == ["answer", "work"]
    assert case.ready("answer").id != case.ready("work").id
    # The run starts with the case's variables, and no start event of it waits in the run: the
    # query message still starts runs of its own, as before.
    assert result.variables["applicant"] == "A"
    assert sorted(w.element_id for w in result.waits) == ["queryStart", "withdrawStart"]
    assert all(w.event_subprocess for w in result.waits)
    case.deliver("query", asked="why")
    assert case.open_elements == ["answer", "answer", "work"]
    assert _runs(case) == 2
    for element in ("answer", "confirm"):
        case.complete_instance(element)
    assert case.open_elements == ["answer", "work"]
    _finish(case, "answer", "confirm", "work")


def test_start_before_inside_an_interrupting_event_subprocess_interrupts_nothing() -> None:
    """As in Camunda: the interruption belongs to the event, which a start_before skips."""
    case = Case("event_scopes")
    case.start()
    _modify(case, ("start_before", "refund"))
    assert case.open_elements == ["refund", "work"]
    case.complete("refund")
    assert case.open_elements == ["work"] and not case.result.completed  # type: ignore[union-attr]
    _finish(case, "work")


@pytest.mark.parametrize("element", ["withdrawal", "withdrawStart"])
def test_start_before_an_interrupting_event_subprocess_or_its_start_interrupts(
    element: str,
) -> None:
    """Starting before the event subprocess or its start event runs the start event as if its
    event had come: the interrupting one stops the work beside it (Camunda does the same)."""
    case = Case("event_scopes")
    case.start()
    result = _modify(case, ("start_before", element))
    assert case.open_elements == ["refund"]
    assert [w.element_id for w in result.waits if not w.event_subprocess] == []
    _finish(case, "refund")


@pytest.mark.parametrize("element", ["query", "queryStart"])
def test_start_before_a_non_interrupting_event_subprocess_or_its_start_keeps_the_work(
    element: str,
) -> None:
    """This was accepted for the event subprocess itself, and left a run waiting for its
    message beside the triggers, which the case then failed to step past."""
    case = Case("event_scopes")
    case.start()
    _modify(case, ("start_before", element))
    assert case.open_elements == ["answer", "work"]
    _finish(case, "answer", "confirm", "work")


def test_a_token_moves_from_the_main_flow_into_an_event_subprocess_with_its_variables() -> None:
    case = Case("event_scopes")
    case.start()
    case.result = case.runner.set_variables(case.name, case.load, case.state, {"n": 1}, now=T0)[0]
    _modify(case, ("cancel", "work"), ("start_before", "confirm"))
    assert case.open_elements == ["confirm"]
    assert case.result is not None and case.result.variables["n"] == 1
    _finish(case, "confirm")


def test_a_move_inside_a_running_event_subprocess_stays_in_that_run() -> None:
    case = Case("event_scopes")
    case.start()
    case.deliver("query", asked="why")
    _modify(case, ("cancel", "answer"), ("start_before", "confirm"))
    assert case.open_elements == ["confirm", "work"]
    assert _runs(case) == 1  # no second run: confirm went on in the run answer left
    assert case.result is not None and case.result.variables["asked"] == "why"
    _finish(case, "confirm", "work")


def test_cancelling_an_element_of_an_event_subprocess_that_is_not_running() -> None:
    case = Case("event_scopes")
    case.start()
    with pytest.raises(InvalidState, match="answer has no active token"):
        _modify(case, ("cancel", "answer"))
    with pytest.raises(Invalid, match="NOPE is not part of this process version"):
        _modify(case, ("start_before", "NOPE"))


def test_a_cancelled_message_catch_stops_waiting_for_its_message() -> None:
    """The cancel removed the catch event's token but left it among the engine's waiting events:
    the modification's answer (and so the case's subscriptions) still listed it."""
    case = Case("message_wait")
    case.start()
    result = _modify(case, ("cancel", "wait_payment"), ("start_before", "refund"))
    assert [w.element_id for w in result.waits] == ["cancel_start"]
    assert case.open_elements == ["refund"]
    with pytest.raises(InvalidState):
        case.deliver("paid", amount=5)
