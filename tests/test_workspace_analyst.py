"""The analyst in the browser: drops an edited yekuo_streamlined with a mistake, sees the mistake
on the diagram, fixes it, deploys, and sees what changed between the versions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from lxml import etree

from conftest import TOKENS
from workspace_browser import ROOT, Server, Ui

SOURCE = (ROOT / "processes" / "yekuo_streamlined.bpmn").read_text(encoding="utf-8")
# The acceptance step renamed, with a Camunda attribute the service does not act on (the dry run
# warns about it on that step; it may be deployed all the same).
RENAMED = SOURCE.replace(
    'name="一站式受理"',
    'name="一站式受理（容缺）" camunda:formKey="embedded:app:forms/accept.html"',
    1,
)
BROKEN = RENAMED.replace(
    'customerCategory in ["RES", "LV"]</bpmn:conditionExpression>',
    'customerCategory in ["RES", "LV"</bpmn:conditionExpression>',
    1,
)


def drop(ui: Ui, name: str, text: str) -> None:
    """Drop a file on the deploy zone as a drag and drop from the desktop does."""
    data = ui.page.evaluate_handle(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: 'application/xml' }));
            return transfer;
        }""",
        [name, text],
    )
    ui.page.dispatch_event("[data-testid=dropzone]", "drop", {"dataTransfer": data})


def test_analyst_sees_a_mistake_on_the_diagram_fixes_it_deploys_and_compares(
    ui: Ui, server: Server
) -> None:
    assert RENAMED != SOURCE and BROKEN != RENAMED
    before = server.api("GET", "/process-definitions/yekuo_streamlined")["latest_version"]
    page = ui.page
    ui.sign_in("analyst")
    page.get_by_role("link", name="流程", exact=True).click()
    page.locator("[data-testid=definitions]").get_by_text("yekuo_streamlined").wait_for()

    # With the dry run the draft is checked as it is dropped and cannot be deployed with a
    # problem; a server without it refuses the deploy, with the same findings.
    dry_run = server.offers("post", "/api/v1/deployments", "dry_run")
    drop(ui, "yekuo_streamlined.bpmn", BROKEN)
    if dry_run:
        page.locator("[data-testid=dry-run][data-valid=false]").wait_for()
        assert page.get_by_role("button", name="确认部署").count() == 0
    else:
        page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
        page.get_by_role("button", name="正式部署").click()
    problems = page.get_by_test_id("findings-error")
    problems.wait_for()
    assert "Flow_BGW03_BUT02" in problems.inner_text()
    page.locator('.djs-connection.m-error[data-element-id="Flow_BGW03_BUT02"]').wait_for(
        state="attached"
    )
    assert page.locator(".overlay-note.error").count() >= 1
    ui.shot("01-mistake-on-diagram")
    assert server.api("GET", "/process-definitions/yekuo_streamlined")["latest_version"] == before

    drop(ui, "yekuo_streamlined.bpmn", RENAMED)
    if dry_run:
        clean = page.locator("[data-testid=dry-run][data-valid=true]")
        clean.wait_for()
        assert f"yekuo_streamlined 版本 {before + 1}" in clean.inner_text()
        assert page.get_by_test_id("findings-error").count() == 0
        warning = page.get_by_test_id("findings-warning").locator("li[data-element=B-UT01]")
        assert "camunda:formKey" in warning.inner_text()
        page.locator('.djs-element.m-warning[data-element-id="B-UT01"]').wait_for(state="attached")
        ui.shot("02-checked-with-a-warning")
        # Checked is not deployed: only the analyst's confirmation deploys.
        latest = server.api("GET", "/process-definitions/yekuo_streamlined")["latest_version"]
        assert latest == before
        page.get_by_role("button", name="确认部署").click()
    else:
        page.get_by_role("button", name="正式部署").click()
    page.get_by_test_id("deployed").get_by_text(f"版本 {before + 1}").wait_for()
    # The list of processes beside the drop zone shows the new version without a reload.
    row = page.locator("[data-testid=definitions] tr", has_text="yekuo_streamlined")
    row.locator("td", has_text=re.compile(f"^{before + 1}$")).wait_for()
    ui.shot("03-deployed")

    page.get_by_test_id("deployed").get_by_role("link").click()
    changes = page.get_by_test_id("changes")
    changes.wait_for()
    changed = changes.locator("tr[data-kind=changed]")
    assert changed.count() == 1
    assert "B-UT01" in changed.inner_text()
    page.locator('.djs-element.m-changed[data-element-id="B-UT01"]').wait_for(state="attached")
    ui.shot("04-version-diff")


