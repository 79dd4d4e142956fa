"""After 提交办理, in the browser: the link to the next task opens it; what the case waits for when
no task of one's own follows; long read-only values shown in full; the case history with the
submitted values and message names, engine steps folded; the case page on a phone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bpmn_service.engine import layout_bpmn
from test_workspace_clerk import apply
from workspace_browser import Server, Ui

FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:message id="msg_paid" name="feePaid"/>
  <bpmn:process id="ui_task_flow" name="办理流转" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="notice" label="整改通知" type="string"/>
          <camunda:formField id="units" label="推荐施工单位" type="string"/>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:userTask id="first" name="一站式受理" camunda:candidateGroups="hall_clerk">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="notice" label="整改通知" type="string">
            <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
          </camunda:formField>
          <camunda:formField id="units" label="推荐施工单位" type="string">
            <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
          </camunda:formField>
          <camunda:formField id="decision" label="受理结论" type="enum">
            <camunda:validation><camunda:constraint name="required"/></camunda:validation>
            <camunda:value id="APPROVE" name="通过"/>
            <camunda:value id="REJECT" name="不通过"/>
          </camunda:formField>
          <camunda:formField id="defects" label="缺陷（每行一项）" type="string"/>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <bpmn:userTask id="second" name="现场勘查并当场答复" camunda:candidateGroups="hall_clerk">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="surveyNote" label="勘查意见" type="string"/>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="pick"/>
    <bpmn:scriptTask id="pick" name="确定会签人" scriptFormat="python">
      <bpmn:script>signers = ["meter", "inspection", "dispatcher"]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3b" sourceRef="pick" targetRef="cosign"/>
    <bpmn:userTask id="cosign" name="竣工验收会签" camunda:candidateGroups="hall_clerk">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="signer" label="会签角色" type="string">
            <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
          </camunda:formField>
          <camunda:formField id="signOpinion" label="会签意见" type="string"/>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${signers}"
        camunda:elementVariable="signer"/>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="cosign" targetRef="paid"/>
    <bpmn:intermediateCatchEvent id="paid" name="等待缴费">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="variables"
            value="paymentConfirmedAt,paymentReceiptReference,documentsConfirmedByCustomer"/>
        </camunda:properties>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="msg_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="paid" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

NOTICE = "meter: 计量箱封印缺失\ninspection: 接地电阻 4.6Ω 超标\ndispatcher: 调度协议未签"
UNITS = (
    "孝感市电力安装工程有限公司（一级）；湖北楚能电气工程有限公司（二级）；"
    "武汉鑫源输变电工程有限公司（二级）"
)


@pytest.fixture(scope="module")
def deployed(server: Server) -> Server:
    laid_out = layout_bpmn(FLOW.encode(), "ui_task_flow.bpmn")
    server.api("POST", "/deployments", "analyst", files={"files": ("ui_task_flow.bpmn", laid_out)})
    return server


def start(server: Server) -> tuple[str, str]:
    key = f"FLOW-UI-{uuid.uuid4().hex[:8]}"
    case = server.api(
        "POST",
        "/process-definitions/ui_task_flow/instances",
        "clerk",
        json={
            "business_key": key,
            "variables": {"notice": NOTICE, "units": UNITS},
        },
    )["id"]
    return key, case


def open_tasks(server: Server, case: str, element: str) -> list[dict[str, Any]]:
    tasks = server.api("GET", f"/process-instances/{case}")["tasks"]
    return [t for t in tasks if t["element_id"] == element]


def complete(server: Server, task: dict[str, Any], variables: dict[str, Any]) -> None:
    server.api("POST", f"/tasks/{task['id']}/claim", "clerk")
    server.api("POST", f"/tasks/{task['id']}/complete", "clerk", json={"variables": variables})


def open_own_task(ui: Ui, task: dict[str, Any]) -> None:
    ui.goto(f"/ui/tasks/{task['id']}")
    page = ui.page
    page.get_by_role("button", name="认领").click()
    page.get_by_test_id("assignee").get_by_text("clerk").wait_for()


def test_the_link_to_the_next_task_opens_it(ui: Ui, deployed: Server) -> None:
    _, case = start(deployed)
    ui.sign_in("clerk")
    page = ui.page
    open_own_task(ui, open_tasks(deployed, case, "first")[0])
    page.locator("#root_decision").select_option(label="通过")
    page.get_by_role("button", name="提交办理").click()
    done = page.get_by_test_id("next-tasks")
    done.get_by_role("link", name="现场勘查并当场答复").click()
    # The next task's page, not the answer of the one before.
    page.get_by_role("heading", name="现场勘查并当场答复").wait_for()
    assert done.count() == 0
    page.get_by_role("button", name="认领").click()
    page.locator("#root_surveyNote").wait_for()
    ui.shot("next-task-opened")


def test_long_read_only_values_show_in_full_with_their_line_breaks(
    ui: Ui, deployed: Server
) -> None:
    _, case = start(deployed)
    ui.sign_in("clerk")
    page = ui.page
    open_own_task(ui, open_tasks(deployed, case, "first")[0])
    notice = page.locator("#root_notice")
    assert notice.evaluate("e => e.tagName") == "TEXTAREA"
    assert notice.input_value() == NOTICE
    units = page.locator("#root_units")
    assert units.input_value() == UNITS
    # Sized to their content: nothing to scroll inside, nothing cut off at the side.
    for field in (notice, units):
        assert field.evaluate(
            "e => e.scrollHeight <= e.clientHeight + 1 && e.scrollWidth <= e.clientWidth + 1"
        )
        assert field.get_attribute("readonly") is not None
    # Three lines show as three lines.
    assert notice.evaluate("e => e.clientHeight") > 2.5 * units.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight)"
    )
    ui.shot("long-read-only")


def test_after_submitting_the_page_says_what_the_case_waits_for(ui: Ui, deployed: Server) -> None:
    _, case = start(deployed)
    complete(deployed, open_tasks(deployed, case, "first")[0], {"decision": "APPROVE"})
    complete(deployed, open_tasks(deployed, case, "second")[0], {})
    signers = open_tasks(deployed, case, "cosign")
    assert len(signers) == 3
    ui.sign_in("clerk")
    page = ui.page
    open_own_task(ui, signers[0])
    page.locator("#root_signOpinion").fill("同意")
    page.get_by_role("button", name="提交办理").click()
    done = page.get_by_test_id("next-tasks")
    done.get_by_text("等待其他会签人：竣工验收会签（还有 2 人未办）").wait_for()
    assert "外部系统或消息" not in done.inner_text()
    ui.shot("waits-for-cosigners")

    complete(deployed, signers[1], {"signOpinion": "同意"})
    open_own_task(ui, signers[2])
    page.locator("#root_signOpinion").fill("同意")
    page.get_by_role("button", name="提交办理").click()
    page.get_by_test_id("next-tasks").get_by_text("feePaid").wait_for()
    assert "等待缴费" in page.get_by_test_id("next-tasks").inner_text()
    ui.shot("waits-for-message")


def test_the_history_shows_what_was_decided_and_folds_engine_steps(
    ui: Ui, deployed: Server
) -> None:
    key, case = start(deployed)
    complete(
        deployed,
        open_tasks(deployed, case, "first")[0],
        {"decision": "REJECT", "defects": "接地电阻超标\n封印缺失"},
    )
    complete(deployed, open_tasks(deployed, case, "second")[0], {})
    for task in open_tasks(deployed, case, "cosign"):
        complete(deployed, task, {"signOpinion": "同意"})
    deployed.api(
        "POST",
        "/messages",
        "admin",
        json={"message_name": "feePaid", "business_key": key},
    )
    ui.sign_in("leader")
    ui.goto(f"/ui/cases/{case}")
    page = ui.page
    history = page.get_by_test_id("history")
    history.wait_for()
    text = history.inner_text()
    # The decision by its form's label and its value's label; the message by its name.
    assert "受理结论: 不通过" in text, text
    assert "接地电阻超标" in text
    assert "feePaid" in text
    # Engine steps are folded away until asked for.
    assert "流转" not in text
    page.get_by_label("显示流转步骤").check()
    history.get_by_text("流转").first.wait_for()
    ui.shot("history")


def test_the_case_page_fits_a_phone(ui: Ui, deployed: Server) -> None:
    """At 390 px the page does not scroll sideways: the diagram's ⏱ notes stay in its frame,
    chips wrap, the time limits' table keeps within the page."""
    _, current = apply(deployed)
    _, case = start(deployed)
    complete(deployed, open_tasks(deployed, case, "first")[0], {"decision": "APPROVE"})
    complete(deployed, open_tasks(deployed, case, "second")[0], {})
    for task in open_tasks(deployed, case, "cosign"):
        complete(deployed, task, {"signOpinion": "同意"})
    ui.page.set_viewport_size({"width": 390, "height": 844})
    ui.sign_in("leader")
    for instance, name in ((current["id"], "time-limits"), (case, "flow")):
        ui.goto(f"/ui/cases/{instance}")
        ui.page.get_by_test_id("history").wait_for()
        ui.page.wait_for_load_state("networkidle")
        ui.page.wait_for_timeout(300)
        assert ui.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        ui.shot(f"case-on-a-phone-{name}")


