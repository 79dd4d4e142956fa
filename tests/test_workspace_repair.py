"""The supervisor in the browser: what a case waits for, its time limits on the diagram, and the
repairs (move the token, set variables, migrate with a preview), each with a reason that the
history keeps."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from playwright.sync_api import Locator

from bpmn_service.engine import layout_bpmn
from conftest import DATA
from test_workspace_clerk import accept, apply, fits
from workspace_browser import ROOT, Server, Ui

CASE = "/api/v1/process-instances/{instance_id}"


def needs(server: Server, method: str, path: str) -> None:
    """The workspace shows a repair only when the server offers it; a server without it has
    nothing here to test."""
    if not server.offers(method, path):
        pytest.skip(f"this server does not offer {method.upper()} {path}")


def active_elements(ui: Ui) -> list[str]:
    active = ui.page.locator(".djs-element.m-active")
    active.first.wait_for(state="attached")
    return sorted(
        str(active.nth(i).get_attribute("data-element-id")) for i in range(active.count())
    )


def open_case(ui: Ui, key: str) -> None:
    page = ui.page
    page.get_by_role("link", name="案件").click()
    page.get_by_label("申请编号").fill(key)
    page.get_by_role("button", name="查询").click()
    page.locator("[data-testid=cases]").get_by_role("link", name=key).click()
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()


def shows_time_limits(ui: Ui, server: Server, case: str) -> None:
    """The plan-reply time limit runs: listed with its state, its steps marked on the diagram."""
    page = ui.page
    [scheme] = [
        limit
        for limit in server.api("GET", f"/process-instances/{case}/time-limits")
        if limit["limit_id"] == "A-T-SCHEME"
    ]
    assert scheme["status"] == "running"
    row = page.locator('[data-testid=time-limits] tr[data-limit="A-T-SCHEME"]')
    assert row.get_attribute("data-state") == "running"
    assert "供电方案答复" in row.inner_text()
    for element in scheme["element_ids"]:
        shape = page.locator(f'.djs-element[data-element-id="{element}"]')
        if shape.count():
            assert "lim-running" in str(shape.get_attribute("class")), element
    assert page.locator(".overlay-note.limit-running").count() >= 1


def test_supervisor_sees_where_the_case_stands_and_moves_the_token(ui: Ui, server: Server) -> None:
    needs(server, "get", f"{CASE}/activities")
    needs(server, "post", f"{CASE}/modification")
    limits_offered = server.offers("get", f"{CASE}/time-limits")
    key, started = apply(server)
    case = started["id"]
    accept(server, started)
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)

    # The token is on the survey to organise.
    assert "A-UT02" in active_elements(ui)
    waiting = page.get_by_test_id("waits-for")
    survey = waiting.locator("li[data-element=A-UT02]")
    assert survey.get_attribute("data-kind") == "user_task"
    standing = server.api("GET", f"/process-instances/{case}/activities", "leader")
    [node] = [a for a in standing["activities"] if a["element_id"] == "A-UT02"]
    assert node["candidate_groups"] and all(
        g in survey.inner_text() for g in node["candidate_groups"]
    )

    if limits_offered:
        # The 督办 event subprocess only listens for a breach: outlined, not taken for the token.
        page.locator('.djs-element.m-listening[data-element-id="A-ES-SE1"]').wait_for(
            state="attached"
        )
        assert "A-ES-SE1" not in active_elements(ui)
        shows_time_limits(ui, server, case)
    assert fits(ui)
    ui.shot("01-case-where-it-stands")

    page.get_by_role("button", name="移动令牌").click()
    # The form takes the focus, so a keyboard user continues in it.
    assert page.evaluate("document.activeElement.id") == "repair-move-title"
    form = page.get_by_test_id("repair-move")
    # Nothing is cancelled unless chosen (a token pre-selected here was cancelled unasked).
    assert form.get_by_label("取消").input_value() == ""
    form.get_by_label("取消").select_option("A-UT02")
    # A step clicked on the diagram becomes the target, as choosing it in the list does.
    form.get_by_label("在此环节之前开始").select_option("A-UT01")
    page.locator('.djs-element[data-element-id="A-UT03"]').click()
    assert form.get_by_label("在此环节之前开始").input_value() == "A-UT03"
    # Without a reason nothing is sent: the reason field says so and has the focus.
    form.get_by_role("button", name="移动", exact=True).click()
    form.get_by_text("请填写原因。").wait_for()
    assert page.evaluate("document.activeElement.id") == "reason-move"
    page.keyboard.type("客户已自行完成勘查准备，直接转现场勘查")
    ui.shot("02-move-form")
    form.get_by_role("button", name="移动", exact=True).click()
    page.get_by_test_id("repair-done").wait_for()
    page.locator('.djs-element.m-active[data-element-id="A-UT03"]').wait_for(state="attached")
    assert "A-UT03" in active_elements(ui) and "A-UT02" not in active_elements(ui)
    assert "客户已自行完成勘查准备" in page.get_by_test_id("history").inner_text()
    # The audit trail says what the move did, not only who and why.
    moved = page.get_by_test_id("repair-details").last.inner_text()
    assert "取消 组织现场勘查" in moved and "从此处开始 现场勘查" in moved, moved
    ui.shot("03-token-moved")

    tasks = server.api("GET", f"/process-instances/{case}")["tasks"]
    assert [t["element_id"] for t in tasks] == ["A-UT03"]


def test_supervisor_sets_a_variable_and_a_clerk_is_offered_no_repair(
    ui: Ui, server: Server
) -> None:
    needs(server, "patch", f"{CASE}/variables")
    key, started = apply(server)
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="修改变量").click()
    form = page.get_by_test_id("repair-variables")
    form.get_by_label("变量名").fill("appliedCapacityKVA")
    # The current value is offered for editing.
    assert form.get_by_label("新值").input_value() == "80.0"
    form.get_by_label("新值").fill("120")
    form.get_by_label("原因").fill("客户书面申请增容")
    form.get_by_role("button", name="保存变量").click()
    page.get_by_test_id("repair-done").wait_for()
    variables: dict[str, Any] = server.api("GET", f"/process-instances/{started['id']}")[
        "variables"
    ]
    assert variables["appliedCapacityKVA"] == 120
    changed = page.get_by_test_id("repair-details").last
    changed.wait_for()
    assert changed.inner_text() == "appliedCapacityKVA: 80 → 120"
    ui.sign_out()
    ui.sign_in("clerk")
    ui.goto(f"/ui/cases/{started['id']}")
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
    assert page.get_by_test_id("repair").count() == 0


def test_a_number_the_browser_cannot_keep_as_typed_is_refused_at_its_field(
    ui: Ui, server: Server
) -> None:
    """JavaScript reads 1e999 as Infinity (sent as null) and 9007199254740993 as
    9007199254740992: 修改变量 sent them changed without a word. Each is refused at its field,
    naming the number and how to keep it as text, and nothing is written; in quotes it is text
    and kept as typed."""
    needs(server, "patch", f"{CASE}/variables")
    key, started = apply(server)
    case = started["id"]
    before = server.api("GET", f"/process-instances/{case}")["variables"]
    sent: list[str] = []
    ui.page.on(
        "request",
        lambda r: sent.append(r.method) if r.url.endswith(f"/{case}/variables") else None,
    )
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="修改变量").click()
    form = page.get_by_test_id("repair-variables")
    form.get_by_label("原因").fill("客户书面申请增容")
    for name, typed, number in [
        ("appliedCapacityKVA", "1e999", "1e999"),
        ("appliedCapacityKVA", "9007199254740993", "9007199254740993"),
        ("meterNumber", "9007199254740993", "9007199254740993"),
        ("meterNumber", '{"serial": [1, 12345678901234567891]}', "12345678901234567891"),
    ]:
        form.get_by_label("变量名").fill(name)
        form.get_by_label("新值").fill(typed)
        form.get_by_role("button", name="保存变量").click()
        refusal = form.locator(".field-error", has_text=f"数字 {number} 无法原样保存")
        refusal.wait_for()
        assert f'"{number}"' in refusal.inner_text()
        assert form.get_by_label("新值").get_attribute("aria-invalid") == "true"
        page.wait_for_timeout(300)  # time for a request to leave, if one did
        assert sent == [], typed
        assert page.get_by_test_id("repair-done").count() == 0
    ui.shot("04-inexact-number-refused")
    assert server.api("GET", f"/process-instances/{case}")["variables"] == before

    form.get_by_label("新值").fill('"9007199254740993"')
    form.get_by_role("button", name="保存变量").click()
    page.get_by_test_id("repair-done").wait_for()
    variables = server.api("GET", f"/process-instances/{case}")["variables"]
    assert variables["meterNumber"] == "9007199254740993"
    assert variables["appliedCapacityKVA"] == before["appliedCapacityKVA"]


def capacity_typed_as_text(ui: Ui, server: Server) -> tuple[str, Locator]:
    """A new case whose 修改变量 the leader saved with appliedCapacityKVA = "lots": the case id
    and the form, once the service's refusal (the forms declare a double) shows at the field."""
    key, started = apply(server)
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="修改变量").click()
    form = page.get_by_test_id("repair-variables")
    form.get_by_label("原因").fill("客户书面申请增容")
    form.get_by_label("变量名").fill("appliedCapacityKVA")
    form.get_by_label("新值").fill("lots")
    form.get_by_role("button", name="保存变量").click()
    form.locator(".field-error", has_text="double").wait_for()
    return str(started["id"]), form


