"""Runs a model's values cannot go on from: a timer whose expression gives a value that is no
ISO-8601 date, duration or cycle, and a gateway where no condition holds and no default flow is
drawn. Each fails as WorkflowFailed naming the element (its id and name), the value and what to
do; the caller keeps the state it had (nothing of the run is stored)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from kit import T0, Case

from bpmn_service.engine.expressions import MAX_CAUSE_CHARS
from bpmn_service.errors import WorkflowFailed

# Values under which every timer of timer_values.bpmn starts.
GOOD = {
    "waitFor": "P2D",
    "remindAt": "2026-03-03T09:00:00+08:00",
    "every": "R2/P1D",
    "chaseFor": "PT4H",
}


def _start_failing(**values: Any) -> WorkflowFailed:
    case = Case("timer_values")
    with pytest.raises(WorkflowFailed) as failed:
        case.start(**{**GOOD, **values})
    assert case.result is None  # nothing to store
    return failed.value


def test_good_timer_values_start_every_timer() -> None:
    case = Case("timer_values")
    result = case.start(**GOOD)
    assert case.open_elements == ["review"]
    assert result.next_timer_at == T0 + timedelta(hours=-8, days=1)  # the reminder, 01:00 UTC


def test_a_duration_that_is_no_iso_duration_names_the_timer_and_the_value() -> None:
    error = _start_failing(waitFor="3 months")
    assert error.details == {"element": "wait"}
    assert (
        'timer wait (等待): the duration "3 months" is not an ISO-8601 duration such as P3M or PT4H'
        in error.message
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("waitFor", "2 days", 'the duration "2 days" is not an ISO-8601 duration'),
        ("waitFor", None, "the duration is empty (its expression gave None); expected an ISO-8601"),
        ("waitFor", 5, "the duration 5 (int, not a text) is not an ISO-8601 duration"),
        ("waitFor", "", 'the duration "" is not an ISO-8601 duration'),
        ("waitFor", "P", 'the duration "P" is not an ISO-8601 duration'),
        ("waitFor", "P99999Y", "beyond the dates the engine can hold"),
        # Added a month at a time by SpiffWorkflow: minutes of one thread before it was refused.
        ("waitFor", "P99999999Y", "beyond the dates the engine can hold"),
        ("every", "R2/P99999999M", "beyond the dates the engine can hold"),
        (
            "remindAt",
            "tomorrow",
            'timer remind (Reminder): the date "tomorrow" is not an ISO-8601 date',
        ),
        ("remindAt", None, "timer remind (Reminder): the date is empty"),
        ("remindAt", ["2026-03-03"], "the date ['2026-03-03'] (list, not a text)"),
        ("remindAt", "P3D", 'the date "P3D" is not an ISO-8601 date and time'),
        (
            "every",
            "every day",
            'timer repeat (Every): the cycle "every day" is not an ISO-8601 repeating',
        ),
        ("every", "R/P1X", 'the cycle "R/P1X" is not an ISO-8601 repeating interval'),
        ("every", None, "timer repeat (Every): the cycle is empty"),
        ("every", 3.5, "the cycle 3.5 (float, not a text)"),
        ("every", "R/PT0S", "at most once a second"),
        # int() reads "-1" (for ever, as "R/") and "1_0"; SpiffWorkflow drops a duration's sign.
        ("every", "R-1/PT1S", 'the cycle "R-1/PT1S" is not an ISO-8601 repeating interval'),
        ("every", "R1_0/P1D", 'the cycle "R1_0/P1D" is not an ISO-8601 repeating interval'),
        ("waitFor", "-PT5S", 'the duration "-PT5S" is not an ISO-8601 duration'),
        ("every", "R2/-P1D", 'the cycle "R2/-P1D" is not an ISO-8601 repeating interval'),
    ],
)
def test_a_bad_timer_value_from_an_expression_fails_the_start_naming_the_timer(
    variable: str, value: Any, says: str
) -> None:
    element = {"waitFor": "wait", "remindAt": "remind", "every": "repeat"}[variable]
    error = _start_failing(**{variable: value})
    assert error.code == "workflow_failed"
    assert error.details == {"element": element}
    assert says in error.message


def test_a_bad_duration_reached_when_a_timer_fires_fails_that_run_only() -> None:
    case = Case("timer_values")
    case.start(**{**GOOD, "chaseFor": "3 months"})
    before = case.state
    with pytest.raises(WorkflowFailed) as failed:
        case.wait(days=3)  # `wait` fires; `chase` and its timer `give_up` start
    assert failed.value.details == {"element": "give_up"}
    assert 'timer give_up (Give up): the duration "3 months"' in failed.value.message
    assert case.state == before


def test_no_condition_and_no_default_at_an_exclusive_gateway_names_it() -> None:
    case = Case("no_default_gateway")
    case.start()
    before = case.state
    with pytest.raises(WorkflowFailed) as failed:
        case.complete("decide", voltage="medium")
    assert failed.value.details == {"element": "route"}
    assert failed.value.message == (
        "the process could not advance at element route: gateway route (Which voltage?): none "
        "of its outgoing flows' conditions holds and it has no default flow; add a default "
        "flow or check the conditions and the variables they read"
    )
    assert case.state == before
    assert case.complete("decide", voltage="low").completed


def test_no_condition_and_no_default_at_an_inclusive_gateway_names_it() -> None:
    case = Case("no_default_gateway")
    case.start()
    with pytest.raises(WorkflowFailed) as failed:
        case.complete("decide", voltage="high", civil=False, meter=False)
    assert failed.value.details == {"element": "works"}
    assert "gateway works (Which works?): none of its outgoing flows' conditions holds" in (
        failed.value.message
    )
    case.complete("decide", voltage="high", civil=True, meter=False)
    assert case.open_elements == ["civil"]


def _condition_failing(**values: Any) -> WorkflowFailed:
    case = Case("failing_condition")
    case.start()
    before = case.state
    with pytest.raises(WorkflowFailed) as failed:
        case.complete(
            "enter", **{"idVerified": True, "eContractRef": "HT-1", "amount": 5, **values}
        )
    assert case.state == before
    return failed.value


def test_a_condition_that_raises_names_the_error_and_its_text() -> None:
    """A gateway's condition that failed said only "Error evaluating expression '…'": not the
    ValueError or TypeError, nor the value, that say what went wrong."""
    error = _condition_failing(eContractRef="HT2026-201")
    assert error.details == {"element": "verify"}
    assert error.message == (
        "the process could not advance at element verify: Error evaluating expression "
        "'not idVerified or int(eContractRef[3:]) < 0': ValueError: invalid literal for int() "
        "with base 10: '026-201'."
    )
    error = _condition_failing(amount=500)
    assert error.details == {"element": "size"}
    assert error.message.endswith(
        "at element size: Error evaluating expression 'amount > \"100\"': TypeError: '>' not "
        "supported between instances of 'int' and 'str'."
    )


def test_the_cause_of_a_failed_condition_is_cut_to_a_bounded_length() -> None:
    error = _condition_failing(eContractRef="HT-" + "9" * 50 + "x" * 5000)
    cause = error.message.split(": ValueError: ", 1)[1]
    assert len(cause) <= MAX_CAUSE_CHARS + 1 and cause.endswith("….")
    assert "Traceback" not in error.message and "/" not in cause
