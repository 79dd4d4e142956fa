"""Assignment expressions (camunda:candidateGroups, candidateUsers, assignee as `${...}`) must give
ids: a comma-separated string or a list of strings (one string for the assignee) of printable
text that fits its column. Anything else fails the step as WorkflowFailed naming the element, the
attribute and the value's type, instead of a group named "None" or "{'a': 1}" that nobody has."""

from __future__ import annotations

import pytest
from kit import BPMN, T0

from bpmn_service.engine import ProcessRunner, SpecCache, compile_bpmn
from bpmn_service.errors import WorkflowFailed


def run(text: str, **variables: object) -> object:
    spec = compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True).spec_json
    return ProcessRunner(SpecCache()).start("x", lambda: spec, dict(variables), now=T0)


def assigned(attribute: str) -> str:
    """signers.bpmn with the user task's candidate groups replaced by `attribute`=`${who}`."""
    text = (BPMN / "signers.bpmn").read_text()
    text = text.replace(
        '<bpmn:userTask id="sign" name="Sign" camunda:candidateGroups="signers">',
        f'<bpmn:userTask id="sign" name="Sign" camunda:{attribute}="${{who}}">',
    )
    return text


@pytest.mark.parametrize(
    ("attribute", "who", "says"),
    [
        ("candidateGroups", None, "gave null, not a comma-separated string or a list of strings"),
        ("candidateGroups", 5, "gave int, not"),
        ("candidateGroups", {"a": 1}, "gave dict, not"),
        ("candidateGroups", ["clerk", 3], "gave a list holding int, str, not"),
        ("candidateGroups", "clerk,a\tb", "gave the id 'a\\tb', which holds a control"),
        ("candidateUsers", True, "gave bool, not"),
        ("candidateUsers", "u" * 129, "129 characters long; at most 128"),
        ("assignee", ["clerk"], "gave a list holding str, not one user id"),
        ("assignee", "  ", "gave str, not one user id (a non-empty string)"),
        ("assignee", 7, "gave int, not one user id"),
    ],
)
def test_an_assignment_expression_that_gives_no_ids_fails_naming_element_and_attribute(
    attribute: str, who: object, says: str
) -> None:
    with pytest.raises(WorkflowFailed) as raised:
        run(assigned(attribute), who=who, signer_list=["one"])
    assert raised.value.details == {"element": "sign"}
    assert f"camunda:{attribute} expression of element sign" in raised.value.message
    assert says in raised.value.message


@pytest.mark.parametrize(
    ("attribute", "who", "field", "expected"),
    [
        ("candidateGroups", " clerk , boss ,", "candidate_groups", ["clerk", "boss"]),
        ("candidateGroups", ["clerk", "验收组"], "candidate_groups", ["clerk", "验收组"]),
        ("candidateUsers", "u1", "candidate_users", ["u1"]),
        ("assignee", " clerk ", "assignee", "clerk"),
        ("assignee", None, "assignee", None),  # null: nobody is assigned, as in Camunda
    ],
)
def test_ids_from_assignment_expressions_are_taken(
    attribute: str, who: object, field: str, expected: object
) -> None:
    result = run(assigned(attribute), who=who, signer_list=["one"])
    [task] = result.ready_tasks  # type: ignore[attr-defined]
    assert getattr(task, field) == expected
