"""Every engine run has a budget of steps and time, and of the size of the variables it leaves;
a timer cycle repeats at most once a second;
errors a value causes inside the engine are WorkflowFailed naming the element (no other error
type escapes the facade)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from kit import BPMN, Case

from bpmn_service.engine import (
    BudgetExceeded,
    ProcessRunner,
    RunBudget,
    SpecCache,
    VariablesTooLarge,
    compile_bpmn,
)
from bpmn_service.errors import InvalidBpmn, WorkflowFailed


def small(max_steps: int = 200, max_seconds: float = 30.0) -> ProcessRunner:
    return ProcessRunner(SpecCache(), RunBudget(max_steps, max_seconds))


def test_a_loop_that_never_waits_stops_at_the_step_budget_naming_its_element() -> None:
    case = Case("endless_loop", runner=small(max_steps=200))
    with pytest.raises(BudgetExceeded) as raised:
        case.start(n=0, limit=10**9)
    assert raised.value.element in {"count", "again"}
    assert raised.value.details == {"element": raised.value.element, "limit": "steps"}
    assert "200 engine steps" in raised.value.message


def test_the_same_loop_within_its_budget_runs_to_its_wait() -> None:
    case = Case("endless_loop", runner=small(max_steps=200))
    result = case.start(n=0, limit=20)
    assert result.variables["n"] == 20 and case.open_elements == ["review"]


def test_a_run_over_its_time_budget_stops() -> None:
    case = Case("endless_loop", runner=small(max_steps=10**7, max_seconds=0.2))
    with pytest.raises(BudgetExceeded) as raised:
        case.start(n=0, limit=10**9)
    assert raised.value.limit == "seconds"


@pytest.mark.parametrize("cycle", ["R/PT0S", "R99999999/PT0S", "R5/PT0.5S", "R/P0D"])
def test_a_zero_or_sub_second_cycle_from_a_variable_fails_at_its_timer(cycle: str) -> None:
    case = Case("cycle_timer")
    with pytest.raises(WorkflowFailed) as raised:
        case.start(cycle=cycle, reminders=0)
    assert raised.value.details == {"element": "remind"}
    assert "at most once a second" in raised.value.message


def test_a_cycle_value_that_is_not_iso_8601_fails_at_its_timer() -> None:
    case = Case("cycle_timer")
    with pytest.raises(WorkflowFailed) as raised:
        case.start(cycle="every day", reminders=0)
    assert raised.value.details == {"element": "remind"}
    assert 'the cycle "every day" is not an ISO-8601 repeating interval' in raised.value.message


def test_a_one_hour_cycle_from_a_variable_is_accepted_and_moves_on_by_the_hour() -> None:
    case = Case("cycle_timer")
    result = case.start(cycle="R3/PT1H", reminders=0)
    assert result.next_timer_at == case.now + timedelta(hours=1)
    result = case.wait(hours=1, minutes=1)
    assert result.next_timer_at == case.now.replace(minute=0) + timedelta(hours=1)


@pytest.mark.parametrize("cycle", ["R/PT0S", "R99999999/PT0S", "R/PT0.1S"])
def test_a_literal_zero_or_sub_second_cycle_is_refused_at_deploy(cycle: str) -> None:
    text = (BPMN / "cycle_timer.bpmn").read_text().replace("${cycle}", cycle)
    with pytest.raises(InvalidBpmn) as raised:
        compile_bpmn(text.encode(), "cycle.bpmn", lambda _key, _lane: True)
    [problem] = raised.value.problems
    assert problem.element == "remind_def" and "at most once a second" in problem.message


@pytest.mark.parametrize(
    ("script", "kind"),
    [("reminders = 10.0 ** 999", "Overflow"), ("reminders = sum([[1], [2]], [])", "numbers only")],
)
def test_a_script_value_the_engine_cannot_keep_is_workflow_failed(script: str, kind: str) -> None:
    text = (BPMN / "endless_loop.bpmn").read_text().replace("n = n + 1", script)
    runner = ProcessRunner(SpecCache())
    spec = compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True).spec_json
    with pytest.raises(WorkflowFailed, match=kind):
        runner.start("x", lambda: spec, {"n": 0, "limit": 0}, now=Case("endless_loop").now)


def test_a_function_as_a_value_is_refused_at_deploy() -> None:
    text = (BPMN / "endless_loop.bpmn").read_text().replace("n = n + 1", "n = len")
    with pytest.raises(InvalidBpmn, match="a function is not a value"):
        compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True)


def test_one_long_script_stops_at_the_runs_time_budget() -> None:
    """The time limit is also checked inside the interpreter: one script task whose lines each
    stay within the expression limits, but take seconds together, is interrupted."""
    busy = "len([c for c in 'x' * 9999 if c and c and c and c and c and c and c and c and c])"
    lines = "\n".join(f"w{i} = {busy}" for i in range(190))
    text = (BPMN / "endless_loop.bpmn").read_text().replace("n = n + 1", lines + "\nn = n + 1")
    runner = ProcessRunner(SpecCache(), RunBudget(10**6, 0.2))
    spec = compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True).spec_json
    began = time.monotonic()
    with pytest.raises(BudgetExceeded) as raised:
        runner.start("x", lambda: spec, {"n": 0, "limit": 5}, now=Case("endless_loop").now)
    assert raised.value.limit == "seconds"
    assert time.monotonic() - began < 3.0  # all 190 lines take about 7 s


# A case's variables are capped as JSON (RunBudget.max_variables_bytes, BPMN_MAX_VARIABLES_BYTES,
# 4 MB by default): copies of one value under many names cost an expression nothing, yet each
# is stored in full (a hundred copies of a 1.9 MB list: 200 MB stored, 1 GB of server memory).


def test_copies_of_a_large_value_under_many_names_are_refused_naming_the_biggest() -> None:
    case = Case("copies_by_name")
    with pytest.raises(VariablesTooLarge) as raised:
        case.start(size=99_999)  # each of l, v0 … v3 is 1.9 MB as JSON
    error = raised.value
    assert error.code == "variables_too_large" and error.element == "copy"
    assert error.details["element"] == "copy" and error.details["max_bytes"] == 4 * 1024 * 1024
    # Refused at the script's end, as soon as its values are over the limit together (the
    # list is measured once, however many names hold it).
    assert error.details["variables"] == [
        {"name": "v1", "bytes": 1_900_039},
        {"name": "v0", "bytes": 1_900_039},
        {"name": "l", "bytes": 1_900_039},
        {"name": "s", "bytes": 100_001},
    ]
    assert "at element copy" in error.message and "BPMN_MAX_VARIABLES_BYTES" in error.message
    assert case.result is None  # nothing to store
    # Smaller copies are stored, and the case goes on from its stored state.
    assert case.start(size=9_999).variables["v3"] == ["x" * 9_999] * 19
    assert case.complete("review").completed


def test_the_cap_counts_bytes_not_characters() -> None:
    runner = ProcessRunner(SpecCache(), RunBudget(max_variables_bytes=1_000_000))
    case = Case("copies_by_name", runner=runner)
    case.start(size=1, doc="x" * 400_000)  # 400 kB
    with pytest.raises(VariablesTooLarge) as raised:
        case.start(size=1, doc="验" * 400_000)  # 400,000 characters, 1.2 MB
    # Given at the start, not by a script: the run's end measures the case's variables.
    assert raised.value.details["variables"][0] == {"name": "doc", "bytes": 1_200_002}
    assert "the case's variables would take" in raised.value.message


def test_the_run_end_check_counts_every_copy_of_a_value() -> None:
    # Each script line within the limit on its own, the case's variables over it in all.
    runner = ProcessRunner(SpecCache(), RunBudget(max_variables_bytes=30_000))
    case = Case("copies_by_name", runner=runner)
    case.start(size=200)  # each list 3.9 kB, 5 of them: under 30 kB
    with pytest.raises(VariablesTooLarge) as raised:
        case.start(size=200, a=["y" * 300] * 19, b=["y" * 300] * 19, c=["y" * 300] * 19)
    assert "the case's variables would take" in raised.value.message
    assert {v["name"] for v in raised.value.details["variables"][:3]} == {"a", "b", "c"}


def test_many_parallel_steps_over_the_budget_are_not_called_a_loop() -> None:
    """40 parallel script tasks: the message named the start event as the place of "most steps"
    and blamed "a loop that never waits" (a model of 1,000 parallel script tasks took 10 s in
    152 steps)."""
    case = Case("wide_fan", runner=small(max_steps=30))
    with pytest.raises(BudgetExceeded) as raised:
        case.start()
    message = raised.value.message
    assert "loop that never waits" not in message and "most steps at" not in message
    assert "after 31 steps at 30 elements" in message  # one element (the join) twice
    assert "so this is no loop" in message and "many parallel branches" in message
    assert raised.value.element is not None and raised.value.element.startswith("s")
    assert f"the last at element {raised.value.element}" in message