def test_a_number_typed_with_a_fraction_stays_a_float_and_a_wrong_type_is_refused_at_its_field(
    ui: Ui, server: Server
) -> None:
    """JSON.parse reads 120.0 as 120, and 修改变量 sent the integer: a double variable became a
    Long for Camunda clients. The typed text goes to the service as typed, inside objects too;
    text where the process's forms declare a number is refused at its field."""
    needs(server, "patch", f"{CASE}/variables")
    case, form = capacity_typed_as_text(ui, server)
    page = ui.page
    refusal = form.locator(".field-error", has_text="double")
    assert "string" in refusal.inner_text()
    assert form.get_by_label("新值").get_attribute("aria-invalid") == "true"
    ui.shot("05-wrong-type-refused")

    form.get_by_label("新值").fill("120.0")
    form.get_by_role("button", name="再加一个变量").click()
    form.get_by_label("变量名").nth(1).fill("meterReadings")
    form.get_by_label("新值").nth(1).fill('{"kwh": 80.0, "count": 2, "list": [1.50, 3]}')
    form.get_by_role("button", name="保存变量").click()
    page.get_by_test_id("repair-done").wait_for()
    variables = server.api("GET", f"/process-instances/{case}")["variables"]
    capacity, readings = variables["appliedCapacityKVA"], variables["meterReadings"]
    assert type(capacity) is float and capacity == 120.0
    assert type(readings["kwh"]) is float and type(readings["count"]) is int
    assert [type(v) for v in readings["list"]] == [float, int]
    assert readings == {"kwh": 80.0, "count": 2, "list": [1.5, 3]}


