"""The supervisor's migration preview in the browser shows what the migration will do besides the
mapping, as the API's dry run lists it: the boundary events it starts and drops, the open tasks it
offers anew (a claim it withdraws among them) and the joins the case would wait in for good."""

from __future__ import annotations

import uuid

from bpmn_service.engine import layout_bpmn
from test_workspace_repair import open_case
from workspace_browser import Server, Ui

SOURCE_CHECK = """
    <bpmn:userTask id="check" name="核对资料" camunda:candidateGroups="customer_manager"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="survey" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_r" sourceRef="remind" targetRef="reminded"/>
    <bpmn:endEvent id="reminded"/>
"""
TARGET_CHECK = """
    <bpmn:userTask id="check" name="核对资料" camunda:candidateGroups="service_center"/>
    <bpmn:boundaryEvent id="deadline" attachedToRef="check">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P20D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_d" sourceRef="deadline" targetRef="late"/>
    <bpmn:endEvent id="late"/>
    <bpmn:sequenceFlow id="f9" sourceRef="split" targetRef="inspect"/>
    <bpmn:userTask id="inspect" name="现场核查" camunda:candidateGroups="customer_manager"/>
    <bpmn:sequenceFlow id="f10" sourceRef="inspect" targetRef="join"/>
"""


def _model(check: str) -> bytes:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_ui_migration"
  targetNamespace="http://bpmn-service.example/test">
  <bpmn:process id="ui_migration" name="迁移预览" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="survey"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="check"/>
    <bpmn:userTask id="survey" name="现场勘查" camunda:candidateGroups="customer_manager"/>
    {check}
    <bpmn:sequenceFlow id="f5" sourceRef="survey" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="check" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return layout_bpmn(xml.encode(), "ui_migration.bpmn")


def _deploy(server: Server, content: bytes) -> int:
    files = {"files": ("ui_migration.bpmn", content, "application/xml")}
    [definition] = server.api("POST", "/deployments", "analyst", files=files)["definitions"]
    return int(definition["version"])


def test_the_preview_shows_started_and_dropped_events_reassignments_and_join_warnings(
    ui: Ui, server: Server
) -> None:
    source = _deploy(server, _model(SOURCE_CHECK))
    key = f"MIG-UI-{uuid.uuid4().hex[:8]}"
    case = server.api(
        "POST",
        "/process-definitions/ui_migration/instances",
        "admin",
        json={"business_key": key, "variables": {}},
    )
    tasks = {t["element_id"]: t["id"] for t in case["tasks"]}
    server.api("POST", f"/tasks/{tasks['check']}/claim", "manager")
    target = _deploy(server, _model(TARGET_CHECK))
    assert target == source + 1

    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="迁移版本").click()
    form = page.get_by_test_id("repair-migrate")
    form.get_by_label("原因").fill("新版本改由营业厅核对并增加现场核查")
    form.get_by_role("button", name="预览迁移").click()
    preview = page.locator("[data-testid=migration-preview][data-ok=true]")
    preview.wait_for()

    started = preview.get_by_test_id("migration-started")
    assert "定时器 deadline 附着于 check" in started.inner_text()
    dropped = preview.get_by_test_id("migration-dropped")
    assert "定时器 remind 附着于 survey" in dropped.inner_text()
    assert "survey" not in preview.get_by_test_id("migration-reassigned").inner_text()
    task = preview.get_by_test_id("migration-reassigned").locator(
        f"li[data-task='{tasks['check']}']"
    )
    groups = task.locator("li[data-field=candidate_groups]").inner_text()
    assert groups == "候选组: customer_manager → service_center"
    assert task.locator("li[data-field=assignee]").inner_text() == (
        "manager 的认领将被撤回（任务回到候选组的待办）"
    )
    warning = preview.get_by_test_id("migration-warnings").locator("li[data-element=join]")
    assert "inspect" in warning.inner_text() and "移动令牌" in warning.inner_text()
    # A preview stores nothing.
    assert server.api("GET", f"/process-instances/{case['id']}")["version"] == source
    ui.shot("01-migration-consequences")
