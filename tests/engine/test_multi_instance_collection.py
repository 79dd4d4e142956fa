"""A multi-instance collection must hold a list: SpiffWorkflow iterates any value, so a text
variable made one task per character ("om_dept": o, m, _, ...) and an object one per key. The
step fails naming the element, the variable and what it holds, and nothing is kept."""

from __future__ import annotations

from typing import Any

import pytest
from kit import Case

from bpmn_service.errors import WorkflowFailed


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