def test_analyst_runs_a_what_if_of_a_draft_before_deploying_it(ui: Ui, server: Server) -> None:
    """The draft against the deployed version on the same simulated applications, side by side,
    and on the draft's diagram where the time moved; nothing is deployed."""
    draft = SOURCE.replace('customerCategory in ["RES", "LV"]', 'customerCategory in ["RES"]', 1)
    before = server.api("GET", "/process-definitions/yekuo_streamlined")["latest_version"]
    page = ui.page
    ui.sign_in("analyst")
    page.get_by_role("link", name="流程", exact=True).click()
    drop(ui, "yekuo_streamlined.bpmn", draft)
    page.get_by_label("每个版本的模拟申请数").fill("30")
    # The first poll of the job answers 503, as a busy or restarting server may: the page shows
    # the error and keeps asking.
    failed_polls: list[str] = []

    def busy_once(route: Any) -> None:
        if route.request.method == "GET" and not failed_polls:
            failed_polls.append(route.request.url)
            ui.fake_answer(route, 503, {"code": "unavailable", "message": "busy"})
        else:
            route.continue_()

    page.route("**/api/v1/simulations/*", busy_once)
    page.get_by_role("button", name="开始模拟").click()
    # The job simulates 60 applications in a process of its own; a failed job ends the wait at
    # once, with its error.
    status = page.locator(
        "[data-testid=whatif-status][data-status=done], "
        "[data-testid=whatif-status][data-status=failed]"
    )
    status.wait_for(timeout=180_000)
    assert status.get_attribute("data-status") == "done", status.inner_text()
    assert len(failed_polls) == 1
    result = page.get_by_test_id("whatif-result")
    low_voltage = result.locator("tr[data-category=LV]")
    assert "→" in low_voltage.inner_text()
    assert (
        result.locator("tr[data-category=RES] td.worse, tr[data-category=RES] td.better").count()
        == 0
    )
    assert "B-UT02" in page.get_by_test_id("whatif-elements").inner_text()
    page.locator(".djs-element.m-faster, .djs-element.m-slower").first.wait_for(state="attached")
    ui.shot("whatif")
    assert server.api("GET", "/process-definitions/yekuo_streamlined")["latest_version"] == before


FLOWABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowable="http://flowable.org/bpmn" id="d" targetNamespace="http://www.flowable.org/processdef">
  <process id="flowable_intake" name="受理（Flowable 导出）" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <userTask id="accept" name="受理" flowable:candidateGroups="hall_clerk"/>
    <sequenceFlow id="f2" sourceRef="accept" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def without_flow(text: str, flow_id: str) -> str:
    """The model as the Modeler saves it once the flow is deleted: the flow, its edge and the
    references to it are gone."""
    root = etree.fromstring(text.encode())
    for el in root.xpath(
        f"//*[@id='{flow_id}' or @bpmnElement='{flow_id}']"
        f"|//*[local-name()='incoming' or local-name()='outgoing'][.='{flow_id}']"
    ):
        el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def test_a_deleted_flow_and_a_file_without_a_diagram_are_explained_before_deploying(
    ui: Ui, server: Server
) -> None:
    """The checks an analyst meets in the browser for two common mistakes: a flow deleted in
    the Modeler (every case would end after the first task) and a file exported by another tool
    without a diagram. Neither can be deployed; both say where and what to do."""
    if not server.offers("post", "/api/v1/deployments", "dry_run"):
        pytest.skip("the server has no dry run")
    current = (ROOT / "processes" / "yekuo_current.bpmn").read_text(encoding="utf-8")
    page = ui.page
    ui.sign_in("analyst")
    page.get_by_role("link", name="流程", exact=True).click()
    drop(ui, "yekuo_current.bpmn", without_flow(current, "Flow_A_UT01_A_GW01"))
    page.locator("[data-testid=dry-run][data-valid=false]").wait_for()
    error = page.get_by_test_id("findings-error").locator("li[data-element=A-GW01]")
    assert "no path from a start event reaches" in error.inner_text()
    warning = page.get_by_test_id("findings-warning").locator("li[data-element=A-UT01]")
    assert "no sequence flow leaves" in warning.inner_text()
    page.locator('.djs-element.m-error[data-element-id="A-GW01"]').wait_for(state="attached")
    page.locator('.djs-element.m-warning[data-element-id="A-UT01"]').wait_for(state="attached")
    assert page.get_by_role("button", name="确认部署").count() == 0
    ui.shot("01-deleted-flow")

    drop(ui, "flowable_intake.bpmn", FLOWABLE)
    page.locator("[data-testid=dry-run][data-valid=false]").wait_for()
    problems = page.get_by_test_id("findings-error").locator("li")
    assert "no diagram (BPMNDI) at all" in problems.first.inner_text()
    assert problems.count() == 2  # that, and the task without groups; not one per element
    page.get_by_test_id("diagram-error").get_by_text("文件中没有流程图").wait_for()
    ui.shot("02-no-diagram")
    analyst = {"Authorization": f"Bearer {TOKENS['analyst']}"}
    answer = server.http.get("/api/v1/process-definitions/flowable_intake", headers=analyst)
    assert answer.status_code == 404


def test_a_file_identical_to_the_deployed_version_is_said_to_need_no_deployment(
    ui: Ui, server: Server
) -> None:
    """The dry run names the deployed version for a file identical to it: the page said "确认后将
    部署为 … 版本 N" and 确认部署 then changed nothing. It says the file is the deployed version
    and offers no deployment."""
    if not server.offers("post", "/api/v1/deployments", "dry_run"):
        pytest.skip("this server has no dry run")
    deployed = server.api("GET", "/process-definitions/yekuo_streamlined")
    latest = deployed["latest_version"]
    current = server.http.get(
        "/api/v1/process-definitions/yekuo_streamlined/xml",
        params={"version": latest},
        headers={"Authorization": f"Bearer {TOKENS['analyst']}"},
    ).text
    page = ui.page
    ui.sign_in("analyst")
    page.get_by_role("link", name="流程", exact=True).click()
    page.locator("[data-testid=definitions]").get_by_text("yekuo_streamlined").wait_for()
    drop(ui, "yekuo_streamlined.bpmn", current)
    clean = page.locator("[data-testid=dry-run][data-valid=true]")
    clean.wait_for()
    assert f"与已部署的 yekuo_streamlined 版本 {latest} 相同，无需部署" in clean.inner_text()
    assert "确认后将部署" not in clean.inner_text()
    assert page.get_by_role("button", name="确认部署").count() == 0
    ui.shot("identical-file")
