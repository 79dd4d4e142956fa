"""The supervisor at a case stuck at a parallel join, in the browser: the repair bar offers only
what the case's incidents allow (a stuck join lists no retry), 移动令牌 cancels nothing unless told,
and cancelling a join that holds arrived branches must be confirmed, naming the branches lost."""

from __future__ import annotations

import uuid

from bpmn_service.engine import layout_bpmn
from test_workspace_repair import CASE, needs, open_case
from workspace_browser import Server, Ui

THREE_BRANCHES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="ui_three_branches" name="三路并行" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split" name="分路"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="survey"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="design"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="quote"/>
    <bpmn:userTask id="survey" name="现场勘查" camunda:candidateGroups="hall_clerk"/>
    <bpmn:userTask id="design" name="方案设计" camunda:candidateGroups="hall_clerk"/>
    <bpmn:userTask id="quote" name="费用测算" camunda:candidateGroups="hall_clerk"/>
    <bpmn:sequenceFlow id="f5" sourceRef="survey" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="design" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="quote" targetRef="join"/>
    <bpmn:parallelGateway id="join" name="三路汇合"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _stuck_at_the_join(server: Server) -> tuple[str, str]:
    """A case whose survey and design arrived at the join and whose quote a supervisor
    cancelled: the join waits for the quote (a `stuck` incident)."""
    laid_out = layout_bpmn(THREE_BRANCHES.encode(), "ui_three_branches.bpmn")
    server.api(
        "POST", "/deployments", "analyst", files={"files": ("ui_three_branches.bpmn", laid_out)}
    )
    key = f"JOIN-UI-{uuid.uuid4().hex[:8]}"
    case = server.api(
        "POST",
        "/process-definitions/ui_three_branches/instances",
        "clerk",
        json={"business_key": key},
    )["id"]
    for element in ("survey", "design"):
        [task] = [
            t
            for t in server.api("GET", f"/process-instances/{case}")["tasks"]
            if t["element_id"] == element
        ]
        server.api("POST", f"/tasks/{task['id']}/claim", "admin")
        server.api("POST", f"/tasks/{task['id']}/complete", "admin", json={"variables": {}})
    server.api(
        "POST",
        f"/process-instances/{case}/modification",
        "leader",
        json={
            "reason": "测算另行办理",
            "instructions": [{"type": "cancel", "element_id": "quote"}],
        },
    )
    [incident] = server.api("GET", "/incidents", "leader", params={"process_instance_id": case})[
        "items"
    ]
    assert incident["kind"] == "stuck" and "retry" not in incident["actions"]
    return key, case


def test_a_stuck_join_offers_no_retry(ui: Ui, server: Server) -> None:
    """The join is marked failed on the diagram, but its `stuck` incident lists no retry (the API
    would answer 409): the repair bar offers what the incident lists, not 重试."""
    needs(server, "post", f"{CASE}/modification")
    key, _case = _stuck_at_the_join(server)
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    incident = page.get_by_test_id("incidents").locator("li[data-element=join]")
    incident.wait_for()
    assert "重试" not in incident.inner_text()
    page.locator('.djs-element.m-failed[data-element-id="join"]').wait_for(state="attached")
    repair = page.get_by_test_id("repair")
    assert repair.get_by_role("button", name="移动令牌").count() == 1
    assert repair.get_by_role("button", name="修改变量").count() == 1
    assert repair.get_by_role("button", name="重试").count() == 0
    ui.shot("00-stuck-join-no-retry")
