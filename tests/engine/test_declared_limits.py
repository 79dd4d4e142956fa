"""Time limits declared on elements (engine/declared_limits.py) and the engine operations the
service's clocks use: which steps a limit covers, malformed declarations, the completed elements
a run reports, and withdrawing an escalation event subprocess."""

from __future__ import annotations

import pytest
from kit import BPMN, Case

from bpmn_service.engine.declared_limits import read_declarations
from bpmn_service.errors import InvalidState

XML = (BPMN / "declared_limit_escalation.bpmn").read_bytes()


def test_a_limit_covers_the_steps_between_its_start_and_its_stop() -> None:
    found = read_declarations(XML, "declared_limit_demo")
    assert found.problems == ()
    [limit] = found.limits.values()
    assert (limit.starts, limit.stops, limit.pauses) == (
        ("accept",),
        ("reply",),
        ("customerAnswers",),
    )
    # Not the start itself, nor the escalation event subprocess beside the flow.
    assert limit.covered == ("customerAnswers", "objected", "reply", "survey")
    assert found.by_element("start") == {"accept": ("X-T-REPLY",)}


def test_another_process_of_the_file_declares_nothing() -> None:
    assert read_declarations(XML, "no_such_process").limits == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"timeLimit.start"', '"timeLimit.begin"', "expected one of timeLimit.start"),
        (
            'name="timeLimit.start" value="X-T-REPLY"',
            'name="timeLimit.start" value="X-T-REPLY, 3"',
            "name a row of the limit table",
        ),
        ('name="timeLimit.stop"', 'name="timeLimit.pause"', "has no element with timeLimit.stop"),
    ],
)
def test_malformed_declarations_are_problems(old: str, new: str, message: str) -> None:
    text = XML.decode()
    assert old in text
    found = read_declarations(text.replace(old, new, 1), "declared_limit_demo", "x.bpmn")
    assert any(message in p.message for p in found.problems), found.problems


def test_a_run_reports_every_element_it_completed_in_order() -> None:
    case = Case("declared_limit_escalation")
    case.start(customerCategory="LV")
    result = case.complete("accept")
    assert result.finished == ["accept"]
    result = case.complete("survey", objection=True)
    assert result.finished == ["survey", "objected"]


def test_withdrawing_an_escalation_lets_the_case_end() -> None:
    case = Case("declared_limit_escalation")
    case.start(customerCategory="LV")
    case.complete("accept")
    case.deliver("time_limit_breached", timeLimitEscalateTo=["leadership"])
    assert case.open_elements == ["supervise", "survey"]
    with pytest.raises(InvalidState):  # a task of the main flow is not an escalation
        case.runner.withdraw_event_subprocess(
            case.name, case.load, case.state, case.ready("survey").id, now=case.now
        )
    case.complete("survey", objection=False)
    assert not case.complete("reply").completed  # the escalation is still open
    supervise = case.ready("supervise")
    result = case._checked(
        case.runner.withdraw_event_subprocess(
            case.name, case.load, case.state, supervise.id, now=case.now
        )
    )
    assert result.completed and result.ready_tasks == []
