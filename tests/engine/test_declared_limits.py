"""Time limits declared on elements (engine/declared_limits.py) and the engine operations the
service's clocks use: which steps a limit covers, malformed declarations, the completed elements
a run reports, and withdrawing an escalation event subprocess."""

from __future__ import annotations

import pytest
from kit import BPMN, T0, Case, compiled

from bpmn_service.engine.declared_limits import read_declarations
from bpmn_service.engine.live import LiveProcess
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


# -- the completions a live (simulated) instance reports -----------------------------------------

SIMULATED = [
    ("accept", {}),
    ("survey", {"objection": True}),
    ("customerAnswers", {}),
    ("survey", {"objection": False}),
    ("reply", {}),
    ("visit", {}),
]


def test_a_live_instance_reports_the_completions_a_service_run_reports() -> None:
    """The simulation's clocks follow live instances; with every element watched, each step
    reports the same completions, in the same order, as the service's runner on its stored
    state (a different walk: through the task index by element)."""
    case = Case("simulated_limits")
    every = {
        "start",
        "accept",
        "survey",
        "objected",
        "customerAnswers",
        "reply",
        "visit",
        "end",
    }
    instance, view = LiveProcess(case.spec_json, frozenset(every)).start({}, now=T0)
    assert view.finished == case.start().finished
    for element, values in SIMULATED:
        expected = case.complete(element, **values).finished
        task = next(t for t in view.ready if t.element_id == element)
        view = instance.complete(task.id, values, actor="tester", now=T0)
        assert view.finished == expected, element
    assert view.completed and "end" in view.finished


def test_a_live_instance_reports_only_the_watched_completions() -> None:
    live = LiveProcess(compiled("simulated_limits"), frozenset({"objected", "visit"}))
    instance, view = live.start({}, now=T0)
    seen = [view.finished]
    for element, values in SIMULATED:
        task = next(t for t in view.ready if t.element_id == element)
        view = instance.complete(task.id, values, actor="tester", now=T0)
        seen.append(view.finished)
    assert seen == [[], [], ["objected"], [], ["objected"], [], ["visit"]]
    # Nothing watched (a process that declares no limits): nothing reported.
    instance, view = LiveProcess(compiled("simulated_limits")).start({}, now=T0)
    task = next(t for t in view.ready if t.element_id == "accept")
    assert instance.complete(task.id, {}, actor="tester", now=T0).finished == []