def test_a_float_and_an_integer_left_as_they_are_keep_their_types(ui: Ui, server: Server) -> None:
    """JSON.parse reads the float 80.0 as 80: the case page showed 80, 修改变量 offered 80 and
    saved it back as the integer 80 (a double field takes an integer, so nothing was refused). The
    values show as the service wrote them, and a value left as offered is sent back as it was."""
    needs(server, "patch", f"{CASE}/variables")
    typed = (DATA / "typed_forms.bpmn").read_bytes()
    server.api("POST", "/deployments", "analyst", files={"files": ("typed_forms.bpmn", typed)})
    key = f"TF-UI-{uuid.uuid4().hex[:8]}"
    started = server.api(
        "POST",
        "/process-definitions/typed_forms/instances",
        "clerk",
        json={"business_key": key, "variables": {"capacity": 80.0, "count": 2, "note": "80"}},
    )
    case = started["id"]
    sent: list[str] = []
    ui.page.on(
        "request",
        lambda r: sent.append(r.post_data) if r.url.endswith(f"/{case}/variables") else None,
    )
    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    shown = page.get_by_test_id("variables")
    cells = {
        shown.locator("th").nth(i).text_content(): shown.locator("td").nth(i).text_content()
        for i in range(shown.locator("tr").count())
    }
    assert (cells["capacity"], cells["count"], cells["note"]) == ("80.0", "2", "80")

    page.get_by_role("button", name="修改变量").click()
    form = page.get_by_test_id("repair-variables")
    for i, (name, offered) in enumerate([("capacity", "80.0"), ("count", "2"), ("note", "80")]):
        if i:
            form.get_by_role("button", name="再加一个变量").click()
        form.get_by_label("变量名").nth(i).fill(name)
        assert form.get_by_label("新值").nth(i).input_value() == offered
        assert offered in form.locator(".row").nth(i).locator("code").inner_text()
    form.get_by_label("原因").fill("核对申请资料，数值无误")
    ui.shot("06-variables-as-stored")
    form.get_by_role("button", name="保存变量").click()
    page.get_by_test_id("repair-done").wait_for()

    [body] = sent
    assert json.loads(body)["variables"] == {"capacity": 80.0, "count": 2, "note": "80"}
    assert '"capacity": 80.0' in body and '"count": 2,' in body
    variables = server.api("GET", f"/process-instances/{case}")["variables"]
    assert type(variables["capacity"]) is float and variables["capacity"] == 80.0
    assert type(variables["count"]) is int and variables["count"] == 2
    assert variables["note"] == "80"