def test_a_refused_form_asks_for_corrections_not_a_fault(ui: Ui, deployed: Server) -> None:
    _, case = start(deployed)
    ui.sign_in("clerk")
    page = ui.page
    open_own_task(ui, open_tasks(deployed, case, "first")[0])
    page.get_by_role("button", name="提交办理").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("请修改以下内容："), alert.inner_text()
    assert "出错了" not in alert.inner_text()
    ui.shot("refused-form")
    # The 故障 page calls the business key what the rest of the workspace calls it.
    ui.sign_out()
    ui.sign_in("leader")
    ui.goto("/ui/incidents")
    page.get_by_role("heading", name="故障").wait_for()
    assert "业务编号" not in page.locator("main").inner_text()


SIGNER_FIELD = """          <camunda:formField id="signer" label="会签角色" type="string">
            <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
          </camunda:formField>
"""


def test_a_task_whose_variables_its_form_does_not_list_can_be_submitted(
    ui: Ui, deployed: Server
) -> None:
    """A multi-instance task holds its item (`signer`) whether or not its form lists it; the
    browser put it in the form's data and refused to submit: 不允许有额外的属性."""
    assert SIGNER_FIELD in FLOW
    bare = FLOW.replace(SIGNER_FIELD, "").replace('id="ui_task_flow"', 'id="ui_task_flow_bare"')
    laid_out = layout_bpmn(bare.encode(), "ui_task_flow_bare.bpmn")
    files = {"files": ("ui_task_flow_bare.bpmn", laid_out)}
    deployed.api("POST", "/deployments", "analyst", files=files)
    body = {
        "business_key": f"BARE-{uuid.uuid4().hex[:8]}",
        "variables": {"notice": NOTICE, "units": UNITS},
    }
    case = deployed.api(
        "POST", "/process-definitions/ui_task_flow_bare/instances", "clerk", json=body
    )["id"]
    complete(deployed, open_tasks(deployed, case, "first")[0], {"decision": "APPROVE"})
    complete(deployed, open_tasks(deployed, case, "second")[0], {})
    signer = open_tasks(deployed, case, "cosign")[0]
    ui.sign_in("clerk")
    page = ui.page
    open_own_task(ui, signer)
    page.locator("#root_signOpinion").fill("同意")
    page.get_by_role("button", name="提交办理").click()
    page.get_by_test_id("next-tasks").wait_for()
    assert "额外的属性" not in page.content()
