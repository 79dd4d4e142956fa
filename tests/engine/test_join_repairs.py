"""A waiting parallel join read and repaired: which branches it still waits for in its current
pass, and modifications that would give it a second token from a branch that already arrived."""

from __future__ import annotations

from typing import Any

import pytest
from kit import Case

from bpmn_service.errors import Invalid


def _join(case: Case) -> dict[str, Any]:
    [join] = [
        n for n in case.runner.activities(case.name, case.load, case.state) if n.kind == "join"
    ]
    assert join.element_id == "join"
    return join.details


def test_a_join_waits_only_for_the_branches_that_have_not_arrived() -> None:
    case = Case("parallel_rework")
    case.start(redo=False)
    case.complete("survey")
    case.complete("design")  # the survey's arrival is cancelled by the design's (only one waits)
    assert _join(case) == {"waiting_for": ["quote"], "arrived": ["survey", "design"]}


def test_arrivals_of_an_earlier_pass_of_a_rework_loop_do_not_count() -> None:
    case = Case("parallel_rework")
    case.start(redo=True)
    case.complete("survey")
    case.complete("design")
    case.complete("quote", redo=True)  # the join fires, the gateway sends the case round again
    assert case.open_elements == ["design", "quote", "survey"]
    case.complete("survey", redo=False)
    assert _join(case) == {"waiting_for": ["design", "quote"], "arrived": ["survey"]}
    case.complete("quote")
    assert _join(case) == {"waiting_for": ["design"], "arrived": ["survey", "quote"]}
    assert case.complete("design").completed


def test_starting_a_branch_that_already_arrived_at_the_waiting_join_is_refused() -> None:
    case = Case("parallel_rework")
    case.start(redo=False)
    case.complete("survey")
    case.complete("design")
    before = case.state
    with pytest.raises(Invalid, match="join join a second token from branch survey") as refused:
        case.modify(("start_before", "survey"))
    assert refused.value.details == {
        "element_id": "survey",
        "join": "join",
        "branch": "survey",
        "waiting_for": ["quote"],
    }
    # An element before the split leads to every branch again: refused as well.
    with pytest.raises(Invalid, match="second token from branch survey"):
        case.modify(("start_before", "split"))
    assert case.state == before
    # The branch that has not arrived holds its token at quote: a second one there would make
    # the join fire twice (once per quote). Restarting it means cancelling it first.
    with pytest.raises(Invalid, match="quote: the element already has an active token"):
        case.modify(("start_before", "quote"))
    assert case.state == before
    case.modify(("cancel", "quote"), ("start_before", "quote"))
    assert case.open_elements == ["quote"]
    finished = case.complete("quote")
    assert finished.completed
    assert [s.element_id for s in finished.steps].count("join") == 1  # the join fired once


def test_cancelling_the_join_in_the_same_modification_loses_its_arrived_branches() -> None:
    case = Case("parallel_rework")
    case.start(redo=False)
    case.complete("survey")
    case.complete("design")
    # The cancel may come after the start_before: the whole modification is looked at.
    case.modify(("start_before", "design"), ("cancel", "join"))
    assert case.open_elements == ["design", "quote"]
    case.complete("design")
    # The survey's arrival went with the join's token: the join waits for it again.
    assert _join(case) == {"waiting_for": ["survey", "quote"], "arrived": ["design"]}
    case.complete("quote")
    assert not case.result.completed
    case.modify(("start_before", "survey"))
    assert case.complete("survey").completed