SMS_STEP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="ui_sms_notice" name="短信告知" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sms"/>
    <bpmn:serviceTask id="sms" name="发送短信" camunda:type="external" camunda:topic="ui_sms"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sms" targetRef="call"/>
    <bpmn:userTask id="call" name="电话回访" camunda:candidateGroups="hall_clerk"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_supervisor_sees_a_failed_step_and_retries_it(ui: Ui, server: Server) -> None:
    """The SMS gateway failed and the worker gave up (no retries left): the supervisor sees the
    incident with the worker's message, the step red on the diagram, that no worker will fetch it
    any more, and retries it with a reason; a worker can fetch it again."""
    needs(server, "post", f"{CASE}/retry")
    laid_out = layout_bpmn(SMS_STEP.encode(), "ui_sms_notice.bpmn")
    server.api("POST", "/deployments", "analyst", files={"files": ("ui_sms_notice.bpmn", laid_out)})
    key = f"SMS-UI-{uuid.uuid4().hex[:8]}"
    started = server.api(
        "POST", "/process-definitions/ui_sms_notice/instances", "clerk", json={"business_key": key}
    )
    fetch = {"worker_id": "sms-gw", "max_tasks": 1, "topics": ["ui_sms"]}
    [locked] = server.api("POST", "/external-tasks/fetch-and-lock", "worker", json=fetch)
    server.api(
        "POST",
        f"/external-tasks/{locked['id']}/failure",
        "worker",
        json={
            "worker_id": "sms-gw",
            "error_message": "短信网关无响应",
            "retries": 0,
            "retry_seconds": 0,
        },
    )

    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_test_id("incidents").get_by_text("短信网关无响应").wait_for()
    page.locator('.djs-element.m-failed[data-element-id="sms"]').wait_for(state="attached")
    waits = page.get_by_test_id("waits-for")
    assert "重试次数已用完" in waits.inner_text()
    # One version only: migrating is no repair here. The incident offered 迁移版本 all the same.
    incident = page.get_by_test_id("incidents").locator("li")
    assert "可用修复: 重试 · 修改变量 · 移动令牌" in incident.inner_text()
    assert "迁移版本" not in incident.inner_text()
    assert page.get_by_role("button", name="迁移版本").count() == 0
    ui.shot("01-incident")
    # With a second version it is one.
    renamed = SMS_STEP.replace('name="发送短信"', 'name="发送短信（新网关）"', 1)
    assert renamed != SMS_STEP
    laid_out = layout_bpmn(renamed.encode(), "ui_sms_notice.bpmn")
    server.api("POST", "/deployments", "analyst", files={"files": ("ui_sms_notice.bpmn", laid_out)})
    page.reload()
    incident.get_by_text("迁移版本").wait_for()
    assert "可用修复: 重试 · 修改变量 · 移动令牌 · 迁移版本" in incident.inner_text()
    page.get_by_role("button", name="迁移版本").wait_for()

    page.get_by_role("button", name="重试", exact=True).click()
    form = page.get_by_test_id("repair-retry")
    form.get_by_label("原因").fill("短信网关已恢复")
    form.get_by_role("button", name="重试").click()
    page.get_by_test_id("repair-done").wait_for()
    waits.get_by_text("未被锁定（等待外部系统领取）").wait_for()
    assert page.get_by_test_id("incidents").count() == 0
    ui.shot("02-retried")
    [again] = server.api("POST", "/external-tasks/fetch-and-lock", "worker", json=fetch)
    assert again["id"] == locked["id"] and again["process_instance_id"] == started["id"]


