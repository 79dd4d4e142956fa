"""The supervisor at a case stuck at a parallel join, in the browser: the repair bar offers only
what the case's incidents allow (a stuck join lists no retry), 移动令牌 cancels nothing unless told,
and cancelling a join that holds arrived branches must be confirmed, naming the branches lost."""

from __future__ import annotations

import json
import uuid
from typing import Any

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


def test_a_stuck_join_s_arrived_branches_are_not_cancelled_unasked(ui: Ui, server: Server) -> None:
    needs(server, "get", f"{CASE}/activities")
    needs(server, "post", f"{CASE}/modification")
    key, case = _stuck_at_the_join(server)
    sent: list[dict[str, Any]] = []
    page = ui.page
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}")) if "/modification" in r.url else None
        ),
    )
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_test_id("incidents").locator("li[data-element=join]").wait_for()
    page.get_by_role("button", name="移动令牌").click()
    form = page.get_by_test_id("repair-move")
    # Nothing is cancelled unless chosen.
    assert form.locator("#move-from").input_value() == ""
    # Cancelling the join loses the survey and the design: said, and it must be confirmed.
    form.locator("#move-from").select_option("join")
    loss = form.get_by_test_id("move-join-loss")
    assert "现场勘查 (survey)" in loss.inner_text() and "方案设计 (design)" in loss.inner_text()
    form.locator("#move-to").select_option("quote")
    form.get_by_label("原因").fill("测试：取消汇合")
    form.get_by_role("button", name="移动", exact=True).click()
    form.get_by_text("请先确认丢失已到达的分支").wait_for()
    assert page.evaluate("document.activeElement.id") == "move-confirm-loss"
    page.wait_for_timeout(300)  # time for a request to leave, if one did
    assert sent == []
    ui.shot("01-join-cancel-needs-confirmation")

    # Not cancelling the join: only the missing branch is started.
    form.locator("#move-from").select_option("")
    assert form.get_by_test_id("move-join-loss").count() == 0
    form.get_by_label("原因").fill("补办费用测算")
    form.get_by_role("button", name="移动", exact=True).click()
    page.get_by_test_id("repair-done").wait_for()
    assert sent == [
        {
            "reason": "补办费用测算",
            "instructions": [{"type": "start_before", "element_id": "quote"}],
        }
    ]
    tasks = server.api("GET", f"/process-instances/{case}")["tasks"]
    assert [t["element_id"] for t in tasks] == ["quote"]
    standing = server.api("GET", f"/process-instances/{case}/activities", "leader")
    [join] = [a for a in standing["activities"] if a["kind"] == "join"]
    assert (join["waiting_for"], join["arrived"]) == (["quote"], ["survey", "design"])


def test_a_confirmed_join_cancel_restarts_a_branch_and_a_second_arrival_is_refused(
    ui: Ui, server: Server
) -> None:
    needs(server, "post", f"{CASE}/modification")
    key, case = _stuck_at_the_join(server)
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="移动令牌").click()
    form = page.get_by_test_id("repair-move")
    # Starting an arrived branch again without cancelling the join: the service refuses it.
    form.locator("#move-to").select_option("survey")
    form.get_by_label("原因").fill("重新勘查")
    form.get_by_role("button", name="移动", exact=True).click()
    refusal = form.locator(".error[role=alert]")
    refusal.wait_for()
    assert "(422)" in refusal.inner_text()
    assert "join join a second token from branch survey" in refusal.inner_text()
    # With the join cancelled (confirmed), the survey starts again and the design is lost.
    form.locator("#move-from").select_option("join")
    form.get_by_label("我确认丢失这些已到达的分支").check()
    form.get_by_role("button", name="移动", exact=True).click()
    page.get_by_test_id("repair-done").wait_for()
    tasks = server.api("GET", f"/process-instances/{case}")["tasks"]
    assert [t["element_id"] for t in tasks] == ["survey"]
    history = server.api("GET", f"/process-instances/{case}")["history"]
    [*_, moved] = [e for e in history if e["type"] == "instance_modified"]
    assert moved["details"]["instructions"] == [
        {"type": "cancel", "element_id": "join"},
        {"type": "start_before", "element_id": "survey"},
    ]
