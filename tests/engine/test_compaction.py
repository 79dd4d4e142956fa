"""Loops without limit: the stored task tree stays bounded (engine/compaction.py).

Every case goes through kit.Case, which loads each returned state again and checks it shows the
same; the task index's VERIFY mode (tests/conftest.py) checks every answer against
SpiffWorkflow's own walk on the compacted trees.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from kit import Case

from bpmn_service.engine import traversal
from bpmn_service.engine.serialization import dump_state, load_state, spec_from_json
from bpmn_service.engine.state_format import COMPACTED, KEY, STATE_FORMAT
from bpmn_service.engine.workflow import ServiceWorkflow


def _stored(case: Case) -> dict[str, Any]:
    return json.loads(case.state)  # type: ignore[no-any-return]


def _tasks(case: Case) -> int:
    stored = _stored(case)
    return len(stored["tasks"]) + sum(len(s["tasks"]) for s in stored["subprocesses"].values())


def _complete_one(case: Case, element_id: str, **values: Any) -> None:
    """Complete the first of several ready tasks of one element (multi-instance)."""
    assert case.result is not None
    task = next(t for t in case.result.ready_tasks if t.element_id == element_id)
    case._checked(
        case.runner.complete(case.name, case.load, case.state, task.id, values, "x", now=case.now)
    )


def test_a_one_task_loop_passes_the_old_limit_with_a_bounded_state() -> None:
    # Before compaction the 500th pass failed: SpiffWorkflow's ready-task search stops at depth
    # 1000 and every pass added two levels.
    case = Case("rework_loop")
    case.start(count=0)
    sizes = []
    for done in range(1, 521):
        case.complete("work", redo=True, count=done)
        assert case.open_elements == ["work"]
        sizes.append((_tasks(case), len(case.state)))
    assert sizes[-1][0] == sizes[9][0]  # as many tasks after 520 passes as after 10
    assert sizes[-1][1] < 1.2 * sizes[9][1]
    assert _stored(case)[COMPACTED] > 1000
    result = case.complete("work", redo=False)
    assert result.completed and result.variables["count"] == 520


def test_multi_instance_rework_keeps_each_round_apart() -> None:
    case = Case("signers_rework")
    case.start(signer_list=["a", "b", "c"])
    sizes = []
    for round_ in range(12):
        for _ in range(3):
            _complete_one(case, "sign", note=f"round {round_}")
        assert case.open_elements == ["check"]
        case.complete("check", redo=True)
        assert case.open_elements == ["sign", "sign", "sign"]
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[2]
    for _ in range(3):
        _complete_one(case, "sign", note="last")
    result = case.complete("check", redo=False)
    assert result.completed
    assert [s["note"] for s in result.variables["signatures"]] == ["last"] * 3


def test_a_parallel_block_in_a_loop_still_waits_for_every_branch() -> None:
    case = Case("parallel_rework")
    case.start()
    sizes = []
    for _ in range(15):
        case.complete("survey")
        case.complete("design")
        assert case.open_elements == ["quote"]  # the join waits for the third branch
        case.complete("quote", redo=True)
        assert case.open_elements == ["design", "quote", "survey"]
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[2]
    case.complete("quote", redo=False)
    case.complete("survey")
    assert not case.result.completed  # type: ignore[union-attr]
    assert case.complete("design").completed


def test_a_loop_in_one_branch_while_the_other_waits() -> None:
    case = Case("branch_loop")
    case.start()
    sizes = []
    for _ in range(60):
        case.complete("work", redo=True)
        assert case.open_elements == ["approve", "work"]
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[9]
    case.complete("work", redo=False)
    assert case.open_elements == ["approve"]
    assert case.complete("approve").completed


def test_a_subprocess_in_a_loop_does_not_pile_up_subprocesses() -> None:
    case = Case("subprocess_loop")
    case.start()
    sizes = []
    for _ in range(40):
        case.complete("visit", redo=True)
        assert case.open_elements == ["visit"]
        sizes.append((_tasks(case), len(_stored(case)["subprocesses"])))
    assert sizes[-1] == sizes[4]
    assert sizes[-1][1] <= 2
    assert case.complete("visit", redo=False).completed


def test_compaction_is_idempotent_and_keeps_open_task_ids() -> None:
    case = Case("branch_loop")
    case.start()
    for _ in range(5):
        case.complete("work", redo=True)
    before = {t.id for t in case.result.ready_tasks}  # type: ignore[union-attr]
    spec, subs = spec_from_json(case.spec_json)
    workflow = load_state(case.state, spec, subs)
    assert workflow.compact() == 0
    assert dump_state(workflow) == case.state
    assert {str(t.id) for t in workflow.get_tasks(state=16)} == before


def test_a_format_2_state_of_a_long_loop_upgrades_and_is_compacted_at_its_next_step(
    monkeypatch: Any,
) -> None:
    # Format 2 is format 3 without compaction: an instance run with compaction switched off,
    # written without the `compacted` count and with state_format 2.
    monkeypatch.setattr(ServiceWorkflow, "compact", lambda self: 0)
    monkeypatch.setattr(traversal, "VERIFY", False)  # the long uncompacted tree walks slowly
    case = Case("rework_loop")
    case.start()
    for _ in range(120):
        case.complete("work", redo=True)
    old = _stored(case)
    del old[COMPACTED]
    old[KEY] = 2
    assert len(old["tasks"]) > 240
    monkeypatch.undo()

    spec, subs = spec_from_json(case.spec_json)
    upgraded = json.loads(dump_state(load_state(json.dumps(old), spec, subs)))
    assert upgraded[KEY] == STATE_FORMAT and upgraded[COMPACTED] == 0
    assert upgraded["tasks"] == old["tasks"]  # the upgrade alone changes no task

    assert case.result is not None
    case.result = replace(case.result, state=json.dumps(old))
    case.complete("work", redo=True)
    stored = _stored(case)
    assert stored[KEY] == STATE_FORMAT
    assert len(stored["tasks"]) < 20 and stored[COMPACTED] > 230
    assert case.complete("work", redo=False).completed


def test_a_repeating_timer_keeps_firing_with_a_bounded_state() -> None:
    # Each firing's branch ends at the process's end, which merges what it did: the branches are
    # folded into the latest one, and a firing adds no second waiting boundary join.
    case = Case("repeating_timer")
    case.start(reminders=0)
    case.wait(minutes=1)  # the timer fires when its moment has passed: one firing per wait below
    review = case.ready("review").id
    sizes = []
    for _ in range(60):
        result = case.wait(hours=1)
        assert [s.element_id for s in result.steps] == ["count", "counted"]
        assert result.next_timer_at is not None and result.next_timer_at >= case.now
        assert case.ready("review").id == review
        assert result.variables["reminders"] == 1  # each firing counts from the task's start
        sizes.append((_tasks(case), len(case.state)))
    assert sizes[-1][0] == sizes[4][0]
    assert sizes[-1][1] < 1.2 * sizes[4][1]
    result = case.complete("review")
    assert result.completed and result.variables["reminders"] == 1


def test_what_a_timer_firing_did_reaches_the_end_when_its_host_completes() -> None:
    # The host's completion cancels the waiting cycle timer; the last firing's branch, waiting at
    # the end, used to be removed with it, and its variables never reached the end.
    case = Case("repeating_timer")
    case.start(reminders=0)
    assert case.wait(hours=1, minutes=1).variables["reminders"] == 1
    result = case.complete("review")
    assert result.completed and result.variables["reminders"] == 1


def test_a_timer_repeating_three_times_runs_its_path_at_every_firing() -> None:
    case = Case("three_reminders")
    case.start(reminders=0)
    case.wait(minutes=1)
    ran = []
    for _ in range(5):
        result = case.wait(hours=1)
        ran.append([s.element_id for s in result.steps if s.element_id == "count"])
    assert ran == [["count"], ["count"], ["count"], [], []]
    assert result.next_timer_at is None
    assert case.complete("review").completed


def _reminder_rounds(rounds: int, sizes: list[int]) -> dict[str, Any]:
    case = Case("cycle_reminder_loop")
    case.start(round_no=0)
    for done in range(1, rounds + 1):
        case.wait(hours=1)
        if done % 3:
            case.wait(hours=1)  # two reminders in most rounds, one in every third
        case.complete("work", redo=True, round_no=done)
        sizes.append(_tasks(case))
    result = case.complete("work", redo=False)
    assert result.completed
    return result.variables  # type: ignore[no-any-return]


def test_an_hourly_reminder_in_a_loop_keeps_a_bounded_state_and_the_same_variables(
    monkeypatch: Any,
) -> None:
    sizes: list[int] = []
    compacted = _reminder_rounds(40, sizes)
    assert sizes[-1] == sizes[4]
    assert compacted["reminded_in_round"] == 39  # the last reminder's round (before the update)
    monkeypatch.setattr(ServiceWorkflow, "compact", lambda self: 0)
    monkeypatch.setattr(traversal, "VERIFY", False)  # the long uncompacted tree walks slowly
    assert _reminder_rounds(40, []) == compacted


def test_a_timer_wait_in_a_loop_keeps_a_bounded_state() -> None:
    case = Case("polling_loop")
    case.start(polls=0, limit=300)
    sizes = []
    for done in range(1, 300):
        result = case.wait(hours=1, minutes=1)  # each wait starts the next hour's timer
        assert not result.completed and result.variables["polls"] == done
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[4]
    result = case.wait(hours=1, minutes=1)
    assert result.completed and result.variables["polls"] == 300


def test_a_branch_that_ended_keeps_its_variables_for_the_end_of_the_process() -> None:
    # The process's end merges what every ended branch changed (a reminder that set a flag);
    # such a branch is kept while the loop around it is compacted.
    case = Case("reminder_loop")
    case.start(reminded=False)
    case.wait(hours=2)  # the non-interrupting reminder fires and its branch ends
    sizes = []
    for _ in range(30):
        case.complete("work", redo=True)
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[4]
    result = case.complete("work", redo=False)
    assert result.completed and result.variables["reminded"] is True


# The meter beside a rework loop (meter_beside_rework.bpmn): the meter's branch forks off long
# before the acceptance's, runs one task and waits at the power-on join, while the acceptance
# forks again (papers, and an inspection that fails and is reworked) into the same join.
_REWORKS = 6
_METER_FIRST = [
    ("meter", {}),
    ("build", {}),
    ("papers", {}),
    *[step for _ in range(_REWORKS) for step in (("inspect", {"ok": False}), ("rework", {}))],
    ("inspect", {"ok": True}),
]
_METER_DURING_REWORK = [
    ("build", {}),
    ("inspect", {"ok": False}),
    ("rework", {}),
    ("papers", {}),
    ("meter", {}),
    *[step for _ in range(_REWORKS) for step in (("inspect", {"ok": False}), ("rework", {}))],
    ("inspect", {"ok": True}),
]
_METER_LAST = [
    ("build", {}),
    *[step for _ in range(_REWORKS) for step in (("inspect", {"ok": False}), ("rework", {}))],
    ("papers", {}),
    ("inspect", {"ok": True}),
    ("meter", {}),
]


def _meter_run(steps: list[tuple[str, dict[str, Any]]], high: bool) -> list[Any]:
    """Open tasks after each step, then power-on and the end; the power-on join fires once."""
    case = Case("meter_beside_rework")
    case.start(high=high)
    seen = [case.open_elements]
    if high:
        case.complete("design")
        seen.append(case.open_elements)
    for element, values in steps:
        assert "power" not in case.open_elements
        case.complete(element, **values)
        seen.append(case.open_elements)
    assert case.open_elements == ["power"]  # the join fired, and only once
    result = case.complete("power")
    assert result.completed and not result.ready_tasks
    return seen


@pytest.mark.parametrize("high", [False, True], ids=["low", "high"])
@pytest.mark.parametrize(
    "steps",
    [_METER_FIRST, _METER_DURING_REWORK, _METER_LAST],
    ids=["meter first", "meter during rework", "meter last"],
)
def test_a_branch_waiting_at_a_join_while_another_reworks_and_a_third_arrives(
    steps: list[tuple[str, dict[str, Any]]], high: bool, monkeypatch: Any
) -> None:
    compacted = _meter_run(steps, high)
    monkeypatch.setattr(ServiceWorkflow, "compact", lambda self: 0)
    assert _meter_run(steps, high) == compacted  # the same path as without compaction


def test_a_branch_waiting_at_a_join_keeps_the_state_bounded_while_another_reworks() -> None:
    case = Case("meter_beside_rework")
    case.start(high=False)
    for element in ("meter", "build", "papers"):
        case.complete(element)
    sizes = []
    for _ in range(40):
        case.complete("inspect", ok=False)
        case.complete("rework")
        sizes.append(_tasks(case))
    assert sizes[-1] == sizes[4]
    case.complete("inspect", ok=True)
    assert case.complete("power").completed


def _complaints(firings: int, sizes: list[tuple[int, int]]) -> dict[str, Any]:
    """A non-interrupting message event subprocess (two scripts) fired `firings` times; each
    complaint also carries a note of its own, so every run leaves something the others do not."""
    case = Case("complaint_log")
    case.start(opened=True)
    for number in range(1, firings + 1):
        result = case.deliver(
            "complaint", complaintId=f"C{number}", **{f"note{number % 7}": number}
        )
        assert [s.element_id for s in result.steps] == [
            "complaintStart",
            "note",
            "record",
            "complaintEnd",
            "complaint",
        ]
        assert result.variables["lastComplaint"] == f"C{number}"
        sizes.append((_tasks(case), len(case.state)))
    result = case.complete("work")
    assert result.completed
    return result.variables  # type: ignore[no-any-return]


def test_a_message_event_subprocess_firing_again_and_again_keeps_a_bounded_state(
    monkeypatch: Any,
) -> None:
    # Each firing's run of the event subprocess is kept only as the variables it left, folded
    # into the latest run; the instance's variables are those of the run without compaction.
    sizes: list[tuple[int, int]] = []
    compacted = _complaints(300, sizes)
    assert sizes[-1][0] == sizes[9][0]
    assert sizes[-1][1] < 1.2 * sizes[9][1]
    assert compacted["lastComplaint"] == "C300" and compacted["note1"] == 295
    # Without compaction every step stores and reloads the whole history: compared over 50.
    short: list[tuple[int, int]] = []
    compacted = _complaints(50, short)
    monkeypatch.setattr(ServiceWorkflow, "compact", lambda self: 0)
    monkeypatch.setattr(traversal, "VERIFY", False)  # the long uncompacted tree walks slowly
    uncompacted: list[tuple[int, int]] = []
    assert _complaints(50, uncompacted) == compacted
    assert uncompacted[-1][0] > 10 * short[-1][0] and short[-1][0] == sizes[-1][0]


def _reviews() -> list[Any]:
    """Complaints whose runs wait at a review while more arrive, answered out of order."""
    case = Case("complaint_review")
    case.start(opened=True)
    seen: list[Any] = []

    def review(complaint: str, verdict: str) -> None:
        assert case.result is not None
        task = next(t for t in case.result.ready_tasks if t.assignee == complaint)
        result = case._checked(
            case.runner.complete(
                case.name,
                case.load,
                case.state,
                task.id,
                {f"verdict_{complaint}": verdict, "verdict": verdict},
                "x",
                now=case.now,
            )
        )
        seen.append((case.open_elements, result.variables))

    for number in (1, 2, 3):
        case.deliver("complaint", complaintId=f"C{number}")
        seen.append((case.open_elements, case.result.variables))  # type: ignore[union-attr]
    review("C2", "upheld")
    review("C3", "rejected")
    case.deliver("complaint", complaintId="C4")
    review("C4", "upheld")
    case.deliver("complaint", complaintId="C5")
    review("C1", "withdrawn")
    case.complete("work")
    assert not case.result.completed  # type: ignore[union-attr]  # the fifth waits
    review("C5", "rejected")
    assert case.result is not None and case.result.completed
    return seen


def test_event_subprocess_runs_still_open_stay_whole_and_finish_as_without_compaction(
    monkeypatch: Any,
) -> None:
    compacted = _reviews()
    assert compacted[-1][1]["verdict"] == "rejected" and compacted[-1][1]["answered"] == "C5"
    assert {f"verdict_C{n}" for n in range(1, 6)} <= set(compacted[-1][1])
    monkeypatch.setattr(ServiceWorkflow, "compact", lambda self: 0)
    assert _reviews() == compacted