def test_supervisor_previews_a_migration_then_migrates_the_case(ui: Ui, server: Server) -> None:
    """Runs last in this module: it deploys a new version of yekuo_current."""
    needs(server, "post", "/api/v1/migrations")
    key, started = apply(server)
    case = started["id"]
    source = (ROOT / "processes" / "yekuo_current.bpmn").read_text(encoding="utf-8")
    edited = source.replace('name="受理用电申请"', 'name="受理用电申请（线上预审）"', 1)
    assert edited != source
    deployed = server.api(
        "POST",
        "/deployments",
        files={"files": ("yekuo_current.bpmn", edited.encode(), "application/xml")},
    )
    [definition] = [d for d in deployed["definitions"] if d["key"] == "yekuo_current"]
    target = definition["version"]
    assert target == started["version"] + 1

    page = ui.page
    ui.sign_in("leader")
    open_case(ui, key)
    page.get_by_role("button", name="迁移版本").click()
    form = page.get_by_test_id("repair-migrate")
    assert form.get_by_label("目标版本").input_value() == str(target)
    # Only a previewed choice can be migrated.
    assert form.get_by_role("button", name=f"迁移到版本 {target}").is_disabled()
    form.get_by_label("原因").fill("新版本受理环节改为线上预审")
    form.get_by_role("button", name="预览迁移").click()
    preview = page.locator("[data-testid=migration-preview][data-ok=true]")
    preview.wait_for()
    assert "A-UT01" in preview.inner_text()
    # A preview stores nothing.
    assert server.api("GET", f"/process-instances/{case}")["version"] == started["version"]
    ui.shot("01-migration-preview")
    form.get_by_role("button", name=f"迁移到版本 {target}").click()
    page.get_by_test_id("repair-done").wait_for()
    page.get_by_test_id("case-version").get_by_text(str(target), exact=True).wait_for()
    assert server.api("GET", f"/process-instances/{case}")["version"] == target
    assert "A-UT01" in active_elements(ui)
    ui.shot("02-migrated")


def test_a_refused_repair_puts_the_keyboard_on_the_field_and_an_empty_move_is_asked_for(
    ui: Ui, server: Server
) -> None:
    """After a 422 the focus stayed on the page; it goes to the first field in error. 移动令牌
    with neither half chosen sent the request and showed the service's English text: it is
    refused at the fields, in Chinese, and nothing is sent."""
    needs(server, "patch", f"{CASE}/variables")
    needs(server, "post", f"{CASE}/modification")
    sent: list[str] = []
    ui.page.on("request", lambda r: sent.append(r.url) if "/modification" in r.url else None)
    case, _form = capacity_typed_as_text(ui, server)
    page = ui.page
    page.wait_for_function("document.activeElement.id === 'variable-value-0'")

    page.get_by_role("button", name="移动令牌").click()
    move = page.get_by_test_id("repair-move")
    move.locator("#move-from").select_option("")
    move.get_by_label("原因").fill("测试：什么都不选")
    move.get_by_role("button", name="移动").click()
    move.get_by_text("请至少选择一项").wait_for()
    assert page.evaluate("document.activeElement.id") == "move-from"
    page.wait_for_timeout(300)  # time for a request to leave, if one did
    assert sent == []
    ui.shot("empty-move-refused")
    # A reason the service refuses (invisible characters only): the focus goes to it.
    move.locator("#move-to").select_option(index=1)
    move.get_by_label("原因").fill("\u200b")
    move.get_by_role("button", name="移动").click()
    move.locator(".error-detail").wait_for()
    page.wait_for_function("document.activeElement.id === 'reason-move'")
    assert len(sent) == 1
    assert server.api("GET", f"/process-instances/{case}")["variables"]["appliedCapacityKVA"] == 80
