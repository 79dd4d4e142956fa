"""The supervisor in the browser: finds a case and sees where it stands on its diagram."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from bpmn_service.engine import layout_bpmn
from process_paths import load_paths
from test_workspace_clerk import accept, apply
from test_workspace_repair import SMS_STEP
from workspace_browser import Server, Ui


def test_supervisor_sees_the_token_on_the_right_element(ui: Ui, server: Server) -> None:
    key, started = apply(server)
    page = ui.page
    ui.sign_in("leader")
    page.get_by_role("link", name="案件").click()
    page.get_by_label("申请编号").fill(key)
    page.get_by_role("button", name="查询").click()
    page.locator("[data-testid=cases]").get_by_role("link", name=key).click()
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
    assert page.get_by_test_id("case-process").inner_text() == "现行业扩报装"
    active = page.locator(".djs-element.m-active")
    active.first.wait_for()
    assert [active.nth(i).get_attribute("data-element-id") for i in range(active.count())] == [
        "A-UT01"
    ]
    # The path so far is shaded: the start event and the steps before the first task.
    assert page.locator('.djs-element.m-done[data-element-id="A-SE1"]').count() == 1
    # What the case waits for (GET .../activities), or on a server without it its open tasks.
    if server.offers("get", "/api/v1/process-instances/{instance_id}/activities"):
        waiting = page.get_by_test_id("waits-for").locator("li[data-element=A-UT01]")
    else:
        waiting = page.get_by_test_id("open-tasks")
    assert "受理用电申请" in waiting.inner_text()
    assert "hall_clerk" in waiting.inner_text()
    ui.shot("case")
    assert started["tasks"][0]["element_id"] == "A-UT01"
    # A claim records no name: the history names the step from the diagram, not by its id.
    server.api("POST", f"/tasks/{started['tasks'][0]['id']}/claim", "clerk")
    page.reload()
    page.get_by_test_id("history").get_by_text("受理用电申请 · clerk").wait_for()
    assert "A-UT01" not in page.get_by_test_id("history").inner_text()


def test_the_process_diagram_shows_a_heat_map_of_the_steps(ui: Ui, server: Server) -> None:
    """Per element, from /analytics/steps: the median hours of its completed tasks, as colour
    and a note on the diagram."""
    _, started = apply(server)
    accept(server, started)
    page = ui.page
    ui.sign_in("leader")
    ui.goto("/ui/processes/yekuo_current")
    page.get_by_label("热力图").select_option(label="中位办理时长（小时）")
    heated = page.locator('.djs-element[data-element-id="A-UT01"][class*="heat-"]')
    heated.wait_for(state="attached")
    assert page.locator(".overlay-note", has_text=" h").count() >= 1
    ui.shot("heat-map")


def test_a_supervisor_oversees_every_lanes_tasks_and_opens_them(ui: Ui, server: Server) -> None:
    """The oversight tab lists tasks offered to groups the supervisor is not in (the window
    clerk's here): each opens, none offers a claim the service would refuse."""
    if not server.offers("get", "/api/v1/tasks", "oversee"):
        pytest.skip("this server has no oversight view")
    key, _started = apply(server)
    page = ui.page
    ui.sign_in("leader")
    page.get_by_role("tab", name="全部任务（督办）").click()
    page.get_by_label("申请编号").fill(key)
    page.get_by_role("button", name="筛选").click()
    # Earliest due first: the view is for chasing overdue work.
    assert page.get_by_label("排序").input_value() == "due"
    row = page.locator(f"[data-testid=inbox][data-query*='business_key={key}'] tbody tr")
    row.first.wait_for()
    assert row.count() == 1 and "受理用电申请" in row.inner_text()
    assert row.get_by_role("button", name="认领").count() == 0
    row.get_by_role("link", name="办理").click()
    page.get_by_role("heading", name="受理用电申请").wait_for()
    # The task page offers no claim the service would refuse either; it says why.
    page.get_by_test_id("not-offered").wait_for()
    assert page.get_by_role("button", name="认领").count() == 0
    # It promises no assignment by a supervisor: /api/v1 has no way to assign a task.
    assert "指派" not in page.get_by_test_id("not-offered").inner_text()
    assert page.get_by_role("button", name=re.compile("指派")).count() == 0

    ui.sign_out()
    ui.sign_in("clerk")
    assert page.get_by_role("tab", name="全部任务（督办）").count() == 0


def test_a_waiting_join_names_the_branches_it_waits_for(ui: Ui, server: Server) -> None:
    if not server.offers("get", "/api/v1/process-instances/{instance_id}/activities"):
        pytest.skip("this server has no activities view")
    model = Path(__file__).parent / "engine" / "bpmn" / "parallel_join.bpmn"
    server.api("POST", "/deployments", "analyst", files={"files": (model.name, model.read_bytes())})
    key = f"JOIN-{uuid.uuid4().hex[:8]}"
    body = {"business_key": key, "variables": {}}
    server.api("POST", "/process-definitions/parallel_join/instances", "clerk", json=body)
    page = ui.page
    ui.sign_in("leader")
    page.get_by_role("link", name="案件").click()
    page.get_by_label("申请编号").fill(key)
    page.get_by_role("button", name="查询").click()
    page.locator("[data-testid=cases]").get_by_role("link", name=key).click()
    waits = page.get_by_test_id("join-waits-for")
    waits.wait_for()
    assert "survey" in waits.inner_text()


def test_the_customer_category_shows_by_its_name_on_the_task_and_the_case(
    ui: Ui, server: Server
) -> None:
    """A script derives customerCategory and no form offers it as a choice: the task page's
    客户分类 and the case page's variables showed HV_S. They show 高压单电源, the code at hand
    (the field's title; beside the label on the case page)."""
    key = f"YK-HV-{uuid.uuid4().hex[:8]}"
    body = {"business_key": key, "variables": load_paths("yekuo_current")["start"]["HV_S"]}
    started = server.api("POST", "/process-definitions/yekuo_current/instances", "clerk", json=body)
    page = ui.page
    ui.sign_in("clerk")
    ui.goto(f"/ui/tasks/{started['tasks'][0]['id']}")
    category = page.locator("#root_customerCategory")
    category.wait_for()
    assert category.input_value() == "高压单电源"
    assert category.get_attribute("title") == "HV_S"
    assert page.locator("#root_electricityCategory").input_value() == "大工业"
    ui.shot("task-category-by-name")

    ui.sign_out()
    ui.sign_in("leader")
    ui.goto(f"/ui/cases/{started['id']}")
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
    page.get_by_role("heading", name="变量").click()
    variables = page.get_by_test_id("variables")
    row = variables.locator("tr", has=page.locator("th", has_text="customerCategory"))
    assert row.locator("td").inner_text() == "高压单电源 HV_S"
    assert row.locator("td code").inner_text() == "HV_S"
    kind = variables.locator("tr", has=page.locator("th", has_text="electricityCategory"))
    assert kind.locator("td").inner_text() == "大工业 LARGE_INDUSTRY"
    name = variables.locator("tr", has=page.locator("th", has_text="customerName"))
    assert name.locator("td").inner_text() == body["variables"]["customerName"]
    ui.shot("case-category-by-name")
    # 修改变量 offers the code, which is what the field takes, and names its label beside it.
    if not server.offers("patch", "/api/v1/process-instances/{instance_id}/variables"):
        return
    page.get_by_role("button", name="修改变量").click()
    form = page.get_by_test_id("repair-variables")
    form.get_by_label("变量名").fill("customerCategory")
    assert form.get_by_label("新值").input_value() == "HV_S"
    form.get_by_text("当前值: 高压单电源 HV_S").wait_for()


def test_a_supervisor_finds_every_stuck_case_on_one_page(ui: Ui, server: Server) -> None:
    """Incidents showed only on each case's page: a supervisor had to know which case to open.
    The 故障 page lists the open incidents of every case, oldest first, with the case, the step,
    the error and the repairs, and leads to the case; a clerk is not offered it."""
    if not server.offers("get", "/api/v1/incidents"):
        pytest.skip("this server has no incident list")
    laid_out = layout_bpmn(SMS_STEP.encode(), "ui_sms_notice.bpmn")
    server.api("POST", "/deployments", "analyst", files={"files": ("ui_sms_notice.bpmn", laid_out)})
    key = f"INC-UI-{uuid.uuid4().hex[:8]}"
    server.api(
        "POST",
        "/process-definitions/ui_sms_notice/instances",
        "clerk",
        json={"business_key": key},
    )
    fetch = {"worker_id": "push-gw", "max_tasks": 1, "topics": ["ui_sms"]}
    [locked] = server.api("POST", "/external-tasks/fetch-and-lock", "worker", json=fetch)
    failure = {"worker_id": "push-gw", "error_message": "推送平台拒绝：证书过期", "retries": 0,
               "retry_seconds": 0}  # fmt: skip
    server.api("POST", f"/external-tasks/{locked['id']}/failure", "worker", json=failure)

    page = ui.page
    ui.sign_in("clerk")
    page.get_by_role("link", name="案件").wait_for()
    assert page.get_by_role("link", name="故障").count() == 0
    ui.sign_out()
    ui.sign_in("leader")
    page.get_by_role("link", name="故障").click()
    page.get_by_label("流程").select_option("ui_sms_notice")
    table = page.locator('[data-testid=incident-list][data-query="process=ui_sms_notice"]')
    row = table.locator("tbody tr", has_text=key)
    row.wait_for()
    text = row.inner_text()
    for shown in (
        "短信告知",
        "发送短信",
        "sms",
        "外部任务失败",
        "推送平台拒绝：证书过期",
        "重试",
    ):
        assert shown in text, shown
    ui.shot("incident-list")
    row.get_by_role("link", name=key).click()
    page.get_by_test_id("incidents").get_by_text("推送平台拒绝：证书过期").wait_for()
