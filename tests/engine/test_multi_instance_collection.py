"""A multi-instance collection must hold a list: SpiffWorkflow iterates any value, so a text
variable made one task per character ("om_dept": o, m, _, ...) and an object one per key. The
step fails naming the element, the variable and what it holds, and nothing is kept. Nor may it
run more instances than a case holds engine tasks."""

from __future__ import annotations

from typing import Any

import pytest
from kit import BPMN, Case

from bpmn_service.engine import compile_bpmn
from bpmn_service.engine.budget import MAX_TASKS
from bpmn_service.errors import InvalidBpmn, WorkflowFailed


@pytest.mark.parametrize(
    ("value", "said"),
    [("om_dept", "holds text ('om_dept')"), ({"a": 1}, "holds an object"), (3, "holds a number")],
)
def test_a_collection_that_is_not_a_list_fails_the_step(value: Any, said: str) -> None:
    case = Case("signers")
    with pytest.raises(WorkflowFailed) as failed:
        case.start(signer_list=value)
    message = str(failed.value)
    assert "at element sign" in message and "'signer_list'" in message and said in message
    assert "not a list" in message
    assert failed.value.details["element"] == "sign"


def test_a_list_of_one_still_makes_one_task() -> None:
    case = Case("signers")
    result = case.start(signer_list=["om_dept"])
    assert [t.form_values["signer"] for t in result.ready_tasks] == ["om_dept"]
    assert case.complete("sign").completed


def test_a_sequential_multi_instance_task_refuses_text_too() -> None:
    case = Case("signers_sequential")
    with pytest.raises(WorkflowFailed, match="'signer_list' holds text"):
        case.start(signer_list="om_dept")
    result = case.start(signer_list=["wang", "li"])
    assert [t.form_values["signer"] for t in result.ready_tasks] == ["wang"]


def test_a_sequential_multi_instance_without_an_output_collection_runs_every_instance() -> None:
    """Upstream merged each finished instance's data, its item included, into the body and then
    refused the next instance: 'Multiinstance input item signer already exists'. The second
    of three sequential signers could never sign."""
    case = Case("signers_sequential")
    result = case.start(signer_list=["wang", "li", "zhao"])
    signed = []
    for _ in range(3):
        [task] = result.ready_tasks
        signed.append(task.form_values["signer"])
        result = case.complete("sign")
    assert signed == ["wang", "li", "zhao"]
    assert result.completed


# A multi-instance of more instances than a case may hold engine tasks (budget.MAX_TASKS) is
# refused before any instance is created: SpiffWorkflow created all of them first (ten million
# took a server past 2.6 GB before the task limit was checked).


@pytest.mark.parametrize("name", ["mi_cardinality", "mi_cardinality_sequential"])
def test_a_loop_cardinality_over_the_task_limit_fails_before_creating_instances(name: str) -> None:
    case = Case(name)
    with pytest.raises(WorkflowFailed) as failed:
        case.start(n=10_000_000)
    message = str(failed.value)
    assert "at element sign" in message and "10000000 instances" in message
    assert "loop cardinality '${n}'" in message and f"at most {MAX_TASKS} engine tasks" in message
    assert failed.value.details == {"element": "sign"}
    # At the limit it still runs (and the state saved and restored says so).
    assert len(case.start(n=3).ready_tasks) == (3 if name == "mi_cardinality" else 1)


@pytest.mark.parametrize("name", ["signers", "signers_sequential"])
def test_a_collection_over_the_task_limit_fails_naming_the_variable(name: str) -> None:
    case = Case(name)
    with pytest.raises(WorkflowFailed) as failed:
        case.start(signer_list=["om_dept"] * (MAX_TASKS + 1))
    message = str(failed.value)
    assert f"collection variable 'signer_list' holds {MAX_TASKS + 1} items" in message
    assert "at element sign" in message and failed.value.details == {"element": "sign"}


@pytest.mark.parametrize("literal", ["10000000", "20001", "9" * 5000])
def test_a_literal_loop_cardinality_over_the_task_limit_is_refused_at_deploy(literal: str) -> None:
    text = (BPMN / "mi_cardinality.bpmn").read_text().replace("${n}", literal)
    with pytest.raises(InvalidBpmn) as raised:
        compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True)
    [problem] = [p for p in raised.value.problems if "more instances" in p.message]
    assert problem.element == "sign" and f"at most {MAX_TASKS} engine tasks" in problem.message
    ok = text.replace(literal, "20")
    compile_bpmn(ok.encode(), "x.bpmn", lambda _key, _lane: True)


def test_a_run_growing_the_instance_beyond_the_task_limit_names_what_grew() -> None:
    case = Case("mi_cardinality")
    with pytest.raises(WorkflowFailed) as failed:
        case.start(n=MAX_TASKS - 5)
    message = str(failed.value)
    assert f"beyond {MAX_TASKS} engine tasks" in message and "at element sign" in message
    assert "rework loop" not in message and failed.value.details == {"element": "sign"}


def test_tasks_inside_subprocesses_count_towards_the_task_limit() -> None:
    """A multi-instance subprocess of 200 holding a multi-instance task of 200 made 40,000 open
    tasks (each under the limit alone): the limit counted the top process's tasks only, and the
    case was stored with 16 MB of state that every later call had to load."""
    with pytest.raises(WorkflowFailed, match="beyond 20000 engine tasks") as raised:
        Case("mi_nested").start(n=200, m=200)
    assert raised.value.details == {"element": "mi"}
    assert Case("mi_nested").start(n=3, m=2).ready_tasks
