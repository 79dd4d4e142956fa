"""Over HTTP: a value made from BPMN text that no answer or column could hold, and an expression
asking the calendar for centuries, are answered 422 naming the element, with nothing stored; a
calendar function over any span answers at once."""

from __future__ import annotations

import time

from conftest import ROOT, Api

ENGINE_BPMN = ROOT / "tests" / "engine" / "bpmn"
LOOP = (ENGINE_BPMN / "endless_loop.bpmn").read_text()


def _nothing_stored(api: Api) -> None:
    listed = api.get("/process-instances")
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 0


def _refused(api: Api, script: str, variables: dict[str, object]) -> dict[str, object]:
    assert (
        api.deploy_bytes("script.bpmn", LOOP.replace("n = n + 1", script).encode()).status_code
        == 201
    )
    response = api.start("endless_loop", "T-1", variables)
    assert response.status_code == 422, response.text
    body: dict[str, object] = response.json()
    assert body["code"] == "workflow_failed"
    return body


def test_a_script_value_with_a_lone_surrogate_is_422_naming_task_and_variable(api: Api) -> None:
    body = _refused(api, r"s = ['ok', '\ud800']", {"n": 0, "limit": 0})
    assert body["details"] == {"element": "count"}
    assert "s[1] holds a lone surrogate" in str(body["message"])
    _nothing_stored(api)


def test_a_candidate_groups_expression_giving_null_is_422_naming_the_attribute(api: Api) -> None:
    text = (
        (ENGINE_BPMN / "signers.bpmn")
        .read_text()
        .replace('camunda:candidateGroups="signers"', 'camunda:candidateGroups="${who}"')
    )
    assert api.deploy_bytes("signers.bpmn", text.encode()).status_code == 201
    response = api.start("signers", "T-2", {"who": None, "signer_list": ["one"]})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "workflow_failed" and body["details"] == {"element": "sign"}
    assert "camunda:candidateGroups expression of element sign gave null" in body["message"]
    _nothing_stored(api)


def test_calendar_functions_answer_at_once_and_a_deadline_past_9999_is_422(api: Api) -> None:
    # 20 spans of 8,000 years took 34 s counted day by day.
    between = "working_days_between('0001-01-02T00:00:00+00:00', '9999-12-30T00:00:00+00:00')"
    spans = f"s = [{between} for i in [1] * 20]"
    began = time.monotonic()
    body = _refused(api, f"{spans}\nd = add_working_days(now(), 2500000)", {"n": 0, "limit": 0})
    assert time.monotonic() - began < 5
    assert body["details"] == {"element": "count"}
    assert "2500000 working days after" in str(body["message"])
    assert "fall after 9999-12-31" in str(body["message"])
    _nothing_stored(api)


def test_a_candidate_groups_expression_giving_no_group_leaves_the_task_to_its_lane(
    api: Api,
) -> None:
    """`${reviewGroup}` with reviewGroup "" (or []) offered the task to nobody but admins: it
    goes to its lane's groups, as a task that names none does."""
    text = (ROOT / "tests" / "data" / "inbox.bpmn").read_text(encoding="utf-8")
    moved = text.replace(
        "        <bpmn:flowNodeRef>dynamic_task</bpmn:flowNodeRef>\n", "", 1
    ).replace(
        "<bpmn:flowNodeRef>customer_task</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>customer_task</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>dynamic_task</bpmn:flowNodeRef>",
    )
    assert api.deploy_bytes("inbox.bpmn", moved.encode()).status_code in (200, 201)
    for business_key, group in (("EMPTY-1", ""), ("EMPTY-2", []), ("GIVEN-1", "plan_engineer")):
        started = api.start("inbox", business_key, {"reviewGroup": group}, user="pm")
        assert started.status_code == 201, started.text
        [dynamic] = [t for t in started.json()["tasks"] if t["element_id"] == "dynamic_task"]
        expected = ["plan_engineer"] if group else ["customer"]  # lane 客户 -> customer ("*")
        assert dynamic["candidate_groups"] == expected, business_key
